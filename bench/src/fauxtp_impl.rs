//! fauxtp: GenServers for the server workloads, plain processes with
//! `receive!` for the ring, ping-pong and selective receive, a supervisor
//! for restarts. Runs on a 2-worker runtime ("fauxtp") or a current-thread
//! one ("fauxtp-ct", the column compared with actix).

use std::time::Duration;

use fauxtp::prelude::*;
use fauxtp::supervisor::{Strategy, Supervisor, SupervisorSpec};

use crate::harness::{
    self, check, per_item, per_second, Figure, Framework, Outcome, Sizes, Workload, FAN_IN_SENDERS,
    PINGPONG_PAIRS,
};

pub struct Fauxtp {
    pub current_thread: bool,
}

struct Counter {
    count: u64,
}

#[genserver]
impl Counter {
    fn init() -> Self {
        Counter { count: 0 }
    }

    #[call]
    fn add(&mut self, by: u64) -> u64 {
        self.count += by;
        self.count
    }

    #[cast]
    fn bump(&mut self) {
        self.count += 1;
    }

    #[call]
    fn get(&self) -> u64 {
        self.count
    }

    #[cast]
    fn quit(&mut self, ctx: &mut ServerCtx<Self>) {
        ctx.stop(ExitReason::Normal);
    }

    #[cast]
    fn fail(&mut self) -> Result<(), ExitReason> {
        Err(ExitReason::error("asked to fail"))
    }
}

impl Framework for Fauxtp {
    fn name(&self) -> &'static str {
        if self.current_thread {
            "fauxtp-ct"
        } else {
            "fauxtp"
        }
    }

    fn run(&self, workload: Workload, sizes: &Sizes) -> Option<Outcome> {
        let runtime = harness::runtime(self.current_thread);
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
                | Workload::SelectiveReceive100k => {
                    let (backlog, rounds) = workload.selective(&sizes).expect("selective");
                    selective_receive(backlog, rounds).await
                }
                Workload::Restart => restart(&sizes).await,
                Workload::Memory | Workload::MillionStart | Workload::MillionMemory => {
                    let (n, figure) = workload.idle_servers(&sizes).expect("idle servers");
                    idle_servers(n, figure).await
                }
                Workload::PingPong => pingpong(&sizes).await,
                Workload::ProcessList => process_list(&sizes).await,
                Workload::ObserverRefresh => observer_refresh(&sizes).await,
                Workload::CallObserved => call_observed(&sizes).await,
                Workload::StatemCall => statem_call(&sizes).await,
                Workload::CallLatencyCrowded => {
                    let crowd = crowd(sizes.memory_processes).await?;
                    let outcome = call_latency(&sizes).await;
                    disperse(crowd);
                    outcome
                }
                Workload::CastThroughputCrowded => {
                    let crowd = crowd(sizes.memory_processes).await?;
                    let outcome = cast_throughput(&sizes).await;
                    disperse(crowd);
                    outcome
                }
                Workload::RegistryOnePartition => registry_writers(1).await,
                Workload::RegistryPartitioned => registry_writers(8).await,
            }
        }))
    }
}

fn failed(what: &str, error: impl std::fmt::Display) -> String {
    format!("{what}: {error}")
}

async fn call_latency(sizes: &Sizes) -> Outcome {
    let counter = Counter::start(()).await.map_err(|e| failed("start", e))?;
    let started = std::time::Instant::now();
    let mut last = 0;
    for _ in 0..sizes.calls {
        last = counter.add(1).await.map_err(|e| failed("call", e))?;
    }
    let elapsed = started.elapsed();
    check("final count", last, sizes.calls)?;
    Ok(per_item(elapsed, sizes.calls))
}

