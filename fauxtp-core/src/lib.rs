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
//! - [`process`]: [`spawn`], [`Pid`], [`Ctx`], links, monitors,
//!   [`ExitReason`].
//! - [`mailbox`]: how mailboxes and the save queue of selective receive work.
//! - [`receive!`]: selective receive with patterns, guards and `after`.
//! - [`registry`]: processes by name.
//! - [`timer`]: `send_after`, `send_interval`, `cancel_timer`.
//!
//! The guides in the repository's `docs/` folder explain each part with
//! runnable examples.

#![warn(missing_docs)]

pub mod genserver;
pub mod mailbox;
pub mod process;
pub mod registry;
pub mod supervisor;
pub mod task;
pub mod testing;
pub mod timer;

pub use genserver::{Call, CallError, GenServer, ReplyTo, ServerCtx, StartError};
pub use process::{
    spawn, AnyPid, Ctx, Down, Envelope, Exit, ExitReason, MonitorRef, Peek, Pid, ProcessContext,
    ProcessError, ProcessResult, SendError,
};
pub use task::{Task, TaskDone, TaskError};

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
            unexpected => $crate::testing::__unexpected(unexpected, within),
            Down(unexpected) => $crate::testing::__unexpected(unexpected, within),
            Exit(unexpected) => $crate::testing::__unexpected(unexpected, within),
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
/// The keys: `strategy` (default `one_for_one`), `intensity: MAX per
/// DURATION` (default `3 per 5s`; durations `500ms`, `5s`, `1m`) and
/// `children`, a list of `id: spec` in start order, where each spec is a
/// [`ChildSpec`](supervisor::ChildSpec) expression. The ids must differ.
pub use fauxtp_macros::supervisor;

/// Turns an annotated `impl` block into a GenServer; on a struct, gives the
/// server's options. See the [`genserver`](mod@genserver) module and the
/// guide `docs/genserver.md`.
pub use fauxtp_macros::genserver;

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

/// What the code the macros generate needs and users should not call.
#[doc(hidden)]
pub mod __private {
    use std::time::Duration;

    pub use crate::genserver::{answer, answer_now};

    /// Says which tree failed to start (`App`, rather than `Supervisor`).
    pub fn name_start_error<T>(
        started: Result<T, crate::StartError>,
        tree: &'static str,
    ) -> Result<T, crate::StartError> {
        started.map_err(|error| match error {
            crate::StartError::Init { server, reason, .. } => crate::StartError::Init {
                server,
                kind: tree,
                reason,
            },
            crate::StartError::Name { error, .. } => crate::StartError::Name { kind: tree, error },
        })
    }

    /// Checks that a `supervisor!` child is a child spec (a type error
    /// points at the child's expression otherwise).
    pub fn child_spec(spec: crate::supervisor::ChildSpec) -> crate::supervisor::ChildSpec {
        spec
    }
    pub use crate::mailbox::Selector;
    pub use crate::process::{Signal, Slot};

    /// Monitors `target` on behalf of `watcher`, from outside `watcher`'s
    /// task: the down message goes to `watcher`'s mailbox (at once, with
    /// `NoProc`, if `target` has ended). For fauxtp-dist, whose connection
    /// tasks must set up the monitors other nodes ask for in order with the
    /// rest of a connection's traffic, for a process that holds them.
    pub fn monitor_for(watcher: &crate::AnyPid, target: &crate::AnyPid) -> crate::MonitorRef {
        let monitor = crate::MonitorRef::new();
        if !target.core.add_monitor(monitor, watcher.clone()) {
            watcher.core.sink.down(crate::Down {
                monitor,
                pid: target.clone(),
                reason: crate::ExitReason::NoProc,
            });
        }
        monitor
    }

    /// Sends `to` an exit signal from `from`, as `from`'s `Ctx::exit` would:
    /// for code that carries signals on behalf of a process (fauxtp-dist's
    /// node watcher), in order with the messages it delivers.
    pub fn exit_from(from: &crate::AnyPid, to: &crate::AnyPid, reason: crate::ExitReason) {
        to.core.exit_signal(from, &reason, false);
    }

    /// Removes a monitor made with [`monitor_for`]; false if it had fired
    /// (its down message may be in the watcher's mailbox).
    pub fn demonitor_for(target: &crate::AnyPid, monitor: crate::MonitorRef) -> bool {
        target.core.remove_monitor(monitor)
    }

    /// Starts a GenServer; what the generated `start` functions call.
    pub async fn start_server<S: crate::GenServer>(
        args: S::Args,
        name: Option<&str>,
        link: Option<crate::AnyPid>,
    ) -> Result<crate::Pid<S::Msg>, crate::StartError> {
        crate::genserver::start_with::<S>(args, crate::genserver::StartMode { name, link }).await
    }

    /// Server options given on the state struct; the type's own associated
    /// const, written by `#[genserver]` on the struct, takes precedence over
    /// this blanket default.
    pub trait NoStructOptions {
        /// No options.
        const __FAUXTP_STRUCT_OPTIONS: crate::genserver::Options =
            crate::genserver::Options::DEFAULT;
    }
    impl<T: ?Sized> NoStructOptions for T {}

    /// Merges the options of the struct and of the impl block; giving one
    /// option in both places stops the compilation.
    pub const fn merge_options(
        on_struct: crate::genserver::Options,
        on_impl: crate::genserver::Options,
    ) -> crate::genserver::Options {
        if on_struct.name.is_some() && on_impl.name.is_some() {
            panic!("the genserver option `name` is given both on the struct and on the impl block; keep one");
        }
        if on_struct.call_timeout.is_some() && on_impl.call_timeout.is_some() {
            panic!("the genserver option `call_timeout` is given both on the struct and on the impl block; keep one");
        }
        crate::genserver::Options {
            name: match on_impl.name {
                Some(name) => Some(name),
                None => on_struct.name,
            },
            call_timeout: match on_impl.call_timeout {
                Some(timeout) => Some(timeout),
                None => on_struct.call_timeout,
            },
        }
    }

    /// Whatever `receive!` accepts as its first argument.
    #[diagnostic::on_unimplemented(
        message = "the first argument of `receive!` must be a process context (a `Ctx<M>`, a `&mut Ctx<M>` or a `Probe<M>`), not `{Self}`",
        label = "not a process context"
    )]
    pub trait Receive {
        /// The type of the mailbox's entries.
        type Entry;
        /// Starts a selective receive.
        fn selector(&mut self, after: Option<Duration>) -> Selector<'_, Self::Entry>;
    }

    impl<M: Send + 'static> Receive for crate::Ctx<M> {
        type Entry = crate::process::Slot<M>;
        fn selector(&mut self, after: Option<Duration>) -> Selector<'_, Self::Entry> {
            self.select(after)
        }
    }

    /// Implemented for every type, so that `ctx.__fauxtp_select(..)` resolves
    /// by method call (borrowing a `Ctx` or reborrowing a `&mut Ctx`) and a
    /// wrong argument fails on the `Self: Receive` bound, with the message
    /// of [`Receive`].
    pub trait ReceiveAny {
        /// Starts a selective receive.
        fn __fauxtp_select(
            &mut self,
            after: Option<Duration>,
        ) -> Selector<'_, <Self as Receive>::Entry>
        where
            Self: Receive,
        {
            self.selector(after)
        }
    }

    impl<T: ?Sized> ReceiveAny for T {}
}
