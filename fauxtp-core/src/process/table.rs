//! Every live process, for [`list`]: a table sharded by pid, written at
//! spawn and by the exit protocol, read by whoever lists.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{LazyLock, Mutex, MutexGuard};

use super::AnyPid;

/// Enough shards that spawns on different threads rarely meet on a lock.
const SHARDS: usize = 32;

/// A map keyed by pid id. Its hasher has no state: a map of the default
/// hasher carries 16 bytes of keys, in every process's links too.
pub(super) type ById<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

type Shard = Mutex<ById<AnyPid>>;

static TABLE: LazyLock<[Shard; SHARDS]> =
    LazyLock::new(|| std::array::from_fn(|_| Mutex::default()));

/// Pid ids are distinct counters: they hash as themselves.
#[derive(Default)]
pub(super) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 << 8) | u64::from(byte);
        }
    }
    fn write_u64(&mut self, id: u64) {
        // The map finds a key's first bucket from the hash's low bits and
        // tells keys in a group apart by its top seven. The low bits are
        // the id itself without the shard's bits, so a shard's consecutive
        // ids sit in neighbouring buckets: a million spawns write the
        // table in order instead of missing the cache once each. The top
        // seven come from a multiplication that spreads consecutive ids.
        const TOP: u64 = 0x7F << 57;
        let spread = id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = ((id / SHARDS as u64) & !TOP) | (spread & TOP);
    }
}

fn shard(id: u64) -> MutexGuard<'static, ById<AnyPid>> {
    // Nothing that can panic runs under these locks but an allocation.
    TABLE[id as usize % SHARDS]
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// A process has started.
pub(super) fn insert(pid: &AnyPid) {
    shard(pid.id()).insert(pid.id(), pid.clone());
}

/// A process has ended (called once, by its exit protocol).
pub(super) fn remove(id: u64) {
    // The handle is dropped after the lock is released.
    let removed = shard(id).remove(&id);
    drop(removed);
}

/// Every live process, by pid order (Erlang's `erlang:processes/0`).
///
/// A process is listed from its spawn until its exit protocol runs, as
/// [`count`](super::count) counts it; detached contexts are listed too. The
/// list is a snapshot: a process may end, or a new one start, as soon as it
/// is taken. It costs one lock per shard and a reference count per process;
/// pair it with [`info`](super::info) to look at each one.
///
/// ```
/// use fauxtp::prelude::*;
///
/// # #[tokio::main] async fn main() {
/// let me = Ctx::<()>::detached();
/// assert!(fauxtp::process::list().contains(&me.pid().any()));
/// # }
/// ```
pub fn list() -> Vec<AnyPid> {
    let mut pids = Vec::with_capacity(super::count() + SHARDS);
    for shard in TABLE.iter() {
        let shard = shard.lock().unwrap_or_else(|e| e.into_inner());
        pids.extend(shard.values().cloned());
    }
    pids.sort_unstable_by_key(AnyPid::id);
    pids
}

/// The live process whose pid has this id (the `42` of `<0.42.0>`), if
/// there is one: for tools that name processes by number, as Erlang's
/// `list_to_pid("<0.42.0>")`.
///
/// ```
/// use fauxtp::prelude::*;
///
/// # #[tokio::main] async fn main() {
/// let me = Ctx::<()>::detached();
/// assert_eq!(fauxtp::process::find(me.pid().id()), Some(me.pid().any()));
/// # }
/// ```
pub fn find(id: u64) -> Option<AnyPid> {
    shard(id).get(&id).cloned()
}

#[cfg(test)]
mod tests {
    use std::hash::{BuildHasher, BuildHasherDefault};

    use super::{IdHasher, SHARDS};

    fn hash(id: u64) -> u64 {
        BuildHasherDefault::<IdHasher>::default().hash_one(id)
    }

    #[test]
    fn a_shards_consecutive_ids_take_neighbouring_buckets() {
        let low = |h: u64| h & ((1 << 57) - 1);
        for id in [1, 64, 1_000_003, u64::from(u32::MAX)] {
            assert_eq!(low(hash(id + SHARDS as u64)), low(hash(id)) + 1);
        }
    }

    #[test]
    fn consecutive_ids_spread_over_the_control_bits() {
        let tops: std::collections::HashSet<u64> = (0..1_024).map(|id| hash(id) >> 57).collect();
        assert!(tops.len() > 100, "{} distinct top bits", tops.len());
    }
}
