//! Starting a server: `init` in the server's own task, or in the
//! caller's when it cannot wait for anything, and what a failed start
//! undoes.

use tokio::sync::oneshot;

use super::server_loop::serve_loop;
use super::{GenServer, ServerCtx};
use crate::process::{runner, AnyPid, Ctx, ExitReason, Pid, ProcessResult};
use crate::registry::RegistryError;

/// Why a server did not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// `init` returned an error or panicked; the server has ended with
    /// this reason.
    #[error("{server} ({kind}) failed to start: {reason}")]
    Init {
        /// The process that ran `init`.
        server: AnyPid,
        /// The server type.
        kind: &'static str,
        /// Why `init` failed.
        reason: ExitReason,
    },
    /// `init` asked not to start ([`ServerCtx::ignore`], OTP's `ignore`):
    /// nothing runs, and a supervisor records the child as not running.
    #[error("{kind} chose not to start (ignore)")]
    Ignored {
        /// The server type.
        kind: &'static str,
    },
    /// The key of a keyed registry ([`Registry::via`](crate::registry::Registry::via))
    /// could not be taken; nothing was started.
    #[error("{kind} could not be started under its registry key: {error}")]
    Via {
        /// The server type.
        kind: &'static str,
        /// What the registry said.
        error: crate::registry::KeyError,
    },
    /// The name could not be registered (taken, say); nothing was started.
    #[error("{kind} could not be started under its name: {error}")]
    Name {
        /// The server type.
        kind: &'static str,
        /// What the registry said.
        error: RegistryError,
    },
}

/// How `start` starts a server: registered or not, linked or not.
pub(crate) struct StartMode<'a> {
    pub(crate) name: Option<&'a str>,
    pub(crate) link: Option<AnyPid>,
    /// A key of a keyed registry to register under.
    pub(crate) via: Option<crate::registry::Via>,
}

impl<'a> StartMode<'a> {
    /// Neither registered nor linked.
    pub(crate) fn plain() -> Self {
        StartMode {
            name: None,
            link: None,
            via: None,
        }
    }

    /// Linked to `parent`.
    pub(crate) fn linked(parent: AnyPid) -> Self {
        StartMode {
            name: None,
            link: Some(parent),
            via: None,
        }
    }

    /// Registered as `name`.
    pub(crate) fn named(name: &'a str) -> Self {
        StartMode {
            name: Some(name),
            link: None,
            via: None,
        }
    }
}

pub(crate) async fn start_with<S: GenServer>(
    args: S::Args,
    mode: StartMode<'_>,
) -> Result<Pid<S::Msg>, StartError> {
    // The parent is the process it is linked to, or else the one starting it.
    let parent = mode
        .link
        .clone()
        .or_else(crate::process::runner::current_pid);
    let ctx = Ctx::<S::Msg>::child_of(parent.as_ref());
    let pid = ctx.pid();
    if let Some(parent) = &mode.link {
        crate::process::link_unstarted(parent, &pid.any());
    }
    if S::INIT_IN_CALLER {
        return start_in_caller::<S>(ctx, args, mode).await;
    }
    let (started_tx, started) = oneshot::channel();
    let name = mode.name.map(str::to_owned);
    let parent = mode.link;
    let via = mode.via;
    runner::start(ctx, move |ctx| {
        serve::<S>(ctx, args, name, via, parent, started_tx)
    });
    match started.await {
        Ok(Ok(())) => Ok(pid),
        Ok(Err(error)) => Err(error),
        // The server ended before `init` reported: killed by a signal.
        Err(_) => Err(StartError::Init {
            server: pid.any(),
            kind: S::SERVER,
            reason: pid.exit_reason().unwrap_or(ExitReason::Killed),
        }),
    }
}

/// Starts a server whose `init` runs in the caller's task: registers it,
/// runs `init`, and only then spawns the server's task with its state.
async fn start_in_caller<S: GenServer>(
    ctx: Ctx<S::Msg>,
    args: S::Args,
    mode: StartMode<'_>,
) -> Result<Pid<S::Msg>, StartError> {
    let pid = ctx.pid();
    let mut sctx = ServerCtx::<S>::new(ctx, mode.link);
    if let Err(error) = sctx.register(mode.name, mode.via.as_ref()) {
        sctx.end_unstarted(ExitReason::Normal);
        return Err(error);
    }
    let init = sctx.init(args).await.and_then(|state| {
        // Killed while `init` ran: the kill wins, as it would have in the
        // server's own task.
        match pid.take_pending_kill() {
            Some(reason) => Err(reason),
            None => Ok(state),
        }
    });
    match init {
        Ok(state) if sctx.ignored() => {
            drop(state);
            sctx.abandon_start(mode.name);
            sctx.end_unstarted(ExitReason::Normal);
            Err(StartError::Ignored { kind: S::SERVER })
        }
        Ok(state) => {
            runner::spawn_started(pid.any(), serve_loop(state, sctx));
            Ok(pid)
        }
        Err(reason) => {
            sctx.abandon_start(mode.name);
            sctx.end_unstarted(reason.clone());
            Err(StartError::Init {
                server: pid.any(),
                kind: S::SERVER,
                reason,
            })
        }
    }
}

/// The body of a GenServer process whose `init` runs in its own task.
async fn serve<S: GenServer>(
    ctx: Ctx<S::Msg>,
    args: S::Args,
    name: Option<String>,
    via: Option<crate::registry::Via>,
    parent: Option<AnyPid>,
    started: oneshot::Sender<Result<(), StartError>>,
) -> ProcessResult {
    let mut sctx = ServerCtx::<S>::new(ctx, parent);
    if let Err(error) = sctx.register(name.as_deref(), via.as_ref()) {
        let _ = started.send(Err(error));
        return Ok(());
    }
    let state = match sctx.init(args).await {
        Ok(state) => state,
        Err(reason) => {
            sctx.abandon_start(name.as_deref());
            let _ = started.send(Err(StartError::Init {
                server: sctx.pid().any(),
                kind: S::SERVER,
                reason: reason.clone(),
            }));
            return sctx.finish(reason);
        }
    };
    if sctx.ignored() {
        drop(state);
        sctx.abandon_start(name.as_deref());
        let _ = started.send(Err(StartError::Ignored { kind: S::SERVER }));
        return sctx.finish(ExitReason::Normal);
    }
    drop(name);
    let _ = started.send(Ok(()));
    serve_loop(state, sctx).await
}
