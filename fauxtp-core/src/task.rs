//! Tasks: background work whose result someone waits for (Python fauxtp's
//! `spawn_task`; Elixir's `Task.async` / `Task.await`, except that a task is
//! not linked to the code that started it, and `join` waits without a bound:
//! [`Task::join_timeout`] sets one).
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

use std::time::Duration;

use tokio::task::JoinHandle;

use crate::process::unwind::{caught, panic_message, CatchUnwind};

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

/// A running task; [`join`](Task::join) it for its result. Dropping a `Task`
/// lets it run to its end unobserved; [`abort`](Task::abort) cancels it.
#[derive(Debug)]
#[must_use = "a task's result is lost unless it is joined"]
pub struct Task<T> {
    /// `Err` holds the panic message: panics are caught inside the task,
    /// so that fauxtp's panic bookkeeping runs on the thread that panicked.
    handle: JoinHandle<Result<T, String>>,
}

impl<T: Send + 'static> Task<T> {
    /// Starts `work` as a tokio task.
    ///
    /// # Panics
    ///
    /// Like `tokio::spawn`, panics if called outside a tokio runtime.
    pub fn spawn<F>(work: F) -> Task<T>
    where
        F: std::future::Future<Output = T> + Send + 'static,
    {
        Task {
            handle: tokio::spawn(async move {
                CatchUnwind::new(work).await.map_err(|payload| {
                    caught(&*payload);
                    panic_message(&*payload)
                })
            }),
        }
    }

    /// Waits for the result. A panic in the task is returned as
    /// [`TaskError::Panicked`], never re-raised in the joiner.
    pub async fn join(self) -> Result<T, TaskError> {
        match self.handle.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(message)) => Err(TaskError::Panicked(message)),
            Err(_cancelled) => Err(TaskError::Cancelled),
        }
    }

    /// Waits at most `timeout` for the result; a task that has not finished
    /// by then is cancelled and [`TaskError::TimedOut`] returned.
    pub async fn join_timeout(self, timeout: Duration) -> Result<T, TaskError> {
        let abort = self.handle.abort_handle();
        match tokio::time::timeout(timeout, self.join()).await {
            Ok(result) => result,
            Err(_elapsed) => {
                abort.abort();
                Err(TaskError::TimedOut(timeout))
            }
        }
    }

    /// Cancels the task at its next `.await`; a later `join` returns
    /// [`TaskError::Cancelled`] (unless it finished first).
    pub fn abort(&self) {
        self.handle.abort();
    }
}
