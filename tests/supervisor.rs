//! Supervisors: strategies, restart types, intensity and escalation, start
//! failures, shutdown, named children, dynamic supervisors, management.

mod common;

use std::time::Duration;

use common::{down, next};
use fauxtp::prelude::*;
use fauxtp::registry;
use fauxtp::supervisor::{
    ChildKind, ChildSpec, Restart, Strategy, Supervisor, SupervisorError, SupervisorMsg,
    SupervisorSpec,
};

/// What the children tell the test: started (with their pid), or
/// terminated with a reason.
#[derive(Debug, Clone)]
enum Life {
    Up(&'static str, Pid<WorkerMsg>),
    Down(&'static str, ExitReason),
}

struct Worker {
    id: &'static str,
    probe: Pid<Life>,
}

#[genserver]
impl Worker {
    fn init(id: &'static str, probe: Pid<Life>, ctx: &mut ServerCtx<Self>) -> Self {
        let _ = probe.send(Life::Up(id, ctx.pid()));
        Worker { id, probe }
    }

    #[call]
    fn ping(&self) -> &'static str {
        self.id
    }

    #[cast]
    fn fail(&mut self) -> Result<(), ExitReason> {
        Err(ExitReason::error("failed"))
    }

    #[cast]
    fn quit(&mut self, ctx: &mut ServerCtx<Self>) {
        ctx.stop(ExitReason::Normal);
    }

    /// Stops with `{shutdown, why}`.
    #[cast]
    fn shut_down_with(&mut self, why: &'static str, ctx: &mut ServerCtx<Self>) {
        ctx.stop(ExitReason::shutdown_with(why));
    }

    async fn terminate(&mut self, reason: &ExitReason) {
        let _ = self.probe.send(Life::Down(self.id, reason.clone()));
    }
}

fn worker(id: &'static str, probe: &Ctx<Life>) -> ChildSpec {
    Worker::child((id, probe.pid())).id(id)
}

/// The next event is `id` starting; returns its pid.
async fn up(probe: &mut Ctx<Life>, id: &str) -> Pid<WorkerMsg> {
    match next(probe).await {
        Life::Up(got, pid) if got == id => pid,
        other => panic!("expected {id} to start, got {other:?}"),
    }
}

/// The next event is `id` terminating with `reason`.
async fn gone(probe: &mut Ctx<Life>, id: &str, reason: ExitReason) {
    match next(probe).await {
        Life::Down(got, why) if got == id && why == reason => {}
        other => panic!("expected {id} to terminate with {reason}, got {other:?}"),
    }
}

/// No event comes within a short while.
async fn quiet(probe: &mut Ctx<Life>) {
    let event = receive!(probe, {
        event => Some(event),
        after Duration::from_millis(30) => None,
    });
    assert!(event.is_none(), "unexpected {event:?}");
}

/// A supervisor of workers a, b, c; returns it and their pids.
async fn abc(
    spec: SupervisorSpec,
    probe: &mut Ctx<Life>,
) -> (Pid<SupervisorMsg>, [Pid<WorkerMsg>; 3]) {
    let spec = spec
        .child(worker("a", probe))
        .child(worker("b", probe))
        .child(worker("c", probe));
    let sup = Supervisor::start(spec).await.unwrap();
    let pids = [
        up(probe, "a").await,
        up(probe, "b").await,
        up(probe, "c").await,
    ];
    (sup, pids)
}

/// The ids of a supervisor's children, in order.
async fn ids(sup: &Pid<SupervisorMsg>) -> Vec<String> {
    let children = sup.which_children().await.unwrap();
    children.into_iter().map(|c| c.id).collect()
}

fn failed() -> ExitReason {
    ExitReason::error("failed")
}

// ------------------------------------------------------------ strategies

#[tokio::test]
async fn one_for_one_restarts_only_the_child_that_failed() {
    let mut probe = Ctx::<Life>::detached();
    let (sup, [a, b, c]) = abc(SupervisorSpec::new(Strategy::OneForOne), &mut probe).await;
    b.fail().unwrap();
    gone(&mut probe, "b", failed()).await;
    let b2 = up(&mut probe, "b").await;
    quiet(&mut probe).await;
    assert_ne!(b, b2, "a restarted child is a new process");
    assert_eq!(b2.ping().await, Ok("b"));
    assert!(a.is_alive() && c.is_alive());
    let running: Vec<_> = sup
        .which_children()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.pid)
        .collect();
    assert_eq!(running, [Some(a.any()), Some(b2.any()), Some(c.any())]);
}

