//! A fauxtp node in an Erlang cluster: an Erlang node calls a supervised
//! fauxtp GenServer by name, crashes it with a call and calls it again
//! once its supervisor has restarted it, and the fauxtp node calls back a
//! gen_server of the Erlang node's.
//!
//! It needs Erlang (`erl`, `epmd`): on Debian, `apt-get install
//! --no-install-recommends erlang-base`. It starts epmd on 127.0.0.1 if
//! none runs, and an Erlang node beside itself as a child process:
//!
//! ```text
//! erl -sname erl_demo@localhost -setcookie demo -kernel inet_dist_use_interface '{127,0,0,1}'
//! ```
//!
//! which calls `{counter, 'cluster_demo@localhost'}` the way any Erlang
//! code calls a gen_server (the name is the one the supervisor gives the
//! counter at each start, so it reaches the restarted server too), then
//! registers its shell process and waits. The
//! fauxtp node then pings it and sends the shell `stop`, which ends it. The
//! same calls work by hand from an `erl` or `iex` shell with the cookie
//! `demo`, while a fauxtp node runs.
//!
//! `cargo run --example cluster`

use std::process::Stdio;
use std::time::Duration;

use fauxtp::dist::{Cookie, FromTerm, Node, Remote, ToTerm};
use fauxtp::prelude::*;
use fauxtp::supervisor::{Strategy, Supervisor, SupervisorSpec};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// What the counter takes and gives, as Erlang writes it: `{add, 5}`,
/// `get`, and replies like `{total, 5}`.
#[derive(Debug, Clone, PartialEq, ToTerm, FromTerm)]
enum Total {
    Total(u64),
}

struct Counter {
    count: u64,
}

/// `remote`: reachable from other nodes. A call to `add(n)` is `{add, N}`
/// in Erlang, `get()` is `get`, `crash()` is `crash`, and `reset()` a cast
/// of `reset`.
#[genserver(remote)]
impl Counter {
    fn init() -> Self {
        Counter { count: 0 }
    }

    #[call]
    fn add(&mut self, n: u64) -> Total {
        self.count += n;
        Total::Total(self.count)
    }

    #[call]
    fn get(&self) -> u64 {
        self.count
    }

    /// Panics: the caller gets an exit, and the supervisor starts a fresh
    /// counter under the same name.
    #[call]
    fn crash(&mut self) -> u64 {
        panic!("asked to crash")
    }

    #[cast]
    fn reset(&mut self) {
        self.count = 0;
    }
}

/// The Erlang side: call the fauxtp counter, print what comes back, then
/// wait until told to stop.
const ERLANG: &str = "\
    C = {counter, 'cluster_demo@localhost'}, \
    {total, 5} = gen_server:call(C, {add, 5}), \
    {total, 7} = gen_server:call(C, {add, 2}), \
    gen_server:cast(C, reset), \
    io:format(\"erlang: counter is ~p after a reset~n\", [gen_server:call(C, get)]), \
    {'EXIT', {noproc, _}} = (catch gen_server:call({nosuch, 'cluster_demo@localhost'}, get)), \
    io:format(\"erlang: a missing name fails at once with noproc~n\"), \
    {'EXIT', _} = (catch gen_server:call(C, crash)), \
    Again = fun Again(N) -> case catch gen_server:call(C, {add, 3}) of \
        {total, 3} -> ok; \
        _ when N > 0 -> timer:sleep(10), Again(N - 1) end end, \
    ok = Again(200), \
    io:format(\"erlang: after a crash, the restarted counter answers {total, 3}~n\"), \
    register(demo_shell, self()), \
    io:format(\"ready~n\"), \
    receive stop -> halt() end.";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The crash and the restart are reported to stderr (`RUST_LOG`
    // filters); the crash report says where the panic happened, so Rust's
    // own panic message is silenced.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "fauxtp=info".into()),
        )
        .init();
    std::panic::set_hook(Box::new(|_| {}));
    fauxtp::process::capture_panic_locations();
    run().await
}

/// The whole demo; `tests/examples.rs` runs it too.
pub async fn run() -> Result<(), Box<dyn std::error::Error>> {
    // epmd on loopback (a second one exits at once if one runs).
    Command::new("epmd")
        .arg("-daemon")
        .env("ERL_EPMD_ADDRESS", "127.0.0.1")
        .status()
        .await
        .map_err(|e| format!("cannot run epmd ({e}); install Erlang (Debian: erlang-base)"))?;

    let node = Node::start("cluster_demo@localhost", Cookie::new("demo")).await?;
    // The counter is supervised and named in fauxtp's registry; `{counter,
    // Node}` from another node resolves through it, whichever server holds
    // the name at that moment.
    let spec = SupervisorSpec::new(Strategy::OneForOne)
        .child(Counter::child(()).id("counter").named("counter"));
    let _tree = Supervisor::start(spec).await?;
    println!(
        "fauxtp: {} serves {{counter, {}}}",
        node.name(),
        node.name()
    );

    let mut erl = Command::new("erl")
        .args([
            "-noshell",
            "-sname",
            "erl_demo@localhost",
            "-setcookie",
            "demo",
        ])
        .args(["-kernel", "inet_dist_use_interface", "{127,0,0,1}"])
        .args(["-eval", ERLANG])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run erl ({e}); install Erlang (Debian: erlang-base)"))?;
    let mut lines = BufReader::new(erl.stdout.take().ok_or("no stdout")?).lines();
    loop {
        let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
            .await
            .map_err(|_| "the Erlang node said nothing for 10 s")??
            .ok_or("the Erlang node ended early")?;
        if line == "ready" {
            break;
        }
        println!("{line}");
    }

    // Now the other way: the fauxtp node calls the Erlang node.
    node.ping("erl_demo@localhost").await?;
    println!("fauxtp: erl_demo@localhost answers ping");
    let shell = Remote::name("demo_shell", "erl_demo@localhost");
    println!("fauxtp: connected to {:?}", node.connected());
    // The Erlang shell process is not a gen_server: a plain message, as
    // `{demo_shell, Node} ! stop` in Erlang.
    node.send(&shell, fauxtp::dist::term::atom("stop")).await?;
    let status = tokio::time::timeout(Duration::from_secs(10), erl.wait()).await??;
    println!("fauxtp: the Erlang node stopped ({status})");
    // The restarted counter, as the Erlang node left it.
    let counter: Pid<CounterMsg> = fauxtp::registry::whereis("counter")?;
    assert_eq!(counter.get().await?, 3);
    Ok(())
}
