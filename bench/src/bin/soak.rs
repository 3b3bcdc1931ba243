//! The soak: a supervised tree of 1,000 workers under steady calls, crashes
//! and `which_children` polling, for as long as it is told. Every interval
//! (a minute by default) it prints the live heap and the resident set; it
//! exits non-zero if either has grown, after the first interval, by more
//! than a small allowance (1 MiB of heap, 8 MiB of RSS).
//!
//! `cargo run --release --manifest-path bench/Cargo.toml --bin soak -- --minutes 10`
//! (`--interval-secs N` for shorter intervals).

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fauxtp::prelude::*;
use fauxtp::registry;
use fauxtp::supervisor::{Strategy, Supervisor, SupervisorMsg, SupervisorSpec};

// The live heap, counted by a global allocator: the one the memory tests
// use.
#[path = "../../../tests/live_heap/mod.rs"]
mod live_heap;

const GROUPS: u32 = 10;
const PER_GROUP: u32 = 100;
const WORKERS: u32 = GROUPS * PER_GROUP;
const CLIENTS: u64 = 8;
/// How much the live heap and the RSS may grow after the first interval.
const HEAP_ALLOWANCE: isize = 1 << 20;
const RSS_ALLOWANCE: isize = 8 << 20;

struct Worker {
    n: u32,
    handled: u64,
}

#[genserver]
impl Worker {
    fn init(n: u32) -> Self {
        Worker { n, handled: 0 }
    }

    #[call]
    async fn ping(&mut self) -> (u32, u64) {
        self.handled += 1;
        tokio::task::yield_now().await;
        (self.n, self.handled)
    }

    #[cast]
    fn crash(&mut self) {
        panic!("worker {} crashed on purpose", self.n);
    }
}

fn name(n: u32) -> String {
    format!("soak-w{n}")
}

fn tree() -> SupervisorSpec {
    let mut root =
        SupervisorSpec::new(Strategy::OneForOne).intensity(1_000, Duration::from_secs(1));
    for group in 0..GROUPS {
        let mut sup =
            SupervisorSpec::new(Strategy::OneForOne).intensity(1_000, Duration::from_secs(1));
        for i in 0..PER_GROUP {
            let n = group * PER_GROUP + i;
            sup = sup.child(Worker::child(n).id(format!("w{n}")).named(name(n)));
        }
        root = root.child(Supervisor::child(sup).id(format!("group{group}")));
    }
    root
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u32) -> u32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as u32 % n
    }
}

#[derive(Default)]
struct Counts {
    replies: AtomicU64,
    errors: AtomicU64,
    crashes: AtomicU64,
    polls: AtomicU64,
}

/// Calls workers by name, one after the other, until told to stop.
async fn client(seed: u64, stop: Arc<AtomicBool>, counts: Arc<Counts>) {
    let mut rng = Rng(seed);
    while !stop.load(Ordering::Relaxed) {
        let Ok(worker) = registry::whereis::<WorkerMsg>(&name(rng.below(WORKERS))) else {
            tokio::task::yield_now().await;
            continue;
        };
        match worker.ping().timeout(Duration::from_millis(500)).await {
            Ok(_) => counts.replies.fetch_add(1, Ordering::Relaxed),
            Err(_) => counts.errors.fetch_add(1, Ordering::Relaxed),
        };
    }
}

