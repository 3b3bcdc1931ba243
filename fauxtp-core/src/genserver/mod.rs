//! GenServers: stateful servers with calls, casts and info messages, as
//! OTP's `gen_server`.
//!
//! You write an `impl` block with `#[genserver]`; the macro writes the
//! message enum, the dispatch, the start functions and a client trait with
//! one typed function per call and cast. This module is the runtime that
//! runs what it writes: the [`GenServer`] trait (implemented by the macro,
//! rarely by hand), the server's context [`ServerCtx`], calls ([`Call`],
//! [`ReplyTo`], [`CallError`]) and start errors ([`StartError`]).
//!
//! ```
//! use fauxtp::prelude::*;
//!
//! pub struct Counter { count: u64 }
//!
//! #[genserver]
//! impl Counter {
//!     async fn init(start: u64) -> Result<Self, ExitReason> {
//!         Ok(Counter { count: start })
//!     }
//!     #[call]
//!     fn get(&self) -> u64 { self.count }
//!     #[call]
//!     async fn add(&mut self, n: u64) -> u64 { self.count += n; self.count }
//!     #[cast]
//!     fn reset(&mut self) { self.count = 0 }
//! }
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let counter = Counter::start(40).await?;
//! assert_eq!(counter.add(2).await?, 42);
//! counter.reset()?;
//! assert_eq!(counter.get().timeout(std::time::Duration::from_millis(100)).await?, 0);
//! # Ok(()) }
//! ```
//!
//! # Semantics
//!
//! - `start` returns once `init` has succeeded; an error or a panic in
//!   `init` is returned as [`StartError::Init`] and the server is gone.
//! - Messages are handled one at a time, in the order they arrive.
//! - Every call has a timeout (5 s unless the server or the call says
//!   otherwise; `Duration::MAX` for none). A call to a server that is not
//!   alive, or that ends before replying, fails at once with the reason;
//!   a call that times out leaves nothing behind (a late reply is dropped).
//!   A call whose `ReplyTo` the server handed to another process or task
//!   waits for that holder instead: the server's end does not fail it.
//! - A handler stops the server with [`ServerCtx::stop`]; a call handler
//!   still replies first. `terminate` runs whenever the server stops,
//!   except when it is killed (or its tokio runtime drops it). A cast,
//!   info or task_end handler may return `Result<(), E>`: an `Err` stops
//!   the server with that reason.
//! - A panic in a handler ends the server with [`ExitReason::Panic`]; the
//!   caller of that call gets [`CallError::Exited`] with the panic.
//! - Exit signals: a GenServer that does not trap exits stops on an
//!   abnormal exit signal before it handles another queued message (the
//!   handler that is running finishes), and runs `terminate`; with
//!   [`ServerCtx::trap_exit`] they arrive in order with its messages, at
//!   its `#[info]` handler for [`Exit`], except one from its `start_link`
//!   parent, which stops it (as in OTP). `Kill` ends it at once, without
//!   `terminate`.

mod call;
mod call_timeout;
mod context;
pub(crate) mod macro_support;
mod multi;
mod reply_slot;
mod server_loop;
mod start;
pub mod sys;
mod tasks;

use std::future::Future;
use std::time::Duration;

pub use self::call::{Call, CallError, CallFuture, ReplyTo, DEFAULT_CALL_TIMEOUT};
pub use self::context::ServerCtx;
pub use self::multi::{abcast, multi_call};
pub use self::server_loop::stop;
pub use self::start::StartError;
pub use self::tasks::{BackgroundTask, TaskDone};

pub(crate) use self::start::{start_with, StartMode};

use crate::process::{Down, Exit, ExitReason};

/// A GenServer: what `#[genserver]` implements for your type.
///
/// Implementing it by hand is possible but rarely useful; the macro writes
/// the message enum and `handle` from your annotated handlers.
pub trait GenServer: Sized + Send + 'static {
    /// What `start` takes: `init`'s arguments (a tuple if several).
    type Args: Send + 'static;
    /// The server's message enum (its `Debug` is what [`sys::trace`]
    /// logs).
    type Msg: Send + std::fmt::Debug + 'static;
    /// The server's name in errors (`Counter`).
    const SERVER: &'static str;
    /// Options from `#[genserver(...)]` on the type and on the impl block.
    const OPTIONS: Options;
    /// Whether `init` may run in the task of whoever starts the server,
    /// before the server's own task is spawned. `#[genserver]` sets it for
    /// a plain (not `async`) `fn init`, which cannot wait for anything:
    /// `start` then returns without a round trip between two tasks. `init`
    /// still runs as the server: its `ctx` is the server's, and links,
    /// monitors and names it makes are the server's. An `init` that awaits
    /// runs in the server's task (the default).
    const INIT_IN_CALLER: bool = false;

    /// Builds the initial state (OTP's `init/1`).
    fn init(
        args: Self::Args,
        ctx: &mut ServerCtx<Self>,
    ) -> impl Future<Output = Result<Self, ExitReason>> + Send;

    /// Handles one message of the server's enum.
    fn handle(
        &mut self,
        msg: Self::Msg,
        ctx: &mut ServerCtx<Self>,
    ) -> impl Future<Output = ()> + Send;

    /// Handles the down message of a monitor; ignored unless the server has
    /// an `#[info]` handler for [`Down`].
    fn handle_down(
        &mut self,
        down: Down,
        ctx: &mut ServerCtx<Self>,
    ) -> impl Future<Output = ()> + Send {
        let _ = (down, ctx);
        async {}
    }

    /// Handles a trapped exit signal (only called when the server traps
    /// exits); ignored unless the server has an `#[info]` handler for
    /// [`Exit`].
    fn handle_exit(
        &mut self,
        exit: Exit,
        ctx: &mut ServerCtx<Self>,
    ) -> impl Future<Output = ()> + Send {
        let _ = (exit, ctx);
        async {}
    }

    /// Runs when the server stops, except when it is killed.
    fn terminate(
        &mut self,
        reason: &ExitReason,
        ctx: &mut ServerCtx<Self>,
    ) -> impl Future<Output = ()> + Send {
        let _ = (reason, ctx);
        async {}
    }

    /// The state's `Debug` text, for [`sys::get_state`]; `None` for a
    /// state that is not `Debug`. `#[genserver]` writes it.
    #[doc(hidden)]
    fn __debug_state(&self) -> Option<String> {
        None
    }
}

/// Server options, given as `#[genserver(name = "...", call_timeout = 5s, trace)]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// The name `start` registers the server under, if any.
    pub name: Option<&'static str>,
    /// The default timeout of calls to this server, if not 5 s.
    pub call_timeout: Option<Duration>,
    /// `trace`: `init`, every handler and `terminate` run in a `tracing`
    /// span (`genserver`, with the server's type, pid and name), so the
    /// events they write say which server wrote them.
    pub trace: bool,
}

impl Options {
    /// No options: no name, calls time out after 5 s, no span.
    pub const DEFAULT: Options = Options {
        name: None,
        call_timeout: None,
        trace: false,
    };

    /// The timeout of calls to this server.
    pub const fn call_timeout(&self) -> Duration {
        match self.call_timeout {
            Some(timeout) => timeout,
            None => DEFAULT_CALL_TIMEOUT,
        }
    }
}
