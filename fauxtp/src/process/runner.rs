//! The task that runs a process body: it catches panics, ends the body when
//! an exit signal arrives, and runs the exit protocol with the right reason.

use std::any::Any;
use std::future::{poll_fn, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::task::Poll;

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
    tokio::spawn(run(guard, async move { body(ctx).await }));
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
                Err(payload) => Poll::Ready(ExitReason::Panic(panic_message(&*payload).into())),
            }
        })
        .await;
        // Drop the body (and with it the mailbox, so sends fail from now on)
        // before telling anyone the process has ended. Its destructors may
        // panic too; that must not take the task down with it.
        let dropped = catch_unwind(AssertUnwindSafe(|| body.set(None)));
        match (reason, dropped) {
            (ExitReason::Normal, Err(payload)) => {
                ExitReason::Panic(panic_message(&*payload).into())
            }
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

/// The text of a panic payload (`panic!` gives a `&str` or a `String`).
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic with a non-string payload".to_owned()
    }
}
