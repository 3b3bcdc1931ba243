//! Process identifiers: the typed [`Pid<M>`] and the untyped [`AnyPid`].

use std::any::TypeId;
use std::cmp::Ordering as CmpOrdering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::core::{Core, Inbox, Sink};
use super::handle::Handle;
use super::Slot;
use crate::mailbox::Refused;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

pub(crate) fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// A handle to a process whose mailbox takes messages of type `M`.
///
/// Cheap to clone (one reference count), `Send + Sync`, and compared and
/// hashed by identity: two `Pid`s are equal when they name the same process.
/// Ids are unique for the life of the program and increase; a `Pid` prints
/// like Erlang's, `<0.42.0>`.
///
/// A `Pid` stays valid after its process ended: sending to it then fails with
/// a [`SendError`] that you may ignore, as Erlang silently drops such
/// messages.
pub struct Pid<M> {
    pub(super) core: Handle<Core<Inbox<M>>>,
}

impl<M> Pid<M> {
    /// The process's unique number (the `42` of `<0.42.0>`).
    pub fn id(&self) -> u64 {
        self.core.id
    }
}

impl<M: Send + 'static> Pid<M> {
    /// Puts `msg` at the back of the process's mailbox.
    ///
    /// Never blocks (it holds the mailbox's lock for one push), never panics,
    /// and allocates nothing beyond the mailbox's buffer growing now and
    /// then. Messages from one sender arrive in the
    /// order they were sent. Fails only if the process has ended; the error
    /// gives the message back.
    ///
    /// Anything that converts `Into<M>` can be sent, so a message enum with
    /// `From` impls for its payloads accepts the payloads directly. (One
    /// consequence: an integer literal sent to a `Pid<u32>` needs its type,
    /// `send(7u32)`, since `Into` does not guide literal inference.)
    #[inline]
    pub fn send<T: Into<M>>(&self, msg: T) -> Result<(), SendError<M>> {
        let slot = match self.core.sink.queue.push_message(Slot::Message(msg.into())) {
            Ok(()) => return Ok(()),
            Err(Refused::Closed(slot)) => slot,
            Err(Refused::Full(slot, limit)) => {
                // Overload: the process ends, as Erlang's max_heap_size
                // ends a process whose heap outgrows its limit.
                self.core.overflowed(limit);
                slot
            }
        };
        Err(SendError {
            to: self.any(),
            message: match slot {
                Slot::Message(m) => m,
                // Only `Message` was pushed; the queue gives back what it got.
                Slot::Signal(_) => unreachable!(),
            },
        })
    }

    /// Whether the process is still running. Only a hint: it may end right
    /// after this returns. Monitor it to learn when it does.
    pub fn is_alive(&self) -> bool {
        self.core.is_alive()
    }

    /// The same process as an untyped [`AnyPid`] (for links, monitors, and
    /// collections of processes of different message types).
    pub fn any(&self) -> AnyPid {
        let core: Arc<Core<dyn Sink>> = self.core.to_arc();
        AnyPid {
            core: Handle::new(core),
        }
    }

    /// Completes when the process has ended and its mailbox is gone.
    pub(crate) async fn closed(&self) {
        self.core.sink.queue.closed().await
    }
}

impl<M> Clone for Pid<M> {
    fn clone(&self) -> Self {
        Pid {
            core: self.core.clone(),
        }
    }
}

/// A process of any message type: what links, monitors, [`Down`](super::Down)
/// and [`Exit`](super::Exit) messages and the registry speak of. It cannot
/// send messages (it does not know their type); it compares equal to the
/// [`Pid`] of the same process.
#[derive(Clone)]
pub struct AnyPid {
    pub(super) core: Handle<Core<dyn Sink>>,
}

impl AnyPid {
    /// The process's unique number (the `42` of `<0.42.0>`).
    pub fn id(&self) -> u64 {
        self.core.id
    }

    /// Whether the process is still running (a hint, as [`Pid::is_alive`]).
    pub fn is_alive(&self) -> bool {
        self.core.is_alive()
    }

