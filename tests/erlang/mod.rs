//! Real Erlang and Elixir nodes for the distribution tests, started as
//! child processes on loopback and killed when dropped.
//!
//! They need `erl`, `epmd` and `elixir` on the PATH (Debian:
//! `apt-get install --no-install-recommends erlang-base elixir`); epmd is
//! started on 127.0.0.1 if it is not running. Nothing here is skipped: a
//! missing `erl` fails the test and says how to install it.
#![allow(dead_code)]

use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

/// The failure bound of every wait on a node.
pub const WAIT: Duration = Duration::from_secs(10);

const INSTALL: &str = "the distribution tests run real Erlang and Elixir nodes: \
    install them (Debian: apt-get install --no-install-recommends erlang-base elixir)";

/// A node name no other test uses: `prefix` plus this test process's id and
/// a counter, `@localhost`.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}_{}_{n}@localhost", std::process::id())
}

/// Starts epmd on loopback unless one runs already (a second one exits at
/// once).
pub fn ensure_epmd() {
    let status = std::process::Command::new("epmd")
        .arg("-daemon")
        .env("ERL_EPMD_ADDRESS", "127.0.0.1")
        .status()
        .unwrap_or_else(|e| panic!("cannot run epmd ({e}): {INSTALL}"));
    assert!(status.success(), "epmd -daemon failed: {status}");
}

/// A fauxtp node with a name no other test uses and `cookie`, registered
/// with the epmd of this host (started first if it is not running).
pub async fn node(cookie: &str) -> fauxtp::dist::Node {
    ensure_epmd();
    fauxtp::dist::Node::start(&unique("rust"), fauxtp::dist::Cookie::new(cookie))
        .await
        .expect("the node starts (is epmd running?)")
}

/// The directory of the compiled test modules, compiled once per test
/// program with erlc.
fn modules() -> &'static str {
    static DIR: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("fauxtp-erl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let source = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/erlang/ecounter.erl");
        let status = std::process::Command::new("erlc")
            .arg("-o")
            .arg(&dir)
            .arg(source)
            .status()
            .unwrap_or_else(|e| panic!("cannot run erlc ({e}): {INSTALL}"));
        assert!(status.success(), "erlc failed on {source}");
        dir.to_string_lossy().into_owned()
    })
}

/// A running Erlang or Elixir node.
pub struct Beam {
    pub name: String,
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Beam {
    /// Starts `erl` as node `name` with `cookie`, running `eval` (Erlang
    /// expressions, ending with a `.`).
    pub fn erl(name: &str, cookie: &str, eval: &str) -> Beam {
        Beam::erl_with(name, cookie, &[], eval)
    }

    /// [`erl`](Beam::erl), with the Erlang modules of `tests/erlang/`
    /// compiled and on the code path (`ecounter`, a gen_server).
    pub fn erl_with_modules(name: &str, cookie: &str, eval: &str) -> Beam {
        Beam::erl_with(name, cookie, &["-pa", modules()], eval)
    }

    /// [`erl`](Beam::erl) with more arguments for `erl` (`-kernel
    /// net_ticktime 2`, say). A name whose host has a dot is a long name
    /// (`-name`).
    pub fn erl_with(name: &str, cookie: &str, extra: &[&str], eval: &str) -> Beam {
        ensure_epmd();
        let long = name
            .split_once('@')
            .is_some_and(|(_, host)| host.contains('.'));
        let mut command = Command::new("erl");
        command
            .args(["-noshell", if long { "-name" } else { "-sname" }, name])
            .args(["-setcookie", cookie])
            .args(["-kernel", "inet_dist_use_interface", "{127,0,0,1}"])
            .args(extra)
            .args(["-eval", eval]);
        Beam::spawn(name, command, "erl")
    }

    /// Starts `elixir` as node `name` with `cookie`, running `code`.
    pub fn elixir(name: &str, cookie: &str, code: &str) -> Beam {
        ensure_epmd();
        let mut command = Command::new("elixir");
        command.args([
            "--sname",
            name,
            "--cookie",
            cookie,
            "--erl",
            "-kernel inet_dist_use_interface {127,0,0,1}",
            "-e",
            code,
        ]);
        Beam::spawn(name, command, "elixir")
    }

    fn spawn(name: &str, mut command: Command, program: &str) -> Beam {
        let mut child = command
            .stdout(Stdio::piped())
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {program} ({e}): {INSTALL}"));
        let stdout = child.stdout.take().expect("stdout is piped");
        Beam {
            name: name.to_owned(),
            child,
            lines: BufReader::new(stdout).lines(),
        }
    }

    /// The operating system's id of the node's process.
    pub fn os_pid(&self) -> u32 {
        self.child.id().expect("the node runs")
    }

    /// The next line the node prints, within [`WAIT`].
    pub async fn line(&mut self) -> String {
        match tokio::time::timeout(WAIT, self.lines.next_line()).await {
            Ok(Ok(Some(line))) => line,
            Ok(Ok(None)) => panic!("{} ended without printing a line", self.name),
            Ok(Err(e)) => panic!("reading from {}: {e}", self.name),
            Err(_) => panic!("{} printed nothing within {WAIT:?}", self.name),
        }
    }
}
