//! A node: its name and cookie, its listener and epmd registration, and its
//! connections to other nodes.
//!
//! One file per concept:
//!
//! | file | what |
//! |---|---|
//! | `mod.rs` | the [`Node`] handle, its shared state, starting and stopping |
//! | `options.rs` | [`Cookie`], [`NodeOptions`] |
//! | `setup.rs` | how a connection comes to be and goes: epmd, handshakes, attach, lost |
//! | `pids.rs` | pids and references: local processes as other nodes know them |
//! | `calls.rs` | outbound gen_server calls, casts and sends by name ([`Remote`]) |
//! | `monitors.rs` | outbound monitors and links, node monitors |
//! | `names.rs` | the names other nodes call local servers by, and what each connection remembers of them (`NameCache`) |
//! | `pg.rs` | `pg` scopes shared with other nodes ([`PgScope`]) |
//! | `rpc.rs` | functions other nodes call with erpc ([`Node::expose`]) |
//! | `dispatch.rs` | what each control message from a peer does |
//!
//! All of the node's tables sit under one lock, so that a lost connection
//! clears its calls, monitors and node monitors at once.

mod calls;
mod dispatch;
mod monitors;
mod names;
mod options;
mod pg;
mod pids;
mod rpc;
mod setup;

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64};
use std::sync::{Arc, Mutex, MutexGuard};

use erl_dist::node::LocalNode;
use erl_dist::DistributionFlags;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

use crate::error::DistError;
use crate::outgoing::Outgoing;
use crate::watches::InboundWatches;

pub use calls::Remote;
pub use monitors::{NodeDown, NodeMonitor, RemoteDown, RemoteMonitor};
pub use options::{Cookie, NodeOptions};
pub use pg::PgScope;

/// A fauxtp node in an Erlang cluster.
///
/// `Node::start` registers the node with epmd, as a hidden node, and
/// listens on loopback; Erlang and Elixir nodes with the same cookie can
/// then connect to it (`net_adm:ping('rust@localhost')` answers `pong`), and
/// it connects to them on first use. The node runs as long as a handle to it
/// exists (it is cheap to clone) or until [`stop`](Node::stop).
#[derive(Clone)]
pub struct Node {
    inner: Arc<Inner>,
}

/// What a node is keeping track of, from [`Node::stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct NodeStats {
    /// Connections to other nodes.
    pub connections: usize,
    /// Monitors local processes hold on other nodes' processes.
    pub monitors: usize,
    /// Monitors on connections to nodes.
    pub node_monitors: usize,
    /// Monitors other nodes' processes hold on local ones.
    pub inbound_monitors: usize,
    /// Links between local processes and other nodes' processes.
    pub inbound_links: usize,
}

/// What the handles of one node share.
struct Inner {
    local: LocalNode,
    name: String,
    cookie: Cookie,
    epmd: SocketAddr,
    listening: SocketAddr,
    /// How often a silent connection ticks: a quarter of `net_ticktime`.
    tick: std::time::Duration,
    next_id: AtomicU32,
    next_ref: AtomicU64,
    state: Mutex<NodeState>,
    /// The version of `state.names`, read without the lock.
    names_version: Arc<AtomicU64>,
    /// Connecting is serialized, so that two callers never open two
    /// connections to one node.
    connecting: tokio::sync::Mutex<()>,
    /// The monitors and links other nodes' processes hold on this node's.
    inbound: InboundWatches,
    /// TLS for every connection, if the node has it.
    #[cfg(feature = "tls")]
    tls: Option<crate::Tls>,
}

/// The node's tables, each with its own type in the file of its concept.
#[derive(Default)]
struct NodeState {
    stopped: bool,
    /// The live connection to each node, by name.
    peers: HashMap<String, Connection, BuildHasherDefault<NameHasher>>,
    /// Replies awaited by this node's own calls.
    calls: calls::Calls,
    /// Local processes that other nodes can send to.
    exposed: pids::Exposed,
    /// Monitors local processes hold on other nodes' processes.
    monitors: monitors::OutboundMonitors,
    /// Who is told when the connection to a node goes.
    node_monitors: monitors::NodeMonitors,
    /// The servers other nodes can reach by name.
    names: names::Names,
    /// The functions other nodes may call with erpc.
    functions: rpc::Functions,
    /// The `pg` scopes shared with other nodes.
    scopes: pg::Scopes,
    /// The epmd connection, kept open: closing it unregisters the node.
    epmd_registration: Option<TcpStream>,
    /// The port mapper this node runs, when no epmd did.
    own_epmd: Option<crate::epmd::PortMapper>,
    accept: Option<AbortHandle>,
}

/// The hasher of the connections by node name, looked up on every send to
/// another node. A node has few connections, each to a node that passed
/// the handshake, so the table needs no guard against keys chosen to
/// collide, which SipHash gives at more than the cost of the rest of the
/// lookup. Eight bytes at a time: rotate, mix in, multiply.
#[derive(Default)]
struct NameHasher(u64);

impl NameHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

impl Hasher for NameHasher {
    fn finish(&self) -> u64 {
        // The multiplication leaves its best bits high; the table takes
        // its bucket from the low ones.
        self.0.rotate_left(26)
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            self.add(u64::from_le_bytes(word.try_into().expect("eight bytes")));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut last = [0; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(last));
        }
    }
    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }
}