#[tokio::test]
async fn one_for_all_stops_the_others_in_reverse_and_restarts_all_in_order() {
    let mut probe = Ctx::<Life>::detached();
    let (_sup, [_, b, _]) = abc(SupervisorSpec::new(Strategy::OneForAll), &mut probe).await;
    b.fail().unwrap();
    gone(&mut probe, "b", failed()).await;
    gone(&mut probe, "c", ExitReason::Shutdown).await;
    gone(&mut probe, "a", ExitReason::Shutdown).await;
    up(&mut probe, "a").await;
    up(&mut probe, "b").await;
    up(&mut probe, "c").await;
    quiet(&mut probe).await;
}

#[tokio::test]
async fn rest_for_one_restarts_the_child_and_those_started_after_it() {
    let mut probe = Ctx::<Life>::detached();
    let (_sup, [a, b, _]) = abc(SupervisorSpec::new(Strategy::RestForOne), &mut probe).await;
    b.fail().unwrap();
    gone(&mut probe, "b", failed()).await;
    gone(&mut probe, "c", ExitReason::Shutdown).await;
    up(&mut probe, "b").await;
    up(&mut probe, "c").await;
    quiet(&mut probe).await;
    assert!(a.is_alive());
}

// --------------------------------------------------------- restart types

#[tokio::test]
async fn each_restart_type_follows_otp() {
    let mut probe = Ctx::<Life>::detached();
    let spec = SupervisorSpec::new(Strategy::OneForOne)
        .intensity(10, Duration::from_secs(5))
        .child(worker("permanent", &probe))
        .child(worker("transient", &probe).transient())
        .child(worker("temporary", &probe).temporary());
    let sup = Supervisor::start(spec).await.unwrap();
    let permanent = up(&mut probe, "permanent").await;
    let transient = up(&mut probe, "transient").await;
    let temporary = up(&mut probe, "temporary").await;

    // A normal exit: only the permanent child comes back.
    permanent.quit().unwrap();
    gone(&mut probe, "permanent", ExitReason::Normal).await;
    let permanent = up(&mut probe, "permanent").await;
    transient.quit().unwrap();
    gone(&mut probe, "transient", ExitReason::Normal).await;
    quiet(&mut probe).await;

    // An abnormal exit: the transient child would come back, the temporary
    // one does not, and its spec is gone.
    sup.restart_child("transient").await.unwrap();
    let transient = up(&mut probe, "transient").await;
    transient.fail().unwrap();
    gone(&mut probe, "transient", failed()).await;
    up(&mut probe, "transient").await;
    temporary.fail().unwrap();
    gone(&mut probe, "temporary", failed()).await;
    quiet(&mut probe).await;
    let ids = ids(&sup).await;
    assert_eq!(ids, ["permanent", "transient"]);

    permanent.fail().unwrap();
    gone(&mut probe, "permanent", failed()).await;
    up(&mut probe, "permanent").await;
}

// ------------------------------------------------ intensity, escalation

#[tokio::test]
async fn too_many_restarts_stop_the_children_in_reverse_and_the_supervisor() {
    let mut probe = Ctx::<Life>::detached();
    let spec = SupervisorSpec::new(Strategy::OneForOne).intensity(2, Duration::from_secs(5));
    let (sup, [_, mut b, _]) = abc(spec, &mut probe).await;
    let sup_down = probe.monitor(&sup);
    for _ in 0..2 {
        b.fail().unwrap();
        gone(&mut probe, "b", failed()).await;
        b = up(&mut probe, "b").await;
    }
    b.fail().unwrap();
    gone(&mut probe, "b", failed()).await;
    // The third restart is one too many: c, then a, are stopped.
    gone(&mut probe, "c", ExitReason::Shutdown).await;
    gone(&mut probe, "a", ExitReason::Shutdown).await;
    let reason = down(&mut probe, sup_down).await;
    assert_eq!(
        reason,
        ExitReason::error(
            "reached the maximum restart intensity: more than 2 restarts within 5s; \
             the last: child `b` ended with: failed"
        )
    );
}

