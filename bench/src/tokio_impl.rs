//! Raw tokio, the floor: a spawned task owning an unbounded mpsc receiver,
//! a oneshot for each reply. On a 2-worker runtime ("tokio") or a
//! current-thread one ("tokio-ct").

use std::collections::VecDeque;

use tokio::sync::{mpsc, oneshot};

use crate::harness::{
    self, check, per_item, per_second, Figure, Framework, Outcome, Sizes, Workload, FAN_IN_SENDERS,
    PINGPONG_PAIRS,
};

pub struct Tokio {
    pub current_thread: bool,
}

enum Req {
    Add(u64, oneshot::Sender<u64>),
    Bump,
    Get(oneshot::Sender<u64>),
}

/// A counter server: a task owning the receiver.
fn counter() -> mpsc::UnboundedSender<Req> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut count = 0;
        while let Some(req) = rx.recv().await {
            match req {
                Req::Add(by, reply) => {
                    count += by;
                    let _ = reply.send(count);
                }
                Req::Bump => count += 1,
                Req::Get(reply) => {
                    let _ = reply.send(count);
                }
            }
        }
    });
    tx
}

async fn get(server: &mpsc::UnboundedSender<Req>) -> Result<u64, String> {
    let (tx, rx) = oneshot::channel();
    server
        .send(Req::Get(tx))
        .map_err(|_| "the server is gone".to_owned())?;
    rx.await.map_err(|_| "no reply".to_owned())
}

impl Framework for Tokio {
    fn name(&self) -> &'static str {
        if self.current_thread {
            "tokio-ct"
        } else {
            "tokio"
        }
    }

    fn run(&self, workload: Workload, sizes: &Sizes) -> Option<Outcome> {
        if matches!(
            workload,
            Workload::Restart
                | Workload::ProcessList
                | Workload::ObserverRefresh
                | Workload::CallObserved
                | Workload::StatemCall
                | Workload::RegistryOnePartition
                | Workload::RegistryPartitioned
        ) {
            // No supervision, no table of tasks, no observer in raw tokio.
            return None;
        }
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
                Workload::Memory | Workload::MillionStart | Workload::MillionMemory => {
                    let (n, figure) = workload.idle_servers(&sizes).expect("idle servers");
                    idle_servers(n, figure).await
                }
                Workload::PingPong => pingpong(&sizes).await,
                Workload::CallLatencyCrowded => {
                    let crowd = crowd(sizes.memory_processes).await?;
                    let outcome = call_latency(&sizes).await;
                    drop(crowd);
                    outcome
                }
                Workload::CastThroughputCrowded => {
                    let crowd = crowd(sizes.memory_processes).await?;
                    let outcome = cast_throughput(&sizes).await;
                    drop(crowd);
                    outcome
                }
                Workload::Restart
                | Workload::ProcessList
                | Workload::ObserverRefresh
                | Workload::CallObserved
                | Workload::StatemCall
                | Workload::RegistryOnePartition
                | Workload::RegistryPartitioned => unreachable!("returned above"),
            }
        }))
    }
}

async fn call_latency(sizes: &Sizes) -> Outcome {
    let server = counter();
    let started = std::time::Instant::now();
    let mut last = 0;
    for _ in 0..sizes.calls {
        let (tx, rx) = oneshot::channel();
        server
            .send(Req::Add(1, tx))
            .map_err(|_| "the server is gone".to_owned())?;
        last = rx.await.map_err(|_| "no reply".to_owned())?;
    }
    let elapsed = started.elapsed();
    check("final count", last, sizes.calls)?;
    Ok(per_item(elapsed, sizes.calls))
}

async fn cast_throughput(sizes: &Sizes) -> Outcome {
    let server = counter();
    let started = std::time::Instant::now();
    for _ in 0..sizes.casts {
        server
            .send(Req::Bump)
            .map_err(|_| "the server is gone".to_owned())?;
    }
    let count = get(&server).await?;
    let elapsed = started.elapsed();
    check("count", count, sizes.casts)?;
    Ok(per_second(elapsed, sizes.casts))
}

async fn fan_in(sizes: &Sizes) -> Outcome {
    let server = counter();
    let per_sender = sizes.fan_in_per_sender;
    let started = std::time::Instant::now();
    let senders: Vec<_> = (0..FAN_IN_SENDERS)
        .map(|_| {
            let server = server.clone();
            tokio::spawn(async move {
                for _ in 0..per_sender {
                    let _ = server.send(Req::Bump);
                }
            })
        })
        .collect();
    for sender in senders {
        sender.await.map_err(|e| e.to_string())?;
    }
    let count = get(&server).await?;
    let elapsed = started.elapsed();
    let total = per_sender * FAN_IN_SENDERS;
    check("count", count, total)?;
    Ok(per_second(elapsed, total))
}

async fn spawn(sizes: &Sizes) -> Outcome {
    let started = std::time::Instant::now();
    let mut servers = Vec::with_capacity(sizes.spawn as usize);
    for _ in 0..sizes.spawn {
        let (tx, mut rx) = mpsc::unbounded_channel::<Req>();
        let task = tokio::spawn(async move { while rx.recv().await.is_some() {} });
        servers.push((tx, task));
    }
    let mut stopped = 0;
    for (tx, task) in servers {
        drop(tx);
        task.await.map_err(|e| e.to_string())?;
        stopped += 1;
    }
    let elapsed = started.elapsed();
    check("stopped", stopped, sizes.spawn)?;
    Ok(per_item(elapsed, sizes.spawn))
}

