//! Publish/subscribe on a keyed registry, with subscribers that may end at
//! any time and be of any message type.
//!
//! A rendering of the Python library's `examples/04_pubsub_system.py`, on
//! `fauxtp::registry::Registry` (Elixir's `Registry`, as Elixir programs do
//! pub/sub):
//!
//! - `PubSub` holds a registry of duplicate keys: a topic is a key, each
//!   subscription an entry. An entry's value is how to deliver to that
//!   subscriber, made when it subscribes from any pid whose message type
//!   converts from `Published`. So subscribers need not share one type:
//!   here three are GenServers, one is a plain process.
//! - Publishing is `Registry::dispatch`: every entry of the topic, outside
//!   the registry's lock. It counts deliveries per topic.
//! - Subscribers never unsubscribe. A subscriber's entries go when it
//!   ends, in its exit protocol, before its monitors hear of it: one leaves
//!   after its first message, and another is killed (which runs no
//!   `terminate`, so it could not have unsubscribed if it had wanted to).
//!   Waiting for a monitor's down message is enough to know they are gone.
//!
//! `cargo run --example pubsub`

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fauxtp::prelude::*;
use fauxtp::registry::{Keys, Registry};

/// How long `main` waits for any one reply.
const WAIT: Duration = Duration::from_secs(1);

/// A message on a topic, as subscribers receive it.
#[derive(Debug, Clone)]
pub struct Published {
    topic: String,
    text: String,
}

/// Delivers a message to one subscriber; false if it has ended.
type Deliver = Arc<dyn Fn(Published) -> bool + Send + Sync>;

/// Topics and their subscribers, and what was delivered. A handle: clones
/// share it.
#[derive(Clone)]
pub struct PubSub {
    topics: Registry<String, Deliver>,
    routed: Arc<Mutex<BTreeMap<String, usize>>>,
}

impl PubSub {
    fn new() -> Self {
        PubSub {
            topics: Registry::new(Keys::Duplicate),
            routed: Arc::default(),
        }
    }

    /// Subscribes `subscriber`, of any message type that converts from
    /// `Published`, to `topic`.
    fn subscribe<M>(&self, topic: &str, subscriber: &Pid<M>) -> Result<(), ExitReason>
    where
        M: From<Published> + Send + 'static,
    {
        let pid = subscriber.clone();
        let deliver: Deliver = Arc::new(move |message| pid.send(message).is_ok());
        self.topics
            .register(topic.to_owned(), subscriber, deliver)
            .map_err(ExitReason::error)?;
        println!("[pubsub] {subscriber} subscribed to {topic:?}");
        Ok(())
    }

    /// Sends `text` to every subscriber of `topic`; returns how many it
    /// reached.
    fn publish(&self, topic: &str, text: &str) -> usize {
        let message = Published {
            topic: topic.to_owned(),
            text: text.to_owned(),
        };
        let mut reached = 0;
        self.topics.dispatch(&topic.to_owned(), |entries| {
            for (_, deliver) in entries {
                if deliver(message.clone()) {
                    reached += 1;
                }
            }
        });
        println!("[pubsub] {topic:?} {text:?}: {reached} subscriber(s)");
        *self
            .routed
            .lock()
            .unwrap()
            .entry(topic.to_owned())
            .or_default() += reached;
        reached
    }

    /// Subscribers per topic, for the topics that have any.
    fn subscribers(&self, topics: &[&str]) -> BTreeMap<String, usize> {
        topics
            .iter()
            .map(|topic| {
                (
                    topic.to_string(),
                    self.topics.lookup(&topic.to_string()).len(),
                )
            })
            .filter(|(_, count)| *count > 0)
            .collect()
    }
}

/// Who a subscriber is and what it wants.
#[derive(Clone)]
struct Interest {
    name: &'static str,
    topics: &'static [&'static str],
    /// Leaves after this many messages, without unsubscribing.
    quota: Option<usize>,
    pubsub: PubSub,
}

struct Subscriber {
    name: &'static str,
    quota: Option<usize>,
    inbox: Vec<String>,
}

#[genserver]
impl Subscriber {
    /// Subscribes to its topics before it serves anything.
    fn init(interest: Interest, ctx: &mut ServerCtx<Self>) -> Result<Self, ExitReason> {
        for topic in interest.topics {
            interest.pubsub.subscribe(topic, &ctx.pid())?;
        }
        Ok(Subscriber {
            name: interest.name,
            quota: interest.quota,
            inbox: Vec::new(),
        })
    }

    /// A delivery: a plain message, sent with `send`, handled here.
    #[info]
    fn deliver(&mut self, message: Published, ctx: &mut ServerCtx<Self>) {
        println!("  [{}] got {}: {}", self.name, message.topic, message.text);
        self.inbox
            .push(format!("{}: {}", message.topic, message.text));
        if self.quota == Some(self.inbox.len()) {
            println!(
                "  [{}] has had enough; leaving without unsubscribing",
                self.name
            );
            ctx.stop(ExitReason::Normal);
        }
    }

    /// What it has received, oldest first.
    #[call]
    fn inbox(&self) -> Vec<String> {
        self.inbox.clone()
    }
}