async fn cast_throughput(sizes: &Sizes) -> Outcome {
    let counter = Counter::start(()).await.map_err(|e| failed("start", e))?;
    let started = std::time::Instant::now();
    for _ in 0..sizes.casts {
        counter.bump().map_err(|e| failed("cast", e))?;
    }
    let count = counter
        .get()
        .timeout(Duration::from_secs(60))
        .await
        .map_err(|e| failed("get", e))?;
    let elapsed = started.elapsed();
    check("count", count, sizes.casts)?;
    Ok(per_second(elapsed, sizes.casts))
}

async fn fan_in(sizes: &Sizes) -> Outcome {
    let counter = Counter::start(()).await.map_err(|e| failed("start", e))?;
    let per_sender = sizes.fan_in_per_sender;
    let started = std::time::Instant::now();
    let senders: Vec<_> = (0..FAN_IN_SENDERS)
        .map(|_| {
            let counter = counter.clone();
            tokio::spawn(async move {
                for _ in 0..per_sender {
                    let _ = counter.bump();
                }
            })
        })
        .collect();
    for sender in senders {
        sender.await.map_err(|e| failed("sender", e))?;
    }
    let count = counter
        .get()
        .timeout(Duration::from_secs(60))
        .await
        .map_err(|e| failed("get", e))?;
    let elapsed = started.elapsed();
    let total = per_sender * FAN_IN_SENDERS;
    check("count", count, total)?;
    Ok(per_second(elapsed, total))
}

async fn spawn(sizes: &Sizes) -> Outcome {
    let mut watcher = Ctx::<()>::detached();
    let started = std::time::Instant::now();
    let mut servers = Vec::with_capacity(sizes.spawn as usize);
    for _ in 0..sizes.spawn {
        servers.push(Counter::start(()).await.map_err(|e| failed("start", e))?);
    }
    for server in &servers {
        watcher.monitor(server);
        server.quit().map_err(|e| failed("quit", e))?;
    }
    let mut stopped = 0;
    while stopped < sizes.spawn {
        receive!(watcher, {
            Down(_) => stopped += 1,
            after Duration::from_secs(60) => return Err(format!("only {stopped} servers stopped")),
        });
    }
    let elapsed = started.elapsed();
    check("stopped", stopped, sizes.spawn)?;
    Ok(per_item(elapsed, sizes.spawn))
}

enum RingMsg {
    Next(Pid<RingMsg>),
    Token(u64),
}

async fn ring(sizes: &Sizes) -> Outcome {
    let mut me = Ctx::<u64>::detached();
    let done = me.pid();
    let nodes: Vec<Pid<RingMsg>> = (0..sizes.ring_nodes)
        .map(|_| {
            let done = done.clone();
            fauxtp::spawn(move |mut ctx: Ctx<RingMsg>| async move {
                let next = receive!(ctx, { RingMsg::Next(next) => next });
                let mut hops: u64 = 0;
                loop {
                    receive!(ctx, {
                        RingMsg::Token(0) => {
                            done.send(hops)?;
                            return Ok(());
                        }
                        RingMsg::Token(left) => {
                            hops += 1;
                            // The next node may have ended with the last token.
                            let _ = next.send(RingMsg::Token(left - 1));
                        }
                        RingMsg::Next(_) => {}
                    });
                }
            })
        })
        .collect();
    for (i, node) in nodes.iter().enumerate() {
        let next = nodes[(i + 1) % nodes.len()].clone();
        node.send(RingMsg::Next(next))
            .map_err(|e| failed("setup", e))?;
    }
    let hops = sizes.ring_nodes * sizes.ring_rounds;
    let started = std::time::Instant::now();
    nodes[0]
        .send(RingMsg::Token(hops))
        .map_err(|e| failed("token", e))?;
    let counted = receive!(me, {
        n => n,
        after Duration::from_secs(60) => return Err("the token got lost".to_owned()),
    });
    let elapsed = started.elapsed();
    // The node that got the last token reported how often it forwarded;
    // every other node reports when told to stop. Together they forwarded
    // the token `hops` times.
    for node in &nodes {
        let _ = node.send(RingMsg::Token(0));
    }
    let mut total = counted;
    for _ in 1..sizes.ring_nodes {
        total += receive!(me, {
            n => n,
            after Duration::from_secs(60) => return Err("a ring node did not report".to_owned()),
        });
    }
    check("hops", total, hops)?;
    Ok(per_item(elapsed, hops))
}

