//! kameo 0.22: a counter actor for the server workloads, a ring node and a
//! ping-pong player. Runs on the 2-worker runtime.
//!
//! Mailboxes: kameo's default (`Spawn::spawn`) is a bounded mailbox of 64
//! with backpressure on `tell`; every actor here is spawned with
//! `spawn_with_mailbox(.., mailbox::unbounded())` instead, so that casts never
//! wait, as with fauxtp and ractor. Requests are `ask(..).await`;
//! fire-and-forget is `tell(..).try_send()`, which with an unbounded mailbox
//! is a plain non-blocking send (like ractor's `cast` and actix's `do_send`;
//! awaiting the `tell` would also never wait, but boxes a future per message).
//! `spawn_with_mailbox` returns at once; `wait_for_startup` waits until
//! `on_start` has run, `stop_gracefully` + `wait_for_shutdown` stop an actor
//! and wait until it has stopped.
//!
//! Completion of the ring and the ping-pong is signalled over a plain tokio
//! channel, the same way in every peer adapter.

use std::fmt::Display;
use std::future::IntoFuture;
use std::time::{Duration, Instant};

use kameo::mailbox;
use kameo::prelude::*;
use tokio::sync::{mpsc, oneshot};

use crate::harness::{
    self, check, per_item, per_second, Figure, Framework, Outcome, Sizes, Workload, FAN_IN_SENDERS,
    PINGPONG_PAIRS,
};

pub struct Kameo;

impl Framework for Kameo {
    fn name(&self) -> &'static str {
        "kameo"
    }

    fn run(&self, workload: Workload, sizes: &Sizes) -> Option<Outcome> {
        match workload {
            // kameo has no selective receive: an actor handles its messages
            // in arrival order.
            Workload::SelectiveReceive
            | Workload::SelectiveReceive10
            | Workload::SelectiveReceive100k => return None,
            // Measured for fauxtp and raw tokio only.
            Workload::CallLatencyCrowded | Workload::CastThroughputCrowded => return None,
            // Not measured here. (kameo 0.22 does have supervision, with
            // `Spawn::supervise`, restart policies and restart limits, so a
            // comparable adapter could be written; it is left out for now.)
            Workload::Restart => return None,
            // No listing of every live actor, and no observer.
            Workload::ProcessList
            | Workload::ObserverRefresh
            | Workload::CallObserved
            | Workload::StatemCall
            | Workload::RegistryOnePartition
            | Workload::RegistryPartitioned => return None,
            _ => {}
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
                Workload::Memory | Workload::MillionStart | Workload::MillionMemory => {
                    let (n, figure) = workload.idle_servers(&sizes).expect("idle servers");
                    idle_servers(n, figure).await
                }
                Workload::PingPong => pingpong(&sizes).await,
                Workload::SelectiveReceive
                | Workload::Restart
                | Workload::ProcessList
                | Workload::ObserverRefresh
                | Workload::CallObserved
                | Workload::StatemCall
                | Workload::RegistryOnePartition
                | Workload::RegistryPartitioned
                | Workload::SelectiveReceive10
                | Workload::SelectiveReceive100k
                | Workload::CallLatencyCrowded
                | Workload::CastThroughputCrowded => unreachable!("answered above"),
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
    work: impl IntoFuture<Output = Result<T, E>>,
) -> Result<T, String> {
    match tokio::time::timeout(LIMIT, work).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(failed(what, error)),
        Err(_) => Err(format!("{what}: nothing within {LIMIT:?}")),
    }
}

/// Spawns an actor with an unbounded mailbox and waits until it has started.
async fn start<A: Actor>(args: A::Args) -> Result<ActorRef<A>, String>
where
    A::Error: Clone + Display,
{
    let actor = A::spawn_with_mailbox(args, mailbox::unbounded());
    actor
        .wait_for_startup_result()
        .await
        .map_err(|e| failed("start", e))?;
    Ok(actor)
}

/// Stops an actor and waits until it has stopped.
async fn stop<A: Actor>(actor: &ActorRef<A>) -> Result<(), String> {
    actor
        .stop_gracefully()
        .await
        .map_err(|e| failed("stop", e))?;
    within("stop", async {
        actor.wait_for_shutdown().await;
        Ok::<(), String>(())
    })
    .await
}

// ---------------------------------------------------------------- counter

#[derive(Actor)]
struct Counter {
    count: u64,
}

/// Add to the count and reply with the new count.
struct Add(u64);
/// Add one, no reply (sent with `tell`).
struct Bump;
struct Get;

impl Message<Add> for Counter {
    type Reply = u64;

    async fn handle(&mut self, Add(by): Add, _ctx: &mut Context<Self, Self::Reply>) -> u64 {
        self.count += by;
        self.count
    }
}

impl Message<Bump> for Counter {
    type Reply = ();

