//! "Let it crash": a small tree that crashes a worker on purpose and shows
//! the supervisor restarting it, its name following the new process, and an
//! escalation when a part of the tree keeps failing.
//!
//! `cargo run --example supervised`

use std::time::Duration;

use fauxtp::prelude::*;
use fauxtp::registry;

/// A cache that fails on bad input: `?` in a cast stops it with the error,
/// and its supervisor starts a fresh one.
struct Cache {
    entries: Vec<(String, u32)>,
}

#[genserver(name = "cache")]
impl Cache {
    fn init() -> Self {
        println!("  cache: starting");
        Cache {
            entries: Vec::new(),
        }
    }

    #[cast]
    fn load(&mut self, key: String, value: String) -> Result<(), std::num::ParseIntError> {
        let value: u32 = value.parse()?;
        self.entries.push((key, value));
        Ok(())
    }

    #[call]
    fn len(&self) -> usize {
        self.entries.len()
    }

    async fn terminate(&mut self, reason: &ExitReason) {
        println!("  cache: terminating ({reason})");
    }
}

/// A worker that panics on request: a panic ends this process only.
struct Flaky;

#[genserver]
impl Flaky {
    fn init() -> Self {
        println!("  flaky: starting");
        Flaky
    }

    #[cast]
    fn crash(&mut self) {
        panic!("flaky worker crashed on purpose");
    }
}

supervisor! {
    /// Gives up when `flaky` fails twice within a minute.
    Workers {
        strategy: one_for_one,
        intensity: 1 per 1m,
        children: [
            flaky: Flaky::child(()).named("flaky"),
        ],
    }
}

supervisor! {
    /// The application: the cache, and a subtree of workers.
    App {
        strategy: one_for_one,
        intensity: 3 per 5s,
        children: [
            cache: Cache::child(()),
            workers: Workers::child(()),
        ],
    }
}

/// Waits until `name` leads to a process other than `old`.
async fn restarted<M: Send + 'static>(name: &str, old: &Pid<M>) -> Pid<M> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    loop {
        if let Ok(pid) = registry::whereis::<M>(name) {
            if pid != *old {
                return pid;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{name} was not restarted"
        );
        tokio::task::yield_now().await;
    }
}

/// What the example saw, for `tests/examples.rs` to check.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Entries in the cache that replaced the one that failed.
    pub entries_after_restart: usize,
    /// Whether the `workers` subtree was replaced after its escalation.
    pub subtree_restarted: bool,
    /// Whether every name of the tree was released once it stopped.
    pub names_released: bool,
}

pub async fn run() -> Result<Report, Box<dyn std::error::Error>> {
    println!("starting the tree:");
    let app = App::start(()).await?;
    for child in app.which_children().await? {
        println!("  {} -> {:?}", child.id, child.pid);
    }

    println!("\nbad input makes the cache fail; it is restarted under its name:");
    let cache: Pid<CacheMsg> = registry::whereis("cache")?;
    cache.load("a".into(), "1".into())?;
    cache.load("b".into(), "two".into())?;
    let cache2 = restarted("cache", &cache).await;
    let entries_after_restart = cache2.len().await?;
    println!("  old {cache}, new {cache2}, entries now {entries_after_restart}");
    println!(
        "  a call to the old pid: {}",
        cache.len().await.unwrap_err()
    );

    println!("\na panic ends the flaky worker only; its supervisor restarts it:");
    let flaky: Pid<FlakyMsg> = registry::whereis("flaky")?;
    flaky.crash()?;
    let flaky2 = restarted("flaky", &flaky).await;

    println!("\na second crash within a minute is one too many for `workers`:");
    println!("it stops, and `app` starts the whole subtree again");
    let workers_before = app.which_children().await?[1].pid.clone();
    flaky2.crash()?;
    let flaky3 = restarted("flaky", &flaky2).await;
    let workers_after = app.which_children().await?[1].pid.clone();
    println!("  workers {workers_before:?} -> {workers_after:?}, flaky is {flaky3}");

    println!("\nstopping the tree (children last-first):");
    genserver::stop(&app, ExitReason::Shutdown, Duration::from_secs(5)).await?;
    let names_released =
        registry::whereis_any("cache").is_none() && registry::whereis_any("flaky").is_none();
    println!("done; processes alive: {}", fauxtp::process::count());
    Ok(Report {
        entries_after_restart,
        subtree_restarted: workers_before != workers_after,
        names_released,
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    run().await.map(|_| ())
}
