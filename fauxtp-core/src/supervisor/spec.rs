//! Child specs: how a supervisor starts, restarts and stops one child.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::genserver::{self, GenServer, StartError};
use crate::process::{self, AnyPid, Ctx, ExitReason, ProcessContext, ProcessResult};
use crate::registry;

/// When a child that ended is started again (OTP's `restart`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Restart {
    /// Always restarted.
    Permanent,
    /// Restarted only if it ended abnormally: not for
    /// [`ExitReason::Normal`](crate::ExitReason::Normal) or
    /// [`ExitReason::Shutdown`](crate::ExitReason::Shutdown).
    Transient,
    /// Never restarted; its spec is removed when it ends.
    Temporary,
}

/// How a child is stopped (OTP's `shutdown`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shutdown {
    /// Sent a `Shutdown` exit signal (a GenServer runs its `terminate`),
    /// then killed if it has not ended within the duration.
    Timeout(Duration),
    /// Killed at once.
    BrutalKill,
    /// Sent a `Shutdown` exit signal and waited for, however long it takes:
    /// the default for supervisors, which stop their own children first.
    Infinity,
}

/// Whether a child is a worker or a supervisor (for `count_children`, and
/// the default shutdown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChildKind {
    /// Any process that is not a supervisor.
    Worker,
    /// A supervisor.
    Supervisor,
}

/// The default shutdown time of a worker, as OTP's.
pub const DEFAULT_SHUTDOWN: Duration = Duration::from_secs(5);

/// OTP's default shutdown of each kind.
fn default_shutdown(kind: ChildKind) -> Shutdown {
    match kind {
        ChildKind::Worker => Shutdown::Timeout(DEFAULT_SHUTDOWN),
        ChildKind::Supervisor => Shutdown::Infinity,
    }
}

/// What a child's start function gets: the supervisor to link to, and the
/// name to register, if the spec has one.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The supervisor; the child must be linked to it before it runs.
    pub parent: AnyPid,
    /// The name to register the child under.
    pub name: Option<String>,
    /// The key of a keyed registry to register the child under.
    pub via: Option<crate::registry::Via>,
}

/// A start function can hand its `Launch` to anything that links to "the
/// calling process": `Server::start_link(&launch, args)` links the new
/// server to the supervisor.
impl ProcessContext for Launch {
    fn self_pid(&self) -> AnyPid {
        self.parent.clone()
    }
}

type StartFuture = Pin<Box<dyn Future<Output = Result<AnyPid, StartError>> + Send>>;
type StartFn = Arc<dyn Fn(Launch) -> StartFuture + Send + Sync>;

/// How to start one child, and what to do when it ends.
///
/// Make one with `Server::child(args)` for a GenServer (the
/// [`Supervise`] trait), [`ChildSpec::process`] for a plain process,
/// `Tree::child(())` for a tree declared with `supervisor!`, or
/// [`ChildSpec::new`] for anything else. Then adjust it with the builder
/// methods: `.transient()`, `.shutdown(d)`, `.named("name")`, ...
///
/// Defaults, as OTP's: permanent, 5 s shutdown for workers and infinity for
/// supervisors, no registered name.
#[derive(Clone)]
pub struct ChildSpec {
    pub(crate) id: String,
    pub(crate) start: StartFn,
    pub(crate) restart: Restart,
    pub(crate) shutdown: Shutdown,
    pub(crate) kind: ChildKind,
    pub(crate) name: Option<String>,
    pub(crate) via: Option<crate::registry::Via>,
    pub(crate) significant: bool,
}

impl ChildSpec {
    /// A child started by `start`, which must start a process linked to
    /// `launch.parent` (and registered as `launch.name`, if given) and return
    /// its pid once it runs.
    pub fn new<F, Fut>(id: impl Into<String>, kind: ChildKind, start: F) -> ChildSpec
    where
        F: Fn(Launch) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<AnyPid, StartError>> + Send + 'static,
    {
        ChildSpec {
            id: id.into(),
            start: Arc::new(move |launch| Box::pin(start(launch))),
            restart: Restart::Permanent,
            shutdown: default_shutdown(kind),
            kind,
            name: None,
            via: None,
            significant: false,
        }
    }

    /// A plain process as a child: each (re)start spawns `body`, linked to
    /// the supervisor.
    pub fn process<M, F, Fut>(id: impl Into<String>, body: F) -> ChildSpec
    where
        M: Send + 'static,
        F: Fn(Ctx<M>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ProcessResult> + Send + 'static,
    {
        let body = Arc::new(body);
        ChildSpec::new(id, ChildKind::Worker, move |launch: Launch| {
            let body = body.clone();
            async move {
                // Named before it runs: a taken name starts nothing, and a
                // child that crashes at once is a crash, not a name error.
                let ctx = Ctx::<M>::child_of(Some(&launch.parent));
                let pid = ctx.pid();
                if let Some(via) = &launch.via {
                    if let Err(error) = via.register(&pid.any(), std::any::type_name::<M>()) {
                        drop(ctx);
                        pid.any().terminate(ExitReason::Normal);
                        return Err(StartError::Via {
                            kind: "process",
                            error,
                        });
                    }
                }
                if let Some(name) = &launch.name {
                    if let Err(error) = registry::register(name, &pid) {
                        drop(ctx);
                        pid.any().terminate(ExitReason::Normal);
                        return Err(StartError::Name {
                            kind: "process",
                            error,
                        });
                    }
                }
                process::link_unstarted(&launch.parent, &pid.any());
                process::runner::start(ctx, move |ctx| body(ctx));
                Ok(pid.any())
            }
        })
    }

    /// Sets the child's id, unique among its supervisor's children.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = id.into();
        self
    }