#[tokio::test]
async fn a_supervisor_that_gives_up_is_restarted_by_its_own_supervisor() {
    let mut probe = Ctx::<Life>::detached();
    let inner = SupervisorSpec::new(Strategy::OneForOne)
        .intensity(0, Duration::from_secs(5))
        .child(worker("leaf", &probe));
    let top = SupervisorSpec::new(Strategy::OneForOne)
        .child(worker("sibling", &probe))
        .child(Supervisor::child(inner).id("inner"));
    let top = Supervisor::start(top).await.unwrap();
    up(&mut probe, "sibling").await;
    let leaf = up(&mut probe, "leaf").await;
    let inner_before = top.which_children().await.unwrap()[1].pid.clone();

    // Any restart is one too many for the inner supervisor: it gives up,
    // and the top supervisor starts the whole subtree again.
    leaf.fail().unwrap();
    gone(&mut probe, "leaf", failed()).await;
    let leaf = up(&mut probe, "leaf").await;
    assert_eq!(leaf.ping().await, Ok("leaf"));
    let children = top.which_children().await.unwrap();
    assert_eq!(children[1].kind, ChildKind::Supervisor);
    assert_ne!(children[1].pid, inner_before);
    assert!(
        children[0].pid.as_ref().is_some_and(AnyPid::is_alive),
        "the sibling is untouched"
    );
}

// ------------------------------------------------------- start and stop

struct Refuses;

#[genserver]
impl Refuses {
    fn init() -> Result<Self, ExitReason> {
        Err(ExitReason::error("no, thanks"))
    }
}

#[tokio::test]
async fn a_child_that_fails_to_start_fails_the_supervisor_and_stops_the_rest() {
    let mut probe = Ctx::<Life>::detached();
    let spec = SupervisorSpec::new(Strategy::OneForOne)
        .child(worker("a", &probe))
        .child(Refuses::child(()).id("b"))
        .child(worker("c", &probe));
    let err = Supervisor::start(spec).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("child \"b\" failed to start"), "{text}");
    assert!(text.contains("no, thanks"), "{text}");
    up(&mut probe, "a").await;
    gone(&mut probe, "a", ExitReason::Shutdown).await;
    quiet(&mut probe).await;
}

#[tokio::test]
async fn stopping_a_supervisor_stops_its_children_gracefully_in_reverse() {
    let mut probe = Ctx::<Life>::detached();
    let (sup, _) = abc(SupervisorSpec::new(Strategy::OneForOne), &mut probe).await;
    let sup_down = probe.monitor(&sup);
    fauxtp::genserver::stop(&sup, ExitReason::Shutdown, common::WAIT)
        .await
        .unwrap();
    gone(&mut probe, "c", ExitReason::Shutdown).await;
    gone(&mut probe, "b", ExitReason::Shutdown).await;
    gone(&mut probe, "a", ExitReason::Shutdown).await;
    assert_eq!(down(&mut probe, sup_down).await, ExitReason::Shutdown);
}

/// Never finishes its `terminate`.
struct Stubborn;

#[genserver]
impl Stubborn {
    fn init() -> Self {
        Stubborn
    }

    async fn terminate(&mut self, _reason: &ExitReason) {
        std::future::pending::<()>().await;
    }
}

#[tokio::test]
async fn a_child_that_does_not_stop_in_time_is_killed() {
    let mut probe = Ctx::<Life>::detached();
    let spec = SupervisorSpec::new(Strategy::OneForOne).child(
        Stubborn::child(())
            .id("stubborn")
            .shutdown(Duration::from_millis(30)),
    );
    let sup = Supervisor::start(spec).await.unwrap();
    let pid = sup.which_children().await.unwrap()[0].pid.clone().unwrap();
    let watch = probe.monitor(&pid);
    let started = tokio::time::Instant::now();
    sup.terminate_child("stubborn").await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(30));
    assert_eq!(down(&mut probe, watch).await, ExitReason::Killed);
    let children = sup.which_children().await.unwrap();
    assert_eq!(children[0].pid, None, "terminated, but its spec stays");
}

