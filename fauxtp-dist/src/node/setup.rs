//! How a connection comes to be and how it goes: the node's registration
//! with epmd, looking other nodes up, both sides of the handshake, the
//! connection's task, and what is tied to a connection when it is lost.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, MutexGuard, Weak};
use std::time::Duration;

use erl_dist::epmd::{EpmdClient, NodeEntry};
use erl_dist::handshake::{
    ClientSideHandshake, HandshakeError, HandshakeStatus, ServerSideHandshake,
};
use erl_dist::node::{Creation, NodeName, PeerNode};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::compat::TokioAsyncReadCompatExt;

use super::{monitors, Connection, Inner, NodeState};
use crate::connection;
use crate::error::DistError;
use crate::outgoing::Outgoing;
use crate::transport::Transport;

/// How long connecting to a node (epmd lookup, TCP, handshake) may take,
/// as OTP's `net_setuptime` (7 s).
pub(super) const SETUP_TIMEOUT: Duration = Duration::from_secs(7);

/// Reads a node name, `name@host`.
pub(super) fn node_name(name: &str) -> Result<NodeName, DistError> {
    name.parse().map_err(|e| DistError::InvalidName {
        name: name.to_owned(),
        reason: format!("{e}"),
    })
}

/// The epmd of this host, on `port`.
pub(super) fn local_epmd(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// Starts fauxtp's own port mapper at `epmd` if nothing answers there. If
/// another program binds it first (two nodes starting at once), that one
/// serves, and nothing is started here.
///
/// A node that listens on loopback only gets a port mapper on loopback;
/// one that listens on another address is for other hosts, whose nodes
/// look it up on its host's port mapper, so that one listens on every
/// address, as epmd does.
pub(super) async fn epmd_if_none(
    epmd: SocketAddr,
    listen: std::net::IpAddr,
) -> Option<crate::epmd::PortMapper> {
    if TcpStream::connect(epmd).await.is_ok() {
        return None;
    }
    let on = match listen {
        ip if ip.is_loopback() => epmd,
        std::net::IpAddr::V4(_) => SocketAddr::from((Ipv4Addr::UNSPECIFIED, epmd.port())),
        std::net::IpAddr::V6(_) => SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, epmd.port())),
    };
    crate::epmd::PortMapper::serve(on).await.ok()
}

/// Registers `name` at `port` with epmd; the stream must stay open.
pub(super) async fn register(
    epmd: SocketAddr,
    name: &str,
    port: u16,
    published: bool,
) -> Result<(TcpStream, Creation), DistError> {
    let epmd_error = |detail: String| DistError::Epmd { addr: epmd, detail };
    let stream = TcpStream::connect(epmd)
        .await
        .map_err(|e| epmd_error(format!("cannot connect ({e}); is epmd running?")))?;
    let (stream, creation) = EpmdClient::new(stream.compat())
        .register(if published {
            NodeEntry::new(name, port)
        } else {
            NodeEntry::new_hidden(name, port)
        })
        .await
        .map_err(|e| epmd_error(format!("registering {name}: {e}")))?;
    Ok((stream.into_inner(), creation))
}

/// Accepts connections from other nodes until the node stops.
pub(super) async fn accept_loop(listener: TcpListener, node: Weak<Inner>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let node = node.clone();
        tokio::spawn(async move {
            // A peer that does not complete its handshake in time is dropped.
            let _ = tokio::time::timeout(SETUP_TIMEOUT, accept(stream, node)).await;
        });
    }
}

/// The server side of a handshake (after TLS's, when the node has TLS); on
/// success the connection is attached.
async fn accept(stream: TcpStream, node: Weak<Inner>) -> Result<(), HandshakeError> {
    let Some(inner) = node.upgrade() else {
        return Ok(());
    };
    let _ = stream.set_nodelay(true);
    #[cfg(feature = "tls")]
    if let Some(tls) = &inner.tls {
        let from = stream.peer_addr().ok();
        let stream = match tokio_rustls::TlsAcceptor::from(tls.server.clone())
            .accept(stream)
            .await
        {
            Ok(stream) => stream,
            Err(error) => {
                let reason = tls_failure(&error).unwrap_or_else(|| error.to_string());
                tracing::warn!(?from, %reason, "refused a connection: TLS failed");
                return Ok(());
            }
        };
        let (stream, peer) = inner
            .handshake_accepting(crate::tls::Packet4::new(stream))
            .await?;
        let (socket, session) = stream.into_inner().into_inner();
        inner.attach(Transport::Tls(socket, Box::new(session.into())), peer);
        return Ok(());
    }
    let (stream, peer) = inner.handshake_accepting(stream).await?;
    inner.attach(Transport::Tcp(stream), peer);
    Ok(())
}

