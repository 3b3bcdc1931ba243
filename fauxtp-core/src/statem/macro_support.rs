//! What the code `#[statem]` writes calls. Reached only through
//! `fauxtp::__private`.

use super::{Event, Statem, Step, Transition};
use crate::genserver::ReplyTo;

/// A call handler's transition: the reply goes to the caller (before a
/// stop), the step to the machine.
pub fn statem_reply<S: Statem, R>(
    transition: Transition<S::State, R>,
    reply: ReplyTo<R>,
) -> Step<S> {
    let (step, value) = transition.into_parts::<S>();
    let _ = reply.reply(value);
    step
}

/// A cast or info handler's transition.
pub fn statem_step<S: Statem>(transition: Transition<S::State>) -> Step<S> {
    transition.into_parts::<S>().0
}

/// An event postponed in this state (`#[postpone(...)]`).
pub fn statem_postpone<S: Statem>(msg: S::Msg) -> Step<S> {
    Step::Postpone(Event::Msg(msg))
}

/// An event no handler takes in this state: dropped (a call's caller gets
/// an error at once), with a debug event.
pub fn statem_unhandled<S: Statem>(state: &S::State, msg: S::Msg) -> Step<S> {
    tracing::debug!(
        target: "fauxtp::statem",
        machine = S::NAME,
        state = ?state,
        event = ?msg,
        "an event no handler takes in this state was dropped",
    );
    Step::Keep
}
