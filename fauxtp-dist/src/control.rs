//! The control messages of the distribution protocol, as fauxtp reads and
//! writes them.
//!
//! A control message is a tuple whose first element is its operation code.
//! erl_dist has a codec of its own, but it is private to that crate and
//! types some slots too narrowly (the process of a `MONITOR_P_EXIT` is an
//! atom when the monitor was by name), so fauxtp reads the tuples itself.

use eetf::{Atom, FixInteger, Pid, Reference, Term, Tuple};

/// Operation codes (see the distribution protocol's documentation).
pub(crate) mod op {
    pub const LINK: i32 = 1;
    pub const SEND: i32 = 2;
    pub const EXIT: i32 = 3;
    pub const REG_SEND: i32 = 6;
    pub const EXIT2: i32 = 8;
    pub const MONITOR_P: i32 = 19;
    pub const DEMONITOR_P: i32 = 20;
    pub const MONITOR_P_EXIT: i32 = 21;
    pub const SPAWN_REQUEST: i32 = 29;
    pub const SPAWN_REPLY: i32 = 31;
    pub const ALIAS_SEND: i32 = 33;
    pub const UNLINK_ID: i32 = 35;
    pub const UNLINK_ID_ACK: i32 = 36;
}

/// A process named by pid or by registered name (monitors by name use the
/// name).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Process {
    Pid(Pid),
    Name(Atom),
}

impl From<Process> for Term {
    fn from(process: Process) -> Term {
        match process {
            Process::Pid(pid) => Term::from(pid),
            Process::Name(name) => Term::from(name),
        }
    }
}

/// A control message. The ones with a payload (`Send`, `RegSend`,
/// `AliasSend`) carry it beside, in the frame.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Control {
    Link {
        from: Pid,
        to: Pid,
    },
    Send {
        to: Pid,
    },
    Exit {
        from: Pid,
        to: Pid,
        reason: Term,
    },
    RegSend {
        from: Pid,
        to: Atom,
    },
    Exit2 {
        from: Pid,
        to: Pid,
        reason: Term,
    },
    MonitorP {
        from: Pid,
        to: Process,
        reference: Reference,
    },
    DemonitorP {
        from: Pid,
        to: Process,
        reference: Reference,
    },
    MonitorPExit {
        from: Process,
        to: Pid,
        reference: Reference,
        reason: Term,
    },
    AliasSend {
        from: Pid,
        alias: Reference,
    },
    UnlinkId {
        id: Term,
        from: Pid,
        to: Pid,
    },
    UnlinkIdAck {
        id: Term,
        from: Pid,
        to: Pid,
    },
    /// `spawn_request` from another node: `{M, F, Arity}`, the arguments
    /// in the message.
    SpawnRequest {
        id: Reference,
        from: Pid,
        module: Atom,
        function: Atom,
        options: Term,
    },
    /// The answer to a `spawn_request`: the new pid, or an error atom.
    SpawnReply {
        id: Reference,
        to: Pid,
        /// 1: linked, 2: monitored.
        flags: i32,
        result: Term,
    },
    /// An operation fauxtp does not handle (yet); kept for the log line.
    Other {
        op: i32,
    },
}

/// Why a control message could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("malformed control message {control}: {problem}")]
pub(crate) struct ControlError {
    control: String,
    problem: &'static str,
}

