//! `fauxtp::sys`: every GenServer answers between handlers with its state,
//! its status, and suspends and resumes.

mod common;

use std::time::Duration;

use fauxtp::prelude::*;
use fauxtp::sys::{self, SysError, SysStatus};

#[derive(Debug)]
struct Tally {
    count: u64,
}

#[genserver]
impl Tally {
    fn init(count: u64) -> Self {
        Tally { count }
    }

    #[cast]
    fn bump(&mut self) {
        self.count += 1;
    }

    #[call]
    fn get(&self) -> u64 {
        self.count
    }
}

/// A state with no `Debug`.
struct Opaque;

#[genserver]
impl Opaque {
    fn init() -> Self {
        Opaque
    }
}

#[tokio::test]
async fn get_state_reads_a_running_servers_state() {
    let tally = Tally::start(1).await.unwrap();
    tally.bump().unwrap();
    tally.bump().unwrap();
    // A request is served between handlers, ahead of queued messages: the
    // call makes sure the casts were handled first.
    assert_eq!(tally.get().await, Ok(3));
    assert_eq!(sys::get_state(&tally).await.unwrap(), "Tally { count: 3 }");
}

#[tokio::test]
async fn get_state_of_a_state_without_debug_is_a_typed_error() {
    let opaque = Opaque::start(()).await.unwrap();
    let error = sys::get_state(&opaque).await.unwrap_err();
    assert_eq!(
        error,
        SysError::NoDebug {
            pid: opaque.any(),
            server: "Opaque"
        }
    );
}

#[tokio::test]
async fn a_suspended_server_answers_its_calls_after_resume() {
    let tally = Tally::start(0).await.unwrap();
    sys::suspend(&tally).await.unwrap();
    let status = sys::get_status(&tally).await.unwrap();
    assert_eq!(status.status, SysStatus::Suspended);
    tally.bump().unwrap();
    let pending = tokio::spawn({
        let tally = tally.clone();
        async move { tally.get().await }
    });
    // The cast and the call wait in the mailbox: the status says so, and
    // the state has not moved.
    fauxtp::testing::wait_for(
        || fauxtp::process::info(&tally).is_some_and(|info| info.mailbox_len == 2),
        common::WAIT,
    )
    .await
    .unwrap();
    assert_eq!(sys::get_state(&tally).await.unwrap(), "Tally { count: 0 }");
    assert!(!pending.is_finished());
    let info = fauxtp::process::info(&tally).unwrap();
    assert_eq!(info.status, fauxtp::process::Status::Suspended);
    sys::resume(&tally).await.unwrap();
    assert_eq!(pending.await.unwrap(), Ok(1));
    let status = sys::get_status(&tally).await.unwrap();
    assert_eq!(status.status, SysStatus::Running);
    assert_eq!(status.messages_handled, 2);
}

#[tokio::test]
async fn get_status_names_the_server_and_its_parent() {
    let me = Ctx::<()>::detached();
    let tally = Tally::start_link(&me, 5).await.unwrap();
    fauxtp::registry::register("sys-tally", &tally).unwrap();
    let status = sys::get_status(&tally).await.unwrap();
    assert_eq!(status.pid, tally.any());
    assert_eq!(status.name.as_deref(), Some("sys-tally"));
    assert_eq!(status.server, "Tally");
    assert_eq!(status.parent, Some(me.pid().any()));
    assert_eq!(status.mailbox_len, 0);
    assert_eq!(status.messages_handled, 0);
}

