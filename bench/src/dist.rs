//! `dist_call`: calls between nodes on loopback, over the Erlang
//! distribution protocol: Erlang to Erlang (the reference), fauxtp to
//! Erlang, Erlang to fauxtp, and fauxtp to fauxtp. For each, the latency of
//! sequential calls from one caller, and the calls per second of 8
//! concurrent callers; each the median of several rounds (`--repeat`).
//!
//! It runs real `erl` nodes (`erl`, `erlc` and `epmd` must be on the PATH:
//! Debian's `erlang-base`) and starts epmd on 127.0.0.1 if none runs. The
//! Erlang side is `bench/erlang/bench_counter.erl`.

use std::process::Stdio;
use std::time::{Duration, Instant};

use fauxtp::dist::{Cookie, Node, Remote};
use fauxtp::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};

use crate::harness::Sizes;

pub(crate) const COOKIE: &str = "fauxtp-bench";
const CALLERS: u64 = 8;

struct Counter {
    count: u64,
}

#[genserver(remote)]
impl Counter {
    fn init() -> Self {
        Counter { count: 0 }
    }

    #[call]
    fn add(&mut self, n: u64) -> u64 {
        self.count += n;
        self.count
    }
}

/// One pair's figures.
pub struct Pair {
    pub name: String,
    /// ns per call, one caller.
    pub latency: f64,
    /// calls per second, 8 callers.
    pub throughput: f64,
}

/// Runs the workload, with fauxtp's nodes on a 2-worker runtime and then on
/// a current-thread one; the figures, or why it could not run.
pub fn run(sizes: &Sizes, rounds: usize) -> Result<Vec<Pair>, String> {
    let mut all = Vec::new();
    let rounds = Rounds {
        rounds: rounds.max(1) as u64,
        sequential: sizes.dist_calls,
        per_caller: sizes.dist_concurrent_calls / CALLERS,
    };
    for one_thread in [false, true] {
        let runtime = crate::harness::runtime(one_thread);
        let pairs = runtime.block_on(async move {
            tokio::spawn(pairs(rounds, one_thread))
                .await
                .map_err(|e| e.to_string())?
        })?;
        all.extend(pairs);
    }
    Ok(all)
}

/// How each pair is measured: `rounds` times `sequential` calls from one
/// caller, and `rounds` times `per_caller` calls from each of 8 callers.
#[derive(Clone, Copy)]
struct Rounds {
    rounds: u64,
    sequential: u64,
    per_caller: u64,
}

impl Rounds {
    /// The calls one pair makes.
    fn calls(&self) -> u64 {
        self.rounds * (self.sequential + CALLERS * self.per_caller)
    }
}

