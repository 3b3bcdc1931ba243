//! `fauxtp::sys`: OTP's `sys` module for GenServers. Every GenServer
//! answers these requests between handlers, whatever its handlers are: its
//! state (read, for a state that is `Debug`, or replaced), its status,
//! suspending and resuming it, statistics, and a trace of the messages it
//! handles and the replies it sends.
//!
//! A request goes beside the mailbox, not into it, and the server's loop
//! serves it before the next message, as it serves a stop request; a
//! server busy in a handler answers once the handler returns. Each request
//! times out after [`DEFAULT_CALL_TIMEOUT`], or after the time given to
//! [`with_timeout`], with the errors of a call.

use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::{CallError, GenServer, ReplyTo, ServerCtx, DEFAULT_CALL_TIMEOUT};
use crate::process::unwind::{catch, caught};
use crate::process::{AnyPid, Envelope, ExitReason};

/// Why a `sys` request failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SysError {
    /// The server ended, or did not answer in time, as a call would fail.
    #[error(transparent)]
    Call(#[from] CallError),
    /// The process is alive but not a GenServer: only GenServers serve
    /// `sys` requests.
    #[error("{pid} is not a GenServer: only GenServers answer sys requests")]
    NotAServer {
        /// The process asked.
        pid: AnyPid,
    },
    /// [`get_state`] of a server whose state does not implement `Debug`.
    #[error("the state of {server} ({pid}) does not implement Debug")]
    NoDebug {
        /// The server asked.
        pid: AnyPid,
        /// Its type.
        server: &'static str,
    },
    /// [`replace_state`] with a function for another server type than the
    /// server's.
    #[error("{pid} is a {server}, not a {expected}: its state cannot be replaced as one")]
    WrongServer {
        /// The server asked.
        pid: AnyPid,
        /// Its type.
        server: &'static str,
        /// The type the function was for.
        expected: &'static str,
    },
}

/// What a GenServer is doing, as [`get_status`] says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SysStatus {
    /// Handling messages.
    Running,
    /// Suspended by [`suspend`]: messages wait until [`resume`].
    Suspended,
}

/// A GenServer's status (OTP's `sys:get_status`), read by its own loop.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerStatus {
    /// The server.
    pub pid: AnyPid,
    /// Its registered name, if any.
    pub name: Option<String>,
    /// Its type (`"Counter"`).
    pub server: &'static str,
    /// Running or suspended.
    pub status: SysStatus,
    /// The process that started it with `start_link`, if one did.
    pub parent: Option<AnyPid>,
    /// Messages waiting in its mailbox.
    pub mailbox_len: usize,
    /// Messages it has handled (calls, casts, infos, down and exit
    /// messages, and those of `continue_with` and `idle_timeout`), since
    /// it started.
    pub messages_handled: u64,
    /// How long it has been running.
    pub uptime: Duration,
    /// Whether [`trace`] is on.
    pub traced: bool,
}

/// What a GenServer has done since [`set_statistics`] turned its
/// statistics on (OTP's `sys:statistics`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Statistics {
    /// How long statistics have been collected.
    pub collecting_for: Duration,
    /// Messages handled (calls, casts, infos, down and exit messages).
    pub messages: u64,
    /// Replies sent to callers, by handlers and deferred ones alike.
    pub replies: u64,
    /// Time spent in handlers.
    pub busy: Duration,
    /// The longest a handler took.
    pub longest: Duration,
    /// The most messages seen waiting in the mailbox, each time the server
    /// took one (the one taken included).
    pub max_mailbox_len: usize,
}

/// What a server's loop keeps for `sys`.
pub(super) struct SysState {
    pub(super) suspended: bool,
    trace: bool,
    /// Boxed: most servers never collect statistics.
    stats: Option<Box<Collecting>>,
}

