//! Outbound monitors and links: the ones local processes hold on other
//! nodes' processes, and node monitors on connections. (Inbound ones, held
//! by other nodes' processes on local ones, are in `crate::watches`.)

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use eetf::{Pid as ErlPid, Reference, Term};

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

/// A local process's monitor on another node's process.
pub(super) struct OutboundMonitor {
    /// The connection it was made over.
    connection: u64,
    node: String,
    pid: ErlPid,
    tell: Box<dyn FnOnce(RemoteDown) + Send>,
}

impl OutboundMonitor {
    /// Delivers the monitor's [`RemoteDown`].
    fn fire(self, reference: Reference, reason: Term) {
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
pub(super) fn no_connection(lost: Vec<(Reference, OutboundMonitor)>) {
    for (reference, monitor) in lost {
        monitor.fire(reference, atom("noconnection"));
    }
}

/// Delivers one node monitor's [`NodeDown`].
type TellNodeDown = Box<dyn FnOnce(NodeDown) + Send>;

/// Who is told when the connection to a node goes: by node, each with the
/// connection it was made over.
#[derive(Default)]
pub(super) struct NodeMonitors {
    by_node: HashMap<String, Vec<(u64, TellNodeDown)>>,
}

impl NodeMonitors {
    /// Takes out the monitors of `node` made over connection `connection`.
    pub(super) fn connection_lost(&mut self, node: &str, connection: u64) -> Vec<TellNodeDown> {
        match self.by_node.get_mut(node) {
            Some(list) => {
                let (fire, keep): (Vec<_>, Vec<_>) = std::mem::take(list)
                    .into_iter()
                    .partition(|(c, _)| *c == connection);
                *list = keep;
                fire.into_iter().map(|(_, tell)| tell).collect()
            }
            None => Vec::new(),
        }
    }
}

/// Fires node monitors of `node`, whose connection was lost.
pub(super) fn node_down(node: &str, monitors: Vec<TellNodeDown>) {
    for tell in monitors {
        tell(NodeDown {
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
        let to = to.clone();
        let monitor = OutboundMonitor {
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
            monitor.fire(reference.clone(), atom("noconnection"));
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
        Ok(RemoteMonitor(reference))
    }

    /// Removes a monitor of [`monitor`](Node::monitor). Once this returns, no
    /// [`RemoteDown`] for it will be sent (one already sent stays in the
    /// mailbox). Returns whether it was still active.
    pub fn demonitor(&self, monitor: &RemoteMonitor) -> bool {
        let Some(removed) = self.inner.lock().monitors.by_ref.remove(&monitor.0) else {
            return false;
        };
        if let Ok(Some(out)) = self.inner.existing(&removed.node) {
            out.send(
                Control::DemonitorP {
                    from: self.inner.new_pid(),
                    to: Process::Pid(removed.pid),
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
    /// it cannot be made). Each call makes one monitor.
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
                .by_node
                .entry(node.to_owned())
                .or_default()
                .push((out.id(), tell));
        } else {
            // Lost between connecting and here.
            drop(state);
            tell(down);
        }
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
            monitor.fire(reference, reason);
        }
    }
}