#[derive(Debug)]
enum Sel {
    Noise,
    Wanted(u64),
}

async fn selective_receive(backlog: u64, rounds: u64) -> Outcome {
    let mut me = Ctx::<Sel>::detached();
    let pid = me.pid();
    for _ in 0..backlog {
        pid.send(Sel::Noise).map_err(|e| failed("send", e))?;
    }
    // Move the backlog into the save queue.
    let none = receive!(me, { Sel::Wanted(_) => false, after Duration::ZERO => true });
    if !none {
        return Err("no wanted message was sent yet".to_owned());
    }
    let started = std::time::Instant::now();
    let mut sum = 0;
    for n in 0..rounds {
        pid.send(Sel::Wanted(n)).map_err(|e| failed("send", e))?;
        sum += receive!(me, { Sel::Wanted(n) => n });
    }
    let elapsed = started.elapsed();
    check("sum", sum, rounds * (rounds - 1) / 2)?;
    check("backlog kept", me.mailbox_len() as u64, backlog)?;
    Ok(per_item(elapsed, rounds))
}

async fn restart(sizes: &Sizes) -> Outcome {
    const NAME: &str = "bench-restart-worker";
    let spec = SupervisorSpec::new(Strategy::OneForOne)
        .intensity(u32::MAX, Duration::from_secs(1))
        .child(Counter::child(()).named(NAME));
    let sup = Supervisor::start(spec)
        .await
        .map_err(|e| failed("start", e))?;
    let mut total = Duration::ZERO;
    for _ in 0..sizes.restarts {
        let old: Pid<CounterMsg> =
            fauxtp::registry::whereis(NAME).map_err(|e| failed("whereis", e))?;
        let started = std::time::Instant::now();
        old.fail().map_err(|e| failed("fail", e))?;
        loop {
            if let Ok(new) = fauxtp::registry::whereis::<CounterMsg>(NAME) {
                if new != old && new.get().await.is_ok() {
                    break;
                }
            }
            tokio::task::yield_now().await;
        }
        total += started.elapsed();
    }
    genserver::stop(&sup, ExitReason::Shutdown, Duration::from_secs(10))
        .await
        .map_err(|e| failed("stop", e))?;
    Ok(per_item(total, sizes.restarts) / 1_000.0)
}

/// `n` idle servers, alive beside a workload (each has answered a call,
/// so its task has run and waits on its mailbox).
async fn crowd(n: u64) -> Result<Vec<Pid<CounterMsg>>, String> {
    let mut servers = Vec::with_capacity(n as usize);
    for _ in 0..n {
        servers.push(Counter::start(()).await.map_err(|e| failed("start", e))?);
    }
    for server in &servers {
        server.get().await.map_err(|e| failed("call", e))?;
    }
    Ok(servers)
}

/// Stops the idle servers of [`crowd`].
fn disperse(crowd: Vec<Pid<CounterMsg>>) {
    for server in &crowd {
        let _ = server.quit();
    }
}

/// `n` idle servers, started one after the other; then one call to each of
/// `SPREAD_CALLS` of them.
async fn idle_servers(n: u64, figure: Figure) -> Outcome {
    let before = harness::resident_bytes();
    let started = std::time::Instant::now();
    let mut servers = Vec::with_capacity(n as usize);
    for _ in 0..n {
        servers.push(Counter::start(()).await.map_err(|e| failed("start", e))?);
    }
    let took = started.elapsed();
    let after = harness::resident_bytes();
    check("alive", fauxtp::process::count() as u64, n)?;
    for i in harness::spread(n) {
        let count = servers[i].add(1).await.map_err(|e| failed("call", e))?;
        check("count", count, 1)?;
    }
    for server in &servers {
        let _ = server.quit();
    }
    harness::idle_figure(figure, took, after.saturating_sub(before), n)
}

