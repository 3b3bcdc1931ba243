//! A node: its name and cookie, its listener and epmd registration, and its
//! connections to other nodes.

use std::collections::HashMap;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use eetf::{Atom, Pid as ErlPid, Reference, Term, Tuple};
use erl_dist::epmd::{EpmdClient, NodeEntry};
use erl_dist::handshake::{
    ClientSideHandshake, HandshakeError, HandshakeStatus, ServerSideHandshake,
};
use erl_dist::node::{LocalNode, NodeName, PeerNode};
use erl_dist::DistributionFlags;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::AbortHandle;
use tokio_util::compat::TokioAsyncReadCompatExt;

use crate::connection::{self, Outgoing};
use crate::control::{Control, Process};
use crate::error::DistError;
use crate::remote::{Entry, Registered, RemoteCaller, RemoteServer, Watches};
use crate::term::{FromTerm, ToTerm};

/// epmd's well-known port.
const EPMD_PORT: u16 = 4369;
/// How long connecting to a node (epmd lookup, TCP, handshake) may take,
/// as OTP's `net_setuptime` (7 s).
const SETUP_TIME: Duration = Duration::from_secs(7);
/// The serial bit of pids that stand for no process (calls, sends).
const ANONYMOUS: u32 = 1 << 31;
/// How long `ping` waits for `net_kernel`'s answer once connected.
const PING_TIME: Duration = Duration::from_secs(5);
/// The default timeout of a call, as `gen_server:call/2`'s.
const CALL_TIME: Duration = Duration::from_secs(5);

/// The secret two nodes must share to connect: Erlang's cookie.
///
/// It is the only thing that keeps other programs out of a node: anyone who
/// can reach the node's port and knows the cookie can send to its
/// processes. Keep nodes on loopback or a private network.
#[derive(Clone, PartialEq, Eq)]
pub struct Cookie(String);

impl Cookie {
    /// A cookie. Erlang nodes are given theirs with `-setcookie`.
    pub fn new(cookie: impl Into<String>) -> Cookie {
        Cookie(cookie.into())
    }
}

impl fmt::Debug for Cookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cookie(..)")
    }
}

/// How a node starts.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NodeOptions {
    /// Register as a normal node rather than a hidden one: Erlang nodes
    /// then list it in `nodes()` and connect it to the rest of the cluster
    /// (they will try to reach it from every node). Off by default.
    pub published: bool,
    /// The address the node listens on for other nodes: 127.0.0.1 by
    /// default. Another one exposes the node to whoever can reach it and
    /// has the cookie (there is no TLS).
    pub listen: std::net::IpAddr,
}

impl Default for NodeOptions {
    fn default() -> Self {
        NodeOptions {
            published: false,
            listen: Ipv4Addr::LOCALHOST.into(),
        }
    }
}

impl NodeOptions {
    /// The defaults: a hidden node.
    pub fn new() -> NodeOptions {
        NodeOptions::default()
    }

    /// A published (normal) node, or not.
    pub fn published(mut self, published: bool) -> NodeOptions {
        self.published = published;
        self
    }

    /// Listens on `address` instead of 127.0.0.1.
    pub fn listen_on(mut self, address: std::net::IpAddr) -> NodeOptions {
        self.listen = address;
        self
    }
}

/// The message a node monitor delivers when the connection to its node is
/// lost, or cannot be made: Erlang's `{nodedown, Node}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeDown {
    /// The node.
    pub node: String,
}

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

pub(crate) struct Inner {
    local: LocalNode,
    name: String,
    cookie: Cookie,
    epmd: SocketAddr,
    listening: SocketAddr,
    next_id: AtomicU32,
    next_ref: AtomicU64,
    state: Mutex<State>,
    /// Connecting is serialized, so that two callers never open two
    /// connections to one node.
    connecting: tokio::sync::Mutex<()>,
    /// The monitors and links other nodes' processes hold on this node's.
    watches: Watches,
}

#[derive(Default)]
struct State {
    stopped: bool,
    peers: HashMap<String, Peer>,
    /// Replies awaited by this node's own calls: by tag.
    pending: HashMap<Reference, Pending>,
    /// Local processes that other nodes can send to, by fauxtp id.
    exposed: HashMap<u64, Arc<dyn Exposed>>,
    exposed_swept: usize,
    /// Monitors local processes hold on other nodes' processes.
    remote_monitors: HashMap<Reference, RemoteWatch>,
    /// Who is told when the connection to a node goes: by node.
    node_monitors: HashMap<String, Vec<(u64, TellNodeDown)>>,
    /// The servers other nodes can reach by name.
    names: HashMap<String, Arc<dyn Registered>>,
    /// The epmd connection, kept open: closing it unregisters the node.
    epmd_registration: Option<TcpStream>,
    accept: Option<AbortHandle>,
}

