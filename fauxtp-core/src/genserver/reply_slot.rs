//! The slot a call's reply is put in: one value, from the server's side to
//! the one caller that waits for it.
//!
//! It does what a call needs of tokio's `oneshot` and no more: the caller
//! waits; the server puts a value or drops its side unanswered; either side
//! may go first; the server can ask whether the caller still waits. It has
//! no wait on the server's side, and the caller's wait spends no unit of
//! tokio's budget once it has waited (a reply is another process's work).
//!
//! # The protocol
//!
//! One byte of state, three flags, each set once except `WAKER_SET`:
//!
//! - `DONE`, set by the filling side when it has put its value in, or when
//!   it is dropped without one. The value is written before and read after.
//! - `GONE`, set by the waiting side when it is dropped. A filler that finds
//!   it set takes its value back.
//! - `WAKER_SET`: the waiting side's waker is in place and the filler wakes
//!   it when it is `DONE`. The filler only *reads* the waker, with
//!   `wake_by_ref`; the waiting side writes it only while `WAKER_SET` is
//!   clear and `DONE` was not set when it cleared it, so that a filler that
//!   comes later does not look at it. The waker is dropped with the slot,
//!   or by the waiting side when it goes first (after `GONE`, which keeps
//!   the filler from looking).

use std::cell::UnsafeCell;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

const WAKER_SET: u8 = 1;
const DONE: u8 = 2;
const GONE: u8 = 4;

struct Inner<T> {
    state: AtomicU8,
    value: UnsafeCell<Option<T>>,
    waker: UnsafeCell<Option<Waker>>,
}

// SAFETY: the cells are shared between the two sides under the protocol of
// the module's documentation: the value is written by the filler before
// `DONE` (release) and read by the waiting side after it sees `DONE`
// (acquire), or taken back by the filler after the waiting side has gone;
// the waker is written by the waiting side only while the filler cannot
// read it, and otherwise only read, by both. The value crosses threads, so
// it must be `Send`; a `Waker` is `Send + Sync`. Neither side gives shared
// access to the cells (`is_closed` reads the state alone), so sharing a
// side needs no `T: Sync`.
unsafe impl<T: Send> Send for Inner<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Inner<T> {}

/// A new slot: the side that fills it and the side that waits.
pub(crate) fn slot<T>() -> (Filler<T>, Waiting<T>) {
    let inner = Arc::new(Inner {
        state: AtomicU8::new(0),
        value: UnsafeCell::new(None),
        waker: UnsafeCell::new(None),
    });
    (
        Filler {
            inner: inner.clone(),
        },
        Waiting { inner },
    )
}

/// The side that puts the value in. Dropping it unfilled tells the waiting
/// side so ([`Unanswered`]).
pub(crate) struct Filler<T> {
    inner: Arc<Inner<T>>,
}

/// The side that waits: a future of the value, or of [`Unanswered`].
pub(crate) struct Waiting<T> {
    inner: Arc<Inner<T>>,
}

/// The filling side was dropped without a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unanswered;

impl<T> Filler<T> {
    /// Puts `value` in and wakes the waiting side; gives `value` back if the
    /// waiting side is gone.
    pub(crate) fn fill(self, value: T) -> Result<(), T> {
        // Not dropped: its drop would mark the slot done without a value.
        let this = ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again, so the `Arc` is
        // moved out of it once.
        let inner = unsafe { std::ptr::read(&this.inner) };
        if inner.state.load(Ordering::Acquire) & GONE != 0 {
            return Err(value);
        }
        // SAFETY: only the filler writes the value, and the waiting side
        // reads it only after seeing `DONE`, which is set below.
        unsafe { *inner.value.get() = Some(value) };
        let before = inner.state.fetch_or(DONE, Ordering::AcqRel);
        if before & GONE != 0 {
            // SAFETY: the waiting side is gone and never reads again.
            let value = unsafe { (*inner.value.get()).take() };
            return Err(value.expect("the value was just put in"));
        }
        inner.wake(before);
        Ok(())
    }

    /// Whether the waiting side is gone.
    pub(crate) fn is_closed(&self) -> bool {
        self.inner.state.load(Ordering::Acquire) & GONE != 0
    }
}

impl<T> Drop for Filler<T> {
    fn drop(&mut self) {
        let before = self.inner.state.fetch_or(DONE, Ordering::AcqRel);
        self.inner.wake(before);
    }
}

