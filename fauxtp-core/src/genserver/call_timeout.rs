//! Call timeouts without a timer, or even a clock reading, per call.
//!
//! Arming a tokio timer and disarming it again costs about as much as the
//! rest of a call on a multi-thread runtime, and reading the clock costs a
//! good part of what remains. So calls that start in the same short window
//! (a granule) on one thread, with the same timeout, share a *bucket*: one
//! sleeper task, one clock reading. A call that must wait leaves its task's
//! waker with its bucket, and the sleeper marks the bucket fired and wakes
//! them all at the bucket's instant.
//!
//! A bucket opened at `t0` takes new calls until its sleeper closes it, at
//! `t0 + granule` or later if the runtime is late, and fires `timeout`
//! after it was closed. Every call that joined it started before it was
//! closed, so it never times out early, and, on a runtime that is on time,
//! at most one granule late.
//!
//! A call that must wait takes a slot of its bucket for its task's waker,
//! and gives it back when it ends, however it ends (a reply, a failure, the
//! caller dropping it): nothing of a call outlives it, so a task that ends
//! is freed at once, whatever its calls' timeouts. Slots are reused, so a
//! bucket holds as many as calls wait at once in it, not as many as were
//! made.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Waker;
use std::time::Duration;

use tokio::time::Instant;

/// The granule of short timeouts (under a second), and of longer ones.
const FINE: Duration = Duration::from_millis(1);
const COARSE: Duration = Duration::from_millis(16);

/// Calls with one timeout that started in one granule, on one thread.
pub(crate) struct Bucket {
    timeout: Duration,
    /// Cleared by the sleeper one granule after the bucket opened.
    open: AtomicBool,
    fired: AtomicBool,
    waiting: Mutex<Waiting>,
}

/// The wakers of the tasks whose calls wait in a bucket, one slot per task.
#[derive(Default)]
struct Waiting {
    slots: Vec<Option<Waker>>,
    /// Slots given back, to be reused.
    free: Vec<usize>,
}

/// One task's slot in a bucket, shared by its calls there and, while the
/// task is the last one to have called on its thread, by that thread (see
/// [`Open`]). It goes, and its waker with it, when the last of these lets it
/// go: a task that calls one call after the other keeps its slot, and its
/// calls join without taking the bucket's lock; otherwise the slot goes when
/// its calls end, when another task calls on the thread, when the bucket
/// closes and the next call opens a new one, or when the bucket fires. So a
/// bucket holds at most one idle waker per thread: nothing in proportion to
/// the calls made.
struct Entry {
    bucket: Arc<Bucket>,
    slot: usize,
}

impl Drop for Entry {
    fn drop(&mut self) {
        let waker = {
            let mut waiting = self.bucket.lock();
            if self.bucket.fired.load(Ordering::Acquire) {
                return;
            }
            let waker = waiting.slots.get_mut(self.slot).and_then(Option::take);
            waiting.free.push(self.slot);
            waker
        };
        // Dropped outside the lock: it may free the task.
        drop(waker);
    }
}

/// A call's place in its bucket: its task is woken when the bucket fires.
/// Dropping it is the end of the call's wait.
pub(crate) struct Registration(Arc<Entry>);

impl Bucket {
    fn lock(&self) -> std::sync::MutexGuard<'_, Waiting> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes a slot for `waker`, with one call waiting; `None` if the
    /// bucket has fired already (the call has timed out).
    fn register(self: &Arc<Self>, waker: &Waker) -> Option<Arc<Entry>> {
        let mut waiting = self.lock();
        if self.fired.load(Ordering::Acquire) {
            return None;
        }
        let slot = match waiting.free.pop() {
            Some(slot) => {
                waiting.slots[slot] = Some(waker.clone());
                slot
            }
            None => {
                waiting.slots.push(Some(waker.clone()));
                waiting.slots.len() - 1
            }
        };
        Some(Arc::new(Entry {
            bucket: self.clone(),
            slot,
        }))
    }

    fn fire(&self) {
        let slots = {
            let mut waiting = self.lock();
            self.fired.store(true, Ordering::Release);
            waiting.free.clear();
            std::mem::take(&mut waiting.slots)
        };
        for waker in slots.into_iter().flatten() {
            waker.wake();
        }
    }
}

impl Registration {
    /// Whether the bucket has fired: the call has timed out.
    pub(crate) fn fired(&self) -> bool {
        self.0.bucket.fired.load(Ordering::Acquire)
    }