/// A local process other nodes can send to.
trait Exposed: Send + Sync {
    fn pid(&self) -> fauxtp::AnyPid;
    fn deliver(&self, message: Term) -> bool;
}

impl<M: From<Term> + Send + 'static> Exposed for fauxtp::Pid<M> {
    fn pid(&self) -> fauxtp::AnyPid {
        self.any()
    }

    fn deliver(&self, message: Term) -> bool {
        self.send(M::from(message)).is_ok()
    }
}

/// A local monitor on another node's process.
struct RemoteWatch {
    /// The connection it was made over.
    connection: u64,
    node: String,
    pid: ErlPid,
    tell: Box<dyn FnOnce(RemoteDown) + Send>,
}

/// The message a monitor on another node's process delivers when that
/// process ends (Erlang's `{'DOWN', Ref, process, Pid, Reason}`).
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteDown {
    /// The monitor, as [`Node::monitor`] returned it.
    pub monitor: RemoteMonitor,
    /// The process.
    pub pid: ErlPid,
    /// Its exit reason as Erlang wrote it; `noproc` if it did not exist,
    /// `noconnection` if the connection to its node was lost.
    pub reason: Term,
}

/// A monitor a local process holds on another node's process.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RemoteMonitor(Reference);

/// Delivers one node monitor's [`NodeDown`].
type TellNodeDown = Box<dyn FnOnce(NodeDown) + Send>;

/// One of this node's calls to another node, while it waits for its
/// answer. The call's monitor on the server goes with the entry, taken by
/// whoever ends the wait: the connection task when the reply comes (it
/// writes the demonitor itself, without waking another task), the monitor
/// when it fires, a lost connection, or the caller giving up.
struct Pending {
    /// The connection the request went out on: an answer counts only from
    /// there.
    connection: u64,
    answer: oneshot::Sender<Answer>,
    /// The caller's pid and the server's name, for the demonitor.
    me: ErlPid,
    name: Atom,
}

impl Pending {
    /// Takes the call's monitor off the server.
    fn demonitor(&self, out: &Outgoing, reference: Reference) {
        out.send(
            Control::DemonitorP {
                from: self.me.clone(),
                to: Process::Name(self.name.clone()),
                reference,
            },
            None,
        );
    }
}

/// A call's wait: dropped before the answer came (the timeout, or the
/// caller giving up), it forgets the call and removes its monitor.
struct PendingCall<'a> {
    inner: &'a Inner,
    out: &'a Outgoing,
    reference: Reference,
}

impl Drop for PendingCall<'_> {
    fn drop(&mut self) {
        let pending = self.inner.lock().pending.remove(&self.reference);
        if let Some(pending) = pending {
            pending.demonitor(self.out, self.reference.clone());
        }
    }
}

/// What comes back for one of this node's calls.
enum Answer {
    Reply(Term),
    /// The monitor on the server fired: the reason.
    Down(Term),
}

/// A server on another node, by registered name: Erlang's `{Name, Node}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Remote {
    name: String,
    node: String,
}

impl Remote {
    /// The server registered as `name` on `node` (`"e1@localhost"`).
    pub fn name(name: &str, node: &str) -> Remote {
        Remote {
            name: name.to_owned(),
            node: node.to_owned(),
        }
    }

    /// Its node.
    pub fn node(&self) -> &str {
        &self.node
    }
}

impl fmt::Display for Remote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{{}, {}}}", self.name, self.node)
    }
}

impl State {
    /// Whether `out` is the live connection to `node`.
    fn is_current(&self, node: &str, out: &Outgoing) -> bool {
        self.peers.get(node).is_some_and(|peer| peer.id == out.id())
    }
}

struct Peer {
    id: u64,
    out: Outgoing,
    task: AbortHandle,
}

impl Node {
    /// Starts a node named `name` (`"rust@localhost"`): listens on a port
    /// of 127.0.0.1 chosen by the system, and registers with the epmd of
    /// this host (which must run: `epmd -daemon`) as a hidden node.
    pub async fn start(name: &str, cookie: Cookie) -> Result<Node, DistError> {
        Node::start_with(name, cookie, NodeOptions::default()).await
    }

