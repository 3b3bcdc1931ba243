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
use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};

use crate::harness::Sizes;

const COOKIE: &str = "fauxtp-bench";
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

/// The pairs, on the runtime this runs on (`one_thread` names it); the
/// Erlang to Erlang reference only with the first.
async fn pairs(rounds: Rounds, one_thread: bool) -> Result<Vec<Pair>, String> {
    let run = if one_thread { "ct" } else { "mt" };
    let label = |name: &str| {
        if one_thread {
            format!("{name} (1 thread)")
        } else {
            format!("{name} (2 workers)")
        }
    };
    let id = std::process::id();
    let erl_server = format!("bench_server_{id}_{run}@localhost");
    let rust_server = format!("bench_rust_{id}_{run}@localhost");
    let rust_client = format!("bench_client_{id}_{run}@localhost");

    let modules = compile()?;
    let _ = Command::new("epmd")
        .arg("-daemon")
        .env("ERL_EPMD_ADDRESS", "127.0.0.1")
        .status()
        .await
        .map_err(|e| format!("cannot run epmd ({e}): install Erlang (Debian: erlang-base)"))?;

    // The Erlang counter, on a node of its own.
    let mut server = erl(
        &erl_server,
        &modules,
        "{ok, _} = bench_counter:start(counter), io:format(\"ready~n\"), receive stop -> ok end.",
    )?;
    expect_line(&mut server, "the Erlang server").await?;

    let mut pairs = Vec::new();

    // Erlang -> Erlang: a client node runs the loops.
    if !one_thread {
        let (latency, throughput) =
            erlang_client(&modules, "bench_eclient", &erl_server, rounds).await?;
        pairs.push(Pair {
            name: "erlang -> erlang".to_owned(),
            latency,
            throughput,
        });
    }

    // fauxtp -> Erlang.
    let node = Node::start(&rust_client, Cookie::new(COOKIE))
        .await
        .map_err(|e| e.to_string())?;
    let counter = Remote::name("counter", &erl_server);
    pairs.push(rust_calls(label("fauxtp -> erlang"), &node, &counter, rounds).await?);

    // Erlang -> fauxtp: the fauxtp counter on a node of its own.
    let served = Node::start(&rust_server, Cookie::new(COOKIE))
        .await
        .map_err(|e| e.to_string())?;
    let rust_counter = Counter::start(()).await.map_err(|e| e.to_string())?;
    served
        .register("counter", &rust_counter)
        .map_err(|e| e.to_string())?;
    let (latency, throughput) = erlang_client(
        &modules,
        &format!("bench_eclient2_{run}"),
        &rust_server,
        rounds,
    )
    .await?;
    pairs.push(Pair {
        name: label("erlang -> fauxtp"),
        latency,
        throughput,
    });

    // fauxtp -> fauxtp.
    let counter = Remote::name("counter", &rust_server);
    pairs.push(rust_calls(label("fauxtp -> fauxtp"), &node, &counter, rounds).await?);

    // Every call added 1: check the counts.
    let per_pair = rounds.calls();
    let expected = 2 * per_pair;
    let count: u64 = node
        .call(
            &Remote::name("counter", &rust_server),
            (fauxtp::dist::term::atom("add"), 0u64),
        )
        .await
        .map_err(|e| e.to_string())?;
    if count != expected {
        return Err(format!(
            "the fauxtp counter counted {count} calls, expected {expected}"
        ));
    }
    let count: u64 = node
        .call(
            &Remote::name("counter", &erl_server),
            (fauxtp::dist::term::atom("add"), 0u64),
        )
        .await
        .map_err(|e| e.to_string())?;
    // Erlang to Erlang runs with the first runtime only.
    let expected = if one_thread { per_pair } else { 2 * per_pair };
    if count != expected {
        return Err(format!(
            "the Erlang counter counted {count} calls, expected {expected}"
        ));
    }
    drop(server);
    Ok(pairs)
}

/// An Erlang client node's sequential and concurrent calls to `{counter,
/// Server}`: (ns per call, calls per second), the medians of the rounds.
async fn erlang_client(
    modules: &str,
    name: &str,
    server: &str,
    rounds: Rounds,
) -> Result<(f64, f64), String> {
    let Rounds {
        rounds,
        sequential,
        per_caller,
    } = rounds;
    let eval = format!(
        "ok = bench_counter:wait_for('{server}'), S = {{counter, '{server}'}}, \
         [begin \
            io:format(\"~p~n\", [bench_counter:latency(S, {sequential})]), \
            io:format(\"~p~n\", [bench_counter:throughput(S, {CALLERS}, {per_caller})]) \
          end || _ <- lists:seq(1, {rounds})], halt()."
    );
    let name = format!("{name}_{}@localhost", std::process::id());
    let mut client = erl(&name, modules, &eval)?;
    let who = format!("the Erlang client of {server}");
    let (mut latencies, mut throughputs) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        latencies.push(number(expect_line(&mut client, &who).await?)?);
        throughputs.push(number(expect_line(&mut client, &who).await?)?);
    }
    Ok((median(latencies), median(throughputs)))
}

/// A fauxtp node's sequential and concurrent calls to `counter`, the
/// medians of the rounds.
async fn rust_calls(
    name: String,
    node: &Node,
    counter: &Remote,
    rounds: Rounds,
) -> Result<Pair, String> {
    let add = (fauxtp::dist::term::atom("add"), 1u64);
    let (mut latencies, mut throughputs) = (Vec::new(), Vec::new());
    for _ in 0..rounds.rounds {
        let started = Instant::now();
        for _ in 0..rounds.sequential {
            let _: u64 = node
                .call(counter, add.clone())
                .await
                .map_err(|e| e.to_string())?;
        }
        latencies.push(started.elapsed().as_nanos() as f64 / rounds.sequential as f64);
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
        throughputs.push((CALLERS * rounds.per_caller) as f64 / started.elapsed().as_secs_f64());
    }
    Ok(Pair {
        name,
        latency: median(latencies),
        throughput: median(throughputs),
    })
}

/// The median of some figures (at least one).
fn median(runs: Vec<f64>) -> f64 {
    crate::median(runs).unwrap_or(f64::NAN)
}

/// Compiles the Erlang side into a temporary directory.
fn compile() -> Result<String, String> {
    let dir = std::env::temp_dir().join(format!("fauxtp-bench-erl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let source = concat!(env!("CARGO_MANIFEST_DIR"), "/erlang/bench_counter.erl");
    let status = std::process::Command::new("erlc")
        .arg("-o")
        .arg(&dir)
        .arg(source)
        .status()
        .map_err(|e| format!("cannot run erlc ({e}): install Erlang (Debian: erlang-base)"))?;
    if !status.success() {
        return Err(format!("erlc failed on {source}"));
    }
    Ok(dir.to_string_lossy().into_owned())
}

fn erl(name: &str, modules: &str, eval: &str) -> Result<Child, String> {
    Command::new("erl")
        .args(["-noshell", "-sname", name, "-setcookie", COOKIE])
        .args(["-kernel", "inet_dist_use_interface", "{127,0,0,1}"])
        .args(["-pa", modules, "-eval", eval])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run erl ({e}): install Erlang (Debian: erlang-base)"))
}

/// The next line `child` prints (read a byte at a time, so that nothing
/// after it is taken from the pipe).
async fn expect_line(child: &mut Child, who: &str) -> Result<String, String> {
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

fn number(line: String) -> Result<f64, String> {
    line.parse().map_err(|_| format!("not a number: {line}"))
}
