//! GenServers that other nodes call: what `#[genserver(remote)]` writes, and
//! the node's side of it (its names, and the monitors other nodes hold on
//! them).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use fauxtp::prelude::*;
use fauxtp::{AnyPid, Call, ReplyTo};

use crate::connection::Outgoing;
use crate::control::{Control, Process};
use crate::term::{atom, tuple, Atom, Binary, Pid as ErlPid, Reference, Term, ToTerm};

/// The reply of a call from another node, once the server has given it;
/// `None` if it ended first (the caller's monitor then says why).
pub type RemoteReply = Pin<Box<dyn Future<Output = Option<Term>> + Send>>;

/// How requests from other nodes become a server's messages. Written by
/// `#[genserver(remote)]` for the server's message enum: a call to handler
/// `add(n: u64)` is the request `{add, N}`, to `get()` the atom `get`, and
/// casts alike; the arguments are read with [`FromTerm`](crate::FromTerm)
/// and the reply written with [`ToTerm`].
pub trait RemoteServer: Send + Sized + 'static {
    /// A `gen_server:call` request: the reply to come, or `None` if no call
    /// handler takes this request (the caller then gets `{error,
    /// {unknown_call, Request}}`).
    fn remote_call(server: &Pid<Self>, request: &Term) -> Option<RemoteReply>;

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

    /// Calls `server` with the message `make` builds, for a caller on
    /// another node: it waits as long as the server takes (the caller has
    /// its own timeout), and gives the reply as a term.
    pub fn call<M, R>(
        server: &Pid<M>,
        label: &'static str,
        make: impl FnOnce(ReplyTo<R>) -> M,
    ) -> RemoteReply
    where
        M: Send + 'static,
        R: ToTerm + Send + 'static,
    {
        let call = Call::new(server, label, make).timeout(Duration::MAX);
        Box::pin(async move { call.await.ok().map(|reply| reply.to_term()) })
    }
}

/// A server registered with the node, with its message type erased.
pub(crate) trait Registered: Send + Sync {
    fn pid(&self) -> AnyPid;
    fn call(&self, request: &Term) -> Option<RemoteReply>;
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

    fn call(&self, request: &Term) -> Option<RemoteReply> {
        M::remote_call(&self.pid, request)
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

/// What the node's monitor process is asked to do.
pub(crate) enum Watch {
    /// A process of `node` monitors the local server `target`, registered
    /// as `name`: when it ends, tell `watcher` with `reference`.
    Monitor {
        node: String,
        out: Outgoing,
        target: AnyPid,
        name: Atom,
        watcher: ErlPid,
        reference: Reference,
    },
    Demonitor {
        reference: Reference,
    },
    /// The connection to `node` is gone: its monitors go too.
    NodeDown {
        node: String,
    },
    /// The node stops.
    Stop,
}

struct Watched {
    node: String,
    out: Outgoing,
    name: Atom,
    watcher: ErlPid,
    reference: Reference,
}

/// The process that holds, as fauxtp monitors, the monitors other nodes
/// hold on this node's servers, and turns their down messages into
/// `MONITOR_P_EXIT`s.
pub(crate) fn spawn_watcher() -> Pid<Watch> {
    fauxtp::spawn(|mut ctx: Ctx<Watch>| async move {
        let mut by_ref: HashMap<Reference, MonitorRef> = HashMap::new();
        let mut watched: HashMap<MonitorRef, Watched> = HashMap::new();
        loop {
            receive!(ctx, {
                Watch::Monitor { node, out, target, name, watcher, reference } => {
                    let monitor = ctx.monitor(target);
                    by_ref.insert(reference.clone(), monitor);
                    watched.insert(monitor, Watched { node, out, name, watcher, reference });
                }
                Watch::Demonitor { reference } => {
                    if let Some(monitor) = by_ref.remove(&reference) {
                        ctx.demonitor(monitor);
                        watched.remove(&monitor);
                    }
                }
                Watch::Stop => return Ok(()),
                Watch::NodeDown { node } => {
                    let gone: Vec<MonitorRef> = watched
                        .iter()
                        .filter(|(_, w)| w.node == node)
                        .map(|(m, _)| *m)
                        .collect();
                    for monitor in gone {
                        ctx.demonitor(monitor);
                        if let Some(w) = watched.remove(&monitor) {
                            by_ref.remove(&w.reference);
                        }
                    }
                }
                Down(down) => {
                    if let Some(w) = watched.remove(&down.monitor) {
                        by_ref.remove(&w.reference);
                        w.out.send(
                            Control::MonitorPExit {
                                from: Process::Name(w.name),
                                to: w.watcher,
                                reference: w.reference,
                                reason: reason_term(&down.reason),
                            },
                            None,
                        );
                    }
                }
            });
        }
    })
}
