//! [`Registry`]: processes by key, with a value each, as Elixir's
//! `Registry`: unique keys (one process per key) or duplicate keys (any
//! number), lookups, dispatch for pub/sub, matching on values, counts,
//! partitions for many writers, and entries that go when their process
//! ends.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use crate::process::{AnyPid, Pid};

/// Whether a key may have one process or many.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keys {
    /// One process per key: registering a taken key fails.
    Unique,
    /// Any number of processes per key, and a process may register one key
    /// several times.
    Duplicate,
}

/// Why a keyed registry refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// In a unique registry, a live process holds the key.
    #[error("the key is taken by {owner}")]
    Taken {
        /// The process that holds it.
        owner: AnyPid,
    },
    /// The process has ended: it cannot register.
    #[error("{pid} has ended: it cannot register")]
    NoProc {
        /// The process.
        pid: AnyPid,
    },
    /// No process holds the key.
    #[error("no process holds the key")]
    NotFound,
    /// The process holding the key has another message type than asked.
    #[error("the process holding the key takes {found}, not {expected}")]
    WrongType {
        /// The type asked for.
        expected: &'static str,
        /// The holder's message type.
        found: &'static str,
    },
    /// `whereis` on a registry of duplicate keys, where a key names no one
    /// process.
    #[error("a registry of duplicate keys has no single process per key")]
    NotUnique,
}

/// One registration.
struct Entry<V> {
    pid: AnyPid,
    value: V,
    message_type: &'static str,
}

/// One partition: its keys, and which keys each process holds here.
struct Partition<K, V> {
    keys: HashMap<K, Vec<Entry<V>>>,
    /// pid id -> the keys it holds in this partition (with repeats); an
    /// entry means the partition has asked the process to clean up here
    /// when it ends.
    owners: HashMap<u64, Vec<K>>,
}

struct Inner<K, V> {
    kind: Keys,
    partitions: Vec<Mutex<Partition<K, V>>>,
}

/// Processes by key, each with a value, as Elixir's `Registry`. Cheap to
/// clone (a shared handle); the registry lives as long as any handle.
///
/// ```
/// use fauxtp::prelude::*;
/// use fauxtp::registry::{Keys, Registry};
///
/// # #[tokio::main] async fn main() {
/// let topics: Registry<String, u8> = Registry::new(Keys::Duplicate);
/// let subscriber = |mut ctx: Ctx<String>| async move {
///     let _ = ctx.recv().await;
///     Ok(())
/// };
/// let a = fauxtp::spawn(subscriber);
/// let b = fauxtp::spawn(subscriber);
/// topics.register("news".to_owned(), &a, 1).unwrap();
/// topics.register("news".to_owned(), &b, 2).unwrap();
/// assert_eq!(topics.count(), 2);
///
/// // Publish: every subscriber of the topic, whatever its message type.
/// // (These subscribers end once they have a message, and their entries
/// // go with them.)
/// topics.dispatch(&"news".to_owned(), |entries| {
///     for (pid, _priority) in entries {
///         let pid: Pid<String> = pid.downcast().unwrap();
///         pid.send("hello").unwrap();
///     }
/// });
/// # }
/// ```
pub struct Registry<K, V> {
    inner: Arc<Inner<K, V>>,
}

impl<K, V> Clone for Registry<K, V> {
    fn clone(&self) -> Self {
        Registry {
            inner: self.inner.clone(),
        }
    }
}

impl<K, V> std::fmt::Debug for Registry<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("keys", &self.inner.kind)
            .field("partitions", &self.inner.partitions.len())
            .finish_non_exhaustive()
    }
}

