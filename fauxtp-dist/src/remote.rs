//! GenServers that other nodes call: what `#[genserver(remote)]` writes, and
//! the node's side of it (its names, and the monitors other nodes hold on
//! them).

use std::collections::HashMap;

use fauxtp::prelude::*;
use fauxtp::{AnyPid, ReplyTo};

use crate::connection::Outgoing;
use crate::control::{Control, Process};
use crate::term::{atom, tuple, Binary, Pid as ErlPid, Reference, Term, ToTerm};

/// The caller of a `gen_server:call` from another node: where its reply
/// goes, with the tag it came with.
pub struct RemoteCaller {
    out: Outgoing,
    caller: ErlPid,
    tag: Term,
}

impl RemoteCaller {
    pub(crate) fn new(out: Outgoing, caller: ErlPid, tag: Term) -> RemoteCaller {
        RemoteCaller { out, caller, tag }
    }

    /// A `ReplyTo` that answers this caller: the reply goes back as
    /// `{Tag, Reply}`. A server that ends without replying sends nothing;
    /// the caller's monitor tells it why. Used by the code
    /// `#[genserver(remote)]` writes.
    pub fn reply_to<R: ToTerm + 'static>(self) -> ReplyTo<R> {
        ReplyTo::__forward(move |outcome: Result<R, ExitReason>| {
            if let Ok(reply) = outcome {
                self.out.send(
                    Control::Send { to: self.caller },
                    Some(tuple(vec![self.tag, reply.to_term()])),
                );
            }
        })
    }

    /// Answers the caller with `reply` as it is.
    pub(crate) fn answer(self, reply: Term) {
        self.out.send(
            Control::Send { to: self.caller },
            Some(tuple(vec![self.tag, reply])),
        );
    }
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
    fn call(&self, request: &Term, caller: RemoteCaller) -> Result<(), RemoteCaller>;
    fn cast(&self, request: &Term) -> bool;
    /// Gives the message back if the server cannot take it.
    fn info(&self, message: Term) -> Result<(), Term>;
}

pub(crate) struct Entry<M: Send + 'static> {
    pub(crate) pid: Pid<M>,
}

