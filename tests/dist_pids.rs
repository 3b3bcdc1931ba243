//! Pids across nodes: fauxtp and Erlang processes send to each other by
//! pid, monitor each other, and link to each other, with exit reasons both
//! ways and `noconnection` when a node goes.

mod erlang;

use std::time::Duration;

use erlang::{unique, Beam, WAIT};
use fauxtp::dist::term::{atom, Pid as ErlPid, Term};
use fauxtp::dist::{FromTerm, Node, Remote, RemoteDown};
use fauxtp::prelude::*;
use fauxtp::testing::wait_for;

const COOKIE: &str = "dist-pids";

/// An Erlang node whose shell registers as `shell` and prints "ready";
/// given a fauxtp pid `P` in a `{hello, P}` message, it spawns a worker
/// that runs `then` (Erlang expressions; `P` is bound) and answers `{me,
/// Worker}`. The shell itself stays, so the node lives until dropped.
async fn erlang_shell(then: &str) -> Beam {
    let eval = format!(
        "register(shell, self()), io:format(\"ready~n\"), \
         receive {{hello, P}} -> W = spawn(fun() -> {then} end), P ! {{me, W}} end, \
         receive never -> ok end."
    );
    let mut erl = Beam::erl(&unique("e"), COOKIE, &eval);
    assert_eq!(erl.line().await, "ready");
    erl
}

/// A process that takes whatever it is sent and never ends by itself.
fn idle() -> Pid<Term> {
    fauxtp::spawn(|mut ctx: Ctx<Term>| async move {
        loop {
            receive!(ctx, { _ => {} });
        }
    })
}

/// Introduces `me` to the shell of `erl`, and returns its worker's pid.
async fn meet(node: &Node, erl: &Beam, me: &mut Ctx<Term>) -> ErlPid {
    let hello = (atom("hello"), node.pid_of(&me.pid()));
    node.send(&Remote::name("shell", &erl.name), hello)
        .await
        .unwrap();
    let reply = receive!(me, {
        reply => reply,
        after WAIT => panic!("the shell did not answer"),
    });
    let (_, shell) = <(Term, ErlPid)>::from_term(&reply).unwrap();
    shell
}

#[tokio::test]
async fn processes_send_to_each_other_by_pid() {
    let node = erlang::node(COOKIE).await;
    let mut me = Ctx::<Term>::detached();
    let mut erl = erlang_shell("receive {bye, X} -> io:format(\"~p~n\", [X]) end").await;
    let shell = meet(&node, &erl, &mut me).await;
    assert_eq!(shell.node.name, erl.name);
    node.send_to(&shell, (atom("bye"), 42u32)).await.unwrap();
    assert_eq!(erl.line().await, "42");
}

#[tokio::test]
async fn a_fauxtp_process_monitors_an_erlang_one() {
    let node = erlang::node(COOKIE).await;
    let mut me = Ctx::<Term>::detached();
    let mut watcher = Ctx::<RemoteDown>::detached();
    let erl = erlang_shell("receive die -> exit(boom) end").await;
    let shell = meet(&node, &erl, &mut me).await;

    // A monitor taken and removed never fires.
    let removed = node.monitor(&shell, &watcher.pid()).await.unwrap();
    assert!(node.demonitor(&removed));
    let monitor = node.monitor(&shell, &watcher.pid()).await.unwrap();
    node.send_to(&shell, atom("die")).await.unwrap();
    assert_receives!(watcher, RemoteDown { monitor: m, pid, reason } if m == monitor, WAIT);
    assert_eq!(pid, shell);
    assert_eq!(reason, atom("boom"));
    assert_no_message!(watcher, Duration::from_millis(100));

    // A process that is not there: noproc at once.
    let gone = node.monitor(&shell, &watcher.pid()).await.unwrap();
    assert_receives!(watcher, RemoteDown { monitor: m, reason, .. } if m == gone, WAIT);
    assert_eq!(reason, atom("noproc"));
}

#[tokio::test]
async fn a_lost_node_fires_monitors_with_noconnection() {
    let node = erlang::node(COOKIE).await;
    let mut me = Ctx::<Term>::detached();
    let mut watcher = Ctx::<RemoteDown>::detached();
    let erl = erlang_shell("receive never -> ok end").await;
    let shell = meet(&node, &erl, &mut me).await;
    node.monitor(&shell, &watcher.pid()).await.unwrap();
    drop(erl);
    assert_receives!(watcher, RemoteDown { reason, .. }, WAIT);
    assert_eq!(reason, atom("noconnection"));
}

