//! A publish/subscribe broker whose subscribers may end at any time.
//!
//! A rendering of the Python library's `examples/04_pubsub_system.py`:
//!
//! - The `Broker` GenServer, registered as `"pubsub-broker"`, keeps the
//!   subscribers of each topic and routes each published message to them,
//!   counting deliveries per topic. Publishing is a call, so the publisher
//!   learns how many subscribers it reached.
//! - Subscribers are GenServers that subscribe themselves in `init` and take
//!   deliveries in an `#[info]` handler (a plain message, not a request).
//! - The broker monitors every subscriber. When one ends, for any reason, the
//!   down message reaches the broker's `#[info]` handler for `Down`, which
//!   drops it from every topic. Here one subscriber leaves after its first
//!   message without unsubscribing, and another is killed, which runs no
//!   `terminate`, so it could not have unsubscribed itself. The monitor
//!   removes both, by design rather than by luck.
//!
//! `cargo run --example pubsub`

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use fauxtp::prelude::*;
use fauxtp::registry;

/// The broker's name; its `name` option below says the same.
const BROKER: &str = "pubsub-broker";

/// How long `main` waits for any one reply.
const WAIT: Duration = Duration::from_secs(1);

/// A message on a topic, as subscribers receive it.
#[derive(Debug, Clone)]
struct Published {
    topic: String,
    text: String,
}

/// The broker's figures, as its `stats` call reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct BrokerStats {
    /// Subscribers per topic (topics left without subscribers are dropped).
    subscribers: BTreeMap<String, usize>,
    /// Deliveries per topic.
    routed: BTreeMap<String, usize>,
    /// Subscribers removed because their monitor fired.
    removed: usize,
}

#[genserver(name = "pubsub-broker")]
struct Broker {
    topics: BTreeMap<String, Vec<Pid<SubscriberMsg>>>,
    /// The subscribers the broker monitors, one monitor each.
    watched: HashSet<AnyPid>,
    routed: BTreeMap<String, usize>,
    removed: usize,
    /// Calls to `forgotten`, waiting for a subscriber's end.
    waiting: Vec<(AnyPid, ReplyTo<()>)>,
}

#[genserver]
impl Broker {
    fn init() -> Self {
        println!("[broker] starting");
        Broker {
            topics: BTreeMap::new(),
            watched: HashSet::new(),
            routed: BTreeMap::new(),
            removed: 0,
            waiting: Vec::new(),
        }
    }

    #[call]
    fn subscribe(
        &mut self,
        topic: String,
        subscriber: Pid<SubscriberMsg>,
        ctx: &mut ServerCtx<Self>,
    ) {
        // One monitor per subscriber, however many topics it takes.
        if self.watched.insert(subscriber.any()) {
            ctx.monitor(&subscriber);
        }
        println!("[broker] {subscriber} subscribed to {topic:?}");
        self.topics.entry(topic).or_default().push(subscriber);
    }

    /// Sends `text` to every subscriber of `topic`; replies how many it
    /// reached.
    #[call]
    fn publish(&mut self, topic: String, text: String) -> usize {
        let message = Published {
            topic: topic.clone(),
            text,
        };
        let mut reached = 0;
        for subscriber in self.topics.get(&topic).into_iter().flatten() {
            // A send fails only if the subscriber has ended; its down message
            // is on its way and will remove it, so it just does not count.
            if subscriber.send(message.clone()).is_ok() {
                reached += 1;
            }
        }
        println!(
            "[broker] {topic:?} {:?}: {reached} subscriber(s)",
            message.text
        );
        *self.routed.entry(topic).or_default() += reached;
        reached
    }

    /// A subscriber ended: drop it from every topic, and drop the topics it
    /// leaves empty.
    #[info]
    fn subscriber_down(&mut self, down: Down) {
        self.watched.remove(&down.pid);
        for subscribers in self.topics.values_mut() {
            subscribers.retain(|subscriber| *subscriber != down.pid);
        }
        self.topics.retain(|_, subscribers| !subscribers.is_empty());
        self.removed += 1;
        println!(
            "[broker] {} ended ({}): removed from every topic",
            down.pid, down.reason
        );
        let (gone, still): (Vec<_>, Vec<_>) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|(pid, _)| *pid == down.pid);
        self.waiting = still;
        for (_, reply) in gone {
            reply.reply(());
        }
    }

    /// Replies once `subscriber` holds no subscription (at once if it holds
    /// none): how a caller waits until the broker has seen a subscriber end.
    #[call]
    fn forgotten(&mut self, subscriber: AnyPid, reply: ReplyTo<()>) {
        if self.watched.contains(&subscriber) {
            self.waiting.push((subscriber, reply));
        } else {
            reply.reply(());
        }
    }

    #[call]
    fn stats(&self) -> BrokerStats {
        BrokerStats {
            subscribers: self
                .topics
                .iter()
                .map(|(topic, subscribers)| (topic.clone(), subscribers.len()))
                .collect(),
            routed: self.routed.clone(),
            removed: self.removed,
        }
    }
}

