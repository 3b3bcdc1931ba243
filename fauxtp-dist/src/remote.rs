//! GenServers that other nodes call: what `#[genserver(remote)]` writes, and
//! the node's side of it (its names, and the monitors other nodes hold on
//! them).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use fauxtp::prelude::*;
use fauxtp::{AnyPid, ReplyTo};

use crate::connection::Outgoing;
use crate::control::{Control, Process};
use crate::term::{atom, tuple, Binary, Pid as ErlPid, Reference, Term, ToTerm};

/// The caller of a `gen_server:call` from another node: where its reply
/// goes, with the tag it came with.
pub struct RemoteCaller(Box<Caller>);

struct Caller {
    out: Outgoing,
    /// The server, as the other node knows it.
    server: ErlPid,
    caller: ErlPid,
    tag: Term,
}

impl RemoteCaller {
    pub(crate) fn new(out: Outgoing, server: ErlPid, caller: ErlPid, tag: Term) -> RemoteCaller {
        RemoteCaller(Box::new(Caller {
            out,
            server,
            caller,
            tag,
        }))
    }

    /// Sends `{Tag, reply}` back as `gen:reply` does: to the caller's
    /// process alias if the tag carries one (OTP 24 and later) and the peer
    /// advertised `DFLAG_ALIAS`; the caller drops its alias when it stops
    /// waiting, so that a late reply is dropped rather than left in its
    /// mailbox. To the caller's pid otherwise.
    fn send(self, reply: Term) {
        let Caller {
            out,
            server,
            caller,
            tag,
        } = *self.0;
        let control = match alias(&tag) {
            Some(alias) if out.takes_aliases() => Control::AliasSend {
                from: server,
                alias: alias.clone(),
            },
            _ => Control::Send { to: caller },
        };
        out.send(control, Some(tuple(vec![tag, reply])));
    }

    /// A `ReplyTo` that answers this caller: the reply goes back as
    /// `{Tag, Reply}`. A server that ends without replying sends nothing;
    /// the caller's monitor tells it why. Used by the code
    /// `#[genserver(remote)]` writes.
    pub fn reply_to<R: ToTerm + 'static>(self) -> ReplyTo<R> {
        ReplyTo::__forward(move |outcome: Result<R, ExitReason>| {
            if let Ok(reply) = outcome {
                self.send(reply.to_term());
            }
        })
    }

    /// Answers the caller with `reply` as it is.
    pub(crate) fn answer(self, reply: Term) {
        self.send(reply);
    }
}

/// The process alias in a call's tag: `[alias|Alias]`, or `[[alias|Alias]|_]`
/// (the forms `gen:reply` recognizes).
fn alias(tag: &Term) -> Option<&Reference> {
    /// `[alias|Alias]`.
    fn simple(term: &Term) -> Option<&Reference> {
        match term {
            Term::ImproperList(list) => match (&list.elements[..], &*list.last) {
                ([Term::Atom(head)], Term::Reference(alias)) if head.name == "alias" => Some(alias),
                _ => None,
            },
            _ => None,
        }
    }
    let first = match tag {
        Term::ImproperList(list) => list.elements.first(),
        Term::List(list) => list.elements.first(),
        _ => None,
    };
    simple(tag).or_else(|| first.and_then(simple))
}

/// How requests from other nodes become a server's messages. Written by
/// `#[genserver(remote)]` for the server's message enum: a call to handler
/// `add(n: u64)` is the request `{add, N}`, to `get()` the atom `get`, and
/// casts alike; the arguments are read with [`FromTerm`](crate::FromTerm)
/// and the reply written with [`ToTerm`].
pub trait RemoteServer: Send + Sized + 'static {
    /// A `gen_server:call` request: sent to the server with a `ReplyTo` that
    /// answers `caller`, or `caller` given back if no call handler takes
    /// this request (the caller then gets `{error, {unknown_call,
    /// Request}}`).
    fn remote_call(
        server: &Pid<Self>,
        request: &Term,
        caller: RemoteCaller,
    ) -> Result<(), RemoteCaller>;

    /// A `gen_server:cast` request as a message, or `None` if no cast
    /// handler takes it (it is dropped).
    fn remote_cast(request: &Term) -> Option<Self>;

    /// Any other message, for an `#[info]` handler that takes a [`Term`];
    /// given back if there is none (it is then dropped, with a log line).
    fn remote_info(message: Term) -> Result<Self, Term> {
        Err(message)
    }
}

