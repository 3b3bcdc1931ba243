//! The supervisor itself: a GenServer that starts its children, traps
//! their exits and restarts them by its strategy, within its restart
//! intensity.

use tokio::time::Instant;

use super::intensity::RestartIntensity;
use super::{report, shutdown};
use super::{
    AutoShutdown, ChildCounts, ChildInfo, ChildKind, ChildNode, ChildSpec, Restart, Strategy,
    Supervise, SupervisorError, SupervisorMsg, SupervisorNode, SupervisorSpec,
};
use crate::genserver::{self, GenServer, Options, ServerCtx, StartError, StartMode};
use crate::process::{AnyPid, Exit, ExitReason, Pid, ProcessContext};

/// A supervisor's state; it runs as a GenServer.
pub struct Supervisor {
    strategy: Strategy,
    intensity: RestartIntensity,
    dynamic: bool,
    max_children: Option<usize>,
    auto_shutdown: AutoShutdown,
    /// In start order.
    children: Vec<Child>,
    /// Makes the ids of a dynamic supervisor's children unique.
    started: u64,
}

struct Child {
    spec: ChildSpec,
    pid: Option<AnyPid>,
    /// How many times the supervisor has started it again.
    restarts: u64,
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

impl Supervisor {
    /// Starts a supervisor and its children; returns once they have all
    /// started. If one fails, the ones already started are stopped and the
    /// error names the child.
    pub async fn start(spec: SupervisorSpec) -> Result<Pid<SupervisorMsg>, StartError> {
        genserver::start_with::<Self>(spec, StartMode::plain()).await
    }

    /// Starts a supervisor linked to the calling process.
    pub async fn start_link(
        ctx: &impl ProcessContext,
        spec: SupervisorSpec,
    ) -> Result<Pid<SupervisorMsg>, StartError> {
        genserver::start_with::<Self>(spec, StartMode::linked(ctx.self_pid())).await
    }

    /// Starts a supervisor registered as `name`.
    pub async fn start_named(
        name: &str,
        spec: SupervisorSpec,
    ) -> Result<Pid<SupervisorMsg>, StartError> {
        genserver::start_with::<Self>(spec, StartMode::named(name)).await
    }

    /// A child spec for a supervisor with `spec`, to nest it in another
    /// tree: kind supervisor, shutdown infinity.
    pub fn child(spec: SupervisorSpec) -> ChildSpec {
        <Self as Supervise>::child(spec)
            .id("Supervisor")
            .kind(ChildKind::Supervisor)
    }

    /// Its own level of the live tree (the subtrees are read from their
    /// supervisors).
    fn level(&self, me: AnyPid) -> SupervisorNode {
        SupervisorNode {
            pid: me,
            strategy: self.strategy,
            restarts_in_window: self.intensity.used(Instant::now()),
            max_restarts: self.intensity.max(),
            within: self.intensity.within(),
            children: self
                .children
                .iter()
                .map(|child| ChildNode {
                    id: child.spec.id.clone(),
                    pid: child.pid.clone(),
                    kind: child.spec.kind,
                    restart: child.spec.restart,
                    restarts: child.restarts,
                    subtree: None,
                })
                .collect(),
        }
    }

    fn find(&self, id: &str) -> Option<usize> {
        self.children.iter().position(|c| c.spec.id == id)
    }

    fn active(&self) -> usize {
        self.children.iter().filter(|c| c.pid.is_some()).count()
    }

    /// Records a restart now; false if the intensity gives out.
    fn allow_restart(&mut self) -> bool {
        self.intensity.allow(Instant::now())
    }

    /// Stops the running children among `indexes`, last first.
    async fn stop_children(
        &mut self,
        indexes: impl DoubleEndedIterator<Item = usize>,
        ctx: &mut ServerCtx<Self>,
    ) {
        for i in indexes.rev() {
            if let Some(pid) = self.children[i].pid.take() {
                shutdown::stop_child(ctx.process(), &pid, self.children[i].spec.shutdown).await;
            }
        }
    }