/// The error for a peer that does not answer the handshake's first message
/// as a node does.
fn not_a_node(node: &str) -> DistError {
    DistError::Handshake {
        node: node.to_owned(),
        reason: "it does not answer as a node does (does it expect TLS, or not?)".to_owned(),
    }
}

/// What TLS said, if `error` is TLS refusing the other side or being
/// refused.
#[cfg(feature = "tls")]
fn tls_failure(error: &std::io::Error) -> Option<String> {
    let tls = error.get_ref()?.downcast_ref::<rustls::Error>()?;
    Some(tls.to_string())
}

#[cfg(not(feature = "tls"))]
fn tls_failure(_: &std::io::Error) -> Option<String> {
    None
}

impl Inner {
    /// The connection to `node`, made if there is none: waits up to
    /// [`SETUP_TIMEOUT`] for that.
    pub(super) async fn connection(self: &Arc<Self>, node: &str) -> Result<Outgoing, DistError> {
        if let Some(out) = self.existing(node)? {
            return Ok(out);
        }
        let _one_at_a_time = self.connecting.lock().await;
        if let Some(out) = self.existing(node)? {
            return Ok(out);
        }
        tokio::time::timeout(SETUP_TIMEOUT, self.connect(node))
            .await
            .unwrap_or_else(|_| {
                Err(DistError::Timeout {
                    node: node.to_owned(),
                    after: SETUP_TIMEOUT,
                })
            })
    }

    /// The live connection to `node`, if there is one.
    pub(super) fn existing(&self, node: &str) -> Result<Option<Outgoing>, DistError> {
        let state = self.lock();
        if state.stopped {
            return Err(DistError::Stopped);
        }
        Ok(state.peers.get(node).map(|peer| peer.out.clone()))
    }

    /// Looks `node` up with the epmd of its host, connects, and shakes
    /// hands.
    async fn connect(self: &Arc<Self>, node: &str) -> Result<Outgoing, DistError> {
        let name = node_name(node)?;
        let host = name.host();
        let epmd_stream = TcpStream::connect((host, self.epmd.port()))
            .await
            .map_err(|source| DistError::Connect {
                node: node.to_owned(),
                source,
            })?;
        let entry = EpmdClient::new(epmd_stream.compat())
            .get_node(name.name())
            .await
            .map_err(|e| DistError::Epmd {
                addr: self.epmd,
                detail: format!("looking up {node}: {e}"),
            })?
            .ok_or_else(|| DistError::UnknownNode {
                node: node.to_owned(),
            })?;
        let stream = TcpStream::connect((host, entry.port))
            .await
            .map_err(|source| DistError::Connect {
                node: node.to_owned(),
                source,
            })?;
        let _ = stream.set_nodelay(true);
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.tls {
            let refused = |reason: String| DistError::TlsRefused {
                node: node.to_owned(),
                reason,
            };
            let server_name = crate::Tls::server_name(host).map_err(refused)?;
            let stream = tokio_rustls::TlsConnector::from(tls.client.clone())
                .connect(server_name, stream)
                .await
                .map_err(|e| refused(tls_failure(&e).unwrap_or_else(|| e.to_string())))?;
            let (stream, peer) = self
                .handshake_connecting(node, crate::tls::Packet4::new(stream))
                .await?;
            let (socket, session) = stream.into_inner().into_inner();
            return Ok(self.attach(Transport::Tls(socket, Box::new(session.into())), peer));
        }
        let (stream, peer) = self.handshake_connecting(node, stream).await?;
        Ok(self.attach(Transport::Tcp(stream), peer))
    }