/// Used by the code `#[genserver(remote)]` writes; not meant to be called
/// by hand.
#[doc(hidden)]
pub mod __private {
    use super::*;

    /// A request's handler name and arguments: `get` is `("get", [])`,
    /// `{add, 7}` is `("add", [7])`.
    pub fn request_parts(request: &Term) -> Option<(&str, &[Term])> {
        match request {
            Term::Atom(name) => Some((&name.name, &[])),
            Term::Tuple(t) => match t.elements.split_first() {
                Some((Term::Atom(name), args)) => Some((&name.name, args)),
                _ => None,
            },
            _ => None,
        }
    }
}

/// A server registered with the node, with its message type erased.
pub(crate) trait Registered: Send + Sync {
    fn pid(&self) -> AnyPid;
    /// The server's pid as other nodes know it.
    fn erl_pid(&self) -> &ErlPid;
    fn call(&self, request: &Term, caller: RemoteCaller) -> Result<(), RemoteCaller>;
    fn cast(&self, request: &Term) -> bool;
    /// Gives the message back if the server cannot take it.
    fn info(&self, message: Term) -> Result<(), Term>;
}

pub(crate) struct Entry<M: Send + 'static> {
    pub(crate) pid: Pid<M>,
    pub(crate) erl_pid: ErlPid,
}

impl<M: RemoteServer> Registered for Entry<M> {
    fn pid(&self) -> AnyPid {
        self.pid.any()
    }

    fn erl_pid(&self) -> &ErlPid {
        &self.erl_pid
    }

    fn call(&self, request: &Term, caller: RemoteCaller) -> Result<(), RemoteCaller> {
        M::remote_call(&self.pid, request, caller)
    }

    fn cast(&self, request: &Term) -> bool {
        M::remote_cast(request).is_some_and(|msg| self.pid.send(msg).is_ok())
    }

    fn info(&self, message: Term) -> Result<(), Term> {
        let msg = M::remote_info(message)?;
        // A server that has just ended drops it, as Erlang would.
        let _ = self.pid.send(msg);
        Ok(())
    }
}

/// An exit reason as Erlang writes it.
pub(crate) fn reason_term(reason: &ExitReason) -> Term {
    let text = |t: &str| Term::from(Binary::from(t.as_bytes()));
    match reason {
        ExitReason::Normal => atom("normal"),
        ExitReason::Shutdown => atom("shutdown"),
        ExitReason::Kill | ExitReason::Killed => atom("killed"),
        ExitReason::NoProc => atom("noproc"),
        ExitReason::Error(e) => tuple(vec![atom("error"), text(e)]),
        ExitReason::Panic(p) => tuple(vec![atom("panic"), text(p)]),
        _ => atom("unknown"),
    }
}

/// An Erlang exit reason as a fauxtp one: the reasons both know map to
/// each other, any other is an `Error` with the term's text.
pub(crate) fn exit_reason(term: &Term) -> ExitReason {
    match term {
        Term::Atom(a) => match a.name.as_str() {
            "normal" => ExitReason::Normal,
            "shutdown" => ExitReason::Shutdown,
            "kill" => ExitReason::Kill,
            "killed" => ExitReason::Killed,
            "noproc" => ExitReason::NoProc,
            other => ExitReason::error(other),
        },
        other => ExitReason::error(other.to_string()),
    }
}

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
pub(crate) struct Watches {
    table: Arc<Mutex<Table>>,
    watcher: Pid<Watch>,
}

#[derive(Default)]
struct Table {
    /// The monitors by connection and reference (a reference is unique
    /// only on the node that made it).
    by_ref: HashMap<(u64, Reference), MonitorRef>,
    watched: HashMap<MonitorRef, Watched>,
    links: HashMap<MonitorRef, Linked>,
}

