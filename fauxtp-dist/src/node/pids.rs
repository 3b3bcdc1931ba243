//! Pids and references across nodes: the pid other nodes know a local
//! process by, the local process behind one of this node's pids, and the
//! pids and references the node makes for its own calls and sends.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use eetf::{Atom, Pid as ErlPid, Reference, Term};

use super::{Inner, Node};
use crate::error::DistError;
use crate::frame::Payload;
use crate::term::ToTerm;

/// The serial bit of pids that stand for no process (calls, sends).
const ANONYMOUS: u32 = 1 << 31;

/// A local process other nodes can send to.
pub(super) trait Reachable: Send + Sync {
    fn pid(&self) -> fauxtp::AnyPid;
    fn deliver(&self, message: Term) -> bool;
}

impl<M: From<Term> + Send + 'static> Reachable for fauxtp::Pid<M> {
    fn pid(&self) -> fauxtp::AnyPid {
        self.any()
    }

    fn deliver(&self, message: Term) -> bool {
        self.send(M::from(message)).is_ok()
    }
}

/// The local processes other nodes can send to, by fauxtp id. Ended ones
/// are forgotten when looked up, and swept now and then.
#[derive(Default)]
pub(super) struct Exposed {
    by_id: HashMap<u64, Arc<dyn Reachable>>,
    /// How many were left after the last sweep.
    swept: usize,
}

impl Node {
    /// The pid other nodes know the local process `pid` by, to put in a
    /// message to them: what they send to it arrives as `M::from(term)`
    /// (`M` can be [`Term`] itself).
    pub fn pid_of<M: From<Term> + Send + 'static>(&self, pid: &fauxtp::Pid<M>) -> ErlPid {
        self.inner.expose(pid)
    }

    /// Sends `message` to the process `to` of another node (a pid that came
    /// in a message), as Erlang's `Pid ! Message`: connects if needed
    /// (waiting up to 7 s for that), sends, and returns. Nothing says
    /// whether the process exists.
    ///
    /// # Errors
    ///
    /// Only when there is no connection to `to`'s node and none can be
    /// made (see [`DistError`]), or the node is stopped.
    pub async fn send_to(&self, to: &ErlPid, message: impl ToTerm) -> Result<(), DistError> {
        if let Some(local) = self.inner.exposed(to) {
            local.deliver(message.to_term());
            return Ok(());
        }
        let out = self.inner.connection(&to.node.name).await?;
        let message = super::calls::term_of(&message);
        out.send_to_pid(to.clone(), Payload::Term(&message)).await;
        Ok(())
    }
}

impl Inner {
    /// A new pid of this node for a call or a send that is not made by a
    /// process (the high bit of the serial sets them apart from processes').
    pub(super) fn new_pid(&self) -> ErlPid {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        ErlPid::new(self.name.as_str(), id, ANONYMOUS, self.local.creation.get())
    }

    /// [`new_pid`](Inner::new_pid) by its parts, for a frame written
    /// without terms.
    pub(super) fn new_pid_parts(&self) -> crate::frame::PidParts<'_> {
        crate::frame::PidParts {
            node: &self.name,
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            serial: ANONYMOUS,
            creation: self.local.creation.get(),
        }
    }

    /// The pid other nodes know the local process `id` by.
    pub(super) fn erl_pid(&self, id: u64) -> ErlPid {
        ErlPid::new(
            self.name.as_str(),
            id as u32,
            (id >> 32) as u32,
            self.local.creation.get(),
        )
    }

    /// The local process behind one of this node's pids, if it was exposed
    /// and still runs.
    pub(super) fn exposed(&self, pid: &ErlPid) -> Option<Arc<dyn Reachable>> {
        if pid.node.name != self.name || pid.serial & ANONYMOUS != 0 {
            return None;
        }
        let id = (u64::from(pid.serial) << 32) | u64::from(pid.id);
        let mut state = self.lock();
        let exposed = &mut state.exposed.by_id;
        match exposed.get(&id) {
            Some(process) if process.pid().is_alive() => Some(process.clone()),
            Some(_) => {
                exposed.remove(&id);
                None
            }
            None => None,
        }
    }

    /// Makes a local process reachable from other nodes; its pid there.
    pub(super) fn expose<M: From<Term> + Send + 'static>(&self, pid: &fauxtp::Pid<M>) -> ErlPid {
        let id = pid.id();
        let mut state = self.lock();
        let exposed = &mut state.exposed;
        // Forget the ones that ended, now and then.
        if exposed.by_id.len() >= 2 * exposed.swept.max(64) {
            exposed.by_id.retain(|_, p| p.pid().is_alive());
            exposed.swept = exposed.by_id.len();
        }
        exposed
            .by_id
            .entry(id)
            .or_insert_with(|| Arc::new(pid.clone()));
        drop(state);
        self.erl_pid(id)
    }

    /// A new reference of this node.
    pub(super) fn new_ref(&self) -> Reference {
        let n = self.next_ref.fetch_add(1, Ordering::Relaxed);
        Reference {
            node: Atom::from(self.name.as_str()),
            id: vec![n as u32 & 0x3ffff, (n >> 18) as u32, 0],
            creation: self.local.creation.get(),
        }
    }
}