/// The pairs, on the runtime this runs on (`one_thread` names it), with
/// Erlang to Erlang as the reference beside them. Every round measures each
/// pair once, so that a slow moment of the machine does not fall on one
/// pair only.
async fn pairs(rounds: Rounds, one_thread: bool) -> Result<Vec<Pair>, String> {
    let run = if one_thread { "ct" } else { "mt" };
    let runtime = if one_thread { "1 thread" } else { "2 workers" };
    let id = std::process::id();
    let erl_server = format!("bench_server_{id}_{run}@localhost");
    let rust_server = format!("bench_rust_{id}_{run}@localhost");
    let rust_client = format!("bench_client_{id}_{run}@localhost");

    let modules = compile()?;
    start_epmd().await?;

    // The Erlang counter, on a node of its own.
    let mut server = erl(
        &erl_server,
        &modules,
        "{ok, _} = bench_counter:start(counter), io:format(\"ready~n\"), receive stop -> ok end.",
    )?;
    expect_line(&mut server, "the Erlang server").await?;

    // The fauxtp counter, on a node of its own, and a fauxtp client node.
    let served = Node::start(&rust_server, Cookie::new(COOKIE))
        .await
        .map_err(|e| e.to_string())?;
    let rust_counter = Counter::start(()).await.map_err(|e| e.to_string())?;
    served
        .register("counter", &rust_counter)
        .map_err(|e| e.to_string())?;
    let node = Node::start(&rust_client, Cookie::new(COOKIE))
        .await
        .map_err(|e| e.to_string())?;
    let erl_counter = Remote::name("counter", &erl_server);
    let fauxtp_counter = Remote::name("counter", &rust_server);

    // An Erlang client node for each server.
    let mut erlang_to_erlang = ErlangClient::start(
        &modules,
        &format!("bench_eclient_{id}_{run}@localhost"),
        &erl_server,
        rounds,
    )?;
    let mut erlang_to_fauxtp = ErlangClient::start(
        &modules,
        &format!("bench_eclient2_{id}_{run}@localhost"),
        &rust_server,
        rounds,
    )?;

    let mut samples: [Samples; 4] = Default::default();
    for _ in 0..rounds.rounds {
        samples[0].push(erlang_to_erlang.round().await?);
        samples[1].push(rust_round(&node, &erl_counter, rounds).await?);
        samples[2].push(erlang_to_fauxtp.round().await?);
        samples[3].push(rust_round(&node, &fauxtp_counter, rounds).await?);
    }

    // Every call added 1: check the counts; each counter had two clients.
    let expected = 2 * rounds.calls();
    for (counter, name) in [(&fauxtp_counter, "fauxtp"), (&erl_counter, "Erlang")] {
        let count: u64 = node
            .call(counter, (fauxtp::dist::term::atom("add"), 0u64))
            .await
            .map_err(|e| e.to_string())?;
        if count != expected {
            return Err(format!(
                "the {name} counter counted {count} calls, expected {expected}"
            ));
        }
    }
    drop(server);
    let names = [
        format!("erlang -> erlang (beside {runtime})"),
        format!("fauxtp -> erlang ({runtime})"),
        format!("erlang -> fauxtp ({runtime})"),
        format!("fauxtp -> fauxtp ({runtime})"),
    ];
    Ok(names
        .into_iter()
        .zip(samples)
        .map(|(name, samples)| samples.pair(name))
        .collect())
}

/// One pair's figures from each round: (ns per call, calls per second).
#[derive(Default)]
struct Samples(Vec<(f64, f64)>);

impl Samples {
    fn push(&mut self, sample: (f64, f64)) {
        self.0.push(sample);
    }

    /// The medians.
    fn pair(self, name: String) -> Pair {
        let (latencies, throughputs) = self.0.into_iter().unzip();
        Pair {
            name,
            latency: median(latencies),
            throughput: median(throughputs),
        }
    }
}

/// An Erlang node that calls `{counter, Server}`: a round each time it is
/// asked (`bench_counter:rounds/4`).
struct ErlangClient {
    child: Child,
    who: String,
}

