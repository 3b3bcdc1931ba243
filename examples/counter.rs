//! A GenServer from an annotated impl block: calls, casts, an info message
//! from a timer, a background task, a deferred reply, stopping, and a crash
//! seen by a monitor.
//!
//! `cargo run --example counter`

use std::time::Duration;

use fauxtp::prelude::*;

/// Sent by a timer; reaches the `#[info]` handler through `From`.
#[derive(Debug)]
struct Tick;

struct Counter {
    count: u64,
    /// Calls waiting until the count reaches a target.
    waiting: Vec<(u64, ReplyTo<u64>)>,
}

#[genserver(call_timeout = 1s)]
impl Counter {
    async fn init(start: u64) -> Result<Self, ExitReason> {
        println!("init: starting at {start}");
        Ok(Counter {
            count: start,
            waiting: Vec::new(),
        })
    }

    #[call]
    fn get(&self) -> u64 {
        self.count
    }

    #[call]
    fn add(&mut self, n: u64) -> u64 {
        self.count += n;
        self.release();
        self.count
    }

    #[cast]
    fn reset(&mut self) {
        self.count = 0;
    }

    /// Replies only once the count has reached `target` (a deferred reply).
    #[call]
    fn wait_for(&mut self, target: u64, reply: ReplyTo<u64>) {
        self.waiting.push((target, reply));
        self.release();
    }

    /// Counts slowly in the background; the result comes back as a message.
    #[cast]
    fn add_later(&mut self, n: u64, ctx: &mut ServerCtx<Self>) {
        ctx.spawn_task(async move {
            tokio::task::yield_now().await;
            n
        });
    }

    #[task_end]
    fn added_later(&mut self, result: Result<u64, TaskError>) {
        if let Ok(n) = result {
            self.count += n;
            self.release();
        }
    }

    #[info]
    fn tick(&mut self, _tick: Tick) {
        self.count += 1;
        self.release();
    }

    #[call]
    fn divide(&mut self, by: u64) -> u64 {
        // A panic ends this server only; the caller gets an error.
        self.count / by
    }

    #[call]
    fn stop(&mut self, ctx: &mut ServerCtx<Self>) -> u64 {
        ctx.stop(ExitReason::Shutdown);
        self.count
    }

    async fn terminate(&mut self, reason: &ExitReason) {
        println!("terminate: {reason} at {}", self.count);
    }

    /// Answers the deferred calls whose target has been reached.
    fn release(&mut self) {
        let count = self.count;
        let (done, pending) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|(target, _)| count >= *target);
        self.waiting = pending;
        for (_, reply) in done {
            reply.reply(count);
        }
    }
}

/// What the example saw, for `tests/examples.rs` to check.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// What `add(5)` answered, from 10.
    pub added: u64,
    /// The count after `reset`.
    pub after_reset: u64,
    /// What the deferred `wait_for(3)` answered.
    pub waited_for: u64,
    /// How the server that divided by zero ended.
    pub crashed: ExitReason,
    /// How the server stopped on purpose ended.
    pub stopped: ExitReason,
}

pub async fn run() -> Result<Report, Box<dyn std::error::Error>> {
    let counter = Counter::start(10).await?;
    println!("{counter} started; get = {}", counter.get().await?);
    let added = counter.add(5).await?;
    println!("add(5) = {added}");

    counter.reset()?;
    let after_reset = counter.get().await?;
    println!("after reset: {after_reset}");

    // A deferred call, answered when a timer tick and a task have counted up.
    let waiter = counter.clone();
    let reached = fauxtp::task::Task::spawn(async move { waiter.wait_for(3).await });
    fauxtp::timer::send_after(&counter, Tick, Duration::from_millis(10));
    counter.add_later(2)?;
    let waited_for = reached.join().await??;
    println!("wait_for(3) answered with {waited_for}");

    // Every call has a timeout (here 1 s from the server's option, 50 ms for
    // this one). The count never reaches 100, so this call gives up; the
    // reply it would have got is dropped, never delivered late.
    let err = counter
        .wait_for(100)
        .timeout(Duration::from_millis(50))
        .await
        .unwrap_err();
    println!("as expected: {err}");

    // A crash: the call fails with the reason, and a monitor sees it.
    let mut me = Ctx::<()>::detached();
    let monitor = me.monitor(&counter);
    let err = counter.divide(0).await.unwrap_err();
    println!("divide(0) failed: {err}");
    let crashed = receive!(me, {
        Down(d) if d.monitor == monitor => d.reason,
        after Duration::from_secs(1) => return Err("no down message".into()),
    });
    println!("{counter} ended: {crashed}");

    // A fresh server, stopped on purpose: the reply comes first, then
    // terminate runs, then the server ends with the reason it gave.
    let counter = Counter::start(1).await?;
    let monitor = me.monitor(&counter);
    println!("stop replied {}", counter.stop().await?);
    let stopped = receive!(me, {
        Down(d) if d.monitor == monitor => d.reason,
        after Duration::from_secs(1) => return Err("no down message".into()),
    });
    println!("{counter} ended: {stopped}");
    let err = counter.get().await.unwrap_err();
    println!("after stop: {err}");
    Ok(Report {
        added,
        after_reset,
        waited_for,
        crashed,
        stopped,
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    run().await.map(|_| ())
}