/// Statistics being collected.
struct Collecting {
    since: Instant,
    messages: u64,
    busy: Duration,
    longest: Duration,
    max_mailbox_len: usize,
    /// Counted where a reply is sent, which may be outside the server.
    replies: Arc<AtomicU64>,
}

/// What a server's replies are watched for, while [`trace`] or statistics
/// are on.
pub(crate) struct ReplyWatch {
    trace: bool,
    replies: Option<Arc<AtomicU64>>,
}

impl SysState {
    pub(super) fn new() -> Self {
        SysState {
            suspended: false,
            trace: false,
            stats: None,
        }
    }

    /// Whether the loop must look at each message (trace or statistics).
    #[inline]
    pub(super) fn watching(&self) -> bool {
        self.trace || self.stats.is_some()
    }

    /// Before a handler: logs the message if traced; the handler's start,
    /// if statistics are on.
    pub(super) fn before<S: GenServer>(
        &mut self,
        entry: &Envelope<S::Msg>,
        sctx: &ServerCtx<S>,
    ) -> Option<Instant> {
        if self.trace {
            let pid = sctx.ctx.pid().any();
            let name = pid.registered_name();
            let message: &dyn std::fmt::Debug = match entry {
                Envelope::Message(msg) => msg,
                Envelope::Down(down) => down,
                Envelope::Exit(exit) => exit,
            };
            tracing::info!(
                target: "fauxtp::sys",
                pid = %pid,
                name,
                server = S::SERVER,
                msg = ?message,
                "handling a message",
            );
        }
        let stats = self.stats.as_deref_mut()?;
        stats.messages += 1;
        // The one just taken waited too.
        stats.max_mailbox_len = stats.max_mailbox_len.max(sctx.ctx.mailbox_len() + 1);
        Some(Instant::now())
    }

    /// After a handler that [`before`](Self::before) timed.
    pub(super) fn after(&mut self, started: Option<Instant>) {
        if let (Some(started), Some(stats)) = (started, self.stats.as_deref_mut()) {
            let took = started.elapsed();
            stats.busy += took;
            stats.longest = stats.longest.max(took);
        }
    }

    /// Tells the server's context what its replies are watched for.
    fn rewatch<S: GenServer>(&self, sctx: &mut ServerCtx<S>) {
        let watch = self.watching().then(|| {
            Arc::new(ReplyWatch {
                trace: self.trace,
                replies: self.stats.as_ref().map(|stats| stats.replies.clone()),
            })
        });
        if watch.is_some() || sctx.extras.is_some() {
            sctx.extras_mut().watch = watch;
        }
    }
}

/// A call handler's `ReplyTo`, watched while [`trace`] or statistics are
/// on: the reply is logged, or counted, when it is sent. `describe` gives
/// the reply's text.
pub(super) fn watch_reply<S: GenServer, R: Send + 'static>(
    sctx: &ServerCtx<S>,
    reply: ReplyTo<R>,
    describe: fn(&R) -> String,
) -> ReplyTo<R> {
    let Some(watch) = sctx
        .extras
        .as_ref()
        .and_then(|extras| extras.watch.as_ref())
    else {
        return reply;
    };
    let watch = watch.clone();
    let pid = sctx.ctx.pid().any();
    ReplyTo::from_fn(move |outcome: Result<R, ExitReason>| {
        if let Some(replies) = &watch.replies {
            replies.fetch_add(1, Ordering::Relaxed);
        }
        if watch.trace {
            match &outcome {
                Ok(value) => tracing::info!(
                    target: "fauxtp::sys",
                    pid = %pid,
                    server = S::SERVER,
                    reply = %describe(value),
                    "sent a reply",
                ),
                Err(reason) => tracing::info!(
                    target: "fauxtp::sys",
                    pid = %pid,
                    server = S::SERVER,
                    %reason,
                    "failed a call",
                ),
            }
        }
        reply.send_outcome(outcome);
    })
}

/// A function that replaces a server's state, as sent to it.
type Replace<S> = Box<dyn FnOnce(&mut S) + Send>;

