//! Peers that misbehave after their handshake: one that sends garbage (each
//! bad frame or control message is dropped on its own, and the connection
//! and the node go on), and one that sends without a pause (the node's
//! other tasks still run). The peers here are hand-made (erl_dist's
//! handshake, then raw bytes), since no Erlang node sends malformed frames.
//! Needs epmd (`epmd -daemon`, which these tests start on 127.0.0.1 if it
//! is not running).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use eetf::{Atom, FixInteger, Pid, Reference, Term};
use erl_dist::handshake::ClientSideHandshake;
use erl_dist::node::{Creation, LocalNode};
use fauxtp_dist::term::{atom, tuple};
use fauxtp_dist::{Cookie, Node};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::compat::TokioAsyncReadCompatExt;

const WAIT: Duration = Duration::from_secs(5);

/// A pass-through frame with a control message and a payload.
fn frame(control: &Term, payload: Option<&Term>) -> Vec<u8> {
    let mut body = vec![112];
    control.encode(&mut body).unwrap();
    if let Some(payload) = payload {
        payload.encode(&mut body).unwrap();
    }
    let mut bytes = (body.len() as u32).to_be_bytes().to_vec();
    bytes.extend(body);
    bytes
}

/// Reads frames until one is a message (skipping ticks); its terms.
async fn next_message(stream: &mut TcpStream) -> (Term, Option<Term>) {
    loop {
        let len = stream.read_u32().await.unwrap() as usize;
        if len == 0 {
            continue;
        }
        let mut body = vec![0; len];
        stream.read_exact(&mut body).await.unwrap();
        assert_eq!(body[0], 112);
        let mut cursor = std::io::Cursor::new(&body[1..]);
        let control = Term::decode(&mut cursor).unwrap();
        let payload =
            ((cursor.position() as usize) < len - 1).then(|| Term::decode(&mut cursor).unwrap());
        return (control, payload);
    }
}

/// A node named `name`, and a hand-made peer `raw@localhost` connected to
/// it, after the handshake.
async fn node_and_raw_peer(name: &str) -> (Node, TcpStream) {
    let _ = std::process::Command::new("epmd")
        .arg("-daemon")
        .env("ERL_EPMD_ADDRESS", "127.0.0.1")
        .status();
    let name = format!("{name}_{}@localhost", std::process::id());
    let node = Node::start(&name, Cookie::new("garbage")).await.unwrap();
    let stream = TcpStream::connect(node.listening_on()).await.unwrap();
    let me = LocalNode::new("raw@localhost".parse().unwrap(), Creation::new(7));
    let mut handshake = ClientSideHandshake::new(stream.compat(), me, "garbage");
    handshake
        .execute_send_name(erl_dist::LOWEST_DISTRIBUTION_PROTOCOL_VERSION)
        .await
        .unwrap();
    let (stream, _) = handshake.execute_rest(true).await.unwrap();
    (node, stream.into_inner())
}

#[tokio::test]
async fn garbage_from_a_peer_is_dropped_and_the_connection_goes_on() {
    let (node, mut stream) = node_and_raw_peer("malformed").await;

    let mut garbage = Vec::new();
    // Not pass-through.
    garbage.extend([0, 0, 0, 2, 99, 1]);
    // Pass-through, but not a term.
    garbage.extend([0, 0, 0, 4, 112, 131, 255, 0]);
    // A term, but not a control message.
    garbage.extend(frame(&atom("hello"), None));
    // A control message with too few elements.
    garbage.extend(frame(&tuple(vec![Term::from(FixInteger::from(6))]), None));
    // A control message of an operation nobody handles.
    garbage.extend(frame(&tuple(vec![Term::from(FixInteger::from(99))]), None));
    stream.write_all(&garbage).await.unwrap();

    // Then a ping, as net_adm:ping sends it: the node answers it.
    let pid = Pid::new("raw@localhost", 1, 0, 7);
    let tag = Reference {
        node: Atom::from("raw@localhost"),
        id: vec![1, 2, 3],
        creation: 7,
    };
    let control = tuple(vec![
        Term::from(FixInteger::from(6)),
        Term::from(pid.clone()),
        atom(""),
        atom("net_kernel"),
    ]);
    let request = tuple(vec![
        atom("$gen_call"),
        tuple(vec![Term::from(pid.clone()), Term::from(tag.clone())]),
        tuple(vec![atom("is_auth"), atom("raw@localhost")]),
    ]);
    stream
        .write_all(&frame(&control, Some(&request)))
        .await
        .unwrap();
    let (control, payload) = tokio::time::timeout(WAIT, next_message(&mut stream))
        .await
        .expect("the node answers after the garbage");
    assert_eq!(
        control,
        tuple(vec![
            Term::from(FixInteger::from(2)),
            atom(""),
            Term::from(pid)
        ])
    );
    assert_eq!(payload, Some(tuple(vec![Term::from(tag), atom("yes")])));
    assert_eq!(node.connected(), vec!["raw@localhost".to_owned()]);
}

