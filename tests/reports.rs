//! Reports: what OTP's logger would say (a crash report, a supervisor
//! report) comes out as `tracing` events with structured fields. Each test
//! runs on a one-thread runtime with a subscriber of its own that records
//! the events.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fauxtp::prelude::*;
use fauxtp::supervisor::{Strategy, Supervisor, SupervisorSpec};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

mod common;

/// One recorded event.
#[derive(Debug, Clone)]
struct Report {
    target: String,
    level: Level,
    fields: BTreeMap<String, String>,
    /// The name and fields of the span the event was written in, if any.
    span: Option<(String, BTreeMap<String, String>)>,
}

impl Report {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

/// Records every event, with the span it was written in. The tests run
/// on one thread, so one stack of entered spans is enough.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Recorded>>);

#[derive(Default)]
struct Recorded {
    reports: Vec<Report>,
    spans: Vec<(String, BTreeMap<String, String>)>,
    entered: Vec<Id>,
}

impl Recorder {
    fn reports(&self) -> Vec<Report> {
        self.0.lock().unwrap().reports.clone()
    }

    fn with_target(&self, target: &str) -> Vec<Report> {
        self.reports()
            .into_iter()
            .filter(|r| r.target == target)
            .collect()
    }
}

struct Fields(BTreeMap<String, String>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), value.to_string());
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut fields = Fields(BTreeMap::new());
        span.record(&mut fields);
        let mut recorded = self.0.lock().unwrap();
        recorded
            .spans
            .push((span.metadata().name().to_owned(), fields.0));
        Id::from_u64(recorded.spans.len() as u64)
    }
    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut recorded = self.0.lock().unwrap();
        let mut fields = Fields(std::mem::take(
            &mut recorded.spans[span.into_u64() as usize - 1].1,
        ));
        values.record(&mut fields);
        recorded.spans[span.into_u64() as usize - 1].1 = fields.0;
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields(BTreeMap::new());
        event.record(&mut fields);
        let mut recorded = self.0.lock().unwrap();
        let span = recorded
            .entered
            .last()
            .map(|id| recorded.spans[id.into_u64() as usize - 1].clone());
        recorded.reports.push(Report {
            target: event.metadata().target().to_owned(),
            level: *event.metadata().level(),
            fields: fields.0,
            span,
        });
    }
    fn enter(&self, span: &Id) {
        self.0.lock().unwrap().entered.push(span.clone());
    }
    fn exit(&self, _: &Id) {
        self.0.lock().unwrap().entered.pop();
    }
}

/// A recorder, installed for this thread until the guard drops.
fn record() -> (Recorder, tracing::subscriber::DefaultGuard) {
    let recorder = Recorder::default();
    let guard = tracing::subscriber::set_default(recorder.clone());
    (recorder, guard)
}

struct Fragile;

#[genserver]
impl Fragile {
    fn init() -> Self {
        Fragile
    }

    #[cast]
    fn explode(&mut self) {
        panic!("fragile exploded");
    }

    #[cast]
    fn fail(&mut self) -> Result<(), ExitReason> {
        Err(ExitReason::error("fragile failed"))
    }

