//! Supervisors: start children, watch them, restart them by OTP's rules.
//!
//! A supervisor starts its children in order, each linked to it, and traps
//! their exits. When a child ends, its [`Restart`] type says whether it is
//! started again, and the [`Strategy`] which siblings are restarted with it.
//! More than `max_restarts` restarts within `max_seconds` make the
//! supervisor give up: it stops all its children, in reverse order, and ends
//! with an error, so that its own supervisor applies its strategy
//! (escalation).
//!
//! Trees are usually declared with [`supervisor!`](crate::supervisor!); this
//! module is the runtime it uses, usable on its own:
//!
//! ```
//! use fauxtp::prelude::*;
//! use fauxtp::supervisor::{Strategy, Supervisor, SupervisorSpec};
//!
//! struct Worker;
//!
//! #[genserver]
//! impl Worker {
//!     fn init() -> Self { Worker }
//!     #[call] fn ping(&self) -> &'static str { "pong" }
//! }
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let spec = SupervisorSpec::new(Strategy::OneForOne)
//!     .intensity(3, std::time::Duration::from_secs(5))
//!     .child(Worker::child(()).id("a").named("supervisor-doc-a"))
//!     .child(Worker::child(()).id("b").transient());
//! let sup = Supervisor::start(spec).await?;
//! let children = sup.which_children().await?;
//! assert_eq!(children.len(), 2);
//! let a: Pid<WorkerMsg> = fauxtp::registry::whereis("supervisor-doc-a")?;
//! assert_eq!(a.ping().await?, "pong");
//! # Ok(()) }
//! ```
//!
//! Every child is a process linked to its supervisor: a `#[genserver]`
//! ([`Supervise::child`]), a plain process ([`ChildSpec::process`]), another
//! supervisor, or anything a [`ChildSpec::new`] start function starts.

mod spec;

use std::collections::VecDeque;
use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

pub use self::spec::{
    ChildKind, ChildSpec, Launch, Restart, Shutdown, Supervise, DEFAULT_SHUTDOWN,
};

use crate::genserver::{self, Call, CallError, GenServer, Options, ReplyTo, ServerCtx, StartError};
use crate::process::{AnyPid, Ctx, Exit, ExitReason, Pid, ProcessContext};

/// Which children are restarted when one ends (OTP's strategies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Strategy {
    /// Only the child that ended.
    OneForOne,
    /// All children: the others are stopped (in reverse order), then all are
    /// started again in order.
    OneForAll,
    /// The child that ended and the ones started after it.
    RestForOne,
}

/// What a supervisor starts with: its strategy, restart intensity and
/// children. Cloneable, so that a supervisor can itself be a child.
#[derive(Debug, Clone)]
pub struct SupervisorSpec {
    strategy: Strategy,
    max_restarts: u32,
    max_seconds: Duration,
    children: Vec<ChildSpec>,
    dynamic: bool,
    max_children: Option<usize>,
}

impl SupervisorSpec {
    /// A supervisor with `strategy`, no children yet, and OTP's default
    /// intensity: at most 3 restarts within 5 seconds.
    pub fn new(strategy: Strategy) -> Self {
        SupervisorSpec {
            strategy,
            max_restarts: 3,
            max_seconds: Duration::from_secs(5),
            children: Vec::new(),
            dynamic: false,
            max_children: None,
        }
    }

    /// A dynamic supervisor (Elixir's `DynamicSupervisor`, OTP's
    /// `simple_one_for_one`): no children at start, children added with
    /// `start_child` at run time, each restarted on its own
    /// (one_for_one). Children are told apart by pid; their ids are made
    /// unique. Worker pools and per-connection servers use it.
    pub fn dynamic() -> Self {
        SupervisorSpec {
            dynamic: true,
            ..SupervisorSpec::new(Strategy::OneForOne)
        }
    }

    /// Allows at most `max_restarts` restarts within `within`; one more
    /// makes the supervisor give up.
    pub fn intensity(mut self, max_restarts: u32, within: Duration) -> Self {
        self.max_restarts = max_restarts;
        self.max_seconds = within;
        self
    }

    /// Adds a child, started after the ones before it.
    pub fn child(mut self, child: ChildSpec) -> Self {
        self.children.push(child);
        self
    }

    /// Limits the number of running children (a dynamic supervisor's, say):
    /// `start_child` beyond it fails with [`SupervisorError::MaxChildren`].
    pub fn max_children(mut self, max: usize) -> Self {
        self.max_children = Some(max);
        self
    }
}

