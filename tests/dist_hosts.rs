//! Many hosts: two network namespaces joined by a veth pair stand for two
//! machines on one link. Host A runs a fauxtp node; host B runs a fauxtp
//! node (which starts the port mapper there) and an Erlang node (which
//! uses it). They find one another by long names through the port mapper
//! of each other's host, call and monitor across the link, and see the
//! nodes on the other side go when the link is cut.
//!
//! The test makes the namespaces with `ip netns` (it needs root) and
//! removes them when it ends; where they cannot be made, it says why and
//! checks nothing.

mod erlang;

use std::future::Future;
use std::os::fd::AsRawFd;
use std::process::{Command, Stdio};
use std::time::Duration;

use erlang::WAIT;
use fauxtp::dist::term::{atom, Pid as ErlPid, Term};
use fauxtp::dist::{Cookie, FromTerm, Node, NodeDown, NodeOptions, Remote, RemoteDown};
use fauxtp::prelude::*;
use tokio::io::{AsyncBufReadExt, BufReader};

const COOKIE: &str = "dist-hosts";
const A: &str = "10.213.0.1";
const B: &str = "10.213.0.2";
/// Short, so that a cut link is noticed within seconds.
const TICKTIME: Duration = Duration::from_secs(2);

/// Two namespaces, `a` and `b`, with a veth pair between them; removed on
/// drop (which removes the pair too).
struct Hosts {
    a: String,
    b: String,
    link_a: String,
}

/// Runs `ip` with `args`; its error output if it fails.
fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Hosts {
    fn make() -> Result<Hosts, String> {
        let id = std::process::id();
        let hosts = Hosts {
            a: format!("fxa{id}"),
            b: format!("fxb{id}"),
            link_a: format!("fxva{id}"),
        };
        let link_b = format!("fxvb{id}");
        ip(&["netns", "add", &hosts.a])?;
        ip(&["netns", "add", &hosts.b])?;
        ip(&[
            "link",
            "add",
            &hosts.link_a,
            "type",
            "veth",
            "peer",
            "name",
            &link_b,
        ])?;
        ip(&["link", "set", &hosts.link_a, "netns", &hosts.a])?;
        ip(&["link", "set", &link_b, "netns", &hosts.b])?;
        for (ns, link, address) in [(&hosts.a, &hosts.link_a, A), (&hosts.b, &link_b, B)] {
            ip(&[
                "-n",
                ns,
                "addr",
                "add",
                &format!("{address}/24"),
                "dev",
                link,
            ])?;
            ip(&["-n", ns, "link", "set", link, "up"])?;
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
        }
        Ok(hosts)
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        let _ = ip(&["netns", "del", &self.a]);
        let _ = ip(&["netns", "del", &self.b]);
    }
}

