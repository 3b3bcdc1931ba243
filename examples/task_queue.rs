//! A job queue worked by a pool of workers that grows at run time. Jobs that
//! fail are retried; after three attempts they are reported as failed.
//!
//! A rendering of the Python library's `examples/03_task_queue.py`:
//!
//! - The `JobQueue` GenServer holds the jobs. A worker asks for one with
//!   `checkout`, a call the queue answers when it has a job for it (a deferred
//!   reply): idle workers wait there, without polling.
//! - The workers are plain processes, children of a dynamic supervisor
//!   (`SupervisorSpec::dynamic().max_children(3)`, Elixir's
//!   `DynamicSupervisor`): `main` starts them at run time, and a fourth is
//!   refused.
//! - A job fails in one of two ways. It returns an error: the worker reports
//!   it to the queue and carries on. Or it panics: the worker crashes ("let it
//!   crash"), its supervisor starts a fresh one, and the queue learns what
//!   happened from its monitor on the worker (a `Down` in its `#[info]`
//!   handler), so the job is not lost with the worker.
//! - Either way the queue retries the job, up to three attempts.
//!
//! Which jobs fail is fixed, so the tallies are the same at every run: job 7
//! panics at every attempt, job 13 always returns an error, and jobs 5, 10, 15
//! and 20 return an error at their first attempt only. The work is simulated
//! with a sleep of 1 to 3 ms. Each crash prints its panic message on stderr:
//! that is expected.
//!
//! `cargo run --example task_queue`

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt;
use std::time::Duration;

use fauxtp::prelude::*;
use fauxtp::registry;
use fauxtp::supervisor::{ChildSpec, Supervisor, SupervisorError, SupervisorMsg, SupervisorSpec};

/// The queue's name (its `name` option below says the same) and the pool's.
const QUEUE: &str = "task-queue-jobs";
const POOL: &str = "task-queue-pool";

/// Jobs 1 to `JOBS` are submitted.
const JOBS: u32 = 20;
/// The most workers the pool runs at once.
const WORKERS: usize = 3;
/// Attempts per job before it is reported as failed.
const MAX_ATTEMPTS: u32 = 3;
/// How long an idle worker waits in `checkout` before its call times out.
const CHECKOUT_WAIT: Duration = Duration::from_secs(10);

/// One attempt at a job.
#[derive(Debug, Clone)]
struct Job {
    id: u32,
    attempt: u32,
}

/// A job's own failure: an error it returns. Unlike a panic, it does not end
/// the worker.
#[derive(Debug, Clone)]
struct JobError(String);

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for JobError {}

impl Job {
    /// Does the job: its output is the square of its id. Which jobs fail,
    /// and how, is fixed (see the top of the file).
    async fn run(&self) -> Result<u64, JobError> {
        // Simulated work.
        tokio::time::sleep(Duration::from_millis(1 + u64::from(self.id % 3))).await;
        match self.id {
            7 => panic!("job 7 hit a bug"),
            13 => Err(JobError("bad input".to_owned())),
            id if id % 5 == 0 && self.attempt == 1 => {
                Err(JobError("the upstream service timed out".to_owned()))
            }
            id => Ok(u64::from(id) * u64::from(id)),
        }
    }
}

/// The queue's figures once every job has an outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Tally {
    /// Job id -> output.
    completed: BTreeMap<u32, u64>,
    /// Job id -> why its last attempt failed.
    failed: BTreeMap<u32, String>,
    /// Attempts handed to workers.
    attempts: u32,
    /// Attempts that ended with their worker crashing.
    crashes: u32,
}

/// The job queue.
#[genserver(name = "task-queue-jobs")]
struct JobQueue {
    pending: VecDeque<Job>,
    /// Workers waiting in `checkout`, oldest first, each with its reply.
    idle: VecDeque<(AnyPid, ReplyTo<Option<Job>>)>,
    /// The job each busy worker holds.
    running: HashMap<AnyPid, Job>,
    /// The workers the queue monitors, one monitor each.
    watched: HashSet<AnyPid>,
    submitted: usize,
    /// No more jobs will be submitted.
    closed: bool,
    tally: Tally,
    /// Calls to `drained`, answered once every job has an outcome.
    waiting: Vec<ReplyTo<Tally>>,
}

#[genserver]
impl JobQueue {
    fn init() -> Self {
        println!("[queue] starting");
        JobQueue {
            pending: VecDeque::new(),
            idle: VecDeque::new(),
            running: HashMap::new(),
            watched: HashSet::new(),
            submitted: 0,
            closed: false,
            tally: Tally::default(),
            waiting: Vec::new(),
        }
    }