#[tokio::test]
async fn sys_of_a_plain_process_or_a_dead_server_fails_at_once() {
    let mut me = Ctx::<()>::detached();
    let plain = me.spawn_link(|mut ctx: Ctx<()>| async move {
        let _ = ctx.recv().await;
        Ok(())
    });
    assert_eq!(
        sys::get_state(&plain).await.unwrap_err(),
        SysError::NotAServer { pid: plain.any() }
    );
    let tally = Tally::start(0).await.unwrap();
    fauxtp::genserver::stop(&tally, ExitReason::Normal, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(matches!(
        sys::get_status(&tally).await.unwrap_err(),
        SysError::Call(CallError::NoProc { .. })
    ));
}

#[tokio::test]
async fn replace_state_changes_the_state_between_handlers_and_returns_a_value() {
    let tally = Tally::start(3).await.unwrap();
    let old = sys::replace_state(&tally, |state: &mut Tally| {
        std::mem::replace(&mut state.count, 10)
    })
    .await
    .unwrap();
    assert_eq!(old, 3);
    tally.bump().unwrap();
    assert_eq!(tally.get().await, Ok(11));
}

#[tokio::test]
async fn replace_state_for_another_server_type_is_a_typed_error() {
    let tally = Tally::start(3).await.unwrap();
    let error = sys::replace_state(&tally, |_: &mut Opaque| ())
        .await
        .unwrap_err();
    assert_eq!(
        error,
        SysError::WrongServer {
            pid: tally.any(),
            server: "Tally",
            expected: "Opaque",
        }
    );
    assert_eq!(tally.get().await, Ok(3), "the server goes on");
}

#[tokio::test]
async fn a_replace_function_that_panics_stops_the_server_as_a_handler_would() {
    let mut me = Ctx::<()>::detached();
    let tally = Tally::start(3).await.unwrap();
    let watch = me.monitor(&tally);
    let error = sys::replace_state(&tally, |_: &mut Tally| -> () { panic!("bad repair") })
        .await
        .unwrap_err();
    let reason = ExitReason::Panic("bad repair".into());
    assert!(
        matches!(&error, SysError::Call(CallError::Exited { reason: r, .. }) if *r == reason),
        "{error:?}"
    );
    assert_eq!(common::down(&mut me, watch).await, reason);
}

#[tokio::test]
async fn statistics_count_messages_and_replies_while_on() {
    let tally = Tally::start(0).await.unwrap();
    assert_eq!(sys::statistics(&tally).await.unwrap(), None);
    tally.bump().unwrap();
    sys::set_statistics(&tally, true).await.unwrap();
    tally.bump().unwrap();
    tally.bump().unwrap();
    assert_eq!(tally.get().await, Ok(3));
    let stats = sys::statistics(&tally).await.unwrap().unwrap();
    assert_eq!(stats.messages, 3);
    assert_eq!(stats.replies, 1);
    assert!(stats.max_mailbox_len >= 1);
    assert!(stats.longest <= stats.busy);
    assert!(stats.busy <= stats.collecting_for);
    sys::set_statistics(&tally, false).await.unwrap();
    assert_eq!(sys::statistics(&tally).await.unwrap(), None);
}

/// A server that can be kept busy in a handler.
struct Busy;

#[genserver]
impl Busy {
    fn init() -> Self {
        Busy
    }

    #[cast]
    async fn hold(&mut self, until: tokio::sync::oneshot::Receiver<()>) {
        let _ = until.await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_request_times_out_after_the_time_given() {
    let busy = Busy::start(()).await.unwrap();
    let (release, until) = tokio::sync::oneshot::channel();
    busy.hold(until).unwrap();
    fauxtp::testing::wait_for(
        || fauxtp::process::info(&busy).is_some_and(|info| info.messages_handled == 1),
        common::WAIT,
    )
    .await
    .unwrap();
    let after = Duration::from_millis(50);
    let error = sys::with_timeout(after)
        .get_status(&busy)
        .await
        .unwrap_err();
    assert_eq!(
        error,
        SysError::Call(CallError::Timeout {
            server: busy.any(),
            call: "sys::get_status",
            after,
        })
    );
    release.send(()).unwrap();
    // Served once the handler returns.
    assert!(sys::with_timeout(after).get_status(&busy).await.is_ok());
}