#[tokio::test]
async fn a_named_child_is_reachable_under_its_name_after_a_restart() {
    let mut probe = Ctx::<Life>::detached();
    let spec = SupervisorSpec::new(Strategy::OneForOne)
        .child(worker("named", &probe).named("supervisor-named-worker"));
    let _sup = Supervisor::start(spec).await.unwrap();
    let first = up(&mut probe, "named").await;
    assert_eq!(
        registry::whereis::<WorkerMsg>("supervisor-named-worker").unwrap(),
        first
    );
    first.fail().unwrap();
    gone(&mut probe, "named", failed()).await;
    let second = up(&mut probe, "named").await;
    let found: Pid<WorkerMsg> = registry::whereis("supervisor-named-worker").unwrap();
    assert_eq!(found, second);
    assert_eq!(found.ping().await, Ok("named"));
    let old = first.ping().await.unwrap_err();
    assert!(matches!(old, CallError::NoProc { .. }), "{old}");
}

#[tokio::test]
async fn a_plain_process_can_be_a_child() {
    let mut starts = Ctx::<AnyPid>::detached();
    let report = starts.pid();
    let spec = SupervisorSpec::new(Strategy::OneForOne).child(ChildSpec::process(
        "plain",
        move |mut ctx: Ctx<&'static str>| {
            let report = report.clone();
            async move {
                report.send(ctx.pid().any())?;
                receive!(ctx, { text => Err(ExitReason::error(text)) })
            }
        },
    ));
    let sup = Supervisor::start(spec).await.unwrap();
    let first = next(&mut starts).await;
    starts.exit(&first, ExitReason::Kill);
    let second = next(&mut starts).await;
    assert_ne!(first, second, "restarted as a new process");
    assert!(second.is_alive());
    assert_eq!(sup.which_children().await.unwrap()[0].pid, Some(second));
}

// ------------------------------------------------------------ management

#[tokio::test]
async fn children_can_be_listed_counted_started_stopped_and_deleted() {
    let mut probe = Ctx::<Life>::detached();
    let (sup, _) = abc(SupervisorSpec::new(Strategy::OneForOne), &mut probe).await;
    let counts = sup.count_children().await.unwrap();
    assert_eq!(
        (
            counts.specs,
            counts.active,
            counts.workers,
            counts.supervisors
        ),
        (3, 3, 3, 0)
    );

    sup.start_child(worker("d", &probe)).await.unwrap();
    up(&mut probe, "d").await;
    assert_eq!(
        sup.start_child(worker("d", &probe)).await,
        Err(SupervisorError::AlreadyPresent("d".into()))
    );
    sup.terminate_child("b").await.unwrap();
    gone(&mut probe, "b", ExitReason::Shutdown).await;
    assert_eq!(sup.count_children().await.unwrap().active, 3);
    assert_eq!(
        sup.delete_child("a").await,
        Err(SupervisorError::Running("a".into()))
    );
    sup.restart_child("b").await.unwrap();
    up(&mut probe, "b").await;
    sup.terminate_child("b").await.unwrap();
    gone(&mut probe, "b", ExitReason::Shutdown).await;
    sup.delete_child("b").await.unwrap();
    let ids = ids(&sup).await;
    assert_eq!(ids, ["a", "c", "d"]);
    assert_eq!(
        sup.terminate_child("zz").await,
        Err(SupervisorError::NotFound("zz".into()))
    );
    let restart = sup.which_children().await.unwrap()[0].restart;
    assert_eq!(restart, Restart::Permanent);
}

#[tokio::test]
async fn a_dynamic_supervisor_starts_children_at_run_time_up_to_its_limit() {
    let mut probe = Ctx::<Life>::detached();
    let pool = Supervisor::start(SupervisorSpec::dynamic().max_children(2))
        .await
        .unwrap();
    let first = pool.start_child(worker("w", &probe)).await.unwrap();
    up(&mut probe, "w").await;
    pool.start_child(worker("w", &probe)).await.unwrap();
    let second = up(&mut probe, "w").await;
    assert_eq!(
        pool.start_child(worker("w", &probe)).await,
        Err(SupervisorError::MaxChildren(2))
    );
    // A crashed child is restarted (permanent), and the pool stays full.
    second.fail().unwrap();
    gone(&mut probe, "w", failed()).await;
    up(&mut probe, "w").await;
    assert_eq!(pool.count_children().await.unwrap().active, 2);
    // Stopping one by pid makes room.
    pool.terminate_child_pid(first).await.unwrap();
    gone(&mut probe, "w", ExitReason::Shutdown).await;
    assert_eq!(pool.count_children().await.unwrap().specs, 1);
    pool.start_child(worker("w", &probe)).await.unwrap();
    up(&mut probe, "w").await;
    let ids = ids(&pool).await;
    assert_eq!(ids.len(), 2);
    assert_ne!(
        ids[0], ids[1],
        "a dynamic supervisor's children get distinct ids"
    );
}

