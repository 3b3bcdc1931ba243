//! `fauxtp::statem`: the scenarios of OTP's gen_statem user's guide, on a
//! paused clock where time matters: the code lock with a state enter call
//! and a state timeout, postponing, inserted events, the three timeouts,
//! stop with reply; and a machine as a supervised, inspectable server.

mod common;

use std::time::Duration;

use fauxtp::prelude::*;
use fauxtp::statem::{self, EnterCtx, Event, Statem, StatemCtx, StatemPid, Step};
use fauxtp::supervisor::{Strategy, Supervisor, SupervisorSpec};

/// The code lock of the gen_statem user's guide.
#[derive(Debug, Clone, PartialEq)]
enum Door {
    Locked,
    Open,
}

#[derive(Debug)]
enum LockMsg {
    Button(u8),
    /// The state timeout's event.
    Relock,
    /// What the lock has done, for the tests.
    History(ReplyTo<Vec<String>>),
    State(ReplyTo<Door>),
}

#[derive(Debug)]
struct CodeLock {
    code: Vec<u8>,
    typed: Vec<u8>,
    history: Vec<String>,
}

/// How long the door stays open.
const OPEN_FOR: Duration = Duration::from_secs(10);

impl Statem for CodeLock {
    type State = Door;
    type Args = Vec<u8>;
    type Msg = LockMsg;
    const NAME: &'static str = "CodeLock";
    const STATE_ENTER: bool = true;

    async fn init(code: Vec<u8>, _: &mut StatemCtx<'_, Self>) -> Result<(Door, Self), ExitReason> {
        Ok((
            Door::Locked,
            CodeLock {
                code,
                typed: Vec::new(),
                history: Vec::new(),
            },
        ))
    }

    async fn enter(&mut self, old: &Door, state: &Door, ctx: &mut EnterCtx<'_, Self>) {
        self.history.push(format!("enter {state:?} from {old:?}"));
        match state {
            Door::Locked => self.typed.clear(),
            Door::Open => ctx.state_timeout(OPEN_FOR, LockMsg::Relock),
        }
    }

    async fn handle_event(
        &mut self,
        state: &Door,
        event: Event<LockMsg>,
        _: &mut StatemCtx<'_, Self>,
    ) -> Step<Self> {
        match (state, event) {
            (Door::Locked, Event::Msg(LockMsg::Button(digit))) => {
                self.history.push(format!("button {digit}"));
                self.typed.push(digit);
                if self.typed == self.code {
                    Step::Next(Door::Open)
                } else {
                    if !self.code.starts_with(&self.typed) {
                        self.typed.clear();
                    }
                    Step::Keep
                }
            }
            // While open, buttons wait for the door to lock again.
            (Door::Open, event @ Event::Msg(LockMsg::Button(_))) => Step::Postpone(event),
            (Door::Open, Event::Msg(LockMsg::Relock)) => Step::Next(Door::Locked),
            (_, Event::Msg(LockMsg::History(reply))) => {
                reply.reply(self.history.clone());
                Step::Keep
            }
            (_, Event::Msg(LockMsg::State(reply))) => {
                reply.reply(state.clone());
                Step::Keep
            }
            _ => Step::Keep,
        }
    }
}

async fn history(lock: &StatemPid<CodeLock>) -> Vec<String> {
    statem::call(lock, LockMsg::History).await.unwrap()
}

