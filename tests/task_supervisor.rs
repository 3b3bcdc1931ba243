//! `fauxtp::task::TaskSupervisor`: Elixir's `Task.Supervisor`. Tasks under
//! a dynamic supervisor, linked to the caller or not; yield and shutdown;
//! streams of tasks with a bound on how many run at once.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fauxtp::prelude::*;
use fauxtp::task::{StreamOptions, TaskError, TaskSupervisor};

#[tokio::test]
async fn a_nolink_task_crash_comes_back_as_its_result_and_the_caller_lives() {
    let tasks = TaskSupervisor::start().await.unwrap();
    let mut me = Ctx::<String>::detached();
    let report = me.pid();
    let (caller, watch) = me.spawn_monitor(move |_: Ctx<()>| async move {
        let task = tasks
            .spawn_nolink(async { panic!("bad input") })
            .await
            .unwrap();
        let outcome: Result<(), TaskError> = task.join().await;
        report.send(format!("{outcome:?}")).unwrap();
        Ok(())
    });
    assert_eq!(
        common::next(&mut me).await,
        format!(
            "{:?}",
            Err::<(), _>(TaskError::Panicked("bad input".into()))
        )
    );
    assert_eq!(common::down(&mut me, watch).await, ExitReason::Normal);
    drop(caller);
}

#[tokio::test]
async fn a_linked_task_crash_takes_its_caller_down() {
    let tasks = TaskSupervisor::start().await.unwrap();
    let mut me = Ctx::<()>::detached();
    let (_, watch) = me.spawn_monitor(move |_: Ctx<()>| async move {
        let task = tasks.spawn(async { panic!("boom") }).await.unwrap();
        let _ = task.join().await;
        Ok(())
    });
    assert_eq!(
        common::down(&mut me, watch).await,
        ExitReason::Panic("boom".into())
    );
}

#[tokio::test]
async fn tasks_run_under_the_supervisor_and_leave_it_when_done() {
    let tasks = TaskSupervisor::start().await.unwrap();
    let (release, hold) = tokio::sync::oneshot::channel::<()>();
    let mut me = Ctx::<&'static str>::detached();
    let report = me.pid();
    let pid = tasks
        .start_child(async move {
            let _ = hold.await;
            report.send("done").unwrap();
        })
        .await
        .unwrap();
    let children = tasks.pid().which_children().await.unwrap();
    assert_eq!(children.len(), 1);
    assert_eq!(children[0].pid, Some(pid.clone()));
    release.send(()).unwrap();
    assert_eq!(common::next(&mut me).await, "done");
    let watch = me.monitor(&pid);
    common::down(&mut me, watch).await;
    // Temporary children: gone from the tree once they end.
    assert!(tasks.pid().which_children().await.unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn yield_leaves_a_slow_task_running_and_shutdown_stops_it() {
    let tasks = TaskSupervisor::start().await.unwrap();
    let mut slow = tasks
        .spawn_nolink(async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            7
        })
        .await
        .unwrap();
    assert_eq!(slow.yield_timeout(Duration::from_secs(1)).await, None);
    assert_eq!(
        slow.yield_timeout(Duration::from_secs(20)).await,
        Some(Ok(7))
    );

    let stuck = tasks
        .spawn_nolink(std::future::pending::<()>())
        .await
        .unwrap();
    let pid = stuck.pid();
    assert_eq!(stuck.shutdown(), None);
    let mut me = Ctx::<()>::detached();
    let watch = me.monitor(&pid);
    assert_eq!(common::down(&mut me, watch).await, ExitReason::Killed);
}

#[tokio::test(start_paused = true)]
async fn a_stream_keeps_order_and_its_bound_on_tasks_at_once() {
    let tasks = TaskSupervisor::start().await.unwrap();
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let (r, m) = (running.clone(), most.clone());
    let options = StreamOptions {
        max_concurrency: 3,
        ordered: true,
        timeout: Duration::from_secs(60),
    };
    let results = tasks
        .stream(
            1..=10u64,
            move |n| {
                let (running, most) = (r.clone(), m.clone());
                async move {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    // Later items finish first.
                    tokio::time::sleep(Duration::from_millis(100 - n * 5)).await;
                    running.fetch_sub(1, Ordering::SeqCst);
                    n * n
                }
            },
            options,
        )
        .collect()
        .await;
    let squares: Vec<u64> = (1..=10).map(|n| n * n).collect();
    assert_eq!(
        results.into_iter().map(Result::unwrap).collect::<Vec<_>>(),
        squares
    );
    assert_eq!(most.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn an_unordered_stream_gives_results_as_tasks_finish() {
    let tasks = TaskSupervisor::start().await.unwrap();
    let options = StreamOptions {
        max_concurrency: 4,
        ordered: false,
        timeout: Duration::from_secs(60),
    };
    let results: Vec<u64> = tasks
        .stream(
            [40u64, 10, 30, 20],
            |ms| async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                ms
            },
            options,
        )
        .collect()
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(results, [10, 20, 30, 40]);
}

#[tokio::test(start_paused = true)]
async fn a_stream_task_past_its_timeout_is_killed_and_says_so() {
    let tasks = TaskSupervisor::start().await.unwrap();
    let options = StreamOptions {
        max_concurrency: 2,
        ordered: true,
        timeout: Duration::from_secs(1),
    };
    let results = tasks
        .stream(
            [500u64, 5_000, 0],
            |ms| async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                ms
            },
            options,
        )
        .collect()
        .await;
    assert_eq!(
        results,
        [
            Ok(500),
            Err(TaskError::TimedOut(Duration::from_secs(1))),
            Ok(0)
        ]
    );
}

#[tokio::test]
async fn a_task_supervisor_in_a_tree_stops_its_tasks_with_it() {
    use fauxtp::supervisor::{Strategy, Supervisor, SupervisorSpec};
    let tree = Supervisor::start(
        SupervisorSpec::new(Strategy::OneForOne).child(TaskSupervisor::child("tasks")),
    )
    .await
    .unwrap();
    let sup = tree.which_children().await.unwrap()[0]
        .pid
        .clone()
        .unwrap()
        .downcast()
        .unwrap();
    let tasks = TaskSupervisor::from_pid(sup);
    let stuck = tasks
        .spawn_nolink(std::future::pending::<()>())
        .await
        .unwrap();
    let mut me = Ctx::<()>::detached();
    let watch = me.monitor(stuck.pid());
    fauxtp::genserver::stop(&tree, ExitReason::Shutdown, common::WAIT)
        .await
        .unwrap();
    assert_eq!(common::down(&mut me, watch).await, ExitReason::Shutdown);
}
