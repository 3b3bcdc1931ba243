//! What `receive!` (and `assert_receives!`, `assert_no_message!`) accept as
//! their first argument, and how the generated code starts a selective
//! receive on it. Reached through `fauxtp::__private`.

use std::time::Duration;

use super::{Ctx, Slot};
use crate::mailbox::Selector;

/// Whatever `receive!` accepts as its first argument.
#[diagnostic::on_unimplemented(
    message = "the first argument of `receive!` must be a process context (a `Ctx<M>`, a `&mut Ctx<M>` or a `Probe<M>`), not `{Self}`",
    label = "not a process context"
)]
pub trait Receive {
    /// The type of the mailbox's entries.
    type Entry;
    /// Starts a selective receive.
    fn selector(&mut self, after: Option<Duration>) -> Selector<'_, Self::Entry>;
}

impl<M: Send + 'static> Receive for Ctx<M> {
    type Entry = Slot<M>;
    fn selector(&mut self, after: Option<Duration>) -> Selector<'_, Self::Entry> {
        self.select(after)
    }
}

/// Implemented for every type, so that `ctx.__fauxtp_select(..)` resolves
/// by method call (borrowing a `Ctx` or reborrowing a `&mut Ctx`) and a
/// wrong argument fails on the `Self: Receive` bound, with the message of
/// [`Receive`].
pub trait ReceiveAny {
    /// Starts a selective receive.
    fn __fauxtp_select(&mut self, after: Option<Duration>) -> Selector<'_, <Self as Receive>::Entry>
    where
        Self: Receive,
    {
        self.selector(after)
    }
}

impl<T: ?Sized> ReceiveAny for T {}
