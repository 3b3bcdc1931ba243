//! The task that runs a process body: it catches panics, ends the body when
//! an exit signal arrives, and runs the exit protocol with the right reason.
//!
//! `ProcessTask` is written by hand rather than as an `async fn`: an async
//! wrapper would keep the body future twice in its state (as the argument
//! it was given and as the pinned local it polls), and the task of every
//! idle process would be twice as large as its body.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use super::unwind::{catch_outermost, caught, settle};
use super::{AnyPid, Ctx, ExitReason, ProcessResult};

/// Spawns the tokio task of a process whose context is `ctx`.
pub(crate) fn start<M, F, Fut>(ctx: Ctx<M>, body: F)
where
    M: Send + 'static,
    F: FnOnce(Ctx<M>) -> Fut + Send + 'static,
    Fut: Future<Output = ProcessResult> + Send + 'static,
{
    let pid = ctx.me.any();
    // Making the body's future runs the closure up to its `async` block; a
    // panic there ends the new process, never the spawner.
    let future = match catch_outermost(move || body(ctx)) {
        Ok(future) => future,
        Err(payload) => {
            pid.terminate(caught(&*payload));
            return;
        }
    };
    spawn_started(pid, future);
}

/// Spawns the task of the process `pid`, whose body is already made.
pub(crate) fn spawn_started<F>(pid: AnyPid, body: F)
where
    F: Future<Output = ProcessResult> + Send + 'static,
{
    tokio::spawn(ProcessTask {
        body: Some(body),
        guard: ExitGuard { pid, done: false },
        known_waker: None,
    });
}

thread_local! {
    /// The id of the process whose task this thread is polling; 0 for
    /// none (ids start at 1). Set around each poll, like a task-local, but
    /// for a fraction of the cost: this is read to refuse a call to
    /// oneself.
    static CURRENT: Cell<u64> = const { Cell::new(0) };
    /// The pid of that process, borrowed from its task for the poll (null
    /// for none): read to link a `Task` to the process that starts it.
    static CURRENT_PID: Cell<*const AnyPid> = const { Cell::new(std::ptr::null()) };
}

/// The id of the process the caller runs in, if it runs in one (a
/// detached context is not a running process and has none).
pub(crate) fn current() -> Option<u64> {
    CURRENT.try_with(Cell::get).ok().filter(|id| *id != 0)
}

/// The process the caller runs in, if it runs in one.
pub(crate) fn current_pid() -> Option<AnyPid> {
    let pid = CURRENT_PID.try_with(Cell::get).ok()?;
    // SAFETY: a non-null pointer was set by `as_process` on this thread to
    // the pid of the task it is polling, which outlives the poll, and is
    // reset when the poll ends (a panic included); this runs inside it.
    unsafe { pid.as_ref() }.cloned()
}

/// Runs `f` as the process `pid`: [`current`] and [`current_pid`] give it
/// inside.
fn as_process<T>(pid: &AnyPid, f: impl FnOnce() -> T) -> T {
    struct Restore(u64, *const AnyPid);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = CURRENT.try_with(|current| current.set(self.0));
            let _ = CURRENT_PID.try_with(|current| current.set(self.1));
        }
    }
    let _restore = Restore(
        CURRENT
            .try_with(|current| current.replace(pid.id()))
            .unwrap_or(0),
        CURRENT_PID
            .try_with(|current| current.replace(pid))
            .unwrap_or(std::ptr::null()),
    );
    f()
}

pin_project_lite::pin_project! {
    /// A process's task. The body comes first so that, when a runtime drops
    /// the task, the body (and its context) is dropped before the guard runs
    /// the exit protocol.
    struct ProcessTask<F> {
        // `None` once it has ended: dropped in place, under `catch_unwind`,
        // before the exit protocol runs.
        #[pin]
        body: Option<F>,
        guard: ExitGuard,
        // The waker the control block has, to register a new one only when
        // it changes.
        known_waker: Option<Waker>,
    }
}

impl<F: Future<Output = ProcessResult>> Future for ProcessTask<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        let reason = match this
            .guard
            .pid
            .core
            .poll_exit_signal(this.known_waker, cx.waker())
        {
            Some(reason) => reason,
            None => {
                let Some(running) = this.body.as_mut().as_pin_mut() else {
                    return Poll::Ready(());
                };
                match as_process(&this.guard.pid, || catch_outermost(|| running.poll(cx))) {
                    Ok(Poll::Pending) => return Poll::Pending,
                    Ok(Poll::Ready(Ok(()))) => ExitReason::Normal,
                    Ok(Poll::Ready(Err(reason))) => reason,
                    // Caught as the process: its crash report finds where.
                    Err(payload) => as_process(&this.guard.pid, || caught(&*payload)),
                }
            }
        };
        // Drop the body before the exit protocol runs (its context parks the
        // mailbox, which the protocol drops once the reason is recorded).
        // The reason is recorded first: a reply slot the body holds tells
        // its caller why. Destructors may panic too; that must not take the
        // task down.
        this.guard.pid.core.record_reason(&reason);
        let dropped = as_process(&this.guard.pid, || catch_outermost(|| this.body.set(None)));
        let reason = match (reason, dropped) {
            (ExitReason::Normal, Err(payload)) => as_process(&this.guard.pid, || caught(&*payload)),
            // The process ends with its own reason; what the destructor's
            // panic left (reply slots dropped) learns that reason.
            (reason, Err(_)) => {
                settle(&reason);
                reason
            }
            (reason, Ok(())) => reason,
        };
        this.guard.done = true;
        this.guard.pid.terminate(reason);
        Poll::Ready(())
    }
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