    async fn handle(&mut self, _: Bump, _ctx: &mut Context<Self, Self::Reply>) {
        self.count += 1;
    }
}

impl Message<Get> for Counter {
    type Reply = u64;

    async fn handle(&mut self, _: Get, _ctx: &mut Context<Self, Self::Reply>) -> u64 {
        self.count
    }
}

async fn start_counter() -> Result<ActorRef<Counter>, String> {
    start::<Counter>(Counter { count: 0 }).await
}

async fn call_latency(sizes: &Sizes) -> Outcome {
    let counter = start_counter().await?;
    let started = Instant::now();
    let mut last = 0;
    for _ in 0..sizes.calls {
        last = counter.ask(Add(1)).await.map_err(|e| failed("call", e))?;
    }
    let elapsed = started.elapsed();
    stop(&counter).await?;
    check("final count", last, sizes.calls)?;
    Ok(per_item(elapsed, sizes.calls))
}

async fn cast_throughput(sizes: &Sizes) -> Outcome {
    let counter = start_counter().await?;
    let started = Instant::now();
    for _ in 0..sizes.casts {
        counter
            .tell(Bump)
            .try_send()
            .map_err(|e| failed("cast", e))?;
    }
    let count = within("get", counter.ask(Get)).await?;
    let elapsed = started.elapsed();
    stop(&counter).await?;
    check("count", count, sizes.casts)?;
    Ok(per_second(elapsed, sizes.casts))
}

async fn fan_in(sizes: &Sizes) -> Outcome {
    let counter = start_counter().await?;
    let per_sender = sizes.fan_in_per_sender;
    let started = Instant::now();
    let senders: Vec<_> = (0..FAN_IN_SENDERS)
        .map(|_| {
            let counter = counter.clone();
            tokio::spawn(async move {
                for _ in 0..per_sender {
                    counter
                        .tell(Bump)
                        .try_send()
                        .map_err(|e| failed("cast", e))?;
                }
                Ok::<(), String>(())
            })
        })
        .collect();
    for sender in senders {
        sender.await.map_err(|e| failed("sender", e))??;
    }
    let count = within("get", counter.ask(Get)).await?;
    let elapsed = started.elapsed();
    stop(&counter).await?;
    let total = per_sender * FAN_IN_SENDERS;
    check("count", count, total)?;
    Ok(per_second(elapsed, total))
}

