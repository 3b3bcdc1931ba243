//! ractor 0.16: a counter actor for the server workloads, a ring node, a
//! ping-pong player, and a supervisor that respawns a linked worker for
//! restarts. Runs on the 2-worker runtime.
//!
//! ractor's mailboxes are unbounded (tokio unbounded mpsc), so `cast` never
//! waits. Requests use `call!` (no timeout, an `RpcReplyPort` per call);
//! fire-and-forget uses `ActorRef::cast` (what `cast!` expands to).
//! `Actor::spawn` returns once the actor's `pre_start` has run; its join
//! handle completes when the actor has stopped.
//!
//! Completion of the ring and the ping-pong is signalled over a plain tokio
//! channel, the same way in every peer adapter.

use std::fmt::Display;
use std::future::Future;
use std::time::{Duration, Instant};

use ractor::{
    call, Actor, ActorId, ActorProcessingErr, ActorRef, ActorStatus, RpcReplyPort, SupervisionEvent,
};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::harness::{
    self, check, per_item, per_second, Figure, Framework, Outcome, Sizes, Workload, FAN_IN_SENDERS,
    PINGPONG_PAIRS,
};

pub struct Ractor;

impl Framework for Ractor {
    fn name(&self) -> &'static str {
        "ractor"
    }

    fn run(&self, workload: Workload, sizes: &Sizes) -> Option<Outcome> {
        // ractor has no selective receive: an actor handles its messages in
        // arrival order.
        // Nor a listing of every live actor (its registry lists named
        // ones only), nor an observer.
        if matches!(
            workload,
            Workload::SelectiveReceive
                | Workload::SelectiveReceive10
                | Workload::SelectiveReceive100k
                // Measured for fauxtp and raw tokio only.
                | Workload::CallLatencyCrowded
                | Workload::CastThroughputCrowded
                | Workload::ProcessList
                | Workload::ObserverRefresh
                | Workload::CallObserved
                | Workload::StatemCall
                | Workload::RegistryOnePartition
                | Workload::RegistryPartitioned
        ) {
            return None;
        }
        let runtime = harness::multi_thread();
        let sizes = sizes.clone();
        Some(harness::on(&runtime, async move {
            match workload {
                Workload::CallLatency => call_latency(&sizes).await,
                Workload::CastThroughput => cast_throughput(&sizes).await,
                Workload::FanIn => fan_in(&sizes).await,
                Workload::Spawn => spawn(&sizes).await,
                Workload::Ring => ring(&sizes).await,
                Workload::SelectiveReceive
                | Workload::SelectiveReceive10
                | Workload::SelectiveReceive100k
                | Workload::CallLatencyCrowded
                | Workload::CastThroughputCrowded
                | Workload::ProcessList
                | Workload::ObserverRefresh
                | Workload::CallObserved
                | Workload::StatemCall
                | Workload::RegistryOnePartition
                | Workload::RegistryPartitioned => unreachable!("answered above"),
                Workload::Restart => restart(&sizes).await,
                Workload::Memory | Workload::MillionStart | Workload::MillionMemory => {
                    let (n, figure) = workload.idle_servers(&sizes).expect("idle servers");
                    idle_servers(n, figure).await
                }
                Workload::PingPong => pingpong(&sizes).await,
            }
        }))
    }
}

/// How long to wait for a completion before calling the run broken.
const LIMIT: Duration = Duration::from_secs(60);

fn failed(what: &str, error: impl Display) -> String {
    format!("{what}: {error}")
}

/// Awaits `work`, turning its error or a wait past `LIMIT` into a message.
async fn within<T, E: Display>(
    what: &str,
    work: impl Future<Output = Result<T, E>>,
) -> Result<T, String> {
    match tokio::time::timeout(LIMIT, work).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(failed(what, error)),
        Err(_) => Err(format!("{what}: nothing within {LIMIT:?}")),
    }
}

// ---------------------------------------------------------------- counter

enum CounterMsg {
    /// Add to the count and reply with the new count.
    Add(u64, RpcReplyPort<u64>),
    /// Add one, no reply.
    Bump,
    Get(RpcReplyPort<u64>),
}

struct Counter;

impl Actor for Counter {
    type Msg = CounterMsg;
    type State = u64;
    type Arguments = ();

