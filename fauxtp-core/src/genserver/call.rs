//! Calls: a request that waits for its reply, with a timeout, and the
//! `ReplyTo` a server answers it through.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::call_timeout;
use super::reply_slot::{self, Filler, Waiting};
use crate::process::{runner, unwind, AnyPid, ExitReason, Pid};

/// The default timeout of a call, as gen_server's: 5 seconds.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a server sends the reply to one call (the `From` of OTP's
/// `handle_call(Request, From, State)`).
///
/// A `#[call]` handler that returns a value never sees it: the value is the
/// reply. A handler that takes a `ReplyTo<T>` argument defers its reply: it
/// may keep the `ReplyTo`, answer later from another handler or give it to
/// another process (OTP's `{noreply, State}` and `gen_server:reply/2`).
/// Dropping it without replying makes the caller fail with
/// [`CallError::NoReply`].
pub struct ReplyTo<T: 'static> {
    /// Always `Some` until the reply is sent or the slot is dropped.
    to: Option<Destination<T>>,
}

/// Where a reply goes: the slot a caller waits on, or a function that
/// forwards it (a caller on another node, for fauxtp-dist).
enum Destination<T> {
    Slot(Filler<Result<T, ExitReason>>),
    Forward(Box<dyn FnOnce(Result<T, ExitReason>) + Send>),
}

impl<T: 'static> Destination<T> {
    fn send(self, outcome: Result<T, ExitReason>) -> bool {
        match self {
            Destination::Slot(slot) => slot.fill(outcome).is_ok(),
            Destination::Forward(forward) => {
                forward(outcome);
                true
            }
        }
    }
}

impl<T: 'static> ReplyTo<T> {
    pub(crate) fn new(slot: Filler<Result<T, ExitReason>>) -> Self {
        ReplyTo {
            to: Some(Destination::Slot(slot)),
        }
    }

    /// A `ReplyTo` that hands its outcome to `forward` instead of a
    /// waiting caller: `Ok(reply)`, or `Err(reason)` if the server failed
    /// (panicked) while it held it; nothing if it is dropped unanswered.
    /// For callers that are not fauxtp processes: a caller on another node
    /// (fauxtp-dist answers them so), a callback, a channel of your own.
    /// Such a `ReplyTo` is always [waiting](ReplyTo::is_waiting).
    ///
    /// Cost: one allocation, for `forward`.
    ///
    /// ```
    /// use fauxtp::{ExitReason, ReplyTo};
    ///
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// let reply = ReplyTo::from_fn(move |outcome: Result<u32, ExitReason>| {
    ///     let _ = tx.send(outcome);
    /// });
    /// assert!(reply.reply(7));
    /// assert_eq!(rx.recv().unwrap().unwrap(), 7);
    /// ```
    pub fn from_fn(forward: impl FnOnce(Result<T, ExitReason>) + Send + 'static) -> Self {
        ReplyTo {
            to: Some(Destination::Forward(Box::new(forward))),
        }
    }

    /// Sends the reply. Returns false if the caller no longer waits (it
    /// timed out or was cancelled); the reply is then dropped.
    pub fn reply(mut self, value: T) -> bool {
        self.to.take().is_some_and(|to| to.send(Ok(value)))
    }

    /// Sends a reply or a failure, as the server's machinery does.
    pub(crate) fn send_outcome(mut self, outcome: Result<T, ExitReason>) -> bool {
        self.to.take().is_some_and(|to| to.send(outcome))
    }

    /// Whether the caller still waits for the reply.
    pub fn is_waiting(&self) -> bool {
        match &self.to {
            Some(Destination::Slot(tx)) => !tx.is_closed(),
            Some(Destination::Forward(_)) => true,
            None => false,
        }
    }

    /// Tells the caller that the server failed with `reason` while handling
    /// the call.
    pub(crate) fn fail(mut self, reason: ExitReason) {
        if let Some(to) = self.to.take() {
            to.send(Err(reason));
        }
    }
}

impl<T: 'static> Drop for ReplyTo<T> {
    fn drop(&mut self) {
        // Dropped by a handler that is panicking: answer the caller with the
        // panic once it is caught, rather than with "no reply" now.
        if std::thread::panicking() {
            if let Some(to) = self.to.take() {
                unwind::when_caught(Box::new(move |reason: &ExitReason| {
                    to.send(Err(reason.clone()));
                }));
            }
        }
    }
}

impl<T: 'static> fmt::Debug for ReplyTo<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplyTo")
            .field("waiting", &self.is_waiting())
            .finish()
    }
}

/// Why a call failed. Every variant names the server and the call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The server was not alive when the call was made.
    #[error("call to {server} ({call}) failed: the server is not alive (noproc)")]
    NoProc {
        /// The server called.
        server: AnyPid,
        /// The call, as `Type::handler`.
        call: &'static str,
    },
    /// No reply within the call's timeout. The server may still be working
    /// on it; a late reply is dropped, never delivered to the caller.
    #[error("call to {server} ({call}) timed out after {after:?}")]
    Timeout {
        /// The server called.
        server: AnyPid,
        /// The call, as `Type::handler`.
        call: &'static str,
        /// The timeout that ran out.
        after: Duration,
    },
    /// The server ended (or crashed in the handler) before replying.
    #[error("call to {server} ({call}) failed: the server exited ({reason})")]
    Exited {
        /// The server called.
        server: AnyPid,
        /// The call, as `Type::handler`.
        call: &'static str,
        /// Why it exited.
        reason: ExitReason,
    },
    /// The server dropped the call's [`ReplyTo`] without replying and goes on
    /// running.
    #[error("call to {server} ({call}) failed: the server dropped the call without replying")]
    NoReply {
        /// The server called.
        server: AnyPid,
        /// The call, as `Type::handler`.
        call: &'static str,
    },
    /// A server called itself, which could only wait out its timeout (OTP's
    /// `calling_self`).
    #[error("call to {server} ({call}) failed: a server cannot call itself")]
    CallingSelf {
        /// The server called.
        server: AnyPid,
        /// The call, as `Type::handler`.
        call: &'static str,
    },
}