// ------------------------------------------------------- supervisor! trees

/// Reports to the probe registered by the test that starts the tree.
fn tree_probe() -> Pid<Life> {
    registry::whereis("supervisor-tree-probe").expect("the test registers its probe")
}

supervisor! {
    /// Gives up at the first restart.
    Fragile {
        strategy: rest_for_one,
        intensity: 0 per 1m,
        children: [
            first: Worker::child(("first", tree_probe())),
            second: Worker::child(("second", tree_probe())).transient().named("supervisor-tree-second"),
        ],
    }
}

supervisor! {
    pub Root {
        strategy: one_for_all,
        intensity: 5 per 5s,
        children: [
            sibling: Worker::child(("sibling", tree_probe())).shutdown(Duration::from_millis(500)),
            fragile: Fragile::child(()),
        ],
    }
}

#[tokio::test]
async fn a_declared_tree_nests_and_escalates() {
    let mut probe = Ctx::<Life>::detached();
    registry::register("supervisor-tree-probe", &probe.pid()).unwrap();
    let root = Root::start(()).await.unwrap();
    up(&mut probe, "sibling").await;
    up(&mut probe, "first").await;
    let second = up(&mut probe, "second").await;
    let children = root.which_children().await.unwrap();
    let ids: Vec<&str> = children.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["sibling", "fragile"]);
    assert_eq!(children[1].kind, ChildKind::Supervisor);
    assert_eq!(
        registry::whereis::<WorkerMsg>("supervisor-tree-second").unwrap(),
        second
    );

    // `second` fails; Fragile may not restart anything, so it stops `first`
    // and gives up; Root (one_for_all) stops `sibling` and starts it all again.
    second.fail().unwrap();
    gone(&mut probe, "second", failed()).await;
    gone(&mut probe, "first", ExitReason::Shutdown).await;
    gone(&mut probe, "sibling", ExitReason::Shutdown).await;
    up(&mut probe, "sibling").await;
    up(&mut probe, "first").await;
    let again = up(&mut probe, "second").await;
    assert_eq!(
        registry::whereis::<WorkerMsg>("supervisor-tree-second").unwrap(),
        again
    );

    fauxtp::genserver::stop(&root, ExitReason::Shutdown, common::WAIT)
        .await
        .unwrap();
    gone(&mut probe, "second", ExitReason::Shutdown).await;
    gone(&mut probe, "first", ExitReason::Shutdown).await;
    gone(&mut probe, "sibling", ExitReason::Shutdown).await;
}

// ----------------------------------------------------------- finer points

#[tokio::test]
async fn one_for_all_drops_temporary_siblings_instead_of_restarting_them() {
    let mut probe = Ctx::<Life>::detached();
    let spec = SupervisorSpec::new(Strategy::OneForAll)
        .child(worker("tmp", &probe).temporary())
        .child(worker("a", &probe))
        .child(worker("b", &probe))
        .child(worker("tmp2", &probe).temporary());
    let sup = Supervisor::start(spec).await.unwrap();
    up(&mut probe, "tmp").await;
    up(&mut probe, "a").await;
    let b = up(&mut probe, "b").await;
    up(&mut probe, "tmp2").await;
    b.fail().unwrap();
    gone(&mut probe, "b", failed()).await;
    gone(&mut probe, "tmp2", ExitReason::Shutdown).await;
    gone(&mut probe, "a", ExitReason::Shutdown).await;
    gone(&mut probe, "tmp", ExitReason::Shutdown).await;
    up(&mut probe, "a").await;
    up(&mut probe, "b").await;
    quiet(&mut probe).await;
    assert_eq!(ids(&sup).await, ["a", "b"]);
}

