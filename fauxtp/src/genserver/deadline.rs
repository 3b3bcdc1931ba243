//! Call timeouts without a timer per call.
//!
//! Arming a tokio timer and disarming it again costs about as much as the
//! rest of a call on a multi-thread runtime. Calls whose deadlines fall in
//! the same short window (a "bucket") on one thread share a single sleeper
//! task instead: a call that must wait registers with its bucket's `Notify`,
//! and the sleeper wakes them all at the bucket's deadline (the deadline
//! rounded up, so a call never times out early, and at most one granule
//! late). A call that gets its reply before its deadline leaves nothing
//! behind: dropping its `Notified` removes it from the bucket.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::futures::OwnedNotified;
use tokio::sync::Notify;
use tokio::time::Instant;

/// The granule of short timeouts (under a second), and of longer ones.
const FINE: Duration = Duration::from_millis(1);
const COARSE: Duration = Duration::from_millis(16);

struct Bucket {
    at: Instant,
    notify: Arc<Notify>,
}

thread_local! {
    /// The latest bucket of each granule on this thread.
    static BUCKETS: RefCell<[Option<Bucket>; 2]> = const { RefCell::new([None, None]) };
}

/// A future that completes at or shortly after `deadline`, for a call that
/// started `timeout` ago.
pub(crate) fn wait_until(deadline: Instant, timeout: Duration) -> OwnedNotified {
    if timeout < FINE {
        // Too short to share: a bucket of its own.
        return new_bucket(deadline).1;
    }
    let (slot, granule) = if timeout < Duration::from_secs(1) {
        (0, FINE)
    } else {
        (1, COARSE)
    };
    let at = round_up(deadline, granule);
    BUCKETS
        .try_with(|buckets| {
            let mut buckets = buckets.borrow_mut();
            match &buckets[slot] {
                // A bucket's sleeper fires at `at`, which is after now
                // (rounded up from a deadline in the future), so it has not
                // fired yet and the new waiter will be woken.
                Some(bucket) if bucket.at == at => bucket.notify.clone().notified_owned(),
                _ => {
                    let (notify, waiter) = new_bucket(at);
                    buckets[slot] = Some(Bucket { at, notify });
                    waiter
                }
            }
        })
        .unwrap_or_else(|_| new_bucket(at).1)
}

/// A bucket firing at `at`, and a first waiter registered before its
/// sleeper can run (a `Notified` sees every `notify_waiters` made after it
/// was created, polled or not).
fn new_bucket(at: Instant) -> (Arc<Notify>, OwnedNotified) {
    let notify = Arc::new(Notify::new());
    let waiter = notify.clone().notified_owned();
    let wake = notify.clone();
    tokio::spawn(async move {
        tokio::time::sleep_until(at).await;
        wake.notify_waiters();
    });
    (notify, waiter)
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