    /// [`start`](Node::start), with options.
    pub async fn start_with(
        name: &str,
        cookie: Cookie,
        options: NodeOptions,
    ) -> Result<Node, DistError> {
        let node_name: NodeName = name.parse().map_err(|e| DistError::InvalidName {
            name: name.to_owned(),
            reason: format!("{e}"),
        })?;
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
        let epmd = SocketAddr::from((Ipv4Addr::LOCALHOST, EPMD_PORT));
        let (registration, creation) =
            register(epmd, node_name.name(), listening.port(), options.published).await?;
        let mut local = LocalNode::new(node_name, creation);
        local.flags |= DistributionFlags::DIST_MONITOR | DistributionFlags::DIST_MONITOR_NAME;
        if options.published {
            local.flags |= DistributionFlags::PUBLISHED;
        }
        let inner = Arc::new(Inner {
            name: local.name.to_string(),
            local,
            cookie,
            epmd,
            listening,
            next_id: AtomicU32::new(1),
            next_ref: AtomicU64::new(1),
            state: Mutex::new(State::default()),
            connecting: tokio::sync::Mutex::new(()),
            watches: Watches::start(),
        });
        let accept = tokio::spawn(accept_loop(listener, Arc::downgrade(&inner)));
        {
            let mut state = inner.lock();
            state.epmd_registration = Some(registration);
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

    /// Checks that `node` can be reached, as Erlang's `net_adm:ping/1`:
    /// connects to it if needed and asks its `net_kernel`. `Ok(())` is
    /// Erlang's `pong`; the error says why it would be `pang`.
    pub async fn ping(&self, node: &str) -> Result<(), DistError> {
        let net_kernel = Remote::name("net_kernel", node);
        let request = tuple(vec![atom("is_auth"), atom(&self.inner.name)]);
        match self.inner.gen_call(&net_kernel, request, PING_TIME).await? {
            reply if reply == atom("yes") => Ok(()),
            reply => Err(DistError::Refused {
                node: node.to_owned(),
                answer: reply.to_string(),
            }),
        }
    }

    /// Calls the gen_server `to` on another node, as `gen_server:call/2`
    /// does (a monitor on the server, then the request), and reads its
    /// reply as `R`. Waits at most 5 s. A server that is not there, or
    /// that ends before it replies, fails the call at once with its exit
    /// reason ([`DistError::Exited`]).
    pub async fn call<R: FromTerm>(
        &self,
        to: &Remote,
        request: impl ToTerm,
    ) -> Result<R, DistError> {
        self.call_timeout(to, request, CALL_TIME).await
    }

    /// [`call`](Node::call), waiting at most `timeout`.
    pub async fn call_timeout<R: FromTerm>(
        &self,
        to: &Remote,
        request: impl ToTerm,
        timeout: Duration,
    ) -> Result<R, DistError> {
        let reply = self.inner.gen_call(to, request.to_term(), timeout).await?;
        R::from_term(&reply).map_err(|error| DistError::BadReply {
            server: to.to_string(),
            error,
        })
    }

    /// Casts `request` to the gen_server `to` on another node, as
    /// `gen_server:cast/2`: connects if needed, sends, and returns; nothing
    /// says whether the server exists.
    pub async fn cast(&self, to: &Remote, request: impl ToTerm) -> Result<(), DistError> {
        let message = tuple(vec![atom("$gen_cast"), request.to_term()]);
        self.send(to, message).await
    }

    /// Sends `message` to the process registered as `to` on another node,
    /// as Erlang's `{Name, Node} ! Message`: connects if needed, sends, and
    /// returns. Nothing says whether the process exists.
    pub async fn send(&self, to: &Remote, message: impl ToTerm) -> Result<(), DistError> {
        let out = self.inner.connection(&to.node).await?;
        out.send(
            Control::RegSend {
                from: self.inner.new_pid(),
                to: Atom::from(to.name.as_str()),
            },
            Some(message.to_term()),
        );
        Ok(())
    }

    /// The pid other nodes know the local process `pid` by, to put in a
    /// message to them: what they send to it arrives as `M::from(term)`
    /// (`M` can be [`Term`] itself).
    pub fn pid_of<M: From<Term> + Send + 'static>(&self, pid: &fauxtp::Pid<M>) -> ErlPid {
        self.inner.expose(pid)
    }

    /// Sends `message` to the process `to` of another node (a pid that came
    /// in a message), as Erlang's `Pid ! Message`: connects if needed,
    /// sends, and returns. Nothing says whether the process exists.
    pub async fn send_to(&self, to: &ErlPid, message: impl ToTerm) -> Result<(), DistError> {
        if let Some(local) = self.inner.exposed(to) {
            local.deliver(message.to_term());
            return Ok(());
        }
        let out = self.inner.connection(&to.node.name).await?;
        out.send(Control::Send { to: to.clone() }, Some(message.to_term()));
        Ok(())
    }

    /// Links the local process `local` and the process `remote` of another
    /// node, as Erlang's `link/1`: when either ends, the other gets an exit
    /// signal with its reason. A remote exit signal reaches `local` as one
    /// from the node's watcher process, with the remote reason (`normal`,
    /// `shutdown`, `killed` and `noproc` as themselves, any other as
    /// `ExitReason::Error` with the term's text); a lost connection as
    /// `noconnection`; a remote process that does not exist as `noproc`.
    pub async fn link<M: From<Term> + Send + 'static>(
        &self,
        local: &fauxtp::Pid<M>,
        remote: &ErlPid,
    ) -> Result<(), DistError> {
        let node = remote.node.name.clone();
        let out = self.inner.connection(&node).await?;
        let local_erl = self.inner.expose(local);
        self.inner
            .watches
            .link(&out, local.any(), local_erl.clone(), remote.clone());
        out.send(
            Control::Link {
                from: local_erl,
                to: remote.clone(),
            },
            None,
        );
        Ok(())
    }