#[tokio::test]
async fn a_start_function_can_link_a_server_through_its_launch() {
    let mut probe = Ctx::<Life>::detached();
    let to = probe.pid();
    let custom = ChildSpec::new("custom", ChildKind::Worker, move |launch| {
        let to = to.clone();
        async move {
            // The launch stands for the supervisor: the server is linked to it.
            let pid = Worker::start_link(&launch, ("custom", to)).await?;
            Ok(pid.any())
        }
    });
    let sup = Supervisor::start(SupervisorSpec::new(Strategy::OneForOne).child(custom))
        .await
        .unwrap();
    let first = up(&mut probe, "custom").await;
    first.fail().unwrap();
    gone(&mut probe, "custom", failed()).await;
    up(&mut probe, "custom").await;
    assert_eq!(ids(&sup).await, ["custom"]);
}

#[tokio::test]
async fn the_children_of_a_dynamic_spec_count_against_its_limit() {
    let mut probe = Ctx::<Life>::detached();
    let spec = SupervisorSpec::dynamic()
        .max_children(2)
        .child(worker("w", &probe))
        .child(worker("w", &probe));
    let pool = Supervisor::start(spec).await.unwrap();
    up(&mut probe, "w").await;
    up(&mut probe, "w").await;
    assert_eq!(
        pool.start_child(worker("w", &probe)).await,
        Err(SupervisorError::MaxChildren(2))
    );
    let err = Supervisor::start(
        SupervisorSpec::dynamic()
            .max_children(1)
            .child(worker("x", &probe))
            .child(worker("x", &probe)),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("maximum of 1 children"), "{err}");
}

#[tokio::test]
async fn a_declared_tree_names_itself_in_start_errors() {
    supervisor! {
        Doomed {
            children: [refuses: Refuses::child(())],
        }
    }
    let err = Doomed::start(()).await.unwrap_err();
    assert!(
        matches!(&err, fauxtp::StartError::Init { kind: "Doomed", .. }),
        "{err}"
    );
}

#[tokio::test]
async fn a_process_child_whose_name_is_taken_never_runs() {
    let mut me = Ctx::<&'static str>::detached();
    fauxtp::registry::register("supervisor-taken-name", &me.pid()).unwrap();
    let report = me.pid();
    let child = ChildSpec::process("p", move |_: Ctx<()>| {
        let report = report.clone();
        async move {
            let _ = report.send("the body ran");
            Ok(())
        }
    })
    .named("supervisor-taken-name");
    let err = Supervisor::start(SupervisorSpec::new(Strategy::OneForOne).child(child))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StartError::Init { reason, .. } if reason.to_string().contains("already registered")),
        "{err}"
    );
    // The name is checked before the body runs: nothing of it happened.
    assert_no_message!(me, Duration::from_millis(50));
}

#[tokio::test]
async fn the_live_tree_shows_each_level_with_its_restarts() {
    let mut probe = Ctx::<Life>::detached();
    let inner = SupervisorSpec::new(Strategy::OneForOne)
        .intensity(5, Duration::from_secs(60))
        .child(worker("leaf", &probe));
    let spec = SupervisorSpec::new(Strategy::RestForOne)
        .child(worker("top", &probe))
        .child(Supervisor::child(inner).id("inner"));
    let root = Supervisor::start(spec).await.unwrap();
    up(&mut probe, "top").await;
    let leaf = up(&mut probe, "leaf").await;
    leaf.fail().unwrap();
    gone(&mut probe, "leaf", failed()).await;
    let leaf_now = up(&mut probe, "leaf").await;

    let tree = fauxtp::supervisor::tree(&root).await.unwrap();
    assert_eq!(tree.pid, root.any());
    assert_eq!(tree.strategy, Strategy::RestForOne);
    assert_eq!(tree.restarts_in_window, 0);
    let ids: Vec<&str> = tree.children.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["top", "inner"]);
    assert!(tree.children[0].subtree.is_none());
    let inner = tree.children[1].subtree.as_ref().expect("the inner level");
    assert_eq!(tree.children[1].kind, ChildKind::Supervisor);
    assert_eq!(inner.restarts_in_window, 1);
    assert_eq!(
        (inner.max_restarts, inner.within),
        (5, Duration::from_secs(60))
    );
    let leaf_node = &inner.children[0];
    assert_eq!(leaf_node.id, "leaf");
    assert_eq!(leaf_node.pid, Some(leaf_now.any()));
    assert_eq!(leaf_node.restarts, 1);
    assert_eq!(leaf_node.restart, Restart::Permanent);

    // As text: one line per supervisor and per child, indented by depth.
    let text = tree.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert!(
        lines[0].starts_with(&format!("{root} RestForOne, restarts 0/3")),
        "{text}"
    );
    assert!(lines[1].starts_with("  top <0."), "{text}");
    assert!(lines[2].starts_with("  inner <0."), "{text}");
    assert!(lines[3].starts_with("    <0."), "{text}");
    assert!(
        lines[4].starts_with(&format!(
            "      leaf {leaf_now} Worker Permanent, restarts 1"
        )),
        "{text}"
    );
}

