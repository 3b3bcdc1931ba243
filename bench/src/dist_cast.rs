//! `dist_cast`: streams of casts between nodes on loopback, over the Erlang
//! distribution protocol: Erlang to Erlang (the reference), fauxtp to
//! Erlang, Erlang to fauxtp, and fauxtp to fauxtp. Each stream is N casts
//! one way to a sink server, then a call that returns the sink's count
//! (which checks that every cast arrived, and is counted in the time), for
//! three payloads: a small tuple, a 1 KiB binary and a 64 KiB binary. Each
//! figure is the median of several rounds (`--repeat`); fauxtp's nodes run
//! on a 2-worker runtime. The Erlang side is `bench/erlang/bench_sink.erl`.
//!
//! Then, for the same pairs, how long a small message waits behind large
//! ones on the same connection: calls to a second server on the sink's
//! node (`probe`), first alone, then while another process floods the
//! sink with 4 MiB binaries (which OTP, and fauxtp, send in fragments).

use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fauxtp::dist::term::{atom, tuple, Binary, Term};
use fauxtp::dist::{Cookie, Node, Remote};
use fauxtp::prelude::*;
use tokio::io::AsyncWriteExt;
use tokio::process::Child;

use crate::dist::{compile, erl, erl_command, expect_line, median, number, start_epmd};
use crate::harness::Sizes;

struct Sink {
    count: u64,
}

#[genserver(remote)]
impl Sink {
    fn init() -> Self {
        Sink { count: 0 }
    }

    #[cast]
    fn data(&mut self, _payload: Term) {
        self.count += 1;
    }

    #[call]
    fn count(&self) -> u64 {
        self.count
    }
}

/// The payloads of the sweep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Payload {
    /// `{point, 1, 2}`.
    Small,
    /// A binary of 1 KiB.
    Kib,
    /// A binary of 64 KiB.
    Kib64,
}

impl Payload {
    pub const ALL: [Payload; 3] = [Payload::Small, Payload::Kib, Payload::Kib64];

    /// Its name, as `bench_sink:rounds/1` reads it.
    pub fn name(self) -> &'static str {
        match self {
            Payload::Small => "small",
            Payload::Kib => "kib",
            Payload::Kib64 => "kib64",
        }
    }

    /// The payload's bytes, for MB/s; none for the small tuple.
    pub fn bytes(self) -> Option<usize> {
        match self {
            Payload::Small => None,
            Payload::Kib => Some(1024),
            Payload::Kib64 => Some(65536),
        }
    }

    fn term(self) -> Term {
        match self {
            Payload::Small => tuple(vec![
                atom("point"),
                Term::from(fauxtp::dist::term::FixInteger::from(1)),
                Term::from(fauxtp::dist::term::FixInteger::from(2)),
            ]),
            other => Term::from(Binary::from(vec![b'x'; other.bytes().unwrap_or(0)])),
        }
    }

    /// Casts per stream.
    fn casts(self, sizes: &Sizes) -> u64 {
        match self {
            Payload::Small => sizes.dist_casts,
            Payload::Kib => sizes.dist_casts / 4,
            Payload::Kib64 => sizes.dist_casts / 100,
        }
    }
}

/// One pair and payload: messages per second.
pub struct Row {
    pub pair: &'static str,
    pub payload: Payload,
    pub per_second: f64,
}

/// How long calls take on a connection that also carries large messages:
/// the 50th and 99th percentile and the longest, in microseconds.
pub struct Stall {
    pub pair: &'static str,
    /// With nothing else on the connection.
    pub alone: [f64; 3],
    /// While another process floods it with [`FLOOD_BYTES`] binaries.
    pub flooded: [f64; 3],
}

/// The size of each message of the flood.
pub const FLOOD_BYTES: usize = 4 * 1024 * 1024;

/// Runs the workload; the figures, or why it could not run.
pub fn run(sizes: &Sizes, rounds: usize) -> Result<(Vec<Row>, Vec<Stall>), String> {
    let runtime = crate::harness::runtime(false);
    let sizes = sizes.clone();
    runtime.block_on(async move {
        tokio::spawn(async move { rows(&sizes, rounds.max(1)).await })
            .await
            .map_err(|e| e.to_string())?
    })
}

