//! State machines with OTP's gen_statem semantics: a [`Statem`] has a
//! state (a value of its `State` type, usually an enum) and data (the
//! implementing type), and handles each event in its current state.
//!
//! What gen_statem gives, and fauxtp with it:
//!
//! - **Events by state.** [`Statem::handle_event`] gets the current state
//!   and the event, and returns a [`Step`]: keep the state, go to another,
//!   stop, or postpone the event.
//! - **State enter calls.** With [`Statem::STATE_ENTER`], [`Statem::enter`]
//!   runs on every state change (and for the initial state), never when the
//!   state stays.
//! - **Postponing.** A postponed event is handled again, in order with the
//!   other postponed ones, after the next state change, and not before.
//! - **Inserted events.** [`StatemCtx::next_event`] queues an event that is
//!   handled before anything in the mailbox.
//! - **Three timeouts.** An event timeout ([`StatemCtx::event_timeout`]),
//!   cancelled by any event; a state timeout
//!   ([`StatemCtx::state_timeout`]), cancelled by a state change; named
//!   generic timeouts ([`StatemCtx::timeout`]), cancelled or restarted by
//!   name. Each delivers a message of your own type as an event.
//!
//! A state machine runs as a GenServer: started, linked, registered,
//! supervised, stopped, inspected with `sys` and reported on exactly as
//! one. Calls carry a [`ReplyTo`](crate::ReplyTo) in their message;
//! replying then returning [`Step::Stop`] is gen_statem's stop with reply.
//!
//! ```
//! use fauxtp::prelude::*;
//! use fauxtp::statem::{self, Event, Statem, StatemCtx, Step};
//!
//! #[derive(Debug, Clone, PartialEq)]
//! enum Light { Off, On }
//!
//! #[derive(Debug)]
//! enum Switch { Flip, Get(ReplyTo<Light>) }
//!
//! #[derive(Debug)]
//! struct Lamp { flips: u32 }
//!
//! impl Statem for Lamp {
//!     type State = Light;
//!     type Args = ();
//!     type Msg = Switch;
//!     const NAME: &'static str = "Lamp";
//!
//!     async fn init(_: (), _: &mut StatemCtx<'_, Self>) -> Result<(Light, Self), ExitReason> {
//!         Ok((Light::Off, Lamp { flips: 0 }))
//!     }
//!
//!     async fn handle_event(
//!         &mut self,
//!         state: &Light,
//!         event: Event<Switch>,
//!         _: &mut StatemCtx<'_, Self>,
//!     ) -> Step<Self> {
//!         match (state, event) {
//!             (Light::Off, Event::Msg(Switch::Flip)) => { self.flips += 1; Step::Next(Light::On) }
//!             (Light::On, Event::Msg(Switch::Flip)) => { self.flips += 1; Step::Next(Light::Off) }
//!             (_, Event::Msg(Switch::Get(reply))) => { reply.reply(state.clone()); Step::Keep }
//!             _ => Step::Keep,
//!         }
//!     }
//! }
//!
//! # #[tokio::main] async fn main() {
//! let lamp = statem::start::<Lamp>(()).await.unwrap();
//! lamp.send(Switch::Flip).unwrap();
//! assert_eq!(statem::call(&lamp, Switch::Get).await, Ok(Light::On));
//! # }
//! ```

mod context;
mod machine;
pub(crate) mod macro_support;

use std::fmt::Debug;
use std::future::Future;

pub use self::context::{EnterCtx, StatemCtx};
pub use self::machine::{Machine, StatemMsg};

use crate::genserver::{self, Call, CallError, Options, ReplyTo, StartError};
use crate::process::{Down, Exit, ExitReason, Pid, ProcessContext};

/// An event, as [`Statem::handle_event`] gets it: a message (sent, called,
/// inserted with [`StatemCtx::next_event`], or a timeout's), or the down
/// message of a monitor, or a trapped exit signal.
#[derive(Debug)]
pub enum Event<M> {
    /// A message of the machine's message type.
    Msg(M),
    /// A monitor's down message.
    Down(Down),
    /// An exit signal, for a machine that traps exits (one from its parent
    /// stops it, as for a GenServer).
    Exit(Exit),
}

