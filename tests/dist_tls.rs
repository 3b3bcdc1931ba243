//! TLS between nodes: a fauxtp node with `NodeOptions::tls` and Erlang
//! nodes started with `-proto_dist inet_tls` and an `ssl_dist_optfile`
//! (Debian's erlang-ssl), both ways, and fauxtp to fauxtp; peers with a
//! certificate from another authority, for another host, or none, are
//! refused with a clear error; bad input over TLS is dropped as over TCP.
//!
//! The certificates are made here, with rcgen: an authority, and node
//! certificates it signs for `localhost` and 127.0.0.1.

mod erlang;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use erlang::{unique, Beam, WAIT};
use fauxtp::dist::term::{atom, tuple, Binary, Term};
use fauxtp::dist::{Cookie, DistError, Node, NodeOptions, Remote, Tls, ToTerm, Verify};
use fauxtp::prelude::*;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};

const COOKIE: &str = "dist-tls";

/// A certificate authority, and the files of the node certificates it
/// signs, in a directory of their own.
struct Authority {
    dir: PathBuf,
    certificate: rcgen::Certificate,
    key: KeyPair,
}

/// One node's files: its certificate, its key, and the authorities it
/// trusts.
struct NodeFiles {
    certificate: PathBuf,
    key: PathBuf,
    authorities: PathBuf,
}