impl Control {
    /// Reads a control message from its term.
    pub(crate) fn decode(term: Term) -> Result<Control, ControlError> {
        // The text of the message is made only for an error (formatting
        // every message would cost more than decoding it).
        let Term::Tuple(Tuple { elements }) = term else {
            return Err(ControlError {
                control: term.to_string(),
                problem: "not a tuple",
            });
        };
        let mut slots = elements.into_iter();
        let op = match slots.next() {
            Some(Term::FixInteger(FixInteger { value })) => value,
            _ => {
                return Err(ControlError {
                    control: "a tuple".to_owned(),
                    problem: "no operation code",
                })
            }
        };
        let fail = |problem| ControlError {
            control: format!("of operation {op}"),
            problem,
        };
        let mut next = || slots.next().ok_or_else(|| fail("too few elements"));
        let control = match op {
            op::LINK => Control::Link {
                from: pid(next()?).ok_or_else(|| fail("from is not a pid"))?,
                to: pid(next()?).ok_or_else(|| fail("to is not a pid"))?,
            },
            op::SEND => {
                let _unused = next()?;
                Control::Send {
                    to: pid(next()?).ok_or_else(|| fail("to is not a pid"))?,
                }
            }
            op::EXIT | op::EXIT2 => {
                let from = pid(next()?).ok_or_else(|| fail("from is not a pid"))?;
                let to = pid(next()?).ok_or_else(|| fail("to is not a pid"))?;
                let reason = next()?;
                if op == op::EXIT {
                    Control::Exit { from, to, reason }
                } else {
                    Control::Exit2 { from, to, reason }
                }
            }
            op::REG_SEND => {
                let from = pid(next()?).ok_or_else(|| fail("from is not a pid"))?;
                let _unused = next()?;
                Control::RegSend {
                    from,
                    to: atom(next()?).ok_or_else(|| fail("to is not a name"))?,
                }
            }
            op::MONITOR_P | op::DEMONITOR_P => {
                let from = pid(next()?).ok_or_else(|| fail("from is not a pid"))?;
                let to = process(next()?).ok_or_else(|| fail("to is not a process"))?;
                let reference = reference(next()?).ok_or_else(|| fail("not a reference"))?;
                if op == op::MONITOR_P {
                    Control::MonitorP {
                        from,
                        to,
                        reference,
                    }
                } else {
                    Control::DemonitorP {
                        from,
                        to,
                        reference,
                    }
                }
            }
            op::MONITOR_P_EXIT => Control::MonitorPExit {
                from: process(next()?).ok_or_else(|| fail("from is not a process"))?,
                to: pid(next()?).ok_or_else(|| fail("to is not a pid"))?,
                reference: reference(next()?).ok_or_else(|| fail("not a reference"))?,
                reason: next()?,
            },
            op::ALIAS_SEND => Control::AliasSend {
                from: pid(next()?).ok_or_else(|| fail("from is not a pid"))?,
                alias: reference(next()?).ok_or_else(|| fail("not a reference"))?,
            },
            op::UNLINK_ID | op::UNLINK_ID_ACK => {
                let id = next()?;
                let from = pid(next()?).ok_or_else(|| fail("from is not a pid"))?;
                let to = pid(next()?).ok_or_else(|| fail("to is not a pid"))?;
                if op == op::UNLINK_ID {
                    Control::UnlinkId { id, from, to }
                } else {
                    Control::UnlinkIdAck { id, from, to }
                }
            }
            op::SPAWN_REQUEST => {
                let id = reference(next()?).ok_or_else(|| fail("not a reference"))?;
                let from = pid(next()?).ok_or_else(|| fail("from is not a pid"))?;
                let _group_leader = next()?;
                let Term::Tuple(Tuple { elements: mfa }) = next()? else {
                    return Err(fail("not {Module, Function, Arity}"));
                };
                let mut mfa = mfa.into_iter();
                let module = mfa.next().and_then(atom).ok_or_else(|| fail("no module"))?;
                let function = mfa
                    .next()
                    .and_then(atom)
                    .ok_or_else(|| fail("no function"))?;
                Control::SpawnRequest {
                    id,
                    from,
                    module,
                    function,
                    options: next()?,
                }
            }
            op => Control::Other { op },
        };
        Ok(control)
    }

