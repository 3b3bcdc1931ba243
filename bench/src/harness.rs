//! What every framework module implements, and the sizes of the workloads.

use std::time::Duration;

/// The workloads, in the order they are reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// One client, one counter server, sequential request/reply.
    CallLatency,
    /// One sender: N casts, then one call to check the count.
    CastThroughput,
    /// 8 concurrent senders to one server.
    FanIn,
    /// Spawn N servers, wait until all started, stop all, wait until all stopped.
    Spawn,
    /// 100 processes in a ring pass one token round and round.
    Ring,
    /// 1,000 unmatched messages in the mailbox, then receive the one that matches.
    SelectiveReceive,
    /// From a worker's crash to its supervisor having it answer calls again.
    Restart,
    /// Resident memory per idle server, with many idle servers alive.
    Memory,
    /// One ping-pong pair per core, bouncing a message.
    PingPong,
    /// With `memory_processes` idle servers alive, list every live process
    /// (fauxtp's `process::list`; the others have no such listing).
    ProcessList,
    /// With `memory_processes` idle servers alive, one refresh of an open
    /// observer page: its overview and a page of its process table,
    /// sorted by mailbox length (fauxtp's observer; the others have none).
    ObserverRefresh,
    /// The call loop of `CallLatency`, while an observer page refreshes
    /// once a second beside it (fauxtp's observer).
    CallObserved,
    /// The call loop of `CallLatency`, to a `#[statem]` state machine that
    /// replies and keeps its state (fauxtp's gen_statem).
    StatemCall,
    /// 8 tasks at once, each registering 20,000 keys of a keyed registry
    /// with one partition (fauxtp's `Registry`).
    RegistryOnePartition,
    /// The same with 8 partitions.
    RegistryPartitioned,
    /// Start `million` idle servers one after the other, then one call to
    /// each of 1,000 spread over them: time per start.
    MillionStart,
    /// The same: resident bytes per server.
    MillionMemory,
    /// `CallLatency` with `memory_processes` idle servers alive beside the
    /// pair.
    CallLatencyCrowded,
    /// `CastThroughput` with `memory_processes` idle servers alive.
    CastThroughputCrowded,
    /// `SelectiveReceive` with 10 unmatched messages in the mailbox.
    SelectiveReceive10,
    /// `SelectiveReceive` with 100,000 unmatched messages in the mailbox.
    SelectiveReceive100k,
}