/// What a handler decides (gen_statem's `keep_state`, `next_state`,
/// `postpone` and `stop`).
#[derive(Debug)]
pub enum Step<S: Statem> {
    /// Stay in the current state: no enter call, postponed events stay
    /// postponed, the state timeout keeps running.
    Keep,
    /// Go to this state. If it differs from the current one, this is a
    /// state change: the state timeout is cancelled, postponed events are
    /// handled again, and the enter call runs (with
    /// [`Statem::STATE_ENTER`]). Going to the current state is the same as
    /// [`Step::Keep`].
    Next(S::State),
    /// Keep the event, unhandled, until the next state change; it is then
    /// handled again, in order with the other postponed events. A call's
    /// `ReplyTo` waits with it.
    Postpone(Event<S::Msg>),
    /// Stop the machine with this reason; `terminate` runs. Reply to a
    /// call first for gen_statem's stop with reply.
    Stop(ExitReason),
}

/// A state machine: what `#[statem]` implements for a type, or what you
/// implement by hand. The implementing type is the machine's data.
pub trait Statem: Sized + Send + 'static {
    /// The machine's states.
    type State: Clone + PartialEq + Debug + Send + Sync + 'static;
    /// What `start` takes.
    type Args: Send + 'static;
    /// The messages it handles (calls carry a `ReplyTo`).
    type Msg: Send + Debug + 'static;
    /// Its name in errors and reports (`"CodeLock"`).
    const NAME: &'static str;
    /// Whether [`enter`](Statem::enter) runs on state changes.
    const STATE_ENTER: bool = false;
    /// Options, as for a GenServer (a registered name, the call timeout,
    /// a span).
    const OPTIONS: Options = Options::DEFAULT;

    /// The initial state and data (gen_statem's `init/1`). Timeouts and
    /// inserted events set here apply from the start.
    fn init(
        args: Self::Args,
        ctx: &mut StatemCtx<'_, Self>,
    ) -> impl Future<Output = Result<(Self::State, Self), ExitReason>> + Send;

    /// Handles one event in `state`.
    fn handle_event(
        &mut self,
        state: &Self::State,
        event: Event<Self::Msg>,
        ctx: &mut StatemCtx<'_, Self>,
    ) -> impl Future<Output = Step<Self>> + Send;

    /// The state enter call: runs after each state change into `state`
    /// (from `old`), and for the initial state (with `old == state`), when
    /// [`STATE_ENTER`](Statem::STATE_ENTER) is set. It may set timeouts;
    /// it cannot change the state, postpone or insert events.
    fn enter(
        &mut self,
        old: &Self::State,
        state: &Self::State,
        ctx: &mut EnterCtx<'_, Self>,
    ) -> impl Future<Output = ()> + Send {
        let _ = (old, state, ctx);
        async {}
    }

    /// Runs when the machine stops, except when it is killed.
    fn terminate(
        &mut self,
        reason: &ExitReason,
        state: &Self::State,
    ) -> impl Future<Output = ()> + Send {
        let _ = (reason, state);
        async {}
    }

    /// The data's `Debug` text, for `sys::get_state`; `None` for data
    /// that is not `Debug`. `#[statem]` writes it.
    #[doc(hidden)]
    fn __debug_data(&self) -> Option<String> {
        None
    }
}

/// A running state machine's pid.
pub type StatemPid<S> = Pid<StatemMsg<<S as Statem>::Msg>>;

/// Starts a state machine, neither linked nor registered (unless its
/// options name it); returns once `init` has run.
///
/// # Errors
///
/// As a GenServer's start: `init` failed, or the name is taken.
pub async fn start<S: Statem>(args: S::Args) -> Result<StatemPid<S>, StartError> {
    genserver::start_with::<Machine<S>>(
        args,
        genserver::StartMode {
            name: S::OPTIONS.name,
            link: None,
            via: None,
        },
    )
    .await
}

