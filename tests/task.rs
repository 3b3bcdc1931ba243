//! Background work: `ServerCtx::spawn_task` with `#[task_end]` handlers, and
//! the standalone `Task`.

mod common;

use std::time::Duration;

use common::{down, next};
use fauxtp::prelude::*;

#[derive(Debug, PartialEq)]
enum Report {
    Fetched(Result<u32, TaskError>),
    Named(Result<String, TaskError>),
    TaskDropped,
}

/// Tells the test when the future holding it is dropped (finished or
/// cancelled).
struct DropGuard(Pid<Report>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        let _ = self.0.send(Report::TaskDropped);
    }
}

struct Fetcher {
    report: Pid<Report>,
}

#[genserver]
impl Fetcher {
    fn init(report: Pid<Report>) -> Self {
        Fetcher { report }
    }

    #[cast]
    fn fetch(&mut self, n: u32, ctx: &mut ServerCtx<Self>) {
        ctx.spawn_task(async move {
            tokio::task::yield_now().await;
            if n == 0 {
                panic!("nothing to fetch");
            }
            n * 10
        });
    }

    #[cast]
    fn name(&mut self, ctx: &mut ServerCtx<Self>) {
        ctx.spawn_task(async { "fetched by name".to_string() });
    }

    #[call]
    fn start_forever(&mut self, ctx: &mut ServerCtx<Self>) {
        let guard = DropGuard(self.report.clone());
        ctx.spawn_task(async move {
            let _guard = guard;
            std::future::pending::<u32>().await
        });
    }

    /// Starts a task that never ends and cancels it at once.
    #[call]
    fn start_and_cancel(&mut self, ctx: &mut ServerCtx<Self>) -> bool {
        let guard = DropGuard(self.report.clone());
        let task = ctx.spawn_task(async move {
            let _guard = guard;
            std::future::pending::<u32>().await
        });
        task.cancel();
        task.is_finished()
    }

    #[call]
    fn stop(&mut self, ctx: &mut ServerCtx<Self>) {
        ctx.stop(ExitReason::Normal);
    }

    #[task_end]
    fn fetched(&mut self, result: Result<u32, TaskError>) {
        let _ = self.report.send(Report::Fetched(result));
    }

    #[task_end]
    async fn named(&mut self, result: Result<String, TaskError>) {
        let _ = self.report.send(Report::Named(result));
    }
}

#[tokio::test]
async fn task_results_reach_the_task_end_handler_for_their_type() {
    let mut me = Ctx::<Report>::detached();
    let fetcher = Fetcher::start(me.pid()).await.unwrap();
    fetcher.fetch(4).unwrap();
    assert_eq!(next(&mut me).await, Report::Fetched(Ok(40)));
    fetcher.name().unwrap();
    assert_eq!(
        next(&mut me).await,
        Report::Named(Ok("fetched by name".into()))
    );
}