/// Runs `body` on a thread of its own inside namespace `ns`, on a runtime
/// of its own: every socket it opens is on that host.
fn on_host<F, Fut>(ns: &str, body: F) -> std::thread::JoinHandle<()>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    let path = format!("/var/run/netns/{ns}");
    std::thread::spawn(move || {
        let namespace = std::fs::File::open(&path).expect("the namespace exists");
        // SAFETY: setns(2) on a descriptor we own, for this thread only.
        let entered = unsafe { libc::setns(namespace.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(entered, 0, "setns: {}", std::io::Error::last_os_error());
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(body())
    })
}

fn options(address: &str) -> NodeOptions {
    NodeOptions::new()
        .listen_on(address.parse().unwrap())
        .net_ticktime(TICKTIME)
}

#[test]
fn nodes_on_two_hosts_call_monitor_and_see_the_link_cut() {
    let hosts = match Hosts::make() {
        Ok(hosts) => hosts,
        Err(why) => {
            eprintln!("skipped: network namespaces cannot be made here ({why})");
            return;
        }
    };
    let id = std::process::id();
    let rust_a = format!("rust_a{id}@{A}");
    let rust_b = format!("rust_b{id}@{B}");
    let erl_b = format!("e_b{id}@{B}");

    // Host B: a fauxtp node, which starts the port mapper of the host, and
    // an Erlang node that registers with it. It answers `{ping, Node,
    // From}` with whether it reached Node, and its own pid.
    let (ready, b_up) = std::sync::mpsc::channel();
    let (stop_b, stopped) = tokio::sync::oneshot::channel::<()>();
    let host_b = on_host(&hosts.b, {
        let (rust_b, erl_b) = (rust_b.clone(), erl_b.clone());
        move || async move {
            let node = Node::start_with(&rust_b, Cookie::new(COOKIE), options(B))
                .await
                .expect("the node on host B starts");
            let eval = "register(shell, self()), io:format(\"ready~n\"), \
                receive {ping, N, From} -> From ! {pinged, net_adm:ping(N), self()} end, \
                receive stop -> ok end.";
            let mut erl = tokio::process::Command::new("erl")
                .args(["-noshell", "-name", &erl_b, "-setcookie", COOKIE])
                .args(["-start_epmd", "false", "-kernel", "net_ticktime", "2"])
                .args(["-eval", eval])
                .stdout(Stdio::piped())
                .stdin(Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .expect("erl runs");
            let mut lines = BufReader::new(erl.stdout.take().unwrap()).lines();
            let line = tokio::time::timeout(WAIT, lines.next_line()).await;
            assert_eq!(line.unwrap().unwrap().as_deref(), Some("ready"));
            ready.send(()).unwrap();
            let _ = stopped.await;
            drop(erl);
            drop(node);
        }
    });
    b_up.recv_timeout(WAIT + WAIT).expect("host B is up");

    // Host A.
    let cut = format!("{}/{}", hosts.a, hosts.link_a);
    let host_a = on_host(&hosts.a, move || async move {
        let node = Node::start_with(&rust_a, Cookie::new(COOKIE), options(A))
            .await
            .expect("the node on host A starts");

        // Both nodes of host B answer, through host B's port mapper.
        node.ping(&rust_b).await.expect("fauxtp node on B");
        let apps: Term = node
            .call(
                &Remote::name("application_controller", &erl_b),
                atom("which_applications"),
            )
            .await
            .expect("a gen_server call to the Erlang node on B");
        assert!(format!("{apps}").contains("kernel"), "{apps}");

        // And the Erlang node reaches host A, through host A's port mapper
        // (started by this node, on every address).
        let mut me = Ctx::<Term>::detached();
        let ping = (atom("ping"), atom(&rust_a), node.pid_of(&me.pid()));
        node.send(&Remote::name("shell", &erl_b), ping)
            .await
            .unwrap();
        let reply = receive!(me, {
            reply => reply,
            after WAIT => panic!("the Erlang node did not answer"),
        });
        let (_, pinged, shell) = <(Term, Term, ErlPid)>::from_term(&reply).unwrap();
        assert_eq!(pinged, atom("pong"));

        // Monitors across the link: both nodes, and a process.
        let mut downs = Ctx::<NodeDown>::detached();
        node.monitor_node(&rust_b, &downs.pid()).await;
        node.monitor_node(&erl_b, &downs.pid()).await;
        let mut watcher = Ctx::<RemoteDown>::detached();
        let monitor = node.monitor(&shell, &watcher.pid()).await.unwrap();

        // The link is cut: nothing more crosses it, and within a few ticks
        // both nodes of host B are gone, and the monitor fires.
        let (ns, link) = cut.split_once('/').unwrap();
        ip(&["-n", ns, "link", "set", link, "down"]).unwrap();
        let mut gone = Vec::new();
        for _ in 0..2 {
            assert_receives!(downs, NodeDown { node }, WAIT);
            gone.push(node);
        }
        gone.sort();
        let mut expected = vec![rust_b.clone(), erl_b.clone()];
        expected.sort();
        assert_eq!(gone, expected);
        assert_receives!(watcher, RemoteDown { monitor: m, reason, .. } if m == monitor, WAIT);
        assert_eq!(reason, atom("noconnection"));
        assert!(node.connected().is_empty(), "{:?}", node.connected());
    });
    let result = host_a.join();
    let _ = stop_b.send(());
    host_b.join().expect("host B");
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}
