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
//! Cheap on purpose: a call that gets its reply leaves nothing to undo (its
//! waker stays in the bucket; a task woken for a call that has ended just
//! polls what it awaits now and finds nothing to do), and a task that makes
//! calls one after the other leaves its waker once per bucket.

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
    wakers: Mutex<Vec<Waker>>,
}

impl Bucket {
    /// Leaves `waker` to be woken when the bucket fires; true if it has
    /// fired already (the call has timed out).
    pub(crate) fn register(&self, waker: &Waker) -> bool {
        let mut wakers = self.wakers.lock().unwrap_or_else(|e| e.into_inner());
        if self.fired.load(Ordering::Acquire) {
            return true;
        }
        if !wakers.last().is_some_and(|w| w.will_wake(waker)) {
            wakers.push(waker.clone());
        }
        false
    }

    /// Whether the bucket has fired: its calls have timed out.
    pub(crate) fn fired(&self) -> bool {
        self.fired.load(Ordering::Acquire)
    }

    fn fire(&self) {
        let wakers = {
            let mut wakers = self.wakers.lock().unwrap_or_else(|e| e.into_inner());
            self.fired.store(true, Ordering::Release);
            std::mem::take(&mut *wakers)
        };
        for waker in wakers {
            waker.wake();
        }
    }
}

/// The open bucket of one granule on this thread, and the waker last left
/// in it: a task that makes calls one after the other joins without taking
/// the bucket's lock.
struct Open {
    bucket: Arc<Bucket>,
    last: Waker,
}

thread_local! {
    /// The open bucket of each granule on this thread: fine, then coarse.
    static BUCKETS: RefCell<[Option<Open>; 2]> = const { RefCell::new([None, None]) };
}

/// Joins the bucket of a call starting now that times out after
/// `timeout`, leaving `waker` to be woken when it fires; `None` if the
/// timeout is too long to represent (the call then never times out).
pub(crate) fn join(timeout: Duration, waker: &Waker) -> Option<Arc<Bucket>> {
    if timeout < FINE {
        // Too short to round: a bucket of its own, exact.
        let bucket = new_bucket(timeout, Duration::ZERO)?;
        bucket.register(waker);
        return Some(bucket);
    }
    let (slot, granule) = if timeout < Duration::from_secs(1) {
        (0, FINE)
    } else {
        (1, COARSE)
    };
    let joined = BUCKETS.try_with(|buckets| {
        let mut buckets = buckets.borrow_mut();
        match &mut buckets[slot] {
            Some(open)
                if open.bucket.timeout == timeout && open.bucket.open.load(Ordering::SeqCst) =>
            {
                if !open.last.will_wake(waker) {
                    open.bucket.register(waker);
                    open.last = waker.clone();
                }
                Some(open.bucket.clone())
            }
            entry => {
                let bucket = new_bucket(timeout, granule)?;
                bucket.register(waker);
                *entry = Some(Open {
                    bucket: bucket.clone(),
                    last: waker.clone(),
                });
                Some(bucket)
            }
        }
    });
    joined.unwrap_or_else(|_| {
        // The thread is going away: a bucket of its own.
        let bucket = new_bucket(timeout, granule)?;
        bucket.register(waker);
        Some(bucket)
    })
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
        wakers: Mutex::new(Vec::new()),
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