/// A child as [`SupervisorClient::which_children`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildInfo {
    /// The child's id.
    pub id: String,
    /// Its process, if it is running.
    pub pid: Option<AnyPid>,
    /// Worker or supervisor.
    pub kind: ChildKind,
    /// Its restart type.
    pub restart: Restart,
}

/// How many children a supervisor has, as
/// [`SupervisorClient::count_children`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChildCounts {
    /// Child specs, running or not.
    pub specs: usize,
    /// Running children.
    pub active: usize,
    /// Children that are supervisors.
    pub supervisors: usize,
    /// Children that are workers.
    pub workers: usize,
}

/// Why a supervisor operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SupervisorError {
    /// No child has this id.
    #[error("the supervisor has no child {0:?}")]
    NotFound(String),
    /// No child has this pid.
    #[error("{0} is not a child of the supervisor")]
    NotAChild(AnyPid),
    /// The child is running; terminate it first.
    #[error("child {0:?} is running; terminate it first")]
    Running(String),
    /// Another child already has this id.
    #[error("the supervisor already has a child {0:?}")]
    AlreadyPresent(String),
    /// The child's start function failed.
    #[error("child {id:?} failed to start: {error}")]
    StartFailed {
        /// The child's id.
        id: String,
        /// Why it did not start.
        error: StartError,
    },
    /// The dynamic supervisor runs as many children as it may.
    #[error("the supervisor already runs its maximum of {0} children")]
    MaxChildren(usize),
    /// The call to the supervisor failed (it is not alive, say).
    #[error(transparent)]
    Call(#[from] CallError),
}

/// The requests a supervisor answers; send them with [`SupervisorClient`].
#[derive(Debug)]
#[non_exhaustive]
pub enum SupervisorMsg {
    /// `which_children`
    WhichChildren(ReplyTo<Vec<ChildInfo>>),
    /// `count_children`
    CountChildren(ReplyTo<ChildCounts>),
    /// `start_child`
    StartChild(ChildSpec, ReplyTo<Result<AnyPid, SupervisorError>>),
    /// `terminate_child`
    TerminateChild(String, ReplyTo<Result<(), SupervisorError>>),
    /// `terminate_child_pid`
    TerminatePid(AnyPid, ReplyTo<Result<(), SupervisorError>>),
    /// `restart_child`
    RestartChild(String, ReplyTo<Result<AnyPid, SupervisorError>>),
    /// `delete_child`
    DeleteChild(String, ReplyTo<Result<(), SupervisorError>>),
}

/// A supervisor's state; it runs as a GenServer.
pub struct Supervisor {
    strategy: Strategy,
    max_restarts: u32,
    max_seconds: Duration,
    dynamic: bool,
    max_children: Option<usize>,
    /// In start order.
    children: Vec<Child>,
    /// When the recent restarts happened, oldest first.
    restarts: VecDeque<Instant>,
    /// Makes the ids of a dynamic supervisor's children unique.
    started: u64,
}

struct Child {
    spec: ChildSpec,
    pid: Option<AnyPid>,
}

impl Child {
    fn info(&self) -> ChildInfo {
        ChildInfo {
            id: self.spec.id.clone(),
            pid: self.pid.clone(),
            kind: self.spec.kind,
            restart: self.spec.restart,
        }
    }
}

/// How long supervisor requests may take: as OTP's, they wait for children
/// to start and stop, so without a practical limit.
const SUPERVISOR_CALL_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

impl Supervisor {
    /// Starts a supervisor and its children; returns once they have all
    /// started. If one fails, the ones already started are stopped and the
    /// error names the child.
    pub async fn start(spec: SupervisorSpec) -> Result<Pid<SupervisorMsg>, StartError> {
        genserver::start_with::<Self>(
            spec,
            genserver::StartMode {
                name: None,
                link: None,
            },
        )
        .await
    }

    /// Starts a supervisor linked to the calling process.
    pub async fn start_link(
        ctx: &impl ProcessContext,
        spec: SupervisorSpec,
    ) -> Result<Pid<SupervisorMsg>, StartError> {
        let parent = ctx.self_pid();
        genserver::start_with::<Self>(
            spec,
            genserver::StartMode {
                name: None,
                link: Some(parent),
            },
        )
        .await
    }

    /// Starts a supervisor registered as `name`.
    pub async fn start_named(
        name: &str,
        spec: SupervisorSpec,
    ) -> Result<Pid<SupervisorMsg>, StartError> {
        genserver::start_with::<Self>(
            spec,
            genserver::StartMode {
                name: Some(name),
                link: None,
            },
        )
        .await
    }