    /// Adds a job.
    #[cast]
    fn submit(&mut self, id: u32) {
        self.submitted += 1;
        self.pending.push_back(Job { id, attempt: 1 });
        self.dispatch();
    }

    /// No more jobs will come. Once every job has an outcome, idle workers
    /// get `None` from `checkout`, and stop.
    #[cast]
    fn close(&mut self) {
        self.closed = true;
        self.finish_if_done();
    }

    /// A worker asks for a job. The reply waits until there is one for it, or
    /// until the queue is done (`None`).
    #[call]
    fn checkout(&mut self, worker: AnyPid, reply: ReplyTo<Option<Job>>, ctx: &mut ServerCtx<Self>) {
        // Monitor each worker once: if it dies holding a job, the down
        // message says so, whatever killed it.
        if self.watched.insert(worker.clone()) {
            ctx.monitor(&worker);
        }
        self.idle.push_back((worker, reply));
        self.dispatch();
        self.finish_if_done();
    }

    /// A worker finished its job.
    #[cast]
    fn done(&mut self, worker: AnyPid, output: u64) {
        if let Some(job) = self.running.remove(&worker) {
            println!("[queue] job {:>2} done: {output}", job.id);
            self.tally.completed.insert(job.id, output);
        }
        self.finish_if_done();
    }

    /// A worker's job returned an error; the worker carries on.
    #[cast]
    fn failed(&mut self, worker: AnyPid, error: JobError) {
        if let Some(job) = self.running.remove(&worker) {
            self.retry_or_give_up(job, format!("error: {error}"));
        }
    }

    /// A monitored worker ended. If it held a job, it crashed doing it.
    #[info]
    fn worker_down(&mut self, down: Down) {
        self.watched.remove(&down.pid);
        if let Some(job) = self.running.remove(&down.pid) {
            self.tally.crashes += 1;
            let why = format!("worker {} crashed: {}", down.pid, down.reason);
            self.retry_or_give_up(job, why);
        }
    }

    /// Replies with the tally once every job has an outcome (after `close`).
    #[call]
    fn drained(&mut self, reply: ReplyTo<Tally>) {
        self.waiting.push(reply);
        self.finish_if_done();
    }

    fn retry_or_give_up(&mut self, job: Job, why: String) {
        if job.attempt < MAX_ATTEMPTS {
            println!(
                "[queue] job {:>2} failed at attempt {} ({why}); retrying",
                job.id, job.attempt
            );
            self.pending.push_back(Job {
                id: job.id,
                attempt: job.attempt + 1,
            });
            self.dispatch();
        } else {
            println!(
                "[queue] job {:>2} failed {} times; giving up ({why})",
                job.id, job.attempt
            );
            self.tally.failed.insert(job.id, why);
            self.finish_if_done();
        }
    }

    /// Hands pending jobs to idle workers, oldest first.
    fn dispatch(&mut self) {
        while let Some(job) = self.pending.pop_front() {
            let Some((worker, reply)) = self.idle.pop_front() else {
                self.pending.push_front(job); // nobody is free: the job waits
                return;
            };
            // Recorded before the reply: if the worker crashes at once, its
            // down message finds the job here.
            self.running.insert(worker.clone(), job.clone());
            if reply.reply(Some(job)) {
                self.tally.attempts += 1;
            } else if let Some(job) = self.running.remove(&worker) {
                // That worker stopped waiting (it died while idle): the job
                // goes back to the front, for the next idle worker.
                self.pending.push_front(job);
            }
        }
    }

    /// Once the queue is closed and every job has an outcome: idle workers
    /// get `None`, and `drained` calls get the tally.
    fn finish_if_done(&mut self) {
        let outcomes = self.tally.completed.len() + self.tally.failed.len();
        if !self.closed || outcomes < self.submitted {
            return;
        }
        for (_, reply) in self.idle.drain(..) {
            reply.reply(None);
        }
        for reply in self.waiting.drain(..) {
            reply.reply(self.tally.clone());
        }
    }
}

