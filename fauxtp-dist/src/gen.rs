//! The gen_server wire protocol, both directions: the messages
//! `gen_server:call` and `cast` send (`{'$gen_call', {From, Tag}, Request}`,
//! `{'$gen_cast', Request}`), how the node hands them to a local server
//! (what `#[genserver(remote)]` writes: [`RemoteServer`]), how replies go
//! back ([`RemoteCaller`], to a process alias when the caller has one), and
//! the part of `net_kernel` that `net_adm:ping` needs. The node's own calls
//! to other nodes write their requests with [`call_request`].

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use fauxtp::prelude::*;
use fauxtp::{AnyPid, ReplyTo};

use crate::control::Control;
use crate::frame::Message;
use crate::outgoing::Outgoing;
use crate::term::{atom, tuple, Atom, Pid as ErlPid, Reference, Term, ToTerm, Tuple};

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
        ReplyTo::from_fn(move |outcome: Result<R, ExitReason>| {
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

    /// A `gen_server:cast` request as a message, its arguments moved out
    /// of it ([`FromTerm::from_term_owned`](crate::FromTerm::from_term_owned));
    /// or, if no cast handler takes it (it is then dropped, with a log
    /// line), the request, or the handler's name if its arguments did not
    /// read.
    fn remote_cast(request: Term) -> Result<Self, Term>;

    /// [`remote_cast`](Self::remote_cast) of a request that the node read
    /// in parts (its handler's name in place, its arguments each a term):
    /// `#[genserver(remote)]` matches them without the request's tuple and
    /// atom ever being made. By default, the request is put together and
    /// given to `remote_cast`.
    #[doc(hidden)]
    fn remote_cast_parts(request: __private::CastRequest) -> Result<Self, Term> {
        Self::remote_cast(request.into_term())
    }

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
    use std::sync::Arc;

    use crate::term::Term;

    /// Records that servers of message type `M` answer other nodes, so
    /// that one registered in fauxtp's registry is reachable as
    /// `{Name, Node}` (called at each start of such a server).
    pub fn remember<M: super::RemoteServer>() {
        super::remember::<M>();
    }

    /// A cast's request in parts: `{Handler, Arg...}`, or the atom
    /// `Handler` alone.
    #[derive(Debug, Clone, PartialEq)]
    pub struct CastRequest {
        handler: Arc<str>,
        args: CastArgs,
        /// The atom alone, not in a tuple.
        bare: bool,
    }

    /// A request's arguments: most have one, and take no vector.
    #[derive(Debug, Clone, PartialEq)]
    pub(crate) enum CastArgs {
        None,
        One(Term),
        Many(Vec<Term>),
    }

    impl CastRequest {
        pub(crate) fn new(handler: Arc<str>, args: CastArgs, bare: bool) -> CastRequest {
            CastRequest {
                handler,
                args,
                bare,
            }
        }

        /// A request of this shape taken apart; the term given back if it
        /// is of another.
        pub fn from_term(request: Term) -> Result<CastRequest, Term> {
            let (handler, mut elements) = match request {
                Term::Atom(name) => {
                    return Ok(CastRequest::new(name.name.into(), CastArgs::None, true))
                }
                Term::Tuple(t) if matches!(t.elements.first(), Some(Term::Atom(_))) => {
                    let mut elements = t.elements.into_iter();
                    match elements.next() {
                        Some(Term::Atom(name)) => (name.name, elements),
                        _ => unreachable!("checked above"),
                    }
                }
                other => return Err(other),
            };
            let args = match elements.len() {
                0 => CastArgs::None,
                1 => CastArgs::One(elements.next().expect("one element")),
                _ => CastArgs::Many(elements.collect()),
            };
            Ok(CastRequest::new(handler.into(), args, false))
        }

        /// The handler's name.
        pub fn handler(&self) -> &str {
            &self.handler
        }

        /// How many arguments it has.
        pub fn arity(&self) -> usize {
            match &self.args {
                CastArgs::None => 0,
                CastArgs::One(_) => 1,
                CastArgs::Many(args) => args.len(),
            }
        }

        /// Its `N` arguments; the request given back if it has another
        /// number.
        pub fn into_args<const N: usize>(self) -> Result<[Term; N], CastRequest> {
            if self.arity() != N {
                return Err(self);
            }
            match self.args {
                CastArgs::Many(args) => Ok(args.try_into().expect("N arguments")),
                CastArgs::One(arg) => {
                    let mut arg = Some(arg);
                    Ok(std::array::from_fn(|_| arg.take().expect("one argument")))
                }
                CastArgs::None => Ok(std::array::from_fn(|_| unreachable!("no argument"))),
            }
        }

        /// The request put together again, as it came.
        pub fn into_term(self) -> Term {
            let handler = Term::from(crate::term::Atom::from(&*self.handler));
            if self.bare {
                return handler;
            }
            let mut elements = Vec::with_capacity(self.arity() + 1);
            elements.push(handler);
            match self.args {
                CastArgs::None => {}
                CastArgs::One(arg) => elements.push(arg),
                CastArgs::Many(args) => elements.extend(args),
            }
            Term::from(crate::term::Tuple::from(elements))
        }
    }

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

/// Makes a [`Registered`] of a pid, if its messages are of the type this
/// maker was made for.
type Maker = fn(&AnyPid, &ErlPid) -> Option<Arc<dyn Registered>>;

/// The message types of the `#[genserver(remote)]` servers started so far,
/// with how to make a [`Registered`] of a pid of each.
static REMOTE_TYPES: std::sync::LazyLock<Mutex<HashMap<TypeId, Maker>>> =
    std::sync::LazyLock::new(Default::default);

fn make<M: RemoteServer>(pid: &AnyPid, erl_pid: &ErlPid) -> Option<Arc<dyn Registered>> {
    let pid = pid.downcast::<M>()?;
    Some(Arc::new(RegisteredServer {
        pid,
        erl_pid: erl_pid.clone(),
    }))
}

fn remember<M: RemoteServer>() {
    let mut types = REMOTE_TYPES.lock().unwrap_or_else(|e| e.into_inner());
    types.entry(TypeId::of::<M>()).or_insert(make::<M>);
}

/// The server `pid`, if it is one of the `#[genserver(remote)]` servers,
/// as other nodes call it (its pid there is `erl_pid`).
pub(crate) fn remote_server(pid: &AnyPid, erl_pid: ErlPid) -> Option<Arc<dyn Registered>> {
    // Under the lock: a maker only downcasts the pid and boxes it, and a
    // copy of the table would be an allocation per message.
    REMOTE_TYPES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .values()
        .find_map(|make| make(pid, &erl_pid))
}

/// A server other nodes can call by name, with its message type erased.
pub(crate) trait Registered: Send + Sync {
    fn pid(&self) -> AnyPid;
    /// Whether the server is alive (without a copy of its pid).
    fn is_alive(&self) -> bool;
    /// The server's pid as other nodes know it.
    fn erl_pid(&self) -> &ErlPid;
    fn call(&self, request: &Term, caller: RemoteCaller) -> Result<(), RemoteCaller>;
    /// Gives back what to log if the server takes no such cast.
    fn cast(&self, request: Term) -> Result<(), Term>;
    /// A cast's request read in parts; given back, as a term, if the
    /// server cannot take it.
    fn cast_parts(&self, request: __private::CastRequest) -> Result<(), Term> {
        self.cast(request.into_term())
    }
    /// Gives the message back if the server cannot take it.
    fn info(&self, message: Term) -> Result<(), Term>;
}

/// A server registered with the node: its pid here and there.
pub(crate) struct RegisteredServer<M: Send + 'static> {
    pub(crate) pid: Pid<M>,
    pub(crate) erl_pid: ErlPid,
}

impl<M: RemoteServer> Registered for RegisteredServer<M> {
    fn pid(&self) -> AnyPid {
        self.pid.any()
    }

    fn is_alive(&self) -> bool {
        self.pid.is_alive()
    }

    fn erl_pid(&self) -> &ErlPid {
        &self.erl_pid
    }

    fn call(&self, request: &Term, caller: RemoteCaller) -> Result<(), RemoteCaller> {
        M::remote_call(&self.pid, request, caller)
    }

    fn cast(&self, request: Term) -> Result<(), Term> {
        let msg = M::remote_cast(request)?;
        // A server that has just ended drops it, as Erlang would.
        let _ = self.pid.send(msg);
        Ok(())
    }

    fn cast_parts(&self, request: __private::CastRequest) -> Result<(), Term> {
        let msg = M::remote_cast_parts(request)?;
        // A server that has just ended drops it, as Erlang would.
        let _ = self.pid.send(msg);
        Ok(())
    }

    fn info(&self, message: Term) -> Result<(), Term> {
        let msg = M::remote_info(message)?;
        // A server that has just ended drops it, as Erlang would.
        let _ = self.pid.send(msg);
        Ok(())
    }
}

/// `{'$gen_call', {From, Tag}, Request}`: a call from `from`, tagged `tag`
/// (fauxtp's own calls tag with the reference of their monitor).
pub(crate) fn call_request(from: ErlPid, tag: Reference, request: Term) -> Term {
    tuple(vec![
        atom("$gen_call"),
        tuple(vec![Term::from(from), Term::from(tag)]),
        request,
    ])
}

/// A reply to one of this node's calls, `{Tag, Reply}`, if `message` is one
/// whose tag is a reference: the tag, borrowed.
pub(crate) fn reply_tag(message: &Term) -> Option<&Reference> {
    match message {
        Term::Tuple(Tuple { elements }) => match &elements[..] {
            [Term::Reference(tag), _] => Some(tag),
            _ => None,
        },
        _ => None,
    }
}

/// The reply in a `{Tag, Reply}` that [`reply_tag`] recognised, moved out.
pub(crate) fn into_reply(message: Term) -> Option<Term> {
    match message {
        Term::Tuple(Tuple { mut elements }) if elements.len() == 2 => Some(elements.swap_remove(1)),
        _ => None,
    }
}

/// Hands a message sent to a registered server to it: a `gen_server` call
/// (answered when the server replies), a cast, or anything else for its
/// `#[info]` handler.
pub(crate) fn deliver(server: &dyn Registered, out: &Outgoing, message: Message) {
    let message = match message {
        Message::Term(term) => gen_message(term),
        Message::Cast(request) => GenMessage::Cast(request),
        Message::CastParts(request) => {
            if let Err(request) = server.cast_parts(request) {
                tracing::warn!(%request, "dropped a cast that fits no handler");
            }
            return;
        }
    };
    match message {
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
            if let Err(request) = server.cast(request) {
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

/// A message to a server, as gen_server reads it.
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
/// which `net_adm:ping` makes, answered `yes`. Anything else is dropped.
pub(crate) fn net_kernel(out: &Outgoing, message: Term) {
    let GenMessage::Call {
        caller,
        tag,
        request,
    } = gen_message(message)
    else {
        return;
    };
    let is_auth = match &request {
        Term::Tuple(Tuple { elements }) => {
            matches!(elements.first(), Some(Term::Atom(kind)) if kind.name == "is_auth")
        }
        _ => false,
    };
    if is_auth {
        out.send(
            Control::Send { to: caller },
            Some(tuple(vec![tag, atom("yes")])),
        );
    }
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

    #[test]
    fn a_request_taken_apart_and_put_back() {
        use super::__private::CastRequest;
        let add = tuple(vec![atom("add"), 7u64.to_term()]);
        let request = CastRequest::from_term(add.clone()).unwrap();
        assert_eq!((request.handler(), request.arity()), ("add", 1));
        assert_eq!(request.clone().into_term(), add);
        let [seven] = request.into_args::<1>().unwrap();
        assert_eq!(seven, 7u64.to_term());
        let two = tuple(vec![atom("two"), atom("a"), atom("b")]);
        let request = CastRequest::from_term(two.clone()).unwrap();
        assert!(request.clone().into_args::<1>().is_err());
        assert_eq!(request.clone().into_term(), two);
        assert_eq!(request.into_args::<2>().unwrap(), [atom("a"), atom("b")]);
        // The atom alone and the tuple of it alone come back as they came.
        for get in [atom("get"), tuple(vec![atom("get")])] {
            let request = CastRequest::from_term(get.clone()).unwrap();
            assert_eq!((request.handler(), request.arity()), ("get", 0));
            assert_eq!(request.into_term(), get);
        }
        let odd = tuple(vec![7u64.to_term()]);
        assert_eq!(CastRequest::from_term(odd.clone()).unwrap_err(), odd);
    }
}
