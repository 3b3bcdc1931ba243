//! Process groups across nodes: a `pg` scope this node shares with the
//! same scope on other nodes, Erlang's and fauxtp's, in the messages of
//! Erlang's `pg` module.
//!
//! Per shared scope the node runs a scope process, registered under the
//! scope's name, as Erlang does. With each peer scope it meets:
//!
//! - `{discover, ScopePid}` asks a peer for its members: sent to
//!   `{Scope, Node}` on every new connection (Erlang does not discover
//!   hidden nodes, so the hidden side must), and every second to connected
//!   nodes whose scope has not answered (it may start later);
//! - `{'$gen_cast', {sync, ScopePid, [{Group, [Pid]}]}}` answers a
//!   discover with the local members; a sync replaces what is known of
//!   that peer;
//! - `{join, ScopePid, Group, PidOrPids}` and `{leave, ScopePid,
//!   PidOrPids, [Group]}` follow local joins and leaves (and members that
//!   end), to every known peer.
//!
//! Each side monitors the other's scope process: a peer's members go when
//! it ends or its node's connection does. Everything is sent in exactly
//! these shapes (an Erlang scope process crashes on any other), and what
//! comes in any other shape is dropped with a log line.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use eetf::{Atom, List, Pid as ErlPid, Term, Tuple};
use fauxtp::pg::PgError;
use fauxtp::{AnyPid, Ctx, Envelope, MonitorRef};

use super::monitors::{RemoteDown, RemoteMonitor};
use super::pids::Reachable;
use super::{Inner, Node};
use crate::control::Control;
use crate::error::DistError;
use crate::gen::{Registered, RemoteCaller};
use crate::term::{atom, tuple, ToTerm};

/// How often the scope asks connected nodes whose scope it has not met.
const REDISCOVER: Duration = Duration::from_secs(1);

/// A `pg` scope shared with the same scope on the other nodes this node is
/// connected to, Erlang's and fauxtp's: from [`Node::pg_scope`].
///
/// Members are processes of any node, as the pids other nodes know them
/// by. Local members join through this handle (their message type reads
/// terms, as [`Node::pid_of`] asks); they are also members of the local
/// [`fauxtp::pg::Scope`] of the same name, for typed reads. A member that
/// ends leaves all its groups, on every node. Group names are atoms on the
/// wire (`workers` is Erlang's `workers`, Elixir's `:workers`).
#[derive(Clone)]
pub struct PgScope {
    shared: Arc<Shared>,
}

/// What the handle and the scope process share.
struct Shared {
    name: String,
    /// The scope process, as other nodes know it.
    me: ErlPid,
    process: fauxtp::Pid<ScopeMsg>,
    node: Weak<Inner>,
    groups: Mutex<Groups>,
}

/// Local and remote members. Under one lock, and sent under it too, so
/// that every peer hears of local joins and leaves in the order they
/// happened, after the sync that told it the members before them.
#[derive(Default)]
struct Groups {
    /// Local members by group, one entry per join, in join order.
    local: BTreeMap<String, Vec<ErlPid>>,
    /// Each local member: how to reach it, its monitor, its groups (one
    /// entry per join).
    members: HashMap<ErlPid, LocalMember>,
    /// The peer scopes met, by their pid.
    peers: HashMap<ErlPid, Peer>,
}

struct LocalMember {
    process: Arc<dyn Reachable>,
    monitor: MonitorRef,
    groups: Vec<String>,
}

#[derive(Default)]
struct Peer {
    monitor: Option<RemoteMonitor>,
    /// Its members by group, as it said: one entry per join.
    groups: HashMap<Term, Vec<ErlPid>>,
}

/// What the scope process handles.
enum ScopeMsg {
    /// A message from a peer scope (or anyone who sent to the scope).
    Peer(Term),
    /// A peer scope ended, or its node's connection went.
    PeerDown(RemoteDown),
    /// A connection to `node` was made.
    NodeUp(String),
    /// Time to ask the nodes whose scope has not answered.
    Rediscover,
    Stop,
}

impl From<Term> for ScopeMsg {
    fn from(term: Term) -> Self {
        ScopeMsg::Peer(term)
    }
}

