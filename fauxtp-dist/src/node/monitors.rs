//! Outbound monitors and links: the ones local processes hold on other
//! nodes' processes, and node monitors on connections. (Inbound ones, held
//! by other nodes' processes on local ones, are in `crate::watches`.)

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use eetf::{Pid as ErlPid, Reference, Term};
use fauxtp::{AnyPid, MonitorRef};

use super::{Inner, Node};
use crate::control::{Control, Process};
use crate::error::DistError;
use crate::outgoing::Outgoing;
use crate::term::{atom, ToTerm};

/// The message a node monitor delivers when the connection to its node is
/// lost, or cannot be made: Erlang's `{nodedown, Node}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeDown {
    /// The node.
    pub node: String,
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

/// A monitor on the connection to a node, as [`Node::monitor_node`]
/// returned it; [`Node::demonitor_node`] takes it off.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NodeMonitor {
    node: String,
    id: u64,
}

/// The local process a monitor was made for, and the node watcher's watch
/// on it, which takes the monitor off when the process ends.
struct Owner {
    pid: AnyPid,
    watch: Option<MonitorRef>,
}

impl Owner {
    fn new(pid: AnyPid) -> Owner {
        Owner { pid, watch: None }
    }

    /// The monitor is gone another way: the watch on its process goes too.
    fn release(self, inner: &Inner) {
        if let Some(watch) = self.watch {
            inner.inbound.forget_end(&self.pid, watch);
        }
    }
}

/// A local process's monitor on another node's process.
pub(super) struct OutboundMonitor {
    /// The connection it was made over.
    connection: u64,
    node: String,
    pid: ErlPid,
    owner: Owner,
    tell: Box<dyn FnOnce(RemoteDown) + Send>,
}

impl OutboundMonitor {
    /// Delivers the monitor's [`RemoteDown`], once it is out of the table.
    fn fire(self, inner: &Inner, reference: Reference, reason: Term) {
        self.owner.release(inner);
        (self.tell)(RemoteDown {
            monitor: RemoteMonitor(reference),
            pid: self.pid,
            reason,
        });
    }
}

/// The monitors local processes hold on other nodes' processes, by
/// reference.
#[derive(Default)]
pub(super) struct OutboundMonitors {
    by_ref: HashMap<Reference, OutboundMonitor>,
}

impl OutboundMonitors {
    pub(super) fn len(&self) -> usize {
        self.by_ref.len()
    }

    /// Takes out the monitors made over connection `connection`.
    pub(super) fn connection_lost(&mut self, connection: u64) -> Vec<(Reference, OutboundMonitor)> {
        let lost: Vec<Reference> = self
            .by_ref
            .iter()
            .filter(|(_, monitor)| monitor.connection == connection)
            .map(|(reference, _)| reference.clone())
            .collect();
        lost.into_iter()
            .filter_map(|r| self.by_ref.remove(&r).map(|m| (r, m)))
            .collect()
    }
}

/// Fires monitors whose connection was lost, with `noconnection`.
pub(super) fn no_connection(inner: &Inner, lost: Vec<(Reference, OutboundMonitor)>) {
    for (reference, monitor) in lost {
        monitor.fire(inner, reference, atom("noconnection"));
    }
}

/// Delivers one node monitor's [`NodeDown`].
type TellNodeDown = Box<dyn FnOnce(NodeDown) + Send>;

/// One node monitor.
pub(super) struct NodeWatch {
    /// The connection it was made over.
    connection: u64,
    id: u64,
    owner: Owner,
    tell: TellNodeDown,
}

/// Who is told when the connection to a node goes, by node.
#[derive(Default)]
pub(super) struct NodeMonitors {
    by_node: HashMap<String, Vec<NodeWatch>>,
}

impl NodeMonitors {
    pub(super) fn len(&self) -> usize {
        self.by_node.values().map(Vec::len).sum()
    }

    /// Takes out the monitors of `node` made over connection `connection`.
    pub(super) fn connection_lost(&mut self, node: &str, connection: u64) -> Vec<NodeWatch> {
        let Some(list) = self.by_node.get_mut(node) else {
            return Vec::new();
        };
        let (fire, keep): (Vec<_>, Vec<_>) = std::mem::take(list)
            .into_iter()
            .partition(|watch| watch.connection == connection);
        *list = keep;
        if list.is_empty() {
            self.by_node.remove(node);
        }
        fire
    }