    /// The server side of the distribution handshake, over `stream`.
    async fn handshake_accepting<S>(&self, stream: S) -> Result<(S, PeerNode), HandshakeError>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        let mut handshake =
            ServerSideHandshake::new(stream.compat(), self.local.clone(), &self.cookie.0);
        let status = match handshake.execute_recv_name().await? {
            Some(_) => HandshakeStatus::Ok,
            // The peer asks us to name it: fauxtp does not hand out names.
            None => HandshakeStatus::NotAllowed,
        };
        let (stream, peer) = handshake.execute_rest(status).await?;
        Ok((stream.into_inner(), peer))
    }

    /// The client side of the distribution handshake with `node`, over
    /// `stream`.
    async fn handshake_connecting<S>(
        &self,
        node: &str,
        stream: S,
    ) -> Result<(S, PeerNode), DistError>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        let handshake_error = |e: HandshakeError| match e {
            HandshakeError::CookieMismatch => DistError::CookieMismatch {
                node: node.to_owned(),
            },
            // Under TLS, the other side's verdict on this node's
            // certificate arrives here, with the first answer.
            HandshakeError::Io(io) if tls_failure(&io).is_some() => DistError::TlsRefused {
                node: node.to_owned(),
                reason: tls_failure(&io).unwrap_or_default(),
            },
            other => DistError::Handshake {
                node: node.to_owned(),
                reason: other.to_string(),
            },
        };
        let mut handshake =
            ClientSideHandshake::new(stream.compat(), self.local.clone(), &self.cookie.0);
        handshake
            .execute_send_name(erl_dist::LOWEST_DISTRIBUTION_PROTOCOL_VERSION)
            .await
            .map_err(|e| match e {
                // Closed, or answered with something else than a status:
                // not the handshake it expected (a node with TLS gets a
                // plain one, and answers with a TLS alert).
                HandshakeError::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
                    not_a_node(node)
                }
                HandshakeError::UnexpectedTag {
                    message: "STATUS", ..
                } => not_a_node(node),
                other => handshake_error(other),
            })?;
        let (stream, peer) = handshake.execute_rest(true).await.map_err(|e| match e {
            // An Erlang node refuses a wrong cookie by closing the
            // connection when it has checked our answer to its challenge.
            HandshakeError::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
                DistError::CookieMismatch {
                    node: node.to_owned(),
                }
            }
            other => handshake_error(other),
        })?;
        Ok((stream.into_inner(), peer))
    }

    /// Runs a connection that completed its handshake.
    fn attach(self: &Arc<Self>, stream: Transport, peer: PeerNode) -> Outgoing {
        let name = peer.name.to_string();
        // Headers and fragments when both sides take them; messages to
        // aliases whenever the peer takes them (this node never gets any).
        let out =
            Outgoing::new(peer.flags & (self.local.flags | erl_dist::DistributionFlags::ALIAS));
        let id = out.id();
        let task = tokio::spawn(connection::run(
            stream,
            Arc::downgrade(self),
            name.clone(),
            out.clone(),
            self.tick,
        ));
        let peer = Connection {
            id,
            out: out.clone(),
            task: task.abort_handle(),
        };
        let mut state = self.lock();
        if state.stopped {
            drop(state);
            peer.task.abort();
            return out;
        }
        // An older connection to the same node (it reconnected) ends, and
        // with it what was tied to it.
        if let Some(old) = state.peers.insert(name.clone(), peer) {
            self.lost(state, &name, old);
            state = self.lock();
        }
        // The task may have ended already (the peer hung up at once): it
        // closed the queue before it told the node, which found nothing
        // then. Checked under the lock, so one of the two sees the other.
        if out.is_closed() {
            if let Some(peer) = state.peers.remove(&name) {
                self.lost(state, &name, peer);
            }
            return out;
        }
        // Shared pg scopes discover the new peer's.
        state.scopes.node_up(&name);
        out
    }

    /// Forgets connection `id` to `node` once it has ended: its pending
    /// replies fail at once.
    pub(super) fn disconnected(&self, node: &str, id: u64) {
        let mut state = self.lock();
        // An older connection that a newer one replaced was dealt with then.
        if state.peers.get(node).is_none_or(|peer| peer.id != id) {
            return;
        }
        if let Some(peer) = state.peers.remove(node) {
            self.lost(state, node, peer);
        }
    }

    /// What was tied to a connection that is gone: calls waiting on it fail,
    /// monitors made over it fire with `noconnection`, node monitors fire,
    /// links made over it break, and the peer's monitors on local processes
    /// go.
    fn lost(&self, mut state: MutexGuard<'_, NodeState>, node: &str, peer: Connection) {
        // Closed first: from here on nothing more is recorded over it (see
        // `InboundWatches`), and what `connection_lost` clears stays cleared.
        peer.out.close();
        peer.task.abort();
        let id = peer.id;
        state.calls.connection_lost(id);
        let node_monitors = state.node_monitors.connection_lost(node, id);
        let monitors = state.monitors.connection_lost(id);
        drop(state);
        self.inbound.connection_lost(id);
        monitors::no_connection(self, monitors);
        monitors::node_down(self, node, node_monitors);
    }
}