async fn process_list(sizes: &Sizes) -> Outcome {
    let mut servers = Vec::with_capacity(sizes.memory_processes as usize);
    for _ in 0..sizes.memory_processes {
        servers.push(Counter::start(()).await.map_err(|e| failed("start", e))?);
    }
    let started = std::time::Instant::now();
    let listed = fauxtp::process::list();
    let took = started.elapsed();
    // Every server is alive, so every one is listed.
    check(
        "listed",
        listed.len() as u64,
        fauxtp::process::count() as u64,
    )?;
    drop(listed);
    for server in &servers {
        let _ = server.quit();
    }
    // Scaled to 100,000 processes, the figure the unit names.
    Ok(took.as_secs_f64() * 1e3 * 100_000.0 / sizes.memory_processes as f64)
}

/// One HTTP/1.1 GET to the observer; the body's length.
async fn http_get(addr: std::net::SocketAddr, path: &str) -> Result<usize, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| failed("connect", e))?;
    let request = format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| failed("request", e))?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .await
        .map_err(|e| failed("response", e))?;
    if !response.starts_with(b"HTTP/1.1 200") {
        return Err(format!(
            "the observer answered {}",
            String::from_utf8_lossy(&response[..response.len().min(80)])
        ));
    }
    Ok(response.len())
}

/// What an open page asks for at each refresh.
async fn page_refresh(addr: std::net::SocketAddr) -> Result<(), String> {
    http_get(addr, "/api/overview").await?;
    http_get(
        addr,
        "/api/processes?sort=mailbox&order=desc&offset=0&limit=100",
    )
    .await?;
    Ok(())
}

async fn observer_refresh(sizes: &Sizes) -> Outcome {
    let mut servers = Vec::with_capacity(sizes.memory_processes as usize);
    for _ in 0..sizes.memory_processes {
        servers.push(Counter::start(()).await.map_err(|e| failed("start", e))?);
    }
    let observer = fauxtp::observer::serve("127.0.0.1:0")
        .await
        .map_err(|e| failed("observer", e))?;
    // The first refresh reads every process; the page's next ones within
    // half a second share that read.
    let started = std::time::Instant::now();
    page_refresh(observer.local_addr()).await?;
    let took = started.elapsed();
    observer.shutdown().await;
    for server in &servers {
        let _ = server.quit();
    }
    Ok(took.as_secs_f64() * 1e3 * 100_000.0 / sizes.memory_processes as f64)
}

