//! Waits shared by the behaviour tests, on top of `fauxtp::testing`. Every
//! wait is bounded: a test that does not see its event fails, saying what
//! it expected and what the mailbox held, instead of hanging.
#![allow(dead_code)]

use std::fmt::Debug;
use std::time::Duration;

use fauxtp::prelude::*;
use fauxtp::testing::wait_for;

/// The failure bound of every wait in the tests.
pub const WAIT: Duration = Duration::from_secs(5);

/// Waits for the down message of `monitor` and returns its reason.
pub async fn down<M: Send + Debug + 'static>(ctx: &mut Ctx<M>, monitor: MonitorRef) -> ExitReason {
    assert_receives!(ctx, Down(d) if d.monitor == monitor, WAIT);
    d.reason
}

/// Monitors `pid` and waits until it has ended; returns its exit reason.
pub async fn ended<M: Send + Debug + 'static>(
    ctx: &mut Ctx<M>,
    pid: impl Into<AnyPid>,
) -> ExitReason {
    let monitor = ctx.monitor(pid);
    down(ctx, monitor).await
}

/// Waits for the next message of type `M` (signals stay in the mailbox).
pub async fn next<M: Send + Debug + 'static>(ctx: &mut Ctx<M>) -> M {
    assert_receives!(ctx, msg, WAIT);
    msg
}

/// Asserts that nothing (message, down or exit) arrives within `window`.
pub async fn nothing_within<M: Send + Debug + 'static>(ctx: &mut Ctx<M>, window: Duration) {
    assert_no_message!(ctx, window);
}

/// Waits until the current runtime runs no more than `count` tasks (tasks
/// finish a moment after the event a test waited for).
pub async fn tasks_settle_to(count: usize) {
    let metrics = tokio::runtime::Handle::current().metrics();
    let settled = wait_for(|| metrics.num_alive_tasks() <= count, WAIT).await;
    assert!(
        settled.is_ok(),
        "{} tasks still running, expected at most {count}",
        metrics.num_alive_tasks()
    );
}
