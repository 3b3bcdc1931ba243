//! Inbound monitors and links: the ones other nodes' processes hold on
//! this node's processes, and the node's watcher process, which fires them
//! when a local process ends (and takes off the node's outbound monitors
//! made for a local process that ended, `InboundWatches::when_ends`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use fauxtp::prelude::*;
use fauxtp::AnyPid;

use crate::control::{Control, Process};
use crate::outgoing::Outgoing;
use crate::term::{exit_reason, Pid as ErlPid, Reference, Term, ToTerm};

/// The monitors and links other nodes' processes hold on this node's
/// processes, shared by the connection tasks (which make and remove them as
/// control messages arrive, in order with the rest of a connection's
/// traffic), `Node::link` and `Node::unlink`, and the node's watcher process
/// (which fires them when a local process ends).
///
/// Each entry holds a fauxtp monitor on its local process, made with the
/// watcher as its watcher (`fauxtp::__private::monitor_for`) while the table
/// is locked: the watcher cannot handle the monitor's down message before
/// the entry is in place, and a down message whose entry is gone (removed
/// by a demonitor, an unlink or a lost connection) finds nothing and is
/// dropped. A call from another node thus costs no message to the watcher.
///
/// Nothing is recorded over a connection that has ended (checked under the
/// table's lock; the node closes a connection before it clears the
/// connection's entries), so no entry outlives its connection.
pub(crate) struct InboundWatches {
    table: Arc<Mutex<Table>>,
    watcher: Pid<WatcherMsg>,
}

#[derive(Default)]
struct Table {
    /// The monitors by connection and reference (a reference is unique
    /// only on the node that made it).
    by_ref: HashMap<(u64, Reference), MonitorRef>,
    watched: HashMap<MonitorRef, InboundMonitor>,
    links: HashMap<MonitorRef, InboundLink>,
    /// What is undone when a local process ends: the node's bookkeeping
    /// held for it (see [`InboundWatches::when_ends`]).
    cleanups: HashMap<MonitorRef, Cleanup>,
}

/// Bookkeeping undone when the local process it was kept for ends.
pub(crate) type Cleanup = Box<dyn FnOnce() + Send>;

/// What the node's watcher process is told besides its down messages.
pub(crate) enum WatcherMsg {
    /// The node stops.
    Stop,
}

struct InboundMonitor {
    out: Outgoing,
    target: AnyPid,
    process: Process,
    watcher: ErlPid,
    reference: Reference,
}

struct InboundLink {
    out: Outgoing,
    local: AnyPid,
    local_erl: ErlPid,
    remote: ErlPid,
}

impl InboundMonitor {
    fn fire(self, reason: &ExitReason) {
        self.out.send(
            Control::MonitorPExit {
                from: self.process,
                to: self.watcher,
                reference: self.reference,
                reason: reason.to_term(),
            },
            None,
        );
    }
}

impl InboundLink {
    fn fire(self, reason: &ExitReason) {
        self.out.send(
            Control::Exit {
                from: self.local_erl,
                to: self.remote,
                reason: reason.to_term(),
            },
            None,
        );
    }
}

impl Table {
    /// Removes the index entry of `watched`, the monitor `monitor`.
    fn forget_ref(&mut self, watched: &InboundMonitor, monitor: MonitorRef) {
        let key = (watched.out.id(), watched.reference.clone());
        if self.by_ref.get(&key) == Some(&monitor) {
            self.by_ref.remove(&key);
        }
    }

    /// Removes the link between `local_erl` and `remote`, with its fauxtp
    /// monitor; the local process, if there was one.
    fn unlink(&mut self, local_erl: &ErlPid, remote: &ErlPid) -> Option<AnyPid> {
        let monitor = self
            .links
            .iter()
            .find(|(_, l)| &l.local_erl == local_erl && &l.remote == remote)
            .map(|(monitor, _)| *monitor)?;
        let link = self.links.remove(&monitor)?;
        fauxtp::__private::demonitor_for(&link.local, monitor);
        Some(link.local)
    }
}

