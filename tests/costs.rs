//! The cost promises of the runtime, checked by counting allocations (not
//! by timing): sending allocates nothing per message (the queue's buffer
//! doubles when it is full, and is reused), a receive that skips saved
//! messages allocates nothing per skipped message, a GenServer call
//! allocates its reply slot and nothing else, a cast nothing at all in
//! a steady state, an idle server is two allocations under 1 KiB, and a
//! monitor costs the watched process one.
//!
//! Every test runs on a current-thread runtime, so the server's work is
//! counted too (the counter is per thread).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Duration;

use fauxtp::prelude::*;

/// Counts the allocations made by the current thread.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
    static BYTES: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        BYTES.with(|n| n.set(n.get() + layout.size()));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

fn bytes() -> usize {
    BYTES.with(Cell::get)
}

#[derive(Debug)]
enum Msg {
    Noise(u64),
    Wanted(u64),
}

#[tokio::test(flavor = "current_thread")]
async fn skipping_saved_messages_allocates_nothing_per_message() {
    let mut me = Ctx::<Msg>::detached();
    let pid = me.pid();
    for n in 0..1_000 {
        pid.send(Msg::Noise(n)).unwrap();
    }
    // First pass moves the noise into the save queue.
    let none = receive!(me, { Msg::Wanted(n) => Some(n), after Duration::ZERO => None });
    assert!(none.is_none());

    for round in 0..100 {
        pid.send(Msg::Wanted(round)).unwrap();
        let before = allocations();
        let got = receive!(me, { Msg::Wanted(n) => n });
        let spent = allocations() - before;
        assert_eq!(got, round);
        assert_eq!(
            spent, 0,
            "receive skipping 1,000 saved messages allocated {spent} times"
        );
    }
    // The noise is still there, in order.
    for expected in 0..1_000 {
        assert!(matches!(me.try_recv(), Some(Envelope::Message(Msg::Noise(n))) if n == expected));
    }
}

#[tokio::test(flavor = "current_thread")]
async fn sending_allocates_only_when_the_queue_grows() {
    let mut me = Ctx::<Msg>::detached();
    let pid = me.pid();
    let before = allocations();
    for n in 0..3_200 {
        pid.send(Msg::Noise(n)).unwrap();
    }
    let spent = allocations() - before;
    // The queue's buffer doubles when it is full: 3,200 messages queued at
    // once take about log2(3,200) = 12 allocations, nothing per message.
    assert!(spent <= 13, "3,200 sends allocated {spent} times");
    while me.try_recv().is_some() {}
    // The receiver took that buffer and handed the queue its own, which
    // grows the same way once. From then on both buffers have room, and they
    // take turns: the same again allocates nothing.
    for n in 0..3_200 {
        pid.send(Msg::Noise(n)).unwrap();
    }
    while me.try_recv().is_some() {}
    for _ in 0..3 {
        let before = allocations();
        for n in 0..3_200 {
            pid.send(Msg::Noise(n)).unwrap();
        }
        assert_eq!(allocations() - before, 0, "sends into a grown queue");
        while me.try_recv().is_some() {}
    }
}

struct Counter {
    count: u64,
}

#[genserver]
impl Counter {
    fn init() -> Self {
        Counter { count: 0 }
    }

    #[call]
    fn add(&mut self, n: u64) -> u64 {
        self.count += n;
        self.count
    }

    #[cast]
    fn bump(&mut self) {
        self.count += 1;
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_call_allocates_one_reply_slot_and_a_cast_nothing() {
    let counter = Counter::start(()).await.unwrap();
    counter.add(0).await.unwrap(); // warm up

    let before = allocations();
    for _ in 0..1_000 {
        counter.add(1).await.unwrap();
    }
    let per_thousand_calls = allocations() - before;
    println!("1,000 calls: {per_thousand_calls} allocations");
    // One reply slot per call, plus now and then a timeout bucket shared by
    // the calls of the same few milliseconds (two allocations, at most one
    // per 16 ms per thread). The mailbox's buffers were grown by the warm-up.
    assert!(
        per_thousand_calls <= 1_000 + 2,
        "1,000 calls allocated {per_thousand_calls} times"
    );

    let before = allocations();
    for _ in 0..1_000 {
        counter.bump().unwrap();
    }
    assert_eq!(counter.add(0).await.unwrap(), 2_000);
    let per_thousand_casts = allocations() - before;
    println!("1,000 casts and one call: {per_thousand_casts} allocations");
    // The casts queue up behind the running client: the server's buffer
    // doubles up to 1,024 slots (about 10 allocations), then the call.
    assert!(
        per_thousand_casts <= 10 + 3,
        "1,000 casts (and one call) allocated {per_thousand_casts} times"
    );
}

/// An idle server is its control block and its tokio task: two
/// allocations, 872 bytes for this one (a control block of 360 and a task
/// of 512; tokio sizes a task in steps of 128 bytes). With malloc's
/// headers and its share of the process table, that is the bench's
/// 946 bytes per idle server (`memory`).
#[tokio::test(flavor = "current_thread")]
async fn an_idle_server_is_two_allocations_under_a_kib() {
    let mut servers = Vec::with_capacity(200);
    let mut cheapest = (usize::MAX, usize::MAX);
    for _ in 0..200 {
        let (allocations_before, bytes_before) = (allocations(), bytes());
        servers.push(Counter::start(()).await.unwrap());
        let start = (allocations() - allocations_before, bytes() - bytes_before);
        // Now and then a start also grows a shared table (the process
        // table, the list of servers here): the cheapest is a start alone.
        cheapest = cheapest.min(start);
    }
    for server in &servers {
        server.add(0).await.unwrap();
    }
    println!(
        "an idle server: {} allocations, {} bytes",
        cheapest.0, cheapest.1
    );
    assert_eq!(cheapest.0, 2, "allocations per server: {cheapest:?}");
    assert!(cheapest.1 <= 896, "bytes per server: {cheapest:?}");
}

/// Being monitored costs a process one allocation (the monitor and the box
/// that holds the monitors on it, together); the watcher's table of the
/// monitors it holds grows now and then, by doubling.
#[tokio::test(flavor = "current_thread")]
async fn a_monitor_costs_the_watched_process_one_allocation() {
    let mut servers = Vec::with_capacity(200);
    for _ in 0..200 {
        servers.push(Counter::start(()).await.unwrap());
    }
    let mut watcher = Ctx::<()>::detached();
    let mut cheapest = usize::MAX;
    for server in &servers {
        let before = allocations();
        watcher.monitor(server);
        cheapest = cheapest.min(allocations() - before);
    }
    assert_eq!(cheapest, 1, "allocations per monitor");
}
