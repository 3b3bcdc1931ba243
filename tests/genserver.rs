//! GenServers: calls, casts, info messages, deferred replies, stopping,
//! terminate, crashes, start variants, options, generic servers.

mod common;

use std::collections::HashMap;
use std::future::IntoFuture;
use std::time::Duration;

use common::{down, ended, next};
use fauxtp::prelude::*;
use fauxtp::registry;

// ---------------------------------------------------------------- counter

/// What servers tell the test about themselves.
#[derive(Debug, Clone, PartialEq)]
enum Event {
    Terminated(ExitReason),
    /// A handler started, and will not answer until the given time passed
    /// (or until it is let go).
    Sleeping,
    /// How many messages a server had handled.
    Handled(u64),
    Ticked(u64),
    SawDown(ExitReason),
    SawExit(ExitReason),
}

#[derive(Debug, Clone, PartialEq)]
struct Tick;

struct Counter {
    count: u64,
    events: Option<Pid<Event>>,
}

#[genserver]
impl Counter {
    async fn init(start: u64, events: Option<Pid<Event>>) -> Result<Self, ExitReason> {
        Ok(Counter {
            count: start,
            events,
        })
    }

    #[call]
    fn get(&self) -> u64 {
        self.count
    }

    #[call]
    async fn add(&mut self, n: u64) -> u64 {
        tokio::task::yield_now().await;
        self.count += n;
        self.count
    }

    #[cast]
    fn reset(&mut self) {
        self.count = 0;
    }

    #[call]
    fn stop_with(&mut self, reason: ExitReason, ctx: &mut ServerCtx<Self>) -> u64 {
        ctx.stop(reason);
        self.count
    }

    #[call]
    fn crash(&mut self) -> u64 {
        panic!("counter fell over at {}", self.count)
    }

    #[call]
    async fn call_myself(&mut self, ctx: &mut ServerCtx<Self>) -> Result<u64, CallError> {
        ctx.pid().get().await
    }

    #[call]
    async fn sleep_for(&mut self, pause: Duration) -> u64 {
        if let Some(events) = &self.events {
            let _ = events.send(Event::Sleeping);
        }
        tokio::time::sleep(pause).await;
        self.count
    }

    #[info]
    fn tick(&mut self, _tick: Tick) {
        self.count += 1;
        if let Some(events) = &self.events {
            let _ = events.send(Event::Ticked(self.count));
        }
    }

    async fn terminate(&mut self, reason: &ExitReason) {
        if let Some(events) = &self.events {
            let _ = events.send(Event::Terminated(reason.clone()));
        }
    }
}

#[tokio::test]
async fn calls_and_casts_reach_their_handlers() {
    let counter = Counter::start((40, None)).await.unwrap();
    assert_eq!(counter.get().await, Ok(40));
    assert_eq!(counter.add(2).await, Ok(42));
    counter.reset().unwrap();
    assert_eq!(
        counter.get().timeout(Duration::from_millis(500)).await,
        Ok(0)
    );
}

#[tokio::test]
async fn the_message_enum_can_be_built_and_sent_by_hand() {
    let counter = Counter::start((1, None)).await.unwrap();
    counter.send(CounterMsg::Reset).unwrap();
    let n = fauxtp::Call::new(&counter, "by hand", |reply| CounterMsg::Add { n: 5, reply }).await;
    assert_eq!(n, Ok(5));
    assert_eq!(
        format!("{:?}", CounterMsg::Tick(Tick)),
        "CounterMsg::Tick(Tick)"
    );
}

#[tokio::test]
async fn info_messages_arrive_by_send_and_by_timer() {
    let mut me = Ctx::<Event>::detached();
    let counter = Counter::start((0, Some(me.pid()))).await.unwrap();
    counter.send(Tick).unwrap();
    assert_eq!(next(&mut me).await, Event::Ticked(1));
    fauxtp::timer::send_after(&counter, Tick, Duration::from_millis(5));
    assert_eq!(next(&mut me).await, Event::Ticked(2));
}

#[tokio::test(start_paused = true)]
async fn a_call_times_out_with_an_error_that_names_the_server_and_the_call() {
    let counter = Counter::start((7, None)).await.unwrap();
    let err = counter
        .sleep_for(Duration::from_millis(200))
        .timeout(Duration::from_millis(20))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        CallError::Timeout {
            server: counter.any(),
            call: "Counter::sleep_for",
            after: Duration::from_millis(20)
        }
    );
    assert_eq!(
        err.to_string(),
        format!("call to {counter} (Counter::sleep_for) timed out after 20ms")
    );
    // The server goes on; the next call gets its own answer.
    assert_eq!(counter.get().await, Ok(7));
}

/// In Erlang before process aliases, a reply that comes after
/// `gen_server:call` gave up lands in the caller's mailbox as a stray
/// message. Here it must reach nobody, and the server can tell: `reply`
/// says that nobody waited.
#[tokio::test(start_paused = true)]
async fn a_reply_that_comes_after_the_timeout_reaches_nobody() {
    let (answer, answered) = tokio::sync::oneshot::channel::<()>();
    let (delivered_tx, delivered) = tokio::sync::oneshot::channel::<bool>();
    // A plain process that takes one call and answers it only when told.
    let late = fauxtp::spawn(move |mut ctx: Ctx<fauxtp::ReplyTo<u32>>| async move {
        let Envelope::Message(reply) = ctx.recv().await else {
            return Err(ExitReason::error("not a call"));
        };
        let _ = answered.await;
        let _ = delivered_tx.send(reply.reply(7));
        Ok(())
    });
    let err = fauxtp::Call::new(&late, "late", |reply| reply)
        .timeout(Duration::from_millis(20))
        .await
        .unwrap_err();
    assert!(matches!(err, CallError::Timeout { .. }), "{err}");
    answer.send(()).unwrap();
    let reached_someone = tokio::time::timeout(common::WAIT, delivered)
        .await
        .expect("the late process answers")
        .unwrap();
    assert!(!reached_someone, "the late reply found a caller");
}

