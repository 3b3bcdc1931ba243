//! A hand-made peer over TLS, after the TLS handshake and the distribution
//! handshake in its framing, that sends garbage: as over TCP
//! (tests/malformed.rs), each bad frame is dropped and the connection and
//! the node go on. Needs epmd or the port to run fauxtp's own.

use std::time::Duration;

use eetf::{Atom, FixInteger, Pid, Reference, Term};
use erl_dist::handshake::ClientSideHandshake;
use erl_dist::node::{Creation, LocalNode};
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::compat::TokioAsyncReadCompatExt;

use super::{Packet4, Tls};
use crate::term::{atom, tuple};
use crate::{Cookie, Node, NodeOptions};

const WAIT: Duration = Duration::from_secs(5);

/// Two nodes' TLS, with certificates for `localhost` from one authority.
fn two_nodes_tls() -> (Tls, Tls) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().unwrap();
    let ca = params.self_signed(&ca_key).unwrap();
    let node = || {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .signed_by(&key, &ca, &ca_key)
            .unwrap();
        Tls::from_pem(
            cert.pem().as_bytes(),
            key.serialize_pem().as_bytes(),
            ca.pem().as_bytes(),
        )
        .unwrap()
    };
    (node(), node())
}

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

#[tokio::test]
async fn garbage_over_tls_is_dropped_and_the_connection_goes_on() {
    let (node_tls, peer_tls) = two_nodes_tls();
    let name = format!("tls_garbage_{}@localhost", std::process::id());
    let node = Node::start_with(
        &name,
        Cookie::new("garbage"),
        NodeOptions::new().tls(node_tls),
    )
    .await
    .unwrap();

    let socket = TcpStream::connect(node.listening_on()).await.unwrap();
    let server = ServerName::try_from("localhost").unwrap();
    let stream = tokio_rustls::TlsConnector::from(peer_tls.client.clone())
        .connect(server, socket)
        .await
        .unwrap();
    let me = LocalNode::new("raw@localhost".parse().unwrap(), Creation::new(7));
    let mut handshake = ClientSideHandshake::new(Packet4::new(stream).compat(), me, "garbage");
    handshake
        .execute_send_name(erl_dist::LOWEST_DISTRIBUTION_PROTOCOL_VERSION)
        .await
        .unwrap();
    let (stream, _) = handshake.execute_rest(true).await.unwrap();
    let mut stream = stream.into_inner().into_inner();

    let mut garbage = Vec::new();
    // Not pass-through.
    garbage.extend([0, 0, 0, 2, 99, 1]);
    // Pass-through, but not a term.
    garbage.extend([0, 0, 0, 4, 112, 131, 255, 0]);
    // A control message of an operation nobody handles.
    garbage.extend(frame(&tuple(vec![Term::from(FixInteger::from(99))]), None));
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
        tuple(vec![Term::from(pid), Term::from(tag.clone())]),
        tuple(vec![atom("is_auth"), atom("raw@localhost")]),
    ]);
    garbage.extend(frame(&control, Some(&request)));
    stream.write_all(&garbage).await.unwrap();
    stream.flush().await.unwrap();

    let reply = tokio::time::timeout(WAIT, async {
        loop {
            let len = stream.read_u32().await.unwrap() as usize;
            if len == 0 {
                continue; // a tick
            }
            let mut body = vec![0; len];
            stream.read_exact(&mut body).await.unwrap();
            return body;
        }
    })
    .await
    .expect("the node answers after the garbage");
    let mut cursor = std::io::Cursor::new(&reply[1..]);
    let _control = Term::decode(&mut cursor).unwrap();
    let payload = Term::decode(&mut cursor).unwrap();
    assert_eq!(payload, tuple(vec![Term::from(tag), atom("yes")]));
    assert_eq!(node.connected(), vec!["raw@localhost".to_owned()]);
}