impl Workload {
    pub const ALL: [Workload; 21] = [
        Workload::CallLatency,
        Workload::CastThroughput,
        Workload::FanIn,
        Workload::Spawn,
        Workload::Ring,
        Workload::SelectiveReceive,
        Workload::Restart,
        Workload::Memory,
        Workload::PingPong,
        Workload::ProcessList,
        Workload::ObserverRefresh,
        Workload::CallObserved,
        Workload::StatemCall,
        Workload::RegistryOnePartition,
        Workload::RegistryPartitioned,
        Workload::MillionStart,
        Workload::MillionMemory,
        Workload::CallLatencyCrowded,
        Workload::CastThroughputCrowded,
        Workload::SelectiveReceive10,
        Workload::SelectiveReceive100k,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Workload::CallLatency => "call_latency",
            Workload::CastThroughput => "cast_throughput",
            Workload::FanIn => "fan_in",
            Workload::Spawn => "spawn",
            Workload::Ring => "ring",
            Workload::SelectiveReceive => "selective_receive",
            Workload::Restart => "restart",
            Workload::Memory => "memory",
            Workload::PingPong => "pingpong",
            Workload::ProcessList => "process_list",
            Workload::ObserverRefresh => "observer_refresh",
            Workload::CallObserved => "call_observed",
            Workload::StatemCall => "statem_call",
            Workload::RegistryOnePartition => "registry_1_partition",
            Workload::RegistryPartitioned => "registry_8_partitions",
            Workload::MillionStart => "million_start",
            Workload::MillionMemory => "million_memory",
            Workload::CallLatencyCrowded => "call_crowded",
            Workload::CastThroughputCrowded => "cast_crowded",
            Workload::SelectiveReceive10 => "selective_10",
            Workload::SelectiveReceive100k => "selective_100k",
        }
    }

    pub fn unit(self) -> &'static str {
        match self {
            Workload::CallLatency
            | Workload::CallObserved
            | Workload::StatemCall
            | Workload::CallLatencyCrowded => "ns/call",
            Workload::CastThroughput | Workload::FanIn | Workload::CastThroughputCrowded => {
                "msgs/s"
            }
            Workload::SelectiveReceive10 | Workload::SelectiveReceive100k => "ns/receive",
            Workload::Spawn => "ns/process",
            Workload::Ring => "ns/hop",
            Workload::SelectiveReceive => "ns/receive",
            Workload::Restart => "us/restart",
            Workload::Memory | Workload::MillionMemory => "bytes/process",
            Workload::MillionStart => "ns/start",
            Workload::PingPong => "round trips/s",
            Workload::ProcessList => "ms/list of 100k",
            Workload::ObserverRefresh => "ms/refresh of 100k",
            Workload::RegistryOnePartition | Workload::RegistryPartitioned => "ns/register",
        }
    }

    pub fn parse(name: &str) -> Option<Workload> {
        Workload::ALL.into_iter().find(|w| w.name() == name)
    }

    /// For the selective receive workloads: unmatched messages kept in the
    /// mailbox, and receives of a matching one past them (the same number
    /// of skipped messages in all: linear time keeps the time per skipped
    /// message level).
    pub fn selective(self, sizes: &Sizes) -> Option<(u64, u64)> {
        let skipped = sizes.selective_backlog * sizes.selective_rounds;
        let at = |backlog: u64| {
            Some((
                backlog,
                (skipped / backlog).min(100 * sizes.selective_rounds),
            ))
        };
        match self {
            Workload::SelectiveReceive => Some((sizes.selective_backlog, sizes.selective_rounds)),
            Workload::SelectiveReceive10 => at(10),
            Workload::SelectiveReceive100k => at(100_000),
            _ => None,
        }
    }

    /// Whether it runs in a child process of its own, for a resident size
    /// that only it made.
    pub fn in_child(self) -> bool {
        matches!(
            self,
            Workload::Memory | Workload::MillionStart | Workload::MillionMemory
        )
    }

    /// For the workloads that start many idle servers: how many, and what
    /// they report.
    pub fn idle_servers(self, sizes: &Sizes) -> Option<(u64, Figure)> {
        match self {
            Workload::Memory => Some((sizes.memory_processes, Figure::BytesPerServer)),
            Workload::MillionStart => Some((sizes.million, Figure::NsPerStart)),
            Workload::MillionMemory => Some((sizes.million, Figure::BytesPerServer)),
            _ => None,
        }
    }
}

/// What a workload of idle servers reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Figure {
    /// Nanoseconds per start, from the first start to the last server
    /// ready.
    NsPerStart,
    /// Resident bytes per server.
    BytesPerServer,
}

/// How many of the idle servers get one call each, once all are started.
pub const SPREAD_CALLS: u64 = 1_000;

/// The indexes of the servers, out of `n`, that get a call: spread evenly.
pub fn spread(n: u64) -> impl Iterator<Item = usize> {
    let calls = SPREAD_CALLS.min(n);
    (0..calls).map(move |i| (i * n / calls) as usize)
}

/// The figure of an idle-servers workload: `took` to start `n` servers,
/// which added `bytes` of resident memory.
pub fn idle_figure(figure: Figure, took: Duration, bytes: u64, n: u64) -> Outcome {
    Ok(match figure {
        Figure::NsPerStart => per_item(took, n),
        Figure::BytesPerServer => bytes as f64 / n as f64,
    })
}