    /// Removes the link between `local` and `remote`, as Erlang's
    /// `unlink/1`: from then on neither end's exit reaches the other through
    /// it. Does nothing if they are not linked.
    pub async fn unlink<M: From<Term> + Send + 'static>(
        &self,
        local: &fauxtp::Pid<M>,
        remote: &ErlPid,
    ) -> Result<(), DistError> {
        let out = self.inner.connection(&remote.node.name).await?;
        let local_erl = self.inner.expose(local);
        self.inner.watches.unlink(&local_erl, remote);
        let id = self.inner.next_ref.fetch_add(1, Ordering::Relaxed);
        out.send(
            Control::UnlinkId {
                id: crate::term::ToTerm::to_term(&id),
                from: local_erl,
                to: remote.clone(),
            },
            None,
        );
        Ok(())
    }

    /// Monitors the process `remote` of another node, as Erlang's
    /// `monitor(process, Pid)`: `to` gets one [`RemoteDown`] when it ends
    /// (at once with `noproc` if it does not exist, with `noconnection` if
    /// the connection is lost).
    pub async fn monitor<M: From<RemoteDown> + Send + 'static>(
        &self,
        remote: &ErlPid,
        to: &fauxtp::Pid<M>,
    ) -> Result<RemoteMonitor, DistError> {
        let node = remote.node.name.clone();
        let out = self.inner.connection(&node).await?;
        let reference = self.inner.new_ref();
        let monitor = RemoteMonitor(reference.clone());
        let to = to.clone();
        let watch = RemoteWatch {
            connection: out.id(),
            node: node.clone(),
            pid: remote.clone(),
            tell: Box::new(move |down| {
                let _ = to.send(down);
            }),
        };
        let mut state = self.inner.lock();
        if !state.is_current(&node, &out) {
            // The connection went in the meantime.
            drop(state);
            (watch.tell)(RemoteDown {
                monitor: monitor.clone(),
                pid: remote.clone(),
                reason: atom("noconnection"),
            });
            return Ok(monitor);
        }
        state.remote_monitors.insert(reference.clone(), watch);
        drop(state);
        out.send(
            Control::MonitorP {
                from: self.inner.new_pid(),
                to: Process::Pid(remote.clone()),
                reference,
            },
            None,
        );
        Ok(monitor)
    }

    /// Removes a monitor of [`monitor`](Node::monitor). Once this returns, no
    /// [`RemoteDown`] for it will be sent (one already sent stays in the
    /// mailbox). Returns whether it was still active.
    pub fn demonitor(&self, monitor: &RemoteMonitor) -> bool {
        let Some(watch) = self.inner.lock().remote_monitors.remove(&monitor.0) else {
            return false;
        };
        if let Ok(Some(out)) = self.inner.existing(&watch.node) {
            out.send(
                Control::DemonitorP {
                    from: self.inner.new_pid(),
                    to: Process::Pid(watch.pid),
                    reference: monitor.0.clone(),
                },
                None,
            );
        }
        true
    }

    /// Monitors the connection to `node`, as Erlang's `monitor_node(Node,
    /// true)`: connects to it if needed, and sends `to` one [`NodeDown`]
    /// when the connection is lost (at once if it cannot be made). Each
    /// call makes one monitor.
    pub async fn monitor_node<M>(&self, node: &str, to: &fauxtp::Pid<M>)
    where
        M: From<NodeDown> + Send + 'static,
    {
        let down = NodeDown {
            node: node.to_owned(),
        };
        let Ok(out) = self.inner.connection(node).await else {
            let _ = to.send(down);
            return;
        };
        let to = to.clone();
        let tell: TellNodeDown = Box::new(move |down| {
            let _ = to.send(down);
        });
        let mut state = self.inner.lock();
        if state.is_current(node, &out) {
            state
                .node_monitors
                .entry(node.to_owned())
                .or_default()
                .push((out.id(), tell));
        } else {
            // Lost between connecting and here.
            drop(state);
            tell(down);
        }
    }

    /// Makes `server` reachable from other nodes as `{name, 'this@node'}`:
    /// `gen_server:call({counter, 'rust@localhost'}, {add, 7})` from Erlang,
    /// `GenServer.call({:counter, :"rust@localhost"}, {:add, 7})` from
    /// Elixir. The server's impl block needs `#[genserver(remote)]`. The
    /// name is this node's (not fauxtp's registry), and is freed when the
    /// server ends.
    pub fn register<M: RemoteServer>(
        &self,
        name: &str,
        server: &fauxtp::Pid<M>,
    ) -> Result<(), DistError> {
        let mut state = self.inner.lock();
        if state.stopped {
            return Err(DistError::Stopped);
        }
        if let Some(existing) = state.names.get(name) {
            if existing.pid().is_alive() {
                return Err(DistError::NameTaken {
                    name: name.to_owned(),
                });
            }
        }
        let entry = Entry {
            pid: server.clone(),
            erl_pid: self.inner.erl_pid(server.id()),
        };
        state.names.insert(name.to_owned(), Arc::new(entry));
        Ok(())
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

/// Registers `name` at `port` with epmd; the stream must stay open.
async fn register(
    epmd: SocketAddr,
    name: &str,
    port: u16,
    published: bool,
) -> Result<(TcpStream, erl_dist::node::Creation), DistError> {
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
async fn accept_loop(listener: TcpListener, node: Weak<Inner>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let node = node.clone();
        tokio::spawn(async move {
            // A peer that does not complete its handshake in time is dropped.
            let _ = tokio::time::timeout(SETUP_TIME, accept(stream, node)).await;
        });
    }
}

/// The server side of a handshake; on success the connection is attached.
async fn accept(stream: TcpStream, node: Weak<Inner>) -> Result<(), HandshakeError> {
    let Some(inner) = node.upgrade() else {
        return Ok(());
    };
    let _ = stream.set_nodelay(true);
    let mut handshake =
        ServerSideHandshake::new(stream.compat(), inner.local.clone(), &inner.cookie.0);
    let status = match handshake.execute_recv_name().await? {
        Some(_) => HandshakeStatus::Ok,
        // The peer asks us to name it: fauxtp does not hand out names.
        None => HandshakeStatus::NotAllowed,
    };
    let (stream, peer) = handshake.execute_rest(status).await?;
    inner.attach(stream.into_inner(), peer);
    Ok(())
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new pid of this node for a call or a send that is not made by a
    /// process (the high bit of the serial sets them apart from processes').
    pub(crate) fn new_pid(&self) -> ErlPid {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        ErlPid::new(self.name.as_str(), id, ANONYMOUS, self.local.creation.get())
    }

    /// The pid other nodes know the local process `id` by.
    fn erl_pid(&self, id: u64) -> ErlPid {
        ErlPid::new(
            self.name.as_str(),
            id as u32,
            (id >> 32) as u32,
            self.local.creation.get(),
        )
    }

    /// The local process behind one of this node's pids, if it was exposed
    /// and still runs.
    fn exposed(&self, pid: &ErlPid) -> Option<Arc<dyn Exposed>> {
        if pid.node.name != self.name || pid.serial & ANONYMOUS != 0 {
            return None;
        }
        let id = (u64::from(pid.serial) << 32) | u64::from(pid.id);
        let mut state = self.lock();
        match state.exposed.get(&id) {
            Some(process) if process.pid().is_alive() => Some(process.clone()),
            Some(_) => {
                state.exposed.remove(&id);
                None
            }
            None => None,
        }
    }

    /// Makes a local process reachable from other nodes; its pid there.
    fn expose<M: From<Term> + Send + 'static>(&self, pid: &fauxtp::Pid<M>) -> ErlPid {
        let id = pid.id();
        let mut state = self.lock();
        // Forget the ones that ended, now and then.
        if state.exposed.len() >= 2 * state.exposed_swept.max(64) {
            state.exposed.retain(|_, p| p.pid().is_alive());
            state.exposed_swept = state.exposed.len();
        }
        state
            .exposed
            .entry(id)
            .or_insert_with(|| Arc::new(pid.clone()));
        drop(state);
        self.erl_pid(id)
    }

    /// A new reference of this node.
    pub(crate) fn new_ref(&self) -> Reference {
        let n = self.next_ref.fetch_add(1, Ordering::Relaxed);
        Reference {
            node: Atom::from(self.name.as_str()),
            id: vec![n as u32 & 0x3ffff, (n >> 18) as u32, 0],
            creation: self.local.creation.get(),
        }
    }

    /// A `gen_server` call to `to`: a monitor on it, then the request
    /// tagged with the monitor's reference, as OTP does. The answer is the
    /// reply, or the monitor's down reason as an error.
    async fn gen_call(
        self: &Arc<Self>,
        to: &Remote,
        request: Term,
        timeout: Duration,
    ) -> Result<Term, DistError> {
        let out = self.connection(&to.node).await?;
        let me = self.new_pid();
        let reference = self.new_ref();
        let name = Atom::from(to.name.as_str());
        let (answer, answered) = oneshot::channel();
        let pending = Pending {
            connection: out.id(),
            answer,
            me: me.clone(),
            name: name.clone(),
        };
        if !self.wait_for(&to.node, &out, reference.clone(), pending) {
            return Err(DistError::ConnectionLost {
                node: to.node.clone(),
            });
        }
        // Whatever ends the wait (an answer, the timeout, the caller giving
        // up), the monitor goes and a late answer finds nobody.
        let _call = PendingCall {
            inner: self,
            out: &out,
            reference: reference.clone(),
        };
        out.send(
            Control::MonitorP {
                from: me.clone(),
                to: Process::Name(name.clone()),
                reference: reference.clone(),
            },
            None,
        );
        let message = tuple(vec![
            atom("$gen_call"),
            tuple(vec![Term::from(me.clone()), Term::from(reference)]),
            request,
        ]);
        out.send(Control::RegSend { from: me, to: name }, Some(message));
        match tokio::time::timeout(timeout, answered).await {
            Ok(Ok(Answer::Reply(reply))) => Ok(reply),
            Ok(Ok(Answer::Down(reason))) => Err(DistError::Exited {
                server: to.to_string(),
                reason: reason.to_string(),
            }),
            Ok(Err(_closed)) => Err(DistError::ConnectionLost {
                node: to.node.clone(),
            }),
            Err(_elapsed) => Err(DistError::Timeout {
                node: to.node.clone(),
                after: timeout,
            }),
        }
    }

    /// Records that `reference` waits for an answer over `out`, the
    /// connection to `node`; false if that connection is already gone.
    fn wait_for(&self, node: &str, out: &Outgoing, reference: Reference, pending: Pending) -> bool {
        let mut state = self.lock();
        if !state.is_current(node, out) {
            return false;
        }
        state.pending.insert(reference, pending);
        true
    }

    fn stop(&self) {
        let (peers, pending) = {
            let mut state = self.lock();
            state.stopped = true;
            if let Some(accept) = state.accept.take() {
                accept.abort();
            }
            state.epmd_registration = None;
            state.names.clear();
            (
                std::mem::take(&mut state.peers),
                std::mem::take(&mut state.pending),
            )
        };
        for peer in peers.into_values() {
            peer.out.close();
            peer.task.abort();
            // Links over it break with `noconnection`, before the watcher
            // stops.
            self.watches.connection_lost(peer.id);
        }
        drop(pending);
        self.watches.stop();
    }

    /// The connection to `node`, made if there is none.
    async fn connection(self: &Arc<Self>, node: &str) -> Result<Outgoing, DistError> {
        if let Some(out) = self.existing(node)? {
            return Ok(out);
        }
        let _one_at_a_time = self.connecting.lock().await;
        if let Some(out) = self.existing(node)? {
            return Ok(out);
        }
        tokio::time::timeout(SETUP_TIME, self.connect(node))
            .await
            .unwrap_or_else(|_| {
                Err(DistError::Timeout {
                    node: node.to_owned(),
                    after: SETUP_TIME,
                })
            })
    }

    fn existing(&self, node: &str) -> Result<Option<Outgoing>, DistError> {
        let state = self.lock();
        if state.stopped {
            return Err(DistError::Stopped);
        }
        Ok(state.peers.get(node).map(|peer| peer.out.clone()))
    }

    /// Looks `node` up with the epmd of its host, connects, and shakes
    /// hands.
    async fn connect(self: &Arc<Self>, node: &str) -> Result<Outgoing, DistError> {
        let name: NodeName = node.parse().map_err(|e| DistError::InvalidName {
            name: node.to_owned(),
            reason: format!("{e}"),
        })?;
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
        let handshake_error = |e: HandshakeError| match e {
            HandshakeError::CookieMismatch => DistError::CookieMismatch {
                node: node.to_owned(),
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
            .map_err(handshake_error)?;
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
        Ok(self.attach(stream.into_inner(), peer))
    }

    /// Runs a connection that completed its handshake.
    fn attach(self: &Arc<Self>, stream: TcpStream, peer: PeerNode) -> Outgoing {
        let name = peer.name.to_string();
        let out = Outgoing::new(peer.flags.contains(DistributionFlags::ALIAS));
        let id = out.id();
        let task = tokio::spawn(connection::run(
            stream,
            Arc::downgrade(self),
            name.clone(),
            out.clone(),
        ));
        let peer = Peer {
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
        }
        out
    }

    /// Forgets connection `id` to `node` once it has ended: its pending
    /// replies fail at once.
    pub(crate) fn disconnected(&self, node: &str, id: u64) {
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
    fn lost(&self, mut state: MutexGuard<'_, State>, node: &str, peer: Peer) {
        // Closed first: from here on nothing more is recorded over it (see
        // `Watches`), and what `connection_lost` clears stays cleared.
        peer.out.close();
        peer.task.abort();
        let id = peer.id;
        state.pending.retain(|_, pending| pending.connection != id);
        let monitors: Vec<TellNodeDown> = match state.node_monitors.get_mut(node) {
            Some(list) => {
                let (fire, keep): (Vec<_>, Vec<_>) = std::mem::take(list)
                    .into_iter()
                    .partition(|(c, _)| *c == id);
                *list = keep;
                fire.into_iter().map(|(_, tell)| tell).collect()
            }
            None => Vec::new(),
        };
        let lost: Vec<Reference> = state
            .remote_monitors
            .iter()
            .filter(|(_, watch)| watch.connection == id)
            .map(|(reference, _)| reference.clone())
            .collect();
        let lost: Vec<(Reference, RemoteWatch)> = lost
            .into_iter()
            .filter_map(|r| state.remote_monitors.remove(&r).map(|w| (r, w)))
            .collect();
        drop(state);
        self.watches.connection_lost(id);
        for (reference, watch) in lost {
            (watch.tell)(RemoteDown {
                monitor: RemoteMonitor(reference),
                pid: watch.pid,
                reason: atom("noconnection"),
            });
        }
        for tell in monitors {
            tell(NodeDown {
                node: node.to_owned(),
            });
        }
    }

    /// The call waiting for `reference`, if it was made over the connection
    /// `out` (an answer from elsewhere is not one).
    fn answered(&self, reference: &Reference, out: &Outgoing) -> Option<Pending> {
        let mut state = self.lock();
        match state.pending.get(reference) {
            Some(pending) if pending.connection == out.id() => state.pending.remove(reference),
            _ => None,
        }
    }

    /// An exit signal from `from` to the local process `to`: over their
    /// link, or not (Erlang's `exit/2`).
    fn exit_signal(&self, from: ErlPid, to: ErlPid, reason: Term, via_link: bool) {
        if let Some(process) = self.exposed(&to) {
            self.watches
                .exit(process.pid(), &to, &from, &reason, via_link);
        }
    }

    /// The live server registered as `name`, if there is one.
    fn registered(&self, name: &str) -> Option<Arc<dyn Registered>> {
        let mut state = self.lock();
        match state.names.get(name) {
            Some(entry) if entry.pid().is_alive() => Some(entry.clone()),
            Some(_) => {
                state.names.remove(name);
                None
            }
            None => None,
        }
    }

    /// Handles one control message from `node`; counts in `answers` the
    /// calls of this node it answered (each woke its caller).
    pub(crate) fn receive(
        &self,
        node: &str,
        out: &Outgoing,
        control: Control,
        payload: Option<Term>,
        answers: &mut u32,
    ) {
        match control {
            Control::RegSend { from, to } if to.name == "net_kernel" => {
                if let Some(payload) = payload {
                    net_kernel(out, from, payload);
                }
            }
            Control::Send { to } => {
                let Some(payload) = payload else { return };
                // `{Tag, Reply}` for one of this node's calls: the reply is
                // moved out, not copied.
                let answered = match &payload {
                    Term::Tuple(Tuple { elements }) => match &elements[..] {
                        [Term::Reference(tag), _] => self.answered(tag, out).map(|p| (p, tag)),
                        _ => None,
                    },
                    _ => None,
                };
                if let Some((pending, tag)) = answered {
                    pending.demonitor(out, (**tag).clone());
                    if let Term::Tuple(Tuple { mut elements }) = payload {
                        let _ = pending.answer.send(Answer::Reply(elements.swap_remove(1)));
                    }
                    *answers += 1;
                    return;
                }
                match self.exposed(&to) {
                    Some(process) => {
                        process.deliver(payload);
                    }
                    None => tracing::warn!(
                        peer = node,
                        to = %to,
                        "dropped a message to a process this node does not have"
                    ),
                }
            }
            Control::RegSend { to, .. } => match (self.registered(&to.name), payload) {
                (Some(server), Some(payload)) => deliver(&*server, out, payload),
                (None, payload) => tracing::warn!(
                    peer = node,
                    name = %to.name,
                    message = ?payload.map(|p| p.to_string()),
                    "dropped a message to a name this node does not have"
                ),
                (Some(_), None) => {}
            },
            Control::MonitorP {
                from,
                to,
                reference,
            } => {
                let target = match &to {
                    // net_kernel is always there.
                    Process::Name(name) if name.name == "net_kernel" => return,
                    Process::Name(name) => self.registered(&name.name).map(|server| server.pid()),
                    Process::Pid(pid) => self.exposed(pid).map(|process| process.pid()),
                };
                match target {
                    // A target that ends from here on is still reported with
                    // its reason: the monitor is made at once.
                    Some(target) => self.watches.monitor(out, target, to, from, reference),
                    // Not there: the monitor fires at once, so a caller does
                    // not wait out its timeout.
                    None => out.send(
                        Control::MonitorPExit {
                            from: to,
                            to: from,
                            reference,
                            reason: atom("noproc"),
                        },
                        None,
                    ),
                }
            }
            // A monitor this node took, for one of its calls or for a
            // local process, fired.
            Control::MonitorPExit {
                reference, reason, ..
            } => {
                if let Some(pending) = self.answered(&reference, out) {
                    let _ = pending.answer.send(Answer::Down(reason));
                    *answers += 1;
                    return;
                }
                let mut state = self.lock();
                let ours = state
                    .remote_monitors
                    .get(&reference)
                    .is_some_and(|watch| watch.connection == out.id());
                if let Some(watch) = ours
                    .then(|| state.remote_monitors.remove(&reference))
                    .flatten()
                {
                    drop(state);
                    (watch.tell)(RemoteDown {
                        monitor: RemoteMonitor(reference),
                        pid: watch.pid,
                        reason,
                    });
                }
            }
            Control::DemonitorP { reference, .. } => {
                self.watches.demonitor(out, &reference);
            }
            Control::Link { from, to } => match self.exposed(&to) {
                Some(process) => self.watches.link(out, process.pid(), to, from),
                // A link to a process that does not exist breaks at once.
                None => out.send(
                    Control::Exit {
                        from: to,
                        to: from,
                        reason: atom("noproc"),
                    },
                    None,
                ),
            },
            Control::Exit { from, to, reason } => self.exit_signal(from, to, reason, true),
            Control::Exit2 { from, to, reason } => self.exit_signal(from, to, reason, false),
            Control::UnlinkId { id, from, to } => {
                self.watches.unlink(&to, &from);
                out.send(
                    Control::UnlinkIdAck {
                        id,
                        from: to,
                        to: from,
                    },
                    None,
                )
            }
            _ => {}
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Hands a message sent to a registered server to it: a `gen_server` call
/// (answered when the server replies), a cast, or anything else for its
/// `#[info]` handler.
fn deliver(server: &dyn Registered, out: &Outgoing, message: Term) {
    match gen_message(message) {
        GenMessage::Call {
            caller,
            tag,
            request,
        } => {
            let caller = RemoteCaller::new(out.clone(), server.erl_pid().clone(), caller, tag);
            if let Err(caller) = server.call(&request, caller) {
                caller.answer(tuple(vec![
                    atom("error"),
                    tuple(vec![atom("unknown_call"), request]),
                ]));
            }
        }
        GenMessage::Cast(request) => {
            if !server.cast(&request) {
                tracing::warn!(%request, "dropped a cast that fits no handler");
            }
        }
        GenMessage::Other(message) => {
            if let Err(message) = server.info(message) {
                tracing::warn!(%message, "dropped a message: no #[info] handler takes a Term");
            }
        }
    }
}

enum GenMessage {
    Call {
        caller: ErlPid,
        tag: Term,
        request: Term,
    },
    Cast(Term),
    Other(Term),
}

/// `{'$gen_call', {From, Tag}, Request}` and `{'$gen_cast', Request}`, as
/// gen_server sends them; the tag is opaque (OTP 25 sends `[alias|Ref]`)
/// and goes back as it came.
fn gen_message(message: Term) -> GenMessage {
    let Term::Tuple(Tuple { elements }) = message else {
        return GenMessage::Other(message);
    };
    match <[Term; 3]>::try_from(elements) {
        Ok([Term::Atom(kind), Term::Tuple(Tuple { elements: from }), request])
            if kind.name == "$gen_call" && from.len() == 2 =>
        {
            let mut from = from.into_iter();
            match (from.next(), from.next()) {
                (Some(Term::Pid(caller)), Some(tag)) => GenMessage::Call {
                    caller,
                    tag,
                    request,
                },
                (caller, tag) => GenMessage::Other(tuple(vec![
                    Term::from(Atom::from("$gen_call")),
                    tuple(caller.into_iter().chain(tag).collect()),
                    request,
                ])),
            }
        }
        Ok(elements) => GenMessage::Other(tuple(elements.into())),
        Err(elements) => match <[Term; 2]>::try_from(elements) {
            Ok([Term::Atom(kind), request]) if kind.name == "$gen_cast" => {
                GenMessage::Cast(request)
            }
            Ok(elements) => GenMessage::Other(tuple(elements.into())),
            Err(elements) => GenMessage::Other(tuple(elements)),
        },
    }
}

/// The part of `net_kernel` other nodes need: `{is_auth, Node}` calls,
/// which `net_adm:ping` makes, answered `yes`.
fn net_kernel(out: &Outgoing, from: ErlPid, request: Term) {
    let Term::Tuple(Tuple { elements }) = request else {
        return;
    };
    let [Term::Atom(kind), Term::Tuple(Tuple { elements: caller }), Term::Tuple(Tuple { elements: call })] =
        &elements[..]
    else {
        return;
    };
    let (Some(Term::Atom(call_kind)), [Term::Pid(caller_pid), tag]) = (call.first(), &caller[..])
    else {
        return;
    };
    if kind.name != "$gen_call" || call_kind.name != "is_auth" {
        return;
    }
    let _ = from;
    out.send(
        Control::Send {
            to: caller_pid.clone(),
        },
        Some(tuple(vec![tag.clone(), atom("yes")])),
    );
}

pub(crate) fn atom(name: &str) -> Term {
    Term::from(Atom::from(name))
}

pub(crate) fn tuple(elements: Vec<Term>) -> Term {
    Term::from(Tuple::from(elements))
}
