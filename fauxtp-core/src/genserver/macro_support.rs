//! What the code `#[genserver]` writes calls: answering a call from a
//! handler's value, starting a server, merging its options. Reached only
//! through `fauxtp::__private`.

use std::future::Future;

use super::{start, GenServer, Options, ReplyTo, StartError};
use crate::process::unwind::{catch, caught, CatchUnwind};
use crate::process::{AnyPid, Pid};

/// [`answer`] for a handler that is not async.
pub fn answer_now<R>(reply: ReplyTo<R>, handler: impl FnOnce() -> R) {
    match catch(handler) {
        Ok(value) => {
            let _ = reply.reply(value);
        }
        Err(payload) => {
            reply.fail(caught(&*payload));
            std::panic::resume_unwind(payload)
        }
    }
}

/// Handles a call whose handler returns its reply: sends the value, or, if
/// the handler panics, tells the caller why before the panic ends the
/// server.
pub async fn answer<R>(reply: ReplyTo<R>, handler: impl Future<Output = R>) {
    match CatchUnwind::new(handler).await {
        Ok(value) => {
            let _ = reply.reply(value);
        }
        Err(payload) => {
            reply.fail(caught(&*payload));
            std::panic::resume_unwind(payload)
        }
    }
}

/// Starts a GenServer; what the generated `start` functions call.
pub async fn start_server<S: GenServer>(
    args: S::Args,
    name: Option<&str>,
    link: Option<AnyPid>,
) -> Result<Pid<S::Msg>, StartError> {
    start::start_with::<S>(args, start::StartMode { name, link }).await
}

/// Server options given on the state struct; the type's own associated
/// const, written by `#[genserver]` on the struct, takes precedence over
/// this blanket default.
pub trait NoStructOptions {
    /// No options.
    const __FAUXTP_STRUCT_OPTIONS: Options = Options::DEFAULT;
}
impl<T: ?Sized> NoStructOptions for T {}

/// The state of a server, for `sys::get_state`: `(&StateRef(state))
/// .__debug_state()` finds [`DebugState`] when the state is `Debug` (no
/// autoref needed), and [`NoDebugState`] otherwise.
pub struct StateRef<'a, T>(pub &'a T);

/// The state is `Debug`: its text.
pub trait DebugState {
    /// The state's `Debug` text.
    fn __debug_state(&self) -> Option<String>;
}

impl<T: std::fmt::Debug> DebugState for StateRef<'_, T> {
    fn __debug_state(&self) -> Option<String> {
        Some(format!("{:?}", self.0))
    }
}

/// The state is not `Debug`: nothing.
pub trait NoDebugState {
    /// `None`.
    fn __debug_state(&self) -> Option<String>;
}

impl<T> NoDebugState for &StateRef<'_, T> {
    fn __debug_state(&self) -> Option<String> {
        None
    }
}

/// Merges the options of the struct and of the impl block; giving one
/// option in both places stops the compilation (a panic in a const, which
/// the compiler reports as an error at the generated constant).
pub const fn merge_options(on_struct: Options, on_impl: Options) -> Options {
    if on_struct.name.is_some() && on_impl.name.is_some() {
        panic!("the genserver option `name` is given both on the struct and on the impl block; keep one");
    }
    if on_struct.call_timeout.is_some() && on_impl.call_timeout.is_some() {
        panic!("the genserver option `call_timeout` is given both on the struct and on the impl block; keep one");
    }
    Options {
        name: match on_impl.name {
            Some(name) => Some(name),
            None => on_struct.name,
        },
        call_timeout: match on_impl.call_timeout {
            Some(timeout) => Some(timeout),
            None => on_struct.call_timeout,
        },
        trace: on_struct.trace || on_impl.trace,
    }
}