impl From<RemoteDown> for ScopeMsg {
    fn from(down: RemoteDown) -> Self {
        ScopeMsg::PeerDown(down)
    }
}

/// The scope as other nodes reach it by name.
struct ScopeName {
    process: fauxtp::Pid<ScopeMsg>,
    me: ErlPid,
}

impl Registered for ScopeName {
    fn pid(&self) -> AnyPid {
        self.process.any()
    }

    fn is_alive(&self) -> bool {
        self.process.is_alive()
    }

    fn erl_pid(&self) -> &ErlPid {
        &self.me
    }

    fn call(&self, _: &Term, caller: RemoteCaller) -> Result<(), RemoteCaller> {
        Err(caller)
    }

    fn cast(&self, request: Term) -> Result<(), Term> {
        let cast = tuple(vec![atom("$gen_cast"), request]);
        let _ = self.process.send(ScopeMsg::Peer(cast));
        Ok(())
    }

    fn info(&self, message: Term) -> Result<(), Term> {
        let _ = self.process.send(ScopeMsg::Peer(message));
        Ok(())
    }
}

/// The scopes a node shares, by name: told of each new connection.
#[derive(Default)]
pub(super) struct Scopes {
    by_name: HashMap<String, PgScope>,
}

impl Scopes {
    /// The scope processes to tell of a new connection.
    pub(super) fn node_up(&self, node: &str) {
        for scope in self.by_name.values() {
            let _ = scope.shared.process.send(ScopeMsg::NodeUp(node.to_owned()));
        }
    }

    /// Stops every scope process (the node stops).
    pub(super) fn stop(&mut self) {
        for (_, scope) in self.by_name.drain() {
            let _ = scope.shared.process.send(ScopeMsg::Stop);
        }
    }
}

impl Node {
    /// Shares the `pg` scope `name` (`"pg"` is OTP's default scope) with
    /// the nodes this one is connected to, now and later: their members of
    /// its groups and this node's are members everywhere. The same handle
    /// comes back for the same name.
    ///
    /// Erlang nodes take part once they run the scope (`pg:start_link()`,
    /// or `-kernel start_pg true`, for `pg`; `:pg.start_link()` in Elixir).
    ///
    /// # Errors
    ///
    /// [`DistError::NameTaken`] if a server is registered with the node
    /// under `name`; [`DistError::InvalidGroup`] for a name that is no
    /// atom (empty, or longer than 255 characters);
    /// [`DistError::Stopped`].
    pub fn pg_scope(&self, name: &str) -> Result<PgScope, DistError> {
        check_atom(name)?;
        {
            let state = self.inner.lock();
            if state.stopped {
                return Err(DistError::Stopped);
            }
            if let Some(scope) = state.scopes.by_name.get(name) {
                return Ok(scope.clone());
            }
        }
        let (tx, rx) = tokio::sync::oneshot::channel::<Arc<Shared>>();
        let process = fauxtp::spawn(move |ctx: Ctx<ScopeMsg>| async move {
            // The handle is made with this process's pid.
            let Ok(shared) = rx.await else {
                return Ok(());
            };
            run(ctx, shared).await;
            Ok(())
        });
        let me = self.inner.expose(&process);
        let scope = PgScope {
            shared: Arc::new(Shared {
                name: name.to_owned(),
                me: me.clone(),
                process: process.clone(),
                node: Arc::downgrade(&self.inner),
                groups: Mutex::new(Groups::default()),
            }),
        };
        let mut state = self.inner.lock();
        // Made by another caller meanwhile, or the node stopped: this
        // process is not needed (dropping `tx` ends it).
        if let Some(scope) = state.scopes.by_name.get(name) {
            return Ok(scope.clone());
        }
        if state.stopped {
            return Err(DistError::Stopped);
        }
        state.names.insert(
            name,
            Arc::new(ScopeName {
                process: process.clone(),
                me,
            }),
        )?;
        let _ = tx.send(scope.shared.clone());
        state.scopes.by_name.insert(name.to_owned(), scope.clone());
        let connected: Vec<String> = state.peers.keys().cloned().collect();
        drop(state);
        for node in connected {
            let _ = process.send(ScopeMsg::NodeUp(node));
        }
        // Asks again, every second, the nodes whose scope has not
        // answered; ends with the scope process.
        let ticks = process.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(REDISCOVER).await;
                if ticks.send(ScopeMsg::Rediscover).is_err() {
                    return;
                }
            }
        });
        Ok(scope)
    }
}

