//! A key-value store shared by several clients at once, under a supervisor.
//!
//! A rendering of the Python library's `examples/01_concurrent_kvstore.py`:
//!
//! - `KvStore` is a GenServer registered as `"kvstore"`. Its state (a map and
//!   two counters) belongs to its process, and it handles one request at a
//!   time, so clients that use it at the same time need no lock.
//! - Two `Writer`s and two `Reader`s are GenServers too. They find the store
//!   by name at each request, as clients of a named service do: if the store
//!   were restarted, the name would lead them to the new one.
//! - A `supervisor!` tree starts them all. Children start in order, so the
//!   store is running and registered before any client starts; at the end the
//!   tree stops them in reverse order.
//! - `main` drives the four clients at once. Each batch is one call that
//!   returns when the batch is done, so `main` waits on replies, never on a
//!   sleep.
//!
//! - Then a bad request crashes the store. Its supervisor starts a fresh one
//!   under the same name, empty, as an Erlang supervisor would; the crash
//!   and the restart are reported through `tracing`, which `main` prints
//!   with `tracing-subscriber`'s fmt layer (set `RUST_LOG` to see more, as
//!   `RUST_LOG=fauxtp=debug`).
//!
//! - `main` runs the tree with `fauxtp::application`, which shuts the tree
//!   down in order once the scenario is done (or on ctrl-c or SIGTERM); the
//!   exit status says whether it stopped cleanly.
//!
//! The readers run while the writers write, so how many keys they find varies
//! from run to run; the store's counts do not.
//!
//! `cargo run --example kvstore`

use std::collections::HashMap;
use std::future::IntoFuture;
use std::time::Duration;

use fauxtp::application::{self, Stopped};
use fauxtp::prelude::*;
use fauxtp::registry::{self, RegistryError};
use fauxtp::supervisor::SupervisorMsg;

/// The store's name: its `name` option below says the same.
const STORE: &str = "kvstore";

/// How many keys each writer writes, and each reader reads.
const BATCH: u64 = 10;

/// How long `main` waits for any one reply.
const WAIT: Duration = Duration::from_secs(5);

/// The store's figures, as its `stats` call reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Distinct keys stored.
    pub keys: usize,
    /// `get` requests served.
    pub reads: u64,
    /// `put` requests served.
    pub writes: u64,
}

/// The store. `name = "kvstore"` registers it under that name whenever it
/// starts: by `KvStore::start`, or by a supervisor, at each (re)start.
#[genserver(name = "kvstore")]
struct KvStore {
    data: HashMap<String, u64>,
    reads: u64,
    writes: u64,
}

#[genserver]
impl KvStore {
    fn init() -> Self {
        println!("[kvstore] starting");
        KvStore {
            data: HashMap::new(),
            reads: 0,
            writes: 0,
        }
    }

    #[call]
    fn get(&mut self, key: String) -> Option<u64> {
        self.reads += 1;
        self.data.get(&key).copied()
    }

    /// A call, not a cast: the writer learns that the write has landed.
    #[call]
    fn put(&mut self, key: String, value: u64) {
        self.writes += 1;
        self.data.insert(key, value);
    }

    /// A request the store cannot handle: it crashes ("let it crash"), and
    /// its supervisor starts a fresh one.
    #[cast]
    fn corrupt(&mut self) {
        panic!("the kvstore got a corrupt request");
    }

    #[call]
    fn stats(&self) -> Stats {
        Stats {
            keys: self.data.len(),
            reads: self.reads,
            writes: self.writes,
        }
    }
}

/// The store, by name, with its message type: a lookup with the wrong type
/// would be an error, not a crash.
fn store() -> Result<Pid<KvStoreMsg>, RegistryError> {
    registry::whereis(STORE)
}

/// A client that writes keys `{label}0`, `{label}1`, ...
struct Writer {
    label: &'static str,
}

#[genserver]
impl Writer {
    fn init(label: &'static str) -> Self {
        println!("[writer {label}] starting");
        Writer { label }
    }

    /// Writes `count` keys, one call to the store each, and replies with the
    /// number written. If the store is missing or fails, the writer crashes
    /// ("let it crash"): its caller gets the reason as a `CallError`, and the
    /// supervisor starts a fresh writer.
    #[call]
    async fn write_batch(&mut self, count: u64) -> u64 {
        for i in 0..count {
            let key = format!("{}{i}", self.label);
            let store = store().expect("the kvstore is registered while its tree runs");
            store
                .put(key, i * i)
                .await
                .expect("the kvstore answers puts");
        }
        println!("[writer {}] wrote {count} keys", self.label);
        count
    }
}

/// A client that reads the keys a writer with the same label writes.
struct Reader {
    label: &'static str,
}

#[genserver]
impl Reader {
    fn init(label: &'static str) -> Self {
        println!("[reader {label}] starting");
        Reader { label }
    }

    /// Reads `count` keys and replies with how many it found (the writer may
    /// not have written them yet). Every value found is whole: the store
    /// handles one request at a time.
    #[call]
    async fn read_batch(&mut self, count: u64) -> u64 {
        let mut found = 0;
        for i in 0..count {
            let key = format!("{}{i}", self.label);
            let store = store().expect("the kvstore is registered while its tree runs");
            let value = store.get(key).await.expect("the kvstore answers gets");
            if let Some(value) = value {
                assert_eq!(value, i * i, "a read sees what was written");
                found += 1;
            }
        }
        println!(
            "[reader {}] read {count} keys, found {found} already written",
            self.label
        );
        found
    }
}

