//! `fauxtp::sys`: OTP's `sys` module for GenServers. Every GenServer
//! answers these requests between handlers, whatever its handlers are: its
//! state (for a state that is `Debug`), its status, and suspending and
//! resuming it.
//!
//! A request goes beside the mailbox, not into it, and the server's loop
//! serves it before the next message, as it serves a stop request; a
//! server busy in a handler answers once the handler returns. Each request
//! times out after [`DEFAULT_CALL_TIMEOUT`], with the errors of a call.

use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::{CallError, GenServer, ServerCtx, DEFAULT_CALL_TIMEOUT};
use crate::process::{AnyPid, ExitReason};

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
    /// messages), since it started.
    pub messages_handled: u64,
    /// How long it has been running.
    pub uptime: Duration,
}

/// What a server's loop keeps for `sys`.
pub(super) struct SysState {
    pub(super) suspended: bool,
    pub(super) handled: u64,
    pub(super) started: Instant,
}

impl SysState {
    pub(super) fn new() -> Self {
        SysState {
            suspended: false,
            handled: 0,
            started: Instant::now(),
        }
    }
}

/// A request, as the loop gets it.
enum Request {
    /// The state's text, or the server's type when the state is not `Debug`.
    GetState(oneshot::Sender<Result<String, &'static str>>),
    GetStatus(oneshot::Sender<ServerStatus>),
    Suspend(oneshot::Sender<()>),
    Resume(oneshot::Sender<()>),
}

/// Serves one request between handlers.
pub(super) fn serve<S: GenServer>(
    request: Box<dyn std::any::Any + Send>,
    state: &S,
    sctx: &mut ServerCtx<S>,
    sys: &mut SysState,
) {
    let Ok(request) = request.downcast::<Request>() else {
        return;
    };
    match *request {
        Request::GetState(reply) => {
            let _ = reply.send(state.__debug_state().ok_or(S::SERVER));
        }
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
                messages_handled: sys.handled,
                uptime: sys.started.elapsed(),
            });
        }
        Request::Suspend(reply) => {
            sys.suspended = true;
            let _ = reply.send(());
        }
        Request::Resume(reply) => {
            sys.suspended = false;
            let _ = reply.send(());
        }
    }
}

/// Sends a request and waits for the answer, as a call does.
async fn request<T>(
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
    match tokio::time::timeout(DEFAULT_CALL_TIMEOUT, answer).await {
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
            after: DEFAULT_CALL_TIMEOUT,
        }
        .into()),
    }
}

/// The server's state, as its `Debug` text (OTP's `sys:get_state`).
///
/// A state that does not implement `Debug` gives [`SysError::NoDebug`]
/// (for a generic server, whenever its impl block cannot prove `Debug`).
pub async fn get_state(server: impl Into<AnyPid>) -> Result<String, SysError> {
    let pid = server.into();
    request(pid.clone(), "sys::get_state", Request::GetState)
        .await?
        .map_err(|server| SysError::NoDebug { pid, server })
}

/// The server's status (OTP's `sys:get_status`).
pub async fn get_status(server: impl Into<AnyPid>) -> Result<ServerStatus, SysError> {
    request(server.into(), "sys::get_status", Request::GetStatus).await
}

/// Suspends the server (OTP's `sys:suspend`): it handles no message until
/// [`resume`]; calls and casts wait in its mailbox and are handled then.
/// It still answers `sys` requests, and still stops on an exit signal.
pub async fn suspend(server: impl Into<AnyPid>) -> Result<(), SysError> {
    request(server.into(), "sys::suspend", Request::Suspend).await
}

/// Resumes a server that [`suspend`] suspended (OTP's `sys:resume`).
pub async fn resume(server: impl Into<AnyPid>) -> Result<(), SysError> {
    request(server.into(), "sys::resume", Request::Resume).await
}