    /// Keeps the waker of the call's current poll (the task may have moved
    /// to another waker); true if the bucket has fired.
    pub(crate) fn update(&self, waker: &Waker) -> bool {
        let mut waiting = self.0.bucket.lock();
        if self.fired() {
            return true;
        }
        if let Some(Some(kept)) = waiting.slots.get_mut(self.0.slot) {
            if !kept.will_wake(waker) {
                kept.clone_from(waker);
            }
        }
        false
    }
}

/// The open bucket of one granule on this thread, and the entry of the
/// task that called last, with its waker: that task's next calls join
/// without taking the bucket's lock.
struct Open {
    entry: Arc<Entry>,
    waker: Waker,
}

thread_local! {
    /// The open bucket of each granule on this thread: fine, then coarse.
    static BUCKETS: RefCell<[Option<Open>; 2]> = const { RefCell::new([None, None]) };
}

/// Joins the bucket of a call starting now that times out after
/// `timeout`, leaving `waker` to be woken when it fires. `Ok(None)` if the
/// timeout is too long to represent (the call then never times out),
/// `Err(())` if the bucket has fired already (the thread was held up for
/// longer than the timeout).
pub(crate) fn join(timeout: Duration, waker: &Waker) -> Result<Option<Registration>, ()> {
    // Not kept by a thread: the slot goes with its call.
    let own = |granule| match new_bucket(timeout, granule) {
        Some(bucket) => bucket
            .register(waker)
            .map(|e| Some(Registration(e)))
            .ok_or(()),
        None => Ok(None),
    };
    if timeout < FINE {
        // Too short to round: a bucket of its own, exact.
        return own(Duration::ZERO);
    }
    let (slot, granule) = if timeout < Duration::from_secs(1) {
        (0, FINE)
    } else {
        (1, COARSE)
    };
    let joined = BUCKETS.try_with(|buckets| {
        let mut buckets = buckets.borrow_mut();
        let open = &mut buckets[slot];
        let bucket = match open {
            Some(open)
                if open.entry.bucket.timeout == timeout
                    && open.entry.bucket.open.load(Ordering::SeqCst) =>
            {
                if open.waker.will_wake(waker) {
                    return Ok(Some(Registration(open.entry.clone())));
                }
                open.entry.bucket.clone()
            }
            _ => match new_bucket(timeout, granule) {
                Some(bucket) => bucket,
                None => return Ok(None),
            },
        };
        let entry = bucket.register(waker).ok_or(())?;
        // The entry it replaces goes once its calls are done (now if they
        // are).
        *open = Some(Open {
            entry: entry.clone(),
            waker: waker.clone(),
        });
        Ok(Some(Registration(entry)))
    });
    // The thread is going away: a bucket of its own.
    joined.unwrap_or_else(|_| own(granule))
}

/// Opens a bucket now, taking calls for `granule`, and firing `timeout`
/// after it stops taking them.
fn new_bucket(timeout: Duration, granule: Duration) -> Option<Arc<Bucket>> {
    let opens = Instant::now();
    opens.checked_add(timeout)?.checked_add(granule)?;
    let bucket = Arc::new(Bucket {
        timeout,
        open: AtomicBool::new(true),
        fired: AtomicBool::new(false),
        waiting: Mutex::new(Waiting::default()),
    });
    let sleeper = Sleeper(bucket.clone());
    tokio::spawn(async move {
        if !granule.is_zero() {
            tokio::time::sleep_until(opens + granule).await;
        }
        // Whoever saw the bucket open started before this store, so before
        // `closed`: firing `timeout` after `closed` is never early for them.
        sleeper.0.open.store(false, Ordering::SeqCst);
        let closed = Instant::now();
        match closed.checked_add(timeout) {
            // Fired when `sleeper` drops, at the end of the sleep.
            Some(at) => tokio::time::sleep_until(at).await,
            // Too far away to represent: never fires.
            None => std::future::pending().await,
        }
    });
    Some(bucket)
}

/// The sleeper task's hold on its bucket. However the task ends (its sleep
/// is over, or its runtime shut down and dropped it), the bucket closes and
/// fires: a bucket whose sleeper is gone must not take calls it would never
/// time out.
struct Sleeper(Arc<Bucket>);

impl Drop for Sleeper {
    fn drop(&mut self) {
        self.0.open.store(false, Ordering::SeqCst);
        self.0.fire();
    }
}