    /// Sets whether the child is a worker or a supervisor. A shutdown still
    /// at the old kind's default takes the new kind's (infinity for a
    /// supervisor, 5 s for a worker).
    pub fn kind(mut self, kind: ChildKind) -> Self {
        if self.shutdown == default_shutdown(self.kind) {
            self.shutdown = default_shutdown(kind);
        }
        self.kind = kind;
        self
    }

    /// Sets the restart type.
    pub fn restart(mut self, restart: Restart) -> Self {
        self.restart = restart;
        self
    }

    /// Always restarted (the default).
    pub fn permanent(self) -> Self {
        self.restart(Restart::Permanent)
    }

    /// Restarted only after an abnormal exit.
    pub fn transient(self) -> Self {
        self.restart(Restart::Transient)
    }

    /// Never restarted.
    pub fn temporary(self) -> Self {
        self.restart(Restart::Temporary)
    }

    /// Stopped gracefully, then killed after `timeout`.
    pub fn shutdown(mut self, timeout: Duration) -> Self {
        self.shutdown = Shutdown::Timeout(timeout);
        self
    }

    /// Killed at once when stopped.
    pub fn brutal_kill(mut self) -> Self {
        self.shutdown = Shutdown::BrutalKill;
        self
    }

    /// Waited for however long its shutdown takes.
    pub fn shutdown_infinity(mut self) -> Self {
        self.shutdown = Shutdown::Infinity;
        self
    }

    /// Registers the child under `name` at each start; after a restart the
    /// name leads to the new process.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Registers the child under a key of a keyed registry at each start
    /// (see [`Registry::via`](crate::registry::Registry::via)); after a
    /// restart the key leads to the new process.
    pub fn via(mut self, via: crate::registry::Via) -> Self {
        self.via = Some(via);
        self
    }

    /// Makes the child significant (OTP 24): when it ends and is not
    /// restarted, its supervisor may stop by itself, as its
    /// [`auto_shutdown`](crate::supervisor::SupervisorSpec::auto_shutdown)
    /// says. Only a transient or temporary child may be significant: a
    /// supervisor with a significant permanent child does not start.
    pub fn significant(mut self) -> Self {
        self.significant = true;
        self
    }

    /// The child's id.
    pub fn child_id(&self) -> &str {
        &self.id
    }

    /// Starts the child linked to `parent`.
    pub(crate) async fn launch(&self, parent: &AnyPid) -> Result<AnyPid, StartError> {
        (self.start)(Launch {
            parent: parent.clone(),
            name: self.name.clone(),
            via: self.via.clone(),
        })
        .await
    }
}

impl fmt::Debug for ChildSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildSpec")
            .field("id", &self.id)
            .field("restart", &self.restart)
            .field("shutdown", &self.shutdown)
            .field("kind", &self.kind)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Every GenServer whose start arguments can be cloned (each restart needs
/// them again) can be a supervised child: `Counter::child(args)`.
pub trait Supervise: GenServer {
    /// A child spec that starts this server with `args`, linked to its
    /// supervisor. Its id is the server's type name; a `supervisor!` tree
    /// sets it from the child's key.
    fn child(args: Self::Args) -> ChildSpec
    where
        Self::Args: Clone + Sync,
    {
        ChildSpec::new(Self::SERVER, ChildKind::Worker, move |launch: Launch| {
            let args = args.clone();
            async move {
                let pid = genserver::start_with::<Self>(
                    args,
                    genserver::StartMode {
                        // The spec's name, or the server's own `name` option.
                        name: launch.name.as_deref().or(Self::OPTIONS.name),
                        link: Some(launch.parent),
                        via: launch.via,
                    },
                )
                .await?;
                Ok(pid.any())
            }
        })
    }
}

impl<S: GenServer> Supervise for S {}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: ChildKind) -> ChildSpec {
        ChildSpec::new("x", kind, |_| async {
            Err(StartError::Name {
                kind: "test",
                error: registry::RegistryError::EmptyName,
            })
        })
    }

    #[test]
    fn defaults_follow_the_kind_unless_set() {
        assert_eq!(
            spec(ChildKind::Worker).shutdown,
            Shutdown::Timeout(DEFAULT_SHUTDOWN)
        );
        assert_eq!(spec(ChildKind::Supervisor).shutdown, Shutdown::Infinity);
        let promoted = spec(ChildKind::Worker).kind(ChildKind::Supervisor);
        assert_eq!(promoted.shutdown, Shutdown::Infinity);
        let kept = spec(ChildKind::Worker)
            .shutdown(Duration::from_secs(1))
            .kind(ChildKind::Supervisor);
        assert_eq!(kept.shutdown, Shutdown::Timeout(Duration::from_secs(1)));
        assert_eq!(kept.restart, Restart::Permanent);
    }
}