    async fn pre_start(
        &self,
        _myself: ActorRef<CounterMsg>,
        _: (),
    ) -> Result<u64, ActorProcessingErr> {
        Ok(0)
    }

    async fn handle(
        &self,
        _myself: ActorRef<CounterMsg>,
        message: CounterMsg,
        count: &mut u64,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            CounterMsg::Add(by, reply) => {
                *count += by;
                let _ = reply.send(*count);
            }
            CounterMsg::Bump => *count += 1,
            CounterMsg::Get(reply) => {
                let _ = reply.send(*count);
            }
        }
        Ok(())
    }
}

async fn start_counter() -> Result<(ActorRef<CounterMsg>, JoinHandle<()>), String> {
    Counter::spawn(None, Counter, ())
        .await
        .map_err(|e| failed("spawn", e))
}

async fn get(counter: &ActorRef<CounterMsg>) -> Result<u64, String> {
    within("get", async { call!(counter, CounterMsg::Get) }).await
}

/// Stops an actor and waits until it has stopped.
async fn stop<M>(actor: ActorRef<M>, handle: JoinHandle<()>) -> Result<(), String> {
    actor.stop(None);
    within("stop", handle).await
}

async fn call_latency(sizes: &Sizes) -> Outcome {
    let (counter, handle) = start_counter().await?;
    let started = Instant::now();
    let mut last = 0;
    for _ in 0..sizes.calls {
        last = call!(counter, CounterMsg::Add, 1).map_err(|e| failed("call", e))?;
    }
    let elapsed = started.elapsed();
    stop(counter, handle).await?;
    check("final count", last, sizes.calls)?;
    Ok(per_item(elapsed, sizes.calls))
}

async fn cast_throughput(sizes: &Sizes) -> Outcome {
    let (counter, handle) = start_counter().await?;
    let started = Instant::now();
    for _ in 0..sizes.casts {
        counter
            .cast(CounterMsg::Bump)
            .map_err(|e| failed("cast", e))?;
    }
    let count = get(&counter).await?;
    let elapsed = started.elapsed();
    stop(counter, handle).await?;
    check("count", count, sizes.casts)?;
    Ok(per_second(elapsed, sizes.casts))
}

async fn fan_in(sizes: &Sizes) -> Outcome {
    let (counter, handle) = start_counter().await?;
    let per_sender = sizes.fan_in_per_sender;
    let started = Instant::now();
    let senders: Vec<_> = (0..FAN_IN_SENDERS)
        .map(|_| {
            let counter = counter.clone();
            tokio::spawn(async move {
                for _ in 0..per_sender {
                    counter
                        .cast(CounterMsg::Bump)
                        .map_err(|e| failed("cast", e))?;
                }
                Ok::<(), String>(())
            })
        })
        .collect();
    for sender in senders {
        sender.await.map_err(|e| failed("sender", e))??;
    }
    let count = get(&counter).await?;
    let elapsed = started.elapsed();
    stop(counter, handle).await?;
    let total = per_sender * FAN_IN_SENDERS;
    check("count", count, total)?;
    Ok(per_second(elapsed, total))
}

async fn spawn(sizes: &Sizes) -> Outcome {
    let started = Instant::now();
    let mut actors = Vec::with_capacity(sizes.spawn as usize);
    for _ in 0..sizes.spawn {
        // Returns once `pre_start` has run.
        actors.push(start_counter().await?);
    }
    let spawned = actors.len() as u64;
    for (actor, _) in &actors {
        actor.stop(None);
    }
    let mut stopped = 0;
    for (actor, handle) in actors {
        handle.await.map_err(|e| failed("stop", e))?;
        if actor.get_status() == ActorStatus::Stopped {
            stopped += 1;
        }
    }
    let elapsed = started.elapsed();
    check("spawned", spawned, sizes.spawn)?;
    check("stopped", stopped, sizes.spawn)?;
    Ok(per_item(elapsed, sizes.spawn))
}