/// A call ready to be made: await it for the reply. Change its timeout with
/// [`timeout`](Call::timeout) first.
///
/// Nothing is sent until it is awaited. Cost: one allocation (the reply
/// slot) and the message.
#[must_use = "a call does nothing until it is awaited"]
pub struct Call<M, R> {
    to: Pid<M>,
    label: &'static str,
    timeout: Duration,
    msg: M,
    reply: Waiting<Result<R, ExitReason>>,
}

impl<M: Send + 'static, R: 'static> Call<M, R> {
    /// Prepares a call to `to`: `make` builds the request around its
    /// [`ReplyTo`]. `label` names the call in errors (`Counter::add`).
    /// Generated client functions use this; you can too, to call a server
    /// with a message built by hand.
    pub fn new(to: &Pid<M>, label: &'static str, make: impl FnOnce(ReplyTo<R>) -> M) -> Self {
        let (filler, waiting) = reply_slot::slot();
        Call {
            to: to.clone(),
            label,
            timeout: DEFAULT_CALL_TIMEOUT,
            msg: make(ReplyTo::new(filler)),
            reply: waiting,
        }
    }

    /// Waits at most `timeout` for the reply (the default is the server's
    /// `call_timeout` option, or 5 s). `Duration::MAX` waits for ever, as
    /// Erlang's `infinity`, and arms no timer at all; the call still fails at
    /// once if the server ends.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl<M: Send + 'static, R> IntoFuture for Call<M, R> {
    type Output = Result<R, CallError>;
    type IntoFuture = CallFuture<M, R>;

    fn into_future(self) -> CallFuture<M, R> {
        CallFuture {
            to: self.to,
            label: self.label,
            after: self.timeout,
            msg: Some(self.msg),
            reply: self.reply,
            timer: Timer::NotArmed,
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of an awaited [`Call`].
    #[must_use = "futures do nothing unless polled"]
    pub struct CallFuture<M, R> {
        to: Pid<M>,
        label: &'static str,
        after: Duration,
        msg: Option<M>,
        reply: Waiting<Result<R, ExitReason>>,
        timer: Timer,
    }
}

/// The timeout of a call: armed only if the reply is not there at the first
/// poll.
enum Timer {
    NotArmed,
    Armed(call_timeout::Registration),
    /// The timeout is `Duration::MAX`, or too long to represent.
    Never,
}

impl<M: Send + 'static, R> Future for CallFuture<M, R> {
    type Output = Result<R, CallError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let (server, call) = (this.to, *this.label);
        if let Some(msg) = this.msg.take() {
            if runner::current() == Some(server.id()) {
                return Poll::Ready(Err(CallError::CallingSelf {
                    server: server.any(),
                    call,
                }));
            }
            if server.send(msg).is_err() {
                return Poll::Ready(Err(CallError::NoProc {
                    server: server.any(),
                    call,
                }));
            }
        }
        let outcome = match Pin::new(this.reply).poll(cx) {
            Poll::Ready(outcome) => Some(outcome),
            Poll::Pending => None,
        };
        let outcome = match outcome {
            Some(outcome) => Ok(outcome),
            None => {
                match &*this.timer {
                    Timer::NotArmed if *this.after == Duration::MAX => {
                        *this.timer = Timer::Never;
                        return Poll::Pending;
                    }
                    Timer::NotArmed => match call_timeout::join(*this.after, cx.waker()) {
                        Ok(Some(registration)) => {
                            *this.timer = Timer::Armed(registration);
                            return Poll::Pending;
                        }
                        Ok(None) => {
                            *this.timer = Timer::Never;
                            return Poll::Pending;
                        }
                        // The bucket fired while this call joined it (a
                        // thread held up for longer than the timeout).
                        Err(()) => Err(()),
                    },
                    Timer::Armed(registration) if registration.update(cx.waker()) => Err(()),
                    _ => return Poll::Pending,
                }
            }
        };
        // Done: the call's place in its timeout bucket goes now.
        *this.timer = Timer::NotArmed;
        Poll::Ready(match outcome {
            Ok(Ok(Ok(value))) => Ok(value),
            Ok(Ok(Err(reason))) => Err(CallError::Exited {
                server: server.any(),
                call,
                reason,
            }),
            // The reply slot was dropped unanswered: either with the queued
            // request when the server ended (its reason is recorded before
            // its mailbox is dropped), or by a handler that kept it.
            Ok(Err(_dropped)) => Err(match server.exit_reason() {
                Some(reason) => CallError::Exited {
                    server: server.any(),
                    call,
                    reason,
                },
                None => CallError::NoReply {
                    server: server.any(),
                    call,
                },
            }),
            Err(_elapsed) => {
                tracing::debug!(
                    target: "fauxtp::genserver",
                    server = %server.any(),
                    call,
                    after = ?*this.after,
                    "call timed out"
                );
                Err(CallError::Timeout {
                    server: server.any(),
                    call,
                    after: *this.after,
                })
            }
        })
    }
}
