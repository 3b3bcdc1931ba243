//! A pipeline with backpressure: a producer, a pool of processors, a consumer.
//!
//! A rendering of the Python library's `examples/02_pipeline_processing.py`.
//! There, a coordinator pushes each event through; here the processors pull,
//! as in Elixir's GenStage:
//!
//! - The `Producer` GenServer makes an event only when a processor asks for
//!   one (`pull`, a call). It never runs ahead of the processors, however slow
//!   they are, and nothing queues up between the stages: that is backpressure,
//!   with nothing to tune.
//! - Each processor is a plain process, a loop: ask for an event, work on it,
//!   hand the result to the consumer, ask again. A fast processor asks more
//!   often, so it handles more events: load balancing from the same rule.
//! - The `Consumer` GenServer collects the results. `main` waits for the last
//!   one with a call the consumer answers only then (a deferred reply), not
//!   with a sleep.
//! - A `supervisor!` tree starts the stages in order, producer and consumer
//!   first. With `rest_for_one`, a crash of the producer or the consumer would
//!   restart the stages started after it, which depend on it.
//!
//! The work is simulated: processor 1 sleeps 2 ms per event, processor 2
//! 3 ms and processor 3 5 ms, so the counts per processor vary a little from
//! run to run; their sum does not.
//!
//! `cargo run --example pipeline`

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use fauxtp::prelude::*;
use fauxtp::registry;
use fauxtp::supervisor::ChildSpec;

/// The stages' names; their `name` options below say the same.
const PRODUCER: &str = "pipeline-producer";
const CONSUMER: &str = "pipeline-consumer";

/// How many events flow through.
const EVENTS: u64 = 30;

/// What the producer hands out.
#[derive(Debug, Clone)]
struct Event {
    id: u64,
    data: String,
}

/// What a processor makes of an event.
#[derive(Debug, Clone)]
struct Processed {
    id: u64,
    by: u32,
    text: String,
}

/// Makes events on demand, up to a total.
#[genserver(name = "pipeline-producer")]
struct Producer {
    next: u64,
    total: u64,
}

#[genserver]
impl Producer {
    fn init(total: u64) -> Self {
        println!("[producer] starting: {total} events, made on demand");
        Producer { next: 0, total }
    }

    /// The next event, made now; `None` once all have been handed out.
    #[call]
    fn pull(&mut self) -> Option<Event> {
        if self.next == self.total {
            return None;
        }
        let id = self.next;
        self.next += 1;
        Some(Event {
            id,
            data: format!("item_{id}"),
        })
    }

    /// How many events it has made.
    #[call]
    fn produced(&self) -> u64 {
        self.next
    }
}

/// What the consumer reports once every event has arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Summary {
    consumed: u64,
    per_processor: Vec<(u32, u64)>,
}

/// Collects the processed events.
#[genserver(name = "pipeline-consumer")]
struct Consumer {
    expected: u64,
    seen: BTreeSet<u64>,
    per_processor: BTreeMap<u32, u64>,
    /// Calls to `all_done`, answered when the last event arrives.
    waiting: Vec<ReplyTo<Summary>>,
}

#[genserver]
impl Consumer {
    fn init(expected: u64) -> Self {
        println!("[consumer] starting: expecting {expected} events");
        Consumer {
            expected,
            seen: BTreeSet::new(),
            per_processor: BTreeMap::new(),
            waiting: Vec::new(),
        }
    }

    /// A cast: a processor hands over its result and goes back to work.
    #[cast]
    fn store(&mut self, result: Processed) {
        assert_eq!(result.text, format!("ITEM_{}", result.id));
        let first_time = self.seen.insert(result.id);
        assert!(first_time, "event {} came twice", result.id);
        *self.per_processor.entry(result.by).or_default() += 1;
        if self.seen.len() % 10 == 0 {
            println!("[consumer] stored {} events", self.seen.len());
        }
        self.release();
    }

    /// Replies once every expected event has arrived, at once if they have.
    /// Taking a `ReplyTo` defers the reply: OTP's `{noreply, State}`, then
    /// `gen_server:reply` from a later handler.
    #[call]
    fn all_done(&mut self, reply: ReplyTo<Summary>) {
        self.waiting.push(reply);
        self.release();
    }