/// `n` idle servers, started one after the other; then one call to each of
/// `SPREAD_CALLS` of them.
async fn idle_servers(n: u64, figure: Figure) -> Outcome {
    let before = harness::resident_bytes();
    let started = Instant::now();
    let mut actors = Vec::with_capacity(n as usize);
    for _ in 0..n {
        actors.push(start_counter().await?);
    }
    let took = started.elapsed();
    let after = harness::resident_bytes();
    let alive = actors
        .iter()
        .filter(|(actor, _)| ractor::ACTIVE_STATES.contains(&actor.get_status()))
        .count() as u64;
    for i in harness::spread(n) {
        let count = call!(actors[i].0, CounterMsg::Add, 1).map_err(|e| failed("call", e))?;
        check("count", count, 1)?;
    }
    for (actor, _) in &actors {
        actor.stop(None);
    }
    for (_, handle) in actors {
        handle.await.map_err(|e| failed("stop", e))?;
    }
    check("alive", alive, n)?;
    harness::idle_figure(figure, took, after.saturating_sub(before), n)
}

// ---------------------------------------------------------------- ring

enum RingMsg {
    Next(ActorRef<RingMsg>),
    /// The token, with the number of hops still to go (this one included).
    Token(u64),
    Hops(RpcReplyPort<u64>),
}

struct RingNode;

struct RingState {
    next: Option<ActorRef<RingMsg>>,
    hops: u64,
    done: mpsc::UnboundedSender<()>,
}

impl Actor for RingNode {
    type Msg = RingMsg;
    type State = RingState;
    type Arguments = mpsc::UnboundedSender<()>;

    async fn pre_start(
        &self,
        _myself: ActorRef<RingMsg>,
        done: mpsc::UnboundedSender<()>,
    ) -> Result<RingState, ActorProcessingErr> {
        Ok(RingState {
            next: None,
            hops: 0,
            done,
        })
    }

    async fn handle(
        &self,
        _myself: ActorRef<RingMsg>,
        message: RingMsg,
        state: &mut RingState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            RingMsg::Next(next) => state.next = Some(next),
            RingMsg::Token(left) => {
                state.hops += 1;
                if left <= 1 {
                    let _ = state.done.send(());
                } else {
                    let next = state.next.as_ref().ok_or("a ring node without a next")?;
                    next.cast(RingMsg::Token(left - 1))
                        .map_err(|e| e.to_string())?;
                }
            }
            RingMsg::Hops(reply) => {
                let _ = reply.send(state.hops);
            }
        }
        Ok(())
    }
}

async fn ring(sizes: &Sizes) -> Outcome {
    let (done, mut finished) = mpsc::unbounded_channel();
    let mut nodes = Vec::with_capacity(sizes.ring_nodes as usize);
    for _ in 0..sizes.ring_nodes {
        nodes.push(
            RingNode::spawn(None, RingNode, done.clone())
                .await
                .map_err(|e| failed("spawn", e))?,
        );
    }
    for (i, (node, _)) in nodes.iter().enumerate() {
        let next = nodes[(i + 1) % nodes.len()].0.clone();
        node.cast(RingMsg::Next(next))
            .map_err(|e| failed("setup", e))?;
    }
    // Set up: every node has its next and has counted nothing.
    for (node, _) in &nodes {
        let hops = within("setup", async { call!(node, RingMsg::Hops) }).await?;
        check("hops before the token", hops, 0)?;
    }
    let hops = sizes.ring_nodes * sizes.ring_rounds;
    let started = Instant::now();
    nodes[0]
        .0
        .cast(RingMsg::Token(hops))
        .map_err(|e| failed("token", e))?;
    within("token", async {
        finished.recv().await.ok_or("the ring closed")
    })
    .await?;
    let elapsed = started.elapsed();
    let mut total = 0;
    for (node, _) in &nodes {
        total += within("hops", async { call!(node, RingMsg::Hops) }).await?;
    }
    for (node, handle) in nodes {
        stop(node, handle).await?;
    }
    check("hops", total, hops)?;
    Ok(per_item(elapsed, hops))
}

// ---------------------------------------------------------------- ping-pong

enum PlayerMsg {
    Peer(ActorRef<PlayerMsg>),
    /// Play this many round trips with the peer, then report them.
    Serve(u64, oneshot::Sender<u64>),
    Ping,
    Pong,
    /// How many pings this player has answered.
    Pings(RpcReplyPort<u64>),
}

struct Player;