#[tokio::test]
async fn a_panicking_task_arrives_as_an_error_and_the_server_goes_on() {
    let mut me = Ctx::<Report>::detached();
    let fetcher = Fetcher::start(me.pid()).await.unwrap();
    fetcher.fetch(0).unwrap();
    assert_eq!(
        next(&mut me).await,
        Report::Fetched(Err(TaskError::Panicked("nothing to fetch".into())))
    );
    fetcher.fetch(1).unwrap();
    assert_eq!(next(&mut me).await, Report::Fetched(Ok(10)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_still_running_are_cancelled_when_the_server_stops() {
    let mut me = Ctx::<Report>::detached();
    let fetcher = Fetcher::start(me.pid()).await.unwrap();
    let monitor = me.monitor(&fetcher);
    fetcher.start_forever().await.unwrap();
    let early = receive!(me, {
        Report::TaskDropped => true,
        after Duration::from_millis(20) => false,
    });
    assert!(!early, "the task runs until the server stops");
    fetcher.stop().await.unwrap();
    assert_eq!(down(&mut me, monitor).await, ExitReason::Normal);
    assert_eq!(next(&mut me).await, Report::TaskDropped);
}

#[tokio::test]
async fn a_task_joins_with_its_result_or_its_panic() {
    assert_eq!(Task::spawn(async { 6 * 7 }).join().await, Ok(42));
    let panicked = Task::spawn(async {
        let v: Vec<u8> = Vec::new();
        v[3]
    })
    .join()
    .await;
    assert!(
        matches!(&panicked, Err(TaskError::Panicked(text)) if text.contains("index out of bounds")),
        "{panicked:?}"
    );
}

#[tokio::test]
async fn a_task_that_misses_its_timeout_is_cancelled() {
    let mut me = Ctx::<Report>::detached();
    let guard = DropGuard(me.pid());
    let slow = Task::spawn(async move {
        let _guard = guard;
        std::future::pending::<()>().await
    });
    let result = slow.join_timeout(Duration::from_millis(10)).await;
    assert_eq!(result, Err(TaskError::TimedOut(Duration::from_millis(10))));
    assert_eq!(next(&mut me).await, Report::TaskDropped);
}

#[tokio::test]
async fn an_aborted_task_joins_as_cancelled() {
    let task = Task::spawn(std::future::pending::<()>());
    task.abort();
    assert_eq!(task.join().await, Err(TaskError::Cancelled));
    assert_eq!(
        TaskError::TimedOut(Duration::from_secs(1)).to_string(),
        "the task did not finish within 1s; it was cancelled"
    );
}

#[tokio::test]
async fn a_background_task_can_be_cancelled_and_delivers_nothing() {
    let mut me = Ctx::<Report>::detached();
    let fetcher = Fetcher::start(me.pid()).await.unwrap();
    fetcher.start_and_cancel().await.unwrap();
    // The task's future is dropped; no result reaches `fetched`.
    assert_eq!(next(&mut me).await, Report::TaskDropped);
    assert_no_message!(me, Duration::from_millis(50));
}

#[tokio::test(start_paused = true)]
async fn join_waits_five_seconds_as_task_await_does() {
    let started = tokio::time::Instant::now();
    let stuck = Task::spawn(std::future::pending::<()>());
    assert_eq!(
        stuck.join().await,
        Err(TaskError::TimedOut(Duration::from_secs(5)))
    );
    assert_eq!(started.elapsed(), Duration::from_secs(5));
}

#[tokio::test]
async fn a_task_that_panics_takes_the_process_that_started_it_down() {
    let mut me = Ctx::<()>::detached();
    let (owner, watch) = me.spawn_monitor(|_: Ctx<()>| async {
        // As Elixir's Task.async: linked to its starter.
        let task = Task::spawn(async { panic!("the task failed") });
        let _ = task.join_timeout(Duration::MAX).await;
        Ok(())
    });
    let reason = down(&mut me, watch).await;
    assert_eq!(reason, ExitReason::Panic("the task failed".into()));
    let _ = owner;
}

#[tokio::test]
async fn a_task_ends_when_the_process_that_started_it_ends() {
    let mut me = Ctx::<Report>::detached();
    let report = me.pid();
    let (tasks, task_pid) = tokio::sync::oneshot::channel();
    let (go, gone) = tokio::sync::oneshot::channel::<()>();
    let (owner, watch) = me.spawn_monitor(move |_: Ctx<()>| async move {
        let guard = DropGuard(report);
        let task = Task::spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await
        });
        let _ = tasks.send(task.pid());
        let _ = gone.await;
        Err(ExitReason::error("the owner gave up"))
    });
    let task = tokio::time::timeout(common::WAIT, task_pid)
        .await
        .unwrap()
        .unwrap();
    let task_watch = me.monitor(&task);
    go.send(()).unwrap();
    assert_eq!(
        down(&mut me, watch).await,
        ExitReason::error("the owner gave up")
    );
    assert_eq!(
        down(&mut me, task_watch).await,
        ExitReason::error("the owner gave up")
    );
    assert_eq!(next(&mut me).await, Report::TaskDropped);
    let _ = owner;
}

/// The task's panic is dropped into its result slot as it unwinds, before
/// the task's process has caught it; on two workers the joiner must still
/// read the panic, never "cancelled".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_joined_panic_is_always_the_panic_on_many_threads() {
    for round in 0..300 {
        let joined = Task::spawn(async move { panic!("round {round}") })
            .join()
            .await;
        assert_eq!(joined, Err(TaskError::Panicked(format!("round {round}"))));
    }
}
