//! Timers: send_after, send_interval, cancel_timer, and timers whose target
//! ends. On a paused clock: time moves only when every task waits, so the
//! times are exact and "nothing arrives within" windows cannot be flaky.

mod common;

use std::time::Duration;

use common::{next, nothing_within};
use fauxtp::prelude::*;
use fauxtp::timer::{self, TimerError};

#[derive(Debug, Clone, PartialEq)]
enum Msg {
    Tick,
    Late,
}

#[tokio::test(start_paused = true)]
async fn send_after_delivers_once_the_time_has_passed() {
    let mut me = Ctx::<Msg>::detached();
    let started = tokio::time::Instant::now();
    timer::send_after(&me.pid(), Msg::Tick, Duration::from_millis(20));
    assert_eq!(next(&mut me).await, Msg::Tick);
    // The clock is paused and moves only when nothing else can run: the
    // timer fires at its time, not a moment later.
    assert_eq!(started.elapsed(), Duration::from_millis(20));
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_timer_never_arrives() {
    let mut me = Ctx::<Msg>::detached();
    let late = timer::send_after(&me.pid(), Msg::Late, Duration::from_millis(10));
    timer::send_after(&me.pid(), Msg::Tick, Duration::from_millis(40));
    assert!(timer::cancel_timer(&late));
    // The second timer fires well after the first one would have.
    assert_eq!(next(&mut me).await, Msg::Tick);
    nothing_within(&mut me, Duration::from_millis(20)).await;
    assert!(!late.cancel(), "cancelling twice reports false");
}

#[tokio::test(start_paused = true)]
async fn cancelling_a_fired_timer_reports_false() {
    let mut me = Ctx::<Msg>::detached();
    let fired = timer::send_after(&me.pid(), Msg::Tick, Duration::ZERO);
    assert_eq!(next(&mut me).await, Msg::Tick);
    assert!(!timer::cancel_timer(&fired));
}

#[tokio::test(start_paused = true)]
async fn an_interval_ticks_until_cancelled() {
    let mut me = Ctx::<Msg>::detached();
    let ticks = timer::send_interval(&me.pid(), Msg::Tick, Duration::from_millis(5)).unwrap();
    for _ in 0..3 {
        assert_eq!(next(&mut me).await, Msg::Tick);
    }
    assert!(timer::cancel_timer(&ticks));
    // Ticks sent before the cancel may still be in the mailbox; none after.
    while me.try_recv().is_some() {}
    nothing_within(&mut me, Duration::from_millis(30)).await;
}

#[tokio::test(start_paused = true)]
async fn an_interval_of_zero_is_an_error() {
    let me = Ctx::<Msg>::detached();
    let err = timer::send_interval(&me.pid(), Msg::Tick, Duration::ZERO).unwrap_err();
    assert_eq!(err, TimerError::ZeroPeriod);
}

#[tokio::test(start_paused = true)]
async fn the_timers_of_an_ended_process_stop_at_once() {
    let metrics = tokio::runtime::Handle::current().metrics();
    let mut me = Ctx::<Msg>::detached();
    let before = metrics.num_alive_tasks();
    let target = Ctx::<Msg>::detached();
    let hour = Duration::from_secs(3600);
    let once = timer::send_after(&target.pid(), Msg::Late, hour);
    let every = timer::send_interval(&target.pid(), Msg::Tick, hour).unwrap();
    assert_eq!(metrics.num_alive_tasks(), before + 2);
    let watch = me.monitor(target.pid());
    drop(target);
    common::down(&mut me, watch).await;
    // The timer tasks notice the end of their target and finish.
    common::tasks_settle_to(before).await;
    assert!(
        !once.cancel(),
        "a timer whose target ended is no longer pending"
    );
    assert!(!every.cancel());
}