    /// Answers the `all_done` calls if the last event has arrived.
    fn release(&mut self) {
        let consumed = self.seen.len() as u64;
        if consumed < self.expected {
            return;
        }
        let summary = Summary {
            consumed,
            per_processor: self.per_processor.iter().map(|(id, n)| (*id, *n)).collect(),
        };
        for reply in self.waiting.drain(..) {
            reply.reply(summary.clone());
        }
    }
}

/// A processor: a plain process that pulls. It asks for an event only when it
/// is free, so it never holds more than one; it ends normally once the
/// producer has nothing left.
async fn processor(id: u32, work: Duration) -> ProcessResult {
    // `?` turns a failed lookup, call or send into this process's exit
    // reason: the supervisor would see it, and restart the processor.
    let producer: Pid<ProducerMsg> = registry::whereis(PRODUCER)?;
    let consumer: Pid<ConsumerMsg> = registry::whereis(CONSUMER)?;
    let mut handled = 0;
    while let Some(event) = producer.pull().await? {
        tokio::time::sleep(work).await; // simulated work
        consumer.store(Processed {
            id: event.id,
            by: id,
            text: event.data.to_uppercase(),
        })?;
        handled += 1;
    }
    println!("[processor {id}] the producer is drained; stopping after {handled} events");
    Ok(())
}

/// A processor as a supervised child: transient, so it is restarted after a
/// crash but not once it has finished its work.
fn processor_child(id: u32, millis_per_event: u64) -> ChildSpec {
    let work = Duration::from_millis(millis_per_event);
    ChildSpec::process(format!("processor-{id}"), move |_: Ctx<()>| {
        processor(id, work)
    })
    .transient()
}

supervisor! {
    /// The stages, each started after those it depends on.
    Pipeline {
        strategy: rest_for_one,
        intensity: 3 per 5s,
        children: [
            producer: Producer::child(EVENTS),
            consumer: Consumer::child(EVENTS),
            processor_1: processor_child(1, 2),
            processor_2: processor_child(2, 3),
            processor_3: processor_child(3, 5),
        ],
    }
}

/// What the example checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Events the producer made.
    pub produced: u64,
    /// Events the consumer received, each exactly once.
    pub consumed: u64,
    /// `(processor, events it handled)`, by processor.
    pub per_processor: Vec<(u32, u64)>,
}

/// Runs the example: prints what happens, checks it, returns the figures.
pub async fn run() -> Report {
    println!("=== pipeline with backpressure ===");
    // The processors start pulling as soon as the tree has started them.
    let app = Pipeline::start(()).await.expect("the pipeline starts");
    let consumer: Pid<ConsumerMsg> =
        registry::whereis(CONSUMER).expect("the tree registered the consumer");
    let producer: Pid<ProducerMsg> =
        registry::whereis(PRODUCER).expect("the tree registered the producer");

    let summary = consumer
        .all_done()
        .timeout(Duration::from_secs(5))
        .await
        .expect("every event reaches the consumer within 5 s");
    let produced = producer.produced().await.expect("the producer answers");

    println!(
        "\n-> {produced} events made on demand, {} consumed:",
        summary.consumed
    );
    for (id, count) in &summary.per_processor {
        println!("   processor {id}: {count} events");
    }

    genserver::stop(&app, ExitReason::Shutdown, Duration::from_secs(5))
        .await
        .expect("the pipeline stops");

    let report = Report {
        produced,
        consumed: summary.consumed,
        per_processor: summary.per_processor,
    };
    assert_eq!(
        report.produced, EVENTS,
        "the producer made no more than asked"
    );
    assert_eq!(report.consumed, EVENTS, "every event went through once");
    let handled: u64 = report.per_processor.iter().map(|(_, n)| n).sum();
    assert_eq!(
        handled, report.consumed,
        "each event was handled by one processor"
    );
    report
}

#[tokio::main]
async fn main() {
    run().await;
}