const PAIRS: [&str; 4] = [
    "erlang -> erlang",
    "fauxtp -> erlang",
    "erlang -> fauxtp",
    "fauxtp -> fauxtp",
];

async fn rows(sizes: &Sizes, rounds: usize) -> Result<(Vec<Row>, Vec<Stall>), String> {
    let id = std::process::id();
    let erl_sink = format!("bench_sink_{id}@localhost");
    let rust_sink = format!("bench_rsink_{id}@localhost");
    let rust_client = format!("bench_rsource_{id}@localhost");
    let modules = compile()?;
    start_epmd().await?;

    let mut server = erl(
        &erl_sink,
        &modules,
        "{ok, _} = bench_sink:start(sink), {ok, _} = bench_sink:start(probe), \
         io:format(\"ready~n\"), receive stop -> ok end.",
    )?;
    expect_line(&mut server, "the Erlang sink").await?;
    let cookie = Cookie::new(crate::dist::COOKIE);
    let served = Node::start(&rust_sink, cookie.clone())
        .await
        .map_err(|e| e.to_string())?;
    let sink = Sink::start(()).await.map_err(|e| e.to_string())?;
    served.register("sink", &sink).map_err(|e| e.to_string())?;
    let probe = Sink::start(()).await.map_err(|e| e.to_string())?;
    served
        .register("probe", &probe)
        .map_err(|e| e.to_string())?;
    let node = Node::start(&rust_client, cookie)
        .await
        .map_err(|e| e.to_string())?;
    let to_erlang = Remote::name("sink", &erl_sink);
    let to_fauxtp = Remote::name("sink", &rust_sink);
    let mut erlang_to_erlang = ErlangSource::start(
        &modules,
        &format!("bench_esource_{id}@localhost"),
        &erl_sink,
    )?;
    let mut erlang_to_fauxtp = ErlangSource::start(
        &modules,
        &format!("bench_esource2_{id}@localhost"),
        &rust_sink,
    )?;

    let mut rows = Vec::new();
    for payload in Payload::ALL {
        let casts = payload.casts(sizes);
        let mut samples: [Vec<f64>; 4] = Default::default();
        for _ in 0..rounds {
            samples[0].push(erlang_to_erlang.stream(payload, casts).await?);
            samples[1].push(stream(&node, &to_erlang, payload, casts).await?);
            samples[2].push(erlang_to_fauxtp.stream(payload, casts).await?);
            samples[3].push(stream(&node, &to_fauxtp, payload, casts).await?);
        }
        for (pair, samples) in PAIRS.into_iter().zip(samples) {
            rows.push(Row {
                pair,
                payload,
                per_second: median(samples),
            });
        }
    }
    let calls = sizes.dist_casts / 250;
    let mut stalls = Vec::new();
    for (pair, at) in PAIRS
        .into_iter()
        .zip([&erl_sink, &erl_sink, &rust_sink, &rust_sink])
    {
        let (sink, probe) = (Remote::name("sink", at), Remote::name("probe", at));
        let mut times = [[0.0; 3]; 2];
        for (flood, times) in [0, FLOOD_BYTES].into_iter().zip(&mut times) {
            *times = match pair {
                "erlang -> erlang" => erlang_to_erlang.stall(flood, calls).await?,
                "erlang -> fauxtp" => erlang_to_fauxtp.stall(flood, calls).await?,
                _ => stall(&node, &sink, &probe, flood, calls).await?,
            };
        }
        stalls.push(Stall {
            pair,
            alone: times[0],
            flooded: times[1],
        });
    }
    drop(server);
    Ok((rows, stalls))
}

