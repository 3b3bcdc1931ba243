//! A state machine runs as a GenServer: [`Machine`] is that GenServer. Its
//! `handle` runs gen_statem's event loop for one message: the event, then
//! the events it inserted and the postponed ones a state change releases,
//! before the next message of the mailbox. Timeouts are timers that send
//! the machine a message, stamped so that a cancelled one is dropped if it
//! was already on its way.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::time::Duration;

use super::context::{Actions, TimeoutAction};
use super::{EnterCtx, Event, Statem, StatemCtx, Step};
use crate::genserver::{GenServer, Options, ServerCtx};
use crate::process::{Down, Exit, ExitReason, Pid};
use crate::timer::{self, TimerRef};

/// The messages of a running state machine: its own, and (hidden) its
/// timeouts. `From<M>` makes `machine.send(msg)` work with the machine's
/// own message type.
#[derive(Debug)]
pub enum StatemMsg<M> {
    /// A message of the machine's type.
    Event(M),
    /// A timeout of the machine's own, or its first step after `init`.
    #[doc(hidden)]
    Internal(Internal<M>),
}

impl<M> From<M> for StatemMsg<M> {
    fn from(msg: M) -> Self {
        StatemMsg::Event(msg)
    }
}

/// What a machine sends itself; only it can make one.
#[derive(Debug)]
pub struct Internal<M>(InternalKind<M>);

#[derive(Debug)]
enum InternalKind<M> {
    /// A timeout fired: handled if its stamp is still the current one.
    Timeout { kind: Kind, stamp: u64, msg: M },
    /// Events inserted by `init` wait to be handled.
    Start,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Kind {
    Event,
    State,
    Generic(String),
}

/// A timer that runs, with its stamp.
struct Armed {
    stamp: u64,
    timer: TimerRef,
}

#[derive(Default)]
struct Timers {
    next_stamp: u64,
    event: Option<Armed>,
    state: Option<Armed>,
    generic: HashMap<String, Armed>,
}

impl Timers {
    fn slot(&mut self, kind: &Kind) -> Option<Armed> {
        match kind {
            Kind::Event => self.event.take(),
            Kind::State => self.state.take(),
            Kind::Generic(name) => self.generic.remove(name),
        }
    }

    fn cancel(&mut self, kind: &Kind) {
        if let Some(armed) = self.slot(kind) {
            timer::cancel_timer(&armed.timer);
        }
    }

    fn arm<M: Send + 'static>(
        &mut self,
        pid: &Pid<StatemMsg<M>>,
        kind: Kind,
        after: Duration,
        msg: M,
    ) {
        self.cancel(&kind);
        self.next_stamp += 1;
        let stamp = self.next_stamp;
        let fired = StatemMsg::Internal(Internal(InternalKind::Timeout {
            kind: kind.clone(),
            stamp,
            msg,
        }));
        let armed = Armed {
            stamp,
            timer: timer::send_after(pid, fired, after),
        };
        match kind {
            Kind::Event => self.event = Some(armed),
            Kind::State => self.state = Some(armed),
            Kind::Generic(name) => {
                self.generic.insert(name, armed);
            }
        }
    }

    /// Whether a fired timeout is the current one of its kind (and takes
    /// it out); a cancelled or restarted one is not.
    fn fired(&mut self, kind: &Kind, stamp: u64) -> bool {
        let current = match kind {
            Kind::Event => self.event.as_ref(),
            Kind::State => self.state.as_ref(),
            Kind::Generic(name) => self.generic.get(name),
        };
        if current.is_some_and(|armed| armed.stamp == stamp) {
            self.slot(kind);
            true
        } else {
            false
        }
    }

    fn cancel_all(&mut self) {
        self.cancel(&Kind::Event);
        self.cancel(&Kind::State);
        for (_, armed) in self.generic.drain() {
            timer::cancel_timer(&armed.timer);
        }
    }
}

/// The GenServer a state machine runs as: its state and data, the events
/// postponed in the current state, the events waiting to be handled
/// before the mailbox, and its timers.
pub struct Machine<S: Statem> {
    data: S,
    state: S::State,
    postponed: VecDeque<Event<S::Msg>>,
    pending: VecDeque<Event<S::Msg>>,
    timers: Timers,
}

impl<S: Statem> fmt::Debug for Machine<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(S::NAME)
            .field("state", &self.state)
            .field("postponed", &self.postponed.len())
            .finish_non_exhaustive()
    }
}

