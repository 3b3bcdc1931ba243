//! The test helpers: each passes when it should, and fails, with a message
//! that says what was expected and what was there, when it should.

use std::future::Future;
use std::time::Duration;

use fauxtp::prelude::*;
use fauxtp::testing::{wait_for, with_timeout, Probe, TimedOut};

#[derive(Debug, PartialEq)]
enum Msg {
    Pong(u32),
    Other(&'static str),
}

/// Runs `test` as a task and returns its panic message (it must panic).
async fn failure_of(test: impl Future<Output = ()> + Send + 'static) -> String {
    let failed = tokio::spawn(test)
        .await
        .expect_err("the assertion should have failed");
    let payload = failed.into_panic();
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[tokio::test]
async fn assert_receives_binds_the_patterns_names_and_leaves_the_rest() {
    let mut probe = Probe::<Msg>::new();
    probe.pid().send(Msg::Other("first")).unwrap();
    probe.pid().send(Msg::Pong(1)).unwrap();
    probe.pid().send(Msg::Pong(7)).unwrap();
    assert_receives!(probe, Msg::Pong(n) if n > 5);
    assert_eq!(n, 7);
    assert_receives!(probe, Msg::Other(text), Duration::from_millis(100));
    assert_eq!(text, "first");
    assert_receives!(probe, Msg::Pong(1));
    assert_no_message!(probe, Duration::from_millis(10));
}

#[tokio::test]
async fn assert_receives_matches_downs_and_works_on_a_plain_context() {
    let mut me = Ctx::<Msg>::detached();
    let (pid, monitor) = me.spawn_monitor(|_: Ctx<()>| async { Err(ExitReason::error("bye")) });
    assert_receives!(me, Down(d) if d.monitor == monitor);
    assert_eq!(d.pid, pid);
    assert_eq!(d.reason, ExitReason::error("bye"));

    async fn through_a_reference(ctx: &mut Ctx<Msg>) -> u32 {
        assert_receives!(ctx, Msg::Pong(n));
        n
    }
    me.pid().send(Msg::Pong(4)).unwrap();
    assert_eq!(through_a_reference(&mut me).await, 4);
}

#[tokio::test]
async fn assert_receives_fails_naming_the_pattern_and_the_mailbox() {
    let message = failure_of(async {
        let mut probe = Probe::<Msg>::new();
        probe.pid().send(Msg::Other("noise")).unwrap();
        assert_receives!(probe, Msg::Pong(_), Duration::from_millis(10));
    })
    .await;
    assert!(message.contains("`Msg::Pong(_)`"), "{message}");
    assert!(message.contains("10ms"), "{message}");
    assert!(message.contains(r#"Message(Other("noise"))"#), "{message}");
}

#[tokio::test]
async fn assert_no_message_fails_on_any_entry() {
    let message = failure_of(async {
        let mut me = Ctx::<Msg>::detached();
        me.pid().send(Msg::Pong(2)).unwrap();
        assert_no_message!(me, Duration::from_millis(10));
    })
    .await;
    assert!(message.contains("got Pong(2)"), "{message}");

    let message = failure_of(async {
        let mut me = Ctx::<Msg>::detached();
        me.spawn_monitor(|_: Ctx<()>| async { Ok(()) });
        assert_no_message!(me, Duration::from_secs(1));
    })
    .await;
    assert!(message.contains("got Down"), "{message}");
}

#[tokio::test]
async fn a_probe_fails_the_test_when_a_watched_process_crashed_unseen() {
    let message = failure_of(async {
        let mut probe = Probe::<()>::new();
        let crasher = probe.spawn(|_: Ctx<()>| async {
            panic!("nobody looked");
        });
        // Wait for the crash without taking the down message.
        let mut other = Ctx::<()>::detached();
        let m = other.monitor(&crasher);
        assert_receives!(other, Down(d) if d.monitor == m);
        drop(probe);
    })
    .await;
    assert!(
        message.contains("crashed and the test did not look"),
        "{message}"
    );
    assert!(message.contains("panicked: nobody looked"), "{message}");
}

#[tokio::test]
async fn a_probe_is_content_once_the_test_has_seen_the_crash() {
    let mut probe = Probe::<()>::new();
    let crasher = probe.spawn(|_: Ctx<()>| async { Err(ExitReason::error("expected")) });
    let reason = probe.expect_down(&crasher, Duration::from_secs(1)).await;
    assert_eq!(reason, ExitReason::error("expected"));
    // A normal end is no crash either.
    let fine = probe.spawn(|_: Ctx<()>| async { Ok(()) });
    let mut other = Ctx::<()>::detached();
    let m = other.monitor(&fine);
    assert_receives!(other, Down(d) if d.monitor == m);
    probe.check();
}

#[tokio::test]
async fn a_linked_probe_receives_exits() {
    let mut probe = Probe::<()>::new();
    let pid = fauxtp::spawn(|mut ctx: Ctx<()>| async move {
        receive!(ctx, { () => Err(ExitReason::error("told to fail")) })
    });
    probe.link(&pid).unwrap();
    pid.send(()).unwrap();
    assert_receives!(probe, Exit(e) if e.from == pid);
    assert_eq!(e.reason, ExitReason::error("told to fail"));
}

#[tokio::test]
async fn with_timeout_and_wait_for_are_bounded() {
    assert_eq!(
        with_timeout(Duration::from_secs(1), async { 5 }).await,
        Ok(5)
    );
    let err: TimedOut = with_timeout(Duration::from_millis(5), std::future::pending::<()>())
        .await
        .unwrap_err();
    assert_eq!(err.after, Duration::from_millis(5));

    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let set = flag.clone();
    let _setter = fauxtp::task::Task::spawn(async move {
        tokio::task::yield_now().await;
        set.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    wait_for(
        || flag.load(std::sync::atomic::Ordering::SeqCst),
        Duration::from_secs(1),
    )
    .await
    .unwrap();
    let never = wait_for(|| false, Duration::from_millis(5))
        .await
        .unwrap_err();
    assert_eq!(never.to_string(), "the condition did not happen within 5ms");
}

#[tokio::test]
async fn messages_shows_the_mailbox_without_taking_it() {
    let mut me = Ctx::<Msg>::detached();
    me.pid().send(Msg::Pong(1)).unwrap();
    me.pid().send(Msg::Other("x")).unwrap();
    let seen: Vec<String> = me.messages().map(|e| format!("{e:?}")).collect();
    assert_eq!(seen, ["Message(Pong(1))", "Message(Other(\"x\"))"]);
    assert_eq!(me.mailbox_len(), 2);
    assert_receives!(me, Msg::Pong(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probe_sees_even_an_immediate_crash_of_what_it_spawned() {
    for _ in 0..20 {
        let mut probe = Probe::<()>::new();
        let pid = probe.spawn(|_: Ctx<()>| async { Err(ExitReason::error("at once")) });
        let reason = probe.expect_down(&pid, Duration::from_secs(1)).await;
        assert_eq!(
            reason,
            ExitReason::error("at once"),
            "not NoProc: watched before it ran"
        );
    }
}

#[tokio::test]
async fn a_probe_fails_the_test_when_a_linked_process_crashed_unseen() {
    let message = failure_of(async {
        let mut probe = Probe::<()>::new();
        let pid = fauxtp::spawn(|mut ctx: Ctx<()>| async move {
            receive!(ctx, { () => Err(ExitReason::error("linked and lost")) })
        });
        probe.link(&pid).unwrap();
        let mut other = Ctx::<()>::detached();
        let m = other.monitor(&pid);
        pid.send(()).unwrap();
        assert_receives!(other, Down(d) if d.monitor == m);
        drop(probe);
    })
    .await;
    assert!(
        message.contains("(linked) ended with linked and lost"),
        "{message}"
    );
}

#[tokio::test]
async fn with_timeout_takes_a_call() {
    struct Echo;

    #[fauxtp::genserver]
    impl Echo {
        fn init() -> Self {
            Echo
        }

        #[call]
        fn echo(&self, n: u32) -> u32 {
            n
        }
    }

    let echo = Echo::start(()).await.unwrap();
    assert_eq!(
        with_timeout(Duration::from_secs(1), echo.echo(3)).await,
        Ok(Ok(3))
    );
}
