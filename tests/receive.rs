//! Mailboxes and `receive!`: ordering, the save queue, guards, `after`,
//! polling, the value of the expression and control flow inside arms.

mod common;

use std::time::Duration;

use common::{down, next, WAIT};
use fauxtp::prelude::*;

#[derive(Debug, PartialEq, Clone)]
enum Msg {
    A(u32),
    B(u32),
    Data(u32),
    Text(String),
    Point { x: i32, y: i32 },
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_messages_from_one_sender_arrive_in_order() {
    let mut me = Ctx::<u32>::detached();
    let target = me.pid();
    fauxtp::spawn(move |_: Ctx<()>| async move {
        for n in 0..10_000u32 {
            target.send(n)?;
        }
        Ok(())
    });
    for expected in 0..10_000 {
        assert_eq!(next(&mut me).await, expected);
    }
}

#[tokio::test]
async fn unmatched_messages_stay_in_order_for_a_later_receive() {
    let mut me = Ctx::<Msg>::detached();
    let pid = me.pid();
    for m in [Msg::A(1), Msg::B(1), Msg::A(2), Msg::B(2), Msg::A(3)] {
        pid.send(m).unwrap();
    }
    let mut bs = Vec::new();
    for _ in 0..2 {
        bs.push(receive!(me, { Msg::B(n) => n, after WAIT => panic!("no B") }));
    }
    assert_eq!(bs, [1, 2]);
    assert_eq!(me.mailbox_len(), 3);
    // A new message arrives after the saved ones and is seen after them.
    pid.send(Msg::A(4)).unwrap();
    let mut all = Vec::new();
    while let Some(entry) = me.try_recv() {
        match entry {
            Envelope::Message(m) => all.push(m),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(all, [Msg::A(1), Msg::A(2), Msg::A(3), Msg::A(4)]);
}

#[tokio::test]
async fn a_match_in_the_middle_of_the_save_queue_keeps_the_rest_in_order() {
    let mut me = Ctx::<Msg>::detached();
    let pid = me.pid();
    for n in 0..10 {
        pid.send(Msg::A(n)).unwrap();
    }
    // Nothing matches: everything moves to the save queue.
    let none = receive!(me, { Msg::B(_) => true, after Duration::ZERO => false });
    assert!(!none);
    let picked = receive!(me, { Msg::A(n) if n == 6 => n });
    assert_eq!(picked, 6);
    let picked = receive!(me, { Msg::A(n) if n % 2 == 1 => n });
    assert_eq!(picked, 1);
    let rest: Vec<u32> = (0..7)
        .map(|_| match me.try_recv() {
            Some(Envelope::Message(Msg::A(n))) => n,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(rest, [0, 2, 3, 4, 5, 7, 8]);
    assert!(matches!(me.try_recv(), Some(Envelope::Message(Msg::A(9)))));
    assert!(me.try_recv().is_none());
}

#[tokio::test]
async fn guards_choose_between_arms_and_messages() {
    let mut me = Ctx::<Msg>::detached();
    let pid = me.pid();
    pid.send(Msg::Data(5)).unwrap();
    pid.send(Msg::Data(20)).unwrap();
    let big = receive!(me, { Msg::Data(n) if n > 10 => n });
    assert_eq!(big, 20);
    let which = receive!(me, {
        Msg::Data(n) if n > 10 => ("big", n),
        Msg::Data(n) => ("small", n),
    });
    assert_eq!(which, ("small", 5));
}

// A paused clock: time moves only when every task waits.
#[tokio::test(start_paused = true)]
async fn after_runs_when_nothing_matches_in_time_and_keeps_the_mailbox() {
    let mut me = Ctx::<Msg>::detached();
    me.pid().send(Msg::A(1)).unwrap();
    let started = tokio::time::Instant::now();
    let got = receive!(me, {
        Msg::B(n) => Some(n),
        after Duration::from_millis(30) => None,
    });
    assert_eq!(got, None);
    assert_eq!(started.elapsed(), Duration::from_millis(30));
    assert_eq!(me.mailbox_len(), 1);
}

// A paused clock: time moves only when every task waits.
#[tokio::test(start_paused = true)]
async fn after_waits_for_a_message_that_arrives_later() {
    let mut me = Ctx::<Msg>::detached();
    let pid = me.pid();
    fauxtp::spawn(move |_: Ctx<()>| async move {
        pid.send(Msg::A(1))?;
        tokio::task::yield_now().await;
        pid.send(Msg::B(7))?;
        Ok(())
    });
    let got = receive!(me, {
        Msg::B(n) => n,
        after WAIT => panic!("B never came"),
    });
    assert_eq!(got, 7);
    assert_eq!(next(&mut me).await, Msg::A(1));
}

// A paused clock: time moves only when every task waits.
#[tokio::test(start_paused = true)]
async fn after_zero_polls() {
    let mut me = Ctx::<Msg>::detached();
    let empty = receive!(me, { _ => false, after Duration::ZERO => true });
    assert!(empty);
    me.pid().send(Msg::A(3)).unwrap();
    let got = receive!(me, { Msg::A(n) => n, after Duration::ZERO => 0 });
    assert_eq!(got, 3);
}

// A paused clock: time moves only when every task waits.
#[tokio::test(start_paused = true)]
async fn an_after_too_far_away_waits_for_a_message() {
    let mut me = Ctx::<Msg>::detached();
    me.pid().send(Msg::A(1)).unwrap();
    let got = receive!(me, { Msg::A(n) => n, after Duration::MAX => 0 });
    assert_eq!(got, 1);
}

#[tokio::test]
async fn arms_run_in_the_callers_code() {
    let mut me = Ctx::<Msg>::detached();
    let pid = me.pid();
    for n in [1, 2, 3, 100, 4] {
        pid.send(Msg::Data(n)).unwrap();
    }
    let mut sum = 0;
    loop {
        receive!(me, {
            Msg::Data(100) => break,
            Msg::Data(n) if n == 2 => continue,
            Msg::Data(n) => sum += n,
        });
    }
    assert_eq!(sum, 4);

    async fn first_text(ctx: &mut Ctx<Msg>) -> Result<u32, std::num::ParseIntError> {
        // `?` and `.await` inside an arm, and a `&mut Ctx` as the context.
        let n = receive!(ctx, {
            Msg::Text(t) => {
                tokio::task::yield_now().await;
                t.parse::<u32>()?
            }
        });
        Ok(n)
    }
    pid.send(Msg::Text("12".into())).unwrap();
    assert_eq!(first_text(&mut me).await, Ok(12));
    pid.send(Msg::Text("twelve".into())).unwrap();
    assert!(first_text(&mut me).await.is_err());
    assert_eq!(next(&mut me).await, Msg::Data(4));
}

#[tokio::test]
async fn patterns_can_bind_mutably_destructure_and_alternate() {
    let mut me = Ctx::<Msg>::detached();
    let pid = me.pid();
    pid.send(Msg::Text("ab".into())).unwrap();
    pid.send(Msg::Point { x: 3, y: -3 }).unwrap();
    pid.send(Msg::B(9)).unwrap();
    pid.send(Msg::A(8)).unwrap();

    let text = receive!(me, {
        Msg::Text(mut t) => {
            t.push('c');
            t
        }
    });
    assert_eq!(text, "abc");
    let sum = receive!(me, { Msg::Point { x, y: yy } if x + yy == 0 => x - yy });
    assert_eq!(sum, 6);
    let either = receive!(me, { Msg::A(n) | Msg::B(n) => n });
    assert_eq!(either, 9);
    let whole = receive!(me, { m @ Msg::A(_) => m });
    assert_eq!(whole, Msg::A(8));
}

// A paused clock: time moves only when every task waits.
#[tokio::test(start_paused = true)]
async fn signals_are_matched_by_down_and_exit_patterns_only() {
    let mut me = Ctx::<Msg>::detached();
    let (child, monitor) = me.spawn_monitor(|_: Ctx<()>| async { Err(ExitReason::Shutdown) });
    // A catch-all arm takes messages of type `Msg` only: the down message
    // stays for the `Down` arm.
    let any_msg = receive!(me, { _ => true, after Duration::from_millis(20) => false });
    assert!(!any_msg);
    let reason = receive!(me, {
        Down(d) if d.pid == child => d.reason,
        after WAIT => panic!("no down"),
    });
    assert_eq!(reason, ExitReason::Shutdown);
    let _ = monitor;

    let linked = me.spawn_link(|_: Ctx<()>| async { Err(ExitReason::error("linked crash")) });
    let exit = receive!(me, {
        Exit(Exit { from, reason }) if from == linked => reason,
        after WAIT => panic!("no exit"),
    });
    assert_eq!(exit, ExitReason::error("linked crash"));
}

#[tokio::test]
async fn recv_returns_every_kind_of_entry_in_order() {
    let mut me = Ctx::<Msg>::detached();
    me.pid().send(Msg::A(1)).unwrap();
    let (_, monitor) = me.spawn_monitor(|_: Ctx<()>| async { Ok(()) });
    assert!(matches!(me.recv().await, Envelope::Message(Msg::A(1))));
    assert_eq!(down(&mut me, monitor).await, ExitReason::Normal);
    assert!(me.try_recv().is_none());
}

// A paused clock: time moves only when every task waits.
#[tokio::test(start_paused = true)]
async fn a_receive_with_only_after_waits_out_its_time() {
    let mut me = Ctx::<Msg>::detached();
    me.pid().send(Msg::A(1)).unwrap();
    let started = tokio::time::Instant::now();
    receive!(me, { after Duration::from_millis(20) => () });
    assert_eq!(started.elapsed(), Duration::from_millis(20));
    assert_eq!(me.mailbox_len(), 1);
}

// ------------------------------------------------ a mailbox that never empties

/// Keeps `pid`'s mailbox full from a plain thread until told to stop, or
/// for at most `limit`; stops when dropped.
struct Feeder {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Feeder {
    fn start(pid: Pid<u64>, limit: Duration, sampled: impl FnMut() + Send + 'static) -> Feeder {
        use std::sync::atomic::Ordering;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let thread = std::thread::spawn({
            let stop = stop.clone();
            let mut sampled = sampled;
            move || {
                let started = std::time::Instant::now();
                let mut next_sample = started + Duration::from_millis(100);
                while !stop.load(Ordering::Relaxed) && started.elapsed() < limit {
                    for n in 0..64u64 {
                        let _ = pid.send(n);
                    }
                    if std::time::Instant::now() >= next_sample {
                        sampled();
                        next_sample += Duration::from_millis(100);
                    }
                }
            }
        });
        Feeder {
            stop,
            thread: Some(thread),
        }
    }
}

impl Feeder {
    /// Waits until the feeder stops by itself (its time is up).
    fn finish(mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Feeder {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The README's first example: a loop of `receive!` with `after`.
fn busy_receiver() -> Pid<u64> {
    fauxtp::spawn(|mut ctx: Ctx<u64>| async move {
        loop {
            receive!(ctx, {
                _n => {}
                after Duration::from_secs(30) => return Ok(()),
            });
        }
    })
}

#[tokio::test]
async fn a_receive_with_after_over_a_full_mailbox_lets_other_tasks_run() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    // Counts the turns of another task on this one-thread runtime.
    let turns = Arc::new(AtomicUsize::new(0));
    let ticker = tokio::spawn({
        let turns = turns.clone();
        async move {
            loop {
                turns.fetch_add(1, Ordering::Relaxed);
                tokio::task::yield_now().await;
            }
        }
    });
    let busy = busy_receiver();
    // The feeder thread samples the turns every 100 ms while the mailbox
    // is full; it stops by itself after a second, so a starved runtime
    // makes the test fail, not hang.
    let samples = Arc::new(Mutex::new(Vec::new()));
    let feeder = Feeder::start(busy.clone(), Duration::from_secs(1), {
        let (turns, samples) = (turns.clone(), samples.clone());
        move || samples.lock().unwrap().push(turns.load(Ordering::Relaxed))
    });
    // Hand the thread over to the busy process.
    tokio::task::yield_now().await;
    let feeding = tokio::time::timeout(WAIT, tokio::task::spawn_blocking(move || feeder.finish()));
    feeding.await.unwrap().unwrap();
    let samples = samples.lock().unwrap().clone();
    assert!(samples.len() >= 5, "the feeder sampled {samples:?}");
    assert!(
        samples.windows(2).all(|w| w[1] > w[0]),
        "the other task stopped running while the mailbox was full: {samples:?}"
    );
    ticker.abort();
    let me = Ctx::<()>::detached();
    me.exit(&busy, ExitReason::Kill);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_ends_a_process_whose_mailbox_never_empties() {
    let mut me = Ctx::<()>::detached();
    let busy = busy_receiver();
    let monitor = me.monitor(&busy);
    // The feeder says when it has kept the mailbox full for 100 ms: the
    // process is busy by then.
    let (fed, busy_now) = tokio::sync::oneshot::channel();
    let mut fed = Some(fed);
    let _feeder = Feeder::start(busy.clone(), Duration::from_secs(10), move || {
        if let Some(fed) = fed.take() {
            let _ = fed.send(());
        }
    });
    tokio::time::timeout(WAIT, busy_now)
        .await
        .expect("the feeder runs")
        .unwrap();
    me.exit(&busy, ExitReason::Kill);
    let reason = receive!(me, {
        Down(d) if d.monitor == monitor => d.reason,
        after Duration::from_secs(2) => panic!("the busy process was not killed within 2 s"),
    });
    assert_eq!(reason, ExitReason::Killed);
}