#[tokio::test]
async fn a_shutdown_with_a_value_is_a_clean_exit_for_a_transient_child() {
    let mut probe = Ctx::<Life>::detached();
    let spec =
        SupervisorSpec::new(Strategy::OneForOne).child(worker("transient", &probe).transient());
    let sup = Supervisor::start(spec).await.unwrap();
    let transient = up(&mut probe, "transient").await;
    let mut me = Ctx::<()>::detached();
    let watch = me.monitor(&transient);
    transient.shut_down_with("drained").unwrap();
    let reason = ExitReason::shutdown_with("drained");
    gone(&mut probe, "transient", reason.clone()).await;
    // Monitors see the value; the supervisor does not restart it.
    assert_eq!(down(&mut me, watch).await, reason);
    quiet(&mut probe).await;
    let children = sup.which_children().await.unwrap();
    assert_eq!(children[0].pid, None);
}

/// A server that runs only while `enabled` is true when it starts
/// (OTP's `ignore` from `init` otherwise).
struct Optional {
    _probe: Pid<Life>,
}

#[genserver]
impl Optional {
    fn init(
        enabled: std::sync::Arc<std::sync::atomic::AtomicBool>,
        probe: Pid<Life>,
        ctx: &mut ServerCtx<Self>,
    ) -> Self {
        if !enabled.load(std::sync::atomic::Ordering::SeqCst) {
            ctx.ignore();
        }
        Optional { _probe: probe }
    }

    #[cast]
    fn fail(&mut self) -> Result<(), ExitReason> {
        Err(ExitReason::error("failed"))
    }

    async fn terminate(&mut self, reason: &ExitReason) {
        let _ = self._probe.send(Life::Down("optional", reason.clone()));
    }
}

#[tokio::test]
async fn init_may_ignore_and_the_server_does_not_start() {
    let probe = Ctx::<Life>::detached();
    let off = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let started = Optional::start_named("supervisor-optional", (off, probe.pid())).await;
    assert_eq!(
        started.unwrap_err(),
        fauxtp::StartError::Ignored { kind: "Optional" }
    );
    assert!(registry::whereis_any("supervisor-optional").is_none());
    // No terminate: it never started.
    let mut probe = probe;
    quiet(&mut probe).await;
}

#[tokio::test]
async fn a_child_that_ignores_is_kept_not_running_at_start_and_at_restart() {
    use std::sync::atomic::Ordering;
    let mut probe = Ctx::<Life>::detached();
    let enabled = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let spec = SupervisorSpec::new(Strategy::OneForOne)
        .child(Optional::child((enabled.clone(), probe.pid())).id("optional"))
        .child(worker("worker", &probe));
    let sup = Supervisor::start(spec).await.unwrap();
    up(&mut probe, "worker").await;
    let children = sup.which_children().await.unwrap();
    assert_eq!(children[0].id, "optional");
    assert_eq!(children[0].pid, None, "ignored: kept, not running");
    assert_eq!(sup.count_children().await.unwrap().active, 1);

    // Started by hand once enabled; when it crashes and its restart
    // ignores, it is not running again, and the supervisor goes on.
    enabled.store(true, Ordering::SeqCst);
    let pid = sup.restart_child("optional").await.unwrap();
    enabled.store(false, Ordering::SeqCst);
    let optional: Pid<OptionalMsg> = pid.downcast().unwrap();
    // Links are told before monitors: once the down message is here, the
    // supervisor has the exit in its mailbox, ahead of the call below.
    let mut me = Ctx::<()>::detached();
    let watch = me.monitor(&optional);
    optional.fail().unwrap();
    gone(&mut probe, "optional", failed()).await;
    down(&mut me, watch).await;
    let children = sup.which_children().await.unwrap();
    assert_eq!(children[0].pid, None);
    assert!(sup.is_alive());
}