    #[call]
    async fn slow(&mut self) {
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
}

#[tokio::test]
async fn a_panic_is_a_crash_report_naming_the_process_and_the_panic() {
    let (recorder, _guard) = record();
    let mut me = Ctx::<()>::detached();
    let server = Fragile::start_named("reports-fragile", ()).await.unwrap();
    let watch = me.monitor(&server);
    server.explode().unwrap();
    common::down(&mut me, watch).await;
    let crashes = recorder.with_target("fauxtp::process");
    assert_eq!(crashes.len(), 1, "{crashes:?}");
    let crash = &crashes[0];
    assert_eq!(crash.level, Level::ERROR);
    assert_eq!(crash.field("pid"), Some(server.to_string().as_str()));
    assert_eq!(crash.field("name"), Some("reports-fragile"));
    assert_eq!(crash.field("server"), Some("Fragile"));
    assert_eq!(crash.field("panic"), Some("fragile exploded"));
}

#[tokio::test]
async fn a_crash_report_says_where_the_panic_happened_when_asked_to() {
    fauxtp::process::capture_panic_locations();
    let (recorder, _guard) = record();
    let mut me = Ctx::<()>::detached();
    let (_, watch) = me.spawn_monitor(|_: Ctx<()>| async {
        let line = line!() + 1;
        panic!("at line {line}");
    });
    let reason = common::down(&mut me, watch).await;
    let ExitReason::Panic(message) = reason else {
        panic!("not a panic: {reason}");
    };
    let line: u32 = message.trim_start_matches("at line ").parse().unwrap();
    let crashes = recorder.with_target("fauxtp::process");
    assert_eq!(crashes.len(), 1, "{crashes:?}");
    let location = crashes[0].field("location").expect("a location");
    assert!(
        location.starts_with(&format!("tests/reports.rs:{line}:")),
        "{location}"
    );
}

#[tokio::test]
async fn an_error_is_a_crash_report_and_normal_or_shutdown_ends_are_not() {
    let (recorder, _guard) = record();
    let mut me = Ctx::<()>::detached();
    let failing = Fragile::start(()).await.unwrap();
    let watch = me.monitor(&failing);
    failing.fail().unwrap();
    common::down(&mut me, watch).await;
    for reason in [ExitReason::Normal, ExitReason::Shutdown] {
        let quiet = Fragile::start(()).await.unwrap();
        fauxtp::genserver::stop(&quiet, reason, common::WAIT)
            .await
            .unwrap();
    }
    let (_, watch) = me.spawn_monitor(|_: Ctx<()>| async { Ok(()) });
    common::down(&mut me, watch).await;
    let crashes = recorder.with_target("fauxtp::process");
    assert_eq!(crashes.len(), 1, "{crashes:?}");
    assert_eq!(crashes[0].level, Level::ERROR);
    assert_eq!(crashes[0].field("reason"), Some("fragile failed"));
}

#[tokio::test]
async fn a_supervisor_reports_a_crash_a_restart_and_giving_up() {
    let (recorder, _guard) = record();
    let mut me = Ctx::<()>::detached();
    let spec = SupervisorSpec::new(Strategy::OneForOne)
        .intensity(1, Duration::from_secs(60))
        .child(Fragile::child(()).id("fragile").named("reports-supervised"));
    let sup = Supervisor::start(spec).await.unwrap();
    let watch = me.monitor(&sup);
    let first: Pid<FragileMsg> = fauxtp::registry::whereis("reports-supervised").unwrap();
    let first_watch = me.monitor(&first);
    first.explode().unwrap();
    common::down(&mut me, first_watch).await;
    // The supervisor restarts it once; the second crash is one too many.
    let second = tokio::time::timeout(common::WAIT, async {
        loop {
            match fauxtp::registry::whereis::<FragileMsg>("reports-supervised") {
                Ok(pid) if pid != first => break pid,
                _ => tokio::task::yield_now().await,
            }
        }
    })
    .await
    .expect("the child is restarted");
    second.fail().unwrap();
    common::down(&mut me, watch).await;

    let reports = recorder.with_target("fauxtp::supervisor");
    let messages: Vec<(Level, &str)> = reports
        .iter()
        .map(|r| (r.level, r.field("message").unwrap_or("")))
        .collect();
    assert_eq!(
        messages,
        [
            (Level::ERROR, "supervisor report: child terminated"),
            (Level::INFO, "supervisor report: child restarted"),
            (Level::ERROR, "supervisor report: child terminated"),
            (
                Level::ERROR,
                "supervisor report: shutting down, reached the maximum restart intensity"
            ),
        ]
    );
    for report in &reports {
        assert_eq!(report.field("supervisor"), Some(sup.to_string().as_str()));
    }
    assert_eq!(reports[0].field("child"), Some("fragile"));
    assert_eq!(
        reports[0].field("reason"),
        Some("panicked: fragile exploded")
    );
    assert_eq!(reports[1].field("pid"), Some(second.to_string().as_str()));
    assert_eq!(reports[1].field("restarts"), Some("1"));
    assert_eq!(
        reports[3].field("reason"),
        Some(
            "reached the maximum restart intensity: more than 1 restarts within 60s; \
             the last: child `fragile` ended with: fragile failed"
        )
    );
}

#[tokio::test]
async fn a_child_that_fails_to_start_is_reported_with_the_error() {
    let (recorder, _guard) = record();
    let holder = Ctx::<()>::detached();
    fauxtp::registry::register("reports-taken", &holder.pid()).unwrap();
    let spec = SupervisorSpec::new(Strategy::OneForOne)
        .child(Fragile::child(()).id("unlucky").named("reports-taken"));
    assert!(Supervisor::start(spec).await.is_err());
    let reports = recorder.with_target("fauxtp::supervisor");
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(
        reports[0].field("message"),
        Some("supervisor report: child failed to start")
    );
    assert_eq!(reports[0].field("child"), Some("unlucky"));
    assert!(
        reports[0]
            .field("error")
            .is_some_and(|e| e.contains("already registered")),
        "{reports:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_call_that_times_out_is_a_debug_event() {
    let (recorder, _guard) = record();
    let server = Fragile::start(()).await.unwrap();
    assert!(server
        .slow()
        .timeout(Duration::from_millis(50))
        .await
        .is_err());
    let timeouts = recorder.with_target("fauxtp::genserver");
    assert_eq!(timeouts.len(), 1, "{timeouts:?}");
    assert_eq!(timeouts[0].level, Level::DEBUG);
    assert_eq!(timeouts[0].field("call"), Some("Fragile::slow"));
    assert_eq!(timeouts[0].field("after"), Some("50ms"));
}

/// A server that writes its own events, in the span `trace` gives it.
struct Chatty;

#[genserver(trace)]
impl Chatty {
    fn init() -> Self {
        tracing::info!(target: "chatty", "starting");
        Chatty
    }

    #[call]
    async fn say(&mut self, word: String) {
        tokio::task::yield_now().await;
        tracing::info!(target: "chatty", word = %word, "said");
    }

    fn terminate(&mut self, _reason: &ExitReason) {
        tracing::info!(target: "chatty", "stopping");
    }
}

#[tokio::test]
async fn a_traced_server_writes_its_events_in_a_span_naming_it() {
    let (recorder, _guard) = record();
    let server = Chatty::start_named("reports-chatty", ()).await.unwrap();
    server.say("hello".to_owned()).await.unwrap();
    fauxtp::genserver::stop(&server, ExitReason::Normal, Duration::from_secs(5))
        .await
        .unwrap();
    // An event the test writes itself is in no span.
    tracing::info!(target: "chatty", "outside");
    let events = recorder.with_target("chatty");
    let said: Vec<_> = events
        .iter()
        .map(|e| e.fields.get("message").cloned().unwrap_or_default())
        .collect();
    assert_eq!(said, ["starting", "said", "stopping", "outside"]);
    for event in &events[..3] {
        let (name, fields) = event.span.as_ref().expect("in the server's span");
        assert_eq!(name, "genserver");
        assert_eq!(fields.get("server").map(String::as_str), Some("Chatty"));
        assert_eq!(fields.get("pid"), Some(&server.to_string()));
        // The name is registered before `init` runs, as in OTP.
        assert_eq!(
            fields.get("name").map(String::as_str),
            Some("reports-chatty")
        );
    }
    assert!(events[3].span.is_none());
}

#[tokio::test]
async fn an_untraced_server_opens_no_span() {
    let (recorder, _guard) = record();
    let server = Fragile::start(()).await.unwrap();
    fauxtp::genserver::stop(&server, ExitReason::Normal, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(recorder.0.lock().unwrap().spans.is_empty());
}

/// A server with calls and casts whose messages and replies are `Debug`.
#[derive(Debug)]
struct Ledger {
    total: i64,
}

/// Not `Debug`: shows as `_` in a traced message.
struct Note;

#[genserver]
impl Ledger {
    fn init() -> Self {
        Ledger { total: 0 }
    }

    #[call]
    fn add(&mut self, amount: i64, _note: Note) -> i64 {
        self.total += amount;
        self.total
    }

    #[cast]
    fn clear(&mut self) {
        self.total = 0;
    }
}

#[tokio::test]
async fn sys_trace_logs_each_message_and_reply_while_on() {
    let (recorder, _guard) = record();
    let ledger = Ledger::start(()).await.unwrap();
    ledger.add(1, Note).await.unwrap();
    fauxtp::sys::trace(&ledger, true).await.unwrap();
    assert!(fauxtp::sys::get_status(&ledger).await.unwrap().traced);
    assert_eq!(ledger.add(5, Note).await, Ok(6));
    ledger.clear().unwrap();
    fauxtp::sys::trace(&ledger, false).await.unwrap();
    ledger.add(2, Note).await.unwrap();

    let traced = recorder.with_target("fauxtp::sys");
    assert_eq!(traced.len(), 3, "{traced:?}");
    assert_eq!(
        traced[0].field("msg"),
        Some("LedgerMsg::Add { amount: 5, _note: _, .. }")
    );
    assert_eq!(traced[1].field("reply"), Some("6"));
    assert_eq!(traced[2].field("msg"), Some("LedgerMsg::Clear"));
    for report in &traced {
        assert_eq!(report.level, Level::INFO);
        assert_eq!(report.field("pid"), Some(ledger.to_string().as_str()));
        assert_eq!(report.field("server"), Some("Ledger"));
    }
}