    /// A child spec for a supervisor with `spec`, to nest it in another
    /// tree: kind supervisor, shutdown infinity.
    pub fn child(spec: SupervisorSpec) -> ChildSpec {
        <Self as Supervise>::child(spec)
            .id("Supervisor")
            .kind(ChildKind::Supervisor)
    }

    fn find(&self, id: &str) -> Option<usize> {
        self.children.iter().position(|c| c.spec.id == id)
    }

    fn active(&self) -> usize {
        self.children.iter().filter(|c| c.pid.is_some()).count()
    }

    /// Records a restart; false if that makes more than `max_restarts`
    /// within `max_seconds` (sliding window, as OTP).
    fn allow_restart(&mut self) -> bool {
        let now = Instant::now();
        self.restarts.push_back(now);
        while let Some(oldest) = self.restarts.front() {
            if now.duration_since(*oldest) > self.max_seconds {
                self.restarts.pop_front();
            } else {
                break;
            }
        }
        self.restarts.len() <= self.max_restarts as usize
    }

    /// Stops the running children among `indexes`, last first.
    async fn stop_children(
        &mut self,
        indexes: impl DoubleEndedIterator<Item = usize>,
        ctx: &mut ServerCtx<Self>,
    ) {
        for i in indexes.rev() {
            if let Some(pid) = self.children[i].pid.take() {
                stop_child(ctx.process(), &pid, self.children[i].spec.shutdown).await;
            }
        }
    }

    /// Starts the child at `index`; on failure, counts a restart and tries
    /// again until the intensity gives out. Returns false if it did.
    async fn restart_child_at(&mut self, index: usize, ctx: &mut ServerCtx<Self>) -> bool {
        loop {
            let me = ctx.self_pid();
            match self.children[index].spec.launch(&me).await {
                Ok(pid) => {
                    self.children[index].pid = Some(pid);
                    return true;
                }
                Err(_) if self.allow_restart() => continue,
                Err(_) => return false,
            }
        }
    }

    /// A child ended: restart what the restart type and strategy say.
    async fn child_exited(&mut self, exit: Exit, ctx: &mut ServerCtx<Self>) {
        let Some(index) = self
            .children
            .iter()
            .position(|c| c.pid.as_ref() == Some(&exit.from))
        else {
            return; // Not (or no longer) a child: a stopped child's late signal.
        };
        self.children[index].pid = None;
        let restart = match self.children[index].spec.restart {
            Restart::Permanent => true,
            Restart::Transient => !exit.reason.is_clean(),
            Restart::Temporary => false,
        };
        if !restart {
            if self.dynamic || self.children[index].spec.restart == Restart::Temporary {
                self.children.remove(index);
            }
            return;
        }
        if !self.allow_restart() {
            return self.give_up(ctx).await;
        }
        let (first, last) = match self.strategy {
            Strategy::OneForOne => (index, index),
            Strategy::OneForAll => (0, self.children.len() - 1),
            Strategy::RestForOne => (index, self.children.len() - 1),
        };
        self.stop_children(first..=last, ctx).await;
        // Temporary siblings stopped for the restart are not started again
        // (the child that ended is not temporary, or it would not restart).
        let mut i = first;
        let mut last = last;
        while i <= last && i < self.children.len() {
            if self.children[i].spec.restart == Restart::Temporary {
                self.children.remove(i);
                last -= 1;
                continue;
            }
            if !self.restart_child_at(i, ctx).await {
                return self.give_up(ctx).await;
            }
            i += 1;
        }
    }

    /// The restart intensity is exceeded: stop every child (last first) and
    /// end, so that the supervisor's own supervisor decides.
    async fn give_up(&mut self, ctx: &mut ServerCtx<Self>) {
        let all = 0..self.children.len();
        self.stop_children(all, ctx).await;
        ctx.stop(ExitReason::error(format!(
            "reached the maximum restart intensity: more than {} restarts within {:?}",
            self.max_restarts, self.max_seconds
        )));
    }

    async fn start_new_child(
        &mut self,
        mut spec: ChildSpec,
        ctx: &mut ServerCtx<Self>,
    ) -> Result<AnyPid, SupervisorError> {
        if let Some(max) = self.max_children.filter(|max| self.active() >= *max) {
            return Err(SupervisorError::MaxChildren(max));
        }
        if self.dynamic {
            self.started += 1;
            spec.id = format!("{}#{}", spec.id, self.started);
        } else if self.find(&spec.id).is_some() {
            return Err(SupervisorError::AlreadyPresent(spec.id));
        }
        let me = ctx.self_pid();
        match spec.launch(&me).await {
            Ok(pid) => {
                self.children.push(Child {
                    spec,
                    pid: Some(pid.clone()),
                });
                Ok(pid)
            }
            Err(error) => Err(SupervisorError::StartFailed { id: spec.id, error }),
        }
    }