/// A worker: asks the queue for a job, does it, reports the outcome, asks
/// again; stops when the queue has no more work. A panic in a job ends the
/// worker, and the queue's monitor tells the queue.
async fn worker(ctx: Ctx<()>, n: u32) -> ProcessResult {
    let me = ctx.pid().any();
    let queue: Pid<JobQueueMsg> = registry::whereis(QUEUE)?;
    println!("[worker {n}] {me} ready");
    while let Some(job) = queue.checkout(me.clone()).timeout(CHECKOUT_WAIT).await? {
        match job.run().await {
            Ok(output) => queue.done(me.clone(), output)?,
            Err(error) => queue.failed(me.clone(), error)?,
        }
    }
    println!("[worker {n}] {me}: no more work; stopping");
    Ok(())
}

/// A worker as a child of the pool: transient, so it is restarted after a
/// crash, but not once it stops normally.
fn worker_child(n: u32) -> ChildSpec {
    ChildSpec::process(format!("worker-{n}"), move |ctx: Ctx<()>| worker(ctx, n)).transient()
}

supervisor! {
    /// The queue, then the pool whose workers use it. With `rest_for_one`, a
    /// crash of the queue would restart the pool too: the workers' jobs went
    /// with the queue.
    TaskQueueApp {
        strategy: rest_for_one,
        intensity: 3 per 5s,
        children: [
            queue: JobQueue::child(()),
            pool: Supervisor::child(
                SupervisorSpec::dynamic()
                    .max_children(WORKERS)
                    .intensity(10, Duration::from_secs(5)),
            )
            .named(POOL),
        ],
    }
}

/// What the example checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Jobs submitted.
    pub submitted: usize,
    /// Jobs done.
    pub completed: usize,
    /// Jobs given up on, by id.
    pub failed: Vec<u32>,
    /// Attempts made, retries included.
    pub attempts: u32,
    /// Attempts that crashed their worker.
    pub crashes: u32,
    /// The pool's limit, as its refusal of a fourth worker gave it.
    pub pool_limit: usize,
}

/// Runs the example: prints what happens, checks it, returns the figures.
pub async fn run() -> Report {
    println!("=== task queue with a dynamic worker pool ===");
    let app = TaskQueueApp::start(())
        .await
        .expect("the task queue tree starts");
    let queue: Pid<JobQueueMsg> = registry::whereis(QUEUE).expect("the tree registered the queue");
    let pool: Pid<SupervisorMsg> = registry::whereis(POOL).expect("the tree registered the pool");

    // Two workers to begin with. The queue is empty: they wait in checkout.
    for n in 1..=2 {
        pool.start_child(worker_child(n))
            .await
            .expect("the pool has room");
    }
    for id in 1..=JOBS {
        queue.submit(id).expect("the queue is running");
    }
    println!("-> submitted {JOBS} jobs");

    // The pool grows at run time, up to its limit.
    pool.start_child(worker_child(3))
        .await
        .expect("the pool has room for a third worker");
    let pool_limit = match pool.start_child(worker_child(4)).await {
        Err(SupervisorError::MaxChildren(limit)) => {
            println!("-> a fourth worker is refused: the pool runs at most {limit}");
            limit
        }
        other => panic!("expected the pool to be full, got {other:?}"),
    };

    queue.close().expect("the queue is running");
    let tally = queue
        .drained()
        .timeout(Duration::from_secs(8))
        .await
        .expect("every job has an outcome within 8 s");

    genserver::stop(&app, ExitReason::Shutdown, Duration::from_secs(5))
        .await
        .expect("the tree stops");

    for (id, output) in &tally.completed {
        assert_eq!(
            *output,
            u64::from(*id) * u64::from(*id),
            "job {id}'s output"
        );
    }
    let report = Report {
        submitted: JOBS as usize,
        completed: tally.completed.len(),
        failed: tally.failed.keys().copied().collect(),
        attempts: tally.attempts,
        crashes: tally.crashes,
        pool_limit,
    };
    println!(
        "\n-> {} jobs: {} completed, {} failed {:?}; {} attempts, {} of them crashed a worker",
        report.submitted,
        report.completed,
        report.failed.len(),
        report.failed,
        report.attempts,
        report.crashes
    );
    assert_eq!(
        report.completed + report.failed.len(),
        report.submitted,
        "every job is accounted for"
    );
    assert_eq!(report.failed, [7, 13]);
    // 20 first attempts, one retry for each of jobs 5, 10, 15 and 20, and two
    // retries each for jobs 7 and 13.
    assert_eq!(report.attempts, 28);
    assert_eq!(
        report.crashes, MAX_ATTEMPTS,
        "job 7 crashed at every attempt"
    );
    assert_eq!(report.pool_limit, WORKERS);
    report
}

#[tokio::main]
async fn main() {
    run().await;
}