/// Crashes a random worker every 20 ms.
async fn crasher(stop: Arc<AtomicBool>, counts: Arc<Counts>) {
    let mut rng = Rng(0x50A1);
    let mut every = tokio::time::interval(Duration::from_millis(20));
    while !stop.load(Ordering::Relaxed) {
        every.tick().await;
        if let Ok(worker) = registry::whereis::<WorkerMsg>(&name(rng.below(WORKERS))) {
            if worker.crash().is_ok() {
                counts.crashes.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Asks the root and every group for their children every 100 ms, each
/// request from a task of its own.
async fn poller(root: Pid<SupervisorMsg>, stop: Arc<AtomicBool>, counts: Arc<Counts>) {
    let mut every = tokio::time::interval(Duration::from_millis(100));
    while !stop.load(Ordering::Relaxed) {
        every.tick().await;
        let root = root.clone();
        let counts = counts.clone();
        let _ = tokio::spawn(async move {
            let Ok(groups) = root.which_children().await else {
                return;
            };
            for group in groups {
                if let Some(pid) = group.pid.and_then(|p| p.downcast::<SupervisorMsg>()) {
                    let _ = pid.which_children().await;
                }
            }
            counts.polls.fetch_add(1, Ordering::Relaxed);
        })
        .await;
    }
}

/// The resident set of this program, from /proc.
fn rss() -> isize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|statm| statm.split_whitespace().nth(1)?.parse::<isize>().ok())
        .map_or(0, |pages| pages * 4096)
}

fn mib(bytes: isize) -> String {
    format!("{:.2} MiB", bytes as f64 / (1 << 20) as f64)
}

fn main() -> ExitCode {
    let mut minutes = 10u64;
    let mut interval = Duration::from_secs(60);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().and_then(|v| v.parse::<u64>().ok());
        match (arg.as_str(), value) {
            ("--minutes", Some(n)) => minutes = n,
            ("--interval-secs", Some(n)) => interval = Duration::from_secs(n.max(1)),
            _ => {
                eprintln!("usage: soak [--minutes N] [--interval-secs N]");
                return ExitCode::from(2);
            }
        }
    }
    // The crashes are on purpose: no report (and no backtrace) for them.
    std::panic::set_hook(Box::new(|_| {}));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(soak(Duration::from_secs(minutes * 60), interval))
}

async fn soak(length: Duration, interval: Duration) -> ExitCode {
    let at_start = live_heap::live();
    let root = Supervisor::start(tree()).await.expect("the tree starts");
    let stop = Arc::new(AtomicBool::new(false));
    let counts = Arc::new(Counts::default());
    let mut work = Vec::new();
    for i in 0..CLIENTS {
        work.push(tokio::spawn(client(
            0x5EED + i,
            stop.clone(),
            counts.clone(),
        )));
    }
    work.push(tokio::spawn(crasher(stop.clone(), counts.clone())));
    work.push(tokio::spawn(poller(
        root.clone(),
        stop.clone(),
        counts.clone(),
    )));

    println!(
        "soak: {WORKERS} workers under {GROUPS} supervisors, {CLIENTS} clients, a crash every 20 ms, \
         which_children every 100 ms; {} intervals of {:?}",
        (length.as_secs() / interval.as_secs()).max(1),
        interval
    );
    println!("interval  replies   errors  crashes  polls  processes  live heap  rss");
    let started = Instant::now();
    let mut samples = Vec::new();
    let mut n = 0;
    loop {
        n += 1;
        tokio::time::sleep_until((started + interval * n).into()).await;
        let (heap, rss) = (live_heap::live(), rss());
        println!(
            "{n:>8}  {:>7}  {:>7}  {:>7}  {:>5}  {:>9}  {:>9}  {}",
            counts.replies.load(Ordering::Relaxed),
            counts.errors.load(Ordering::Relaxed),
            counts.crashes.load(Ordering::Relaxed),
            counts.polls.load(Ordering::Relaxed),
            fauxtp::process::count(),
            mib(heap),
            mib(rss)
        );
        samples.push((heap, rss));
        if started.elapsed() >= length {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for task in work {
        let _ = task.await;
    }
    fauxtp::genserver::stop(&root, ExitReason::Shutdown, Duration::from_secs(30))
        .await
        .expect("the tree stops");
    println!(
        "stopped: {} processes left, live heap {} ({} before the tree started)",
        fauxtp::process::count(),
        mib(live_heap::live()),
        mib(at_start)
    );

    let (first_heap, first_rss) = samples[0];
    let (max_heap, max_rss) = samples[1..]
        .iter()
        .fold((first_heap, first_rss), |(h, r), &(sh, sr)| {
            (h.max(sh), r.max(sr))
        });
    let heap_growth = max_heap - first_heap;
    let rss_growth = max_rss - first_rss;
    println!(
        "after the first interval: live heap grew {} (allowed {}), rss grew {} (allowed {})",
        mib(heap_growth),
        mib(HEAP_ALLOWANCE),
        mib(rss_growth),
        mib(RSS_ALLOWANCE)
    );
    if heap_growth > HEAP_ALLOWANCE || rss_growth > RSS_ALLOWANCE {
        println!("FAILED: memory grows");
        return ExitCode::FAILURE;
    }
    if samples.len() < 2 {
        println!("one interval only: nothing to compare");
    }
    println!("ok");
    ExitCode::SUCCESS
}
