//! Running a supervision tree as the program: start it, keep it running
//! until ctrl-c or SIGTERM (or until the work you give is done), then shut
//! it down in order, with every `terminate` running, and say whether it
//! stopped cleanly. This is what OTP's application controller does for a
//! release.
//!
//! ```no_run
//! use fauxtp::prelude::*;
//! use fauxtp::application::{self, Stopped};
//!
//! struct Cache;
//!
//! #[genserver]
//! impl Cache {
//!     fn init() -> Self { Cache }
//! }
//!
//! supervisor! {
//!     App {
//!         strategy: one_for_one,
//!         children: [cache: Cache::child(())],
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> Stopped {
//!     // Runs until ctrl-c or SIGTERM; exits 0 if the tree stopped cleanly.
//!     application::run(App::start(())).await
//! }
//! ```

use std::fmt;
use std::future::Future;
use std::process::{ExitCode, Termination};
use std::time::Duration;

use crate::genserver::{self, CallError, StartError};
use crate::process::{Ctx, ExitReason, Pid};
use crate::supervisor::SupervisorMsg;

/// How long the tree may take to stop once asked. Each child has its own
/// shutdown limit (5 s for a worker by default), so this is a backstop.
const STOP_LIMIT: Duration = Duration::from_secs(3600);

/// How an application ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum Stopped {
    /// It was asked to stop (a signal, or the work was done), and the tree
    /// shut down in order.
    Clean,
    /// The tree did not start.
    StartFailed(StartError),
    /// The tree ended by itself (its top supervisor gave up), with this
    /// reason.
    TreeEnded(ExitReason),
    /// Asked to stop, the tree did not finish stopping.
    ShutdownFailed(CallError),
}

impl Stopped {
    /// Whether the tree stopped because it was asked to, and stopped.
    pub fn is_clean(&self) -> bool {
        matches!(self, Stopped::Clean)
    }

    /// The process exit code: success for [`Stopped::Clean`], failure
    /// otherwise.
    pub fn exit_code(&self) -> ExitCode {
        if self.is_clean() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }
}

impl fmt::Display for Stopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stopped::Clean => f.write_str("the application stopped cleanly"),
            Stopped::StartFailed(error) => write!(f, "the application did not start: {error}"),
            Stopped::TreeEnded(reason) => {
                write!(f, "the application's supervision tree ended: {reason}")
            }
            Stopped::ShutdownFailed(error) => {
                write!(f, "the application did not finish stopping: {error}")
            }
        }
    }
}

/// `main` may return a [`Stopped`]: the exit status says whether the tree
/// stopped cleanly, and anything else is printed to stderr.
impl Termination for Stopped {
    fn report(self) -> ExitCode {
        if !self.is_clean() {
            eprintln!("{self}");
        }
        self.exit_code()
    }
}

/// Completes on ctrl-c, or on SIGTERM on Unix: what a service manager
/// sends to stop a program.
///
/// # Panics
///
/// If the signal handlers cannot be installed (outside a tokio runtime).
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut terminate =
            signal(SignalKind::terminate()).expect("the SIGTERM handler can be installed");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Starts the tree with `start`, runs it until ctrl-c or SIGTERM, then
/// shuts it down (see [`run_until`]).
pub async fn run(start: impl Future<Output = Result<Pid<SupervisorMsg>, StartError>>) -> Stopped {
    run_until(start, |_| std::future::pending()).await
}

/// Starts the tree with `start` and runs `work` with its pid; when the
/// work is done, or on ctrl-c or SIGTERM, shuts the tree down in order
/// (the supervisor stops its children, last started first, each with its
/// `terminate`). If the tree ends by itself first, that is the outcome.
pub async fn run_until<W, Fut>(
    start: impl Future<Output = Result<Pid<SupervisorMsg>, StartError>>,
    work: W,
) -> Stopped
where
    W: FnOnce(Pid<SupervisorMsg>) -> Fut,
    Fut: Future<Output = ()>,
{
    run_with_trigger(start, work, shutdown_signal()).await
}

/// [`run_until`] with another trigger than the signals (for tests, and for
/// programs that stop on something else).
pub async fn run_with_trigger<W, Fut>(
    start: impl Future<Output = Result<Pid<SupervisorMsg>, StartError>>,
    work: W,
    trigger: impl Future<Output = ()>,
) -> Stopped
where
    W: FnOnce(Pid<SupervisorMsg>) -> Fut,
    Fut: Future<Output = ()>,
{
    let tree = match start.await {
        Ok(tree) => tree,
        Err(error) => return Stopped::StartFailed(error),
    };
    let mut watcher = Ctx::<()>::detached();
    let monitor = watcher.monitor(&tree);
    let ended = watcher.take_down(monitor, None);
    tokio::select! {
        down = ended => {
            let reason = down.map_or(ExitReason::NoProc, |down| down.reason);
            return Stopped::TreeEnded(reason);
        }
        () = work(tree.clone()) => {}
        () = trigger => {}
    }
    match genserver::stop(&tree, ExitReason::Shutdown, STOP_LIMIT).await {
        Ok(()) => Stopped::Clean,
        Err(error) => Stopped::ShutdownFailed(error),
    }
}