/// A request, as the loop gets it.
enum Request {
    /// The state's text, or the server's type when the state is not `Debug`.
    GetState(oneshot::Sender<Result<String, &'static str>>),
    /// A [`Replace`] for the server's type, or the server's type back.
    ReplaceState(
        Box<dyn Any + Send>,
        oneshot::Sender<Result<(), &'static str>>,
    ),
    GetStatus(oneshot::Sender<ServerStatus>),
    Suspend(oneshot::Sender<()>),
    Resume(oneshot::Sender<()>),
    Trace(bool, oneshot::Sender<()>),
    SetStatistics(bool, oneshot::Sender<()>),
    Statistics(oneshot::Sender<Option<Statistics>>),
}

/// Serves one request between handlers. A function given to
/// [`replace_state`] that panics stops the server, with the panic as its
/// reason, as a handler's panic does.
pub(super) fn serve<S: GenServer>(
    request: Box<dyn Any + Send>,
    state: &mut S,
    sctx: &mut ServerCtx<S>,
    sys: &mut SysState,
) -> Result<(), ExitReason> {
    let Ok(request) = request.downcast::<Request>() else {
        return Ok(());
    };
    match *request {
        Request::GetState(reply) => {
            let _ = reply.send(state.__debug_state().ok_or(S::SERVER));
        }
        Request::ReplaceState(replace, reply) => match replace.downcast::<Replace<S>>() {
            Ok(replace) => {
                if let Err(payload) = catch(move || replace(state)) {
                    return Err(caught(&*payload));
                }
                let _ = reply.send(Ok(()));
            }
            Err(_) => {
                let _ = reply.send(Err(S::SERVER));
            }
        },
        Request::GetStatus(reply) => {
            let pid = sctx.ctx.pid().any();
            let _ = reply.send(ServerStatus {
                name: pid.registered_name(),
                pid,
                server: S::SERVER,
                status: if sys.suspended {
                    SysStatus::Suspended
                } else {
                    SysStatus::Running
                },
                parent: sctx.parent.clone(),
                mailbox_len: sctx.ctx.mailbox_len(),
                messages_handled: sctx.ctx.messages_taken()
                    + sctx.after().map_or(0, |after| after.handled),
                uptime: sctx.ctx.uptime(),
                traced: sys.trace,
            });
        }
        Request::Suspend(reply) => {
            sys.suspended = true;
            sctx.ctx.set_suspended(true);
            let _ = reply.send(());
        }
        Request::Resume(reply) => {
            sys.suspended = false;
            sctx.ctx.set_suspended(false);
            let _ = reply.send(());
        }
        Request::Trace(on, reply) => {
            sys.trace = on;
            sys.rewatch(sctx);
            let _ = reply.send(());
        }
        Request::SetStatistics(on, reply) => {
            match (on, sys.stats.is_some()) {
                (true, false) => {
                    sys.stats = Some(Box::new(Collecting {
                        since: Instant::now(),
                        messages: 0,
                        busy: Duration::ZERO,
                        longest: Duration::ZERO,
                        max_mailbox_len: 0,
                        replies: Arc::default(),
                    }));
                }
                (false, true) => sys.stats = None,
                _ => {}
            }
            sys.rewatch(sctx);
            let _ = reply.send(());
        }
        Request::Statistics(reply) => {
            let _ = reply.send(sys.stats.as_deref().map(|stats| Statistics {
                collecting_for: stats.since.elapsed(),
                messages: stats.messages,
                replies: stats.replies.load(Ordering::Relaxed),
                busy: stats.busy,
                longest: stats.longest,
                max_mailbox_len: stats.max_mailbox_len,
            }));
        }
    }
    Ok(())
}

/// `sys` requests that time out after a time of your choosing, instead of
/// [`DEFAULT_CALL_TIMEOUT`] (OTP's `sys:get_state(Name, Timeout)` and the
/// like). Each method does what the function of the same name does.
///
/// ```
/// use fauxtp::prelude::*;
/// use fauxtp::sys;
/// use std::time::Duration;
///
/// #[derive(Debug)]
/// struct Idle;
///
/// #[genserver]
/// impl Idle {
///     fn init() -> Self { Idle }
/// }
///
/// # #[tokio::main] async fn main() {
/// let idle = Idle::start(()).await.unwrap();
/// let state = sys::with_timeout(Duration::from_millis(100)).get_state(&idle).await;
/// assert_eq!(state.unwrap(), "Idle");
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WithTimeout {
    timeout: Duration,
}

/// `sys` requests that time out after `timeout`.
pub fn with_timeout(timeout: Duration) -> WithTimeout {
    WithTimeout { timeout }
}

impl Default for WithTimeout {
    /// Requests that time out after [`DEFAULT_CALL_TIMEOUT`].
    fn default() -> Self {
        with_timeout(DEFAULT_CALL_TIMEOUT)
    }
}

impl WithTimeout {
    /// Sends a request and waits for the answer, as a call does.
    async fn request<T>(
        self,
        pid: AnyPid,
        call: &'static str,
        make: impl FnOnce(oneshot::Sender<T>) -> Request,
    ) -> Result<T, SysError> {
        let (reply, answer) = oneshot::channel();
        if pid.system_request(Box::new(make(reply))).is_err() {
            return Err(if pid.exit_reason().is_none() {
                SysError::NotAServer { pid }
            } else {
                CallError::NoProc { server: pid, call }.into()
            });
        }
        match tokio::time::timeout(self.timeout, answer).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(_)) => Err(CallError::Exited {
                reason: pid.exit_reason().unwrap_or(ExitReason::Killed),
                server: pid,
                call,
            }
            .into()),
            Err(_) => Err(CallError::Timeout {
                server: pid,
                call,
                after: self.timeout,
            }
            .into()),
        }
    }

    /// See [`get_state`].
    pub async fn get_state(self, server: impl Into<AnyPid>) -> Result<String, SysError> {
        let pid = server.into();
        self.request(pid.clone(), "sys::get_state", Request::GetState)
            .await?
            .map_err(|server| SysError::NoDebug { pid, server })
    }

    /// See [`replace_state`].
    pub async fn replace_state<S, R>(
        self,
        server: impl Into<AnyPid>,
        replace: impl FnOnce(&mut S) -> R + Send + 'static,
    ) -> Result<R, SysError>
    where
        S: GenServer,
        R: Send + 'static,
    {
        let pid = server.into();
        let (result, value) = oneshot::channel();
        let replace: Replace<S> = Box::new(move |state: &mut S| {
            let _ = result.send(replace(state));
        });
        let make = |reply| Request::ReplaceState(Box::new(replace), reply);
        match self
            .request(pid.clone(), "sys::replace_state", make)
            .await?
        {
            // The loop ran the function, which sent its value, before it
            // answered.
            Ok(()) => value.await.map_err(|_| {
                SysError::Call(CallError::Exited {
                    reason: pid.exit_reason().unwrap_or(ExitReason::Killed),
                    server: pid,
                    call: "sys::replace_state",
                })
            }),
            Err(server) => Err(SysError::WrongServer {
                pid,
                server,
                expected: S::SERVER,
            }),
        }
    }

    /// See [`get_status`].
    pub async fn get_status(self, server: impl Into<AnyPid>) -> Result<ServerStatus, SysError> {
        self.request(server.into(), "sys::get_status", Request::GetStatus)
            .await
    }

    /// See [`suspend`].
    pub async fn suspend(self, server: impl Into<AnyPid>) -> Result<(), SysError> {
        self.request(server.into(), "sys::suspend", Request::Suspend)
            .await
    }

    /// See [`resume`].
    pub async fn resume(self, server: impl Into<AnyPid>) -> Result<(), SysError> {
        self.request(server.into(), "sys::resume", Request::Resume)
            .await
    }

    /// See [`trace`].
    pub async fn trace(self, server: impl Into<AnyPid>, on: bool) -> Result<(), SysError> {
        self.request(server.into(), "sys::trace", |reply| {
            Request::Trace(on, reply)
        })
        .await
    }

    /// See [`set_statistics`].
    pub async fn set_statistics(self, server: impl Into<AnyPid>, on: bool) -> Result<(), SysError> {
        let make = |reply| Request::SetStatistics(on, reply);
        self.request(server.into(), "sys::set_statistics", make)
            .await
    }

    /// See [`statistics`].
    pub async fn statistics(
        self,
        server: impl Into<AnyPid>,
    ) -> Result<Option<Statistics>, SysError> {
        self.request(server.into(), "sys::statistics", Request::Statistics)
            .await
    }
}

