//! Nothing is left behind: processes that end are gone from the count, and
//! processes whose runtime shuts down still run their exit protocol.
//!
//! These tests read the program-wide process count, so they run one at a
//! time (and in their own test binary, away from other tests).

mod common;

use std::sync::Mutex;

use fauxtp::prelude::*;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

#[derive(Debug)]
enum Msg {
    Stop,
}

#[test]
fn ten_thousand_processes_end_and_none_is_left_behind() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(ten_thousand_processes());
}

async fn ten_thousand_processes() {
    let metrics = tokio::runtime::Handle::current().metrics();
    let tasks_before = metrics.num_alive_tasks();
    let mut me = Ctx::<()>::detached();
    let baseline = fauxtp::process::count();

    let mut monitors = std::collections::HashSet::new();
    let mut pids = Vec::new();
    for _ in 0..10_000 {
        let (pid, monitor) =
            me.spawn_monitor(
                |mut ctx: Ctx<Msg>| async move { receive!(ctx, { Msg::Stop => Ok(()) }) },
            );
        pids.push(pid);
        monitors.insert(monitor);
    }
    assert_eq!(fauxtp::process::count(), baseline + 10_000);
    for pid in &pids {
        pid.send(Msg::Stop).unwrap();
    }
    while !monitors.is_empty() {
        let down = receive!(me, {
            Down(d) => d,
            after common::WAIT => panic!("{} processes did not end", monitors.len()),
        });
        assert_eq!(down.reason, ExitReason::Normal);
        assert!(monitors.remove(&down.monitor));
    }
    assert_eq!(fauxtp::process::count(), baseline);
    assert!(pids.iter().all(|pid| !pid.is_alive()));
    // Every process task has finished (the count above is decremented at the
    // very end of a process's task, so wait the last few out).
    common::tasks_settle_to(tasks_before).await;
}

#[test]
fn a_runtime_shutting_down_still_runs_the_exit_protocol() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let baseline = fauxtp::process::count();
    // A process in another runtime watches the one that will be dropped.
    let watcher_rt = tokio::runtime::Runtime::new().unwrap();
    let doomed_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    let doomed = doomed_rt.block_on(async {
        let pid =
            fauxtp::spawn(
                |mut ctx: Ctx<Msg>| async move { receive!(ctx, { Msg::Stop => Ok(()) }) },
            );
        fauxtp::registry::register("leaks-doomed", &pid).unwrap();
        pid
    });
    let mut watcher = watcher_rt.block_on(async { Ctx::<()>::detached() });
    let monitor = watcher.monitor(&doomed);
    assert_eq!(fauxtp::process::count(), baseline + 2);

    drop(doomed_rt);

    let reason = watcher_rt.block_on(common::down(&mut watcher, monitor));
    assert_eq!(reason, ExitReason::Killed);
    assert!(fauxtp::registry::whereis_any("leaks-doomed").is_none());
    assert!(doomed.send(Msg::Stop).is_err());
    drop(watcher);
    assert_eq!(fauxtp::process::count(), baseline);
}