/// An Erlang atom can hold the name: not empty, at most 255 characters.
fn check_atom(name: &str) -> Result<(), DistError> {
    let reason = match name.chars().count() {
        0 => "it is empty",
        n if n > 255 => "an atom has at most 255 characters",
        _ => return Ok(()),
    };
    Err(DistError::InvalidGroup {
        group: name.to_owned(),
        reason: reason.to_owned(),
    })
}

impl PgScope {
    /// The scope's name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The local scope of the same name, for typed reads of the local
    /// members.
    pub fn local(&self) -> fauxtp::pg::Scope {
        fauxtp::pg::Scope::new(&self.shared.name)
    }

    /// Adds the local process `pid` to `group`, here and on every node the
    /// scope is shared with (once more if it is there already). What other
    /// nodes send it arrives as `M::from(term)`.
    ///
    /// # Errors
    ///
    /// [`DistError::Pg`] with [`PgError::NoProc`] if it has ended;
    /// [`DistError::InvalidGroup`] for a name that is no atom;
    /// [`DistError::Stopped`] if the node is stopped.
    pub fn join<M: From<Term> + Send + 'static>(
        &self,
        group: &str,
        pid: &fauxtp::Pid<M>,
    ) -> Result<(), DistError> {
        check_atom(group)?;
        let Some(node) = self.shared.node.upgrade() else {
            return Err(DistError::Stopped);
        };
        if node.lock().stopped {
            return Err(DistError::Stopped);
        }
        let mut groups = self.shared.lock();
        // In the local scope first: it refuses a process that has ended.
        self.local().join(group, pid)?;
        let erl_pid = node.expose(pid);
        let member = groups
            .members
            .entry(erl_pid.clone())
            .or_insert_with(|| LocalMember {
                process: Arc::new(pid.clone()),
                monitor: fauxtp::__private::monitor_for(&self.shared.process.any(), &pid.any()),
                groups: Vec::new(),
            });
        member.groups.push(group.to_owned());
        groups
            .local
            .entry(group.to_owned())
            .or_default()
            .push(erl_pid.clone());
        let join = tuple(vec![
            atom("join"),
            Term::from(self.shared.me.clone()),
            atom(group),
            Term::from(erl_pid),
        ]);
        groups.tell_peers(&node, &join);
        Ok(())
    }

    /// Takes one of `pid`'s memberships of `group` away, here and on every
    /// node the scope is shared with.
    ///
    /// # Errors
    ///
    /// [`DistError::Pg`] with [`PgError::NotJoined`] if it has none left
    /// (joined through this scope).
    pub fn leave(&self, group: &str, pid: impl Into<AnyPid>) -> Result<(), DistError> {
        let pid = pid.into();
        let not_joined = || {
            DistError::Pg(PgError::NotJoined {
                pid: pid.clone(),
                group: group.to_owned(),
            })
        };
        let Some(node) = self.shared.node.upgrade() else {
            return Err(DistError::Stopped);
        };
        let erl_pid = node.erl_pid(pid.id());
        let mut groups = self.shared.lock();
        let Some(member) = groups.members.get_mut(&erl_pid) else {
            return Err(not_joined());
        };
        let Some(at) = member.groups.iter().position(|g| g == group) else {
            return Err(not_joined());
        };
        member.groups.remove(at);
        if member.groups.is_empty() {
            if let Some(member) = groups.members.remove(&erl_pid) {
                fauxtp::__private::demonitor_for(&pid, member.monitor);
            }
        }
        groups.forget_local(group, &erl_pid);
        let _ = self.local().leave(group, pid.clone());
        let leave = tuple(vec![
            atom("leave"),
            Term::from(self.shared.me.clone()),
            Term::from(erl_pid),
            Term::from(List::from(vec![atom(group)])),
        ]);
        groups.tell_peers(&node, &leave);
        Ok(())
    }

    /// The members of `group` on every node, local ones first (one entry
    /// per join).
    pub fn members(&self, group: &str) -> Vec<ErlPid> {
        let groups = self.shared.lock();
        let mut members = groups.local.get(group).cloned().unwrap_or_default();
        members.extend(groups.remote(group));
        members
    }

    /// The members of `group` on this node.
    pub fn local_members(&self, group: &str) -> Vec<ErlPid> {
        let groups = self.shared.lock();
        groups.local.get(group).cloned().unwrap_or_default()
    }

    /// The members of `group` on other nodes.
    pub fn remote_members(&self, group: &str) -> Vec<ErlPid> {
        self.shared.lock().remote(group)
    }

    /// The groups with at least one member on some node, sorted. (Groups
    /// other nodes name with another term than an atom are not listed.)
    pub fn which_groups(&self) -> Vec<String> {
        let groups = self.shared.lock();
        let mut names: Vec<String> = groups.local.keys().cloned().collect();
        for peer in groups.peers.values() {
            for (group, pids) in &peer.groups {
                if let (Term::Atom(name), false) = (group, pids.is_empty()) {
                    names.push(name.name.clone());
                }
            }
        }
        names.sort();
        names.dedup();
        names
    }

    /// Sends `message` to every member of `group`, on every node (once per
    /// join, as sending to each pid of `pg:get_members` does): how many
    /// sends. Local members get `M::from(term)`; remote ones get it over
    /// their node's connection, which is not waited for.
    pub fn send(&self, group: &str, message: impl ToTerm) -> usize {
        let Some(node) = self.shared.node.upgrade() else {
            return 0;
        };
        let message = message.to_term();
        let (local, remote) = {
            let groups = self.shared.lock();
            let local: Vec<Arc<dyn Reachable>> = groups
                .local
                .get(group)
                .into_iter()
                .flatten()
                .filter_map(|pid| groups.members.get(pid).map(|m| m.process.clone()))
                .collect();
            (local, groups.remote(group))
        };
        let mut sent = 0;
        for process in local {
            process.deliver(message.clone());
            sent += 1;
        }
        for pid in remote {
            if let Ok(Some(out)) = node.existing(&pid.node.name) {
                out.send(Control::Send { to: pid }, Some(message.clone()));
                sent += 1;
            }
        }
        sent
    }
}

