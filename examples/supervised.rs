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

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
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
    println!(
        "  old {cache}, new {cache2}, entries now {}",
        cache2.len().await?
    );
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
    assert_ne!(workers_before, workers_after);

    println!("\nstopping the tree (children last-first):");
    genserver::stop(&app, ExitReason::Shutdown, Duration::from_secs(5)).await?;
    println!("done; processes alive: {}", fauxtp::process::count());
    Ok(())
}