/// The messages of the plain-process subscriber: deliveries, and a
/// request for how many it has had.
#[derive(Debug)]
pub enum CounterMsg {
    Delivered(Published),
    Count(ReplyTo<usize>),
}

impl From<Published> for CounterMsg {
    fn from(message: Published) -> Self {
        CounterMsg::Delivered(message)
    }
}

async fn start_subscriber(interest: Interest) -> Pid<SubscriberMsg> {
    let name = interest.name;
    Subscriber::start(interest)
        .await
        .unwrap_or_else(|error| panic!("subscriber {name} starts: {error}"))
}

/// What the example checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Deliveries per topic over the run.
    pub routed: BTreeMap<String, usize>,
    /// Subscribers per topic at the end.
    pub subscribers: BTreeMap<String, usize>,
    /// Subscribers whose entries went with them, without unsubscribing.
    pub removed: usize,
    /// Messages each subscriber still running at the end received.
    pub analytics: usize,
    /// (see `analytics`)
    pub dashboard: usize,
    /// (see `analytics`; a plain process, not a GenServer)
    pub counter: usize,
}

/// Runs the example: prints what happens, checks it, returns the figures.
pub async fn run() -> Report {
    println!("=== pub/sub on a keyed registry ===");
    let pubsub = PubSub::new();
    let interest = |name, topics, quota| Interest {
        name,
        topics,
        quota,
        pubsub: pubsub.clone(),
    };
    let analytics = start_subscriber(interest("analytics", &["events", "metrics"], None)).await;
    let logger = start_subscriber(interest("logger", &["events", "errors"], None)).await;
    let dashboard = start_subscriber(interest("dashboard", &["metrics"], None)).await;
    let auditor = start_subscriber(interest("auditor", &["events"], Some(1))).await;
    // A subscriber of another message type: a plain process that counts.
    let counter = fauxtp::spawn(|mut ctx: Ctx<CounterMsg>| async move {
        let mut count = 0;
        loop {
            match ctx.recv().await {
                Envelope::Message(CounterMsg::Delivered(_)) => count += 1,
                Envelope::Message(CounterMsg::Count(reply)) => {
                    reply.reply(count);
                }
                _ => return Ok(()),
            }
        }
    });
    pubsub
        .subscribe("metrics", &counter)
        .expect("the counter subscribes");

    let mut me = Ctx::<()>::detached();
    println!("\n-> publishing");
    let auditor_watch = me.monitor(&auditor);
    assert_eq!(pubsub.publish("events", "user logged in"), 3);

    // The auditor leaves after its first message, without a word to anyone.
    // Once its down message is here, its entries are gone.
    let left = receive!(me, {
        Down(d) if d.monitor == auditor_watch => d.reason,
        after WAIT => panic!("the auditor did not leave"),
    });
    println!("   the auditor left ({left})");
    assert_eq!(pubsub.publish("metrics", "cpu 45%"), 3);
    assert_eq!(pubsub.publish("events", "job completed"), 2);

    // The logger is killed: `Kill` cannot be trapped and runs no
    // `terminate`. Its entries go all the same.
    genserver::stop(&logger, ExitReason::Kill, WAIT)
        .await
        .expect("the logger was running");
    assert_eq!(pubsub.publish("errors", "connection timeout"), 0);
    assert_eq!(pubsub.publish("metrics", "cpu 52%"), 3);

    // Deliveries are sent before `publish` returns, so they are in each
    // subscriber's mailbox before these calls: the counts are complete.
    let analytics_inbox = analytics.inbox().await.expect("analytics answers");
    let dashboard_inbox = dashboard.inbox().await.expect("the dashboard answers");
    let counted = fauxtp::Call::new(&counter, "count", CounterMsg::Count)
        .await
        .expect("the counter answers");
    let subscribers = pubsub.subscribers(&["events", "metrics", "errors"]);
    let routed = pubsub.routed.lock().unwrap().clone();
    println!("\n-> routed {routed:?}");
    println!("   subscribers now {subscribers:?}");
    println!("   analytics received {analytics_inbox:?}");
    println!("   dashboard received {dashboard_inbox:?}");
    println!("   the counter received {counted}");
    let removed = [&auditor, &logger]
        .iter()
        .filter(|gone| pubsub.topics.keys(gone.any()).is_empty())
        .count();

    for subscriber in [&analytics, &dashboard] {
        genserver::stop(subscriber, ExitReason::Shutdown, WAIT)
            .await
            .expect("the subscriber stops");
    }
    genserver::stop(&counter, ExitReason::Shutdown, WAIT)
        .await
        .expect("the counter stops");
    assert_eq!(
        pubsub.topics.count(),
        0,
        "every entry went with its process"
    );

    let report = Report {
        routed,
        subscribers,
        removed,
        analytics: analytics_inbox.len(),
        dashboard: dashboard_inbox.len(),
        counter: counted,
    };
    let total: usize = report.routed.values().sum();
    // The logger got two events and the auditor one before they went.
    assert_eq!(
        total,
        report.analytics + report.dashboard + report.counter + 3
    );
    assert_eq!(report.removed, 2, "the auditor and the logger");
    assert_eq!(
        report.subscribers.keys().collect::<Vec<_>>(),
        ["events", "metrics"],
        "the errors topic went with the logger"
    );
    report
}

#[tokio::main]
async fn main() {
    run().await;
}
