//! Chaos: 200 workers under 10 supervisors under one root; clients call
//! workers by name while a seeded generator kills 2,000 of them. Every call
//! must end with a reply or a typed error within its timeout, the tree must
//! be whole again afterwards, and stopping it must leave no process behind
//! and give back the memory: the live heap ends within 1 MiB of where it
//! started.
//!
//! Alone in its test binary, because it checks the program-wide process
//! count and counts the live heap of the whole program.

mod common;
mod live_heap;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fauxtp::prelude::*;
use fauxtp::registry;
use fauxtp::supervisor::{Strategy, Supervisor, SupervisorMsg, SupervisorSpec};

const GROUPS: u32 = 10;
const PER_GROUP: u32 = 20;
const WORKERS: u32 = GROUPS * PER_GROUP;
const KILLS: u32 = 2_000;
const CLIENTS: u64 = 8;
const CALL_TIMEOUT: Duration = Duration::from_millis(500);

struct Pinger {
    n: u32,
}

#[genserver]
impl Pinger {
    fn init(n: u32) -> Self {
        Pinger { n }
    }

    #[call]
    async fn ping(&self) -> u32 {
        tokio::task::yield_now().await;
        self.n
    }
}

fn name(n: u32) -> String {
    format!("chaos-w{n}")
}

/// A small deterministic generator (xorshift64*): the same seed gives the
/// same choices.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u32) -> u32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as u32 % n
    }
}

fn tree() -> SupervisorSpec {
    // Restarts are the point here: allow plenty.
    let mut root =
        SupervisorSpec::new(Strategy::OneForOne).intensity(100_000, Duration::from_secs(1));
    for g in 0..GROUPS {
        let mut group =
            SupervisorSpec::new(Strategy::OneForOne).intensity(100_000, Duration::from_secs(1));
        for i in 0..PER_GROUP {
            let n = g * PER_GROUP + i;
            group = group.child(Pinger::child(n).id(format!("w{n}")).named(name(n)));
        }
        root = root.child(Supervisor::child(group).id(format!("g{g}")));
    }
    root
}

#[derive(Default)]
struct Tally {
    replies: u64,
    errors: u64,
    slowest: Duration,
}

/// Calls random workers by name until told to stop.
async fn client(seed: u64, stop: Arc<AtomicBool>) -> Tally {
    let mut rng = Rng(seed);
    let mut tally = Tally::default();
    while !stop.load(Ordering::Relaxed) || tally.replies + tally.errors < 200 {
        let n = rng.below(WORKERS);
        let started = tokio::time::Instant::now();
        let outcome = match registry::whereis::<PingerMsg>(&name(n)) {
            Ok(pid) => pid
                .ping()
                .timeout(CALL_TIMEOUT)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        tally.slowest = tally.slowest.max(started.elapsed());
        match outcome {
            Ok(got) => {
                assert_eq!(got, n, "a name must lead to its own worker");
                tally.replies += 1;
            }
            Err(_typed) => tally.errors += 1,
        }
    }
    tally
}

/// Whether every worker is running, registered under its name, and listed
/// with that same pid by its group.
async fn whole(root: &Pid<SupervisorMsg>) -> bool {
    let Ok(groups) = root.which_children().await else {
        return false;
    };
    if groups.len() != GROUPS as usize {
        return false;
    }
    for group in groups {
        let Some(group) = group.pid.and_then(|pid| pid.downcast::<SupervisorMsg>()) else {
            return false;
        };
        let Ok(workers) = group.which_children().await else {
            return false;
        };
        for worker in workers {
            let n: u32 = worker.id[1..].parse().expect("ids are w<n>");
            match (worker.pid, registry::whereis_any(&name(n))) {
                (Some(pid), Some(named)) if pid.is_alive() && pid == named => {}
                _ => return false,
            }
        }
    }
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tree_under_two_thousand_kills_answers_heals_and_leaves_nothing() {
    let tasks_before = tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks();
    let heap_before = live_heap::live();
    let baseline = fauxtp::process::count();
    let root = Supervisor::start(tree()).await.unwrap();
    assert!(whole(&root).await);

    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| Task::spawn(client(0x5EED + i, stop.clone())))
        .collect();

    // The chaos monkey: 2,000 kills, each aimed at a worker chosen by the
    // seeded generator (a worker between death and restart is skipped).
    let monkey = Ctx::<()>::detached();
    let mut rng = Rng(0xC4A05);
    let mut kills = 0;
    while kills < KILLS {
        if let Some(pid) = registry::whereis_any(&name(rng.below(WORKERS))) {
            monkey.exit(&pid, ExitReason::Kill);
            kills += 1;
        }
        tokio::task::yield_now().await;
    }
    stop.store(true, Ordering::Relaxed);

    let mut total = Tally::default();
    for client in clients {
        let tally = client
            .join_timeout(common::WAIT)
            .await
            .expect("clients finish");
        total.replies += tally.replies;
        total.errors += tally.errors;
        total.slowest = total.slowest.max(tally.slowest);
    }
    println!(
        "{} calls during {kills} kills: {} replies, {} typed errors, slowest {:?}",
        total.replies + total.errors,
        total.replies,
        total.errors,
        total.slowest
    );
    assert!(total.replies > 0);
    assert!(
        total.slowest < CALL_TIMEOUT + Duration::from_millis(500),
        "a call hung past its timeout: {:?}",
        total.slowest
    );

    // The tree heals: every worker runs again, under its name.
    let deadline = tokio::time::Instant::now() + common::WAIT;
    while !whole(&root).await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the tree did not heal"
        );
        tokio::task::yield_now().await;
    }

    fauxtp::genserver::stop(&root, ExitReason::Shutdown, common::WAIT)
        .await
        .unwrap();
    drop(monkey);
    assert_eq!(fauxtp::process::count(), baseline, "processes left behind");
    assert_eq!(baseline, 0, "nothing else runs in this test program");
    // The calls' timeout sleepers finish a moment after the last call
    // (within its 500 ms timeout); then the memory is back.
    common::tasks_settle_to(tasks_before).await;
    let grown = live_heap::live() - heap_before;
    println!("live heap after the stop: {grown} bytes more than before the tree");
    assert!(
        grown < 1 << 20,
        "{grown} bytes stayed live after the tree stopped"
    );
}