#[tokio::test]
async fn a_call_to_an_ended_server_fails_at_once() {
    let mut me = Ctx::<Event>::detached();
    let counter = Counter::start((0, None)).await.unwrap();
    assert_eq!(counter.stop_with(ExitReason::Normal).await, Ok(0));
    ended(&mut me, &counter).await;
    let started = tokio::time::Instant::now();
    let err = counter.get().await.unwrap_err();
    assert!(matches!(err, CallError::NoProc { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(counter.reset().is_err());
}

#[tokio::test]
async fn a_server_that_dies_mid_call_fails_the_call_at_once_with_the_reason() {
    let mut me = Ctx::<Event>::detached();
    let counter = Counter::start((0, Some(me.pid()))).await.unwrap();
    let slow = tokio::spawn(counter.sleep_for(Duration::from_secs(30)).into_future());
    // The handler runs: the call is in the middle of being handled.
    assert_eq!(next(&mut me).await, Event::Sleeping);
    let started = tokio::time::Instant::now();
    me.exit(&counter, ExitReason::Kill);
    let err = tokio::time::timeout(common::WAIT, slow)
        .await
        .expect("the call ends")
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(
            &err,
            CallError::Exited {
                reason: ExitReason::Killed,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn queued_calls_fail_with_the_reason_when_the_server_stops() {
    let counter = Counter::start((0, None)).await.unwrap();
    let stop = counter.stop_with(ExitReason::Shutdown);
    let queued = counter.get();
    let (stopped, queued) = tokio::join!(stop.into_future(), queued.into_future());
    assert_eq!(stopped, Ok(0), "the stopping call still gets its reply");
    assert_eq!(
        queued,
        Err(CallError::Exited {
            server: counter.any(),
            call: "Counter::get",
            reason: ExitReason::Shutdown
        })
    );
}

/// Waits in `terminate` until the test releases it, so that calls queue up
/// meanwhile.
struct SlowToStop {
    release: Option<tokio::sync::oneshot::Receiver<()>>,
}

#[genserver]
impl SlowToStop {
    fn init(release: tokio::sync::oneshot::Receiver<()>) -> Self {
        SlowToStop {
            release: Some(release),
        }
    }

    #[call]
    fn stop(&mut self, ctx: &mut ServerCtx<Self>) {
        ctx.stop(ExitReason::error("closing time"));
    }

    #[call]
    fn ping(&self) {}

    async fn terminate(&mut self, _reason: &ExitReason) {
        if let Some(release) = self.release.take() {
            let _ = release.await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_queued_while_the_server_terminates_fail_with_its_reason() {
    let (release, released) = tokio::sync::oneshot::channel();
    let server = SlowToStop::start(released).await.unwrap();
    // `join!` polls in order: stop is sent, then ping, then terminate may end.
    let (stopped, pinged, ()) = tokio::join!(
        server.stop().into_future(),
        server.ping().into_future(),
        async move {
            let _ = release.send(());
        },
    );
    assert_eq!(stopped, Ok(()));
    assert_eq!(
        pinged,
        Err(CallError::Exited {
            server: server.any(),
            call: "SlowToStop::ping",
            reason: ExitReason::error("closing time")
        })
    );
}

#[tokio::test]
async fn a_panic_in_a_handler_ends_the_server_and_fails_the_call() {
    let mut me = Ctx::<Event>::detached();
    let counter = Counter::start((3, Some(me.pid()))).await.unwrap();
    let monitor = me.monitor(&counter);
    let err = counter.crash().await.unwrap_err();
    let reason = ExitReason::Panic("counter fell over at 3".into());
    assert_eq!(
        err.to_string(),
        format!("call to {counter} (Counter::crash) failed: the server exited (panicked: counter fell over at 3)")
    );
    assert_eq!(next(&mut me).await, Event::Terminated(reason.clone()));
    assert_eq!(down(&mut me, monitor).await, reason);
}

#[tokio::test]
async fn a_server_calling_itself_fails_at_once() {
    let counter = Counter::start((0, None)).await.unwrap();
    let started = tokio::time::Instant::now();
    let inner = counter.call_myself().await.unwrap();
    assert!(
        matches!(inner, Err(CallError::CallingSelf { .. })),
        "{inner:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(counter.get().await, Ok(0), "the server goes on");
}

#[tokio::test]
async fn stop_replies_then_runs_terminate_and_ends_with_the_reason() {
    let mut me = Ctx::<Event>::detached();
    let counter = Counter::start((9, Some(me.pid()))).await.unwrap();
    let monitor = me.monitor(&counter);
    let reason = ExitReason::error("enough");
    assert_eq!(counter.stop_with(reason.clone()).await, Ok(9));
    assert_eq!(next(&mut me).await, Event::Terminated(reason.clone()));
    assert_eq!(down(&mut me, monitor).await, reason);
}

#[tokio::test]
async fn terminate_runs_on_shutdown_but_not_on_kill() {
    let mut me = Ctx::<Event>::detached();
    let counter = Counter::start((0, Some(me.pid()))).await.unwrap();
    let monitor = me.monitor(&counter);
    me.exit(&counter, ExitReason::Shutdown);
    assert_eq!(next(&mut me).await, Event::Terminated(ExitReason::Shutdown));
    assert_eq!(down(&mut me, monitor).await, ExitReason::Shutdown);

    let counter = Counter::start((0, Some(me.pid()))).await.unwrap();
    let monitor = me.monitor(&counter);
    me.exit(&counter, ExitReason::Kill);
    assert_eq!(down(&mut me, monitor).await, ExitReason::Killed);
    let late = receive!(me, {
        Event::Terminated(reason) => Some(reason),
        after Duration::from_millis(50) => None,
    });
    assert_eq!(late, None, "terminate must not run on kill");
}

#[tokio::test]
async fn a_normal_exit_signal_from_another_process_is_ignored() {
    let me = Ctx::<Event>::detached();
    let counter = Counter::start((5, None)).await.unwrap();
    me.exit(&counter, ExitReason::Normal);
    assert_eq!(counter.get().await, Ok(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_concurrent_callers_are_each_answered_exactly_once() {
    let counter = Counter::start((0, None)).await.unwrap();
    let mut me = Ctx::<u64>::detached();
    for _ in 0..100 {
        let counter = counter.clone();
        let report = me.pid();
        fauxtp::spawn(move |_: Ctx<()>| async move {
            let total = counter.add(1).await?;
            report.send(total)?;
            Ok(())
        });
    }
    let mut totals: Vec<u64> = Vec::new();
    for _ in 0..100 {
        totals.push(next(&mut me).await);
    }
    totals.sort_unstable();
    assert_eq!(totals, (1..=100).collect::<Vec<_>>());
    assert_eq!(counter.get().await, Ok(100));
}

// ------------------------------------------------------ init and starting

struct Picky;

#[genserver]
impl Picky {
    fn init(mode: &'static str) -> Result<Self, std::io::Error> {
        match mode {
            "ok" => Ok(Picky),
            "panic" => panic!("cannot even"),
            _ => Err(std::io::Error::other(format!("bad mode {mode}"))),
        }
    }

    #[call]
    fn ping(&self) -> &'static str {
        "pong"
    }
}

#[tokio::test]
async fn an_init_error_or_panic_is_returned_and_nothing_keeps_running() {
    let err = Picky::start("weird").await.unwrap_err();
    let fauxtp::StartError::Init {
        server,
        kind,
        reason,
    } = &err
    else {
        panic!("{err}");
    };
    assert_eq!(*kind, "Picky");
    assert_eq!(*reason, ExitReason::error("bad mode weird"));
    assert!(!server.is_alive());
    assert_eq!(
        err.to_string(),
        format!("{server} (Picky) failed to start: bad mode weird")
    );

    let err = Picky::start("panic").await.unwrap_err();
    assert!(
        matches!(&err, fauxtp::StartError::Init { reason: ExitReason::Panic(text), .. } if &**text == "cannot even"),
        "{err}"
    );
    assert_eq!(Picky::start("ok").await.unwrap().ping().await, Ok("pong"));
}

/// A plain `fn init` that kills itself, or else records whose pid its ctx
/// has and which process it runs as (it runs in the starter's task).
struct SelfAware;

#[genserver]
impl SelfAware {
    fn init(kill: bool, report: Pid<Pid<SelfAwareMsg>>, ctx: &mut ServerCtx<Self>) -> Self {
        if kill {
            ctx.exit(ctx.pid(), ExitReason::Kill);
        }
        let _ = report.send(ctx.pid());
        SelfAware
    }

    #[call]
    fn me(&self, ctx: &mut ServerCtx<Self>) -> Pid<SelfAwareMsg> {
        ctx.pid()
    }
}

#[tokio::test]
async fn a_plain_init_runs_as_the_server_and_a_kill_during_it_fails_the_start() {
    let mut me = Ctx::<Pid<SelfAwareMsg>>::detached();
    let server = SelfAware::start((false, me.pid())).await.unwrap();
    assert_receives!(me, pid if pid == server);
    assert_eq!(server.me().await.unwrap(), server);

    let err = SelfAware::start((true, me.pid())).await.unwrap_err();
    let fauxtp::StartError::Init { server, reason, .. } = &err else {
        panic!("{err}");
    };
    assert_eq!(*reason, ExitReason::Killed);
    assert!(!server.is_alive());
}

#[tokio::test]
async fn start_link_failing_in_init_does_not_take_the_caller_down() {
    let report = Ctx::<bool>::detached();
    let to = report.pid();
    let mut report = report;
    fauxtp::spawn(move |ctx: Ctx<()>| async move {
        let failed = Picky::start_link(&ctx, "weird").await.is_err();
        to.send(failed)?;
        Ok(())
    });
    assert!(next(&mut report).await);
}

#[tokio::test]
async fn a_linked_server_takes_its_linked_process_down_when_it_crashes() {
    let mut me = Ctx::<Pid<CounterMsg>>::detached();
    let to = me.pid();
    let (parent, monitor) = me.spawn_monitor(move |mut ctx: Ctx<()>| async move {
        let counter = Counter::start_link(&ctx, (0, None)).await?;
        to.send(counter)?;
        receive!(ctx, { () => Ok(()) })
    });
    let counter = next(&mut me).await;
    let _ = counter.crash().await;
    assert_eq!(
        down(&mut me, monitor).await,
        ExitReason::Panic("counter fell over at 0".into())
    );
    assert!(!parent.is_alive());
}

#[tokio::test]
async fn start_named_registers_and_the_name_is_freed_on_exit() {
    let mut me = Ctx::<Event>::detached();
    let first = Counter::start_named("genserver-counter", (1, None))
        .await
        .unwrap();
    let found: Pid<CounterMsg> = registry::whereis("genserver-counter").unwrap();
    assert_eq!(found.get().await, Ok(1));
    let err = Counter::start_named("genserver-counter", (2, None))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            fauxtp::StartError::Name {
                error: registry::RegistryError::NameTaken { .. },
                ..
            }
        ),
        "{err}"
    );
    first.stop_with(ExitReason::Normal).await.unwrap();
    ended(&mut me, &first).await;
    assert!(registry::whereis_any("genserver-counter").is_none());
    let second = Counter::start_named("genserver-counter", (2, None))
        .await
        .unwrap();
    assert_eq!(second.get().await, Ok(2));
}

// ------------------------------------------------------------- options

#[genserver(name = "genserver-kvstore", call_timeout = "50ms")]
struct KvStore {
    data: HashMap<String, String>,
}

#[genserver]
impl KvStore {
    fn init() -> Self {
        KvStore {
            data: HashMap::new(),
        }
    }

    #[call]
    fn put(&mut self, key: String, value: String) -> Option<String> {
        self.data.insert(key, value)
    }

    #[call]
    fn fetch(&self, key: String) -> Option<String> {
        self.data.get(&key).cloned()
    }

    /// Never answers: the caller's timeout is what ends the call.
    #[call]
    async fn stall(&self) {
        std::future::pending::<()>().await
    }
}

#[tokio::test]
async fn struct_options_name_the_server_and_set_its_call_timeout() {
    let store = KvStore::start(()).await.unwrap();
    assert_eq!(
        registry::whereis::<KvStoreMsg>("genserver-kvstore").unwrap(),
        store
    );
    assert_eq!(store.put("a".into(), "1".into()).await, Ok(None));
    assert_eq!(
        store.put("a".into(), "2".into()).await,
        Ok(Some("1".into()))
    );
    assert_eq!(store.fetch("a".into()).await, Ok(Some("2".into())));
    let err = store.stall().await.unwrap_err();
    assert!(
        matches!(err, CallError::Timeout { after, .. } if after == Duration::from_millis(50)),
        "{err}"
    );
}

// ------------------------------------------- deferred replies and signals

/// Hands every `wait` call to a helper process, which answers it later.
struct Relay {
    waiting: Vec<ReplyTo<String>>,
    events: Pid<Event>,
}

#[genserver(call_timeout = "2s")]
impl Relay {
    fn init(events: Pid<Event>, ctx: &mut ServerCtx<Self>) -> Self {
        ctx.trap_exit(true);
        Relay {
            waiting: Vec::new(),
            events,
        }
    }

    #[call]
    fn wait(&mut self, reply: ReplyTo<String>) {
        self.waiting.push(reply);
    }

    #[call]
    fn release(&mut self, text: String, ctx: &mut ServerCtx<Self>) -> usize {
        let n = self.waiting.len();
        let waiting = std::mem::take(&mut self.waiting);
        // Another process answers the deferred calls.
        ctx.spawn_link(move |_: Ctx<()>| async move {
            for reply in waiting {
                reply.reply(text.clone());
            }
            Ok(())
        });
        n
    }

    #[call]
    fn watch_crash(&mut self, ctx: &mut ServerCtx<Self>) {
        ctx.spawn_monitor(|_: Ctx<()>| async { Err(ExitReason::error("watched crash")) });
        ctx.spawn_link(|_: Ctx<()>| async { Err(ExitReason::error("linked crash")) });
    }

    #[info]
    fn down(&mut self, down: Down) {
        let _ = self.events.send(Event::SawDown(down.reason));
    }

    #[info]
    fn exit(&mut self, exit: Exit) {
        if !exit.reason.is_normal() {
            let _ = self.events.send(Event::SawExit(exit.reason));
        }
    }
}

#[tokio::test]
async fn a_deferred_reply_is_sent_later_by_another_process() {
    let me = Ctx::<Event>::detached();
    let relay = Relay::start(me.pid()).await.unwrap();
    // `join!` polls in order: the three waits are sent before the release.
    let (a, b, c, released) = tokio::join!(
        relay.wait().into_future(),
        relay.wait().into_future(),
        relay.wait().into_future(),
        relay.release("go".into()).into_future(),
    );
    assert_eq!(released, Ok(3));
    for answer in [a, b, c] {
        assert_eq!(answer, Ok("go".to_string()));
    }
}

#[tokio::test]
async fn down_and_trapped_exit_signals_reach_info_handlers() {
    let mut me = Ctx::<Event>::detached();
    let relay = Relay::start(me.pid()).await.unwrap();
    relay.watch_crash().await.unwrap();
    let mut seen = vec![next(&mut me).await, next(&mut me).await];
    seen.sort_by_key(|e| format!("{e:?}"));
    assert_eq!(
        seen,
        [
            Event::SawDown(ExitReason::error("watched crash")),
            Event::SawExit(ExitReason::error("linked crash")),
        ]
    );
    assert!(relay
        .wait()
        .timeout(Duration::from_millis(10))
        .await
        .is_err());
}

// ------------------------------------------------- signals before messages

/// Counts the `work` casts it handles; `hold` keeps it in a handler until
/// the test lets it go, so that messages queue up behind.
struct Busy {
    handled: u64,
    events: Pid<Event>,
}

#[genserver]
impl Busy {
    fn init(
        events: Pid<Event>,
        traps: bool,
        limit: Option<usize>,
        ctx: &mut ServerCtx<Self>,
    ) -> Self {
        ctx.trap_exit(traps);
        ctx.set_mailbox_limit(limit);
        Busy { handled: 0, events }
    }

    #[call]
    async fn hold(&mut self, until: tokio::sync::oneshot::Receiver<()>) {
        let _ = self.events.send(Event::Sleeping);
        let _ = until.await;
    }

    #[cast]
    fn work(&mut self) {
        self.handled += 1;
    }

    #[info]
    fn exit(&mut self, exit: Exit, ctx: &mut ServerCtx<Self>) {
        let _ = self.events.send(Event::SawExit(exit.reason.clone()));
        ctx.stop(exit.reason);
    }

    async fn terminate(&mut self, reason: &ExitReason) {
        let _ = self.events.send(Event::Handled(self.handled));
        let _ = self.events.send(Event::Terminated(reason.clone()));
    }
}

/// Starts a `Busy` server, holds it in a handler, and queues `backlog`
/// casts behind the handler; returns the server and what lets it go.
async fn busy_with_backlog(
    me: &mut Ctx<Event>,
    traps: bool,
    backlog: u64,
) -> (Pid<BusyMsg>, tokio::sync::oneshot::Sender<()>) {
    let busy = Busy::start((me.pid(), traps, None)).await.unwrap();
    let (let_go, until) = tokio::sync::oneshot::channel();
    tokio::spawn(busy.hold(until).into_future());
    assert_eq!(next(me).await, Event::Sleeping);
    for _ in 0..backlog {
        busy.work().unwrap();
    }
    (busy, let_go)
}

#[tokio::test]
async fn an_exit_signal_a_server_does_not_trap_acts_before_its_queued_messages() {
    let mut me = Ctx::<Event>::detached();
    let (busy, let_go) = busy_with_backlog(&mut me, false, 1000).await;
    // As a linked partner's crash would: an abnormal exit signal.
    me.exit(&busy, ExitReason::error("partner crashed"));
    let_go.send(()).unwrap();
    // The handler that was running finishes; nothing queued is handled, and
    // terminate still runs.
    assert_eq!(next(&mut me).await, Event::Handled(0));
    assert_eq!(
        next(&mut me).await,
        Event::Terminated(ExitReason::error("partner crashed"))
    );
}

#[tokio::test]
async fn a_trapped_exit_signal_comes_in_order_with_the_messages() {
    let mut me = Ctx::<Event>::detached();
    let (busy, let_go) = busy_with_backlog(&mut me, true, 1000).await;
    me.exit(&busy, ExitReason::error("partner crashed"));
    let_go.send(()).unwrap();
    assert_eq!(
        next(&mut me).await,
        Event::SawExit(ExitReason::error("partner crashed"))
    );
    assert_eq!(next(&mut me).await, Event::Handled(1000));
}

#[tokio::test]
async fn a_supervisor_shutdown_stops_a_busy_child_before_its_backlog() {
    let mut me = Ctx::<Event>::detached();
    let events = me.pid();
    let spec = fauxtp::supervisor::SupervisorSpec::new(fauxtp::supervisor::Strategy::OneForOne)
        .child(Busy::child((events, false, None)).id("busy"));
    let sup = fauxtp::supervisor::Supervisor::start(spec).await.unwrap();
    let busy: Pid<BusyMsg> = sup.which_children().await.unwrap()[0]
        .pid
        .clone()
        .unwrap()
        .downcast()
        .unwrap();
    // The whole backlog is queued before the shutdown is asked for.
    const BACKLOG: u64 = 10_000;
    for _ in 0..BACKLOG {
        busy.work().unwrap();
    }
    assert_eq!(sup.terminate_child("busy").await, Ok(()));
    // The child may take a turn before the supervisor does (one budget's
    // worth of casts), but it stops when the shutdown comes, not after its
    // backlog; terminate runs.
    let Event::Handled(handled) = next(&mut me).await else {
        panic!("no report from terminate");
    };
    assert!(
        handled < BACKLOG,
        "the child handled its whole backlog first"
    );
    assert_eq!(next(&mut me).await, Event::Terminated(ExitReason::Shutdown));
}

#[tokio::test]
async fn a_server_past_its_mailbox_limit_ends_with_a_reason_its_supervisor_sees() {
    let mut me = Ctx::<Event>::detached();
    let events = me.pid();
    let spec = fauxtp::supervisor::SupervisorSpec::new(fauxtp::supervisor::Strategy::OneForOne)
        .child(Busy::child((events, false, Some(100))).id("busy"));
    let sup = fauxtp::supervisor::Supervisor::start(spec).await.unwrap();
    let child = sup.which_children().await.unwrap()[0].pid.clone().unwrap();
    let busy: Pid<BusyMsg> = child.downcast().unwrap();
    let watch = me.monitor(&busy);
    // Held in a handler while the casts pile up.
    let (_let_go, until) = tokio::sync::oneshot::channel();
    tokio::spawn(busy.hold(until).into_future());
    assert_eq!(next(&mut me).await, Event::Sleeping);
    for _ in 0..100 {
        busy.work().unwrap();
    }
    assert!(busy.work().is_err(), "the 101st message is refused");
    assert_eq!(
        down(&mut me, watch).await,
        ExitReason::error("mailbox overflow: more than 100 messages waiting")
    );
    // The supervisor saw an abnormal end: it starts the child again.
    let restarted = tokio::time::timeout(common::WAIT, async {
        loop {
            match sup.which_children().await.unwrap()[0].pid.clone() {
                Some(pid) if pid != child => break pid,
                _ => tokio::task::yield_now().await,
            }
        }
    })
    .await
    .expect("the supervisor restarts the child");
    assert!(restarted.is_alive());
}

#[tokio::test]
async fn a_call_without_a_timeout_still_fails_at_once_when_the_server_dies() {
    let mut me = Ctx::<Event>::detached();
    let busy = Busy::start((me.pid(), false, None)).await.unwrap();
    let (_let_go, until) = tokio::sync::oneshot::channel();
    // Duration::MAX: Erlang's `infinity`, no timer at all.
    let waiting = tokio::spawn(busy.hold(until).timeout(Duration::MAX).into_future());
    assert_eq!(next(&mut me).await, Event::Sleeping);
    me.exit(&busy, ExitReason::Kill);
    let outcome = tokio::time::timeout(common::WAIT, waiting)
        .await
        .expect("the call ends when the server dies")
        .unwrap();
    assert!(
        matches!(
            outcome,
            Err(CallError::Exited {
                reason: ExitReason::Killed,
                ..
            })
        ),
        "{outcome:?}"
    );
}

// -------------------------------------------------------------- generics

struct Cache<K> {
    entries: HashMap<K, u32>,
}

#[genserver]
impl<K: std::hash::Hash + Eq + Send + 'static> Cache<K> {
    fn init() -> Self {
        Cache {
            entries: HashMap::new(),
        }
    }

    #[cast]
    fn insert(&mut self, key: K, value: u32) {
        self.entries.insert(key, value);
    }

    #[call]
    fn lookup(&self, key: K) -> Option<u32> {
        self.entries.get(&key).copied()
    }
}

#[tokio::test]
async fn a_generic_server_works_for_each_key_type() {
    let by_name = Cache::<String>::start(()).await.unwrap();
    by_name.insert("x".into(), 1).unwrap();
    assert_eq!(by_name.lookup("x".into()).await, Ok(Some(1)));
    let by_id = Cache::<u64>::start(()).await.unwrap();
    by_id.insert(7, 2).unwrap();
    assert_eq!(by_id.lookup(7).await, Ok(Some(2)));
    assert_eq!(by_id.lookup(8).await, Ok(None));
}

// ------------------------------------------- failures and their reasons

/// Keeps deferred replies and panics on demand, or fails casts with `?`.
struct Fragile {
    kept: Vec<ReplyTo<u32>>,
    events: Pid<Event>,
}

#[genserver]
impl Fragile {
    fn init(events: Pid<Event>, refuse: bool, ctx: &mut ServerCtx<Self>) -> Self {
        if refuse {
            // As OTP's `{stop, Reason}` from init: the start fails.
            ctx.stop(ExitReason::error("refused to start"));
        }
        Fragile {
            kept: Vec::new(),
            events,
        }
    }

    #[call]
    fn keep(&mut self, reply: ReplyTo<u32>) {
        self.kept.push(reply);
    }

    /// `keep`, and tells the test.
    #[call]
    fn keep_noting(&mut self, reply: ReplyTo<u32>) {
        self.kept.push(reply);
        let _ = self.events.send(Event::Sleeping);
    }

    #[cast]
    fn explode(&mut self) {
        panic!("exploded with {} calls kept", self.kept.len());
    }

    #[cast]
    fn parse(&mut self, text: String) -> Result<(), std::num::ParseIntError> {
        let n: u32 = text.parse()?;
        for reply in self.kept.drain(..) {
            reply.reply(n);
        }
        Ok(())
    }

    async fn terminate(&mut self, reason: &ExitReason) {
        let _ = self.events.send(Event::Terminated(reason.clone()));
    }
}

#[tokio::test]
async fn a_deferred_caller_learns_the_panic_that_ended_the_server() {
    let me = Ctx::<Event>::detached();
    let server = Fragile::start((me.pid(), false)).await.unwrap();
    let (kept, ()) = tokio::join!(server.keep().into_future(), async {
        server.explode().unwrap();
    });
    assert_eq!(
        kept,
        Err(CallError::Exited {
            server: server.any(),
            call: "Fragile::keep",
            reason: ExitReason::Panic("exploded with 1 calls kept".into())
        })
    );
}

/// The race behind it: the server's state (and the kept `ReplyTo`) is
/// dropped as the server ends, while the caller, on another thread, wakes
/// and asks why. It must always find the reason, never "no reply".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deferred_caller_always_learns_why_the_server_ended_on_many_threads() {
    let mut me = Ctx::<Event>::detached();
    for round in 0..300 {
        let server = Fragile::start((me.pid(), false)).await.unwrap();
        let kept = tokio::spawn(server.keep_noting().into_future());
        // (The `Terminated` of earlier rounds stay in the mailbox.)
        assert_receives!(me, Event::Sleeping, common::WAIT);
        let reason = match round % 3 {
            0 => {
                server.explode().unwrap();
                ExitReason::Panic(String::new().into())
            }
            1 => {
                me.exit(&server, ExitReason::Kill);
                ExitReason::Killed
            }
            _ => {
                server.parse("not a number".into()).unwrap();
                ExitReason::error("invalid digit found in string")
            }
        };
        let outcome = tokio::time::timeout(common::WAIT, kept)
            .await
            .expect("the kept call ends with the server")
            .unwrap();
        match (outcome, &reason) {
            (Err(CallError::Exited { reason: got, .. }), ExitReason::Panic(_)) => {
                assert!(matches!(got, ExitReason::Panic(_)), "round {round}: {got}")
            }
            (Err(CallError::Exited { reason: got, .. }), _) => assert_eq!(got, reason),
            (other, _) => panic!("round {round}: {other:?}, expected Exited({reason})"),
        }
    }
}

/// A `ReplyTo` dropped by a panic that fauxtp does not catch (in a plain
/// tokio task here) leaves nothing behind: its caller learns at once that
/// no reply comes, instead of waiting out its timeout, and no later panic
/// on the thread can answer it with its own reason.
#[tokio::test(start_paused = true)]
async fn a_reply_slot_dropped_by_a_panic_fauxtp_does_not_catch_leaves_nothing_behind() {
    // A plain process that hands each call to a tokio task that panics.
    let handoff = fauxtp::spawn(|mut ctx: Ctx<ReplyTo<u32>>| async move {
        loop {
            if let Envelope::Message(reply) = ctx.recv().await {
                tokio::spawn(async move {
                    let _held = reply;
                    panic!("not fauxtp's to catch");
                });
            }
        }
    });
    let outcome = fauxtp::Call::new(&handoff, "handoff", |reply| reply)
        .timeout(Duration::from_secs(60))
        .await;
    assert!(
        matches!(outcome, Err(CallError::NoReply { .. })),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_cast_returning_an_error_stops_the_server_with_it() {
    let mut me = Ctx::<Event>::detached();
    let server = Fragile::start((me.pid(), false)).await.unwrap();
    let monitor = me.monitor(&server);
    let (kept, ()) = tokio::join!(server.keep().into_future(), async {
        server.parse("7".into()).unwrap();
    });
    assert_eq!(kept, Ok(7));
    server.parse("seven".into()).unwrap();
    let reason = ExitReason::error("invalid digit found in string");
    assert_eq!(next(&mut me).await, Event::Terminated(reason.clone()));
    assert_eq!(down(&mut me, monitor).await, reason);
}

#[tokio::test]
async fn stop_in_init_fails_the_start_without_terminate() {
    let mut me = Ctx::<Event>::detached();
    let err = Fragile::start((me.pid(), true)).await.unwrap_err();
    assert!(
        matches!(&err, fauxtp::StartError::Init { reason, .. } if *reason == ExitReason::error("refused to start")),
        "{err}"
    );
    let terminated = receive!(me, {
        Event::Terminated(reason) => Some(reason),
        after Duration::from_millis(30) => None,
    });
    assert_eq!(
        terminated, None,
        "terminate runs only after a successful init"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_failed_init_the_name_is_free_at_once() {
    for _ in 0..20 {
        let err = Picky::start_named("genserver-picky", "weird")
            .await
            .unwrap_err();
        assert!(matches!(err, fauxtp::StartError::Init { .. }), "{err}");
        // No NameTaken: the failed server let go of the name before replying.
        let ok = Picky::start_named("genserver-picky", "ok").await.unwrap();
        assert_eq!(ok.ping().await, Ok("pong"));
        registry::unregister("genserver-picky").unwrap();
    }
}

#[tokio::test]
async fn a_trapping_server_stops_when_its_parent_exits() {
    let mut me = Ctx::<Event>::detached();
    let mut pids = Ctx::<Pid<RelayMsg>>::detached();
    let (events, to) = (me.pid(), pids.pid());
    let parent = fauxtp::spawn(move |mut ctx: Ctx<()>| async move {
        // Relay traps exits, and reports abnormal ones it handles.
        let relay = Relay::start_link(&ctx, events).await?;
        to.send(relay)?;
        receive!(ctx, { () => Err(ExitReason::Shutdown) })
    });
    let relay = next(&mut pids).await;
    let relay_down = me.monitor(&relay);
    parent.send(()).unwrap();
    // As in OTP, an exit signal from the parent stops a trapping server
    // with the parent's reason; it is not handed to the #[info] handler.
    assert_eq!(down(&mut me, relay_down).await, ExitReason::Shutdown);
    let handled = receive!(me, {
        Event::SawExit(reason) => Some(reason),
        after Duration::ZERO => None,
    });
    assert_eq!(handled, None);
}

// ------------------------------------------------------- call timeouts

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_fire_for_zero_short_and_shared_deadlines_and_never_early() {
    let counter = Counter::start((0, None)).await.unwrap();
    // A zero timeout gives up at once unless the reply is already there.
    let zero = counter
        .sleep_for(Duration::from_millis(300))
        .timeout(Duration::ZERO)
        .await;
    assert!(matches!(zero, Err(CallError::Timeout { .. })), "{zero:?}");

    // Many calls with deadlines in the same window share one sleeper; each
    // times out, none before its deadline (each measured from its own
    // start).
    let slow = Counter::start((0, None)).await.unwrap();
    let started = tokio::time::Instant::now();
    let calls: Vec<_> = (0..50)
        .map(|i| {
            let slow = slow.clone();
            tokio::spawn(async move {
                let timeout = Duration::from_millis(20 + i % 3);
                let began = tokio::time::Instant::now();
                let outcome = slow
                    .sleep_for(Duration::from_secs(2))
                    .timeout(timeout)
                    .await;
                (timeout, outcome, began.elapsed())
            })
        })
        .collect();
    for call in calls {
        let (timeout, outcome, waited) = call.await.unwrap();
        assert!(
            matches!(outcome, Err(CallError::Timeout { .. })),
            "{outcome:?}"
        );
        assert!(
            waited >= timeout,
            "timed out after {waited:?}, before its deadline of {timeout:?}"
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the timeouts did fire"
    );

    // A timeout too far away to represent waits for the reply.
    let patient = Counter::start((7, None)).await.unwrap();
    assert_eq!(patient.get().timeout(Duration::MAX).await, Ok(7));
}

/// A process that takes call requests and never answers them.
fn never_answers() -> Pid<fauxtp::ReplyTo<u32>> {
    fauxtp::spawn(|mut ctx: Ctx<fauxtp::ReplyTo<u32>>| async move {
        let mut held = Vec::new();
        loop {
            held.push(ctx.recv().await);
        }
    })
}

/// Call timeouts share a timer per thread; one left behind by a runtime
/// that was shut down must not keep the calls of the next runtime on the
/// same thread from timing out.
#[test]
fn a_call_times_out_on_a_thread_whose_previous_runtime_was_dropped() {
    let timeout = Duration::from_millis(200);
    for round in 0..2 {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let outcome = runtime.block_on(async {
            let silent = never_answers();
            let call = fauxtp::Call::new(&silent, "never", |reply| reply).timeout(timeout);
            if round == 0 {
                // Wait a little, then drop the call and the runtime, with the
                // call's timer still pending.
                let _ = tokio::time::timeout(Duration::from_millis(1), call.into_future()).await;
                return None;
            }
            Some(tokio::time::timeout(Duration::from_secs(5), call.into_future()).await)
        });
        drop(runtime);
        if let Some(outcome) = outcome {
            let outcome = outcome.expect("the call timed out by itself, well before 5 s");
            assert!(
                matches!(outcome, Err(fauxtp::CallError::Timeout { .. })),
                "{outcome:?}"
            );
        }
    }
}

/// A server that continues after `init` and after a handler, and goes
/// idle.
#[derive(Debug)]
struct Steps {
    log: Vec<String>,
}

#[derive(Debug)]
struct Continue(&'static str);

#[derive(Debug)]
struct Idle;

#[genserver]
impl Steps {
    fn init(ctx: &mut ServerCtx<Self>) -> Self {
        ctx.continue_with(Continue("after init"));
        Steps { log: Vec::new() }
    }

    #[cast]
    fn note(&mut self, text: &'static str, ctx: &mut ServerCtx<Self>) {
        self.log.push(text.to_owned());
        ctx.continue_with(Continue("after note 1"));
        ctx.continue_with(Continue("after note 2"));
    }

    /// Starts an idle timeout of `ms` milliseconds.
    #[cast]
    fn wait_idle(&mut self, ms: u64, ctx: &mut ServerCtx<Self>) {
        self.log.push(format!("idle in {ms}ms"));
        ctx.idle_timeout(Duration::from_millis(ms), Idle);
    }

    #[info]
    fn continued(&mut self, step: Continue) {
        self.log.push(step.0.to_owned());
    }

    #[info]
    fn idle(&mut self, _idle: Idle) {
        self.log.push("idle".to_owned());
    }

    #[call]
    fn log(&self) -> Vec<String> {
        self.log.clone()
    }
}

#[tokio::test]
async fn continue_with_runs_before_the_next_message() {
    let steps = Steps::start(()).await.unwrap();
    steps.note("first").unwrap();
    steps.note("second").unwrap();
    assert_eq!(
        steps.log().await.unwrap(),
        [
            "after init",
            "first",
            "after note 1",
            "after note 2",
            "second",
            "after note 1",
            "after note 2"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn an_idle_timeout_fires_when_nothing_comes_and_any_message_cancels_it() {
    let steps = Steps::start(()).await.unwrap();
    steps.wait_idle(100).unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    let log = steps.log().await.unwrap();
    assert_eq!(log[1..], ["idle in 100ms", "idle"]);
    // A message before the deadline cancels it: the `log` call comes in
    // time, and nothing fires after it.
    steps.wait_idle(100).unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(steps.log().await.unwrap().len(), 4);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        steps.log().await.unwrap()[3..],
        ["idle in 100ms"],
        "cancelled by the call"
    );
}

#[tokio::test(start_paused = true)]
async fn messages_handled_counts_continued_messages_and_idle_timeouts() {
    let steps = Steps::start(()).await.unwrap();
    steps.note("first").unwrap();
    steps.wait_idle(100).unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    // The `log` call makes sure all before it was handled: the continued
    // message after `init`, `note` and its two, `wait_idle` and its
    // timeout.
    assert_eq!(steps.log().await.unwrap().len(), 6);
    let status = fauxtp::sys::get_status(&steps).await.unwrap();
    assert_eq!(status.messages_handled, 7, "six and the `log` call");
}

#[tokio::test(start_paused = true)]
async fn a_sys_request_does_not_cancel_or_restart_an_idle_timeout() {
    let steps = Steps::start(()).await.unwrap();
    steps.wait_idle(100).unwrap();
    tokio::time::sleep(Duration::from_millis(60)).await;
    fauxtp::sys::get_status(&steps).await.unwrap();
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert_eq!(
        steps.log().await.unwrap()[1..],
        ["idle in 100ms", "idle"],
        "fired at 100 ms, not 160"
    );
}

/// A server that answers a call after a delay of its own.
struct Slow {
    delay: Duration,
    pokes: u32,
}

#[genserver]
impl Slow {
    fn init(delay: Duration) -> Self {
        Slow { delay, pokes: 0 }
    }

    #[call]
    async fn answer(&mut self) -> Duration {
        tokio::time::sleep(self.delay).await;
        self.delay
    }

    #[cast]
    fn poke(&mut self) {
        self.pokes += 1;
    }

    #[call]
    fn pokes(&self) -> u32 {
        self.pokes
    }
}

#[tokio::test(start_paused = true)]
async fn multi_call_answers_each_server_on_its_own() {
    let fast = Slow::start(Duration::from_millis(10)).await.unwrap();
    let slow = Slow::start(Duration::from_secs(60)).await.unwrap();
    let gone = Slow::start(Duration::ZERO).await.unwrap();
    genserver::stop(&gone, ExitReason::Normal, Duration::from_secs(1))
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    let answers = genserver::multi_call([fast.clone(), slow.clone(), gone.clone()], |server| {
        server.answer().timeout(Duration::from_secs(1))
    })
    .await;
    // All at once: the whole takes as long as the longest wait (the 1 s
    // timeout, rounded up to the timeouts' granule), not the sum.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(answers.len(), 3);
    assert_eq!(answers[0], (fast.clone(), Ok(Duration::from_millis(10))));
    assert!(
        matches!(answers[1].1, Err(CallError::Timeout { .. })),
        "{answers:?}"
    );
    assert!(
        matches!(answers[2].1, Err(CallError::NoProc { .. })),
        "{answers:?}"
    );
}

#[tokio::test]
async fn abcast_sends_to_every_server_and_says_which_are_gone() {
    let a = Slow::start(Duration::ZERO).await.unwrap();
    let b = Slow::start(Duration::ZERO).await.unwrap();
    let gone = Slow::start(Duration::ZERO).await.unwrap();
    genserver::stop(&gone, ExitReason::Normal, Duration::from_secs(1))
        .await
        .unwrap();
    let sent = genserver::abcast([a.clone(), gone.clone(), b.clone()], |server| server.poke());
    assert!(sent[0].1.is_ok() && sent[2].1.is_ok());
    assert!(sent[1].1.is_err());
    assert_eq!(a.pokes().await, Ok(1));
    assert_eq!(b.pokes().await, Ok(1));
}

// ------------------------------------------------------- a full mailbox

/// Counts its casts where the test can see them.
struct Tally {
    handled: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

#[genserver]
impl Tally {
    fn init(handled: std::sync::Arc<std::sync::atomic::AtomicU64>) -> Self {
        Tally { handled }
    }

    #[cast]
    fn one(&mut self) {
        self.handled
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    #[call]
    fn total(&self) -> u64 {
        self.handled.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// A server takes the casts that are already queued one after the other
/// without waiting between them, but within tokio's budget: on one thread,
/// another task gets its turn long before 10,000 queued casts are done.
#[tokio::test(flavor = "current_thread")]
async fn a_server_with_a_full_mailbox_lets_other_tasks_run() {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    let handled = Arc::new(AtomicU64::new(0));
    let tally = Tally::start(handled.clone()).await.unwrap();
    for _ in 0..10_000 {
        tally.one().unwrap();
    }
    // Runs once the server has had its first turn.
    let seen = tokio::spawn({
        let handled = handled.clone();
        async move { handled.load(Ordering::Relaxed) }
    });
    assert_eq!(tally.total().await.unwrap(), 10_000);
    let seen = seen.await.unwrap();
    assert!(
        seen < 10_000,
        "the other task ran only after all {seen} casts were handled"
    );
}