/// What the node's watcher process is told besides its down messages.
pub(crate) enum Watch {
    /// The node stops.
    Stop,
}

struct Watched {
    out: Outgoing,
    target: AnyPid,
    process: Process,
    watcher: ErlPid,
    reference: Reference,
}

struct Linked {
    out: Outgoing,
    local: AnyPid,
    local_erl: ErlPid,
    remote: ErlPid,
}

impl Watched {
    fn fire(self, reason: &ExitReason) {
        self.out.send(
            Control::MonitorPExit {
                from: self.process,
                to: self.watcher,
                reference: self.reference,
                reason: reason_term(reason),
            },
            None,
        );
    }
}

impl Linked {
    fn fire(self, reason: &ExitReason) {
        self.out.send(
            Control::Exit {
                from: self.local_erl,
                to: self.remote,
                reason: reason_term(reason),
            },
            None,
        );
    }
}

impl Table {
    /// Removes the index entry of `watched`, the monitor `monitor`.
    fn forget_ref(&mut self, watched: &Watched, monitor: MonitorRef) {
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

impl Watches {
    /// The table, and the watcher process that fires its entries.
    pub(crate) fn start() -> Watches {
        let table = Arc::new(Mutex::new(Table::default()));
        let watcher = spawn_watcher(table.clone());
        Watches { table, watcher }
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
            Watched {
                out: out.clone(),
                target,
                process,
                watcher,
                reference,
            },
        );
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
        // Linked twice is linked once: an entry for the pair is replaced.
        table.unlink(&local_erl, &remote);
        let monitor = fauxtp::__private::monitor_for(&self.watcher.any(), &local);
        table.links.insert(
            monitor,
            Linked {
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
        let _ = self.watcher.send(Watch::Stop);
    }
}

/// The process that fires the entries of a node's [`Watches`] when their
/// local processes end (`MONITOR_P_EXIT`, `EXIT` to the remote ones). Exit
/// signals from other nodes' processes reach local processes as signals
/// from this process, with the remote reason (see [`Watches::exit`]).
fn spawn_watcher(table: Arc<Mutex<Table>>) -> Pid<Watch> {
    fauxtp::spawn(|mut ctx: Ctx<Watch>| async move {
        loop {
            receive!(ctx, {
                Watch::Stop => return Ok(()),
                Down(down) => {
                    let mut t = table.lock().unwrap_or_else(|e| e.into_inner());
                    if let Some(watched) = t.watched.remove(&down.monitor) {
                        t.forget_ref(&watched, down.monitor);
                        drop(t);
                        watched.fire(&down.reason);
                    } else if let Some(link) = t.links.remove(&down.monitor) {
                        drop(t);
                        link.fire(&down.reason);
                    }
                    // Otherwise its entry was removed: a demonitor, an
                    // unlink or a lost connection came first.
                }
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use eetf::{Atom, ImproperList, List};

    fn improper(elements: Vec<Term>, last: Term) -> Term {
        Term::from(ImproperList::from((elements, last)))
    }

    #[test]
    fn the_alias_of_a_tag() {
        let r = Reference {
            node: Atom::from("e@h"),
            id: vec![1, 2, 3],
            creation: 1,
        };
        let alias_atom = Term::from(Atom::from("alias"));
        let simple = improper(vec![alias_atom.clone()], Term::from(r.clone()));
        assert_eq!(alias(&simple), Some(&r));
        // `[[alias|Alias]|Rest]`, as multi-calls write it.
        let nested = improper(vec![simple.clone()], Term::from(Atom::from("x")));
        assert_eq!(alias(&nested), Some(&r));
        let nested = Term::from(List::from(vec![
            simple.clone(),
            Term::from(Atom::from("x")),
        ]));
        assert_eq!(alias(&nested), Some(&r));
        let deeper = Term::from(List::from(vec![nested]));
        assert_eq!(alias(&deeper), None);
        // A plain reference (OTP before 24, and fauxtp's own calls).
        assert_eq!(alias(&Term::from(r.clone())), None);
        let other = improper(vec![Term::from(Atom::from("other"))], Term::from(r));
        assert_eq!(alias(&other), None);
    }
}