    /// The same process as a typed [`Pid<M>`], if its messages are `M`.
    ///
    /// ```
    /// use fauxtp::prelude::*;
    ///
    /// # #[tokio::main] async fn main() {
    /// let me = Ctx::<String>::detached();
    /// let any: AnyPid = me.pid().any();
    /// assert_eq!(any.downcast::<String>(), Some(me.pid()));
    /// assert_eq!(any.downcast::<u64>(), None);
    /// # }
    /// ```
    pub fn downcast<M: Send + 'static>(&self) -> Option<Pid<M>> {
        if self.core.sink.inbox_type() != TypeId::of::<Inbox<M>>() {
            return None;
        }
        let unsized_arc: Arc<Core<dyn Sink>> = self.core.to_arc();
        let thin = Arc::into_raw(unsized_arc) as *const Core<Inbox<M>>;
        // SAFETY: the allocation was made as an `Arc<Core<Inbox<M>>>` (the
        // type id says so: `Sink` is an unsafe trait whose one
        // implementation, `Inbox<M>`, returns its own type id) and unsized into `Arc<Core<dyn Sink>>`; casting
        // the pointer back and rebuilding the `Arc` is what `Arc::from_raw`
        // allows for exactly this case. The strong count taken by `to_arc`
        // moves into the new `Arc`.
        let arc = unsafe { Arc::from_raw(thin) };
        Some(Pid {
            core: Handle::new(arc),
        })
    }

    /// Sends the process the untrappable `Kill` signal, from itself.
    pub(crate) fn kill(&self) {
        self.core.exit_signal(self, &super::ExitReason::Kill, false);
    }
}

impl<M: Send + 'static> From<&Pid<M>> for AnyPid {
    fn from(pid: &Pid<M>) -> Self {
        pid.any()
    }
}

impl<M: Send + 'static> From<Pid<M>> for AnyPid {
    fn from(pid: Pid<M>) -> Self {
        pid.any()
    }
}

impl From<&AnyPid> for AnyPid {
    fn from(pid: &AnyPid) -> Self {
        pid.clone()
    }
}

macro_rules! identity_traits {
    ($($ty:ty => [$($gen:tt)*]),*) => {$(
        impl<$($gen)*> PartialEq for $ty {
            fn eq(&self, other: &Self) -> bool { self.id() == other.id() }
        }
        impl<$($gen)*> Eq for $ty {}
        impl<$($gen)*> Hash for $ty {
            fn hash<H: Hasher>(&self, state: &mut H) { self.id().hash(state) }
        }
        impl<$($gen)*> PartialOrd for $ty {
            fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> { Some(self.cmp(other)) }
        }
        impl<$($gen)*> Ord for $ty {
            fn cmp(&self, other: &Self) -> CmpOrdering { self.id().cmp(&other.id()) }
        }
        impl<$($gen)*> fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { write!(f, "<0.{}.0>", self.id()) }
        }
        impl<$($gen)*> fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { fmt::Display::fmt(self, f) }
        }
    )*};
}

identity_traits!(AnyPid => [], Pid<M> => [M]);

impl<M> PartialEq<Pid<M>> for AnyPid {
    fn eq(&self, other: &Pid<M>) -> bool {
        self.id() == other.id()
    }
}

impl<M> PartialEq<AnyPid> for Pid<M> {
    fn eq(&self, other: &AnyPid) -> bool {
        self.id() == other.id()
    }
}

/// A message could not be delivered because the process has ended (its
/// mailbox is closed). The message is given back in
/// [`message`](SendError::message).
#[derive(thiserror::Error)]
#[error("cannot send to {to}: its mailbox is closed (the process has ended)")]
pub struct SendError<M> {
    /// The process the message was for.
    pub to: AnyPid,
    /// The message, undelivered.
    pub message: M,
}

impl<M> fmt::Debug for SendError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendError")
            .field("to", &self.to)
            .finish_non_exhaustive()
    }
}
