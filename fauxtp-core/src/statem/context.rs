//! [`StatemCtx`]: what a state machine's `init`, handlers and enter calls
//! see: the server's context (pid, links, monitors, trap_exit, stop), and
//! the actions of gen_statem (timeouts, inserted events).

use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::time::Duration;

use super::machine::Machine;
use super::Statem;
use crate::genserver::ServerCtx;

/// A timeout set or cancelled by a handler.
pub(super) enum TimeoutAction<M> {
    Set(Duration, M),
    Cancel,
}

/// What a handler asked for besides its step, applied once it returns.
pub(super) struct Actions<M> {
    /// Events to handle before anything else, in order.
    pub(super) inserted: Vec<M>,
    pub(super) event_timeout: Option<(Duration, M)>,
    pub(super) state_timeout: Option<TimeoutAction<M>>,
    pub(super) generic: Vec<(String, TimeoutAction<M>)>,
}

impl<M> Default for Actions<M> {
    fn default() -> Self {
        Actions {
            inserted: Vec::new(),
            event_timeout: None,
            state_timeout: None,
            generic: Vec::new(),
        }
    }
}

/// Marks the context of `init` and of event handlers, which may insert
/// events.
#[derive(Debug)]
pub enum InEvent {}

/// Marks the context of a state enter call, which may set timeouts but not
/// insert events (as in gen_statem).
#[derive(Debug)]
pub enum InEnter {}

/// The context of a state machine's `init` and event handlers: the
/// server's [`ServerCtx`] (through `Deref`: pid, links, monitors,
/// trap_exit, `stop`), and gen_statem's actions.
pub struct StatemCtx<'a, S: Statem, K = InEvent> {
    server: &'a mut ServerCtx<Machine<S>>,
    actions: &'a mut Actions<S::Msg>,
    _kind: PhantomData<K>,
}

/// The context of a state enter call: a [`StatemCtx`] without
/// [`next_event`](StatemCtx::next_event).
pub type EnterCtx<'a, S> = StatemCtx<'a, S, InEnter>;

impl<'a, S: Statem, K> StatemCtx<'a, S, K> {
    pub(super) fn new(
        server: &'a mut ServerCtx<Machine<S>>,
        actions: &'a mut Actions<S::Msg>,
    ) -> Self {
        StatemCtx {
            server,
            actions,
            _kind: PhantomData,
        }
    }

    /// Sets the event timeout: unless another event comes first, `msg`
    /// arrives as an event `after` from now. Any event cancels it; setting
    /// it again restarts it.
    pub fn event_timeout(&mut self, after: Duration, msg: impl Into<S::Msg>) {
        self.actions.event_timeout = Some((after, msg.into()));
    }

    /// Sets the state timeout: unless the state changes first, `msg`
    /// arrives as an event `after` from now. A state change cancels it;
    /// setting it again restarts it. Set in an enter call or with
    /// [`Step::Next`](super::Step::Next), it times the new state.
    pub fn state_timeout(&mut self, after: Duration, msg: impl Into<S::Msg>) {
        self.actions.state_timeout = Some(TimeoutAction::Set(after, msg.into()));
    }

    /// Cancels the state timeout, if one runs.
    pub fn cancel_state_timeout(&mut self) {
        self.actions.state_timeout = Some(TimeoutAction::Cancel);
    }

    /// Sets the generic timeout `name`: `msg` arrives as an event `after`
    /// from now, whatever happens in between, unless it is cancelled or
    /// set again (which restarts it).
    pub fn timeout(&mut self, name: impl Into<String>, after: Duration, msg: impl Into<S::Msg>) {
        self.actions
            .generic
            .push((name.into(), TimeoutAction::Set(after, msg.into())));
    }

    /// Cancels the generic timeout `name`, if it runs.
    pub fn cancel_timeout(&mut self, name: impl Into<String>) {
        self.actions
            .generic
            .push((name.into(), TimeoutAction::Cancel));
    }
}

impl<S: Statem> StatemCtx<'_, S, InEvent> {
    /// Inserts an event: `msg` is handled next, before anything in the
    /// mailbox (gen_statem's `next_event`). Several are handled in the
    /// order they were inserted.
    pub fn next_event(&mut self, msg: impl Into<S::Msg>) {
        self.actions.inserted.push(msg.into());
    }
}

impl<S: Statem, K> Deref for StatemCtx<'_, S, K> {
    type Target = ServerCtx<Machine<S>>;
    fn deref(&self) -> &Self::Target {
        self.server
    }
}

impl<S: Statem, K> DerefMut for StatemCtx<'_, S, K> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.server
    }
}