impl<S: Statem> Machine<S> {
    /// Applies a handler's (or enter call's) actions.
    fn apply(&mut self, actions: Actions<S::Msg>, sctx: &ServerCtx<Self>) {
        for msg in actions.inserted.into_iter().rev() {
            self.pending.push_front(Event::Msg(msg));
        }
        if actions.event_timeout.is_none()
            && actions.state_timeout.is_none()
            && actions.generic.is_empty()
        {
            return;
        }
        let pid = &sctx.pid();
        if let Some((after, msg)) = actions.event_timeout {
            self.timers.arm(pid, Kind::Event, after, msg);
        }
        match actions.state_timeout {
            Some(TimeoutAction::Set(after, msg)) => self.timers.arm(pid, Kind::State, after, msg),
            Some(TimeoutAction::Cancel) => self.timers.cancel(&Kind::State),
            None => {}
        }
        for (name, action) in actions.generic {
            match action {
                TimeoutAction::Set(after, msg) => {
                    self.timers.arm(pid, Kind::Generic(name), after, msg)
                }
                TimeoutAction::Cancel => self.timers.cancel(&Kind::Generic(name)),
            }
        }
    }

    /// The enter call into the current state, if the machine has them.
    async fn enter(&mut self, old: &S::State, sctx: &mut ServerCtx<Self>) {
        if !S::STATE_ENTER {
            return;
        }
        let mut actions = Actions::default();
        self.data
            .enter(old, &self.state, &mut EnterCtx::new(sctx, &mut actions))
            .await;
        self.apply(actions, sctx);
    }

    /// Handles `first`, then whatever it inserted or released, until
    /// nothing is left to handle before the mailbox (or the machine stops).
    async fn run(&mut self, first: Option<Event<S::Msg>>, sctx: &mut ServerCtx<Self>) {
        self.pending.extend(first);
        while let Some(event) = self.pending.pop_front() {
            // Any event cancels the event timeout.
            self.timers.cancel(&Kind::Event);
            let mut actions = Actions::default();
            let step = self
                .data
                .handle_event(&self.state, event, &mut StatemCtx::new(sctx, &mut actions))
                .await;
            match step {
                Step::Keep => self.apply(actions, sctx),
                Step::Next(next) if next == self.state => self.apply(actions, sctx),
                Step::Next(next) => {
                    let old = std::mem::replace(&mut self.state, next);
                    self.timers.cancel(&Kind::State);
                    // Postponed events come back first, in order, behind
                    // the events this handler inserts.
                    for event in self.postponed.drain(..).rev() {
                        self.pending.push_front(event);
                    }
                    self.apply(actions, sctx);
                    self.enter(&old, sctx).await;
                }
                Step::Postpone(event) => {
                    self.postponed.push_back(event);
                    self.apply(actions, sctx);
                }
                Step::Stop(reason) => {
                    sctx.stop(reason);
                }
            }
            if sctx.stopping() {
                return;
            }
        }
    }
}

impl<S: Statem> GenServer for Machine<S> {
    type Args = S::Args;
    type Msg = StatemMsg<S::Msg>;
    const SERVER: &'static str = S::NAME;
    const OPTIONS: Options = S::OPTIONS;

    async fn init(args: S::Args, sctx: &mut ServerCtx<Self>) -> Result<Self, ExitReason> {
        let mut actions = Actions::default();
        let (state, data) = S::init(args, &mut StatemCtx::new(sctx, &mut actions)).await?;
        let mut machine = Machine {
            data,
            state,
            postponed: VecDeque::new(),
            pending: VecDeque::new(),
            timers: Timers::default(),
        };
        machine.apply(actions, sctx);
        let pid = sctx.pid();
        let initial = machine.state.clone();
        machine.enter(&initial, sctx).await;
        if !machine.pending.is_empty() {
            // Handled as the first message: nothing can be in the mailbox
            // before the machine's pid is known.
            let _ = pid.send(StatemMsg::Internal(Internal(InternalKind::Start)));
        }
        Ok(machine)
    }

    async fn handle(&mut self, msg: Self::Msg, sctx: &mut ServerCtx<Self>) {
        let event = match msg {
            StatemMsg::Event(msg) => Some(Event::Msg(msg)),
            StatemMsg::Internal(Internal(InternalKind::Timeout { kind, stamp, msg })) => {
                // A timeout cancelled or restarted after it was sent is
                // dropped.
                self.timers.fired(&kind, stamp).then_some(Event::Msg(msg))
            }
            StatemMsg::Internal(Internal(InternalKind::Start)) => None,
        };
        self.run(event, sctx).await;
    }

    async fn handle_down(&mut self, down: Down, sctx: &mut ServerCtx<Self>) {
        self.run(Some(Event::Down(down)), sctx).await;
    }

    async fn handle_exit(&mut self, exit: Exit, sctx: &mut ServerCtx<Self>) {
        self.run(Some(Event::Exit(exit)), sctx).await;
    }

    async fn terminate(&mut self, reason: &ExitReason, _: &mut ServerCtx<Self>) {
        self.timers.cancel_all();
        self.data.terminate(reason, &self.state).await;
    }

    fn __debug_state(&self) -> Option<String> {
        let data = self.data.__debug_data().unwrap_or_else(|| "_".to_owned());
        Some(format!("{{ state: {:?}, data: {data} }}", self.state))
    }
}