#[tokio::test(start_paused = true)]
async fn the_code_lock_opens_on_the_code_and_relocks_after_its_state_timeout() {
    let lock = statem::start::<CodeLock>(vec![1, 2, 3]).await.unwrap();
    for digit in [9, 1, 2, 3] {
        lock.send(LockMsg::Button(digit)).unwrap();
    }
    assert_eq!(statem::call(&lock, LockMsg::State).await, Ok(Door::Open));
    // Just before the state timeout: still open.
    tokio::time::sleep(OPEN_FOR - Duration::from_millis(1)).await;
    assert_eq!(statem::call(&lock, LockMsg::State).await, Ok(Door::Open));
    // Just after it (the test wakes after the timer, not with it).
    tokio::time::sleep(Duration::from_millis(2)).await;
    assert_eq!(statem::call(&lock, LockMsg::State).await, Ok(Door::Locked));
    assert_eq!(
        history(&lock).await,
        [
            "enter Locked from Locked", // the initial state's enter call
            "button 9",
            "button 1",
            "button 2",
            "button 3",
            "enter Open from Locked",
            "enter Locked from Open",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn buttons_pressed_while_open_are_postponed_until_the_lock_relocks() {
    let lock = statem::start::<CodeLock>(vec![1, 2, 3]).await.unwrap();
    for digit in [1, 2, 3, 1, 2] {
        lock.send(LockMsg::Button(digit)).unwrap();
    }
    // Not before the state change: the history shows no button after
    // the door opened.
    let seen = history(&lock).await;
    assert_eq!(
        seen.last().map(String::as_str),
        Some("enter Open from Locked")
    );
    tokio::time::sleep(OPEN_FOR).await;
    // After it, in order; and a 3 then opens the door again.
    lock.send(LockMsg::Button(3)).unwrap();
    assert_eq!(statem::call(&lock, LockMsg::State).await, Ok(Door::Open));
    let seen = history(&lock).await;
    assert_eq!(
        seen[seen.len() - 5..],
        [
            "enter Locked from Open",
            "button 1",
            "button 2",
            "button 3",
            "enter Open from Locked"
        ]
    );
}

/// A machine that records the events it handles, for inserted events and
/// timeouts.
#[derive(Debug)]
struct Recorder {
    seen: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
enum Phase {
    Idle,
    Busy,
}

#[derive(Debug)]
#[allow(dead_code)] // the payloads are read through `Debug`
enum RecMsg {
    /// Handled as a batch: inserts `Step(1)` and `Step(2)`.
    Batch,
    Step(u32),
    Note(&'static str),
    /// Sets the event timeout.
    ArmEvent(Duration),
    /// Sets the named timeout.
    ArmNamed(&'static str, Duration),
    CancelNamed(&'static str),
    /// Goes to `Busy` with a state timeout, or back to `Idle`.
    Work(Duration),
    Rest,
    /// Timeouts' events.
    EventFired,
    StateFired,
    NamedFired(&'static str),
    Seen(ReplyTo<Vec<String>>),
    /// Replies, then stops (gen_statem's stop with reply).
    Shutdown(ReplyTo<&'static str>),
}

impl Statem for Recorder {
    type State = Phase;
    type Args = ();
    type Msg = RecMsg;
    const NAME: &'static str = "Recorder";

    async fn init(_: (), _: &mut StatemCtx<'_, Self>) -> Result<(Phase, Self), ExitReason> {
        Ok((Phase::Idle, Recorder { seen: Vec::new() }))
    }

    async fn handle_event(
        &mut self,
        _: &Phase,
        event: Event<RecMsg>,
        ctx: &mut StatemCtx<'_, Self>,
    ) -> Step<Self> {
        let Event::Msg(msg) = event else {
            return Step::Keep;
        };
        match msg {
            RecMsg::Seen(reply) => {
                reply.reply(self.seen.clone());
                return Step::Keep;
            }
            RecMsg::Shutdown(reply) => {
                reply.reply("bye");
                return Step::Stop(ExitReason::Normal);
            }
            ref other => self.seen.push(format!("{other:?}")),
        }
        match msg {
            RecMsg::Batch => {
                ctx.next_event(RecMsg::Step(1));
                ctx.next_event(RecMsg::Step(2));
            }
            RecMsg::ArmEvent(after) => ctx.event_timeout(after, RecMsg::EventFired),
            RecMsg::ArmNamed(name, after) => ctx.timeout(name, after, RecMsg::NamedFired(name)),
            RecMsg::CancelNamed(name) => ctx.cancel_timeout(name),
            RecMsg::Work(after) => {
                ctx.state_timeout(after, RecMsg::StateFired);
                return Step::Next(Phase::Busy);
            }
            RecMsg::Rest => return Step::Next(Phase::Idle),
            _ => {}
        }
        Step::Keep
    }
}

async fn seen(rec: &StatemPid<Recorder>) -> Vec<String> {
    statem::call(rec, RecMsg::Seen).await.unwrap()
}

#[tokio::test]
async fn inserted_events_are_handled_before_the_mailbox_in_order() {
    let rec = statem::start::<Recorder>(()).await.unwrap();
    rec.send(RecMsg::Batch).unwrap();
    rec.send(RecMsg::Note("after")).unwrap();
    assert_eq!(
        seen(&rec).await,
        ["Batch", "Step(1)", "Step(2)", "Note(\"after\")"]
    );
}

#[tokio::test(start_paused = true)]
async fn an_event_timeout_fires_when_nothing_comes_and_any_event_cancels_it() {
    let rec = statem::start::<Recorder>(()).await.unwrap();
    rec.send(RecMsg::ArmEvent(Duration::from_secs(5))).unwrap();
    tokio::time::sleep(Duration::from_secs(6)).await;
    // The `Seen` call is itself an event: armed again, then cancelled.
    assert_eq!(seen(&rec).await, ["ArmEvent(5s)", "EventFired"]);
    rec.send(RecMsg::ArmEvent(Duration::from_secs(5))).unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    rec.send(RecMsg::Note("in time")).unwrap();
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(
        seen(&rec).await[2..],
        ["ArmEvent(5s)", "Note(\"in time\")"],
        "the note cancelled the timeout"
    );
}

#[tokio::test(start_paused = true)]
async fn a_state_timeout_is_cancelled_by_a_state_change_only() {
    let rec = statem::start::<Recorder>(()).await.unwrap();
    rec.send(RecMsg::Work(Duration::from_secs(5))).unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    // Events in the same state do not cancel it.
    rec.send(RecMsg::Note("busy")).unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        seen(&rec).await,
        ["Work(5s)", "Note(\"busy\")", "StateFired"]
    );
    // A state change does.
    rec.send(RecMsg::Work(Duration::from_secs(5))).unwrap();
    rec.send(RecMsg::Rest).unwrap();
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(seen(&rec).await[3..], ["Work(5s)", "Rest"]);
}

#[tokio::test(start_paused = true)]
async fn named_timeouts_run_through_events_and_are_cancelled_or_restarted_by_name() {
    let rec = statem::start::<Recorder>(()).await.unwrap();
    rec.send(RecMsg::ArmNamed("a", Duration::from_secs(5)))
        .unwrap();
    rec.send(RecMsg::ArmNamed("b", Duration::from_secs(5)))
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    rec.send(RecMsg::Note("between")).unwrap();
    rec.send(RecMsg::CancelNamed("b")).unwrap();
    // Restarting `a` pushes it back to 3 + 5 s.
    rec.send(RecMsg::ArmNamed("a", Duration::from_secs(5)))
        .unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(seen(&rec).await.len(), 5, "nothing fired yet");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        seen(&rec).await,
        [
            "ArmNamed(\"a\", 5s)",
            "ArmNamed(\"b\", 5s)",
            "Note(\"between\")",
            "CancelNamed(\"b\")",
            "ArmNamed(\"a\", 5s)",
            "NamedFired(\"a\")",
        ]
    );
}

#[tokio::test]
async fn stop_with_reply_answers_the_caller_then_stops() {
    let mut me = Ctx::<()>::detached();
    let rec = statem::start::<Recorder>(()).await.unwrap();
    let watch = me.monitor(&rec);
    assert_eq!(statem::call(&rec, RecMsg::Shutdown).await, Ok("bye"));
    assert_eq!(common::down(&mut me, watch).await, ExitReason::Normal);
}

#[tokio::test]
async fn a_machine_is_inspected_and_supervised_as_a_server() {
    let lock = statem::start::<CodeLock>(vec![1]).await.unwrap();
    lock.send(LockMsg::Button(1)).unwrap();
    assert_eq!(statem::call(&lock, LockMsg::State).await, Ok(Door::Open));
    let state = fauxtp::sys::get_state(&lock).await.unwrap();
    assert!(state.starts_with("{ state: Open, data: "), "{state}");
    let info = fauxtp::process::info(&lock).unwrap();
    assert_eq!(info.server, Some("CodeLock"));

    // Supervised: a crash is restarted with a fresh state.
    let spec = SupervisorSpec::new(Strategy::OneForOne).child(
        statem::Machine::<CodeLock>::child(vec![1, 2])
            .id("lock")
            .named("statem-lock"),
    );
    let sup = Supervisor::start(spec).await.unwrap();
    let lock: StatemPid<CodeLock> = fauxtp::registry::whereis("statem-lock").unwrap();
    let mut me = Ctx::<()>::detached();
    let watch = me.monitor(&lock);
    me.exit(&lock, ExitReason::error("crash"));
    common::down(&mut me, watch).await;
    fauxtp::testing::wait_for(
        || fauxtp::registry::whereis_any("statem-lock").is_some_and(|pid| pid != lock.any()),
        common::WAIT,
    )
    .await
    .unwrap();
    let restarted: StatemPid<CodeLock> = fauxtp::registry::whereis("statem-lock").unwrap();
    assert_eq!(
        statem::call(&restarted, LockMsg::State).await,
        Ok(Door::Locked)
    );
    fauxtp::genserver::stop(&sup, ExitReason::Shutdown, common::WAIT)
        .await
        .unwrap();
}

// ---------------------------------------------------------------------
// The same code lock, written with `#[statem]`.

mod with_macro {
    use std::time::Duration;

    use fauxtp::prelude::*;
    use fauxtp::statem::{keep, next, stop, EnterCtx, Transition};

    #[derive(Debug, Clone, PartialEq)]
    pub enum Door {
        Locked,
        Open,
    }

    /// The state timeout's event.
    #[derive(Debug)]
    pub struct Relock;

    #[derive(Debug)]
    pub struct CodeLock {
        code: Vec<u8>,
        typed: Vec<u8>,
        opened: u32,
    }

    pub const OPEN_FOR: Duration = Duration::from_secs(10);

    #[fauxtp::statem]
    impl CodeLock {
        fn init(code: Vec<u8>) -> (Door, Self) {
            (
                Door::Locked,
                CodeLock {
                    code,
                    typed: Vec::new(),
                    opened: 0,
                },
            )
        }

        #[enter(Door::Open)]
        fn opened(&mut self, ctx: &mut EnterCtx<'_, Self>) {
            self.opened += 1;
            ctx.state_timeout(OPEN_FOR, Relock);
        }

        #[enter(Door::Locked)]
        fn locked(&mut self) {
            self.typed.clear();
        }

        /// Replies whether this press opened the door.
        #[call(Door::Locked)]
        #[postpone(Door::Open)]
        fn button(&mut self, digit: u8) -> Transition<Door, bool> {
            self.typed.push(digit);
            if self.typed == self.code {
                next(Door::Open).reply(true)
            } else {
                if !self.code.starts_with(&self.typed) {
                    self.typed.clear();
                }
                keep().reply(false)
            }
        }

        #[info(Door::Open)]
        fn relock(&mut self, _relock: Relock) -> Transition<Door> {
            next(Door::Locked)
        }

        #[call(_)]
        fn times_opened(&mut self) -> Transition<Door, u32> {
            keep().reply(self.opened)
        }

        #[cast(Door::Locked)]
        fn retire(&mut self) -> Transition<Door> {
            stop(ExitReason::Shutdown)
        }

        /// Stop with reply: the caller gets its answer, then the lock stops.
        #[call(Door::Open)]
        fn dismantle(&mut self) -> Transition<Door, &'static str> {
            stop(ExitReason::Normal).reply("dismantled")
        }
    }
}

#[tokio::test(start_paused = true)]
async fn the_statem_macro_writes_the_code_lock() {
    use with_macro::{CodeLock, CodeLockClient, OPEN_FOR};

    let lock = CodeLock::start(vec![1, 2, 3]).await.unwrap();
    assert_eq!(lock.button(1).await, Ok(false));
    assert_eq!(lock.button(2).await, Ok(false));
    assert_eq!(lock.button(3).await, Ok(true));
    // Open: a press waits, postponed, until the door relocks; then it is
    // handled (and the caller gets its reply).
    let pending = tokio::spawn({
        let lock = lock.clone();
        // Longer than the door stays open.
        async move { lock.button(1).timeout(OPEN_FOR * 2).await }
    });
    tokio::time::sleep(OPEN_FOR / 2).await;
    assert!(!pending.is_finished());
    tokio::time::sleep(OPEN_FOR).await;
    assert_eq!(pending.await.unwrap(), Ok(false));
    assert_eq!(lock.times_opened().await, Ok(1));
    let state = fauxtp::sys::get_state(&lock).await.unwrap();
    assert!(
        state.starts_with("{ state: Locked, data: CodeLock {"),
        "{state}"
    );

    let mut me = Ctx::<()>::detached();
    let watch = me.monitor(&lock);
    lock.retire().unwrap();
    assert_eq!(common::down(&mut me, watch).await, ExitReason::Shutdown);

    // Stop with reply, from the open state.
    let lock = CodeLock::start(vec![7]).await.unwrap();
    let watch = me.monitor(&lock);
    assert_eq!(lock.button(7).await, Ok(true));
    assert_eq!(lock.dismantle().await, Ok("dismantled"));
    assert_eq!(common::down(&mut me, watch).await, ExitReason::Normal);
}

mod watcher {
    use fauxtp::prelude::*;
    use fauxtp::statem::{keep, next, StatemCtx, Transition};

    #[derive(Debug, Clone, PartialEq)]
    pub enum Phase {
        Idle,
        Watching,
    }

    /// Inserted by `ping`: handled before anything else.
    #[derive(Debug)]
    pub struct Noted;

    /// Watches one process at a time; answers `wait_down` when it ends.
    #[derive(Debug)]
    pub struct Watcher {
        pub(super) notes: Vec<String>,
        waiting: Option<ReplyTo<String>>,
        report: Pid<String>,
    }

    #[fauxtp::statem]
    impl Watcher {
        fn init(report: Pid<String>) -> (Phase, Self) {
            (
                Phase::Idle,
                Watcher {
                    notes: Vec::new(),
                    waiting: None,
                    report,
                },
            )
        }

        #[call(Phase::Idle)]
        fn watch(
            &mut self,
            target: AnyPid,
            ctx: &mut StatemCtx<'_, Self>,
        ) -> Transition<Phase, bool> {
            ctx.monitor(target);
            next(Phase::Watching).reply(true)
        }

        /// A deferred reply: answered when the watched process ends.
        #[call(Phase::Watching)]
        fn wait_down(&mut self, reply: ReplyTo<String>) -> Transition<Phase> {
            self.waiting = Some(reply);
            keep()
        }

        #[info(Phase::Watching)]
        fn down(&mut self, down: Down) -> Transition<Phase> {
            if let Some(reply) = self.waiting.take() {
                reply.reply(down.reason.to_string());
            }
            next(Phase::Idle)
        }

        #[info(_)]
        fn exit(&mut self, exit: Exit) -> Transition<Phase> {
            self.notes.push(format!("exit {}", exit.reason));
            keep()
        }

        #[call(_)]
        fn trap(&mut self, ctx: &mut StatemCtx<'_, Self>) -> Transition<Phase> {
            ctx.trap_exit(true);
            keep()
        }

        #[call(_)]
        async fn ping(&mut self, ctx: &mut StatemCtx<'_, Self>) -> Transition<Phase, usize> {
            tokio::task::yield_now().await;
            ctx.next_event(Noted);
            keep().reply(self.notes.len())
        }

        #[info(_)]
        fn noted(&mut self, _noted: Noted) -> Transition<Phase> {
            self.notes.push("noted".into());
            keep()
        }

        #[call(_)]
        fn notes(&mut self) -> Transition<Phase, Vec<String>> {
            keep().reply(self.notes.clone())
        }

        fn terminate(&mut self, reason: &ExitReason, state: &Phase) {
            let _ = self.report.send(format!("terminate {reason} in {state:?}"));
        }
    }
}

#[tokio::test]
async fn statem_handlers_monitor_trap_exits_defer_replies_insert_events_and_terminate() {
    use watcher::{Watcher, WatcherClient};

    let mut me = Ctx::<String>::detached();
    let machine = Watcher::start(me.pid()).await.unwrap();

    // An async call inserts an event, handled before the next call.
    assert_eq!(machine.ping().await, Ok(0));
    assert_eq!(machine.notes().await, Ok(vec!["noted".to_owned()]));

    // Monitors: a deferred reply answered on the down message.
    let (release, hold) = tokio::sync::oneshot::channel::<()>();
    let target = fauxtp::spawn(move |_: Ctx<()>| async move {
        let _ = hold.await;
        Err(ExitReason::error("done"))
    });
    assert_eq!(machine.watch(target.any()).await, Ok(true));
    // `watch` is a call of the Idle state only: in another it is dropped,
    // and its caller told at once.
    let refused = machine.watch(target.any()).await.unwrap_err();
    assert!(matches!(refused, CallError::NoReply { .. }), "{refused:?}");
    let waiting = tokio::spawn({
        let machine = machine.clone();
        async move { machine.wait_down().await }
    });
    release.send(()).unwrap();
    assert_eq!(
        waiting.await.unwrap(),
        Ok(ExitReason::error("done").to_string())
    );
    let state = fauxtp::sys::get_state(&machine).await.unwrap();
    assert!(state.starts_with("{ state: Idle,"), "{state}");

    // Trapped exits are info events.
    machine.trap().await.unwrap();
    me.exit(&machine, ExitReason::error("nudge"));
    let notes = machine.notes().await.unwrap();
    assert_eq!(notes.last().map(String::as_str), Some("exit nudge"));
    assert!(machine.is_alive());

    // terminate runs with the reason and the state.
    fauxtp::genserver::stop(&machine, ExitReason::Shutdown, common::WAIT)
        .await
        .unwrap();
    assert_eq!(common::next(&mut me).await, "terminate shutdown in Idle");
}
