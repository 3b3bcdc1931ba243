//! The observer on a small live system: a key-value store, two writers and
//! two readers that use it all the time, and a worker that crashes every
//! few seconds, under a supervision tree; the observer serves the page.
//!
//! `cargo run --example observer`, then open the address it prints
//! (http://127.0.0.1:9911/). The tree shows each child with its pid; the
//! `flaky` worker gets a new pid each time it crashes, and its crashes are
//! listed under "Recent crashes". Kill a writer from the page (or from the
//! process table) and watch its supervisor start a new one. Ctrl-C (or
//! SIGTERM) stops the tree, in order, and the observer, through
//! `fauxtp::application`.
//!
//! `cargo run --example observer -- --read-only` serves a page without
//! actions.

use std::collections::HashMap;
use std::time::Duration;

use fauxtp::application::{self, Stopped};
use fauxtp::observer::{Observer, ObserverError, ObserverOptions};
use fauxtp::prelude::*;
use fauxtp::registry;
use fauxtp::supervisor::SupervisorMsg;

/// The store's registered name.
const STORE: &str = "observer-store";

/// How often the clients use the store.
const CLIENT_PERIOD: Duration = Duration::from_millis(200);

/// How long the flaky worker lives before it crashes.
const FLAKY_LIFE: Duration = Duration::from_secs(4);

/// The store: a map, owned by its process.
#[derive(Debug)]
#[genserver(name = "observer-store")]
struct Store {
    data: HashMap<String, u64>,
}

#[genserver]
impl Store {
    fn init() -> Self {
        Store {
            data: HashMap::new(),
        }
    }

    #[call]
    fn get(&self, key: String) -> Option<u64> {
        self.data.get(&key).copied()
    }

    #[cast]
    fn put(&mut self, key: String, value: u64) {
        self.data.insert(key, value);
    }
}

/// A timer's tick.
#[derive(Debug, Clone)]
struct Tick;

/// Writes a key to the store at each tick.
#[derive(Debug)]
struct Writer {
    label: &'static str,
    written: u64,
}

#[genserver]
impl Writer {
    fn init(label: &'static str, ctx: &mut ServerCtx<Self>) -> Self {
        let _ = fauxtp::timer::send_interval(&ctx.pid(), Tick, CLIENT_PERIOD);
        Writer { label, written: 0 }
    }

    #[info]
    fn tick(&mut self, _tick: Tick) {
        if let Ok(store) = registry::whereis::<StoreMsg>(STORE) {
            let key = format!("{}{}", self.label, self.written % 100);
            let _ = store.put(key, self.written);
            self.written += 1;
        }
    }
}

/// Reads a key from the store at each tick.
#[derive(Debug)]
struct Reader {
    label: &'static str,
    found: u64,
}

#[genserver]
impl Reader {
    fn init(label: &'static str, ctx: &mut ServerCtx<Self>) -> Self {
        let _ = fauxtp::timer::send_interval(&ctx.pid(), Tick, CLIENT_PERIOD);
        Reader { label, found: 0 }
    }

    #[info]
    async fn tick(&mut self, _tick: Tick) {
        if let Ok(store) = registry::whereis::<StoreMsg>(STORE) {
            let key = format!("{}{}", self.label, self.found % 100);
            if let Ok(Some(_)) = store.get(key).await {
                self.found += 1;
            }
        }
    }
}

/// The end of the flaky worker's life.
#[derive(Debug, Clone)]
struct Doom;

/// A worker that crashes a few seconds after each start.
struct Flaky;

#[genserver]
impl Flaky {
    fn init(ctx: &mut ServerCtx<Self>) -> Self {
        fauxtp::timer::send_after(&ctx.pid(), Doom, FLAKY_LIFE);
        Flaky
    }

    #[info]
    fn doom(&mut self, _doom: Doom) {
        panic!("the flaky worker crashed, as it does every few seconds");
    }
}

supervisor! {
    /// The store's clients.
    Clients {
        strategy: one_for_one,
        intensity: 5 per 10s,
        children: [
            writer_a: Writer::child("a").named("observer-writer-a"),
            writer_b: Writer::child("b").named("observer-writer-b"),
            reader_a: Reader::child("a").named("observer-reader-a"),
            reader_b: Reader::child("b").named("observer-reader-b"),
        ],
    }
}

supervisor! {
    /// The store, its clients, and the flaky worker.
    ObserverApp {
        strategy: one_for_one,
        intensity: 10 per 10s,
        children: [
            store: Store::child(()),
            clients: Clients::child(()),
            flaky: Flaky::child(()),
        ],
    }
}

/// Every child of the tree, by id, as the page shows them.
pub const CHILDREN: [&str; 7] = [
    "store", "clients", "flaky", "writer_a", "writer_b", "reader_a", "reader_b",
];

/// Starts the tree and the observer on `addr`.
pub async fn start(
    addr: &str,
    options: ObserverOptions,
) -> Result<(Pid<SupervisorMsg>, Observer), Box<dyn std::error::Error + Send + Sync>> {
    let app = ObserverApp::start(()).await?;
    let observer = options
        .serve(addr)
        .await
        .map_err(|error: ObserverError| Box::new(error))?;
    Ok((app, observer))
}

#[tokio::main]
async fn main() -> Result<Stopped, Box<dyn std::error::Error + Send + Sync>> {
    let read_only = std::env::args().any(|arg| arg == "--read-only");
    // `--addr 127.0.0.1:0` listens elsewhere (the tests do).
    let addr = std::env::args()
        .skip_while(|arg| arg != "--addr")
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9911".to_owned());
    let options = ObserverOptions::new().read_only(read_only);
    let (app, observer) = start(&addr, options).await?;
    println!("observer on {} (ctrl-c to stop)", observer.url());
    // Until ctrl-c or SIGTERM; then the tree stops in order.
    let stopped = application::run(async { Ok(app) }).await;
    observer.shutdown().await;
    println!("stopped: {stopped}");
    Ok(stopped)
}
