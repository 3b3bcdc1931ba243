//! The task that runs a process body: it catches panics, ends the body when
//! an exit signal arrives, and runs the exit protocol with the right reason.

use std::future::{poll_fn, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::task::Poll;

use super::unwind::caught;
use super::{AnyPid, Ctx, ExitReason, ProcessResult};

/// Spawns the tokio task of a process whose context is `ctx`.
pub(crate) fn start<M, F, Fut>(ctx: Ctx<M>, body: F)
where
    M: Send + 'static,
    F: FnOnce(Ctx<M>) -> Fut + Send + 'static,
    Fut: Future<Output = ProcessResult> + Send + 'static,
{
    let guard = ExitGuard {
        pid: ctx.me.any(),
        done: false,
    };
    let id = guard.pid.id();
    tokio::spawn(run(
        guard,
        CURRENT.scope(id, async move { body(ctx).await }),
    ));
}

tokio::task_local! {
    /// The id of the process whose task is running.
    static CURRENT: u64;
}

/// The id of the process the caller runs in, if it runs in one (a
/// detached context is not a running process and has none).
pub(crate) fn current() -> Option<u64> {
    CURRENT.try_with(|id| *id).ok()
}

async fn run<Fut>(mut guard: ExitGuard, body: Fut)
where
    Fut: Future<Output = ProcessResult>,
{
    let reason = {
        // In an `Option` so that it can be dropped in place, under
        // `catch_unwind`, before the exit protocol runs.
        let mut body = pin!(Some(body));
        let mut known_waker = None;
        let core = &guard.pid.core;
        let reason = poll_fn(|cx| {
            if let Some(reason) = core.poll_exit_signal(&mut known_waker, cx.waker()) {
                return Poll::Ready(reason);
            }
            let Some(running) = body.as_mut().as_pin_mut() else {
                return Poll::Ready(ExitReason::Normal);
            };
            match catch_unwind(AssertUnwindSafe(|| running.poll(cx))) {
                Ok(Poll::Pending) => Poll::Pending,
                Ok(Poll::Ready(Ok(()))) => Poll::Ready(ExitReason::Normal),
                Ok(Poll::Ready(Err(reason))) => Poll::Ready(reason),
                Err(payload) => Poll::Ready(caught(&*payload)),
            }
        })
        .await;
        // Drop the body before the exit protocol runs (its context parks the
        // mailbox, which the protocol drops once the reason is recorded).
        // Destructors may panic too; that must not take the task down.
        let dropped = catch_unwind(AssertUnwindSafe(|| body.set(None)));
        match (reason, dropped) {
            (ExitReason::Normal, Err(payload)) => caught(&*payload),
            (reason, _) => reason,
        }
    };
    guard.done = true;
    guard.pid.terminate(reason);
}

/// Runs the exit protocol if the task is dropped before its body ended (its
/// runtime shut down, say), so links, monitors and names are never left
/// dangling.
struct ExitGuard {
    pid: AnyPid,
    done: bool,
}

impl Drop for ExitGuard {
    fn drop(&mut self) {
        if !self.done {
            self.pid.terminate(ExitReason::Killed);
        }
    }
}