impl<T> Inner<T> {
    /// Wakes the waiting side if it had set its waker when the filler set
    /// `DONE` (`before` is the state just before) and is still there.
    fn wake(&self, before: u8) {
        if before & (WAKER_SET | GONE) == WAKER_SET {
            // SAFETY: `WAKER_SET` was set when `DONE` was, so the waiting
            // side no longer writes the waker (it writes only after
            // clearing `WAKER_SET` without `DONE`); reading it is shared.
            if let Some(waker) = unsafe { &*self.waker.get() } {
                waker.wake_by_ref();
            }
        }
    }

    /// The value, once `DONE` has been seen (acquire).
    fn take(&self) -> Result<T, Unanswered> {
        // SAFETY: `DONE` is set, so the filler has finished with the value
        // (it takes it back only after the waiting side is gone), and only
        // the waiting side, which is here, reads it.
        unsafe { (*self.value.get()).take() }.ok_or(Unanswered)
    }
}

impl<T> Future for Waiting<T> {
    type Output = Result<T, Unanswered>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &*self.inner;
        let state = inner.state.load(Ordering::Acquire);
        if state & DONE != 0 {
            if state & WAKER_SET == 0 {
                // Answered before it ever waited: take part in tokio's
                // cooperative scheduling, so that a loop of such calls
                // still yields now and then.
                let coop = std::task::ready!(tokio::task::coop::poll_proceed(cx));
                coop.made_progress();
            }
            return Poll::Ready(inner.take());
        }
        if state & WAKER_SET != 0 {
            // SAFETY: the filler only reads the waker; this side writes it
            // only below, after clearing `WAKER_SET`.
            let same = unsafe { &*inner.waker.get() }
                .as_ref()
                .is_some_and(|waker| waker.will_wake(cx.waker()));
            if same {
                return Poll::Pending;
            }
            let before = inner.state.fetch_and(!WAKER_SET, Ordering::AcqRel);
            if before & DONE != 0 {
                // The filler may be reading the waker: leave it alone.
                return Poll::Ready(inner.take());
            }
        }
        // SAFETY: `WAKER_SET` is clear and `DONE` was not set when it last
        // was (checked above, or never set), so a filler does not read the
        // waker until `WAKER_SET` is set again below.
        unsafe { *inner.waker.get() = Some(cx.waker().clone()) };
        let before = inner.state.fetch_or(WAKER_SET, Ordering::AcqRel);
        if before & DONE != 0 {
            return Poll::Ready(inner.take());
        }
        Poll::Pending
    }
}