async fn spawn(sizes: &Sizes) -> Outcome {
    let started = Instant::now();
    let mut actors = Vec::with_capacity(sizes.spawn as usize);
    for _ in 0..sizes.spawn {
        // Spawn, then wait until `on_start` has run, one actor at a time.
        actors.push(start_counter().await?);
    }
    let spawned = actors.len() as u64;
    for actor in &actors {
        actor
            .stop_gracefully()
            .await
            .map_err(|e| failed("stop", e))?;
    }
    let mut stopped = 0;
    for actor in &actors {
        actor.wait_for_shutdown().await;
        if !actor.is_alive() {
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
    let alive = actors.iter().filter(|actor| actor.is_alive()).count() as u64;
    for i in harness::spread(n) {
        let count = actors[i].ask(Add(1)).await.map_err(|e| failed("call", e))?;
        check("count", count, 1)?;
    }
    for actor in &actors {
        actor
            .stop_gracefully()
            .await
            .map_err(|e| failed("stop", e))?;
    }
    for actor in &actors {
        actor.wait_for_shutdown().await;
    }
    check("alive", alive, n)?;
    harness::idle_figure(figure, took, after.saturating_sub(before), n)
}

// ---------------------------------------------------------------- ring

#[derive(Actor)]
struct RingNode {
    next: Option<ActorRef<RingNode>>,
    hops: u64,
    done: mpsc::UnboundedSender<()>,
}

struct Next(ActorRef<RingNode>);
/// The token, with the number of hops still to go (this one included).
struct Token(u64);
struct Hops;

impl Message<Next> for RingNode {
    type Reply = ();

    async fn handle(&mut self, Next(next): Next, _ctx: &mut Context<Self, Self::Reply>) {
        self.next = Some(next);
    }
}

impl Message<Token> for RingNode {
    type Reply = ();

    async fn handle(&mut self, Token(left): Token, _ctx: &mut Context<Self, Self::Reply>) {
        self.hops += 1;
        if left <= 1 {
            let _ = self.done.send(());
        } else if let Some(next) = &self.next {
            // A failed send loses the token; the client then reports it lost.
            let _ = next.tell(Token(left - 1)).try_send();
        }
    }
}

impl Message<Hops> for RingNode {
    type Reply = u64;

    async fn handle(&mut self, _: Hops, _ctx: &mut Context<Self, Self::Reply>) -> u64 {
        self.hops
    }
}

async fn ring(sizes: &Sizes) -> Outcome {
    let (done, mut finished) = mpsc::unbounded_channel();
    let mut nodes = Vec::with_capacity(sizes.ring_nodes as usize);
    for _ in 0..sizes.ring_nodes {
        nodes.push(
            start::<RingNode>(RingNode {
                next: None,
                hops: 0,
                done: done.clone(),
            })
            .await?,
        );
    }
    for (i, node) in nodes.iter().enumerate() {
        let next = nodes[(i + 1) % nodes.len()].clone();
        node.tell(Next(next))
            .try_send()
            .map_err(|e| failed("setup", e))?;
    }
    // Set up: every node has its next and has counted nothing.
    for node in &nodes {
        let hops = within("setup", node.ask(Hops)).await?;
        check("hops before the token", hops, 0)?;
    }
    let hops = sizes.ring_nodes * sizes.ring_rounds;
    let started = Instant::now();
    nodes[0]
        .tell(Token(hops))
        .try_send()
        .map_err(|e| failed("token", e))?;
    within("token", async {
        finished.recv().await.ok_or("the ring closed")
    })
    .await?;
    let elapsed = started.elapsed();
    let mut total = 0;
    for node in &nodes {
        total += within("hops", node.ask(Hops)).await?;
    }
    for node in &nodes {
        stop(node).await?;
    }
    check("hops", total, hops)?;
    Ok(per_item(elapsed, hops))
}

// ---------------------------------------------------------------- ping-pong

#[derive(Actor, Default)]
struct Player {
    peer: Option<ActorRef<Player>>,
    target: u64,
    round_trips: u64,
    pings: u64,
    done: Option<oneshot::Sender<u64>>,
}

struct Peer(ActorRef<Player>);
/// Play this many round trips with the peer, then report them.
struct Serve(u64, oneshot::Sender<u64>);
struct Ping;
struct Pong;
/// How many pings this player has answered.
struct Pings;

impl Player {
    fn send<M>(&self, message: M)
    where
        Player: Message<M>,
        M: Send + 'static,
    {
        // A missing peer or a failed send stops the game; the client then
        // reports the pair as unfinished.
        if let Some(peer) = &self.peer {
            let _ = peer.tell(message).try_send();
        }
    }
}

impl Message<Peer> for Player {
    type Reply = ();

    async fn handle(&mut self, Peer(peer): Peer, _ctx: &mut Context<Self, Self::Reply>) {
        self.peer = Some(peer);
    }
}

impl Message<Serve> for Player {
    type Reply = ();

    async fn handle(&mut self, Serve(target, done): Serve, _ctx: &mut Context<Self, Self::Reply>) {
        self.target = target;
        self.round_trips = 0;
        if target == 0 {
            let _ = done.send(0);
        } else {
            self.done = Some(done);
            self.send(Ping);
        }
    }
}

impl Message<Ping> for Player {
    type Reply = ();

    async fn handle(&mut self, _: Ping, _ctx: &mut Context<Self, Self::Reply>) {
        self.pings += 1;
        self.send(Pong);
    }
}

impl Message<Pong> for Player {
    type Reply = ();

    async fn handle(&mut self, _: Pong, _ctx: &mut Context<Self, Self::Reply>) {
        self.round_trips += 1;
        if self.round_trips == self.target {
            if let Some(done) = self.done.take() {
                let _ = done.send(self.round_trips);
            }
        } else {
            self.send(Ping);
        }
    }
}

impl Message<Pings> for Player {
    type Reply = u64;

    async fn handle(&mut self, _: Pings, _ctx: &mut Context<Self, Self::Reply>) -> u64 {
        self.pings
    }
}

async fn pingpong(sizes: &Sizes) -> Outcome {
    let round_trips = sizes.pingpong_round_trips;
    let mut pairs = Vec::new();
    for _ in 0..PINGPONG_PAIRS {
        let server = start::<Player>(Player::default()).await?;
        let ponger = start::<Player>(Player::default()).await?;
        server
            .tell(Peer(ponger.clone()))
            .try_send()
            .map_err(|e| failed("setup", e))?;
        ponger
            .tell(Peer(server.clone()))
            .try_send()
            .map_err(|e| failed("setup", e))?;
        pairs.push((server, ponger));
    }
    // Set up: every player has its peer.
    for (server, ponger) in &pairs {
        for player in [server, ponger] {
            let pings = within("setup", player.ask(Pings)).await?;
            check("pings before the start", pings, 0)?;
        }
    }
    let started = Instant::now();
    let mut finishes = Vec::new();
    for (server, _) in &pairs {
        let (done, finished) = oneshot::channel();
        server
            .tell(Serve(round_trips, done))
            .try_send()
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
    for (server, ponger) in &pairs {
        let pings = within("pings", ponger.ask(Pings)).await?;
        check("pings answered by a pair", pings, round_trips)?;
        stop(server).await?;
        stop(ponger).await?;
    }
    let total: u64 = counts.iter().sum();
    Ok(per_second(elapsed, total))
}