impl Authority {
    fn new(name: &str) -> Authority {
        static NEXT: AtomicU32 = AtomicU32::new(1);
        let dir = std::env::temp_dir().join(format!(
            "fauxtp-tls-{}-{}-{name}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().unwrap();
        let certificate = params.self_signed(&key).unwrap();
        std::fs::write(dir.join("ca.pem"), certificate.pem()).unwrap();
        Authority {
            dir,
            certificate,
            key,
        }
    }

    /// A node certificate for `hosts`, signed by this authority, trusting
    /// this authority.
    fn node(&self, file: &str, hosts: &[&str]) -> NodeFiles {
        let hosts: Vec<String> = hosts.iter().map(|h| h.to_string()).collect();
        let mut params = CertificateParams::new(hosts).unwrap();
        params.distinguished_name.push(DnType::CommonName, file);
        let key = KeyPair::generate().unwrap();
        let certificate = params
            .signed_by(&key, &self.certificate, &self.key)
            .unwrap();
        let files = NodeFiles {
            certificate: self.dir.join(format!("{file}.pem")),
            key: self.dir.join(format!("{file}.key")),
            authorities: self.dir.join("ca.pem"),
        };
        std::fs::write(&files.certificate, certificate.pem()).unwrap();
        std::fs::write(&files.key, key.serialize_pem()).unwrap();
        files
    }
}

impl NodeFiles {
    fn tls(&self) -> Tls {
        self.tls_verifying(Verify::Peer)
    }

    fn tls_verifying(&self, verify: Verify) -> Tls {
        Tls::from_pem_files_verifying(&self.certificate, &self.key, &self.authorities, verify)
            .unwrap()
    }

    /// Erlang's `ssl_dist_optfile` for these files: verify the peer both
    /// ways, and require its certificate.
    fn erlang_optfile(&self) -> PathBuf {
        self.erlang_optfile_with(true)
    }

    /// [`erlang_optfile`](NodeFiles::erlang_optfile); without a certificate
    /// for the connections it makes unless `client_certificate`.
    fn erlang_optfile_with(&self, client_certificate: bool) -> PathBuf {
        let path = self.certificate.with_extension(if client_certificate {
            "conf"
        } else {
            "nocert.conf"
        });
        let authorities = format!("{{cacertfile, \"{}\"}}", self.authorities.display());
        let own = format!(
            "{{certfile, \"{}\"}}, {{keyfile, \"{}\"}}, ",
            self.certificate.display(),
            self.key.display()
        );
        let client_own = if client_certificate { own.as_str() } else { "" };
        let conf = format!(
            "[{{server, [{own}{authorities}, {{verify, verify_peer}}, {{fail_if_no_peer_cert, true}}]}}, \
              {{client, [{client_own}{authorities}, {{verify, verify_peer}}]}}].\n"
        );
        std::fs::write(&path, conf).unwrap();
        path
    }
}

/// A fauxtp node with `tls`, or with plain TCP for `None`.
async fn node(tls: Option<Tls>) -> Node {
    erlang::ensure_epmd();
    let mut options = NodeOptions::new();
    if let Some(tls) = tls {
        options = options.tls(tls);
    }
    Node::start_with(&unique("rust"), Cookie::new(COOKIE), options)
        .await
        .unwrap()
}

/// An Erlang node over TLS with `files`, running `eval`.
fn erl_tls(files: &NodeFiles, eval: &str) -> Beam {
    erl_tls_with(files.erlang_optfile(), eval)
}

/// An Erlang node over TLS with the `ssl_dist_optfile` `optfile`.
fn erl_tls_with(optfile: PathBuf, eval: &str) -> Beam {
    let optfile = optfile.to_str().unwrap();
    Beam::erl_with(
        &unique("e"),
        COOKIE,
        &["-proto_dist", "inet_tls", "-ssl_dist_optfile", optfile],
        eval,
    )
}

/// The next line `erl` prints that starts with `result: `, without the
/// prefix: Erlang's ssl writes its notices (an alert it sent) to the same
/// output.
async fn result(erl: &mut Beam) -> String {
    loop {
        if let Some(result) = erl.line().await.strip_prefix("result: ") {
            return result.to_owned();
        }
    }
}

/// A binary of `n` bytes that are not all alike.
fn big_binary(n: usize) -> Term {
    Term::from(Binary::from(
        (0..n).map(|i| (i % 251) as u8).collect::<Vec<u8>>(),
    ))
}

/// Exposes `kv:echo(X) -> X` on `node`.
fn expose_echo(node: &Node) {
    node.expose("kv", "echo", |args: &[Term]| match args {
        [x] => Ok(x.clone()),
        _ => Err(atom("badarg")),
    })
    .unwrap();
}

#[tokio::test]
async fn an_erlang_node_over_tls_calls_a_fauxtp_node_and_is_called_back() {
    let ca = Authority::new("ca");
    let node = node(Some(ca.node("rust", &["localhost", "127.0.0.1"]).tls())).await;
    expose_echo(&node);
    // Erlang connects: erpc there and back with a megabyte, many TLS
    // records each way.
    let eval = format!(
        "N = '{}', pong = net_adm:ping(N), \
         B = << <<(I rem 251)>> || I <- lists:seq(0, 999999) >>, \
         B = erpc:call(N, kv, echo, [B], 5000), \
         io:format(\"result: ~p~n\", [nodes(hidden)]), receive stop -> ok end.",
        node.name()
    );
    let mut erl = erl_tls(&ca.node("erl", &["localhost", "127.0.0.1"]), &eval);
    assert_eq!(result(&mut erl).await, format!("[{}]", node.name()));
    // The fauxtp node calls Erlang's rex server over the same connection
    // with a megabyte of its own.
    let size: u64 = node
        .call(
            &Remote::name("rex", &erl.name),
            tuple(vec![
                atom("call"),
                atom("erlang"),
                atom("byte_size"),
                Term::from(fauxtp::dist::term::List::from(vec![big_binary(1_000_000)])),
                atom("user"),
            ]),
        )
        .await
        .unwrap();
    assert_eq!(size, 1_000_000);
}

#[tokio::test]
async fn a_fauxtp_node_over_tls_connects_to_an_erlang_node() {
    let ca = Authority::new("ca");
    let node = node(Some(ca.node("rust", &["localhost"]).tls())).await;
    let mut erl = erl_tls(
        &ca.node("erl", &["localhost"]),
        "io:format(\"result: ready~n\"), receive stop -> ok end.",
    );
    assert_eq!(result(&mut erl).await, "ready");
    node.ping(&erl.name).await.unwrap();
    let name: Term = node
        .call(
            &Remote::name("rex", &erl.name),
            tuple(vec![
                atom("call"),
                atom("erlang"),
                atom("node"),
                Term::from(fauxtp::dist::term::List::nil()),
                atom("user"),
            ]),
        )
        .await
        .unwrap();
    assert_eq!(name, atom(&erl.name));
}

/// `{echo, Text}` answered with `Text`: a server to call from another
/// fauxtp node.
struct Echo;

#[genserver(remote)]
impl Echo {
    fn init() -> Self {
        Echo
    }

    #[call]
    fn echo(&self, text: String) -> String {
        text
    }
}

#[tokio::test]
async fn two_fauxtp_nodes_talk_over_tls() {
    let ca = Authority::new("ca");
    let a = node(Some(ca.node("a", &["localhost"]).tls())).await;
    let b = node(Some(ca.node("b", &["localhost"]).tls())).await;
    let echo = Echo::start(()).await.unwrap();
    b.register("echo", &echo).unwrap();
    let to = Remote::name("echo", b.name());
    for size in [5, 100_000, 3_000_000] {
        let text: String = (0..size).map(|i| (b'a' + (i % 26) as u8) as char).collect();
        let back: String = a
            .call(&to, tuple(vec![atom("echo"), text.to_term()]))
            .await
            .unwrap();
        assert!(back == text, "{size} bytes came back different");
    }
    // Many small calls at once: replies interleave on one TLS connection.
    let calls: Vec<_> = (0..200)
        .map(|i| {
            let (a, to) = (a.clone(), to.clone());
            tokio::spawn(async move {
                let text = format!("call {i}");
                let back: String = a
                    .call(&to, tuple(vec![atom("echo"), text.to_term()]))
                    .await
                    .unwrap();
                assert_eq!(back, text);
            })
        })
        .collect();
    for call in calls {
        tokio::time::timeout(WAIT, call).await.unwrap().unwrap();
    }
    assert_eq!(a.connected(), vec![b.name().to_owned()]);
}

#[tokio::test]
async fn a_certificate_from_another_authority_is_refused_both_ways() {
    let ca = Authority::new("ca");
    let stranger = Authority::new("stranger");
    let node = node(Some(ca.node("rust", &["localhost"]).tls())).await;
    let other = self::node(Some(stranger.node("other", &["localhost"]).tls())).await;

    // fauxtp to fauxtp: the one connecting does not trust the other's.
    let error = node.ping(other.name()).await.unwrap_err();
    assert!(
        matches!(&error, DistError::TlsRefused { node, reason }
            if node == other.name() && reason.contains("UnknownIssuer")),
        "{error}"
    );
    assert!(node.connected().is_empty() && other.connected().is_empty());

    // An Erlang node with a stranger's certificate gets pang, and a fauxtp
    // node that calls it is refused.
    let eval = format!(
        "io:format(\"result: ~p~n\", [net_adm:ping('{}')]), receive stop -> ok end.",
        node.name()
    );
    let mut erl = erl_tls(&stranger.node("erl", &["localhost"]), &eval);
    assert_eq!(result(&mut erl).await, "pang");
    let error = node.ping(&erl.name).await.unwrap_err();
    assert!(
        matches!(&error, DistError::TlsRefused { reason, .. } if reason.contains("UnknownIssuer")),
        "{error}"
    );
    assert!(node.connected().is_empty());
}

#[tokio::test]
async fn a_node_whose_own_certificate_is_not_trusted_is_told_so() {
    // `trusting` trusts the stranger's authority for the peers it
    // connects to, but the peer it calls does not trust its certificate:
    // the refusal comes back as a TLS alert.
    let ca = Authority::new("ca");
    let stranger = Authority::new("stranger");
    let server = ca.node("server", &["localhost"]);
    let client = stranger.node("client", &["localhost"]);
    let mut both = std::fs::read(&client.authorities).unwrap();
    both.extend(std::fs::read(&server.authorities).unwrap());
    let trusting = Tls::from_pem(
        &std::fs::read(&client.certificate).unwrap(),
        &std::fs::read(&client.key).unwrap(),
        &both,
    )
    .unwrap();
    let a = node(Some(trusting)).await;
    let b = node(Some(server.tls())).await;
    let error = a.ping(b.name()).await.unwrap_err();
    assert!(
        matches!(&error, DistError::TlsRefused { reason, .. } if reason.contains("alert")),
        "{error}"
    );
    // The Erlang node does the same with its verify_peer.
    let mut erl = erl_tls(
        &ca.node("erl", &["localhost"]),
        "io:format(\"result: ready~n\"), receive stop -> ok end.",
    );
    assert_eq!(result(&mut erl).await, "ready");
    let error = a.ping(&erl.name).await.unwrap_err();
    assert!(matches!(&error, DistError::TlsRefused { .. }), "{error}");
    assert!(a.connected().is_empty() && b.connected().is_empty());
}

#[tokio::test]
async fn a_peer_without_a_certificate_is_refused() {
    let ca = Authority::new("ca");
    let node = node(Some(ca.node("rust", &["localhost"]).tls())).await;
    // An Erlang node that has no certificate of its own to show when it
    // connects: TLS fails at the fauxtp node, which requires one.
    let eval = format!(
        "io:format(\"result: ~p~n\", [net_adm:ping('{}')]), receive stop -> ok end.",
        node.name()
    );
    let mut erl = erl_tls_with(
        ca.node("erl", &["localhost"]).erlang_optfile_with(false),
        &eval,
    );
    assert_eq!(result(&mut erl).await, "pang");
    assert!(node.connected().is_empty());
    // The fauxtp node can call it: it shows its own certificate.
    node.ping(&erl.name).await.unwrap();
}

#[tokio::test]
async fn a_certificate_for_another_host_is_refused_unless_any_host_will_do() {
    let ca = Authority::new("ca");
    let elsewhere = ca.node("elsewhere", &["db1.example.com"]);
    let b = node(Some(elsewhere.tls())).await;
    let strict = node(Some(ca.node("strict", &["localhost"]).tls())).await;
    let error = strict.ping(b.name()).await.unwrap_err();
    assert!(
        matches!(&error, DistError::TlsRefused { reason, .. } if reason.contains("not valid for name")),
        "{error}"
    );
    let lenient = node(Some(
        ca.node("lenient", &["localhost"])
            .tls_verifying(Verify::PeerAnyHost),
    ))
    .await;
    lenient.ping(b.name()).await.unwrap();
}

#[tokio::test]
async fn a_node_without_tls_is_refused_by_one_with_it_and_the_other_way() {
    let ca = Authority::new("ca");
    let tls = node(Some(ca.node("rust", &["localhost"]).tls())).await;
    let plain = node(None).await;
    let error = plain.ping(tls.name()).await.unwrap_err();
    assert!(
        matches!(&error, DistError::Handshake { reason, .. } if reason.contains("TLS")),
        "{error}"
    );
    let error = tls.ping(plain.name()).await.unwrap_err();
    assert!(matches!(&error, DistError::TlsRefused { .. }), "{error}");

    // A plain Erlang node gets pang from the TLS node; and a TLS Erlang
    // node from the plain one.
    let eval = format!(
        "io:format(\"result: ~p~n\", [net_adm:ping('{}')]), halt().",
        tls.name()
    );
    let mut erl = Beam::erl(&unique("e"), COOKIE, &eval);
    assert_eq!(result(&mut erl).await, "pang");
    let eval = format!(
        "io:format(\"result: ~p~n\", [net_adm:ping('{}')]), halt().",
        plain.name()
    );
    let mut erl = erl_tls(&ca.node("erl", &["localhost"]), &eval);
    assert_eq!(result(&mut erl).await, "pang");
    assert!(tls.connected().is_empty() && plain.connected().is_empty());
    // Both still serve their own kind.
    let other = node(Some(ca.node("other", &["localhost"]).tls())).await;
    other.ping(tls.name()).await.unwrap();
}

#[test]
fn files_that_hold_no_certificate_or_key_are_typed_errors() {
    let ca = Authority::new("ca");
    let files = ca.node("rust", &["localhost"]);
    let missing = Path::new("/nonexistent/node.pem");
    let error = Tls::from_pem_files(missing, &files.key, &files.authorities).unwrap_err();
    assert!(
        matches!(&error, DistError::Tls { reason } if reason.contains("/nonexistent/node.pem")),
        "{error}"
    );
    // A key file given as the certificate: no certificate in it.
    let error = Tls::from_pem_files(&files.key, &files.key, &files.authorities).unwrap_err();
    assert!(
        matches!(&error, DistError::Tls { reason } if reason.contains("no certificate")),
        "{error}"
    );
    // The key of another certificate.
    let other = ca.node("other", &["localhost"]);
    let error =
        Tls::from_pem_files(&files.certificate, &other.key, &files.authorities).unwrap_err();
    assert!(matches!(&error, DistError::Tls { .. }), "{error}");
    let error = Tls::from_pem(b"", b"", b"").unwrap_err();
    assert!(matches!(&error, DistError::Tls { .. }), "{error}");
}
