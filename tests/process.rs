//! Processes: pids, spawn, exit reasons, panics, links, trap_exit, kill,
//! monitors.

mod common;

use std::collections::HashSet;
use std::future::IntoFuture;
use std::time::Duration;

use common::{down, ended, next, nothing_within, WAIT};
use fauxtp::prelude::*;
use fauxtp::{ProcessError, SendError};

#[derive(Debug, PartialEq)]
enum Cmd {
    Crash(&'static str),
    Stop,
    Ping(Pid<Reply>),
}

#[derive(Debug, PartialEq)]
enum Reply {
    Pong,
    Started(&'static str, Pid<Cmd>),
    Trapped(AnyPid, ExitReason),
}

/// A worker that answers pings, crashes or stops when told.
async fn worker(mut ctx: Ctx<Cmd>) -> ProcessResult {
    loop {
        receive!(ctx, {
            Cmd::Ping(from) => from.send(Reply::Pong)?,
            Cmd::Crash(why) => return Err(ExitReason::error(why)),
            Cmd::Stop => return Ok(()),
        });
    }
}

async fn is_responsive(me: &mut Ctx<Reply>, pid: &Pid<Cmd>) -> bool {
    if pid.send(Cmd::Ping(me.pid())).is_err() {
        return false;
    }
    receive!(me, {
        Reply::Pong => true,
        after WAIT => false,
    })
}

#[tokio::test]
async fn pids_print_like_erlang_compare_by_identity_and_increase() {
    let a = fauxtp::spawn(worker);
    let b = fauxtp::spawn(worker);
    assert!(b.id() > a.id());
    assert_eq!(a.to_string(), format!("<0.{}.0>", a.id()));
    assert_eq!(format!("{:?}", b.any()), b.to_string());
    assert_eq!(a.clone(), a);
    assert_ne!(a, b);
    assert_eq!(a.any(), a);
    let set: HashSet<Pid<Cmd>> = [a.clone(), a.clone(), b.clone()].into_iter().collect();
    assert_eq!(set.len(), 2);
    a.send(Cmd::Stop).unwrap();
    b.send(Cmd::Stop).unwrap();
}

#[test]
fn pids_are_send_sync_and_clone_even_for_non_sync_messages() {
    fn check<T: Send + Sync + Clone + 'static>() {}
    check::<Pid<std::cell::Cell<u8>>>();
    check::<AnyPid>();
}

#[tokio::test]
async fn sending_to_an_ended_process_gives_the_message_back() {
    let mut me = Ctx::<Reply>::detached();
    let pid = fauxtp::spawn(worker);
    pid.send(Cmd::Stop).unwrap();
    assert_eq!(ended(&mut me, &pid).await, ExitReason::Normal);
    assert!(!pid.is_alive());
    let err: SendError<Cmd> = pid.send(Cmd::Crash("late")).unwrap_err();
    assert_eq!(err.message, Cmd::Crash("late"));
    assert_eq!(err.to, pid);
    assert_eq!(
        err.to_string(),
        format!("cannot send to {pid}: its mailbox is closed (the process has ended)")
    );
}

#[tokio::test]
async fn an_error_from_the_body_becomes_the_exit_reason() {
    let mut me = Ctx::<Reply>::detached();
    let (_, monitor) = me.spawn_monitor(|_: Ctx<()>| async {
        let _: u32 = "forty-two".parse()?;
        Ok(())
    });
    assert_eq!(
        down(&mut me, monitor).await,
        ExitReason::error("invalid digit found in string")
    );
}

async fn panic_ends_that_process_only() {
    let mut me = Ctx::<Reply>::detached();
    let bystander = fauxtp::spawn(worker);
    let (crasher, monitor) = me.spawn_monitor(|_: Ctx<()>| async {
        let items: Vec<u32> = Vec::new();
        if items.is_empty() {
            panic!("no items at all");
        }
        Ok(())
    });
    assert_eq!(
        down(&mut me, monitor).await,
        ExitReason::Panic("no items at all".into())
    );
    assert!(!crasher.is_alive());
    assert!(is_responsive(&mut me, &bystander).await);
    bystander.send(Cmd::Stop).unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn a_panic_ends_that_process_only_current_thread() {
    panic_ends_that_process_only().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_ends_that_process_only_multi_thread() {
    panic_ends_that_process_only().await;
}

/// Spawns A, which spawn-links B, which spawn-links C (A - B - C); B and C
/// report their pids. B traps exits if asked and reports what it traps.
async fn chain(me: &mut Ctx<Reply>, b_traps: bool) -> [Pid<Cmd>; 3] {
    let report = me.pid();
    let a = fauxtp::spawn(move |mut ctx: Ctx<Cmd>| async move {
        ctx.spawn_link(move |mut ctx: Ctx<Cmd>| async move {
            ctx.trap_exit(b_traps);
            let to = report.clone();
            ctx.spawn_link(move |ctx: Ctx<Cmd>| async move {
                to.send(Reply::Started("c", ctx.pid()))?;
                worker(ctx).await
            });
            report.send(Reply::Started("b", ctx.pid()))?;
            loop {
                receive!(ctx, {
                    Exit(e) => report.send(Reply::Trapped(e.from, e.reason))?,
                    Cmd::Ping(from) => from.send(Reply::Pong)?,
                    Cmd::Stop => return Ok(()),
                });
            }
        });
        worker(ctx).await
    });
    let (mut b, mut c) = (None, None);
    for _ in 0..2 {
        match next(me).await {
            Reply::Started("b", pid) => b = Some(pid),
            Reply::Started("c", pid) => c = Some(pid),
            other => panic!("expected a started report, got {other:?}"),
        }
    }
    [a, b.expect("b reported"), c.expect("c reported")]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abnormal_exit_travels_along_a_chain_of_links() {
    let mut me = Ctx::<Reply>::detached();
    let [a, b, c] = chain(&mut me, false).await;
    let monitors = [me.monitor(&a), me.monitor(&b), me.monitor(&c)];
    c.send(Cmd::Crash("disk on fire")).unwrap();
    for monitor in monitors {
        assert_eq!(
            down(&mut me, monitor).await,
            ExitReason::error("disk on fire")
        );
    }
}

#[tokio::test]
async fn a_trapping_process_gets_an_exit_message_and_stops_the_chain() {
    let mut me = Ctx::<Reply>::detached();
    let [a, b, c] = chain(&mut me, true).await;
    let c_down = me.monitor(&c);
    c.send(Cmd::Crash("boom")).unwrap();
    assert_eq!(down(&mut me, c_down).await, ExitReason::error("boom"));
    assert_eq!(
        next(&mut me).await,
        Reply::Trapped(c.any(), ExitReason::error("boom"))
    );
    assert!(is_responsive(&mut me, &b).await);
    assert!(is_responsive(&mut me, &a).await);
    for pid in [&a, &b] {
        pid.send(Cmd::Stop).unwrap();
    }
}

#[tokio::test]
async fn a_normal_exit_does_not_propagate_along_links() {
    let mut me = Ctx::<Reply>::detached();
    let [a, b, c] = chain(&mut me, false).await;
    c.send(Cmd::Stop).unwrap();
    assert_eq!(ended(&mut me, &c).await, ExitReason::Normal);
    assert!(is_responsive(&mut me, &b).await);
    assert!(is_responsive(&mut me, &a).await);
    // B ending normally does not take A down either.
    b.send(Cmd::Stop).unwrap();
    assert_eq!(ended(&mut me, &b).await, ExitReason::Normal);
    assert!(is_responsive(&mut me, &a).await);
    a.send(Cmd::Stop).unwrap();
}

#[tokio::test]
async fn kill_cannot_be_trapped_but_killed_can() {
    let mut me = Ctx::<Reply>::detached();
    let [a, b, c] = chain(&mut me, true).await;
    let monitors = [me.monitor(&a), me.monitor(&b), me.monitor(&c)];
    // B traps exits, yet `Kill` ends it; it ends with `Killed`, which is what
    // its links see: A (not trapping) ends too, C (not trapping) as well.
    me.exit(&b, ExitReason::Kill);
    for monitor in monitors {
        assert_eq!(down(&mut me, monitor).await, ExitReason::Killed);
    }
}

#[tokio::test]
async fn a_killed_link_is_a_trappable_signal() {
    let mut me = Ctx::<Reply>::detached();
    let [a, b, c] = chain(&mut me, true).await;
    me.exit(&c, ExitReason::Kill);
    assert_eq!(
        next(&mut me).await,
        Reply::Trapped(c.any(), ExitReason::Killed)
    );
    assert!(is_responsive(&mut me, &b).await);
    for pid in [&a, &b] {
        pid.send(Cmd::Stop).unwrap();
    }
}

#[tokio::test]
async fn exit_signals_follow_otp_rules() {
    let mut me = Ctx::<Reply>::detached();
    // Normal is ignored by a process that does not trap exits.
    let plain = fauxtp::spawn(worker);
    me.exit(&plain, ExitReason::Normal);
    assert!(is_responsive(&mut me, &plain).await);
    // Any other reason ends it with that reason.
    me.exit(&plain, ExitReason::Shutdown);
    assert_eq!(ended(&mut me, &plain).await, ExitReason::Shutdown);

    // A trapping process receives the signal, with the sender, as a message.
    let report = me.pid();
    let trapper = fauxtp::spawn(move |mut ctx: Ctx<Cmd>| async move {
        ctx.trap_exit(true);
        report.send(Reply::Pong)?;
        for _ in 0..2 {
            receive!(ctx, {
                Exit(e) => report.send(Reply::Trapped(e.from, e.reason))?,
            });
        }
        Ok(())
    });
    assert_eq!(next(&mut me).await, Reply::Pong, "the trapper is ready");
    me.exit(&trapper, ExitReason::Normal);
    me.exit(&trapper, ExitReason::error("go away"));
    let me_any = me.pid().any();
    assert_eq!(
        next(&mut me).await,
        Reply::Trapped(me_any.clone(), ExitReason::Normal)
    );
    assert_eq!(
        next(&mut me).await,
        Reply::Trapped(me_any, ExitReason::error("go away"))
    );
}

#[tokio::test]
async fn kill_ends_a_process_that_waits_on_something_else() {
    let mut me = Ctx::<Reply>::detached();
    let (stuck, monitor) = me.spawn_monitor(|_: Ctx<()>| async {
        std::future::pending::<()>().await;
        Ok(())
    });
    me.exit(&stuck, ExitReason::Kill);
    assert_eq!(down(&mut me, monitor).await, ExitReason::Killed);
}

#[tokio::test]
async fn unlink_stops_propagation() {
    let mut me = Ctx::<Reply>::detached();
    let [a, b, c] = chain(&mut me, false).await;
    let a_down = me.monitor(&a);
    let b_down = me.monitor(&b);
    // Only B can unlink itself from C: ask it through a process that links
    // and unlinks on its own behalf.
    let report = me.pid();
    let d = fauxtp::spawn(move |mut ctx: Ctx<Cmd>| async move {
        ctx.link(&c)?;
        ctx.unlink(&c);
        report.send(Reply::Started("d", ctx.pid()))?;
        let c_down = ctx.monitor(&c);
        c.send(Cmd::Crash("bye"))?;
        receive!(ctx, { Down(x) if x.monitor == c_down => {} });
        worker(ctx).await
    });
    assert!(matches!(next(&mut me).await, Reply::Started("d", _)));
    assert_eq!(down(&mut me, b_down).await, ExitReason::error("bye"));
    assert_eq!(down(&mut me, a_down).await, ExitReason::error("bye"));
    assert!(is_responsive(&mut me, &d).await);
    d.send(Cmd::Stop).unwrap();
}

#[tokio::test]
async fn linking_to_an_ended_process_is_an_error_and_to_itself_a_no_op() {
    let mut me = Ctx::<Reply>::detached();
    let gone = fauxtp::spawn(worker);
    gone.send(Cmd::Stop).unwrap();
    ended(&mut me, &gone).await;
    assert_eq!(me.link(&gone), Err(ProcessError::NoProc(gone.any())));
    assert_eq!(
        me.link(&gone).unwrap_err().to_string(),
        format!("{gone} is not alive (noproc)")
    );
    assert_eq!(me.link(me.pid()), Ok(()));
}

#[tokio::test]
async fn a_process_that_sends_itself_normal_ends_normally() {
    let mut me = Ctx::<Reply>::detached();
    let (_, monitor) = me.spawn_monitor(|mut ctx: Ctx<()>| async move {
        ctx.exit(ctx.pid(), ExitReason::Normal);
        // Ends at this await, before the receive could time out.
        receive!(ctx, { after WAIT => Err(ExitReason::error("still running")) })
    });
    assert_eq!(down(&mut me, monitor).await, ExitReason::Normal);
}

#[tokio::test]
async fn trap_exit_returns_the_previous_value() {
    let mut me = Ctx::<Reply>::detached();
    let report = me.pid();
    fauxtp::spawn(move |mut ctx: Ctx<()>| async move {
        let first = ctx.trap_exit(true);
        let second = ctx.trap_exit(false);
        if !first && second {
            report.send(Reply::Pong)?;
        }
        Ok(())
    });
    assert_eq!(next(&mut me).await, Reply::Pong);
    assert!(me.trap_exit(false), "a detached context always traps");
}

#[tokio::test]
async fn monitoring_an_ended_process_gives_noproc_at_once() {
    let mut me = Ctx::<Reply>::detached();
    let gone = fauxtp::spawn(worker);
    gone.send(Cmd::Stop).unwrap();
    assert_eq!(ended(&mut me, &gone).await, ExitReason::Normal);
    let monitor = me.monitor(&gone);
    let down = receive!(me, {
        Down(d) => d,
        after Duration::ZERO => panic!("the noproc down message should already be there"),
    });
    assert_eq!(down.monitor, monitor);
    assert_eq!(down.pid, gone);
    assert_eq!(down.reason, ExitReason::NoProc);
}

#[tokio::test]
async fn a_monitor_fires_exactly_once_and_two_monitors_fire_once_each() {
    let mut me = Ctx::<Reply>::detached();
    let pid = fauxtp::spawn(worker);
    let first = me.monitor(&pid);
    let second = me.monitor(&pid);
    assert_ne!(first, second);
    pid.send(Cmd::Crash("once")).unwrap();
    assert_eq!(down(&mut me, first).await, ExitReason::error("once"));
    assert_eq!(down(&mut me, second).await, ExitReason::error("once"));
    let extra = receive!(me, {
        Down(d) => Some(d),
        after Duration::from_millis(50) => None,
    });
    assert_eq!(extra, None);
}

#[tokio::test]
async fn demonitor_removes_the_monitor_and_flushes_its_down_message() {
    let mut me = Ctx::<Reply>::detached();
    let pid = fauxtp::spawn(worker);
    let active = me.monitor(&pid);
    assert!(me.demonitor(active));

    let fired = me.monitor(&pid);
    pid.send(Cmd::Stop).unwrap();
    // Wait for the end through a third monitor: `fired`'s down is then in the
    // mailbox too (both were delivered together).
    assert_eq!(ended(&mut me, &pid).await, ExitReason::Normal);
    assert!(!me.demonitor(fired));
    let left = receive!(me, {
        Down(d) => Some(d),
        after Duration::ZERO => None,
    });
    assert_eq!(left, None, "demonitor must flush the down message");
}

#[tokio::test]
async fn a_message_sent_before_exiting_arrives_before_the_down() {
    let mut me = Ctx::<Reply>::detached();
    let parent = me.pid();
    let (_, monitor) = me.spawn_monitor(move |_: Ctx<()>| async move {
        parent.send(Reply::Pong)?;
        Ok(())
    });
    let first = me.recv().await;
    assert!(matches!(first, Envelope::Message(Reply::Pong)));
    assert_eq!(down(&mut me, monitor).await, ExitReason::Normal);
}

#[tokio::test]
async fn a_detached_context_traps_every_signal_and_ends_normally_when_dropped() {
    let mut watcher = Ctx::<Reply>::detached();
    let mut me = Ctx::<Reply>::detached();
    let monitor = watcher.monitor(me.pid());
    let pid = me.spawn_link(worker);
    me.exit(&pid, ExitReason::Kill);
    let trapped = receive!(me, {
        Exit(e) => e,
        after WAIT => panic!("the detached context should trap the exit"),
    });
    assert_eq!(trapped.from, pid);
    assert_eq!(trapped.reason, ExitReason::Killed);
    // Even `Kill` arrives as a message: there is no task to end.
    watcher.exit(me.pid(), ExitReason::Kill);
    assert!(matches!(
        me.recv().await,
        Envelope::Exit(Exit {
            reason: ExitReason::Kill,
            ..
        })
    ));
    drop(me);
    assert_eq!(down(&mut watcher, monitor).await, ExitReason::Normal);
}

#[tokio::test]
async fn a_process_body_can_be_an_async_fn() {
    let mut me = Ctx::<Reply>::detached();
    let pid = fauxtp::spawn(worker);
    assert!(is_responsive(&mut me, &pid).await);
    pid.send(Cmd::Stop).unwrap();
    assert_eq!(ended(&mut me, &pid).await, ExitReason::Normal);
    nothing_within(&mut me, Duration::from_millis(10)).await;
}

#[tokio::test]
async fn a_process_that_dropped_its_context_can_be_sent_to_until_it_ends() {
    let mut me = Ctx::<Reply>::detached();
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let (quiet, monitor) = me.spawn_monitor(|_ctx: Ctx<Cmd>| async move {
        // `_ctx` is not used in the body: it is dropped at once.
        let _ = released.await;
        Ok(())
    });
    assert!(
        quiet.send(Cmd::Stop).is_ok(),
        "alive, so its mailbox is open"
    );
    let _ = release.send(());
    assert_eq!(down(&mut me, monitor).await, ExitReason::Normal);
    assert!(quiet.send(Cmd::Stop).is_err());
}

#[tokio::test]
async fn requests_queued_in_a_process_that_ends_fail_with_its_reason() {
    use fauxtp::genserver::{Call, CallError};

    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let server = fauxtp::spawn(|_ctx: Ctx<fauxtp::ReplyTo<u32>>| async move {
        let _ = released.await;
        Err(ExitReason::error("gave up"))
    });
    let (answer, ()) = tokio::join!(
        Call::new(&server, "plain::ask", |reply| reply).into_future(),
        async move {
            let _ = release.send(());
        }
    );
    assert_eq!(
        answer,
        Err(CallError::Exited {
            server: server.any(),
            call: "plain::ask",
            reason: ExitReason::error("gave up")
        })
    );
}

#[tokio::test]
async fn a_panic_before_the_body_starts_ends_only_the_new_process() {
    let mut me = Ctx::<Reply>::detached();
    let (pid, monitor) = me.spawn_monitor(|_ctx: Ctx<()>| {
        if pids_are_cheap() {
            panic!("before the body");
        }
        std::future::ready(Ok(()))
    });
    assert_eq!(
        down(&mut me, monitor).await,
        ExitReason::Panic("before the body".into())
    );
    assert!(!pid.is_alive());
}

fn pids_are_cheap() -> bool {
    true
}

/// A GenServer that traps exits, for `process::info`.
struct Watched;

#[genserver]
impl Watched {
    fn init() -> Self {
        Watched
    }

    #[call]
    fn trap(&mut self, ctx: &mut ServerCtx<Self>) {
        ctx.trap_exit(true);
    }
}

#[tokio::test]
async fn info_reads_name_server_links_monitors_and_trap_exit() {
    let mut me = Ctx::<()>::detached();
    let server = Watched::start_named("process-info-watched", ())
        .await
        .unwrap();
    let info = fauxtp::process::info(&server).unwrap();
    assert_eq!(info.pid, server.any());
    assert_eq!(info.name.as_deref(), Some("process-info-watched"));
    assert_eq!(info.server, Some("Watched"));
    assert_eq!(info.status, fauxtp::process::Status::Running);
    assert!(info.links.is_empty());
    assert!(info.monitored_by.is_empty());
    assert!(!info.trap_exit);

    me.link(&server).unwrap();
    let watch = me.monitor(&server);
    server.trap().await.unwrap();
    let info = fauxtp::process::info(&server).unwrap();
    assert_eq!(info.links, [me.pid().any()]);
    assert_eq!(info.monitored_by, [me.pid().any()]);
    assert!(info.trap_exit);

    me.unlink(&server);
    me.demonitor(watch);
    let info = fauxtp::process::info(&server).unwrap();
    assert!(info.links.is_empty() && info.monitored_by.is_empty());
}

#[tokio::test]
async fn info_of_an_ended_process_is_none() {
    let mut me = Ctx::<()>::detached();
    let (pid, watch) = me.spawn_monitor(|_: Ctx<()>| async { Ok(()) });
    down(&mut me, watch).await;
    assert_eq!(fauxtp::process::info(&pid), None);
}

#[tokio::test]
async fn info_counts_the_messages_waiting_queued_or_taken() {
    let mut me = Ctx::<usize>::detached();
    let (go, started) = tokio::sync::oneshot::channel::<()>();
    let (finish, finished) = tokio::sync::oneshot::channel::<()>();
    let reporter = me.pid();
    let stuck = fauxtp::spawn(move |mut ctx: Ctx<u32>| async move {
        // Stuck before its first receive: the mailbox fills up.
        let _ = started.await;
        let _ = ctx.recv().await;
        reporter.send(ctx.mailbox_len()).unwrap();
        let _ = finished.await;
        Ok(())
    });
    for n in 0..3u32 {
        stuck.send(n).unwrap();
    }
    assert_eq!(fauxtp::process::info(&stuck).unwrap().mailbox_len, 3);
    go.send(()).unwrap();
    // The receive took all three in one batch and handed out one: the two
    // it holds still count.
    assert_eq!(next(&mut me).await, 2);
    assert_eq!(fauxtp::process::info(&stuck).unwrap().mailbox_len, 2);
    finish.send(()).unwrap();
}

#[tokio::test]
async fn list_has_every_live_process_and_not_the_ended_ones() {
    let mut me = Ctx::<()>::detached();
    let (go, release) = tokio::sync::oneshot::channel::<()>();
    let (waiting, watch_waiting) = me.spawn_monitor(|_: Ctx<()>| async move {
        let _ = release.await;
        Ok(())
    });
    let (ended, watch_ended) = me.spawn_monitor(|_: Ctx<()>| async { Ok(()) });
    down(&mut me, watch_ended).await;
    let listed = fauxtp::process::list();
    assert!(listed.contains(&me.pid().any()));
    assert!(listed.contains(&waiting.any()));
    assert!(!listed.contains(&ended.any()));
    assert!(
        listed.windows(2).all(|w| w[0].id() < w[1].id()),
        "by pid order"
    );
    go.send(()).unwrap();
    down(&mut me, watch_waiting).await;
    assert!(!fauxtp::process::list().contains(&waiting.any()));
}

#[tokio::test]
async fn info_reads_parent_and_ancestors_as_proc_lib_does() {
    let mut me = Ctx::<Pid<()>>::detached();
    let top = me.pid();
    // `mid` is spawned linked to this context; it spawns `leaf` with the
    // plain `spawn`, from inside itself: the spawner is the parent.
    let mid = me.spawn_link(move |mut ctx: Ctx<()>| async move {
        let leaf = fauxtp::spawn(|mut ctx: Ctx<()>| async move {
            let _ = ctx.recv().await;
            Ok(())
        });
        top.send(leaf).unwrap();
        let _ = ctx.recv().await;
        Ok(())
    });
    let leaf = next(&mut me).await;
    let info = fauxtp::process::info(&leaf).unwrap();
    assert_eq!(info.parent, Some(mid.any()));
    assert_eq!(info.ancestors, [mid.any(), me.pid().any()]);
    let info = fauxtp::process::info(&mid).unwrap();
    assert_eq!(info.parent, Some(me.pid().any()));
    assert_eq!(info.ancestors, [me.pid().any()]);
    // Code that is not a process (this test's own task) is no parent.
    let orphan = fauxtp::spawn(|mut ctx: Ctx<()>| async move {
        let _ = ctx.recv().await;
        Ok(())
    });
    let info = fauxtp::process::info(&orphan).unwrap();
    assert_eq!(info.parent, None);
    assert!(info.ancestors.is_empty());
    for pid in [&leaf, &mid, &orphan] {
        pid.send(()).unwrap();
    }
}

#[tokio::test]
async fn info_reads_uptime_and_messages_handled() {
    let mut me = Ctx::<usize>::detached();
    let reporter = me.pid();
    let (older, _) = me.spawn_monitor(|mut ctx: Ctx<()>| async move {
        let _ = ctx.recv().await;
        Ok(())
    });
    let worker = fauxtp::spawn(move |mut ctx: Ctx<u32>| async move {
        // Takes two messages, the second by selective receive past a
        // third, and waits.
        let _ = ctx.recv().await;
        fauxtp::receive!(ctx, { 2 => {} });
        reporter.send(ctx.mailbox_len()).unwrap();
        fauxtp::receive!(ctx, { 4 => {} });
        Ok(())
    });
    for n in [1u32, 3, 2] {
        worker.send(n).unwrap();
    }
    assert_eq!(next(&mut me).await, 1);
    let info = fauxtp::process::info(&worker).unwrap();
    assert_eq!(info.messages_handled, 2);
    assert_eq!(info.mailbox_len, 1);
    let older_uptime = fauxtp::process::info(&older).unwrap().uptime;
    assert!(older_uptime >= info.uptime, "spawned earlier, up longer");
    worker.send(4u32).unwrap();
    older.send(()).unwrap();
}

#[tokio::test]
async fn info_says_whether_a_process_waits_for_a_message() {
    let (release, blocked) = tokio::sync::oneshot::channel::<()>();
    let busy = fauxtp::spawn(move |mut ctx: Ctx<()>| async move {
        // Awaiting something else than its mailbox: running, as far as
        // the mailbox can tell.
        let _ = blocked.await;
        let _ = ctx.recv().await;
        Ok(())
    });
    let status = |pid: &Pid<()>| fauxtp::process::info(pid).map(|info| info.status);
    tokio::task::yield_now().await;
    assert_eq!(status(&busy), Some(fauxtp::process::Status::Running));
    release.send(()).unwrap();
    fauxtp::testing::wait_for(
        || status(&busy) == Some(fauxtp::process::Status::Waiting),
        WAIT,
    )
    .await
    .unwrap();
    busy.send(()).unwrap();
}

#[tokio::test]
async fn info_lists_the_monitors_a_process_holds() {
    let mut me = Ctx::<()>::detached();
    let idle = |mut ctx: Ctx<()>| async move {
        let _ = ctx.recv().await;
        Ok(())
    };
    let a = fauxtp::spawn(idle);
    let b = fauxtp::spawn(idle);
    let watch_a = me.monitor(&a);
    let watch_b = me.monitor(&b);
    let (c, watch_c) = me.spawn_monitor(idle);
    let myself = me.pid();
    let monitors = || fauxtp::process::info(&myself).unwrap().monitors;
    assert_eq!(monitors(), [a.any(), b.any(), c.any()]);
    me.demonitor(watch_a);
    assert_eq!(monitors(), [b.any(), c.any()]);
    // A monitor that has fired is no longer held.
    c.send(()).unwrap();
    down(&mut me, watch_c).await;
    assert_eq!(monitors(), [b.any()]);
    me.demonitor(watch_b);
    assert!(monitors().is_empty());
    a.send(()).unwrap();
    b.send(()).unwrap();
}
