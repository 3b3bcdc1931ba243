//! The names other nodes call local servers by: `{Name, 'this@node'}`.
//! The node's own names come first; then fauxtp's registry, for any
//! `#[genserver(remote)]` server registered there.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
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
    /// Moves on each time `by_name` changes; the node reads it without its
    /// lock ([`Inner::names_version`]), for the connections' [`NameCache`]s.
    version: Arc<AtomicU64>,
}

impl Names {
    /// Gives `name` to `entry`, unless a live server has it.
    pub(super) fn insert(
        &mut self,
        name: &str,
        entry: Arc<dyn Registered>,
    ) -> Result<(), DistError> {
        if let Some(existing) = self.by_name.get(name) {
            if existing.is_alive() {
                return Err(DistError::NameTaken {
                    name: name.to_owned(),
                });
            }
        }
        self.by_name.insert(name.to_owned(), entry);
        self.changed();
        Ok(())
    }

    /// Forgets every name (the node stops).
    pub(super) fn clear(&mut self) {
        self.by_name.clear();
        self.from_registry.clear();
        self.changed();
    }

    /// The counter that moves on with each change of the node's names.
    pub(super) fn version(&self) -> Arc<AtomicU64> {
        self.version.clone()
    }

    fn changed(&self) {
        self.version.fetch_add(1, Ordering::Release);
    }
}

/// The servers a connection's messages to names went to lately, so that
/// a stream of them to one name does not look it up (under the node's
/// lock) for each message. An entry holds while neither the node's names
/// nor fauxtp's registry changed since it was looked up, and its server
/// lives: then the lookup would find it again. (A name that changes hands
/// while a message to it is on its way may reach either holder, as a name
/// looked up at the moment it changes hands does.)
#[derive(Default)]
pub(crate) struct NameCache {
    entries: Vec<Cached>,
    /// The entry the next new one replaces, once the cache is full.
    next: usize,
}

struct Cached {
    name: Arc<str>,
    server: Arc<dyn Registered>,
    /// The node's names' version, and the registry's, when it was looked up.
    names: u64,
    registry: u64,
}

/// How many names a connection remembers.
const CACHED_NAMES: usize = 8;

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
    /// The version of the node's names: it moves on each time one is given
    /// or taken away.
    fn names_version(&self) -> u64 {
        self.names_version.load(Ordering::Acquire)
    }

    /// [`registered`](Self::registered), through a connection's `cache`.
    pub(super) fn registered_cached<'c>(
        &self,
        cache: &'c mut NameCache,
        name: &str,
    ) -> Option<&'c dyn Registered> {
        // Read before the lookup: a change during it makes the entry
        // stale at once.
        let (names, registry) = (self.names_version(), fauxtp::__private::names_version());
        let found = cache.entries.iter().position(|entry| &*entry.name == name);
        let at = match found {
            Some(at) => {
                let entry = &mut cache.entries[at];
                if entry.names == names && entry.registry == registry && entry.server.is_alive() {
                    return Some(&*cache.entries[at].server);
                }
                let Some(server) = self.registered(name) else {
                    // Not kept: a server that ended is let go.
                    cache.entries.swap_remove(at);
                    return None;
                };
                (entry.server, entry.names, entry.registry) = (server, names, registry);
                at
            }
            None => {
                let entry = Cached {
                    name: Arc::from(name),
                    server: self.registered(name)?,
                    names,
                    registry,
                };
                if cache.entries.len() < CACHED_NAMES {
                    cache.entries.push(entry);
                    cache.entries.len() - 1
                } else {
                    let at = cache.next;
                    cache.next = (at + 1) % CACHED_NAMES;
                    cache.entries[at] = entry;
                    at
                }
            }
        };
        Some(&*cache.entries[at].server)
    }

    /// The live server called `name` here: one registered with the node,
    /// or else whatever `#[genserver(remote)]` server fauxtp's registry
    /// has under that name now (so a server restarted under its name is
    /// reachable again as soon as it is registered, as in Erlang).
    pub(super) fn registered(&self, name: &str) -> Option<Arc<dyn Registered>> {
        {
            let mut state = self.lock();
            let names = &mut state.names;
            match names.by_name.get(name) {
                Some(entry) if entry.is_alive() => return Some(entry.clone()),
                Some(_) => {
                    names.by_name.remove(name);
                    names.changed();
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
            names.from_registry.retain(|_, s| s.is_alive());
            names.swept = names.from_registry.len();
        }
        names.from_registry.insert(pid.id(), server.clone());
        Some(server)
    }
}