async fn call_observed(sizes: &Sizes) -> Outcome {
    let observer = fauxtp::observer::serve("127.0.0.1:0")
        .await
        .map_err(|e| failed("observer", e))?;
    let addr = observer.local_addr();
    // A page open beside the calls: one refresh a second, as the page does.
    let refreshes = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let page = tokio::spawn({
        let refreshes = refreshes.clone();
        async move {
            loop {
                if page_refresh(addr).await.is_ok() {
                    refreshes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    });
    let outcome = call_latency(sizes).await;
    page.abort();
    observer.shutdown().await;
    if refreshes.load(std::sync::atomic::Ordering::Relaxed) == 0 {
        return Err("the page never refreshed during the calls".into());
    }
    outcome
}

/// The counter as a state machine: one state, a call that replies.
#[derive(Debug, Clone, PartialEq)]
enum Counting {
    On,
}

struct StatemCounter {
    count: u64,
}

#[fauxtp::statem]
impl StatemCounter {
    fn init() -> (Counting, Self) {
        (Counting::On, StatemCounter { count: 0 })
    }

    #[call(Counting::On)]
    fn add(&mut self, n: u64) -> fauxtp::statem::Transition<Counting, u64> {
        self.count += n;
        fauxtp::statem::keep().reply(self.count)
    }
}

async fn statem_call(sizes: &Sizes) -> Outcome {
    use StatemCounterClient as _;
    let counter = StatemCounter::start(())
        .await
        .map_err(|e| failed("start", e))?;
    let started = std::time::Instant::now();
    let mut last = 0;
    for _ in 0..sizes.calls {
        last = counter.add(1).await.map_err(|e| failed("call", e))?;
    }
    let elapsed = started.elapsed();
    check("final count", last, sizes.calls)?;
    Ok(per_item(elapsed, sizes.calls))
}

/// 8 tasks at once, each registering its own keys in one shared keyed
/// registry of `partitions` partitions.
async fn registry_writers(partitions: usize) -> Outcome {
    use fauxtp::registry::{Keys, Registry};
    const WRITERS: u64 = 8;
    const KEYS: u64 = 20_000;
    let registry: Registry<u64, u64> = Registry::with_partitions(Keys::Unique, partitions);
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(WRITERS as usize + 1));
    let mut writers = Vec::new();
    for writer in 0..WRITERS {
        let registry = registry.clone();
        let start = start.clone();
        writers.push(tokio::spawn(async move {
            let me = Ctx::<()>::detached();
            start.wait().await;
            for n in 0..KEYS {
                registry
                    .register(writer * KEYS + n, &me.pid(), n)
                    .map_err(|e| failed("register", e))?;
            }
            Ok::<_, String>(me)
        }));
    }
    // The clock starts before the writers are let go: on one thread they
    // may run to the end before this task is polled again.
    let started = std::time::Instant::now();
    start.wait().await;
    let mut owners = Vec::new();
    for writer in writers {
        owners.push(writer.await.map_err(|e| failed("writer", e))??);
    }
    let elapsed = started.elapsed();
    check("registered", registry.count() as u64, WRITERS * KEYS)?;
    drop(owners);
    Ok(per_item(elapsed, WRITERS * KEYS))
}

enum Ball {
    Ping(Pid<Ball>),
    Pong,
}

async fn pingpong(sizes: &Sizes) -> Outcome {
    let mut me = Ctx::<u64>::detached();
    let round_trips = sizes.pingpong_round_trips;
    let mut pairs = Vec::new();
    for _ in 0..PINGPONG_PAIRS {
        let ponger = fauxtp::spawn(|mut ctx: Ctx<Ball>| async move {
            loop {
                receive!(ctx, {
                    Ball::Ping(from) => {
                        if from.send(Ball::Pong).is_err() {
                            return Ok(());
                        }
                    }
                    Ball::Pong => return Ok(()),
                });
            }
        });
        let done = me.pid();
        let pinger = fauxtp::spawn(move |mut ctx: Ctx<Ball>| async move {
            // Wait for the start signal (a Pong) so both pairs start together.
            receive!(ctx, { Ball::Pong => () });
            let me = ctx.pid();
            for _ in 0..round_trips {
                ponger.send(Ball::Ping(me.clone()))?;
                receive!(ctx, { Ball::Pong => () });
            }
            let _ = ponger.send(Ball::Pong);
            done.send(round_trips)?;
            Ok(())
        });
        pairs.push(pinger);
    }
    let started = std::time::Instant::now();
    for pinger in &pairs {
        pinger.send(Ball::Pong).map_err(|e| failed("start", e))?;
    }
    let mut total = 0;
    for _ in 0..PINGPONG_PAIRS {
        total += receive!(me, {
            n => n,
            after Duration::from_secs(60) => return Err("a pair did not finish".to_owned()),
        });
    }
    let elapsed = started.elapsed();
    check("round trips", total, round_trips * PINGPONG_PAIRS)?;
    Ok(per_second(elapsed, total))
}