    /// Starts the child at `index`; on failure, counts a restart and tries
    /// again until the intensity gives out. Returns false if it did.
    /// Starts the child at `index` again; on failure, counts a restart and
    /// tries again until the intensity gives out. `Err` says why it gave
    /// out (the last start error).
    async fn restart_child_at(
        &mut self,
        index: usize,
        ctx: &mut ServerCtx<Self>,
    ) -> Result<(), String> {
        let me = ctx.self_pid();
        loop {
            let child = &mut self.children[index];
            match child.spec.launch(&me).await {
                Ok(pid) => {
                    child.restarts += 1;
                    report::restarted(&me, &child.spec.id, &pid, child.restarts);
                    child.pid = Some(pid);
                    return Ok(());
                }
                // It chose not to run: recorded as not running (OTP's
                // `undefined`), not a failure.
                Err(StartError::Ignored { .. }) => {
                    child.restarts += 1;
                    child.pid = None;
                    return Ok(());
                }
                Err(error) => {
                    report::start_failed(&me, &child.spec.id, &error);
                    let cause = format!("child `{}` failed to start: {error}", child.spec.id);
                    if !self.allow_restart() {
                        return Err(cause);
                    }
                }
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
        let me = ctx.self_pid();
        report::child_ended(&me, &self.children[index].spec.id, &exit.from, &exit.reason);
        let restart = match self.children[index].spec.restart {
            Restart::Permanent => true,
            Restart::Transient => !exit.reason.is_clean(),
            Restart::Temporary => false,
        };
        if !restart {
            let significant = self.children[index].spec.significant;
            if self.dynamic || self.children[index].spec.restart == Restart::Temporary {
                self.children.remove(index);
            }
            if significant && self.shuts_down_now() {
                let all = 0..self.children.len();
                self.stop_children(all, ctx).await;
                ctx.stop(ExitReason::Shutdown);
            }
            return;
        }
        if !self.allow_restart() {
            let cause = format!(
                "child `{}` ended with: {}",
                self.children[index].spec.id, exit.reason
            );
            return self.give_up(ctx, cause).await;
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
            if let Err(cause) = self.restart_child_at(i, ctx).await {
                return self.give_up(ctx, cause).await;
            }
            i += 1;
        }
    }

    /// Whether a significant child ending for good now stops the
    /// supervisor (its `auto_shutdown`).
    fn shuts_down_now(&self) -> bool {
        match self.auto_shutdown {
            AutoShutdown::Never => false,
            AutoShutdown::AnySignificant => true,
            AutoShutdown::AllSignificant => !self
                .children
                .iter()
                .any(|c| c.spec.significant && c.pid.is_some()),
        }
    }

    /// The restart intensity is exceeded: stop every child (last first) and
    /// end, so that the supervisor's own supervisor decides.
    /// The reason names the limit and `cause`, the end (or failed start) of
    /// the child that broke it.
    async fn give_up(&mut self, ctx: &mut ServerCtx<Self>, cause: String) {
        let all = 0..self.children.len();
        self.stop_children(all, ctx).await;
        let reason = ExitReason::error(format!(
            "reached the maximum restart intensity: {}; the last: {cause}",
            self.intensity
        ));
        report::gave_up(&ctx.self_pid(), &reason);
        ctx.stop(reason);
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
                    restarts: 0,
                });
                Ok(pid)
            }
            // Kept, not running (OTP's `{ok, undefined}`); the caller of
            // `start_child` is told it was ignored.
            Err(error @ StartError::Ignored { .. }) => {
                let id = spec.id.clone();
                self.children.push(Child {
                    spec,
                    pid: None,
                    restarts: 0,
                });
                Err(SupervisorError::StartFailed { id, error })
            }
            Err(error) => {
                report::start_failed(&me, &spec.id, &error);
                Err(SupervisorError::StartFailed { id: spec.id, error })
            }
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
            intensity: RestartIntensity::new(spec.max_restarts, spec.max_seconds),
            dynamic: spec.dynamic,
            max_children: spec.max_children,
            auto_shutdown: spec.auto_shutdown,
            children: Vec::with_capacity(spec.children.len()),
            started: 0,
        };
        if let Some(child) = spec
            .children
            .iter()
            .find(|c| c.significant && c.restart == Restart::Permanent)
        {
            return Err(ExitReason::error(format!(
                "child `{}` is significant and permanent: a significant child must be transient or temporary",
                child.id
            )));
        }
        for child in spec.children {
            // The same checks as `start_child`: unique ids (a dynamic
            // supervisor's made unique) and the `max_children` limit. A
            // child that chose not to start (ignore) is kept, not running.
            match supervisor.start_new_child(child, ctx).await {
                Ok(_)
                | Err(SupervisorError::StartFailed {
                    error: StartError::Ignored { .. },
                    ..
                }) => {}
                Err(error) => {
                    let all = 0..supervisor.children.len();
                    supervisor.stop_children(all, ctx).await;
                    return Err(ExitReason::error(error));
                }
            }
        }
        Ok(supervisor)
    }

    async fn handle(&mut self, msg: SupervisorMsg, ctx: &mut ServerCtx<Self>) {
        match msg {
            SupervisorMsg::Tree(reply) => {
                reply.reply(self.level(ctx.self_pid()));
            }
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