/// A live connection to another node: its queue and its task.
struct Connection {
    id: u64,
    out: Outgoing,
    task: AbortHandle,
}

impl NodeState {
    /// Whether `out` is the live connection to `node`.
    fn is_current(&self, node: &str, out: &Outgoing) -> bool {
        self.peers.get(node).is_some_and(|peer| peer.id == out.id())
    }
}

impl Node {
    /// Starts a node named `name` (`"rust@localhost"`): listens on a port
    /// of 127.0.0.1 chosen by the system, and registers with the epmd of
    /// this host as a hidden node. If no epmd runs, the node runs fauxtp's
    /// own port mapper for as long as it runs (see
    /// [`NodeOptions::start_epmd`]).
    ///
    /// # Errors
    ///
    /// [`DistError::InvalidName`] for a name that is not `name@host`,
    /// [`DistError::Listen`] if the node cannot listen, and
    /// [`DistError::Epmd`] if no epmd answers (and none could be started)
    /// or it refuses the name.
    pub async fn start(name: &str, cookie: Cookie) -> Result<Node, DistError> {
        Node::start_with(name, cookie, NodeOptions::default()).await
    }

    /// [`start`](Node::start), with options.
    ///
    /// # Errors
    ///
    /// As [`start`](Node::start).
    pub async fn start_with(
        name: &str,
        cookie: Cookie,
        options: NodeOptions,
    ) -> Result<Node, DistError> {
        let node_name = setup::node_name(name)?;
        let listen = SocketAddr::from((options.listen, 0));
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|source| DistError::Listen {
                addr: listen,
                source,
            })?;
        let listening = listener.local_addr().map_err(|source| DistError::Listen {
            addr: listen,
            source,
        })?;
        let epmd = setup::local_epmd(options.epmd_port);
        let own_epmd = match options.start_epmd {
            true => setup::epmd_if_none(epmd, options.listen).await,
            false => None,
        };
        let (registration, creation) =
            setup::register(epmd, node_name.name(), listening.port(), options.published).await?;
        let mut local = LocalNode::new(node_name, creation);
        local.flags |= DistributionFlags::DIST_MONITOR
            | DistributionFlags::DIST_MONITOR_NAME
            | DistributionFlags::SPAWN
            | DistributionFlags::DIST_HDR_ATOM_CACHE
            | DistributionFlags::FRAGMENTS;
        if options.published {
            local.flags |= DistributionFlags::PUBLISHED;
        }
        let state = NodeState::default();
        let inner = Arc::new(Inner {
            names_version: state.names.version(),
            name: local.name.to_string(),
            local,
            cookie,
            epmd,
            listening,
            tick: options.net_ticktime / 4,
            next_id: AtomicU32::new(1),
            next_ref: AtomicU64::new(1),
            state: Mutex::new(state),
            connecting: tokio::sync::Mutex::new(()),
            inbound: InboundWatches::start(),
            #[cfg(feature = "tls")]
            tls: options.tls,
        });
        let accept = tokio::spawn(setup::accept_loop(listener, Arc::downgrade(&inner)));
        {
            let mut state = inner.lock();
            state.epmd_registration = Some(registration);
            state.own_epmd = own_epmd;
            state.accept = Some(accept.abort_handle());
        }
        Ok(Node { inner })
    }

    /// The node's full name, `name@host`.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The address the node listens on for other nodes.
    pub fn listening_on(&self) -> SocketAddr {
        self.inner.listening
    }

    /// The nodes connected to this one right now.
    pub fn connected(&self) -> Vec<String> {
        let mut nodes: Vec<String> = self.inner.lock().peers.keys().cloned().collect();
        nodes.sort();
        nodes
    }

    /// How much the node is keeping track of right now: its monitors and
    /// links, in and out. Each entry goes when its connection goes, when
    /// it fires or is removed, or when the local process it was made for
    /// ends, so these figures follow the live processes, not the traffic.
    pub fn stats(&self) -> NodeStats {
        let (monitors, node_monitors) = {
            let state = self.inner.lock();
            (state.monitors.len(), state.node_monitors.len())
        };
        let (inbound_monitors, inbound_links) = self.inner.inbound.counts();
        NodeStats {
            connections: self.connected().len(),
            monitors,
            node_monitors,
            inbound_monitors,
            inbound_links,
        }
    }

    /// Stops the node: closes its connections and its listener, and
    /// unregisters it from epmd. Also done when the last handle is dropped.
    pub fn stop(&self) {
        self.inner.stop();
    }
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Node")
            .field("name", &self.inner.name)
            .field("listening_on", &self.inner.listening)
            .finish_non_exhaustive()
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, NodeState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn stop(&self) {
        let (peers, calls) = {
            let mut state = self.lock();
            state.stopped = true;
            if let Some(accept) = state.accept.take() {
                accept.abort();
            }
            state.epmd_registration = None;
            state.own_epmd = None;
            state.names.clear();
            state.functions.clear();
            state.scopes.stop();
            (
                std::mem::take(&mut state.peers),
                std::mem::take(&mut state.calls),
            )
        };
        for peer in peers.into_values() {
            peer.out.close();
            peer.task.abort();
            // Links over it break with `noconnection`, before the watcher
            // stops.
            self.inbound.connection_lost(peer.id);
        }
        drop(calls);
        self.inbound.stop();
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop();
    }
}