    /// Takes out one monitor.
    fn remove(&mut self, monitor: &NodeMonitor) -> Option<NodeWatch> {
        let list = self.by_node.get_mut(&monitor.node)?;
        let at = list.iter().position(|watch| watch.id == monitor.id)?;
        let watch = list.swap_remove(at);
        if list.is_empty() {
            self.by_node.remove(&monitor.node);
        }
        Some(watch)
    }

    fn get_mut(&mut self, monitor: &NodeMonitor) -> Option<&mut NodeWatch> {
        self.by_node
            .get_mut(&monitor.node)?
            .iter_mut()
            .find(|watch| watch.id == monitor.id)
    }
}

/// Fires node monitors of `node`, whose connection was lost.
pub(super) fn node_down(inner: &Inner, node: &str, monitors: Vec<NodeWatch>) {
    for watch in monitors {
        watch.owner.release(inner);
        (watch.tell)(NodeDown {
            node: node.to_owned(),
        });
    }
}

impl Node {
    /// Links the local process `local` and the process `remote` of another
    /// node, as Erlang's `link/1`: when either ends, the other gets an exit
    /// signal with its reason. A remote exit signal reaches `local` as one
    /// from the node's watcher process, with the remote reason (`normal`,
    /// `shutdown`, `killed` and `noproc` as themselves, any other as
    /// `ExitReason::Error` with the term's text); a lost connection as
    /// `noconnection`; a remote process that does not exist as `noproc`.
    /// Connects if needed, waiting up to 7 s for that.
    ///
    /// # Errors
    ///
    /// Only when no connection to `remote`'s node can be made, or the node
    /// is stopped.
    pub async fn link<M: From<Term> + Send + 'static>(
        &self,
        local: &fauxtp::Pid<M>,
        remote: &ErlPid,
    ) -> Result<(), DistError> {
        let node = remote.node.name.clone();
        let out = self.inner.connection(&node).await?;
        let local_erl = self.inner.expose(local);
        self.inner
            .inbound
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
    ///
    /// # Errors
    ///
    /// Only when no connection to `remote`'s node can be made, or the node
    /// is stopped.
    pub async fn unlink<M: From<Term> + Send + 'static>(
        &self,
        local: &fauxtp::Pid<M>,
        remote: &ErlPid,
    ) -> Result<(), DistError> {
        let out = self.inner.connection(&remote.node.name).await?;
        let local_erl = self.inner.expose(local);
        self.inner.inbound.unlink(&local_erl, remote);
        let id = self.inner.next_ref.fetch_add(1, Ordering::Relaxed);
        out.send(
            Control::UnlinkId {
                id: id.to_term(),
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
    /// the connection is lost). Connects if needed, waiting up to 7 s for
    /// that.
    ///
    /// # Errors
    ///
    /// Only when no connection to `remote`'s node can be made, or the node
    /// is stopped.
    pub async fn monitor<M: From<RemoteDown> + Send + 'static>(
        &self,
        remote: &ErlPid,
        to: &fauxtp::Pid<M>,
    ) -> Result<RemoteMonitor, DistError> {
        let node = remote.node.name.clone();
        let out = self.inner.connection(&node).await?;
        let reference = self.inner.new_ref();
        let owner = to.any();
        let to = to.clone();
        let monitor = OutboundMonitor {
            connection: out.id(),
            node: node.clone(),
            pid: remote.clone(),
            owner: Owner::new(owner.clone()),
            tell: Box::new(move |down| {
                let _ = to.send(down);
            }),
        };
        let mut state = self.inner.lock();
        if !state.is_current(&node, &out) {
            // The connection went in the meantime.
            drop(state);
            monitor.fire(&self.inner, reference.clone(), atom("noconnection"));
            return Ok(RemoteMonitor(reference));
        }
        state.monitors.by_ref.insert(reference.clone(), monitor);
        drop(state);
        out.send(
            Control::MonitorP {
                from: self.inner.new_pid(),
                to: Process::Pid(remote.clone()),
                reference: reference.clone(),
            },
            None,
        );
        let monitor = RemoteMonitor(reference);
        let taken_off = monitor.clone();
        let watch = self.when_ends(&owner, move |node| {
            node.demonitor(&taken_off);
        });
        let mut state = self.inner.lock();
        match state.monitors.by_ref.get_mut(&monitor.0) {
            Some(entry) => entry.owner.watch = Some(watch),
            None => {
                // Fired or removed already.
                drop(state);
                self.inner.inbound.forget_end(&owner, watch);
            }
        }
        Ok(monitor)
    }

    /// Removes a monitor of [`monitor`](Node::monitor). Once this returns, no
    /// [`RemoteDown`] for it will be sent (one already sent stays in the
    /// mailbox). Returns whether it was still active.
    pub fn demonitor(&self, monitor: &RemoteMonitor) -> bool {
        let Some(removed) = self.inner.lock().monitors.by_ref.remove(&monitor.0) else {
            return false;
        };
        let OutboundMonitor {
            node, pid, owner, ..
        } = removed;
        owner.release(&self.inner);
        if let Ok(Some(out)) = self.inner.existing(&node) {
            out.send(
                Control::DemonitorP {
                    from: self.inner.new_pid(),
                    to: Process::Pid(pid),
                    reference: monitor.0.clone(),
                },
                None,
            );
        }
        true
    }

    /// Monitors the connection to `node`, as Erlang's `monitor_node(Node,
    /// true)`: connects to it if needed (waiting up to 7 s for that), and
    /// sends `to` one [`NodeDown`] when the connection is lost (at once if
    /// it cannot be made). Each call makes one monitor; it is taken off by
    /// [`demonitor_node`](Node::demonitor_node), or when `to` ends.
    pub async fn monitor_node<M>(&self, node: &str, to: &fauxtp::Pid<M>) -> NodeMonitor
    where
        M: From<NodeDown> + Send + 'static,
    {
        let monitor = NodeMonitor {
            node: node.to_owned(),
            id: self.inner.next_ref.fetch_add(1, Ordering::Relaxed),
        };
        let down = NodeDown {
            node: node.to_owned(),
        };
        let Ok(out) = self.inner.connection(node).await else {
            let _ = to.send(down);
            return monitor;
        };
        let owner = to.any();
        let to = to.clone();
        let tell: TellNodeDown = Box::new(move |down| {
            let _ = to.send(down);
        });
        let mut state = self.inner.lock();
        if !state.is_current(node, &out) {
            // Lost between connecting and here.
            drop(state);
            tell(down);
            return monitor;
        }
        state
            .node_monitors
            .by_node
            .entry(node.to_owned())
            .or_default()
            .push(NodeWatch {
                connection: out.id(),
                id: monitor.id,
                owner: Owner::new(owner.clone()),
                tell,
            });
        drop(state);
        let taken_off = monitor.clone();
        let watch = self.when_ends(&owner, move |node| {
            node.demonitor_node(&taken_off);
        });
        let mut state = self.inner.lock();
        match state.node_monitors.get_mut(&monitor) {
            Some(entry) => entry.owner.watch = Some(watch),
            None => {
                drop(state);
                self.inner.inbound.forget_end(&owner, watch);
            }
        }
        monitor
    }

    /// Takes off a monitor of [`monitor_node`](Node::monitor_node), as
    /// Erlang's `monitor_node(Node, false)`: once this returns, its
    /// [`NodeDown`] will not be sent (one already sent stays in the
    /// mailbox). Returns whether it was still active.
    pub fn demonitor_node(&self, monitor: &NodeMonitor) -> bool {
        let Some(watch) = self.inner.lock().node_monitors.remove(monitor) else {
            return false;
        };
        watch.owner.release(&self.inner);
        true
    }

    /// Runs `undo` with this node when the local process `owner` ends,
    /// unless the node is gone by then.
    fn when_ends(&self, owner: &AnyPid, undo: impl FnOnce(&Node) + Send + 'static) -> MonitorRef {
        let node: Weak<Inner> = Arc::downgrade(&self.inner);
        self.inner.inbound.when_ends(
            owner,
            Box::new(move || {
                if let Some(inner) = node.upgrade() {
                    undo(&Node { inner });
                }
            }),
        )
    }
}

impl Inner {
    /// A monitor made over `out` fired with `reason`: if it is one of the
    /// local processes' monitors, its [`RemoteDown`] is delivered.
    pub(super) fn monitor_fired(&self, out: &Outgoing, reference: Reference, reason: Term) {
        let mut state = self.lock();
        let monitors = &mut state.monitors.by_ref;
        let ours = monitors
            .get(&reference)
            .is_some_and(|monitor| monitor.connection == out.id());
        if let Some(monitor) = ours.then(|| monitors.remove(&reference)).flatten() {
            drop(state);
            monitor.fire(self, reference, reason);
        }
    }
}
