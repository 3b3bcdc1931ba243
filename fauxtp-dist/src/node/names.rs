//! The names other nodes call local servers by: `{Name, 'this@node'}`.
//! The node's own names come first; then fauxtp's registry, for any
//! `#[genserver(remote)]` server registered there.

use std::collections::HashMap;
use std::sync::Arc;

use super::{Inner, Node};
use crate::error::DistError;
use crate::gen::{Registered, RegisteredServer, RemoteServer};

/// The servers other nodes can reach by name. An entry whose server ended
/// is forgotten when it is next looked up or replaced.
#[derive(Default)]
pub(super) struct Names {
    by_name: HashMap<String, Arc<dyn Registered>>,
    /// The servers found in fauxtp's registry, by fauxtp id, as other nodes
    /// reach them: made once per server rather than once per message.
    /// Ended ones are swept now and then.
    from_registry: HashMap<u64, Arc<dyn Registered>>,
    /// How many were left after the last sweep.
    swept: usize,
}

impl Names {
    /// Gives `name` to `entry`, unless a live server has it.
    pub(super) fn insert(
        &mut self,
        name: &str,
        entry: Arc<dyn Registered>,
    ) -> Result<(), DistError> {
        if let Some(existing) = self.by_name.get(name) {
            if existing.pid().is_alive() {
                return Err(DistError::NameTaken {
                    name: name.to_owned(),
                });
            }
        }
        self.by_name.insert(name.to_owned(), entry);
        Ok(())
    }

    /// Forgets every name (the node stops).
    pub(super) fn clear(&mut self) {
        self.by_name.clear();
        self.from_registry.clear();
    }
}

impl Node {
    /// Makes `server` reachable from other nodes as `{name, 'this@node'}`:
    /// `gen_server:call({counter, 'rust@localhost'}, {add, 7})` from Erlang,
    /// `GenServer.call({:counter, :"rust@localhost"}, {:add, 7})` from
    /// Elixir. The server's impl block needs `#[genserver(remote)]`. The
    /// name is this node's (not fauxtp's registry), and is freed when the
    /// server ends.
    ///
    /// # Errors
    ///
    /// [`DistError::NameTaken`] if a live server has the name already,
    /// [`DistError::Stopped`] if the node is stopped.
    pub fn register<M: RemoteServer>(
        &self,
        name: &str,
        server: &fauxtp::Pid<M>,
    ) -> Result<(), DistError> {
        let mut state = self.inner.lock();
        if state.stopped {
            return Err(DistError::Stopped);
        }
        let entry = RegisteredServer {
            pid: server.clone(),
            erl_pid: self.inner.erl_pid(server.id()),
        };
        state.names.insert(name, Arc::new(entry))
    }
}

impl Inner {
    /// The live server called `name` here: one registered with the node,
    /// or else whatever `#[genserver(remote)]` server fauxtp's registry
    /// has under that name now (so a server restarted under its name is
    /// reachable again as soon as it is registered, as in Erlang).
    pub(super) fn registered(&self, name: &str) -> Option<Arc<dyn Registered>> {
        {
            let mut state = self.lock();
            let names = &mut state.names.by_name;
            match names.get(name) {
                Some(entry) if entry.pid().is_alive() => return Some(entry.clone()),
                Some(_) => {
                    names.remove(name);
                }
                None => {}
            }
        }
        let pid = fauxtp::registry::whereis_any(name)?;
        let mut state = self.lock();
        let names = &mut state.names;
        if let Some(server) = names.from_registry.get(&pid.id()) {
            return Some(server.clone());
        }
        let server = crate::gen::remote_server(&pid, self.erl_pid(pid.id()))?;
        if names.from_registry.len() >= 2 * names.swept.max(64) {
            names.from_registry.retain(|_, s| s.pid().is_alive());
            names.swept = names.from_registry.len();
        }
        names.from_registry.insert(pid.id(), server.clone());
        Some(server)
    }
}
