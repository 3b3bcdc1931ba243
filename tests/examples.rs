//! The examples, run as tests. Each example's `run()` does its work, prints
//! what it does, checks its own invariants and returns its figures, which the
//! tests below check again: a broken example fails here, not only when
//! someone runs it by hand.
//!
//! The tests may run in parallel in this one program; the examples register
//! distinct names and stop what they start. Each run is bounded: an example
//! that hangs fails after 10 s instead of blocking the suite.

use std::collections::BTreeMap;
use std::time::Duration;

use fauxtp::testing::with_timeout;

#[path = "../examples/cluster.rs"]
#[allow(dead_code)]
mod cluster;

#[path = "../examples/code_lock.rs"]
#[allow(dead_code)]
mod code_lock;

#[path = "../examples/counter.rs"]
#[allow(dead_code)]
mod counter;

#[path = "../examples/kvstore.rs"]
#[allow(dead_code)]
mod kvstore;

#[path = "../examples/pingpong.rs"]
#[allow(dead_code)]
mod pingpong;

#[path = "../examples/pipeline.rs"]
#[allow(dead_code)]
mod pipeline;

#[path = "../examples/pubsub.rs"]
#[allow(dead_code)]
mod pubsub;

#[path = "../examples/stack.rs"]
#[allow(dead_code)]
mod stack;

#[path = "../examples/supervised.rs"]
#[allow(dead_code)]
mod supervised;

#[path = "../examples/task_queue.rs"]
#[allow(dead_code)]
mod task_queue;

/// How long one example may run.
const LIMIT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counter_calls_casts_defers_crashes_and_stops() {
    let report = with_timeout(LIMIT, counter::run())
        .await
        .expect("the counter example ends within 10 s")
        .expect("the counter example succeeds");
    assert_eq!(report.added, 15);
    assert_eq!(report.after_reset, 0);
    assert_eq!(
        report.waited_for, 3,
        "answered when tick and task had counted"
    );
    assert!(
        matches!(&report.crashed, fauxtp::ExitReason::Panic(message) if message.contains("divide by zero")),
        "{:?}",
        report.crashed
    );
    assert_eq!(report.stopped, fauxtp::ExitReason::Shutdown);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pingpong_plays_every_round_and_keeps_the_noise() {
    let report = with_timeout(LIMIT, pingpong::run())
        .await
        .expect("the pingpong example ends within 10 s");
    assert_eq!(
        report,
        pingpong::Report {
            pongs: 3,
            ponger_ended: fauxtp::ExitReason::Normal,
            left_in_mailbox: "crowd cheering",
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supervised_restarts_workers_and_escalates() {
    let report = with_timeout(LIMIT, supervised::run())
        .await
        .expect("the supervised example ends within 10 s")
        .expect("the supervised example succeeds");
    assert_eq!(
        report,
        supervised::Report {
            entries_after_restart: 0,
            subtree_restarted: true,
            names_released: true,
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kvstore_counts_every_read_and_write() {
    let report = with_timeout(LIMIT, kvstore::run())
        .await
        .expect("the kvstore example ends within 10 s");
    assert_eq!(
        report,
        kvstore::Report {
            keys: 20,
            reads: 20,
            writes: 20,
            written_by_clients: 20,
            read_by_clients: 20,
            keys_after_restart: 0,
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipeline_passes_every_event_through_once() {
    let report = with_timeout(LIMIT, pipeline::run())
        .await
        .expect("the pipeline example ends within 10 s");
    assert_eq!(report.produced, 30);
    assert_eq!(report.consumed, 30);
    let ids: Vec<u32> = report.per_processor.iter().map(|(id, _)| *id).collect();
    assert!(
        ids.iter().all(|id| (1..=3).contains(id)),
        "only the three processors handle events: {ids:?}"
    );
    let handled: u64 = report.per_processor.iter().map(|(_, n)| n).sum();
    assert_eq!(handled, report.consumed, "the counts per processor add up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_queue_accounts_for_every_job() {
    let report = with_timeout(LIMIT, task_queue::run())
        .await
        .expect("the task queue example ends within 10 s");
    assert_eq!(
        report,
        task_queue::Report {
            submitted: 20,
            completed: 18,
            failed: vec![7, 13],
            attempts: 28,
            crashes: 3,
            pool_limit: 3,
        }
    );
    assert_eq!(
        report.completed + report.failed.len(),
        report.submitted,
        "every job is accounted for"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pubsub_routes_per_topic_and_forgets_dead_subscribers() {
    let report = with_timeout(LIMIT, pubsub::run())
        .await
        .expect("the pubsub example ends within 10 s");
    let counts = |pairs: &[(&str, usize)]| -> BTreeMap<String, usize> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    };
    assert_eq!(
        report,
        pubsub::Report {
            routed: counts(&[("errors", 0), ("events", 5), ("metrics", 6)]),
            subscribers: counts(&[("events", 1), ("metrics", 3)]),
            removed: 2,
            analytics: 4,
            dashboard: 2,
            counter: 2,
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stack_answers_an_empty_pop_with_a_typed_error() {
    let report = with_timeout(LIMIT, stack::run())
        .await
        .expect("the stack example ends within 10 s");
    assert_eq!(
        report,
        stack::Report {
            popped: ["hello", "fauxtp", "world", "again"]
                .map(String::from)
                .to_vec(),
            empty_pops: 1,
            left: 0,
        }
    );
}

/// Needs Erlang, like the distribution tests (see tests/erlang/mod.rs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_talks_to_a_real_erlang_node_both_ways() {
    let outcome = with_timeout(Duration::from_secs(20), cluster::run())
        .await
        .expect("the cluster example ends within 20 s");
    if let Err(error) = outcome {
        panic!("the cluster example failed: {error}");
    }
}

#[tokio::test(start_paused = true)]
async fn code_lock_opens_relocks_and_handles_the_postponed_press() {
    // On a paused clock: the door's two seconds pass at once.
    let report = with_timeout(LIMIT, code_lock::run(Duration::from_secs(2)))
        .await
        .expect("the code lock example ends within 10 s");
    assert_eq!(
        report,
        code_lock::Report {
            presses: vec![false, false, false, true],
            postponed_press: false,
            opened: 1,
        }
    );
}
