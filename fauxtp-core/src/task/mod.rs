//! Tasks: background work whose result someone waits for (Elixir's
//! `Task.async` / `Task.await`, Python fauxtp's `spawn_task`): a task
//! started inside a process is linked to it, and [`Task::join`] waits 5
//! seconds at most by default.
//!
//! [`Task::spawn`] runs a future on its own; [`Task::join`] waits for its
//! result. Inside a GenServer, [`ServerCtx::spawn_task`](crate::ServerCtx::spawn_task)
//! delivers the result to a `#[task_end]` handler instead.
//!
//! ```
//! use fauxtp::task::{Task, TaskError};
//! use std::time::Duration;
//!
//! # #[tokio::main] async fn main() {
//! let sum = Task::spawn(async { (1..=10).sum::<u32>() });
//! assert_eq!(sum.join().await, Ok(55));
//!
//! let broken = Task::spawn(async { panic!("out of cheese") });
//! assert_eq!(broken.join().await, Err::<(), _>(TaskError::Panicked("out of cheese".into())));
//!
//! let slow = Task::spawn(std::future::pending::<()>());
//! let waited = slow.join_timeout(Duration::from_millis(10)).await;
//! assert_eq!(waited, Err(TaskError::TimedOut(Duration::from_millis(10))));
//! # }
//! ```

mod supervisor;

use std::future::Future;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::oneshot;

use crate::process::{runner, spawn_linked_to, unwind, AnyPid, Ctx, ExitReason, ProcessResult};

pub use self::supervisor::{StreamOptions, TaskStream, TaskSupervisor};

/// Why a task gave no result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TaskError {
    /// The task panicked; the text is the panic message.
    #[error("the task panicked: {0}")]
    Panicked(String),
    /// The task was cancelled (aborted, or its runtime shut down).
    #[error("the task was cancelled")]
    Cancelled,
    /// The task did not finish in time; it was cancelled.
    #[error("the task did not finish within {0:?}; it was cancelled")]
    TimedOut(Duration),
}

/// A running task; [`join`](Task::join) it for its result.
///
/// A task is a small process of its own, as in Elixir. Started inside a
/// process, it is linked to it: if the task panics, that process gets the
/// exit signal (and, unless it traps exits, ends with the panic), and if
/// that process ends, the task ends too. Started outside any process (in
/// `main` or a test), it is linked to nothing, and a panic only comes back
/// from `join`. Dropping a `Task` lets it run to its end unobserved;
/// [`abort`](Task::abort) cancels it.
///
/// Cost: a process (a tokio task and a control block) and a reply slot.
#[derive(Debug)]
#[must_use = "a task's result is lost unless it is joined"]
pub struct Task<T> {
    pid: AnyPid,
    result: oneshot::Receiver<Result<T, ExitReason>>,
}

/// Where a task's outcome goes. Dropped by a panic in the task, it sends
/// the panic's reason once the task's process has caught it.
struct Delivery<T: Send + 'static>(Option<oneshot::Sender<Result<T, ExitReason>>>);

impl<T: Send + 'static> Drop for Delivery<T> {
    fn drop(&mut self) {
        if let Some(done) = self.0.take() {
            if std::thread::panicking() {
                unwind::when_caught(Box::new(move |reason: &ExitReason| {
                    let _ = done.send(Err(reason.clone()));
                }));
            }
        }
    }
}

/// A task process's body: runs `work` and sends its value to `done` (or,
/// if it panics, the panic's reason once caught).
pub(crate) fn body<T, F>(
    work: F,
    done: oneshot::Sender<Result<T, ExitReason>>,
) -> impl FnOnce(Ctx<()>) -> std::pin::Pin<Box<dyn Future<Output = ProcessResult> + Send>>
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    move |_: Ctx<()>| {
        Box::pin(async move {
            let mut delivery = Delivery(Some(done));
            let value = work.await;
            if let Some(done) = delivery.0.take() {
                let _ = done.send(Ok(value));
            }
            Ok(())
        })
    }
}

