//! What the code `#[genserver]` writes calls: answering a call from a
//! handler's value, starting a server, merging its options. Reached only
//! through `fauxtp::__private`.

use std::future::Future;

use super::{start, sys, GenServer, Options, ReplyTo, ServerCtx, StartError};
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

/// A call's `ReplyTo`, as its handler gets it: watched while `sys::trace`
/// or `sys` statistics are on (the reply is logged or counted when sent),
/// the same one otherwise. `describe` gives a reply's text.
#[inline]
pub fn watch_reply<S: GenServer, R: Send + 'static>(
    ctx: &ServerCtx<S>,
    reply: ReplyTo<R>,
    describe: fn(&R) -> String,
) -> ReplyTo<R> {
    sys::watch_reply(ctx, reply, describe)
}

/// A value's text for `sys::trace`: its `Debug` text, or its type's name.
/// What the `describe` functions `#[genserver]` writes fall back to.
pub fn type_text<R>(_: &R) -> String {
    std::any::type_name::<R>().to_owned()
}

/// Starts a GenServer; what the generated `start` functions call.
pub async fn start_server<S: GenServer>(
    args: S::Args,
    name: Option<&str>,
    link: Option<AnyPid>,
) -> Result<Pid<S::Msg>, StartError> {
    start::start_with::<S>(
        args,
        start::StartMode {
            name,
            link,
            via: None,
        },
    )
    .await
}

/// Starts a GenServer under a key of a keyed registry; what the generated
/// `start_via` calls.
pub async fn start_server_via<S: GenServer>(
    args: S::Args,
    via: crate::registry::Via,
) -> Result<Pid<S::Msg>, StartError> {
    start::start_with::<S>(
        args,
        start::StartMode {
            name: S::OPTIONS.name,
            link: None,
            via: Some(via),
        },
    )
    .await
}

/// Server options given on the state struct; the type's own associated
/// const, written by `#[genserver]` on the struct, takes precedence over
/// this blanket default.
pub trait NoStructOptions {
    /// No options.
    const __FAUXTP_STRUCT_OPTIONS: Options = Options::DEFAULT;
}
impl<T: ?Sized> NoStructOptions for T {}

/// A value that may or may not be `Debug`, for `sys`: `(&DebugRef(value))
/// .__debug_text()` finds [`DebugText`] when the value's type is `Debug`
/// (no autoref needed), and [`NoDebugText`] otherwise. Only where the
/// type is concrete: in a generic impl, a type parameter is never `Debug`
/// here.
pub struct DebugRef<'a, T: ?Sized>(pub &'a T);

/// The value is `Debug`.
pub trait DebugText {
    /// The value's `Debug` text.
    fn __debug_text(&self) -> Option<String>;
    /// The value, to show with its own `Debug`.
    fn __as_debug(&self) -> &dyn std::fmt::Debug;
}

impl<T: std::fmt::Debug + ?Sized> DebugText for DebugRef<'_, T> {
    fn __debug_text(&self) -> Option<String> {
        Some(format!("{:?}", self.0))
    }
    fn __as_debug(&self) -> &dyn std::fmt::Debug {
        &self.0
    }
}

/// The value is not `Debug`.
pub trait NoDebugText {
    /// `None`.
    fn __debug_text(&self) -> Option<String>;
    /// A stand-in that shows as `_`.
    fn __as_debug(&self) -> &dyn std::fmt::Debug;
}

impl<T: ?Sized> NoDebugText for &DebugRef<'_, T> {
    fn __debug_text(&self) -> Option<String> {
        None
    }
    fn __as_debug(&self) -> &dyn std::fmt::Debug {
        &NotDebug
    }
}

/// Shows as `_`: a value whose type is not `Debug`.
struct NotDebug;

impl std::fmt::Debug for NotDebug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("_")
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
