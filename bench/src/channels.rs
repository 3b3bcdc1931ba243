//! Mailbox floors: the cast and fan-in workloads on other channels than
//! tokio's mpsc, to choose fauxtp's mailbox queue on figures. Each is a task
//! owning the receiving end; the final count comes back on a tokio oneshot.

use tokio::sync::oneshot;

use crate::harness::{
    self, check, per_second, Framework, Outcome, Sizes, Workload, FAN_IN_SENDERS,
};

#[derive(Clone, Copy)]
pub enum Channel {
    Kanal,
    Crossfire,
}

enum Req {
    Bump,
    Get(oneshot::Sender<u64>),
}

/// What the workloads need of a channel's sending end.
trait Sender: Clone + Send + 'static {
    fn put(&self, req: Req) -> bool;
}

impl Sender for kanal::AsyncSender<Req> {
    fn put(&self, req: Req) -> bool {
        self.try_send(req).unwrap_or(false)
    }
}

impl Sender for crossfire::MTx<crossfire::mpsc::List<Req>> {
    fn put(&self, req: Req) -> bool {
        self.send(req).is_ok()
    }
}

fn kanal_counter() -> kanal::AsyncSender<Req> {
    let (tx, rx) = kanal::unbounded_async();
    tokio::spawn(async move {
        let mut count = 0;
        while let Ok(req) = rx.recv().await {
            match req {
                Req::Bump => count += 1,
                Req::Get(reply) => {
                    let _ = reply.send(count);
                }
            }
        }
    });
    tx
}

fn crossfire_counter() -> crossfire::MTx<crossfire::mpsc::List<Req>> {
    let (tx, rx) = crossfire::mpsc::unbounded_async();
    tokio::spawn(async move {
        let mut count = 0;
        while let Ok(req) = rx.recv().await {
            match req {
                Req::Bump => count += 1,
                Req::Get(reply) => {
                    let _ = reply.send(count);
                }
            }
        }
    });
    tx
}

async fn get(server: &impl Sender) -> Result<u64, String> {
    let (tx, rx) = oneshot::channel();
    if !server.put(Req::Get(tx)) {
        return Err("the server is gone".to_owned());
    }
    rx.await.map_err(|_| "no reply".to_owned())
}

async fn cast_throughput(server: impl Sender, sizes: &Sizes) -> Outcome {
    let started = std::time::Instant::now();
    for _ in 0..sizes.casts {
        if !server.put(Req::Bump) {
            return Err("the server is gone".to_owned());
        }
    }
    let count = get(&server).await?;
    let elapsed = started.elapsed();
    check("count", count, sizes.casts)?;
    Ok(per_second(elapsed, sizes.casts))
}

async fn fan_in(server: impl Sender, sizes: &Sizes) -> Outcome {
    let per_sender = sizes.fan_in_per_sender;
    let started = std::time::Instant::now();
    let senders: Vec<_> = (0..FAN_IN_SENDERS)
        .map(|_| {
            let server = server.clone();
            tokio::spawn(async move {
                for _ in 0..per_sender {
                    server.put(Req::Bump);
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

impl Framework for Channel {
    fn name(&self) -> &'static str {
        match self {
            Channel::Kanal => "kanal",
            Channel::Crossfire => "crossfire",
        }
    }

    fn run(&self, workload: Workload, sizes: &Sizes) -> Option<Outcome> {
        if !matches!(workload, Workload::CastThroughput | Workload::FanIn) {
            return None;
        }
        let sizes = sizes.clone();
        let channel = *self;
        Some(harness::on(&harness::multi_thread(), async move {
            match (channel, workload) {
                (Channel::Kanal, Workload::CastThroughput) => {
                    cast_throughput(kanal_counter(), &sizes).await
                }
                (Channel::Kanal, _) => fan_in(kanal_counter(), &sizes).await,
                (Channel::Crossfire, Workload::CastThroughput) => {
                    cast_throughput(crossfire_counter(), &sizes).await
                }
                (Channel::Crossfire, _) => fan_in(crossfire_counter(), &sizes).await,
            }
        }))
    }
}
