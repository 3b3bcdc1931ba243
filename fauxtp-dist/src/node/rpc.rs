//! `erpc:call` and `rpc:call` from other nodes: Rust functions exposed as
//! `Module:Function/Arity`, answered as erpc expects (a `spawn_request`
//! whose spawned "process" ends with the function's result as its exit
//! reason, delivered through the requester's monitor).

use std::collections::HashMap;
use std::sync::Arc;

use eetf::Term;

use super::{Inner, Node};
use crate::control::Control;
use crate::error::DistError;
use crate::outgoing::Outgoing;
use crate::term::{atom, tuple};

/// A function other nodes may call with `erpc:call(Node, M, F, Args)`.
pub(super) type Exposed = Arc<dyn Fn(&[Term]) -> Result<Term, Term> + Send + Sync>;

/// The functions exposed, by module and function name.
#[derive(Default)]
pub(super) struct Functions {
    by_name: HashMap<(String, String), Exposed>,
}

impl Functions {
    pub(super) fn clear(&mut self) {
        self.by_name.clear();
    }
}

impl Node {
    /// Lets other nodes call `function` as `module:name(Args...)` with
    /// `erpc:call` or `rpc:call` (OTP 23 and later). It gets the arguments
    /// as terms and returns the result, or `Err(reason)`, which the caller
    /// gets as an `error` exception with that reason. A panic is an `error`
    /// exception `{panic, Message}`. It runs on the connection's task:
    /// keep it short, or send the work to a process.
    ///
    /// ```no_run
    /// # async fn run(node: fauxtp_dist::Node) {
    /// use fauxtp_dist::term::Term;
    /// use fauxtp_dist::{FromTerm, ToTerm};
    ///
    /// node.expose("math", "add", |args: &[Term]| match args {
    ///     [a, b] => Ok((i64::from_term(a).unwrap_or(0) + i64::from_term(b).unwrap_or(0)).to_term()),
    ///     _ => Err("badarg".to_term()),
    /// })
    /// .unwrap();
    /// // From Erlang: erpc:call('rust@localhost', math, add, [1, 2]) =:= 3.
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`DistError::Stopped`] if the node is stopped.
    pub fn expose(
        &self,
        module: &str,
        name: &str,
        function: impl Fn(&[Term]) -> Result<Term, Term> + Send + Sync + 'static,
    ) -> Result<(), DistError> {
        let mut state = self.inner.lock();
        if state.stopped {
            return Err(DistError::Stopped);
        }
        state
            .functions
            .by_name
            .insert((module.to_owned(), name.to_owned()), Arc::new(function));
        Ok(())
    }
}

impl Inner {
    /// A `spawn_request`: erpc's `execute_call` on an exposed function is
    /// answered (a spawn reply, then the monitor's exit with the result);
    /// anything else is refused with `notsup`, as a node that cannot run
    /// Erlang code must.
    pub(super) fn spawn_request(&self, out: &Outgoing, request: Control, args: Option<Term>) {
        let Control::SpawnRequest {
            id,
            from,
            module,
            function,
            options,
        } = request
        else {
            return;
        };
        let options = &options;
        let erpc_args = match (module.name.as_str(), function.name.as_str(), args) {
            ("erpc", "execute_call", Some(Term::List(list))) => Some(list.elements),
            _ => None,
        };
        let Some([call_ref, Term::Atom(m), Term::Atom(f), call_args]) = erpc_args.as_deref() else {
            out.send(
                Control::SpawnReply {
                    id,
                    to: from,
                    flags: 0,
                    result: atom("notsup"),
                },
                None,
            );
            return;
        };
        // A list of small integers comes as a string.
        let call_args: Vec<Term> = match call_args {
            Term::List(list) => list.elements.clone(),
            Term::ByteList(bytes) => bytes
                .bytes
                .iter()
                .map(|&b| Term::from(eetf::FixInteger::from(i32::from(b))))
                .collect(),
            _ => {
                out.send(
                    Control::SpawnReply {
                        id,
                        to: from,
                        flags: 0,
                        result: atom("badarg"),
                    },
                    None,
                );
                return;
            }
        };
        let exposed = self
            .lock()
            .functions
            .by_name
            .get(&(m.name.clone(), f.name.clone()))
            .cloned();
        let reason = match exposed {
            Some(function) => {
                let called =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| function(&call_args)));
                match called {
                    Ok(Ok(value)) => tuple(vec![call_ref.clone(), atom("return"), value]),
                    Ok(Err(reason)) => error(call_ref, reason),
                    Err(payload) => {
                        let message = payload
                            .downcast_ref::<&str>()
                            .map(|s| (*s).to_owned())
                            .or_else(|| payload.downcast_ref::<String>().cloned())
                            .unwrap_or_default();
                        error(
                            call_ref,
                            tuple(vec![
                                atom("panic"),
                                Term::from(eetf::Binary::from(message.as_bytes())),
                            ]),
                        )
                    }
                }
            }
            // As Erlang says of a function that does not exist.
            None => error(call_ref, atom("undef")),
        };
        let monitored = match options {
            Term::List(list) => list.elements.iter().any(|option| match option {
                Term::Atom(a) => a.name == "monitor",
                Term::Tuple(t) => {
                    matches!(t.elements.first(), Some(Term::Atom(a)) if a.name == "monitor")
                }
                _ => false,
            }),
            _ => false,
        };
        let spawned = self.new_pid();
        out.send(
            Control::SpawnReply {
                id: id.clone(),
                to: from.clone(),
                flags: if monitored { 2 } else { 0 },
                result: Term::from(spawned.clone()),
            },
            None,
        );
        if monitored {
            out.send(
                Control::MonitorPExit {
                    from: crate::control::Process::Pid(spawned),
                    to: from,
                    reference: id,
                    reason,
                },
                None,
            );
        }
    }
}

/// erpc's exit reason for an `error` exception: `{Ref, error, Reason, []}`.
fn error(call_ref: &Term, reason: Term) -> Term {
    tuple(vec![
        call_ref.clone(),
        atom("error"),
        reason,
        Term::from(eetf::List::nil()),
    ])
}