/// Who a subscriber is and what it wants.
#[derive(Debug, Clone, Copy)]
struct Interest {
    name: &'static str,
    topics: &'static [&'static str],
    /// Leaves after this many messages, without unsubscribing.
    quota: Option<usize>,
}

struct Subscriber {
    name: &'static str,
    quota: Option<usize>,
    inbox: Vec<String>,
}

#[genserver]
impl Subscriber {
    /// Subscribes to its topics before it serves anything. If the broker is
    /// not there, `?` fails the start, and `start` returns the reason.
    async fn init(interest: Interest, ctx: &mut ServerCtx<Self>) -> Result<Self, ExitReason> {
        let broker: Pid<BrokerMsg> = registry::whereis(BROKER)?;
        for topic in interest.topics {
            broker.subscribe(String::from(*topic), ctx.pid()).await?;
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

async fn start_subscriber(interest: Interest) -> Pid<SubscriberMsg> {
    Subscriber::start(interest)
        .await
        .unwrap_or_else(|error| panic!("subscriber {} starts: {error}", interest.name))
}

async fn publish(broker: &Pid<BrokerMsg>, topic: &str, text: &str) -> usize {
    broker
        .publish(topic.to_owned(), text.to_owned())
        .timeout(WAIT)
        .await
        .expect("the broker answers")
}

/// Waits until the broker has removed `subscriber`: an event, bounded by a
/// timeout, rather than a sleep in the hope that it has.
async fn forgotten(broker: &Pid<BrokerMsg>, subscriber: &Pid<SubscriberMsg>) {
    broker
        .forgotten(subscriber.any())
        .timeout(WAIT)
        .await
        .expect("the broker sees a subscriber's end within 1 s");
}

/// What the example checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Deliveries per topic over the run.
    pub routed: BTreeMap<String, usize>,
    /// Subscribers per topic at the end.
    pub subscribers: BTreeMap<String, usize>,
    /// Subscribers the broker removed because their monitor fired.
    pub removed: usize,
    /// Messages each subscriber still running at the end received.
    pub analytics: usize,
    /// (see `analytics`)
    pub dashboard: usize,
}

/// Runs the example: prints what happens, checks it, returns the figures.
pub async fn run() -> Report {
    println!("=== pub/sub with monitors ===");
    let broker = Broker::start(()).await.expect("the broker starts");

    let analytics = start_subscriber(Interest {
        name: "analytics",
        topics: &["events", "metrics"],
        quota: None,
    })
    .await;
    let logger = start_subscriber(Interest {
        name: "logger",
        topics: &["events", "errors"],
        quota: None,
    })
    .await;
    let dashboard = start_subscriber(Interest {
        name: "dashboard",
        topics: &["metrics"],
        quota: None,
    })
    .await;
    let auditor = start_subscriber(Interest {
        name: "auditor",
        topics: &["events"],
        quota: Some(1),
    })
    .await;

    println!("\n-> publishing");
    assert_eq!(publish(&broker, "events", "user logged in").await, 3);

    // The auditor leaves after its first message, without a word to the
    // broker. The broker's monitor tells it.
    forgotten(&broker, &auditor).await;
    assert_eq!(publish(&broker, "metrics", "cpu 45%").await, 2);
    assert_eq!(publish(&broker, "events", "job completed").await, 2);

    // The logger is killed: `Kill` cannot be trapped and runs no
    // `terminate`. Only the broker's monitor can tell it.
    genserver::stop(&logger, ExitReason::Kill, WAIT)
        .await
        .expect("the logger was running");
    forgotten(&broker, &logger).await;
    assert_eq!(publish(&broker, "errors", "connection timeout").await, 0);
    assert_eq!(publish(&broker, "metrics", "cpu 52%").await, 2);

    // Deliveries are sent before `publish` replies, so they are in each
    // subscriber's mailbox before these calls: the inboxes are complete.
    let stats = broker.stats().await.expect("the broker answers");
    let analytics_inbox = analytics.inbox().await.expect("analytics answers");
    let dashboard_inbox = dashboard.inbox().await.expect("the dashboard answers");
    println!("\n-> broker: routed {:?}", stats.routed);
    println!("   subscribers now {:?}", stats.subscribers);
    println!("   analytics received {analytics_inbox:?}");
    println!("   dashboard received {dashboard_inbox:?}");

    // Stop what is left; the broker, stopped last, sees the two go.
    for subscriber in [&analytics, &dashboard] {
        genserver::stop(subscriber, ExitReason::Shutdown, WAIT)
            .await
            .expect("the subscriber stops");
    }
    genserver::stop(&broker, ExitReason::Shutdown, WAIT)
        .await
        .expect("the broker stops");

    let report = Report {
        routed: stats.routed,
        subscribers: stats.subscribers,
        removed: stats.removed,
        analytics: analytics_inbox.len(),
        dashboard: dashboard_inbox.len(),
    };
    let total: usize = report.routed.values().sum();
    // The logger got two events and the auditor one before they went.
    assert_eq!(total, report.analytics + report.dashboard + 3);
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