#[tokio::test]
async fn an_erlang_process_monitors_a_fauxtp_one() {
    let node = erlang::node(COOKIE).await;
    let mut me = Ctx::<Term>::detached();
    let mut erl = erlang_shell(
        "receive {watch, V} -> Ref = monitor(process, V), P ! monitoring, \
         receive {'DOWN', Ref, process, V, R} -> io:format(\"~p~n\", [R]) end end",
    )
    .await;
    let shell = meet(&node, &erl, &mut me).await;
    let victim = fauxtp::spawn(|mut ctx: Ctx<Term>| async move {
        receive!(ctx, { _stop => Err(ExitReason::error("done")) })
    });
    node.send_to(&shell, (atom("watch"), node.pid_of(&victim)))
        .await
        .unwrap();
    // Sent after the monitor, over the same connection: once it is here,
    // the monitor is in place on this side.
    assert_receives!(me, m if m == atom("monitoring"), WAIT);
    victim.send(atom("stop")).unwrap();
    assert_eq!(erl.line().await, "{error,<<\"done\">>}");
}

#[tokio::test]
async fn an_erlang_process_linked_to_a_fauxtp_one_gets_its_exit() {
    let node = erlang::node(COOKIE).await;
    let mut me = Ctx::<Term>::detached();
    let mut erl = erlang_shell(
        "process_flag(trap_exit, true), \
         receive {link, V} -> link(V), P ! linked, \
         receive {'EXIT', V, R} -> io:format(\"~p~n\", [R]) end end",
    )
    .await;
    let shell = meet(&node, &erl, &mut me).await;
    let victim =
        fauxtp::spawn(
            |mut ctx: Ctx<Term>| async move { receive!(ctx, { _crash => panic!("kaboom") }) },
        );
    node.send_to(&shell, (atom("link"), node.pid_of(&victim)))
        .await
        .unwrap();
    // Sent after the link, over the same connection: once it is here, the
    // link is in place on this side.
    assert_receives!(me, m if m == atom("linked"), WAIT);
    victim.send(atom("crash")).unwrap();
    assert_eq!(erl.line().await, "{panic,<<\"kaboom\">>}");
}

#[tokio::test]
async fn a_fauxtp_process_linked_to_an_erlang_one_ends_with_its_reason() {
    let node = erlang::node(COOKIE).await;
    let mut me = Ctx::<Term>::detached();
    let erl = erlang_shell("receive die -> exit(boom) end").await;
    let shell = meet(&node, &erl, &mut me).await;
    let fragile = idle();
    let watch = me.monitor(&fragile);
    node.link(&fragile, &shell).await.unwrap();
    // The link is in place once Erlang answers something sent after it.
    node.ping(&erl.name).await.unwrap();
    node.send_to(&shell, atom("die")).await.unwrap();
    assert_receives!(me, Down(d) if d.monitor == watch, WAIT);
    assert_eq!(d.reason, ExitReason::error("boom"));
}

#[tokio::test]
async fn links_break_with_noconnection_and_noproc() {
    let node = erlang::node(COOKIE).await;
    let mut me = Ctx::<Term>::detached();
    let erl = erlang_shell("receive never -> ok end").await;
    let shell = meet(&node, &erl, &mut me).await;
    let first = idle();
    let watch = me.monitor(&first);
    node.link(&first, &shell).await.unwrap();
    node.ping(&erl.name).await.unwrap();
    drop(erl);
    assert_receives!(me, Down(d) if d.monitor == watch, WAIT);
    assert_eq!(d.reason, ExitReason::error("noconnection"));

    // Linking to a process that is gone: noproc, as in Erlang.
    let erl = erlang_shell("receive die -> exit(normal) end").await;
    let shell = meet(&node, &erl, &mut me).await;
    node.send_to(&shell, atom("die")).await.unwrap();
    let second = idle();
    let watch = me.monitor(&second);
    // Make sure it has ended: a monitor says so.
    let mut down = Ctx::<RemoteDown>::detached();
    node.monitor(&shell, &down.pid()).await.unwrap();
    assert_receives!(down, RemoteDown { .. }, WAIT);
    node.link(&second, &shell).await.unwrap();
    assert_receives!(me, Down(d) if d.monitor == watch, WAIT);
    assert_eq!(d.reason, ExitReason::NoProc);
}

/// Signals between two processes keep their order, across nodes too: an
/// exit signal from Erlang's `exit/2` reaches the process before a message
/// the same Erlang process sends after it.
#[tokio::test]
async fn an_exit_signal_arrives_before_the_messages_sent_after_it() {
    let node = erlang::node(COOKIE).await;
    let mut me = Ctx::<Term>::detached();
    let mut seen = Ctx::<String>::detached();
    let report = seen.pid();
    let target = fauxtp::spawn(move |mut ctx: Ctx<Term>| async move {
        ctx.trap_exit(true);
        loop {
            receive!(ctx, {
                Exit(e) => report.send(format!("exit {}", e.reason))?,
                message => report.send(format!("message {message}"))?,
            });
        }
    });
    let erl = erlang_shell(
        "receive {go, T} -> [begin exit(T, {stop, N}), T ! {after_exit, N} end || N <- [1, 2, 3]] end, \
         receive never -> ok end",
    )
    .await;
    let shell = meet(&node, &erl, &mut me).await;
    node.send_to(&shell, (atom("go"), node.pid_of(&target)))
        .await
        .unwrap();
    for n in 1..=3 {
        assert_receives!(seen, text, WAIT);
        assert_eq!(text, format!("exit {{'stop',{n}}}"));
        assert_receives!(seen, text, WAIT);
        assert_eq!(text, format!("message {{'after_exit',{n}}}"));
    }
}