    /// The term of this control message.
    pub(crate) fn encode(self) -> Term {
        let code = |op: i32| Term::from(FixInteger::from(op));
        let empty = || Term::from(Atom::from(""));
        let elements = match self {
            Control::Link { from, to } => vec![code(op::LINK), from.into(), to.into()],
            Control::Send { to } => vec![code(op::SEND), empty(), to.into()],
            Control::Exit { from, to, reason } => {
                vec![code(op::EXIT), from.into(), to.into(), reason]
            }
            Control::RegSend { from, to } => {
                vec![code(op::REG_SEND), from.into(), empty(), to.into()]
            }
            Control::Exit2 { from, to, reason } => {
                vec![code(op::EXIT2), from.into(), to.into(), reason]
            }
            Control::MonitorP {
                from,
                to,
                reference,
            } => vec![
                code(op::MONITOR_P),
                from.into(),
                to.into(),
                reference.into(),
            ],
            Control::DemonitorP {
                from,
                to,
                reference,
            } => vec![
                code(op::DEMONITOR_P),
                from.into(),
                to.into(),
                reference.into(),
            ],
            Control::MonitorPExit {
                from,
                to,
                reference,
                reason,
            } => vec![
                code(op::MONITOR_P_EXIT),
                from.into(),
                to.into(),
                reference.into(),
                reason,
            ],
            Control::AliasSend { from, alias } => {
                vec![code(op::ALIAS_SEND), from.into(), alias.into()]
            }
            Control::UnlinkId { id, from, to } => {
                vec![code(op::UNLINK_ID), id, from.into(), to.into()]
            }
            Control::UnlinkIdAck { id, from, to } => {
                vec![code(op::UNLINK_ID_ACK), id, from.into(), to.into()]
            }
            Control::SpawnRequest {
                id,
                from,
                module,
                function,
                options,
            } => vec![
                code(op::SPAWN_REQUEST),
                id.into(),
                from.clone().into(),
                from.into(),
                Term::from(Tuple::from(vec![module.into(), function.into(), code(0)])),
                options,
            ],
            Control::SpawnReply {
                id,
                to,
                flags,
                result,
            } => vec![
                code(op::SPAWN_REPLY),
                id.into(),
                to.into(),
                code(flags),
                result,
            ],
            Control::Other { op } => vec![code(op)],
        };
        Term::from(Tuple::from(elements))
    }
}

fn pid(term: Term) -> Option<Pid> {
    match term {
        Term::Pid(pid) => Some(pid),
        _ => None,
    }
}

fn atom(term: Term) -> Option<Atom> {
    match term {
        Term::Atom(atom) => Some(atom),
        _ => None,
    }
}

fn reference(term: Term) -> Option<Reference> {
    match term {
        Term::Reference(reference) => Some(*reference),
        _ => None,
    }
}

fn process(term: Term) -> Option<Process> {
    match term {
        Term::Pid(pid) => Some(Process::Pid(pid)),
        Term::Atom(name) => Some(Process::Name(name)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a_pid(id: u32) -> Pid {
        Pid::new("e1@localhost", id, 0, 7)
    }

    fn a_ref() -> Reference {
        Reference {
            node: Atom::from("e1@localhost"),
            id: vec![1, 2, 3],
            creation: 7,
        }
    }

    #[test]
    fn control_messages_round_trip() {
        let all = [
            Control::Link {
                from: a_pid(1),
                to: a_pid(2),
            },
            Control::Send { to: a_pid(2) },
            Control::Exit {
                from: a_pid(1),
                to: a_pid(2),
                reason: Term::from(Atom::from("boom")),
            },
            Control::RegSend {
                from: a_pid(1),
                to: Atom::from("net_kernel"),
            },
            Control::MonitorP {
                from: a_pid(1),
                to: Process::Name(Atom::from("srv")),
                reference: a_ref(),
            },
            Control::DemonitorP {
                from: a_pid(1),
                to: Process::Pid(a_pid(3)),
                reference: a_ref(),
            },
            Control::MonitorPExit {
                from: Process::Name(Atom::from("srv")),
                to: a_pid(1),
                reference: a_ref(),
                reason: Term::from(Atom::from("noproc")),
            },
            Control::AliasSend {
                from: a_pid(1),
                alias: a_ref(),
            },
            Control::UnlinkId {
                id: Term::from(FixInteger::from(9)),
                from: a_pid(1),
                to: a_pid(2),
            },
        ];
        for control in all {
            assert_eq!(Control::decode(control.clone().encode()), Ok(control));
        }
    }

    #[test]
    fn bad_control_messages_are_errors() {
        assert!(Control::decode(Term::from(Atom::from("hello"))).is_err());
        let short = Term::from(Tuple::from(vec![Term::from(FixInteger::from(1))]));
        assert!(Control::decode(short).is_err());
        let odd = Term::from(Tuple::from(vec![Term::from(FixInteger::from(99))]));
        assert_eq!(Control::decode(odd), Ok(Control::Other { op: 99 }));
    }
}
