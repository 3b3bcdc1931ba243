//! # fauxtp: Erlang/OTP for Rust
//!
//! Processes with mailboxes and selective receive, links, monitors, exit
//! reasons, a name registry and timers, on tokio. There is no runtime object
//! to create: fauxtp works inside any tokio runtime, current-thread or
//! multi-thread.
//!
//! ```
//! use fauxtp::prelude::*;
//! use std::time::Duration;
//!
//! #[derive(Debug)]
//! enum Msg { Work(u32), Stop }
//!
//! # #[tokio::main] async fn main() {
//! let mut me = Ctx::<u32>::detached();
//! let parent = me.pid();
//! let worker = me.spawn_link(move |mut ctx: Ctx<Msg>| async move {
//!     loop {
//!         receive!(ctx, {
//!             Msg::Work(n) if n > 100 => return Err(ExitReason::error("too big")),
//!             Msg::Work(n) => parent.send(n * 2)?,
//!             Msg::Stop => return Ok(()),
//!         });
//!     }
//! });
//! worker.send(Msg::Work(21)).unwrap();
//! let doubled = receive!(me, {
//!     n => n,
//!     after Duration::from_secs(1) => panic!("no answer"),
//! });
//! assert_eq!(doubled, 42);
//! worker.send(Msg::Stop).unwrap();
//! # }
//! ```
//!
//! ## Where things are
//!
//! Bottom up: each module uses only the ones above it.
//!
//! - [`mailbox`]: how mailboxes and the save queue of selective receive work.
//! - [`process`]: [`spawn`], [`Pid`], [`Ctx`], links, monitors,
//!   [`ExitReason`], and the table of names.
//! - [`receive!`]: selective receive with patterns, guards and `after`.
//! - [`registry`]: processes by name.
//! - [`timer`]: `send_after`, `send_interval`, `cancel_timer`.
//! - [`task`]: [`Task`], background work whose result you join.
//! - [`genserver`]: [`GenServer`], [`ServerCtx`], calls ([`Call`],
//!   [`ReplyTo`]), `#[genserver]`.
//! - [`supervisor`]: supervision trees, [`supervisor!`], dynamic
//!   supervisors.
//! - [`testing`]: [`testing::Probe`], [`assert_receives!`],
//!   [`assert_no_message!`].
//!
//! `ARCHITECTURE.md` in the repository maps each OTP concept to its file.
//!
//! The guides in the repository's `docs/` folder explain each part with
//! runnable examples.

#![warn(missing_docs)]

pub mod application;
pub mod genserver;
pub mod mailbox;
pub mod pg;
pub mod process;
pub mod registry;
pub mod statem;
pub mod supervisor;
pub mod task;
pub mod testing;
pub mod timer;

pub use genserver::sys;
pub use genserver::TaskDone;
pub use genserver::{Call, CallError, GenServer, ReplyTo, ServerCtx, StartError};
pub use process::{
    spawn, AnyPid, Ctx, Down, Envelope, Exit, ExitReason, MonitorRef, Peek, Pid, ProcessContext,
    ProcessError, ProcessResult, SendError,
};
pub use task::{Task, TaskError};

/// Selective receive: take the first message of the mailbox that matches one
/// of the arms, waiting for it if needed.
///
/// ```
/// # use fauxtp::prelude::*;
/// # use std::time::Duration;
/// # enum Msg { Data(u32), Other }
/// # #[tokio::main] async fn main() {
/// # let mut ctx = Ctx::<Msg>::detached();
/// # ctx.pid().send(Msg::Data(11)).unwrap();
/// let worker = ctx.spawn_monitor(|_: Ctx<()>| async { Ok(()) }).0;
/// let size = receive!(ctx, {
///     Msg::Data(n) if n > 10 => n,                    // pattern and guard
///     Msg::Data(n) => n * 2,
///     Down(d) if d.pid == worker => 0,                // a monitor fired
///     Exit(e) => { eprintln!("{e:?}"); 0 }            // a trapped exit signal
///     after Duration::from_secs(1) => 0,              // nothing matched in time
/// });
/// assert_eq!(size, 11);
/// # }
/// ```
///
/// - The first argument is the process context, a `Ctx<M>` or a
///   `&mut Ctx<M>`.
/// - Arms are tried in order on each message, oldest message first; the
///   first message that matches an arm is taken and that arm runs. Messages
///   that match no arm stay in the mailbox, in order, for a later receive.
/// - Patterns match the message type `M`, except a bare `Down(..)` or
///   `Exit(..)` pattern, which matches a [`Down`] or [`Exit`] signal. A
///   catch-all `_` or `other` arm matches messages of type `M` only.
/// - `after d => ...` (optional, last) runs if no message matched within the
///   duration `d`; `after Duration::ZERO` only looks at what is already
///   there. Without `after`, receive waits for ever.
/// - The arms run in the caller's code: `break`, `continue`, `return`, `?`
///   and `.await` work in them as in a `match`, and the whole `receive!` is
///   an expression whose value is the value of the arm that ran.
/// - A matched message is moved into the arm's bindings; `ref` bindings are
///   not allowed. Names that start with an upper-case letter are taken to be
///   unit variants or constants, as in `match`.
pub use fauxtp_macros::receive;