impl std::fmt::Debug for PgScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgScope")
            .field("name", &self.shared.name)
            .field("pid", &self.shared.me)
            .finish_non_exhaustive()
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Groups> {
        self.groups.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Groups {
    /// Members of `group` that peers told of.
    fn remote(&self, group: &str) -> Vec<ErlPid> {
        let group = atom(group);
        self.peers
            .values()
            .filter_map(|peer| peer.groups.get(&group))
            .flatten()
            .cloned()
            .collect()
    }

    /// Takes one entry of `pid` out of the local `group`.
    fn forget_local(&mut self, group: &str, pid: &ErlPid) {
        if let Some(pids) = self.local.get_mut(group) {
            if let Some(at) = pids.iter().position(|p| p == pid) {
                pids.remove(at);
            }
            if pids.is_empty() {
                self.local.remove(group);
            }
        }
    }

    /// Sends `message` to every peer scope met, over its node's connection
    /// (if there is none, the peer is about to be forgotten).
    fn tell_peers(&self, node: &Inner, message: &Term) {
        for peer in self.peers.keys() {
            send(node, peer, message.clone());
        }
    }

    /// `{'$gen_cast', {sync, Me, [{Group, [Pid]}]}}`: the local members.
    fn sync(&self, me: &ErlPid) -> Term {
        tuple(vec![
            atom("$gen_cast"),
            tuple(vec![
                atom("sync"),
                Term::from(me.clone()),
                self.sync_groups(),
            ]),
        ])
    }

    /// `[{Group, [Pid]}]`: the local members, for a sync.
    fn sync_groups(&self) -> Term {
        let groups: Vec<Term> = self
            .local
            .iter()
            .map(|(group, pids)| {
                let pids: Vec<Term> = pids.iter().cloned().map(Term::from).collect();
                tuple(vec![atom(group), Term::from(List::from(pids))])
            })
            .collect();
        Term::from(List::from(groups))
    }
}

/// Sends `message` to `to` over the live connection to its node, if any.
fn send(node: &Inner, to: &ErlPid, message: Term) {
    if let Ok(Some(out)) = node.existing(&to.node.name) {
        out.send(Control::Send { to: to.clone() }, Some(message));
    }
}

/// The scope process: handles peers' messages and downs, local members'
/// ends, new connections.
async fn run(mut ctx: Ctx<ScopeMsg>, shared: Arc<Shared>) {
    loop {
        let received = ctx.recv().await;
        // Held only while a message is handled: a scope does not keep its
        // node running.
        let Some(node) = shared.node.upgrade() else {
            return;
        };
        let node = Node { inner: node };
        match received {
            Envelope::Message(ScopeMsg::Peer(message)) => {
                if let Some(met) = handle_peer(&shared, &node.inner, message) {
                    // A peer met: its scope is monitored, so that its
                    // members go when it does; over the connection it came
                    // by only (never a new one). With none, it goes now.
                    let monitor = match node.inner.existing(&met.node.name) {
                        Ok(Some(_)) => node.monitor(&met, &ctx.pid()).await.ok(),
                        _ => None,
                    };
                    let mut groups = shared.lock();
                    match (groups.peers.get_mut(&met), monitor) {
                        (Some(peer), Some(monitor)) => peer.monitor = Some(monitor),
                        (Some(_), None) => {
                            groups.peers.remove(&met);
                        }
                        (None, Some(monitor)) => {
                            drop(groups);
                            node.demonitor(&monitor);
                        }
                        (None, None) => {}
                    }
                }
            }
            Envelope::Message(ScopeMsg::PeerDown(down)) => {
                let mut groups = shared.lock();
                let same = groups
                    .peers
                    .get(&down.pid)
                    .is_some_and(|peer| peer.monitor.as_ref() == Some(&down.monitor));
                if same {
                    groups.peers.remove(&down.pid);
                }
            }
            Envelope::Message(ScopeMsg::NodeUp(peer)) => discover(&shared, &node.inner, &peer),
            Envelope::Message(ScopeMsg::Rediscover) => {
                let connected: Vec<String> = node.inner.lock().peers.keys().cloned().collect();
                let unmet: Vec<String> = {
                    let groups = shared.lock();
                    connected
                        .into_iter()
                        .filter(|n| !groups.peers.keys().any(|p| p.node.name == *n))
                        .collect()
                };
                for peer in unmet {
                    discover(&shared, &node.inner, &peer);
                }
            }
            Envelope::Message(ScopeMsg::Stop) => return,
            Envelope::Down(down) => member_ended(&shared, &node.inner, &down.pid),
            Envelope::Exit(_) => {}
        }
    }
}

/// Sends `{discover, Me}` to the scope of the same name on `peer`.
fn discover(shared: &Shared, node: &Inner, peer: &str) {
    if let Ok(Some(out)) = node.existing(peer) {
        out.send(
            Control::RegSend {
                from: shared.me.clone(),
                to: Atom::from(shared.name.as_str()),
            },
            Some(tuple(vec![atom("discover"), Term::from(shared.me.clone())])),
        );
    }
}

/// A local member ended: it leaves its groups, and the peers hear of it
/// as Erlang's scope tells them, `{leave, Me, Pid, Groups}`.
fn member_ended(shared: &Shared, node: &Inner, pid: &AnyPid) {
    let erl_pid = node.erl_pid(pid.id());
    let mut groups = shared.lock();
    let Some(member) = groups.members.remove(&erl_pid) else {
        return;
    };
    for group in &member.groups {
        groups.forget_local(group, &erl_pid);
    }
    let left: Vec<Term> = member.groups.iter().map(|g| atom(g)).collect();
    let leave = tuple(vec![
        atom("leave"),
        Term::from(shared.me.clone()),
        Term::from(erl_pid),
        Term::from(List::from(left)),
    ]);
    groups.tell_peers(node, &leave);
}

/// Handles a message to the scope; the peer scope it met for the first
/// time, if any, to monitor.
fn handle_peer(shared: &Shared, node: &Inner, message: Term) -> Option<ErlPid> {
    let Term::Tuple(Tuple { elements }) = &message else {
        return dropped(shared, &message);
    };
    match &elements[..] {
        // `{discover, Pid}`; OTP 26 and later may add a version.
        [Term::Atom(tag), Term::Pid(peer)] | [Term::Atom(tag), Term::Pid(peer), _]
            if tag.name == "discover" =>
        {
            if peer.node.name == node.name {
                return dropped(shared, &message);
            }
            let mut groups = shared.lock();
            send(node, peer, groups.sync(&shared.me));
            if groups.peers.contains_key(peer) {
                return None;
            }
            groups.peers.insert(peer.clone(), Peer::default());
            send(
                node,
                peer,
                tuple(vec![atom("discover"), Term::from(shared.me.clone())]),
            );
            Some(peer.clone())
        }
        [Term::Atom(tag), Term::Tuple(cast)] if tag.name == "$gen_cast" => match &cast.elements[..]
        {
            [Term::Atom(sync), Term::Pid(peer), Term::List(list)] if sync.name == "sync" => {
                let Some(synced) = read_sync(list) else {
                    return dropped(shared, &message);
                };
                if peer.node.name == node.name {
                    return dropped(shared, &message);
                }
                let mut groups = shared.lock();
                let new = !groups.peers.contains_key(peer);
                if new {
                    // A scope that knew this node already answers a
                    // discover with its sync only. It must have this
                    // node's members before any join or leave (a leave for
                    // a group it has no record of crashes an OTP 25 scope),
                    // so it gets them now, under the lock the joins and
                    // leaves are sent under.
                    send(node, peer, groups.sync(&shared.me));
                }
                groups.peers.entry(peer.clone()).or_default().groups = synced;
                new.then(|| peer.clone())
            }
            _ => dropped(shared, &message),
        },
        [Term::Atom(tag), Term::Pid(peer), group, pids] if tag.name == "join" => {
            let Some(pids) = read_pids(pids) else {
                return dropped(shared, &message);
            };
            let mut groups = shared.lock();
            // Only from a peer met (as Erlang's scope does).
            if let Some(peer) = groups.peers.get_mut(peer) {
                peer.groups.entry(group.clone()).or_default().extend(pids);
            }
            None
        }
        [Term::Atom(tag), Term::Pid(peer), pids, Term::List(left)] if tag.name == "leave" => {
            let Some(pids) = read_pids(pids) else {
                return dropped(shared, &message);
            };
            let mut groups = shared.lock();
            if let Some(peer) = groups.peers.get_mut(peer) {
                for group in &left.elements {
                    if let Some(members) = peer.groups.get_mut(group) {
                        for pid in &pids {
                            if let Some(at) = members.iter().position(|p| p == pid) {
                                members.remove(at);
                            }
                        }
                        if members.is_empty() {
                            peer.groups.remove(group);
                        }
                    }
                }
            }
            None
        }
        _ => dropped(shared, &message),
    }
}

/// A pid, or a list of pids.
fn read_pids(term: &Term) -> Option<Vec<ErlPid>> {
    match term {
        Term::Pid(pid) => Some(vec![pid.clone()]),
        Term::List(list) => list
            .elements
            .iter()
            .map(|t| match t {
                Term::Pid(pid) => Some(pid.clone()),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

/// `[{Group, [Pid]}]`.
fn read_sync(list: &List) -> Option<HashMap<Term, Vec<ErlPid>>> {
    let mut groups: HashMap<Term, Vec<ErlPid>> = HashMap::new();
    for entry in &list.elements {
        let Term::Tuple(Tuple { elements }) = entry else {
            return None;
        };
        let [group, Term::List(_)] = &elements[..] else {
            return None;
        };
        let pids = read_pids(&elements[1])?;
        if !pids.is_empty() {
            groups.insert(group.clone(), pids);
        }
    }
    Some(groups)
}

fn dropped(shared: &Shared, message: &Term) -> Option<ErlPid> {
    tracing::warn!(
        scope = %shared.name,
        message = %message,
        "pg: dropped a message that is not pg's"
    );
    None
}