impl<M: RemoteServer> Registered for Entry<M> {
    fn pid(&self) -> AnyPid {
        self.pid.any()
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

/// What the node's watcher process is asked to do. The fauxtp monitors in
/// these messages were made by the connection task, in order with the rest
/// of the connection's traffic, with the watcher as their watcher
/// (`fauxtp::__private::monitor_for`): a local process that ends right
/// after a remote process monitored or linked it still tells that process.
pub(crate) enum Watch {
    /// A process at the other end of `out` monitors the local process
    /// `target` (by name or by pid, as `process` says): when it ends, tell
    /// `watcher` with `reference`.
    Monitor {
        out: Outgoing,
        monitor: MonitorRef,
        target: AnyPid,
        process: Process,
        watcher: ErlPid,
        reference: Reference,
    },
    Demonitor {
        reference: Reference,
    },
    /// The local process `local` (known elsewhere as `local_erl`) and the
    /// process `remote` at the other end of `out` are linked; `monitor`
    /// watches `local`.
    Link {
        out: Outgoing,
        monitor: MonitorRef,
        local: AnyPid,
        local_erl: ErlPid,
        remote: ErlPid,
    },
    /// The link between `remote` and `local_erl` is gone (unlinked).
    Unlink {
        local_erl: ErlPid,
        remote: ErlPid,
    },
    /// An exit signal from `remote` to `local_erl`: over their link (`EXIT`)
    /// or not (`EXIT2`, Erlang's `exit/2`).
    Exit {
        local: AnyPid,
        local_erl: ErlPid,
        remote: ErlPid,
        reason: Term,
        via_link: bool,
    },
    /// The connection `connection` is gone: the monitors made over it go,
    /// and the links made over it break with `noconnection`.
    ConnectionLost {
        connection: u64,
    },
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
    monitor: MonitorRef,
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

/// The monitors and links between this node's processes and other nodes'.
#[derive(Default)]
struct Watcher {
    by_ref: HashMap<Reference, MonitorRef>,
    watched: HashMap<MonitorRef, Watched>,
    links: Vec<Linked>,
    /// Down messages that came before the message that says what their
    /// monitor is for.
    early: HashMap<MonitorRef, ExitReason>,
}

/// Removes a monitor made for the watcher, and any down message of it
/// already on its way.
fn forget(
    ctx: &mut Ctx<Watch>,
    early: &mut HashMap<MonitorRef, ExitReason>,
    target: &AnyPid,
    monitor: MonitorRef,
) {
    fauxtp::__private::demonitor_for(target, monitor);
    // Not one of the context's own monitors: this only flushes its down
    // message from the mailbox.
    ctx.demonitor(monitor);
    early.remove(&monitor);
}

/// The process that holds the monitors and links other nodes' processes
/// have with this node's, and carries the signals between the two: a local
/// process that ends tells the remote ones (`MONITOR_P_EXIT`, `EXIT`), a
/// remote exit signal reaches the local process as an exit signal from this
/// process, with the remote reason.
pub(crate) fn spawn_watcher() -> Pid<Watch> {
    fauxtp::spawn(|mut ctx: Ctx<Watch>| async move {
        let mut w = Watcher::default();
        loop {
            receive!(ctx, {
                Watch::Stop => return Ok(()),
                Watch::Monitor { out, monitor, target, process, watcher, reference } => {
                    let watched = Watched { out, target, process, watcher, reference };
                    match w.early.remove(&monitor) {
                        Some(reason) => watched.fire(&reason),
                        None => {
                            w.by_ref.insert(watched.reference.clone(), monitor);
                            w.watched.insert(monitor, watched);
                        }
                    }
                }
                Watch::Demonitor { reference } => {
                    if let Some(monitor) = w.by_ref.remove(&reference) {
                        if let Some(watched) = w.watched.remove(&monitor) {
                            forget(&mut ctx, &mut w.early, &watched.target, monitor);
                        }
                    }
                }
                Watch::Link { out, monitor, local, local_erl, remote } => {
                    let linked = Linked { out, monitor, local, local_erl, remote };
                    let known = w
                        .links
                        .iter()
                        .any(|l| l.local_erl == linked.local_erl && l.remote == linked.remote);
                    if known {
                        forget(&mut ctx, &mut w.early, &linked.local, monitor);
                    } else if let Some(reason) = w.early.remove(&monitor) {
                        linked.fire(&reason);
                    } else {
                        w.links.push(linked);
                    }
                }
                Watch::Unlink { local_erl, remote } => {
                    if let Some(i) = w.links.iter().position(|l| l.local_erl == local_erl && l.remote == remote) {
                        let link = w.links.swap_remove(i);
                        forget(&mut ctx, &mut w.early, &link.local, link.monitor);
                    }
                }
                Watch::Exit { local, local_erl, remote, reason, via_link } => {
                    if via_link {
                        let linked = w.links.iter().position(|l| l.local_erl == local_erl && l.remote == remote);
                        // A signal over a link that is gone is dropped.
                        let Some(i) = linked else { continue };
                        let link = w.links.swap_remove(i);
                        forget(&mut ctx, &mut w.early, &link.local, link.monitor);
                    }
                    let reason = match exit_reason(&reason) {
                        // Over a link, `kill` is an ordinary reason: only
                        // Erlang's exit/2 kills whatever the process does.
                        ExitReason::Kill if via_link => ExitReason::Killed,
                        reason => reason,
                    };
                    ctx.exit(local, reason);
                }
                Watch::ConnectionLost { connection } => {
                    let gone: Vec<MonitorRef> = w
                        .watched
                        .iter()
                        .filter(|(_, watched)| watched.out.id() == connection)
                        .map(|(m, _)| *m)
                        .collect();
                    for monitor in gone {
                        if let Some(watched) = w.watched.remove(&monitor) {
                            w.by_ref.remove(&watched.reference);
                            forget(&mut ctx, &mut w.early, &watched.target, monitor);
                        }
                    }
                    let (broken, kept): (Vec<Linked>, Vec<Linked>) = std::mem::take(&mut w.links)
                        .into_iter()
                        .partition(|l| l.out.id() == connection);
                    w.links = kept;
                    for link in broken {
                        forget(&mut ctx, &mut w.early, &link.local, link.monitor);
                        ctx.exit(link.local, ExitReason::error("noconnection"));
                    }
                }
                Down(down) => {
                    if let Some(watched) = w.watched.remove(&down.monitor) {
                        w.by_ref.remove(&watched.reference);
                        watched.fire(&down.reason);
                    } else if let Some(i) = w.links.iter().position(|l| l.monitor == down.monitor) {
                        w.links.swap_remove(i).fire(&down.reason);
                    } else {
                        w.early.insert(down.monitor, down.reason);
                    }
                }
            });
        }
    })
}
