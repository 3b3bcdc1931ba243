//! actix 0.13: a counter actor for the server workloads, a ring node and a
//! ping-pong player, on actix's own `System` (a current-thread tokio runtime
//! with a `LocalSet`): compare with the "fauxtp-ct" column.
//!
//! Mailboxes: an actix mailbox has a capacity of 16 (`DEFAULT_CAPACITY`), but
//! the capacity only applies to `Addr::send` (a request parks the sender
//! while the mailbox is full) and `try_send`. `do_send`, the documented
//! fire-and-forget, queues the message "even if the mailbox for the receiver
//! is full", so casts here are unbounded, as with the other columns.
//! Requests are `Addr::send(..).await`.
//!
//! `Actor::start` returns an address at once and the actor starts when the
//! arbiter first polls it; there is no join handle, so an actor here reports
//! its `started` and `stopped` hooks over a tokio channel when asked to.
//! Stopping is a `Quit` message whose handler calls `ctx.stop()`.
//!
//! Completion of the ring and the ping-pong is signalled over a plain tokio
//! channel, the same way in every peer adapter.

use std::fmt::Display;
use std::future::IntoFuture;
use std::time::{Duration, Instant};

use actix::prelude::*;
use tokio::sync::{mpsc, oneshot};

use crate::harness::{
    check, per_item, per_second, Figure, Framework, Outcome, Sizes, Workload, FAN_IN_SENDERS,
    PINGPONG_PAIRS,
};

pub struct Actix;