/// Asserts that a message matching the pattern arrives within a bound
/// (default [`testing::DEFAULT_WAIT`], one second), and binds the
/// pattern's names in the caller's scope, as Elixir's `assert_receive`.
///
/// It is a statement: `assert_receives!(ctx, pattern [if guard] [, within]);`.
/// Messages that do not match stay in the mailbox. On timeout it panics,
/// naming the pattern and listing what the mailbox holds (so the message
/// type must be `Debug`). The context is a [`Ctx`], a `&mut Ctx` or a
/// [`testing::Probe`].
///
/// ```
/// use fauxtp::prelude::*;
/// use std::time::Duration;
///
/// #[derive(Debug)]
/// enum Msg { Data(u32, &'static str) }
///
/// # #[tokio::main] async fn main() {
/// let mut me = Ctx::<Msg>::detached();
/// me.pid().send(Msg::Data(7, "seven")).unwrap();
/// assert_receives!(me, Msg::Data(n, name) if n > 5, Duration::from_millis(100));
/// assert_eq!((n, name), (7, "seven"));
/// # }
/// ```
pub use fauxtp_macros::assert_receives;

/// Asserts that no message, down or exit arrives within a bound (default a
/// tenth of [`testing::DEFAULT_WAIT`]); panics with the one that came.
///
/// ```
/// use fauxtp::prelude::*;
/// use std::time::Duration;
///
/// # #[tokio::main] async fn main() {
/// let mut me = Ctx::<u32>::detached();
/// assert_no_message!(me, Duration::from_millis(10));
/// # }
/// ```
#[macro_export]
macro_rules! assert_no_message {
    ($ctx:expr, $within:expr $(,)?) => {{
        let within: ::core::time::Duration = $within;
        $crate::receive!($ctx, {
            unexpected => $crate::__private::unexpected(unexpected, within),
            Down(unexpected) => $crate::__private::unexpected(unexpected, within),
            Exit(unexpected) => $crate::__private::unexpected(unexpected, within),
            after within => (),
        })
    }};
    ($ctx:expr $(,)?) => {
        $crate::assert_no_message!($ctx, $crate::testing::DEFAULT_WAIT / 10)
    };
}

/// Declares a supervision tree: a type with `start`, `start_link`,
/// `start_named` and `child`, so that trees nest.
///
/// ```
/// use fauxtp::prelude::*;
/// use std::time::Duration;
///
/// struct Store;
///
/// #[genserver(name = "supervisor-macro-store")]
/// impl Store {
///     fn init() -> Self { Store }
///     #[call] fn ping(&self) -> &'static str { "pong" }
/// }
///
/// supervisor! {
///     /// The application's tree.
///     pub App {
///         strategy: one_for_one,          // or one_for_all, rest_for_one
///         intensity: 3 per 5s,            // at most 3 restarts within 5 s
///         children: [
///             store: Store::child(()),    // permanent, 5 s shutdown
///             spare: Store::child(()).temporary().named("supervisor-macro-spare"),
///         ],
///     }
/// }
///
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let app = App::start(()).await?;
/// assert_eq!(app.which_children().await?.len(), 2);
/// let store: Pid<StoreMsg> = fauxtp::registry::whereis("supervisor-macro-store")?;
/// assert_eq!(store.ping().await?, "pong");
/// genserver::stop(&app, ExitReason::Shutdown, Duration::from_secs(1)).await?;
/// # Ok(()) }
/// ```
///
/// A tree may take arguments, in scope in its children's expressions:
/// `supervisor! { App(port: u16) { children: [..] } }`, started with
/// `App::start(8080)` (a tuple for several).
///
/// The keys: `strategy` (default `one_for_one`), `intensity: MAX per
/// DURATION` (default `3 per 5s`; durations `500ms`, `5s`, `1m`) and
/// `children`, a list of `id: spec` in start order, where each spec is a
/// [`ChildSpec`](supervisor::ChildSpec) expression. The ids must differ.
pub use fauxtp_macros::supervisor;

/// Turns an annotated `impl` block into a GenServer; on a struct, gives the
/// server's options. See the [`genserver`](mod@genserver) module and the
/// guide `docs/genserver.md`.
pub use fauxtp_macros::genserver;

/// Turns an annotated `impl` block into a state machine with OTP's
/// gen_statem semantics. See the [`statem`](mod@statem) module.
pub use fauxtp_macros::statem;

/// The names most programs need: `use fauxtp::prelude::*;`.
pub mod prelude {
    pub use crate::genserver::{CallError, GenServer, ReplyTo, ServerCtx, StartError};
    pub use crate::process::{
        AnyPid, Ctx, Down, Envelope, Exit, ExitReason, MonitorRef, Pid, ProcessContext,
        ProcessResult,
    };
    pub use crate::supervisor::{Supervise, SupervisorClient};
    pub use crate::task::{Task, TaskError};
    pub use crate::{assert_no_message, assert_receives, genserver, receive, supervisor};
}

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
