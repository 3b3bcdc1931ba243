//! Timers: send a message later, or every so often (Erlang's
//! `erlang:send_after/3`, `erlang:cancel_timer/1`, `timer:send_interval/3`).
//!
//! ```
//! use fauxtp::prelude::*;
//! use fauxtp::timer;
//! use std::time::Duration;
//!
//! # #[tokio::main] async fn main() {
//! let mut me = Ctx::<&'static str>::detached();
//! timer::send_after(&me.pid(), "tick", Duration::from_millis(10));
//! let late = timer::send_after(&me.pid(), "never", Duration::from_secs(60));
//! assert!(timer::cancel_timer(&late)); // cancelled before it fired
//! let msg = receive!(me, {
//!     msg => msg,
//!     after Duration::from_secs(1) => panic!("the timer did not fire"),
//! });
//! assert_eq!(msg, "tick");
//! # }
//! ```
//!
//! Each timer is a small tokio task. It ends as soon as it fires, is
//! cancelled, or its target process ends, so timers of a dead process do
//! nothing and hold nothing.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::task::AbortHandle;

use crate::process::Pid;

/// A running timer, as [`send_after`] and [`send_interval`] return it.
/// Dropping it does not cancel the timer; [`cancel_timer`] does.
#[derive(Debug, Clone)]
pub struct TimerRef {
    state: Arc<Mutex<State>>,
    task: AbortHandle,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Pending,
    Fired,
    Cancelled,
    TargetGone,
}

/// Why a timer could not be started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimerError {
    /// An interval must be longer than zero.
    #[error("the period of an interval timer must be longer than zero")]
    ZeroPeriod,
}

impl TimerRef {
    fn start<F>(task: impl FnOnce(Arc<Mutex<State>>) -> F) -> TimerRef
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let state = Arc::new(Mutex::new(State::Pending));
        let task = tokio::spawn(task(state.clone())).abort_handle();
        TimerRef { state, task }
    }

    /// Cancels the timer; see [`cancel_timer`].
    pub fn cancel(&self) -> bool {
        let mut state = lock(&self.state);
        let was_pending = *state == State::Pending;
        if was_pending {
            *state = State::Cancelled;
        }
        drop(state);
        self.task.abort();
        was_pending
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// Sends `msg` to `pid` once `after` has passed.
///
/// The message is dropped if the process has ended by then (and the timer
/// stops as soon as it ends).
///
/// # Panics
///
/// Like `tokio::spawn`, panics if called outside a tokio runtime.
pub fn send_after<M, T>(pid: &Pid<M>, msg: T, after: Duration) -> TimerRef
where
    M: Send + 'static,
    T: Into<M>,
{
    let pid = pid.clone();
    let msg = msg.into();
    TimerRef::start(move |state| async move {
        tokio::select! {
            biased;
            () = pid.closed() => *lock(&state) = State::TargetGone,
            () = tokio::time::sleep(after) => {
                let mut state = lock(&state);
                if *state == State::Pending {
                    *state = State::Fired;
                    // Sent under the lock: a cancel that wins the lock first
                    // guarantees the message never arrives.
                    let _ = pid.send(msg);
                }
            }
        }
    })
}

/// Sends a clone of `msg` to `pid` every `period`, the first time one period
/// from now, until [`cancel_timer`] or the end of the process.
///
/// Ticks missed because the runtime was busy are not made up in a burst: the
/// next tick comes one period after the late one.
///
/// # Errors
///
/// [`TimerError::ZeroPeriod`] for a period of zero, which would tick without
/// end.
///
/// # Panics
///
/// Like `tokio::spawn`, panics if called outside a tokio runtime.
pub fn send_interval<M, T>(pid: &Pid<M>, msg: T, period: Duration) -> Result<TimerRef, TimerError>
where
    M: Send + 'static,
    T: Into<M> + Clone + Send + 'static,
{
    if period.is_zero() {
        return Err(TimerError::ZeroPeriod);
    }
    let pid = pid.clone();
    Ok(TimerRef::start(move |state| async move {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                () = pid.closed() => {
                    *lock(&state) = State::TargetGone;
                    return;
                }
                _ = ticks.tick() => {
                    let state = lock(&state);
                    if *state != State::Pending {
                        return;
                    }
                    let _ = pid.send(msg.clone());
                }
            }
        }
    }))
}

/// Cancels a timer. Returns true if it was still pending: the message (or,
/// for an interval, the next one) will then never arrive. Returns false if
/// the timer had already fired, been cancelled, or its process ended.
pub fn cancel_timer(timer: &TimerRef) -> bool {
    timer.cancel()
}