impl Framework for Actix {
    fn name(&self) -> &'static str {
        "actix"
    }

    fn run(&self, workload: Workload, sizes: &Sizes) -> Option<Outcome> {
        match workload {
            // actix has no selective receive: an actor handles its messages
            // in arrival order.
            Workload::SelectiveReceive
            | Workload::SelectiveReceive10
            | Workload::SelectiveReceive100k => return None,
            // Measured for fauxtp and raw tokio only.
            Workload::CallLatencyCrowded | Workload::CastThroughputCrowded => return None,
            // Not comparable: a panic in an actix handler unwinds out of the
            // actor's task (the task dies, nothing restarts it), and actix's
            // `Supervisor` only restarts an actor that stops itself
            // (`Supervised::restarting`), which is a normal stop, not a crash.
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
        let system = actix::System::new();
        let sizes = sizes.clone();
        // As a task on the system's runtime, as every other column runs its
        // workload (`harness::on`): a current-thread runtime polls the
        // `block_on` future differently from its tasks.
        Some(system.block_on(async move {
            actix_rt::spawn(async move {
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
            })
            .await
            .unwrap_or_else(|e| Err(format!("the workload panicked: {e}")))
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

// ---------------------------------------------------------------- counter

/// A lifecycle hook that ran.
#[derive(Debug, PartialEq, Eq)]
enum Life {
    Started,
    Stopped,
}

struct Counter {
    count: u64,
    /// Where to report `started` and `stopped`, if anywhere.
    life: Option<mpsc::UnboundedSender<Life>>,
}

impl Actor for Counter {
    type Context = Context<Self>;

    fn started(&mut self, _ctx: &mut Context<Self>) {
        if let Some(life) = &self.life {
            let _ = life.send(Life::Started);
        }
    }

    fn stopped(&mut self, _ctx: &mut Context<Self>) {
        if let Some(life) = &self.life {
            let _ = life.send(Life::Stopped);
        }
    }
}

/// Add to the count and reply with the new count.
#[derive(Message)]
#[rtype(result = "u64")]
struct Add(u64);

/// Add one, no reply (sent with `do_send`).
#[derive(Message)]
#[rtype(result = "()")]
struct Bump;

#[derive(Message)]
#[rtype(result = "u64")]
struct Get;

#[derive(Message)]
#[rtype(result = "()")]
struct Quit;

impl Handler<Add> for Counter {
    type Result = u64;

    fn handle(&mut self, Add(by): Add, _ctx: &mut Context<Self>) -> u64 {
        self.count += by;
        self.count
    }
}

impl Handler<Bump> for Counter {
    type Result = ();

    fn handle(&mut self, _: Bump, _ctx: &mut Context<Self>) {
        self.count += 1;
    }
}

impl Handler<Get> for Counter {
    type Result = u64;

    fn handle(&mut self, _: Get, _ctx: &mut Context<Self>) -> u64 {
        self.count
    }
}

impl Handler<Quit> for Counter {
    type Result = ();

    fn handle(&mut self, _: Quit, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

/// Waits for the next lifecycle report and checks it is `expected`.
async fn next_life(
    lives: &mut mpsc::UnboundedReceiver<Life>,
    expected: Life,
) -> Result<(), String> {
    match lives.recv().await {
        Some(life) if life == expected => Ok(()),
        other => Err(format!("expected {expected:?}, got {other:?}")),
    }
}

/// Starts a counter and waits until it has started.
async fn start_counter() -> Result<(Addr<Counter>, mpsc::UnboundedReceiver<Life>), String> {
    let (life, mut lives) = mpsc::unbounded_channel();
    let counter = Counter {
        count: 0,
        life: Some(life),
    }
    .start();
    within("start", async {
        next_life(&mut lives, Life::Started).await
    })
    .await?;
    Ok((counter, lives))
}

/// Stops a counter and waits until it has stopped.
async fn stop_counter(
    counter: Addr<Counter>,
    mut lives: mpsc::UnboundedReceiver<Life>,
) -> Result<(), String> {
    counter.do_send(Quit);
    within("stop", async { next_life(&mut lives, Life::Stopped).await }).await
}

async fn call_latency(sizes: &Sizes) -> Outcome {
    let (counter, lives) = start_counter().await?;
    let started = Instant::now();
    let mut last = 0;
    for _ in 0..sizes.calls {
        last = counter.send(Add(1)).await.map_err(|e| failed("call", e))?;
    }
    let elapsed = started.elapsed();
    stop_counter(counter, lives).await?;
    check("final count", last, sizes.calls)?;
    Ok(per_item(elapsed, sizes.calls))
}

async fn cast_throughput(sizes: &Sizes) -> Outcome {
    let (counter, lives) = start_counter().await?;
    let started = Instant::now();
    for _ in 0..sizes.casts {
        counter.do_send(Bump);
    }
    let count = within("get", counter.send(Get)).await?;
    let elapsed = started.elapsed();
    stop_counter(counter, lives).await?;
    check("count", count, sizes.casts)?;
    Ok(per_second(elapsed, sizes.casts))
}

async fn fan_in(sizes: &Sizes) -> Outcome {
    let (counter, lives) = start_counter().await?;
    let per_sender = sizes.fan_in_per_sender;
    let started = Instant::now();
    // Tasks on the System's one thread (actix::spawn is a local spawn).
    let senders: Vec<_> = (0..FAN_IN_SENDERS)
        .map(|_| {
            let counter = counter.clone();
            actix::spawn(async move {
                for _ in 0..per_sender {
                    counter.do_send(Bump);
                }
            })
        })
        .collect();
    for sender in senders {
        sender.await.map_err(|e| failed("sender", e))?;
    }
    let count = within("get", counter.send(Get)).await?;
    let elapsed = started.elapsed();
    stop_counter(counter, lives).await?;
    let total = per_sender * FAN_IN_SENDERS;
    check("count", count, total)?;
    Ok(per_second(elapsed, total))
}

async fn spawn(sizes: &Sizes) -> Outcome {
    let (life, mut lives) = mpsc::unbounded_channel();
    let started = Instant::now();
    let mut actors = Vec::with_capacity(sizes.spawn as usize);
    let mut spawned = 0;
    for _ in 0..sizes.spawn {
        // Start, then wait until its `started` hook has run, one actor at a time.
        actors.push(
            Counter {
                count: 0,
                life: Some(life.clone()),
            }
            .start(),
        );
        next_life(&mut lives, Life::Started).await?;
        spawned += 1;
    }
    for actor in &actors {
        actor.do_send(Quit);
    }
    let mut stopped = 0;
    while stopped < sizes.spawn {
        next_life(&mut lives, Life::Stopped).await?;
        stopped += 1;
    }
    let elapsed = started.elapsed();
    check("spawned", spawned, sizes.spawn)?;
    check("stopped", stopped, sizes.spawn)?;
    Ok(per_item(elapsed, sizes.spawn))
}

/// `n` idle servers, started one after the other (each reports its
/// `started`); then one call to each of `SPREAD_CALLS` of them.
async fn idle_servers(n: u64, figure: Figure) -> Outcome {
    let (life, mut lives) = mpsc::unbounded_channel();
    let before = crate::harness::resident_bytes();
    let started = Instant::now();
    let mut actors = Vec::with_capacity(n as usize);
    for _ in 0..n {
        actors.push(
            Counter {
                count: 0,
                life: Some(life.clone()),
            }
            .start(),
        );
        next_life(&mut lives, Life::Started).await?;
    }
    let took = started.elapsed();
    let after = crate::harness::resident_bytes();
    let alive = actors.iter().filter(|actor| actor.connected()).count() as u64;
    for i in crate::harness::spread(n) {
        let count = actors[i]
            .send(Add(1))
            .await
            .map_err(|e| failed("call", e))?;
        check("count", count, 1)?;
    }
    for actor in &actors {
        actor.do_send(Quit);
    }
    for _ in 0..n {
        next_life(&mut lives, Life::Stopped).await?;
    }
    check("alive", alive, n)?;
    crate::harness::idle_figure(figure, took, after.saturating_sub(before), n)
}

// ---------------------------------------------------------------- ring

struct RingNode {
    next: Option<Addr<RingNode>>,
    hops: u64,
    done: mpsc::UnboundedSender<()>,
}

impl Actor for RingNode {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "()")]
struct Next(Addr<RingNode>);

/// The token, with the number of hops still to go (this one included).
#[derive(Message)]
#[rtype(result = "()")]
struct Token(u64);

#[derive(Message)]
#[rtype(result = "u64")]
struct Hops;

impl Handler<Next> for RingNode {
    type Result = ();

    fn handle(&mut self, Next(next): Next, _ctx: &mut Context<Self>) {
        self.next = Some(next);
    }
}

impl Handler<Token> for RingNode {
    type Result = ();

    fn handle(&mut self, Token(left): Token, _ctx: &mut Context<Self>) {
        self.hops += 1;
        if left <= 1 {
            let _ = self.done.send(());
        } else if let Some(next) = &self.next {
            next.do_send(Token(left - 1));
        }
    }
}

impl Handler<Hops> for RingNode {
    type Result = u64;

    fn handle(&mut self, _: Hops, _ctx: &mut Context<Self>) -> u64 {
        self.hops
    }
}

impl Handler<Quit> for RingNode {
    type Result = ();

    fn handle(&mut self, _: Quit, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

async fn ring(sizes: &Sizes) -> Outcome {
    let (done, mut finished) = mpsc::unbounded_channel();
    let nodes: Vec<Addr<RingNode>> = (0..sizes.ring_nodes)
        .map(|_| {
            RingNode {
                next: None,
                hops: 0,
                done: done.clone(),
            }
            .start()
        })
        .collect();
    for (i, node) in nodes.iter().enumerate() {
        node.do_send(Next(nodes[(i + 1) % nodes.len()].clone()));
    }
    // Set up: every node has started, has its next and has counted nothing.
    for node in &nodes {
        let hops = within("setup", node.send(Hops)).await?;
        check("hops before the token", hops, 0)?;
    }
    let hops = sizes.ring_nodes * sizes.ring_rounds;
    let started = Instant::now();
    nodes[0].do_send(Token(hops));
    within("token", async {
        finished.recv().await.ok_or("the ring closed")
    })
    .await?;
    let elapsed = started.elapsed();
    let mut total = 0;
    for node in &nodes {
        total += within("hops", node.send(Hops)).await?;
    }
    for node in &nodes {
        node.do_send(Quit);
    }
    check("hops", total, hops)?;
    Ok(per_item(elapsed, hops))
}

// ---------------------------------------------------------------- ping-pong

#[derive(Default)]
struct Player {
    peer: Option<Addr<Player>>,
    target: u64,
    round_trips: u64,
    pings: u64,
    done: Option<oneshot::Sender<u64>>,
}

impl Actor for Player {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "()")]
struct Peer(Addr<Player>);

/// Play this many round trips with the peer, then report them.
#[derive(Message)]
#[rtype(result = "()")]
struct Serve(u64, oneshot::Sender<u64>);

#[derive(Message)]
#[rtype(result = "()")]
struct Ping;

#[derive(Message)]
#[rtype(result = "()")]
struct Pong;

/// How many pings this player has answered.
#[derive(Message)]
#[rtype(result = "u64")]
struct Pings;

impl Player {
    fn send<M>(&self, message: M)
    where
        M: Message + Send + 'static,
        M::Result: Send,
        Player: Handler<M>,
    {
        // A missing peer stops the game; the client then reports the pair as
        // unfinished.
        if let Some(peer) = &self.peer {
            peer.do_send(message);
        }
    }
}

impl Handler<Peer> for Player {
    type Result = ();

    fn handle(&mut self, Peer(peer): Peer, _ctx: &mut Context<Self>) {
        self.peer = Some(peer);
    }
}

impl Handler<Serve> for Player {
    type Result = ();

    fn handle(&mut self, Serve(target, done): Serve, _ctx: &mut Context<Self>) {
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

impl Handler<Ping> for Player {
    type Result = ();

    fn handle(&mut self, _: Ping, _ctx: &mut Context<Self>) {
        self.pings += 1;
        self.send(Pong);
    }
}

impl Handler<Pong> for Player {
    type Result = ();

    fn handle(&mut self, _: Pong, _ctx: &mut Context<Self>) {
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

impl Handler<Pings> for Player {
    type Result = u64;

    fn handle(&mut self, _: Pings, _ctx: &mut Context<Self>) -> u64 {
        self.pings
    }
}

impl Handler<Quit> for Player {
    type Result = ();

    fn handle(&mut self, _: Quit, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

async fn pingpong(sizes: &Sizes) -> Outcome {
    let round_trips = sizes.pingpong_round_trips;
    let mut pairs = Vec::new();
    for _ in 0..PINGPONG_PAIRS {
        let server = Player::default().start();
        let ponger = Player::default().start();
        server.do_send(Peer(ponger.clone()));
        ponger.do_send(Peer(server.clone()));
        pairs.push((server, ponger));
    }
    // Set up: every player has started and has its peer.
    for (server, ponger) in &pairs {
        for player in [server, ponger] {
            let pings = within("setup", player.send(Pings)).await?;
            check("pings before the start", pings, 0)?;
        }
    }
    let started = Instant::now();
    let mut finishes = Vec::new();
    for (server, _) in &pairs {
        let (done, finished) = oneshot::channel();
        server.do_send(Serve(round_trips, done));
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
        let pings = within("pings", ponger.send(Pings)).await?;
        check("pings answered by a pair", pings, round_trips)?;
        server.do_send(Quit);
        ponger.do_send(Quit);
    }
    let total: u64 = counts.iter().sum();
    Ok(per_second(elapsed, total))
}