impl<T> Drop for Waiting<T> {
    fn drop(&mut self) {
        let inner = &*self.inner;
        // Once `DONE`, the filler is finished and needs no telling.
        if inner.state.load(Ordering::Acquire) & DONE != 0 {
            return;
        }
        let before = inner.state.fetch_or(GONE, Ordering::AcqRel);
        if before & (DONE | WAKER_SET) == WAKER_SET {
            // SAFETY: `GONE` is set before any `DONE`, so the filler never
            // reads the waker (it reads it only if `GONE` was clear when it
            // set `DONE`); this side no longer polls. The caller's task is
            // not kept by a filler that a server holds on to.
            drop(unsafe { (*inner.waker.get()).take() });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::task::Wake;

    /// A waker that counts its wakes.
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counting() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        (count.clone(), Waker::from(count))
    }

    fn poll<T>(waiting: &mut Waiting<T>, waker: &Waker) -> Poll<Result<T, Unanswered>> {
        Pin::new(waiting).poll(&mut Context::from_waker(waker))
    }

    #[test]
    fn a_value_put_in_before_the_wait_is_there_at_once() {
        let (filler, mut waiting) = slot();
        assert!(filler.fill(7).is_ok());
        let (_, waker) = counting();
        assert_eq!(poll(&mut waiting, &waker), Poll::Ready(Ok(7)));
    }

    #[test]
    fn a_waiting_side_is_woken_once_by_the_value() {
        let (filler, mut waiting) = slot();
        let (count, waker) = counting();
        assert_eq!(poll(&mut waiting, &waker), Poll::Pending);
        assert_eq!(poll(&mut waiting, &waker), Poll::Pending);
        assert_eq!(count.0.load(Ordering::SeqCst), 0);
        assert!(filler.fill("reply").is_ok());
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert_eq!(poll(&mut waiting, &waker), Poll::Ready(Ok("reply")));
    }

    #[test]
    fn a_new_waker_replaces_the_old_one() {
        let (filler, mut waiting) = slot();
        let (first, first_waker) = counting();
        let (second, second_waker) = counting();
        assert_eq!(poll(&mut waiting, &first_waker), Poll::Pending);
        assert_eq!(poll(&mut waiting, &second_waker), Poll::Pending);
        assert!(filler.fill(1).is_ok());
        assert_eq!(first.0.load(Ordering::SeqCst), 0);
        assert_eq!(second.0.load(Ordering::SeqCst), 1);
        assert_eq!(poll(&mut waiting, &second_waker), Poll::Ready(Ok(1)));
    }

    #[test]
    fn a_filler_dropped_unfilled_wakes_the_waiting_side_with_unanswered() {
        let (filler, mut waiting) = slot::<u32>();
        let (count, waker) = counting();
        assert_eq!(poll(&mut waiting, &waker), Poll::Pending);
        drop(filler);
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert_eq!(poll(&mut waiting, &waker), Poll::Ready(Err(Unanswered)));
    }

    #[test]
    fn a_filler_gets_its_value_back_once_the_waiting_side_is_gone() {
        let (filler, waiting) = slot();
        assert!(!filler.is_closed());
        drop(waiting);
        assert!(filler.is_closed());
        let value = Arc::new(());
        assert!(filler.fill(value.clone()).is_err());
        assert_eq!(Arc::strong_count(&value), 1, "the value is not kept");
    }

    #[test]
    fn a_waiting_side_that_goes_first_lets_its_waker_go() {
        // A server may keep a `ReplyTo` long after its caller gave up: the
        // caller's waker (its task) must not stay with it.
        let (filler, mut waiting) = slot::<u32>();
        let (count, waker) = counting();
        assert_eq!(poll(&mut waiting, &waker), Poll::Pending);
        drop(waker);
        assert_eq!(Arc::strong_count(&count), 2, "the slot holds the waker");
        drop(waiting);
        assert_eq!(Arc::strong_count(&count), 1, "let go with the waiting side");
        assert!(filler.fill(1).is_err());
        assert_eq!(count.0.load(Ordering::SeqCst), 0, "nobody woken");
    }

    #[test]
    fn a_value_nobody_takes_is_dropped_with_the_slot() {
        let (filler, waiting) = slot();
        let value = Arc::new(());
        assert!(filler.fill(value.clone()).is_ok());
        assert_eq!(Arc::strong_count(&value), 2);
        drop(waiting);
        assert_eq!(Arc::strong_count(&value), 1);
    }

    #[tokio::test]
    async fn a_loop_of_waits_answered_at_once_still_yields() {
        let other_ran = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = other_ran.clone();
        tokio::spawn(async move { flag.store(true, Ordering::SeqCst) });
        for round in 0..10_000 {
            if other_ran.load(Ordering::SeqCst) {
                return;
            }
            let (filler, waiting) = slot();
            assert!(filler.fill(round).is_ok());
            assert_eq!(waiting.await, Ok(round));
        }
        panic!("10,000 waits answered at once never let another task run");
    }

    #[test]
    fn across_threads_every_value_arrives_once() {
        // Both sides race: the filler on another thread, the waiting side
        // polling with a waker that changes every other poll.
        for round in 0..2_000u32 {
            let (filler, mut waiting) = slot();
            let filling = std::thread::spawn(move || {
                if round % 3 == 0 {
                    drop(filler);
                } else {
                    assert!(filler.fill(round).is_ok());
                }
            });
            let (count_a, waker_a) = counting();
            let (count_b, waker_b) = counting();
            let mut polls = 0u32;
            let outcome = loop {
                let waker = if polls % 2 == 0 { &waker_a } else { &waker_b };
                polls += 1;
                if let Poll::Ready(outcome) = poll(&mut waiting, waker) {
                    break outcome;
                }
                std::hint::spin_loop();
            };
            filling.join().unwrap();
            if round % 3 == 0 {
                assert_eq!(outcome, Err(Unanswered));
            } else {
                assert_eq!(outcome, Ok(round));
            }
            let wakes = count_a.0.load(Ordering::SeqCst) + count_b.0.load(Ordering::SeqCst);
            assert!(wakes <= 1, "woken {wakes} times");
        }
    }
}