impl ErlangClient {
    fn start(modules: &str, name: &str, server: &str, rounds: Rounds) -> Result<Self, String> {
        let eval = format!(
            "ok = bench_counter:wait_for('{server}'), \
             bench_counter:rounds({{counter, '{server}'}}, {}, {CALLERS}, {}).",
            rounds.sequential, rounds.per_caller
        );
        let mut command = erl_command(name, modules, &eval);
        let child = command
            .stdin(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run erl ({e}): install Erlang (Debian: erlang-base)"))?;
        Ok(ErlangClient {
            child,
            who: format!("the Erlang client of {server}"),
        })
    }

    /// One round: (ns per call, calls per second).
    async fn round(&mut self) -> Result<(f64, f64), String> {
        let stdin = self.child.stdin.as_mut().ok_or("no stdin")?;
        stdin
            .write_all(b"round\n")
            .await
            .map_err(|e| format!("{} is gone: {e}", self.who))?;
        let latency = number(expect_line(&mut self.child, &self.who).await?)?;
        let throughput = number(expect_line(&mut self.child, &self.who).await?)?;
        Ok((latency, throughput))
    }
}

/// One round of a fauxtp node's calls to `counter`: sequential calls, then
/// 8 concurrent callers. (ns per call, calls per second).
async fn rust_round(node: &Node, counter: &Remote, rounds: Rounds) -> Result<(f64, f64), String> {
    let add = (fauxtp::dist::term::atom("add"), 1u64);
    let started = Instant::now();
    for _ in 0..rounds.sequential {
        let _: u64 = node
            .call(counter, add.clone())
            .await
            .map_err(|e| e.to_string())?;
    }
    let latency = started.elapsed().as_nanos() as f64 / rounds.sequential as f64;
    let started = Instant::now();
    let callers: Vec<_> = (0..CALLERS)
        .map(|_| {
            let (node, counter, add) = (node.clone(), counter.clone(), add.clone());
            tokio::spawn(async move {
                for _ in 0..rounds.per_caller {
                    let _: u64 = node
                        .call(&counter, add.clone())
                        .await
                        .map_err(|e| e.to_string())?;
                }
                Ok::<(), String>(())
            })
        })
        .collect();
    for caller in callers {
        caller.await.map_err(|e| e.to_string())??;
    }
    let throughput = (CALLERS * rounds.per_caller) as f64 / started.elapsed().as_secs_f64();
    Ok((latency, throughput))
}

/// The median of some figures (at least one).
pub(crate) fn median(runs: Vec<f64>) -> f64 {
    crate::median(runs).unwrap_or(f64::NAN)
}

/// Starts epmd on 127.0.0.1 unless one runs already.
pub(crate) async fn start_epmd() -> Result<(), String> {
    Command::new("epmd")
        .arg("-daemon")
        .env("ERL_EPMD_ADDRESS", "127.0.0.1")
        .status()
        .await
        .map(drop)
        .map_err(|e| format!("cannot run epmd ({e}): install Erlang (Debian: erlang-base)"))
}

/// Compiles the Erlang side into a temporary directory.
pub(crate) fn compile() -> Result<String, String> {
    let dir = std::env::temp_dir().join(format!("fauxtp-bench-erl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    for source in [
        concat!(env!("CARGO_MANIFEST_DIR"), "/erlang/bench_counter.erl"),
        concat!(env!("CARGO_MANIFEST_DIR"), "/erlang/bench_sink.erl"),
    ] {
        let status = std::process::Command::new("erlc")
            .arg("-o")
            .arg(&dir)
            .arg(source)
            .status()
            .map_err(|e| format!("cannot run erlc ({e}): install Erlang (Debian: erlang-base)"))?;
        if !status.success() {
            return Err(format!("erlc failed on {source}"));
        }
    }
    Ok(dir.to_string_lossy().into_owned())
}

pub(crate) fn erl(name: &str, modules: &str, eval: &str) -> Result<Child, String> {
    erl_command(name, modules, eval)
        .spawn()
        .map_err(|e| format!("cannot run erl ({e}): install Erlang (Debian: erlang-base)"))
}

/// The command that starts an Erlang node `name` that evaluates `eval`.
/// It runs with glibc's defaults, whatever this program was started with
/// (see "glibc's settings" in the eighth round of docs/performance.md): the settings are for
/// fauxtp's nodes, and the Erlang rows stay the same either way.
pub(crate) fn erl_command(name: &str, modules: &str, eval: &str) -> Command {
    let mut command = Command::new("erl");
    command
        .args(["-noshell", "-sname", name, "-setcookie", COOKIE])
        .args(["-kernel", "inet_dist_use_interface", "{127,0,0,1}"])
        .args(["-pa", modules, "-eval", eval])
        .env_remove("GLIBC_TUNABLES")
        .env_remove("MALLOC_TRIM_THRESHOLD_")
        .stdout(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// The next line `child` prints (read a byte at a time, so that nothing
/// after it is taken from the pipe).
pub(crate) async fn expect_line(child: &mut Child, who: &str) -> Result<String, String> {
    let stdout = child.stdout.as_mut().ok_or("no stdout")?;
    let read = async {
        let mut line = Vec::new();
        loop {
            match stdout.read_u8().await {
                Ok(b'\n') => return Ok(line),
                Ok(byte) => line.push(byte),
                Err(_) => return Err(format!("{who} ended")),
            }
        }
    };
    let line = tokio::time::timeout(Duration::from_secs(120), read)
        .await
        .map_err(|_| format!("{who} said nothing in 120 s"))??;
    Ok(String::from_utf8_lossy(&line).trim().to_owned())
}

pub(crate) fn number(line: String) -> Result<f64, String> {
    line.parse().map_err(|_| format!("not a number: {line}"))
}