#[derive(Default)]
struct PlayerState {
    peer: Option<ActorRef<PlayerMsg>>,
    target: u64,
    round_trips: u64,
    pings: u64,
    done: Option<oneshot::Sender<u64>>,
}

impl PlayerState {
    fn send(&self, message: PlayerMsg) -> Result<(), ActorProcessingErr> {
        let peer = self.peer.as_ref().ok_or("a player without a peer")?;
        peer.cast(message).map_err(|e| e.to_string())?;
        Ok(())
    }
}

impl Actor for Player {
    type Msg = PlayerMsg;
    type State = PlayerState;
    type Arguments = ();

    async fn pre_start(
        &self,
        _myself: ActorRef<PlayerMsg>,
        _: (),
    ) -> Result<PlayerState, ActorProcessingErr> {
        Ok(PlayerState::default())
    }

    async fn handle(
        &self,
        _myself: ActorRef<PlayerMsg>,
        message: PlayerMsg,
        state: &mut PlayerState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            PlayerMsg::Peer(peer) => state.peer = Some(peer),
            PlayerMsg::Serve(target, done) => {
                state.target = target;
                state.round_trips = 0;
                if target == 0 {
                    let _ = done.send(0);
                } else {
                    state.done = Some(done);
                    state.send(PlayerMsg::Ping)?;
                }
            }
            PlayerMsg::Ping => {
                state.pings += 1;
                state.send(PlayerMsg::Pong)?;
            }
            PlayerMsg::Pong => {
                state.round_trips += 1;
                if state.round_trips == state.target {
                    if let Some(done) = state.done.take() {
                        let _ = done.send(state.round_trips);
                    }
                } else {
                    state.send(PlayerMsg::Ping)?;
                }
            }
            PlayerMsg::Pings(reply) => {
                let _ = reply.send(state.pings);
            }
        }
        Ok(())
    }
}

async fn pingpong(sizes: &Sizes) -> Outcome {
    let round_trips = sizes.pingpong_round_trips;
    let mut pairs = Vec::new();
    for _ in 0..PINGPONG_PAIRS {
        let (server, server_handle) = Player::spawn(None, Player, ())
            .await
            .map_err(|e| failed("spawn", e))?;
        let (ponger, ponger_handle) = Player::spawn(None, Player, ())
            .await
            .map_err(|e| failed("spawn", e))?;
        server
            .cast(PlayerMsg::Peer(ponger.clone()))
            .map_err(|e| failed("setup", e))?;
        ponger
            .cast(PlayerMsg::Peer(server.clone()))
            .map_err(|e| failed("setup", e))?;
        pairs.push(((server, server_handle), (ponger, ponger_handle)));
    }
    // Set up: every player has its peer.
    for ((server, _), (ponger, _)) in &pairs {
        for player in [server, ponger] {
            let pings = within("setup", async { call!(player, PlayerMsg::Pings) }).await?;
            check("pings before the start", pings, 0)?;
        }
    }
    let started = Instant::now();
    let mut finishes = Vec::new();
    for ((server, _), _) in &pairs {
        let (done, finished) = oneshot::channel();
        server
            .cast(PlayerMsg::Serve(round_trips, done))
            .map_err(|e| failed("serve", e))?;
        finishes.push(finished);
    }
    let mut counts = Vec::new();
    for finished in finishes {
        counts.push(within("pair", finished).await?);
    }
    let elapsed = started.elapsed();
    for count in &counts {
        check("round trips of a pair", *count, round_trips)?;
    }
    for (server, (ponger, ponger_handle)) in pairs {
        let pings = within("pings", async { call!(ponger, PlayerMsg::Pings) }).await?;
        check("pings answered by a pair", pings, round_trips)?;
        stop(server.0, server.1).await?;
        stop(ponger, ponger_handle).await?;
    }
    let total: u64 = counts.iter().sum();
    Ok(per_second(elapsed, total))
}

// ---------------------------------------------------------------- restart

enum WorkerMsg {
    /// Fail: the handler returns an error, which stops the worker and sends
    /// `SupervisionEvent::ActorFailed` to its supervisor. (A `panic!` takes the
    /// same path through ractor's `catch_unwind`, plus the process's panic
    /// hook; fauxtp's worker fails by returning an error, so this one does too.)
    Fail,
    /// Which incarnation this is (0 for the first).
    Generation(RpcReplyPort<u64>),
}

