//! Task supervisors, as Elixir's `Task.Supervisor`: tasks started under a
//! dynamic supervisor (so they show in the tree, and stop with it), linked
//! to the caller or not, and streams of tasks with a bound on how many run
//! at once.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

use super::{body, Task, TaskError};
use crate::genserver::StartError;
use crate::process::{self, runner, AnyPid, Ctx, ExitReason, Pid};
use crate::supervisor::{
    ChildKind, ChildSpec, Launch, Supervisor, SupervisorClient, SupervisorError, SupervisorMsg,
    SupervisorSpec,
};

/// A supervisor of tasks (Elixir's `Task.Supervisor`). Its tasks are
/// temporary children of a dynamic supervisor: they are never restarted,
/// they appear in the tree, and they are stopped when it stops.
///
/// ```
/// use fauxtp::task::{TaskError, TaskSupervisor};
///
/// # #[tokio::main] async fn main() {
/// let tasks = TaskSupervisor::start().await.unwrap();
/// let sum = tasks.spawn_nolink(async { (1..=10).sum::<u32>() }).await.unwrap();
/// assert_eq!(sum.join().await, Ok(55));
///
/// // Not linked: a crash comes back as the task's result.
/// let broken = tasks.spawn_nolink(async { panic!("out of cheese") }).await.unwrap();
/// assert_eq!(broken.join().await, Err::<(), _>(TaskError::Panicked("out of cheese".into())));
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct TaskSupervisor {
    sup: Pid<SupervisorMsg>,
}

/// A task's work, started once: a child spec's start function may be called
/// again, so the work sits in a slot it is taken from.
type Once<F> = Arc<Mutex<Option<F>>>;

impl TaskSupervisor {
    /// The spec of a task supervisor: a dynamic supervisor.
    pub fn spec() -> SupervisorSpec {
        SupervisorSpec::dynamic()
    }

    /// A task supervisor as a child of a tree; get its pid from the tree
    /// and wrap it with [`from_pid`](TaskSupervisor::from_pid).
    pub fn child(id: impl Into<String>) -> ChildSpec {
        Supervisor::child(Self::spec()).id(id)
    }

    /// Starts a task supervisor on its own.
    ///
    /// # Errors
    ///
    /// As a supervisor's start.
    pub async fn start() -> Result<TaskSupervisor, StartError> {
        Ok(TaskSupervisor {
            sup: Supervisor::start(Self::spec()).await?,
        })
    }

    /// Starts a task supervisor registered as `name`.
    ///
    /// # Errors
    ///
    /// As a supervisor's start (a taken name, say).
    pub async fn start_named(name: &str) -> Result<TaskSupervisor, StartError> {
        Ok(TaskSupervisor {
            sup: Supervisor::start_named(name, Self::spec()).await?,
        })
    }

    /// The task supervisor whose supervisor is `sup` (one started in a tree
    /// with [`child`](TaskSupervisor::child)).
    pub fn from_pid(sup: Pid<SupervisorMsg>) -> TaskSupervisor {
        TaskSupervisor { sup }
    }

    /// The supervisor's pid.
    pub fn pid(&self) -> &Pid<SupervisorMsg> {
        &self.sup
    }

    /// Starts `work` under the supervisor, linked to nothing else, and
    /// returns its pid: fire and forget (Elixir's
    /// `Task.Supervisor.start_child`).
    ///
    /// # Errors
    ///
    /// If the supervisor is gone, or refuses (its `max_children`).
    pub async fn start_child<F>(&self, work: F) -> Result<AnyPid, SupervisorError>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let (done, _) = oneshot::channel();
        self.launch(work, done, None).await
    }

    /// Starts `work` under the supervisor, linked to the calling process
    /// too (Elixir's `Task.Supervisor.async`): if the task crashes, the
    /// caller gets the exit signal, and if the caller ends, the task ends.
    /// Join it for its result.
    ///
    /// # Errors
    ///
    /// If the supervisor is gone, or refuses.
    pub async fn spawn<T, F>(&self, work: F) -> Result<Task<T>, SupervisorError>
    where
        T: Send + 'static,
        F: Future<Output = T> + Send + 'static,
    {
        let (done, result) = oneshot::channel();
        let pid = self.launch(work, done, runner::current_pid()).await?;
        Ok(Task::from_parts(pid, result))
    }

    /// Starts `work` under the supervisor, not linked to the caller
    /// (Elixir's `Task.Supervisor.async_nolink`): a crash does not reach
    /// the caller, and comes back from `join` as the task's result.
    ///
    /// # Errors
    ///
    /// If the supervisor is gone, or refuses.
    pub async fn spawn_nolink<T, F>(&self, work: F) -> Result<Task<T>, SupervisorError>
    where
        T: Send + 'static,
        F: Future<Output = T> + Send + 'static,
    {
        let (done, result) = oneshot::channel();
        let pid = self.launch(work, done, None).await?;
        Ok(Task::from_parts(pid, result))
    }

    /// Starts the task as a temporary child, linked to `caller` too.
    async fn launch<T, F>(
        &self,
        work: F,
        done: oneshot::Sender<Result<T, ExitReason>>,
        caller: Option<AnyPid>,
    ) -> Result<AnyPid, SupervisorError>
    where
        T: Send + 'static,
        F: Future<Output = T> + Send + 'static,
    {
        let slot: Once<(F, oneshot::Sender<Result<T, ExitReason>>)> =
            Arc::new(Mutex::new(Some((work, done))));
        let spec = ChildSpec::new("task", ChildKind::Worker, move |launch: Launch| {
            let slot = slot.clone();
            let caller = caller.clone();
            async move {
                let taken = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
                let Some((work, done)) = taken else {
                    return Err(StartError::Init {
                        server: launch.parent.clone(),
                        kind: "task",
                        reason: ExitReason::error("a task runs once"),
                    });
                };
                let ctx = Ctx::<()>::child_of(Some(&launch.parent));
                let pid = ctx.pid().any();
                process::link_unstarted(&launch.parent, &pid);
                if let Some(caller) = &caller {
                    if caller.is_alive() {
                        process::link_unstarted(caller, &pid);
                    }
                }
                runner::start(ctx, body(work, done));
                Ok(pid)
            }
        })
        .temporary();
        self.sup.start_child(spec).await
    }

    /// Runs `work` on each item, under the supervisor, at most
    /// `options.max_concurrency` at a time, and gives the results as they
    /// come (Elixir's `Task.Supervisor.async_stream_nolink`): in the order
    /// of the items by default, or as they finish. A task that takes
    /// longer than `options.timeout` is killed and gives
    /// [`TaskError::TimedOut`]; a crash gives [`TaskError::Panicked`].
    pub fn stream<I, T, W, Fut>(
        &self,
        items: impl IntoIterator<Item = I, IntoIter: Send + 'static>,
        work: W,
        options: StreamOptions,
    ) -> TaskStream<T>
    where
        I: Send + 'static,
        T: Send + 'static,
        W: Fn(I) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = T> + Send + 'static,
    {
        let mut items = items.into_iter();
        let mut next = move || items.next().map(&work);
        TaskStream {
            sup: self.clone(),
            next: Box::new(move || next().map(|fut| Box::pin(fut) as BoxedWork<T>)),
            running: VecDeque::new(),
            options,
            done: false,
            timer: Box::pin(tokio::time::sleep_until(Instant::now())),
        }
    }
}