#[tokio::test]
async fn stopping_the_node_breaks_its_links_with_noconnection() {
    let node = erlang::node(COOKIE).await;
    let mut me = Ctx::<Term>::detached();
    let erl = erlang_shell("receive never -> ok end").await;
    let shell = meet(&node, &erl, &mut me).await;
    let linked = idle();
    let watch = me.monitor(&linked);
    node.link(&linked, &shell).await.unwrap();
    node.ping(&erl.name).await.unwrap();
    node.stop();
    assert_receives!(me, Down(d) if d.monitor == watch, WAIT);
    assert_eq!(d.reason, ExitReason::error("noconnection"));
}

#[tokio::test]
async fn unlinked_processes_no_longer_share_their_exits() {
    let node = erlang::node(COOKIE).await;
    let mut me = Ctx::<Term>::detached();
    let erl = erlang_shell("receive die -> exit(boom) end").await;
    let shell = meet(&node, &erl, &mut me).await;
    let survivor = idle();
    // Its down message would show in `me`'s mailbox.
    let _watch = me.monitor(&survivor);
    node.link(&survivor, &shell).await.unwrap();
    node.unlink(&survivor, &shell).await.unwrap();
    // The Erlang worker ends; a monitor says when.
    let mut down = Ctx::<RemoteDown>::detached();
    node.monitor(&shell, &down.pid()).await.unwrap();
    node.send_to(&shell, atom("die")).await.unwrap();
    assert_receives!(down, RemoteDown { reason, .. }, WAIT);
    assert_eq!(reason, atom("boom"));
    // Its exit did not reach the unlinked process: it still runs.
    node.ping(&erl.name).await.unwrap();
    assert!(survivor.is_alive());
    assert_no_message!(me, Duration::from_millis(50));
}

/// How many monitors `worker` (an Erlang process that answers `{count,
/// From}`) is watched by, as its node sees it.
async fn monitored_by(node: &Node, worker: &ErlPid, me: &mut Ctx<Term>) -> u32 {
    let ask = (atom("count"), node.pid_of(&me.pid()));
    node.send_to(worker, ask).await.unwrap();
    let reply = receive!(me, {
        reply => reply,
        after WAIT => panic!("the worker did not answer"),
    });
    <(Term, u32)>::from_term(&reply).unwrap().1
}

/// A process that holds monitors and never ends by itself.
fn holder() -> Pid<RemoteDown> {
    fauxtp::spawn(|mut ctx: Ctx<RemoteDown>| async move {
        loop {
            receive!(ctx, { _ => {} });
        }
    })
}

#[tokio::test]
async fn monitors_go_with_the_process_that_made_them() {
    let node = erlang::node(COOKIE).await;
    let mut me = Ctx::<Term>::detached();
    let erl = erlang_shell(
        "Count = fun Count() -> receive {count, From} -> \
             {monitored_by, L} = process_info(self(), monitored_by), \
             From ! {count, length(L)}, Count() end end, Count()",
    )
    .await;
    let worker = meet(&node, &erl, &mut me).await;
    let owner = holder();
    node.monitor(&worker, &owner).await.unwrap();
    node.monitor(&worker, &owner).await.unwrap();
    assert_eq!(node.stats().monitors, 2);
    assert_eq!(monitored_by(&node, &worker, &mut me).await, 2);

    // The owner ends without taking them off: both go, here and there.
    me.exit(owner, ExitReason::Kill);
    wait_for(|| node.stats().monitors == 0, WAIT).await.unwrap();
    // The node has sent DEMONITOR_P by now or is about to: each question
    // is a round trip to the worker, and the answer falls to 0.
    let deadline = tokio::time::Instant::now() + WAIT;
    while monitored_by(&node, &worker, &mut me).await != 0 {
        assert!(tokio::time::Instant::now() < deadline, "still monitored");
    }

    // One made for a process that has ended goes at once.
    let ended = holder();
    me.exit(ended.clone(), ExitReason::Kill);
    let mut watch = Ctx::<()>::detached();
    let down = watch.monitor(&ended);
    assert_receives!(watch, Down(d) if d.monitor == down, WAIT);
    node.monitor(&worker, &ended).await.unwrap();
    wait_for(|| node.stats().monitors == 0, WAIT).await.unwrap();
}