/// Starts a state machine linked to the caller.
///
/// # Errors
///
/// As [`start`].
pub async fn start_link<S: Statem>(
    ctx: &impl ProcessContext,
    args: S::Args,
) -> Result<StatemPid<S>, StartError> {
    genserver::start_with::<Machine<S>>(
        args,
        genserver::StartMode {
            name: S::OPTIONS.name,
            link: Some(ctx.self_pid()),
            via: None,
        },
    )
    .await
}

/// Starts a state machine registered as `name`.
///
/// # Errors
///
/// As [`start`].
pub async fn start_named<S: Statem>(name: &str, args: S::Args) -> Result<StatemPid<S>, StartError> {
    genserver::start_with::<Machine<S>>(
        args,
        genserver::StartMode {
            name: Some(name),
            link: None,
            via: None,
        },
    )
    .await
}

/// Calls a state machine: `request` builds the message from the reply
/// slot (`Msg::Get`, or `|reply| Msg::Push { value, reply }`); waits for
/// the reply for the machine's call timeout.
///
/// # Errors
///
/// As a GenServer call: the machine is gone, ended before replying, or
/// did not reply in time.
pub async fn call<S, R>(
    machine: &Pid<StatemMsg<S>>,
    request: impl FnOnce(ReplyTo<R>) -> S,
) -> Result<R, CallError>
where
    S: Send + 'static,
    R: Send + 'static,
{
    Call::new(machine, "statem::call", |reply| {
        StatemMsg::Event(request(reply))
    })
    .await
}

/// What a `#[statem]` handler returns: where the machine goes, and for a
/// call, the reply. Build one with [`keep`], [`next`] or [`stop`], and
/// give a call's reply with [`Transition::reply`]: a call handler returns
/// `Transition<State, Reply>`, so one that forgets to reply does not
/// compile.
#[derive(Debug, Clone, PartialEq)]
#[must_use = "a transition does nothing unless the handler returns it"]
pub struct Transition<S, R = ()> {
    to: To<S>,
    reply: R,
}

#[derive(Debug, Clone, PartialEq)]
enum To<S> {
    Keep,
    Next(S),
    Stop(ExitReason),
}

/// Stay in the current state (gen_statem's `keep_state`).
pub fn keep<S>() -> Transition<S> {
    Transition {
        to: To::Keep,
        reply: (),
    }
}

/// Go to `state` (gen_statem's `next_state`): a state change if it differs
/// from the current one.
pub fn next<S>(state: S) -> Transition<S> {
    Transition {
        to: To::Next(state),
        reply: (),
    }
}

/// Stop with `reason`; a call's reply is sent first (gen_statem's stop
/// with reply).
pub fn stop<S>(reason: ExitReason) -> Transition<S> {
    Transition {
        to: To::Stop(reason),
        reply: (),
    }
}

impl<S> Transition<S> {
    /// The same transition, with the reply to the call being handled.
    pub fn reply<R>(self, reply: R) -> Transition<S, R> {
        Transition { to: self.to, reply }
    }
}

impl<S, R> Transition<S, R> {
    /// The step for the machine, and the reply.
    pub(crate) fn into_parts<M: Statem<State = S>>(self) -> (Step<M>, R) {
        let step = match self.to {
            To::Keep => Step::Keep,
            To::Next(state) => Step::Next(state),
            To::Stop(reason) => Step::Stop(reason),
        };
        (step, self.reply)
    }
}

impl<M: Send + 'static> Pid<StatemMsg<M>> {
    /// Sends a state machine an event: any value its message type
    /// converts from (an `#[info]` handler's type, say). `send` takes the
    /// message type itself.
    ///
    /// # Errors
    ///
    /// As [`Pid::send`]: the machine has ended (the message comes back).
    pub fn send_event(
        &self,
        event: impl Into<M>,
    ) -> Result<(), crate::process::SendError<StatemMsg<M>>> {
        self.send(StatemMsg::Event(event.into()))
    }
}
