//! Outbound gen_server calls, casts and sends by name: a server on another
//! node ([`Remote`]), the calls waiting for their answers, and how an answer
//! (a reply, or the down of the call's monitor) reaches its caller.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use eetf::{Atom, Pid as ErlPid, Reference, Term};
use fauxtp::genserver::DEFAULT_CALL_TIMEOUT;
use tokio::sync::oneshot;

use super::{Inner, Node};
use crate::control::{Control, Process};
use crate::error::DistError;
use crate::frame::Payload;
use crate::gen;
use crate::outgoing::Outgoing;
use crate::term::{atom, tuple, FromTerm, ToTerm};

/// How long `ping` waits for `net_kernel`'s answer once connected.
const PING_TIMEOUT: Duration = Duration::from_secs(5);

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

/// The calls of this node that wait for their answers, by tag (the
/// reference of the call's monitor).
#[derive(Default)]
pub(super) struct Calls {
    by_tag: HashMap<Reference, Pending>,
}

impl Calls {
    /// The calls made over connection `connection` fail: their callers see
    /// the answer channel close.
    pub(super) fn connection_lost(&mut self, connection: u64) {
        self.by_tag
            .retain(|_, pending| pending.connection != connection);
    }
}

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
        out.send_in_full(
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
        let pending = self.inner.lock().calls.by_tag.remove(&self.reference);
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

impl Node {
    /// Checks that `node` can be reached, as Erlang's `net_adm:ping/1`:
    /// connects to it if needed and asks its `net_kernel`. `Ok(())` is
    /// Erlang's `pong`.
    ///
    /// # Errors
    ///
    /// Why it would be `pang`: no connection could be made within 7 s (see
    /// [`DistError`]), `net_kernel` did not answer within 5 s
    /// ([`DistError::Timeout`]), or it answered something else than `yes`
    /// ([`DistError::Refused`]).
    pub async fn ping(&self, node: &str) -> Result<(), DistError> {
        let net_kernel = Remote::name("net_kernel", node);
        let request = tuple(vec![atom("is_auth"), atom(&self.inner.name)]);
        match self
            .inner
            .gen_call(&net_kernel, request, PING_TIMEOUT)
            .await?
        {
            reply if reply == atom("yes") => Ok(()),
            reply => Err(DistError::Refused {
                node: node.to_owned(),
                answer: reply.to_string(),
            }),
        }
    }

    /// Calls the gen_server `to` on another node, as `gen_server:call/2`
    /// does (a monitor on the server, then the request), and reads its
    /// reply as `R`. Waits at most 5 s
    /// ([`DEFAULT_CALL_TIMEOUT`]), besides up to 7 s to connect
    /// if there is no connection yet.
    ///
    /// # Errors
    ///
    /// A server that is not there, or that ends before it replies, fails
    /// the call at once with its exit reason ([`DistError::Exited`]); no
    /// reply in time is [`DistError::Timeout`]; a reply that does not read
    /// as `R` is [`DistError::BadReply`]; a connection that cannot be made
    /// or is lost is one of the connection errors of [`DistError`].
    pub async fn call<R: FromTerm>(
        &self,
        to: &Remote,
        request: impl ToTerm,
    ) -> Result<R, DistError> {
        self.call_timeout(to, request, DEFAULT_CALL_TIMEOUT).await
    }

    /// [`call`](Node::call), waiting at most `timeout` for the reply.
    ///
    /// # Errors
    ///
    /// As [`call`](Node::call).
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
    /// `gen_server:cast/2`: connects if needed (waiting up to 7 s for
    /// that), sends, and returns; nothing says whether the server exists.
    ///
    /// # Errors
    ///
    /// Only when no connection to `to`'s node can be made, or the node is
    /// stopped.
    pub async fn cast(&self, to: &Remote, request: impl ToTerm) -> Result<(), DistError> {
        self.send_payload(to, Payload::Cast(&term_of(&request)))
            .await
    }

    /// Sends `message` to the process registered as `to` on another node,
    /// as Erlang's `{Name, Node} ! Message`: connects if needed (waiting up
    /// to 7 s for that), sends, and returns. Nothing says whether the
    /// process exists. While more than 1 MiB waits to be written to that
    /// node, it waits first, as Erlang suspends a sender on a busy
    /// distribution port; so do [`cast`](Node::cast) and
    /// [`send_to`](Node::send_to).
    ///
    /// # Errors
    ///
    /// Only when no connection to `to`'s node can be made, or the node is
    /// stopped.
    pub async fn send(&self, to: &Remote, message: impl ToTerm) -> Result<(), DistError> {
        self.send_payload(to, Payload::Term(&term_of(&message)))
            .await
    }

    /// Sends `payload` to the process registered as `to`, as
    /// [`send`](Node::send) does.
    async fn send_payload(&self, to: &Remote, payload: Payload<'_>) -> Result<(), DistError> {
        let out = self.inner.connection(&to.node).await?;
        out.send_to_name(&self.inner.new_pid_parts(), &to.name, payload)
            .await;
        Ok(())
    }
}

impl Inner {
    /// A `gen_server` call to `to`: a monitor on it, then the request
    /// tagged with the monitor's reference, as OTP does. The answer is the
    /// reply, or the monitor's down reason as an error.
    pub(super) async fn gen_call(
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
        out.send_in_full(
            Control::MonitorP {
                from: me.clone(),
                to: Process::Name(name.clone()),
                reference: reference.clone(),
            },
            None,
        );
        let message = gen::call_request(me.clone(), reference, request);
        out.send_in_full(Control::RegSend { from: me, to: name }, Some(message));
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
        state.calls.by_tag.insert(reference, pending);
        true
    }

    /// The call waiting for `reference`, if it was made over the connection
    /// `out` (an answer from elsewhere is not one).
    fn answered(&self, reference: &Reference, out: &Outgoing) -> Option<Pending> {
        let mut state = self.lock();
        let calls = &mut state.calls.by_tag;
        match calls.get(reference) {
            Some(pending) if pending.connection == out.id() => calls.remove(reference),
            _ => None,
        }
    }

    /// A message that came over `out` to one of this node's pids: if it is
    /// the reply to one of its calls, the call is answered (and its monitor
    /// removed) and `Ok`; otherwise the message is given back.
    pub(super) fn reply(&self, out: &Outgoing, message: Term) -> Result<(), Term> {
        let Some(pending) = gen::reply_tag(&message).and_then(|tag| self.answered(tag, out)) else {
            return Err(message);
        };
        if let Some(tag) = gen::reply_tag(&message) {
            pending.demonitor(out, tag.clone());
        }
        // The reply is moved out, not copied.
        if let Some(reply) = gen::into_reply(message) {
            let _ = pending.answer.send(Answer::Reply(reply));
        }
        Ok(())
    }

    /// The monitor `reference`, made over `out`, fired with `reason`: if it
    /// was one of this node's calls, the call fails with the reason and
    /// `Ok`; otherwise the reason is given back.
    pub(super) fn call_down(
        &self,
        out: &Outgoing,
        reference: &Reference,
        reason: Term,
    ) -> Result<(), Term> {
        match self.answered(reference, out) {
            Some(pending) => {
                let _ = pending.answer.send(Answer::Down(reason));
                Ok(())
            }
            None => Err(reason),
        }
    }
}

/// The term of `value`: itself if it is one, else made.
pub(super) fn term_of(value: &impl ToTerm) -> std::borrow::Cow<'_, Term> {
    match value.as_term() {
        Some(term) => std::borrow::Cow::Borrowed(term),
        None => std::borrow::Cow::Owned(value.to_term()),
    }
}