    async fn terminate_at(&mut self, index: usize, ctx: &mut ServerCtx<Self>) {
        self.stop_children(index..=index, ctx).await;
        if self.dynamic || self.children[index].spec.restart == Restart::Temporary {
            self.children.remove(index);
        }
    }
}

impl GenServer for Supervisor {
    type Args = SupervisorSpec;
    type Msg = SupervisorMsg;
    const SERVER: &'static str = "Supervisor";
    const OPTIONS: Options = Options::DEFAULT;

    async fn init(spec: SupervisorSpec, ctx: &mut ServerCtx<Self>) -> Result<Self, ExitReason> {
        ctx.trap_exit(true);
        let mut supervisor = Supervisor {
            strategy: spec.strategy,
            max_restarts: spec.max_restarts,
            max_seconds: spec.max_seconds,
            dynamic: spec.dynamic,
            max_children: spec.max_children,
            children: Vec::with_capacity(spec.children.len()),
            restarts: VecDeque::new(),
            started: 0,
        };
        for child in spec.children {
            // The same checks as `start_child`: unique ids (a dynamic
            // supervisor's made unique) and the `max_children` limit.
            if let Err(error) = supervisor.start_new_child(child, ctx).await {
                let all = 0..supervisor.children.len();
                supervisor.stop_children(all, ctx).await;
                return Err(ExitReason::error(error));
            }
        }
        Ok(supervisor)
    }

    async fn handle(&mut self, msg: SupervisorMsg, ctx: &mut ServerCtx<Self>) {
        match msg {
            SupervisorMsg::WhichChildren(reply) => {
                reply.reply(self.children.iter().map(Child::info).collect());
            }
            SupervisorMsg::CountChildren(reply) => {
                let supervisors = self
                    .children
                    .iter()
                    .filter(|c| c.spec.kind == ChildKind::Supervisor)
                    .count();
                reply.reply(ChildCounts {
                    specs: self.children.len(),
                    active: self.active(),
                    supervisors,
                    workers: self.children.len() - supervisors,
                });
            }
            SupervisorMsg::StartChild(spec, reply) => {
                reply.reply(self.start_new_child(spec, ctx).await);
            }
            SupervisorMsg::TerminateChild(id, reply) => {
                let result = match self.find(&id) {
                    Some(index) => {
                        self.terminate_at(index, ctx).await;
                        Ok(())
                    }
                    None => Err(SupervisorError::NotFound(id)),
                };
                reply.reply(result);
            }
            SupervisorMsg::TerminatePid(pid, reply) => {
                let result = match self
                    .children
                    .iter()
                    .position(|c| c.pid.as_ref() == Some(&pid))
                {
                    Some(index) => {
                        self.terminate_at(index, ctx).await;
                        Ok(())
                    }
                    None => Err(SupervisorError::NotAChild(pid)),
                };
                reply.reply(result);
            }
            SupervisorMsg::RestartChild(id, reply) => {
                let result = match self.find(&id) {
                    None => Err(SupervisorError::NotFound(id)),
                    Some(index) if self.children[index].pid.is_some() => {
                        Err(SupervisorError::Running(id))
                    }
                    Some(index) => {
                        let me = ctx.self_pid();
                        match self.children[index].spec.launch(&me).await {
                            Ok(pid) => {
                                self.children[index].pid = Some(pid.clone());
                                Ok(pid)
                            }
                            Err(error) => Err(SupervisorError::StartFailed { id, error }),
                        }
                    }
                };
                reply.reply(result);
            }
            SupervisorMsg::DeleteChild(id, reply) => {
                let result = match self.find(&id) {
                    None => Err(SupervisorError::NotFound(id)),
                    Some(index) if self.children[index].pid.is_some() => {
                        Err(SupervisorError::Running(id))
                    }
                    Some(index) => {
                        self.children.remove(index);
                        Ok(())
                    }
                };
                reply.reply(result);
            }
        }
    }

    async fn handle_exit(&mut self, exit: Exit, ctx: &mut ServerCtx<Self>) {
        self.child_exited(exit, ctx).await;
    }

    async fn terminate(&mut self, _reason: &ExitReason, ctx: &mut ServerCtx<Self>) {
        let all = 0..self.children.len();
        self.stop_children(all, ctx).await;
    }
}