async fn ring(sizes: &Sizes) -> Outcome {
    let n = sizes.ring_nodes as usize;
    let (txs, rxs): (Vec<_>, Vec<_>) = (0..n).map(|_| mpsc::unbounded_channel::<u64>()).unzip();
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<u64>();
    for (i, mut rx) in rxs.into_iter().enumerate() {
        let next = txs[(i + 1) % n].clone();
        let done = done_tx.clone();
        tokio::spawn(async move {
            let mut hops = 0;
            while let Some(left) = rx.recv().await {
                if left == 0 {
                    break;
                }
                hops += 1;
                let _ = next.send(left - 1);
            }
            let _ = done.send(hops);
        });
    }
    let hops = sizes.ring_nodes * sizes.ring_rounds;
    let started = std::time::Instant::now();
    txs[0]
        .send(hops)
        .map_err(|_| "the ring is gone".to_owned())?;
    let first = done_rx.recv().await.ok_or("the token got lost")?;
    let elapsed = started.elapsed();
    for tx in &txs {
        let _ = tx.send(0);
    }
    let mut total = first;
    for _ in 1..n {
        total += done_rx.recv().await.ok_or("a ring node did not report")?;
    }
    check("hops", total, hops)?;
    Ok(per_item(elapsed, hops))
}

enum Sel {
    Noise,
    Wanted(u64),
}

/// A hand-written save queue over an mpsc receiver: the same algorithm as
/// fauxtp's (scan the saved messages in order, then new arrivals).
struct SaveQueue {
    rx: mpsc::UnboundedReceiver<Sel>,
    saved: VecDeque<Sel>,
}

impl SaveQueue {
    async fn receive_wanted(&mut self) -> Option<u64> {
        for _ in 0..self.saved.len() {
            match self.saved.pop_front()? {
                Sel::Wanted(n) => return Some(n),
                other => self.saved.push_back(other),
            }
        }
        loop {
            match self.rx.recv().await? {
                Sel::Wanted(n) => return Some(n),
                other => self.saved.push_back(other),
            }
        }
    }
}

async fn selective_receive(backlog: u64, rounds: u64) -> Outcome {
    let (tx, rx) = mpsc::unbounded_channel();
    let mut queue = SaveQueue {
        rx,
        saved: VecDeque::new(),
    };
    for _ in 0..backlog {
        tx.send(Sel::Noise).map_err(|_| "closed".to_owned())?;
    }
    while let Ok(noise) = queue.rx.try_recv() {
        queue.saved.push_back(noise);
    }
    let started = std::time::Instant::now();
    let mut sum = 0;
    for n in 0..rounds {
        tx.send(Sel::Wanted(n)).map_err(|_| "closed".to_owned())?;
        sum += queue.receive_wanted().await.ok_or("closed")?;
    }
    let elapsed = started.elapsed();
    check("sum", sum, rounds * (rounds - 1) / 2)?;
    check("backlog kept", queue.saved.len() as u64, backlog)?;
    Ok(per_item(elapsed, rounds))
}

/// `n` idle servers, alive beside a workload (each has run once, and
/// waits on its receiver); they end when dropped.
async fn crowd(n: u64) -> Result<Vec<mpsc::UnboundedSender<Req>>, String> {
    let servers: Vec<_> = (0..n).map(|_| counter()).collect();
    for server in &servers {
        get(server).await?;
    }
    Ok(servers)
}

/// `n` idle servers: spawned, then one request to the last (the start is
/// done when it answers); then one call to each of `SPREAD_CALLS` of them.
async fn idle_servers(n: u64, figure: Figure) -> Outcome {
    let before = harness::resident_bytes();
    let started = std::time::Instant::now();
    let mut servers = Vec::with_capacity(n as usize);
    for _ in 0..n {
        servers.push(counter());
    }
    get(&servers[servers.len() - 1]).await?;
    let took = started.elapsed();
    // Let every task run once, so each is parked on its receiver.
    for server in &servers {
        get(server).await?;
    }
    let after = harness::resident_bytes();
    for i in harness::spread(n) {
        let (tx, rx) = oneshot::channel();
        servers[i]
            .send(Req::Add(1, tx))
            .map_err(|_| "the server is gone".to_owned())?;
        check("count", rx.await.map_err(|_| "no reply".to_owned())?, 1)?;
    }
    drop(servers);
    harness::idle_figure(figure, took, after.saturating_sub(before), n)
}

async fn pingpong(sizes: &Sizes) -> Outcome {
    let round_trips = sizes.pingpong_round_trips;
    let started = std::time::Instant::now();
    let pairs: Vec<_> = (0..PINGPONG_PAIRS)
        .map(|_| {
            let (ping_tx, mut ping_rx) = mpsc::unbounded_channel::<()>();
            let (pong_tx, mut pong_rx) = mpsc::unbounded_channel::<()>();
            tokio::spawn(async move {
                while ping_rx.recv().await.is_some() {
                    if pong_tx.send(()).is_err() {
                        break;
                    }
                }
            });
            tokio::spawn(async move {
                let mut done = 0;
                for _ in 0..round_trips {
                    if ping_tx.send(()).is_err() || pong_rx.recv().await.is_none() {
                        break;
                    }
                    done += 1;
                }
                done
            })
        })
        .collect();
    let mut total = 0;
    for pair in pairs {
        total += pair.await.map_err(|e| e.to_string())?;
    }
    let elapsed = started.elapsed();
    check("round trips", total, round_trips * PINGPONG_PAIRS)?;
    Ok(per_second(elapsed, total))
}
