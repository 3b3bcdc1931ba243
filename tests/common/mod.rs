//! Small waits shared by the behaviour tests. Every wait is bounded: a test
//! that does not see its event fails instead of hanging.
#![allow(dead_code)]

use std::time::Duration;

use fauxtp::prelude::*;

/// The failure bound of every wait in the tests.
pub const WAIT: Duration = Duration::from_secs(5);

/// Waits for the down message of `monitor` and returns its reason.
pub async fn down<M: Send + 'static>(ctx: &mut Ctx<M>, monitor: MonitorRef) -> ExitReason {
    receive!(ctx, {
        Down(d) if d.monitor == monitor => d.reason,
        after WAIT => panic!("no down message for {monitor} within {WAIT:?}"),
    })
}

/// Monitors `pid` and waits until it has ended; returns its exit reason.
pub async fn ended<M: Send + 'static>(ctx: &mut Ctx<M>, pid: impl Into<AnyPid>) -> ExitReason {
    let monitor = ctx.monitor(pid);
    down(ctx, monitor).await
}

/// Waits for the next message of type `M` (signals stay in the mailbox).
pub async fn next<M: Send + 'static>(ctx: &mut Ctx<M>) -> M {
    receive!(ctx, {
        msg => msg,
        after WAIT => panic!("no message within {WAIT:?}"),
    })
}

/// Asserts that no message of type `M` arrives within `window`.
pub async fn nothing_within<M: Send + std::fmt::Debug + 'static>(
    ctx: &mut Ctx<M>,
    window: Duration,
) {
    receive!(ctx, {
        msg => panic!("expected no message, got {msg:?}"),
        after window => {}
    })
}

/// Waits until the current runtime runs no more than `count` tasks (tasks
/// finish a moment after the event a test waited for), failing after
/// [`WAIT`].
pub async fn tasks_settle_to(count: usize) {
    let metrics = tokio::runtime::Handle::current().metrics();
    let deadline = tokio::time::Instant::now() + WAIT;
    while metrics.num_alive_tasks() > count {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} tasks still running, expected at most {count}",
            metrics.num_alive_tasks()
        );
        tokio::task::yield_now().await;
    }
}