/// What [`TaskSupervisor::stream`] does: how many tasks at once, in which
/// order, and how long each may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamOptions {
    /// At most this many tasks run at once (at least one).
    pub max_concurrency: usize,
    /// Results in the order of the items (true), or as tasks finish.
    pub ordered: bool,
    /// How long each task may take before it is killed.
    pub timeout: Duration,
}

impl Default for StreamOptions {
    /// As Elixir's: ordered, 5 s per task, as many at once as the machine
    /// has cores.
    fn default() -> Self {
        StreamOptions {
            max_concurrency: std::thread::available_parallelism().map_or(1, usize::from),
            ordered: true,
            timeout: super::DEFAULT_JOIN_TIMEOUT,
        }
    }
}

type BoxedWork<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Results of tasks run on a sequence of items; take them with
/// [`next`](TaskStream::next) or [`collect`](TaskStream::collect).
pub struct TaskStream<T> {
    sup: TaskSupervisor,
    next: Box<dyn FnMut() -> Option<BoxedWork<T>> + Send>,
    running: VecDeque<(Task<T>, Instant)>,
    options: StreamOptions,
    /// No item left to start.
    done: bool,
    timer: Pin<Box<tokio::time::Sleep>>,
}

impl<T> std::fmt::Debug for TaskStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskStream")
            .field("running", &self.running.len())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<T: Send + 'static> TaskStream<T> {
    /// Starts tasks until `max_concurrency` run or the items are done.
    async fn fill(&mut self) -> Result<(), SupervisorError> {
        while !self.done && self.running.len() < self.options.max_concurrency.max(1) {
            match (self.next)() {
                Some(work) => {
                    let task = self.sup.spawn_nolink(work).await?;
                    self.running
                        .push_back((task, Instant::now() + self.options.timeout));
                }
                None => self.done = true,
            }
        }
        Ok(())
    }

    /// The next result; `None` once every item's task has given one.
    ///
    /// A supervisor that is gone gives [`TaskError::Cancelled`] for the
    /// items it could not start, and ends the stream.
    pub async fn next(&mut self) -> Option<Result<T, TaskError>> {
        if self.fill().await.is_err() {
            self.done = true;
            if self.running.is_empty() {
                return None;
            }
        }
        if self.running.is_empty() {
            return None;
        }
        let ordered = self.options.ordered;
        let (index, outcome) = std::future::poll_fn(|cx| {
            let now = Instant::now();
            let candidates = if ordered { 1 } else { self.running.len() };
            for i in 0..candidates {
                let (task, deadline) = &mut self.running[i];
                if let Poll::Ready(outcome) = task.poll_result(cx) {
                    return Poll::Ready((i, Some(outcome)));
                }
                if *deadline <= now {
                    return Poll::Ready((i, None));
                }
            }
            // Wake at the earliest deadline among the candidates.
            let earliest = self
                .running
                .iter()
                .take(candidates)
                .map(|(_, deadline)| *deadline)
                .min()
                .unwrap_or(now);
            self.timer.as_mut().reset(earliest);
            let _ = self.timer.as_mut().poll(cx);
            Poll::Pending
        })
        .await;
        let (task, _) = self.running.remove(index)?;
        Some(match outcome {
            Some(outcome) => outcome,
            None => {
                task.abort();
                Err(TaskError::TimedOut(self.options.timeout))
            }
        })
    }

    /// Every result, in the stream's order.
    pub async fn collect(mut self) -> Vec<Result<T, TaskError>> {
        let mut all = Vec::new();
        while let Some(result) = self.next().await {
            all.push(result);
        }
        all
    }
}
