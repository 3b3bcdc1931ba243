//! A call holds nothing once it is done: whatever its timeout, what it
//! registered (its place in a timeout bucket, its task's waker) goes when
//! it completes, fails or is dropped. Checked by counting the live heap, in
//! a test program of its own (the allocator is global).
//!
//! The runtimes are current-thread ones with a paused clock: time does not
//! move while the calls run, so no timeout fires and nothing is freed by
//! one. The count is the whole program's, so the tests take turns
//! ([`one_at_a_time`]).

mod live_heap;

use std::future::IntoFuture;

use fauxtp::prelude::*;
use fauxtp::supervisor::{Strategy, Supervisor, SupervisorSpec};

/// Held by each test while it runs: the live heap counts every thread.
async fn one_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    TURN.lock().await
}

/// How much the live heap may differ after the work: a few KiB (buffers
/// that grew, the last task's slot a thread keeps).
const SLACK: isize = 8 * 1024;

struct Counter {
    count: u64,
}

#[genserver]
impl Counter {
    fn init() -> Self {
        Counter { count: 0 }
    }

    #[call]
    fn add(&mut self, n: u64) -> u64 {
        self.count += n;
        self.count
    }
}

/// `n` calls, each from a task of its own that ends after its call.
async fn calls_from_short_lived_tasks(counter: &Pid<CounterMsg>, n: u64) {
    for _ in 0..n {
        let counter = counter.clone();
        tokio::spawn(async move { counter.add(1).await.unwrap() })
            .await
            .unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn calls_from_short_lived_tasks_leave_nothing_behind() {
    let _turn = one_at_a_time().await;
    let counter = Counter::start(()).await.unwrap();
    calls_from_short_lived_tasks(&counter, 1_000).await;
    let before = live_heap::live();
    calls_from_short_lived_tasks(&counter, 100_000).await;
    let grown = live_heap::live() - before;
    assert!(
        grown < SLACK,
        "100,000 finished calls (5 s timeouts) left {grown} bytes live"
    );
}

#[tokio::test(start_paused = true)]
async fn calls_that_time_out_or_are_dropped_leave_nothing_behind() {
    let _turn = one_at_a_time().await;
    // A process that takes calls and never answers them.
    let silent = fauxtp::spawn(|mut ctx: Ctx<fauxtp::ReplyTo<u64>>| async move {
        loop {
            drop(ctx.recv().await);
        }
    });
    let call = |timeout| fauxtp::Call::new(&silent, "silent", |reply| reply).timeout(timeout);
    // Calls given up while they wait: polled once (they wait), then dropped.
    let give_up = |n: u64| async move {
        for _ in 0..n {
            let waiting = tokio::spawn(call(std::time::Duration::from_secs(3600)).into_future());
            tokio::task::yield_now().await;
            waiting.abort();
            let _ = waiting.await;
        }
    };
    // And calls that time out.
    for _ in 0..100 {
        let _ = call(std::time::Duration::from_millis(1)).await;
    }
    give_up(1_000).await;
    let before = live_heap::live();
    give_up(10_000).await;
    for _ in 0..100 {
        let _ = call(std::time::Duration::from_millis(1)).await;
    }
    let grown = live_heap::live() - before;
    assert!(
        grown < SLACK,
        "10,000 calls dropped while waiting (1 h timeouts) and 100 timed out left {grown} bytes live"
    );
}

#[tokio::test(start_paused = true)]
async fn supervisor_requests_from_short_lived_tasks_leave_nothing_behind() {
    let _turn = one_at_a_time().await;
    let spec = SupervisorSpec::new(Strategy::OneForOne).child(Counter::child(()).id("counter"));
    let sup = Supervisor::start(spec).await.unwrap();
    let ask = |n: u64| {
        let sup = sup.clone();
        async move {
            for _ in 0..n {
                let sup = sup.clone();
                tokio::spawn(async move { sup.which_children().await.unwrap().len() })
                    .await
                    .unwrap();
            }
        }
    };
    ask(1_000).await;
    let before = live_heap::live();
    ask(100_000).await;
    let grown = live_heap::live() - before;
    assert!(
        grown < SLACK,
        "100,000 which_children left {grown} bytes live"
    );
}