/// `calls` calls from a fauxtp node to `probe`, while another task casts
/// binaries of `flood` bytes to `sink` without a pause (none if 0): the
/// calls' 50th and 99th percentile and longest times, in microseconds.
async fn stall(
    node: &Node,
    sink: &Remote,
    probe: &Remote,
    flood: usize,
    calls: u64,
) -> Result<[f64; 3], String> {
    let stop = Arc::new(AtomicBool::new(false));
    let flooder = (flood > 0).then(|| {
        let (node, sink, stop) = (node.clone(), sink.clone(), stop.clone());
        tokio::spawn(async move {
            let message = tuple(vec![
                atom("data"),
                Term::from(Binary::from(vec![b'x'; flood])),
            ]);
            while !stop.load(Ordering::Relaxed) {
                if node.cast(&sink, &message).await.is_err() {
                    break;
                }
            }
        })
    });
    let mut times = Vec::with_capacity(calls as usize);
    for _ in 0..calls {
        let started = Instant::now();
        let _: u64 = node
            .call(probe, atom("count"))
            .await
            .map_err(|e| e.to_string())?;
        times.push(started.elapsed().as_secs_f64() * 1e6);
    }
    stop.store(true, Ordering::Relaxed);
    if let Some(flooder) = flooder {
        flooder.await.map_err(|e| e.to_string())?;
    }
    // What the flood sent is counted before the next measurement.
    let _: u64 = node
        .call_timeout(sink, atom("count"), Duration::from_secs(120))
        .await
        .map_err(|e| e.to_string())?;
    times.sort_by(f64::total_cmp);
    let percentile = |p: usize| times[(times.len() * p).div_ceil(100).max(1) - 1];
    Ok([percentile(50), percentile(99), times[times.len() - 1]])
}

/// A fauxtp node's stream of `casts` casts to `sink`, then the call for
/// its count: messages per second.
async fn stream(node: &Node, sink: &Remote, payload: Payload, casts: u64) -> Result<f64, String> {
    let before: u64 = node
        .call(sink, atom("count"))
        .await
        .map_err(|e| e.to_string())?;
    let message = tuple(vec![atom("data"), payload.term()]);
    let started = Instant::now();
    for _ in 0..casts {
        node.cast(sink, &message).await.map_err(|e| e.to_string())?;
    }
    let count: u64 = node
        .call_timeout(sink, atom("count"), Duration::from_secs(120))
        .await
        .map_err(|e| e.to_string())?;
    let elapsed = started.elapsed();
    if count != before + casts {
        return Err(format!(
            "the sink counted {} casts, expected {casts}",
            count - before
        ));
    }
    Ok(casts as f64 / elapsed.as_secs_f64())
}

/// An Erlang node that streams casts to `{sink, Sink}` each time it is
/// asked (`bench_sink:rounds/1`).
struct ErlangSource {
    child: Child,
    who: String,
}

impl ErlangSource {
    fn start(modules: &str, name: &str, sink: &str) -> Result<Self, String> {
        let eval = format!(
            "ok = bench_counter:wait_for('{sink}'), bench_sink:rounds({{sink, '{sink}'}})."
        );
        let child = erl_command(name, modules, &eval)
            .stdin(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run erl ({e}): install Erlang (Debian: erlang-base)"))?;
        Ok(ErlangSource {
            child,
            who: format!("the Erlang source for {sink}"),
        })
    }

    /// One stream: messages per second.
    async fn stream(&mut self, payload: Payload, casts: u64) -> Result<f64, String> {
        let stdin = self.child.stdin.as_mut().ok_or("no stdin")?;
        stdin
            .write_all(format!("{} {casts}\n", payload.name()).as_bytes())
            .await
            .map_err(|e| format!("{} is gone: {e}", self.who))?;
        number(expect_line(&mut self.child, &self.who).await?)
    }

    /// `calls` calls to the sink's node's probe while the node floods the
    /// sink with binaries of `flood` bytes (none if 0): the 50th and 99th
    /// percentile and longest times, in microseconds.
    async fn stall(&mut self, flood: usize, calls: u64) -> Result<[f64; 3], String> {
        let stdin = self.child.stdin.as_mut().ok_or("no stdin")?;
        stdin
            .write_all(format!("stall {flood} {calls}\n").as_bytes())
            .await
            .map_err(|e| format!("{} is gone: {e}", self.who))?;
        let line = expect_line(&mut self.child, &self.who).await?;
        let times: Vec<f64> = line
            .split(' ')
            .map(|n| number(n.to_owned()))
            .collect::<Result<_, _>>()?;
        times
            .try_into()
            .map_err(|_| format!("{}: expected three times, got {line}", self.who))
    }
}