// ------------------------------------------------ significant children

#[tokio::test]
async fn any_significant_child_ending_for_good_stops_the_supervisor() {
    use fauxtp::supervisor::AutoShutdown;
    let mut probe = Ctx::<Life>::detached();
    let spec = SupervisorSpec::new(Strategy::OneForOne)
        .auto_shutdown(AutoShutdown::AnySignificant)
        .child(worker("helper", &probe))
        .child(worker("job", &probe).transient().significant());
    let sup = Supervisor::start(spec).await.unwrap();
    let mut me = Ctx::<()>::detached();
    let watch = me.monitor(&sup);
    up(&mut probe, "helper").await;
    let job = up(&mut probe, "job").await;

    // A crash is restarted, as for any transient child.
    job.fail().unwrap();
    gone(&mut probe, "job", failed()).await;
    let job = up(&mut probe, "job").await;
    assert!(sup.is_alive());

    // A clean end is for good: the supervisor stops the rest and ends.
    job.quit().unwrap();
    gone(&mut probe, "job", ExitReason::Normal).await;
    gone(&mut probe, "helper", ExitReason::Shutdown).await;
    assert_eq!(down(&mut me, watch).await, ExitReason::Shutdown);
}

#[tokio::test]
async fn all_significant_children_must_end_before_the_supervisor_stops() {
    use fauxtp::supervisor::AutoShutdown;
    let mut probe = Ctx::<Life>::detached();
    let spec = SupervisorSpec::new(Strategy::OneForOne)
        .auto_shutdown(AutoShutdown::AllSignificant)
        .child(worker("a", &probe).temporary().significant())
        .child(worker("b", &probe).temporary().significant());
    let sup = Supervisor::start(spec).await.unwrap();
    let mut me = Ctx::<()>::detached();
    let watch = me.monitor(&sup);
    let a = up(&mut probe, "a").await;
    let b = up(&mut probe, "b").await;
    a.quit().unwrap();
    gone(&mut probe, "a", ExitReason::Normal).await;
    assert_eq!(sup.count_children().await.unwrap().active, 1);
    b.fail().unwrap();
    gone(&mut probe, "b", failed()).await;
    assert_eq!(down(&mut me, watch).await, ExitReason::Shutdown);
}

#[tokio::test]
async fn a_significant_permanent_child_is_refused() {
    let probe = Ctx::<Life>::detached();
    let spec =
        SupervisorSpec::new(Strategy::OneForOne).child(worker("forever", &probe).significant());
    let error = Supervisor::start(spec).await.unwrap_err();
    assert!(
        error.to_string().contains("significant and permanent"),
        "{error}"
    );
}

// -------------------------------------------- trees with arguments

supervisor! {
    /// A tree whose children take what `start` is given.
    Configured(prefix: &'static str, probe: Pid<Life>) {
        strategy: one_for_one,
        children: [
            first: Worker::child((prefix, probe.clone())),
            second: Worker::child(("second", probe)),
        ],
    }
}

supervisor! {
    /// A tree of one argument, nested with it.
    Outer(probe: Pid<Life>) {
        children: [
            inner: Configured::child(("inner", probe)),
        ],
    }
}

#[tokio::test]
async fn a_tree_takes_run_time_arguments_for_its_children() {
    let mut probe = Ctx::<Life>::detached();
    let tree = Configured::start(("configured", probe.pid()))
        .await
        .unwrap();
    up(&mut probe, "configured").await;
    up(&mut probe, "second").await;
    assert_eq!(tree.which_children().await.unwrap().len(), 2);

    let outer = Outer::start(probe.pid()).await.unwrap();
    up(&mut probe, "inner").await;
    up(&mut probe, "second").await;
    assert_eq!(outer.which_children().await.unwrap()[0].id, "inner");
}
