//! Call timeouts without a timer per call.
//!
//! Arming a tokio timer and disarming it again costs about as much as the
//! rest of a call on a multi-thread runtime. Calls whose deadlines fall in
//! the same short window (a "bucket") on one thread share a single sleeper
//! task instead: a call that must wait leaves its task's waker with its
//! bucket, and the sleeper marks the bucket fired and wakes them all at the
//! bucket's instant (the deadline rounded up, so a call never times out
//! early, and at most one granule late).
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

/// Calls whose deadlines round up to the same instant, on one thread.
pub(crate) struct Bucket {
    /// The deadlines this bucket serves: `(opens, at]`.
    opens: Instant,
    at: Instant,
    fired: AtomicBool,
    wakers: Mutex<Vec<Waker>>,
}

impl Bucket {
    /// Leaves `waker` to be woken when the bucket fires; true if it has
    /// already fired (the call's deadline has passed).
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

thread_local! {
    /// The latest bucket of each granule on this thread.
    static BUCKETS: RefCell<[Option<Arc<Bucket>>; 2]> = const { RefCell::new([None, None]) };
}

/// The bucket that fires at or shortly after `deadline`, for a call whose
/// timeout is `timeout`.
pub(crate) fn bucket(deadline: Instant, timeout: Duration) -> Arc<Bucket> {
    if timeout < FINE {
        // Too short to share: a bucket of its own, exactly at the deadline.
        return new_bucket(deadline, deadline);
    }
    let (slot, granule) = if timeout < Duration::from_secs(1) {
        (0, FINE)
    } else {
        (1, COARSE)
    };
    BUCKETS
        .try_with(|buckets| {
            let mut buckets = buckets.borrow_mut();
            match &buckets[slot] {
                // Not fired: its instant is at or after this deadline, which
                // is in the future.
                Some(bucket) if bucket.opens < deadline && deadline <= bucket.at => bucket.clone(),
                _ => {
                    let at = round_up(deadline, granule);
                    let bucket = new_bucket(at.checked_sub(granule).unwrap_or(at), at);
                    buckets[slot] = Some(bucket.clone());
                    bucket
                }
            }
        })
        .unwrap_or_else(|_| new_bucket(deadline, deadline))
}

/// A bucket for deadlines in `(opens, at]`, and its sleeper.
fn new_bucket(opens: Instant, at: Instant) -> Arc<Bucket> {
    let bucket = Arc::new(Bucket {
        opens,
        at,
        fired: AtomicBool::new(false),
        wakers: Mutex::new(Vec::new()),
    });
    let sleeper = bucket.clone();
    tokio::spawn(async move {
        tokio::time::sleep_until(sleeper.at).await;
        sleeper.fire();
    });
    bucket
}

/// `deadline` rounded up to a multiple of `granule` (on tokio's clock).
fn round_up(deadline: Instant, granule: Duration) -> Instant {
    let since = deadline.duration_since(origin());
    let granule_ns = granule.as_nanos();
    let rounded = since.as_nanos().div_ceil(granule_ns) * granule_ns;
    origin() + Duration::from_nanos(rounded as u64)
}

/// A fixed instant to round against.
fn origin() -> Instant {
    static ORIGIN: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    Instant::from_std(*ORIGIN.get_or_init(std::time::Instant::now))
}
