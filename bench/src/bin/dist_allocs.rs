//! Allocations per message of a stream of casts between two fauxtp nodes
//! in this process (sender and receiver together), counted by a counting
//! allocator, with the messages per second (slowed by the counting).
//!
//! ```sh
//! cargo run --release --manifest-path bench/Cargo.toml --bin dist_allocs            # to a name the node has
//! cargo run --release --manifest-path bench/Cargo.toml --bin dist_allocs -- registry # to a name in fauxtp's registry
//! ```
//!
//! Needs epmd (or the port to run fauxtp's own port mapper).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use fauxtp::dist::term::{atom, tuple, FixInteger, Term};
use fauxtp::dist::{Cookie, Node, Remote};
use fauxtp::prelude::*;

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.realloc(ptr, layout, size)
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

struct Sink {
    count: u64,
}

#[genserver(remote)]
impl Sink {
    fn init() -> Self {
        Sink { count: 0 }
    }

    #[cast]
    fn data(&mut self, _payload: Term) {
        self.count += 1;
    }

    #[call]
    fn count(&self) -> u64 {
        self.count
    }
}

const CASTS: u64 = 500_000;

fn main() {
    let registry = std::env::args().nth(1).as_deref() == Some("registry");
    let runtime = fauxtp_bench_runtime();
    runtime.block_on(async move {
        tokio::spawn(async move {
            let id = std::process::id();
            let cookie = Cookie::new("dist-allocs");
            let a = Node::start(&format!("allocs_a_{id}@localhost"), cookie.clone())
                .await
                .expect("a node starts (is epmd running?)");
            let b = Node::start(&format!("allocs_b_{id}@localhost"), cookie)
                .await
                .expect("a node starts");
            let _sink = if registry {
                Sink::start_named("allocs_sink", ()).await.unwrap()
            } else {
                let sink = Sink::start(()).await.unwrap();
                b.register("allocs_sink", &sink).unwrap();
                sink
            };
            let to = Remote::name("allocs_sink", b.name());
            let point = tuple(vec![
                atom("point"),
                Term::from(FixInteger::from(1)),
                Term::from(FixInteger::from(2)),
            ]);
            let message = tuple(vec![atom("data"), point]);
            for _ in 0..3 {
                let before: u64 = a.call(&to, atom("count")).await.unwrap();
                let allocations = ALLOCATIONS.load(Ordering::Relaxed);
                let started = Instant::now();
                for _ in 0..CASTS {
                    a.cast(&to, &message).await.unwrap();
                }
                let count: u64 = a
                    .call_timeout(&to, atom("count"), Duration::from_secs(60))
                    .await
                    .unwrap();
                assert_eq!(count, before + CASTS, "every cast arrived");
                let elapsed = started.elapsed();
                let allocations = ALLOCATIONS.load(Ordering::Relaxed) - allocations;
                println!(
                    "{:.0} msgs/s, {:.1} allocations per message",
                    CASTS as f64 / elapsed.as_secs_f64(),
                    allocations as f64 / CASTS as f64
                );
            }
        })
        .await
        .unwrap();
    });
}

/// A 2-worker runtime, as the bench's multi-thread columns.
fn fauxtp_bench_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}