struct Worker;

impl Actor for Worker {
    type Msg = WorkerMsg;
    type State = u64;
    type Arguments = u64;

    async fn pre_start(
        &self,
        _myself: ActorRef<WorkerMsg>,
        generation: u64,
    ) -> Result<u64, ActorProcessingErr> {
        Ok(generation)
    }

    async fn handle(
        &self,
        _myself: ActorRef<WorkerMsg>,
        message: WorkerMsg,
        generation: &mut u64,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            WorkerMsg::Fail => Err("asked to fail".into()),
            WorkerMsg::Generation(reply) => {
                let _ = reply.send(*generation);
                Ok(())
            }
        }
    }
}

enum SupMsg {
    /// The current worker.
    Worker(RpcReplyPort<ActorRef<WorkerMsg>>),
    /// The worker that replaced the one with this id, once there is one.
    Replacement(ActorId, RpcReplyPort<ActorRef<WorkerMsg>>),
}

/// A one-for-one supervisor of one worker, written the way ractor's docs
/// describe supervision: the worker is spawned linked to it, and
/// `handle_supervisor_evt` respawns it when it fails or terminates.
struct RestartSupervisor;

struct SupState {
    worker: ActorRef<WorkerMsg>,
    generation: u64,
    /// A client waiting for the current worker's replacement.
    waiting: Option<RpcReplyPort<ActorRef<WorkerMsg>>>,
}

impl Actor for RestartSupervisor {
    type Msg = SupMsg;
    type State = SupState;
    type Arguments = ();

    async fn pre_start(
        &self,
        myself: ActorRef<SupMsg>,
        _: (),
    ) -> Result<SupState, ActorProcessingErr> {
        let (worker, _) = Worker::spawn_linked(None, Worker, 0, myself.get_cell()).await?;
        Ok(SupState {
            worker,
            generation: 0,
            waiting: None,
        })
    }

    async fn handle(
        &self,
        _myself: ActorRef<SupMsg>,
        message: SupMsg,
        state: &mut SupState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            SupMsg::Worker(reply) => {
                let _ = reply.send(state.worker.clone());
            }
            SupMsg::Replacement(dead, reply) => {
                if state.worker.get_id() == dead {
                    state.waiting = Some(reply);
                } else {
                    let _ = reply.send(state.worker.clone());
                }
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<SupMsg>,
        event: SupervisionEvent,
        state: &mut SupState,
    ) -> Result<(), ActorProcessingErr> {
        match event {
            SupervisionEvent::ActorFailed(who, _)
            | SupervisionEvent::ActorTerminated(who, _, _)
                if who.get_id() == state.worker.get_id() =>
            {
                state.generation += 1;
                let (worker, _) =
                    Worker::spawn_linked(None, Worker, state.generation, myself.get_cell()).await?;
                state.worker = worker;
                if let Some(reply) = state.waiting.take() {
                    let _ = reply.send(state.worker.clone());
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// From telling the worker to fail to its replacement answering a call. The
/// client learns the replacement by asking the supervisor for the successor of
/// the worker it failed (the reply comes once the supervisor has respawned it),
/// where fauxtp's client looks the worker's registered name up.
async fn restart(sizes: &Sizes) -> Outcome {
    let (sup, sup_handle) = RestartSupervisor::spawn(None, RestartSupervisor, ())
        .await
        .map_err(|e| failed("spawn", e))?;
    let mut worker = within("worker", async { call!(sup, SupMsg::Worker) }).await?;
    let mut total = Duration::ZERO;
    for n in 1..=sizes.restarts {
        let started = Instant::now();
        worker
            .cast(WorkerMsg::Fail)
            .map_err(|e| failed("fail", e))?;
        let replacement = within("replacement", async {
            call!(sup, SupMsg::Replacement, worker.get_id())
        })
        .await?;
        let generation =
            within("call", async { call!(replacement, WorkerMsg::Generation) }).await?;
        total += started.elapsed();
        check("generation", generation, n)?;
        worker = replacement;
    }
    // Stopping the supervisor stops its linked worker.
    stop(sup, sup_handle).await?;
    Ok(per_item(total, sizes.restarts) / 1_000.0)
}