/// The server's state, as its `Debug` text (OTP's `sys:get_state`).
///
/// A state that does not implement `Debug` gives [`SysError::NoDebug`]
/// (for a generic server, whenever its impl block cannot prove `Debug`).
pub async fn get_state(server: impl Into<AnyPid>) -> Result<String, SysError> {
    WithTimeout::default().get_state(server).await
}

/// Runs `replace` on the server's state, between handlers, and gives back
/// what it returns (OTP's `sys:replace_state`): to repair or adjust a
/// running server. The state type names the server type:
/// `sys::replace_state(&counter, |state: &mut Counter| state.count = 0)`;
/// a server of another type gives [`SysError::WrongServer`].
///
/// If `replace` panics, the server stops with the panic as its reason
/// (`terminate` runs), as it would for a panic in a handler, and the
/// caller gets [`CallError::Exited`].
pub async fn replace_state<S, R>(
    server: impl Into<AnyPid>,
    replace: impl FnOnce(&mut S) -> R + Send + 'static,
) -> Result<R, SysError>
where
    S: GenServer,
    R: Send + 'static,
{
    WithTimeout::default().replace_state(server, replace).await
}

/// The server's status (OTP's `sys:get_status`).
pub async fn get_status(server: impl Into<AnyPid>) -> Result<ServerStatus, SysError> {
    WithTimeout::default().get_status(server).await
}