/// How long [`Task::join`] waits, as Elixir's `Task.await`: 5 seconds.
pub const DEFAULT_JOIN_TIMEOUT: Duration = Duration::from_secs(5);

impl<T: Send + 'static> Task<T> {
    /// Starts `work` as a task, linked to the process that calls this, if
    /// any.
    ///
    /// # Panics
    ///
    /// Like `tokio::spawn`, panics if called outside a tokio runtime.
    pub fn spawn<F>(work: F) -> Task<T>
    where
        F: std::future::Future<Output = T> + Send + 'static,
    {
        let (done, result) = oneshot::channel();
        let body = body(work, done);
        let pid = match runner::current_pid() {
            Some(owner) => spawn_linked_to(&owner, body),
            None => crate::process::spawn(body),
        };
        Task {
            pid: pid.any(),
            result,
        }
    }

    /// A task from its process and its result slot.
    pub(crate) fn from_parts(
        pid: AnyPid,
        result: oneshot::Receiver<Result<T, ExitReason>>,
    ) -> Self {
        Task { pid, result }
    }

    /// The task's process.
    pub fn pid(&self) -> AnyPid {
        self.pid.clone()
    }

    /// The outcome, if the task has one.
    pub(crate) fn poll_result(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, TaskError>> {
        match std::pin::Pin::new(&mut self.result).poll(cx) {
            Poll::Ready(outcome) => Poll::Ready(outcome_of(outcome)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Waits at most `timeout` for the result, and leaves the task running
    /// if it has none by then (Elixir's `Task.yield`): `None` then, and the
    /// task can be joined, yielded again or shut down.
    pub async fn yield_timeout(&mut self, timeout: Duration) -> Option<Result<T, TaskError>> {
        match tokio::time::timeout(timeout, &mut self.result).await {
            Ok(outcome) => Some(outcome_of(outcome)),
            Err(_elapsed) => None,
        }
    }

    /// Stops the task (Elixir's `Task.shutdown(task, :brutal_kill)`): its
    /// result if it had one already, `None` otherwise.
    pub fn shutdown(mut self) -> Option<Result<T, TaskError>> {
        if let Ok(outcome) = self.result.try_recv() {
            return Some(outcome_of(Ok(outcome)));
        }
        self.abort();
        None
    }

    /// Waits for the result, at most [`DEFAULT_JOIN_TIMEOUT`] (5 s, as
    /// Elixir's `Task.await`); a task that has not finished by then is
    /// cancelled and [`TaskError::TimedOut`] returned. A panic in the task is
    /// returned as [`TaskError::Panicked`], never re-raised in the joiner
    /// (but see the link, on [`Task`]).
    pub async fn join(self) -> Result<T, TaskError> {
        self.join_timeout(DEFAULT_JOIN_TIMEOUT).await
    }

    /// Waits at most `timeout` for the result (`Duration::MAX`: for ever);
    /// a task that has not finished by then is cancelled and
    /// [`TaskError::TimedOut`] returned.
    pub async fn join_timeout(mut self, timeout: Duration) -> Result<T, TaskError> {
        let outcome = if timeout == Duration::MAX {
            Ok((&mut self.result).await)
        } else {
            tokio::time::timeout(timeout, &mut self.result).await
        };
        match outcome {
            Ok(outcome) => outcome_of(outcome),
            Err(_elapsed) => {
                self.abort();
                Err(TaskError::TimedOut(timeout))
            }
        }
    }

    /// Cancels the task (it is killed at its next `.await`); a later `join`
    /// returns [`TaskError::Cancelled`] (unless it finished first).
    pub fn abort(&self) {
        self.pid.kill();
    }
}

/// What a task's result slot gave, as the task's result.
fn outcome_of<T>(
    outcome: Result<Result<T, ExitReason>, oneshot::error::RecvError>,
) -> Result<T, TaskError> {
    match outcome {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(ExitReason::Panic(message))) => Err(TaskError::Panicked(message.to_string())),
        // Killed (aborted, or linked to a process that ended).
        Ok(Err(_)) | Err(_) => Err(TaskError::Cancelled),
    }
}