impl InboundWatches {
    /// The table, and the watcher process that fires its entries.
    pub(crate) fn start() -> InboundWatches {
        let table = Arc::new(Mutex::new(Table::default()));
        let watcher = spawn_watcher(table.clone());
        InboundWatches { table, watcher }
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        // The table stays consistent whatever panicked while it was held.
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The process `watcher`, at the other end of `out`, monitors the local
    /// process `target` (by name or by pid, as `process` says): when it
    /// ends, `watcher` is told with `reference`.
    pub(crate) fn monitor(
        &self,
        out: &Outgoing,
        target: AnyPid,
        process: Process,
        watcher: ErlPid,
        reference: Reference,
    ) {
        let mut table = self.lock();
        if out.is_closed() {
            return;
        }
        let monitor = fauxtp::__private::monitor_for(&self.watcher.any(), &target);
        // A reference used twice replaces the first monitor.
        if let Some(old) = table.by_ref.insert((out.id(), reference.clone()), monitor) {
            if let Some(watched) = table.watched.remove(&old) {
                fauxtp::__private::demonitor_for(&watched.target, old);
            }
        }
        table.watched.insert(
            monitor,
            InboundMonitor {
                out: out.clone(),
                target,
                process,
                watcher,
                reference,
            },
        );
    }

    /// How many inbound monitors and links there are.
    pub(crate) fn counts(&self) -> (usize, usize) {
        let table = self.lock();
        (table.watched.len(), table.links.len())
    }

    /// Runs `cleanup` on the watcher when the local process `owner` ends
    /// (at once if it has): the node's outbound monitors and node monitors
    /// go with the process they were made for. Returns the watch, for
    /// [`forget_end`](InboundWatches::forget_end).
    pub(crate) fn when_ends(&self, owner: &AnyPid, cleanup: Cleanup) -> MonitorRef {
        let mut table = self.lock();
        let monitor = fauxtp::__private::monitor_for(&self.watcher.any(), owner);
        table.cleanups.insert(monitor, cleanup);
        monitor
    }

    /// Takes off a watch of [`when_ends`](InboundWatches::when_ends): its
    /// bookkeeping went another way (the monitor fired or was removed).
    pub(crate) fn forget_end(&self, owner: &AnyPid, watch: MonitorRef) {
        let mut table = self.lock();
        if table.cleanups.remove(&watch).is_some() {
            fauxtp::__private::demonitor_for(owner, watch);
        }
    }

    /// The monitor `reference`, made over `out`, is taken off: it never
    /// fires.
    pub(crate) fn demonitor(&self, out: &Outgoing, reference: &Reference) {
        let mut table = self.lock();
        let Some(monitor) = table.by_ref.remove(&(out.id(), reference.clone())) else {
            return;
        };
        if let Some(watched) = table.watched.remove(&monitor) {
            fauxtp::__private::demonitor_for(&watched.target, monitor);
        }
    }

    /// The local process `local` (known elsewhere as `local_erl`) and the
    /// process `remote` at the other end of `out` are linked. Over a
    /// connection that has ended, the link breaks at once: `local` gets an
    /// exit signal with reason `noconnection`.
    pub(crate) fn link(&self, out: &Outgoing, local: AnyPid, local_erl: ErlPid, remote: ErlPid) {
        let mut table = self.lock();
        if out.is_closed() {
            drop(table);
            self.signal(&local, ExitReason::error("noconnection"));
            return;
        }
        // InboundLink twice is linked once: an entry for the pair is replaced.
        table.unlink(&local_erl, &remote);
        let monitor = fauxtp::__private::monitor_for(&self.watcher.any(), &local);
        table.links.insert(
            monitor,
            InboundLink {
                out: out.clone(),
                local,
                local_erl,
                remote,
            },
        );
    }

    /// The link between `remote` and `local_erl` is gone (unlinked).
    pub(crate) fn unlink(&self, local_erl: &ErlPid, remote: &ErlPid) {
        self.lock().unlink(local_erl, remote);
    }

    /// An exit signal from `remote` to the local process `local`
    /// (`local_erl` elsewhere): over their link (`EXIT`; the link breaks, and
    /// a signal over a link that is gone is dropped) or not (`EXIT2`,
    /// Erlang's `exit/2`).
    pub(crate) fn exit(
        &self,
        local: AnyPid,
        local_erl: &ErlPid,
        remote: &ErlPid,
        reason: &Term,
        via_link: bool,
    ) {
        if via_link && self.lock().unlink(local_erl, remote).is_none() {
            return;
        }
        let reason = match exit_reason(reason) {
            // Over a link, `kill` is an ordinary reason: only Erlang's
            // exit/2 kills whatever the process does. fauxtp has no
            // trappable `kill` (a process never ends with it: it ends
            // `Killed`), so it arrives as `Killed`; OTP keeps `kill`.
            ExitReason::Kill if via_link => ExitReason::Killed,
            reason => reason,
        };
        self.signal(&local, reason);
    }

    /// An exit signal to `local` from another node's process. It comes from
    /// the watcher (a fauxtp signal comes from a fauxtp process), and is
    /// delivered now, in order with the messages the connection delivers.
    fn signal(&self, local: &AnyPid, reason: ExitReason) {
        fauxtp::__private::exit_from(&self.watcher.any(), local, reason);
    }

    /// The connection `connection` is gone: the monitors made over it go,
    /// and the links made over it break with `noconnection`.
    pub(crate) fn connection_lost(&self, connection: u64) {
        let broken = {
            let mut table = self.lock();
            let table = &mut *table;
            let gone: Vec<MonitorRef> = table
                .watched
                .iter()
                .filter(|(_, watched)| watched.out.id() == connection)
                .map(|(monitor, _)| *monitor)
                .collect();
            for monitor in gone {
                if let Some(watched) = table.watched.remove(&monitor) {
                    table.forget_ref(&watched, monitor);
                    fauxtp::__private::demonitor_for(&watched.target, monitor);
                }
            }
            let broken: Vec<MonitorRef> = table
                .links
                .iter()
                .filter(|(_, link)| link.out.id() == connection)
                .map(|(monitor, _)| *monitor)
                .collect();
            broken
                .into_iter()
                .filter_map(|monitor| {
                    let link = table.links.remove(&monitor)?;
                    fauxtp::__private::demonitor_for(&link.local, monitor);
                    Some(link.local)
                })
                .collect::<Vec<AnyPid>>()
        };
        for local in broken {
            self.signal(&local, ExitReason::error("noconnection"));
        }
    }

    /// The node stops: the watcher ends, and with it its monitors.
    pub(crate) fn stop(&self) {
        let _ = self.watcher.send(WatcherMsg::Stop);
    }
}

/// The process that fires the entries of a node's [`InboundWatches`] when their
/// local processes end (`MONITOR_P_EXIT`, `EXIT` to the remote ones). Exit
/// signals from other nodes' processes reach local processes as signals
/// from this process, with the remote reason (see [`InboundWatches::exit`]).
fn spawn_watcher(table: Arc<Mutex<Table>>) -> Pid<WatcherMsg> {
    fauxtp::spawn(|mut ctx: Ctx<WatcherMsg>| async move {
        loop {
            receive!(ctx, {
                WatcherMsg::Stop => return Ok(()),
                Down(down) => {
                    let mut t = table.lock().unwrap_or_else(|e| e.into_inner());
                    if let Some(watched) = t.watched.remove(&down.monitor) {
                        t.forget_ref(&watched, down.monitor);
                        drop(t);
                        watched.fire(&down.reason);
                    } else if let Some(link) = t.links.remove(&down.monitor) {
                        drop(t);
                        link.fire(&down.reason);
                    } else if let Some(cleanup) = t.cleanups.remove(&down.monitor) {
                        drop(t);
                        cleanup();
                    }
                    // Otherwise its entry was removed: a demonitor, an
                    // unlink or a lost connection came first.
                }
            });
        }
    })
}