/// Suspends the server (OTP's `sys:suspend`): it handles no message until
/// [`resume`]; calls and casts wait in its mailbox and are handled then.
/// It still answers `sys` requests, and still stops on an exit signal.
pub async fn suspend(server: impl Into<AnyPid>) -> Result<(), SysError> {
    WithTimeout::default().suspend(server).await
}

/// Resumes a server that [`suspend`] suspended (OTP's `sys:resume`).
pub async fn resume(server: impl Into<AnyPid>) -> Result<(), SysError> {
    WithTimeout::default().resume(server).await
}

/// Turns the server's trace on or off (OTP's `sys:trace`): while on, it
/// logs each message it handles and each reply it sends (or call it
/// fails), as `tracing` events at info level, target `fauxtp::sys`, with
/// its pid and type. Messages and replies show their values where their
/// types are `Debug`.
pub async fn trace(server: impl Into<AnyPid>, on: bool) -> Result<(), SysError> {
    WithTimeout::default().trace(server, on).await
}

/// Turns the server's statistics on or off (OTP's
/// `sys:statistics(Name, true | false)`). Turning them on when they are
/// already on changes nothing; off drops what was collected. While on,
/// the server reads the clock twice per message.
pub async fn set_statistics(server: impl Into<AnyPid>, on: bool) -> Result<(), SysError> {
    WithTimeout::default().set_statistics(server, on).await
}

/// What the server has done since [`set_statistics`] turned its
/// statistics on; `None` while they are off (OTP's
/// `sys:statistics(Name, get)`).
pub async fn statistics(server: impl Into<AnyPid>) -> Result<Option<Statistics>, SysError> {
    WithTimeout::default().statistics(server).await
}