/// Stops one child as its spec says, and waits until it has ended.
///
/// The link is removed first (and an exit message it already sent is
/// dropped), so the supervisor does not take the stop for a crash; a monitor
/// tells when the child is gone.
async fn stop_child<M: Send + 'static>(ctx: &mut Ctx<M>, pid: &AnyPid, shutdown: Shutdown) {
    let monitor = ctx.monitor(pid);
    ctx.unlink(pid);
    ctx.flush_exits_from(pid);
    let first = match shutdown {
        Shutdown::BrutalKill => ExitReason::Kill,
        Shutdown::Timeout(_) | Shutdown::Infinity => ExitReason::Shutdown,
    };
    ctx.exit(pid, first);
    let grace = match shutdown {
        Shutdown::Timeout(timeout) => Some(timeout),
        Shutdown::BrutalKill | Shutdown::Infinity => None,
    };
    if !ctx.wait_down(monitor, grace).await {
        ctx.exit(pid, ExitReason::Kill);
        ctx.wait_down(monitor, None).await;
    }
}

/// The requests of a supervisor, on its pid: `sup.which_children().await`.
pub trait SupervisorClient {
    /// The children, in start order, with their pids if running.
    fn which_children(
        &self,
    ) -> impl Future<Output = Result<Vec<ChildInfo>, SupervisorError>> + Send;
    /// How many children there are, by kind and state.
    fn count_children(&self) -> impl Future<Output = Result<ChildCounts, SupervisorError>> + Send;
    /// Starts a new child (at the end of the order); returns its pid.
    fn start_child(
        &self,
        spec: ChildSpec,
    ) -> impl Future<Output = Result<AnyPid, SupervisorError>> + Send;
    /// Stops a child; its spec stays (unless temporary, or the supervisor is
    /// dynamic), to be restarted with `restart_child` or deleted.
    fn terminate_child(&self, id: &str)
        -> impl Future<Output = Result<(), SupervisorError>> + Send;
    /// Stops the child with this pid (how a dynamic supervisor's children
    /// are stopped).
    fn terminate_child_pid(
        &self,
        pid: AnyPid,
    ) -> impl Future<Output = Result<(), SupervisorError>> + Send;
    /// Starts a stopped child again; returns its new pid.
    fn restart_child(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<AnyPid, SupervisorError>> + Send;
    /// Removes a stopped child's spec.
    fn delete_child(&self, id: &str) -> impl Future<Output = Result<(), SupervisorError>> + Send;
}

/// Makes a request and flattens the call's error into the result.
async fn request<T: Send + 'static>(
    sup: &Pid<SupervisorMsg>,
    label: &'static str,
    make: impl FnOnce(ReplyTo<Result<T, SupervisorError>>) -> SupervisorMsg,
) -> Result<T, SupervisorError> {
    Call::new(sup, label, make)
        .timeout(SUPERVISOR_CALL_TIMEOUT)
        .await?
}

impl SupervisorClient for Pid<SupervisorMsg> {
    async fn which_children(&self) -> Result<Vec<ChildInfo>, SupervisorError> {
        let call = Call::new(
            self,
            "Supervisor::which_children",
            SupervisorMsg::WhichChildren,
        );
        Ok(call.timeout(SUPERVISOR_CALL_TIMEOUT).await?)
    }

    async fn count_children(&self) -> Result<ChildCounts, SupervisorError> {
        let call = Call::new(
            self,
            "Supervisor::count_children",
            SupervisorMsg::CountChildren,
        );
        Ok(call.timeout(SUPERVISOR_CALL_TIMEOUT).await?)
    }

    async fn start_child(&self, spec: ChildSpec) -> Result<AnyPid, SupervisorError> {
        request(self, "Supervisor::start_child", |reply| {
            SupervisorMsg::StartChild(spec, reply)
        })
        .await
    }

    async fn terminate_child(&self, id: &str) -> Result<(), SupervisorError> {
        let id = id.to_owned();
        request(self, "Supervisor::terminate_child", |reply| {
            SupervisorMsg::TerminateChild(id, reply)
        })
        .await
    }

    async fn terminate_child_pid(&self, pid: AnyPid) -> Result<(), SupervisorError> {
        request(self, "Supervisor::terminate_child_pid", |reply| {
            SupervisorMsg::TerminatePid(pid, reply)
        })
        .await
    }

    async fn restart_child(&self, id: &str) -> Result<AnyPid, SupervisorError> {
        let id = id.to_owned();
        request(self, "Supervisor::restart_child", |reply| {
            SupervisorMsg::RestartChild(id, reply)
        })
        .await
    }

    async fn delete_child(&self, id: &str) -> Result<(), SupervisorError> {
        let id = id.to_owned();
        request(self, "Supervisor::delete_child", |reply| {
            SupervisorMsg::DeleteChild(id, reply)
        })
        .await
    }
}
