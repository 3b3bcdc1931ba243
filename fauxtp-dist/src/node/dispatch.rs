//! What each control message from a peer does: one arm per message, each
//! handing it to the file of its concept.

use eetf::{Pid as ErlPid, Term};

use super::names::NameCache;
use super::Inner;
use crate::connection::{Dispatch, Handled};
use crate::control::{Control, Process};
use crate::frame::Message;
use crate::gen;
use crate::outgoing::Outgoing;
use crate::term::atom;

impl Dispatch for Inner {
    type Names = NameCache;

    fn dispatch(
        &self,
        peer: &str,
        out: &Outgoing,
        names: &mut NameCache,
        control: Control,
        payload: Option<Term>,
    ) -> Handled {
        match control {
            Control::Send { to } => {
                let Some(payload) = payload else {
                    return Handled::Other;
                };
                let Err(payload) = self.reply(out, payload) else {
                    return Handled::AnsweredCall;
                };
                match self.exposed(&to) {
                    Some(process) => {
                        process.deliver(payload);
                    }
                    // As in Erlang, a message to a process that is not
                    // there is dropped without a word; it is common (a
                    // process that just ended), so only debug says so.
                    None => tracing::debug!(
                        peer,
                        to = %to,
                        "dropped a message to a process this node does not have"
                    ),
                }
            }
            Control::RegSend { to, .. } => {
                if let Some(payload) = payload {
                    self.to_name(peer, out, names, &to.name, Message::Term(payload));
                }
            }
            request @ Control::SpawnRequest { .. } => self.spawn_request(out, request, payload),
            Control::SpawnReply { .. } => {}
            Control::AliasSend { alias, .. } => tracing::warn!(
                peer,
                alias = %Term::from(alias),
                "dropped a message to a process alias: fauxtp processes have none"
            ),
            Control::MonitorP {
                from,
                to,
                reference,
            } => {
                let target = match &to {
                    // net_kernel is always there.
                    Process::Name(name) if name.name == "net_kernel" => return Handled::Other,
                    Process::Name(name) => self.registered(&name.name).map(|server| server.pid()),
                    Process::Pid(pid) => self.exposed(pid).map(|process| process.pid()),
                };
                match target {
                    // A target that ends from here on is still reported with
                    // its reason: the monitor is made at once.
                    Some(target) => self.inbound.monitor(out, target, to, from, reference),
                    // Not there: the monitor fires at once, so a caller does
                    // not wait out its timeout.
                    None => out.send(
                        Control::MonitorPExit {
                            from: to,
                            to: from,
                            reference,
                            reason: atom("noproc"),
                        },
                        None,
                    ),
                }
            }
            Control::DemonitorP { reference, .. } => self.inbound.demonitor(out, &reference),
            // A monitor this node took, for one of its calls or for a local
            // process, fired.
            Control::MonitorPExit {
                reference, reason, ..
            } => match self.call_down(out, &reference, reason) {
                Ok(()) => return Handled::AnsweredCall,
                Err(reason) => self.monitor_fired(out, reference, reason),
            },
            Control::Link { from, to } => match self.exposed(&to) {
                Some(process) => self.inbound.link(out, process.pid(), to, from),
                // A link to a process that does not exist breaks at once.
                None => out.send(
                    Control::Exit {
                        from: to,
                        to: from,
                        reason: atom("noproc"),
                    },
                    None,
                ),
            },
            Control::UnlinkId { id, from, to } => {
                self.inbound.unlink(&to, &from);
                out.send(
                    Control::UnlinkIdAck {
                        id,
                        from: to,
                        to: from,
                    },
                    None,
                )
            }
            // This node's own unlinks take effect when they are sent; the
            // acknowledgement changes nothing.
            Control::UnlinkIdAck { .. } => {}
            Control::Exit { from, to, reason } => self.exit_signal(from, to, reason, true),
            Control::Exit2 { from, to, reason } => self.exit_signal(from, to, reason, false),
            Control::Other { op } => tracing::warn!(
                peer,
                op,
                "dropped a control message of an operation fauxtp does not handle"
            ),
        }
        Handled::Other
    }

    fn to_name(
        &self,
        peer: &str,
        out: &Outgoing,
        names: &mut NameCache,
        name: &str,
        message: Message,
    ) {
        if name == "net_kernel" {
            return gen::net_kernel(out, message.into_term());
        }
        match self.registered_cached(names, name) {
            Some(server) => gen::deliver(server, out, message),
            // Dropped quietly as above: a name that is not there is common
            // while a supervisor restarts its holder, and a caller learns
            // of it from its monitor (`noproc`).
            None => tracing::debug!(
                peer,
                name,
                message = %message.into_term(),
                "dropped a message to a name this node does not have"
            ),
        }
    }

    fn hung_up(&self, peer: &str, connection: u64) {
        self.disconnected(peer, connection);
    }
}

impl Inner {
    /// An exit signal from `from` to the local process `to`: over their
    /// link, or not (Erlang's `exit/2`).
    fn exit_signal(&self, from: ErlPid, to: ErlPid, reason: Term, via_link: bool) {
        if let Some(process) = self.exposed(&to) {
            self.inbound
                .exit(process.pid(), &to, &from, &reason, via_link);
        }
    }
}
