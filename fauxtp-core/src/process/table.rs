//! Every live process, for [`list`]: a table sharded by pid, written at
//! spawn and by the exit protocol, read by whoever lists.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{LazyLock, Mutex, MutexGuard};

use super::AnyPid;

/// Enough shards that spawns on different threads rarely meet on a lock.
const SHARDS: usize = 32;

/// A map keyed by a counter: pid ids, monitor references. Its hasher has
/// no state: a map of the default hasher carries 16 bytes of keys, in
/// every process's links too, and SipHash costs more than the rest of an
/// insert.
pub(crate) type ById<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// Each shard is keyed by the id's place in the shard (`id / SHARDS`), so
/// that its consecutive ids are consecutive keys.
type Shard = Mutex<ById<u64, AnyPid>>;

static TABLE: LazyLock<[Shard; SHARDS]> =
    LazyLock::new(|| std::array::from_fn(|_| Mutex::default()));

/// The hasher of keys that are distinct counters.
///
/// The map finds a key's first bucket from the hash's low bits and tells
/// the keys of a group apart by its top seven. Sixteen consecutive keys
/// share a run of sixteen buckets (their low four bits are the key's), so
/// a million spawns write the table a cache line at a time instead of
/// missing the cache once each; the runs are scattered by a
/// multiplication's high bits, so keys at a stride (every 1,024th process
/// kept alive, say) do not crowd a few buckets. The top seven come from a
/// multiplication that spreads consecutive keys.
#[derive(Default)]
pub(crate) struct IdHasher(u64);

/// Fibonacci hashing's multiplier, 2^64 / the golden ratio.
const SPREAD: u64 = 0x9E37_79B9_7F4A_7C15;

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 << 8) | u64::from(byte);
        }
    }
    fn write_u64(&mut self, key: u64) {
        // The top seven bits of the hash as the map reads it: of a `u64`
        // on 64-bit targets, of the low 32 bits on 32-bit ones.
        const TOP: u64 = 0x7F << (if usize::BITS < 64 { usize::BITS } else { 64 } - 7);
        let run = (key >> 4).wrapping_mul(SPREAD) >> 32;
        let bucket = (run << 4) | (key & 0xF);
        self.0 = (bucket & !TOP) | (key.wrapping_mul(SPREAD) & TOP);
    }
}

fn shard(id: u64) -> (MutexGuard<'static, ById<u64, AnyPid>>, u64) {
    // Nothing that can panic runs under these locks but an allocation.
    let shard = TABLE[id as usize % SHARDS]
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    (shard, id / SHARDS as u64)
}

/// A process has started.
pub(super) fn insert(pid: &AnyPid) {
    let (mut shard, key) = shard(pid.id());
    shard.insert(key, pid.clone());
}

/// A process has ended (called once, by its exit protocol).
pub(super) fn remove(id: u64) {
    // The handle is dropped after the lock is released.
    let removed = {
        let (mut shard, key) = shard(id);
        shard.remove(&key)
    };
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
    let (shard, key) = shard(id);
    shard.get(&key).cloned()
}

#[cfg(test)]
mod tests {
    use std::hash::{BuildHasher, BuildHasherDefault};

    use super::IdHasher;

    fn hash(key: u64) -> u64 {
        BuildHasherDefault::<IdHasher>::default().hash_one(key)
    }

    /// The bucket a hash starts from, in a table of `buckets`.
    fn bucket(key: u64, buckets: u64) -> u64 {
        hash(key) & (buckets - 1)
    }

    #[test]
    fn sixteen_consecutive_keys_take_sixteen_neighbouring_buckets() {
        for start in [0, 1_024, 1_000_000 << 4, u64::from(u32::MAX) << 4] {
            let first = bucket(start, 1 << 20);
            for key in start..start + 16 {
                assert_eq!(bucket(key, 1 << 20), first + (key - start));
            }
        }
    }

    #[test]
    fn keys_at_a_stride_spread_over_the_table() {
        // Keys at a stride of 16 or more share their low four bits, so they
        // can start from one bucket in sixteen at most: 8 keys a bucket
        // here if spread evenly. Keys hashed as themselves, at a stride of
        // 1,024, would share 2 buckets.
        for stride in [1, 3, 16, 32, 1_024, 4_096, 1 << 20] {
            let mut load = std::collections::HashMap::new();
            for i in 0..1_024 {
                *load.entry(bucket(7 + i * stride, 2_048)).or_insert(0) += 1;
            }
            let most = load.values().copied().max().unwrap_or(0);
            assert!(
                most <= 24,
                "1,024 keys at a stride of {stride}: {most} start from one bucket"
            );
        }
    }

    // The bits are those of a 64-bit target.
    #[cfg(target_pointer_width = "64")]
    #[test]
    fn consecutive_keys_spread_over_the_control_bits() {
        let tops: std::collections::HashSet<u64> = (0..1_024).map(|key| hash(key) >> 57).collect();
        assert!(tops.len() > 100, "{} distinct top bits", tops.len());
    }

    #[test]
    fn processes_are_found_by_id_across_shards() {
        let me = crate::process::Ctx::<()>::detached();
        let id = me.pid().id();
        assert_eq!(super::find(id), Some(me.pid().any()));
        assert_eq!(super::find(id + super::SHARDS as u64 * 1_000_000), None);
    }
}