/// A peer that sends faster than the node reads keeps the connection's
/// socket readable all the time; the connection task must still let the
/// runtime's other tasks run (here, on a current-thread runtime, the test
/// itself). A thread floods the connection until the test, once it runs
/// again, tells it to stop.
#[tokio::test]
async fn a_peer_that_never_pauses_does_not_starve_other_tasks() {
    let (node, stream) = node_and_raw_peer("flooded").await;
    let stream = stream.into_std().unwrap();
    stream.set_nonblocking(false).unwrap();
    // Messages to a pid this node does not have: each is read, decoded and
    // dropped.
    let to = Pid::new(node.name(), 1 << 20, 0, 1);
    let control = tuple(vec![
        Term::from(FixInteger::from(2)),
        atom(""),
        Term::from(to),
    ]);
    let one = frame(&control, Some(&atom("hello")));
    let chunk: Vec<u8> = one
        .iter()
        .copied()
        .cycle()
        .take(one.len() * 1_000)
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicUsize::new(0));
    let flood = std::thread::spawn({
        let (stop, written) = (stop.clone(), written.clone());
        move || {
            use std::io::Write;
            let mut stream = stream;
            let started = std::time::Instant::now();
            // The bound of a failure: 10 s of flooding.
            while started.elapsed() < Duration::from_secs(10) {
                if stop.load(Ordering::Relaxed) {
                    return (true, stream);
                }
                stream.write_all(&chunk).unwrap();
                written.fetch_add(chunk.len(), Ordering::Relaxed);
            }
            (false, stream)
        }
    });
    // The connection task has the socket once the flood is well under way;
    // the test's task gets to run again only if that task lets it.
    while written.load(Ordering::Relaxed) < 32 << 20 {
        tokio::task::yield_now().await;
    }
    stop.store(true, Ordering::Relaxed);
    let (stopped, _still_open) = tokio::task::spawn_blocking(move || flood.join().unwrap())
        .await
        .unwrap();
    assert!(stopped, "the flood ran for 10 s: the test's task never ran");
    assert_eq!(node.connected(), vec!["raw@localhost".to_owned()]);
}

/// A peer that stops reading: the node's sends to it queue up to 1 MiB
/// (beyond what the sockets hold), and then wait, as Erlang suspends a
/// sender on a busy distribution port; once the peer reads again, they go
/// on. Nothing queues without bound.
#[tokio::test]
async fn sends_to_a_peer_that_stops_reading_wait_for_room() {
    use fauxtp_dist::term::Binary;
    use fauxtp_dist::Remote;

    let (node, mut stream) = node_and_raw_peer("busy").await;
    let to = Remote::name("sink", "raw@localhost");
    let big = Term::from(Binary::from(vec![7u8; 64 * 1024]));
    // Sends complete while the socket buffers and the queue take them;
    // then one waits. (A send that is not done within a second is waiting:
    // the connection has nothing else to do.)
    let mut sent = 0u64;
    let waiting = loop {
        let mut send = Box::pin(node.send(&to, &big));
        match tokio::time::timeout(Duration::from_secs(1), &mut send).await {
            Ok(done) => {
                done.unwrap();
                sent += 1;
                // 640 MiB: far beyond what loopback sockets buffer.
                assert!(sent < 10_000, "the sends never waited");
            }
            Err(_) => break send,
        }
    };
    // The peer reads again: the waiting send completes.
    let reader = tokio::spawn(async move {
        let mut buffer = vec![0u8; 1 << 20];
        loop {
            if stream.read(&mut buffer).await.unwrap_or(0) == 0 {
                return;
            }
        }
    });
    tokio::time::timeout(WAIT, waiting)
        .await
        .expect("the send goes on once the peer reads")
        .unwrap();
    assert_eq!(node.connected(), vec!["raw@localhost".to_owned()]);
    reader.abort();
}