supervisor! {
    /// The store first, then its clients, each registered under its own name.
    KvApp {
        strategy: one_for_one,
        intensity: 3 per 5s,
        children: [
            store: KvStore::child(()),
            writer_a: Writer::child("a").named("kvstore-writer-a"),
            writer_b: Writer::child("b").named("kvstore-writer-b"),
            reader_a: Reader::child("a").named("kvstore-reader-a"),
            reader_b: Reader::child("b").named("kvstore-reader-b"),
        ],
    }
}

/// The process registered as `name`, which the tree has started.
fn named<M: Send + 'static>(name: &str) -> Pid<M> {
    registry::whereis(name).unwrap_or_else(|error| panic!("the tree started {name}: {error}"))
}

/// What the example checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Distinct keys in the store at the end.
    pub keys: usize,
    /// Reads the store served.
    pub reads: u64,
    /// Writes the store served.
    pub writes: u64,
    /// Writes the writers say they made (the sum of their replies).
    pub written_by_clients: u64,
    /// Reads the readers made.
    pub read_by_clients: u64,
    /// Keys in the store its supervisor started after the crash.
    pub keys_after_restart: usize,
}

/// Runs the example: prints what happens, checks it, returns the figures.
pub async fn run() -> Report {
    let app = KvApp::start(()).await.expect("the kvstore tree starts");
    let report = scenario(&app).await;
    // Stop the tree: the clients first (last started, first stopped), then
    // the store, then the supervisor. Its name goes with it.
    genserver::stop(&app, ExitReason::Shutdown, WAIT)
        .await
        .expect("the tree stops");
    assert!(
        registry::whereis_any(STORE).is_none(),
        "the store's name is released when it ends"
    );
    report
}

/// What the example does with a running tree.
pub async fn scenario(app: &Pid<SupervisorMsg>) -> Report {
    println!("=== concurrent key-value store ===");
    for child in app.which_children().await.expect("the tree answers") {
        match child.pid {
            Some(pid) => println!("  {:<9} {pid}", child.id),
            None => println!("  {:<9} not running", child.id),
        }
    }

    let writer_a: Pid<WriterMsg> = named("kvstore-writer-a");
    let writer_b: Pid<WriterMsg> = named("kvstore-writer-b");
    let reader_a: Pid<ReaderMsg> = named("kvstore-reader-a");
    let reader_b: Pid<ReaderMsg> = named("kvstore-reader-b");

    // Four calls at once; each returns when its client has done its batch.
    println!("\n-> two writers and two readers at the same time:");
    let (wrote_a, wrote_b, found_a, found_b) = tokio::join!(
        writer_a.write_batch(BATCH).timeout(WAIT).into_future(),
        writer_b.write_batch(BATCH).timeout(WAIT).into_future(),
        reader_a.read_batch(BATCH).timeout(WAIT).into_future(),
        reader_b.read_batch(BATCH).timeout(WAIT).into_future(),
    );
    let written_by_clients = wrote_a.expect("writer a finished its batch")
        + wrote_b.expect("writer b finished its batch");
    let found = found_a.expect("reader a finished its batch")
        + found_b.expect("reader b finished its batch");
    println!(
        "   the readers found {found} of {} keys (this varies)",
        2 * BATCH
    );

    let stats = store()
        .expect("the kvstore is registered while its tree runs")
        .stats()
        .await
        .expect("the kvstore answers");
    println!(
        "\n-> kvstore stats: {} keys, {} reads, {} writes",
        stats.keys, stats.reads, stats.writes
    );

    // A bad request crashes the store; its supervisor restarts it. Links
    // are told before monitors, so once the down message is here the
    // supervisor has the crash, and it handles that before the call below.
    println!("\n-> a corrupt request crashes the store:");
    let old = store().expect("the kvstore is registered while its tree runs");
    let mut me = Ctx::<()>::detached();
    let watch = me.monitor(&old);
    old.corrupt().expect("the store takes casts while alive");
    let crashed = receive!(me, {
        Down(d) if d.monitor == watch => d.reason,
        after WAIT => panic!("the store did not crash"),
    });
    println!("   {old} ended: {crashed}");
    let restarted = app
        .which_children()
        .await
        .expect("the tree answers")
        .into_iter()
        .find(|child| child.id == "store")
        .and_then(|child| child.pid)
        .expect("the supervisor restarted the store");
    assert_ne!(restarted, old.any(), "a fresh store, with a new pid");
    let after = store()
        .expect("the new store has the name")
        .stats()
        .await
        .expect("the new store answers");
    println!(
        "   restarted as {restarted}, with {} keys: a fresh state",
        after.keys
    );

    let report = Report {
        keys: stats.keys,
        reads: stats.reads,
        writes: stats.writes,
        written_by_clients,
        read_by_clients: 2 * BATCH,
        keys_after_restart: after.keys,
    };
    assert_eq!(report.keys, 2 * BATCH as usize, "every key written once");
    assert_eq!(report.writes, report.written_by_clients);
    assert_eq!(report.reads, report.read_by_clients);
    println!("done: {report:?}");
    report
}

#[tokio::main]
async fn main() -> Stopped {
    // Reports (crashes, restarts) to stderr; `RUST_LOG` filters them.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "fauxtp=info".into()),
        )
        .init();
    // The crash report says where a panic happened; Rust's own panic
    // message would say it a second time, so it is silenced.
    std::panic::set_hook(Box::new(|_| {}));
    fauxtp::process::capture_panic_locations();
    // The tree runs until the scenario is done (or ctrl-c), then stops in
    // order; the exit status says whether it stopped cleanly.
    let stopped = application::run_until(KvApp::start(()), |app| async move {
        scenario(&app).await;
    })
    .await;
    println!("{stopped}");
    stopped
}