/// How much work each workload does.
#[derive(Clone, Debug)]
pub struct Sizes {
    pub calls: u64,
    pub casts: u64,
    /// Messages per sender; there are `FAN_IN_SENDERS` senders.
    pub fan_in_per_sender: u64,
    pub spawn: u64,
    pub ring_nodes: u64,
    pub ring_rounds: u64,
    /// Unmatched messages kept in the mailbox.
    pub selective_backlog: u64,
    /// Receives of a matching message past the backlog.
    pub selective_rounds: u64,
    pub restarts: u64,
    pub memory_processes: u64,
    /// Round trips per pair; there is one pair per worker thread (2).
    pub pingpong_round_trips: u64,
    /// Calls between nodes, for each pair of `dist_call` and each round:
    /// sequential calls from one caller for the latency...
    pub dist_calls: u64,
    /// ...and calls spread over 8 callers for the throughput.
    pub dist_concurrent_calls: u64,
    /// Idle servers of the million workloads.
    pub million: u64,
    /// Casts per stream of `dist_cast` with the small payload (a quarter
    /// with 1 KiB, a hundredth with 64 KiB).
    pub dist_casts: u64,
}

pub const FAN_IN_SENDERS: u64 = 8;
pub const PINGPONG_PAIRS: u64 = 2;

impl Sizes {
    pub fn full() -> Sizes {
        Sizes {
            calls: 2_000_000,
            casts: 2_000_000,
            fan_in_per_sender: 250_000,
            spawn: 50_000,
            ring_nodes: 100,
            ring_rounds: 10_000,
            selective_backlog: 1_000,
            selective_rounds: 5_000,
            restarts: 500,
            memory_processes: 100_000,
            pingpong_round_trips: 200_000,
            dist_calls: 15_000,
            dist_concurrent_calls: 80_000,
            million: 1_000_000,
            dist_casts: 500_000,
        }
    }

    pub fn quick() -> Sizes {
        Sizes {
            calls: 20_000,
            casts: 200_000,
            fan_in_per_sender: 25_000,
            spawn: 5_000,
            ring_nodes: 100,
            ring_rounds: 100,
            selective_backlog: 1_000,
            selective_rounds: 500,
            restarts: 100,
            memory_processes: 100_000,
            pingpong_round_trips: 20_000,
            dist_calls: 2_000,
            dist_concurrent_calls: 8_000,
            million: 200_000,
            dist_casts: 50_000,
        }
    }
}

/// The figure a framework reached, in the workload's unit, or why its
/// result was wrong (a broken adapter cannot report a speed).
pub type Outcome = Result<f64, String>;

/// One framework (with its runtime) under test.
pub trait Framework {
    /// The column name.
    fn name(&self) -> &'static str;
    /// Runs one workload; `None` if the framework has no such concept.
    fn run(&self, workload: Workload, sizes: &Sizes) -> Option<Outcome>;
}

/// A 2-worker multi-thread runtime, as every multi-thread column uses.
pub fn multi_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// A current-thread runtime, for the columns compared with actix.
pub fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// A current-thread runtime if `current_thread`, else a 2-worker one: the
/// two kinds of column the tokio and fauxtp adapters each report.
pub fn runtime(one_thread: bool) -> tokio::runtime::Runtime {
    if one_thread {
        current_thread()
    } else {
        multi_thread()
    }
}

/// Runs `workload` as a task on `runtime`, so that the client side runs on
/// the runtime's workers like everything else (not on the thread that
/// called `block_on`, which would make every reply cross threads).
pub fn on<F>(runtime: &tokio::runtime::Runtime, workload: F) -> Outcome
where
    F: std::future::Future<Output = Outcome> + Send + 'static,
{
    runtime.block_on(async move {
        tokio::spawn(workload)
            .await
            .unwrap_or_else(|e| Err(format!("the workload panicked: {e}")))
    })
}

/// Nanoseconds per item.
pub fn per_item(elapsed: Duration, items: u64) -> f64 {
    elapsed.as_nanos() as f64 / items as f64
}

/// Items per second.
pub fn per_second(elapsed: Duration, items: u64) -> f64 {
    items as f64 / elapsed.as_secs_f64()
}

/// Checks that `got` is `expected`, or says what went wrong.
pub fn check(what: &str, got: u64, expected: u64) -> Result<(), String> {
    if got == expected {
        Ok(())
    } else {
        Err(format!("{what}: expected {expected}, got {got}"))
    }
}

/// Resident memory of this process, in bytes (Linux).
pub fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}
