//! How entries sit in a mailbox. Reached by the code `receive!` generates
//! through `fauxtp::__private`.

use super::exit::{Down, Exit};

/// How an entry is kept in a mailbox: a message as it is, the rare signals
/// boxed, so that a slot is as small as the message type allows (slots sit
/// inline in the mailbox's buffers, and a selective receive moves every
/// slot it skips). Used by the code `receive!` generates.
pub enum Slot<M> {
    /// A message.
    Message(M),
    /// A down message or a trapped exit signal.
    Signal(Box<Signal>),
}

/// A boxed system message; see [`Slot`].
#[derive(Debug)]
pub enum Signal {
    /// A monitor fired.
    Down(Down),
    /// A trapped exit signal.
    Exit(Exit),
}

impl<M> From<Slot<M>> for super::Envelope<M> {
    fn from(slot: Slot<M>) -> Self {
        match slot {
            Slot::Message(m) => super::Envelope::Message(m),
            Slot::Signal(signal) => match *signal {
                Signal::Down(down) => super::Envelope::Down(down),
                Signal::Exit(exit) => super::Envelope::Exit(exit),
            },
        }
    }
}
