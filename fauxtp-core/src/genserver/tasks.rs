//! Background work of a server: [`ServerCtx::spawn_task`], whose result
//! comes back as a [`TaskDone`] message to the `#[task_end]` handler.

use std::future::Future;

use tokio::task::{AbortHandle, JoinSet};

use super::{GenServer, ServerCtx};
use crate::process::unwind::{caught, panic_message, CatchUnwind};
use crate::task::TaskError;

/// The result of a task started with [`ServerCtx::spawn_task`], on its way to
/// the server's `#[task_end]` handler. The generated message enum converts
/// it into the handler's variant.
#[derive(Debug)]
pub struct TaskDone<T>(pub Result<T, TaskError>);

impl<S: GenServer> ServerCtx<S> {
    /// Runs `work` in the background, off the server's loop, and delivers
    /// its result to the server's `#[task_end]` handler for
    /// `Result<T, TaskError>` (Python fauxtp's `spawn_task` /
    /// `handle_task_end`). A panic in `work` arrives as
    /// [`TaskError::Panicked`]. Tasks still running when the server stops
    /// are cancelled, and their results never arrive.
    ///
    /// Returns a handle to [cancel](BackgroundTask::cancel) the task: a
    /// cancelled task delivers nothing.
    ///
    /// Cost: one tokio task per call, plus a `JoinSet` made at the first
    /// call.
    pub fn spawn_task<T, F>(&mut self, work: F) -> BackgroundTask
    where
        T: Send + 'static,
        F: Future<Output = T> + Send + 'static,
        S::Msg: From<TaskDone<T>>,
    {
        let server = self.ctx.pid();
        let tasks = self.extras_mut().tasks.get_or_insert_with(JoinSet::new);
        // Forget the tasks that have finished, so the set does not grow.
        while tasks.try_join_next().is_some() {}
        let abort = tasks.spawn(async move {
            let result = CatchUnwind::new(work).await.map_err(|payload| {
                caught(&*payload);
                TaskError::Panicked(panic_message(&*payload))
            });
            let _ = server.send(TaskDone(result));
        });
        BackgroundTask { abort }
    }
}

/// A task started with [`ServerCtx::spawn_task`]: it can be cancelled.
/// Dropping the handle lets the task run on.
#[derive(Debug, Clone)]
pub struct BackgroundTask {
    abort: AbortHandle,
}

impl BackgroundTask {
    /// Cancels the task at its next `.await`: its result is never
    /// delivered (unless it was sent already).
    pub fn cancel(&self) {
        self.abort.abort();
    }

    /// Whether the task has finished (delivered its result, panicked, or
    /// was cancelled).
    pub fn is_finished(&self) -> bool {
        self.abort.is_finished()
    }
}
