//! fauxtp's own port mapper (`fauxtp::dist::epmd::PortMapper`): fauxtp
//! nodes and a real Erlang node register with it and find one another, on
//! a port of its own so that the host's epmd is not in the way.

mod erlang;

use std::process::Stdio;

use erlang::{unique, WAIT};
use fauxtp::dist::epmd::PortMapper;
use fauxtp::dist::{Cookie, DistError, Node, NodeOptions};
use tokio::io::{AsyncBufReadExt, BufReader};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port()
}

#[tokio::test]
async fn an_erlang_node_and_a_fauxtp_node_meet_through_fauxtps_port_mapper() {
    let port = free_port();
    let epmd = PortMapper::serve(([127, 0, 0, 1], port).into())
        .await
        .unwrap();
    assert_eq!(epmd.local_addr().port(), port);
    let options = NodeOptions::new().epmd_port(port).start_epmd(false);
    let node = Node::start_with(&unique("rust"), Cookie::new("dist-epmd"), options)
        .await
        .unwrap();
    let erl_name = unique("e");
    let short = |name: &str| name.split('@').next().unwrap().to_owned();
    let eval = format!(
        "pong = net_adm:ping('{node}'), \
         {{ok, Names}} = net_adm:names(), \
         io:format(\"~p~n\", [lists:sort([N || {{N, _}} <- Names])]), \
         receive stop -> ok after 10000 -> ok end, halt().",
        node = node.name()
    );
    let mut erl = tokio::process::Command::new("erl")
        .args(["-noshell", "-sname", &erl_name, "-setcookie", "dist-epmd"])
        .args(["-kernel", "inet_dist_use_interface", "{127,0,0,1}"])
        .args(["-eval", &eval])
        .env("ERL_EPMD_PORT", port.to_string())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("erl runs");
    let mut lines = BufReader::new(erl.stdout.take().unwrap()).lines();
    let listed = tokio::time::timeout(WAIT, lines.next_line())
        .await
        .expect("erl prints the names")
        .unwrap()
        .unwrap();
    let mut expected = [short(node.name()), short(&erl_name)];
    expected.sort();
    assert_eq!(
        listed,
        format!("[\"{}\",\"{}\"]", expected[0], expected[1]),
        "both registered with the port mapper"
    );
    // And the other way: the fauxtp node finds the Erlang node through it.
    node.ping(&erl_name).await.unwrap();
}

#[tokio::test]
async fn a_rust_only_cluster_starts_its_own_port_mapper() {
    let port = free_port();
    let options = NodeOptions::new().epmd_port(port);
    let first = Node::start_with(&unique("rust"), Cookie::new("dist-epmd"), options.clone())
        .await
        .expect("no epmd runs on this port: the first node starts one");
    let second = Node::start_with(&unique("rust"), Cookie::new("dist-epmd"), options.clone())
        .await
        .unwrap();
    second.ping(first.name()).await.unwrap();
    first.ping(second.name()).await.unwrap();

    // A taken name is refused.
    let taken = Node::start_with(second.name(), Cookie::new("dist-epmd"), options).await;
    assert!(matches!(taken, Err(DistError::Epmd { .. })), "{taken:?}");
}

#[tokio::test]
async fn without_an_epmd_and_without_starting_one_the_node_says_so() {
    let port = free_port();
    let options = NodeOptions::new().epmd_port(port).start_epmd(false);
    let error = Node::start_with(&unique("rust"), Cookie::new("dist-epmd"), options)
        .await
        .unwrap_err();
    assert!(matches!(error, DistError::Epmd { .. }), "{error}");
}

/// Sends `bytes` to the port mapper at `port` and returns all it answers
/// before it closes the connection (which it must do within `WAIT`).
async fn exchange(port: u16, bytes: &[u8]) -> Vec<u8> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut answer))
        .await
        .expect("the port mapper closes the connection")
        .unwrap();
    answer
}

#[tokio::test]
async fn garbage_sent_to_the_port_mapper_is_dropped_and_it_keeps_serving() {
    let port = free_port();
    let _epmd = PortMapper::serve(([127, 0, 0, 1], port).into())
        .await
        .unwrap();
    let options = NodeOptions::new().epmd_port(port).start_epmd(false);
    let node = Node::start_with(&unique("rust"), Cookie::new("dist-epmd"), options.clone())
        .await
        .unwrap();

    // A registration too short to read, an unknown request, an empty one,
    // a name that is not UTF-8, an empty name: closed, nothing answered
    // but a refusal.
    assert_eq!(exchange(port, &[0, 5, 120, 1, 2, 3, 4]).await, b"");
    assert_eq!(exchange(port, &[0, 1, 99]).await, b"");
    assert_eq!(exchange(port, &[0, 0]).await, b"");
    let mut bad_name = vec![0, 15, 120, 0, 1, 77, 0, 0, 6, 0, 5, 0, 1, 0xff, 0, 0];
    bad_name[1] = (bad_name.len() - 2) as u8;
    assert_eq!(exchange(port, &bad_name).await, b"");
    let empty_name = [0, 13, 120, 0, 1, 77, 0, 0, 6, 0, 5, 0, 0, 0, 0];
    assert_eq!(exchange(port, &empty_name).await, [118, 1, 0, 0, 0, 0]);
    // A lookup of a name nobody has: not found.
    let mut unknown = vec![0, 0, 122];
    unknown.extend(vec![b'x'; 1000]);
    let len = (unknown.len() - 2) as u16;
    unknown[..2].copy_from_slice(&len.to_be_bytes());
    assert_eq!(exchange(port, &unknown).await, [119, 1]);
    // A request that never comes whole: dropped after a while.
    assert_eq!(exchange(port, &[0, 200, 120, 1]).await, b"");

    // It still serves: the names, and a second node that finds the first.
    let names = exchange(port, &[0, 1, 110]).await;
    let listed = String::from_utf8_lossy(&names[4..]).into_owned();
    let short = node.name().split('@').next().unwrap();
    assert!(
        listed.contains(&format!("name {short} at port")),
        "{listed}"
    );
    let other = Node::start_with(&unique("rust"), Cookie::new("dist-epmd"), options)
        .await
        .unwrap();
    other.ping(node.name()).await.unwrap();
}