impl<K, V> Registry<K, V>
where
    K: Eq + Hash + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// A registry with one partition.
    pub fn new(kind: Keys) -> Self {
        Registry::with_partitions(kind, 1)
    }

    /// A registry whose keys are spread over `partitions` locks (at least
    /// one), so that many processes registering at once rarely wait for
    /// one another (Elixir's `partitions:`).
    pub fn with_partitions(kind: Keys, partitions: usize) -> Self {
        let partitions = (0..partitions.max(1))
            .map(|_| {
                Mutex::new(Partition {
                    keys: HashMap::new(),
                    owners: HashMap::new(),
                })
            })
            .collect();
        Registry {
            inner: Arc::new(Inner { kind, partitions }),
        }
    }

    /// Unique or duplicate keys.
    pub fn keys_kind(&self) -> Keys {
        self.inner.kind
    }

    fn partition(&self, key: &K) -> (usize, MutexGuard<'_, Partition<K, V>>) {
        let count = self.inner.partitions.len();
        let index = if count == 1 {
            0
        } else {
            let mut hasher = DefaultHasher::new();
            key.hash(&mut hasher);
            (hasher.finish() % count as u64) as usize
        };
        let guard = self.inner.partitions[index]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        (index, guard)
    }

    /// Registers `pid` under `key` with `value`. The entry goes when the
    /// process ends (before its links and monitors hear of it) or is
    /// unregistered.
    ///
    /// # Errors
    ///
    /// [`KeyError::Taken`] for a taken key of a unique registry;
    /// [`KeyError::NoProc`] if the process has ended.
    pub fn register<M: Send + 'static>(
        &self,
        key: K,
        pid: &Pid<M>,
        value: V,
    ) -> Result<(), KeyError> {
        self.register_any(key, pid.any(), std::any::type_name::<M>(), value)
    }

    /// A key of this registry (with its entry's value) to start a server
    /// under: Elixir's `{:via, Registry, {registry, key}}`. Give it to
    /// `Server::start_via`, or to a child spec's
    /// [`via`](crate::supervisor::ChildSpec::via): the server registers
    /// under the key at each start, so after a restart the key leads to the
    /// new process.
    pub fn via(&self, key: K, value: V) -> Via {
        let registry = self.clone();
        Via {
            register: Arc::new(move |pid: &AnyPid, message_type| {
                registry.register_any(key.clone(), pid.clone(), message_type, value.clone())
            }),
        }
    }

    fn register_any(
        &self,
        key: K,
        pid: AnyPid,
        message_type: &'static str,
        value: V,
    ) -> Result<(), KeyError> {
        let (index, mut part) = self.partition(&key);
        if self.inner.kind == Keys::Unique {
            if let Some(owner) = part
                .keys
                .get(&key)
                .and_then(|entries| entries.first())
                .filter(|entry| entry.pid.is_alive())
            {
                return Err(KeyError::Taken {
                    owner: owner.pid.clone(),
                });
            }
        }
        // The first key this process holds here: ask it to clean up when
        // it ends (once per process and partition).
        if !part.owners.contains_key(&pid.id()) {
            let registry = Arc::downgrade(&self.inner);
            let hook = Box::new(move |ended: &AnyPid| forget(&registry, index, ended));
            if pid.add_exit_hook(hook).is_err() {
                return Err(KeyError::NoProc { pid });
            }
        } else if !pid.is_alive() {
            return Err(KeyError::NoProc { pid });
        }
        part.owners.entry(pid.id()).or_default().push(key.clone());
        let entries = part.keys.entry(key).or_default();
        if self.inner.kind == Keys::Unique {
            // A dead holder's entry, if its exit has not been cleaned yet.
            entries.clear();
        }
        entries.push(Entry {
            pid,
            value,
            message_type,
        });
        Ok(())
    }

    /// Removes `pid`'s entries under `key`; false if it had none.
    pub fn unregister(&self, key: &K, pid: impl Into<AnyPid>) -> bool {
        let pid = pid.into();
        let (_, mut part) = self.partition(key);
        let Some(entries) = part.keys.get_mut(key) else {
            return false;
        };
        let before = entries.len();
        entries.retain(|entry| entry.pid != pid);
        let removed = entries.len() < before;
        if entries.is_empty() {
            part.keys.remove(key);
        }
        if let Some(keys) = part.owners.get_mut(&pid.id()) {
            keys.retain(|held| held != key);
        }
        removed
    }

    /// The entries under `key`: `(pid, value)`, in registration order.
    pub fn lookup(&self, key: &K) -> Vec<(AnyPid, V)> {
        let (_, part) = self.partition(key);
        part.keys
            .get(key)
            .map(|entries| {
                entries
                    .iter()
                    .filter(|entry| entry.pid.is_alive())
                    .map(|entry| (entry.pid.clone(), entry.value.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The process registered under `key` in a unique registry, typed (a
    /// via-name).
    ///
    /// # Errors
    ///
    /// [`KeyError::NotFound`], [`KeyError::WrongType`], or
    /// [`KeyError::NotUnique`] on a registry of duplicate keys.
    pub fn whereis<M: Send + 'static>(&self, key: &K) -> Result<Pid<M>, KeyError> {
        if self.inner.kind == Keys::Duplicate {
            return Err(KeyError::NotUnique);
        }
        let (_, part) = self.partition(key);
        let entry = part
            .keys
            .get(key)
            .and_then(|entries| entries.first())
            .filter(|entry| entry.pid.is_alive())
            .ok_or(KeyError::NotFound)?;
        entry.pid.downcast::<M>().ok_or(KeyError::WrongType {
            expected: std::any::type_name::<M>(),
            found: entry.message_type,
        })
    }

    /// Calls `f` with the entries under `key` (none: not called), outside
    /// the registry's lock: Elixir's `Registry.dispatch`, for pub/sub.
    pub fn dispatch(&self, key: &K, f: impl FnOnce(&[(AnyPid, V)])) {
        let entries = self.lookup(key);
        if !entries.is_empty() {
            f(&entries);
        }
    }

    /// The entries under `key` whose value `pred` accepts (Elixir's
    /// `Registry.match`, with a closure for the pattern).
    pub fn match_values(&self, key: &K, pred: impl Fn(&V) -> bool) -> Vec<(AnyPid, V)> {
        self.lookup(key)
            .into_iter()
            .filter(|(_, value)| pred(value))
            .collect()
    }

    /// How many entries the registry holds.
    pub fn count(&self) -> usize {
        self.inner
            .partitions
            .iter()
            .map(|part| {
                let part = part.lock().unwrap_or_else(|e| e.into_inner());
                part.keys.values().map(Vec::len).sum::<usize>()
            })
            .sum()
    }

    /// The keys `pid` holds (with repeats for a key registered twice).
    pub fn keys(&self, pid: impl Into<AnyPid>) -> Vec<K> {
        let pid = pid.into();
        let mut keys = Vec::new();
        for part in &self.inner.partitions {
            let part = part.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(held) = part.owners.get(&pid.id()) {
                keys.extend(held.iter().cloned());
            }
        }
        keys
    }
}

/// A key of a keyed [`Registry`] to start a server under (see
/// [`Registry::via`]).
#[derive(Clone)]
pub struct Via {
    register: Arc<ViaRegister>,
}

/// Registers a pid (with its message type's name) under a via's key.
type ViaRegister = dyn Fn(&AnyPid, &'static str) -> Result<(), KeyError> + Send + Sync;

impl Via {
    /// Registers `pid` (whose messages are `message_type`) under the key.
    pub(crate) fn register(
        &self,
        pid: &AnyPid,
        message_type: &'static str,
    ) -> Result<(), KeyError> {
        (self.register)(pid, message_type)
    }
}

impl std::fmt::Debug for Via {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Via")
    }
}

/// Run by the exit protocol of a process that registered in `partition`:
/// takes its entries out (if the registry is still there).
fn forget<K, V>(registry: &Weak<Inner<K, V>>, partition: usize, ended: &AnyPid)
where
    K: Eq + Hash,
{
    let Some(inner) = registry.upgrade() else {
        return;
    };
    let mut part = inner.partitions[partition]
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let Some(keys) = part.owners.remove(&ended.id()) else {
        return;
    };
    for key in keys {
        if let Some(entries) = part.keys.get_mut(&key) {
            entries.retain(|entry| entry.pid != *ended);
            if entries.is_empty() {
                part.keys.remove(&key);
            }
        }
    }
}
