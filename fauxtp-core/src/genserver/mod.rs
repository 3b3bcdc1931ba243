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
//!   otherwise). A call to a server that is not alive, or that ends before
//!   replying, fails at once with the reason; a call that times out leaves
//!   nothing behind (a late reply is dropped).
//! - A handler stops the server with [`ServerCtx::stop`]; a call handler
//!   still replies first. `terminate` runs whenever the server stops,
//!   except when it is killed (or its tokio runtime drops it). A cast,
//!   info or task_end handler may return `Result<(), E>`: an `Err` stops
//!   the server with that reason.
//! - A panic in a handler ends the server with [`ExitReason::Panic`]; the
//!   caller of that call gets [`CallError::Exited`] with the panic.
//! - Exit signals: a GenServer that does not trap exits stops (running
//!   `terminate`) on an abnormal exit signal, as a plain process would die;
//!   with [`ServerCtx::trap_exit`] they reach its `#[info]` handler for
//!   [`Exit`], except one from its `start_link` parent, which stops it (as
//!   in OTP). `Kill` ends it at once, without `terminate`.

mod call;
mod deadline;

use std::future::Future;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinSet;

pub use self::call::{Call, CallError, CallFuture, ReplyTo, DEFAULT_CALL_TIMEOUT};

use crate::process::unwind::{caught, panic_message, CatchUnwind};
use crate::process::{
    runner, AnyPid, Ctx, Down, Envelope, Exit, ExitReason, MonitorRef, Pid, ProcessContext,
    ProcessError, ProcessResult,
};
use crate::registry::{self, RegistryError};
use crate::task::{TaskDone, TaskError};

/// A GenServer: what `#[genserver]` implements for your type.
///
/// Implementing it by hand is possible but rarely useful; the macro writes
/// the message enum and `handle` from your annotated handlers.
pub trait GenServer: Sized + Send + 'static {
    /// What `start` takes: `init`'s arguments (a tuple if several).
    type Args: Send + 'static;
    /// The server's message enum.
    type Msg: Send + 'static;
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
}

/// Server options, given as `#[genserver(name = "...", call_timeout = "...")]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// The name `start` registers the server under, if any.
    pub name: Option<&'static str>,
    /// The default timeout of calls to this server, if not 5 s.
    pub call_timeout: Option<Duration>,
}

impl Options {
    /// No options: no name, calls time out after 5 s.
    pub const DEFAULT: Options = Options {
        name: None,
        call_timeout: None,
    };

    /// The timeout of calls to this server.
    pub const fn call_timeout(&self) -> Duration {
        match self.call_timeout {
            Some(timeout) => timeout,
            None => DEFAULT_CALL_TIMEOUT,
        }
    }
}

/// Why a server did not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// `init` returned an error or panicked; the server has ended with
    /// this reason.
    #[error("{server} ({kind}) failed to start: {reason}")]
    Init {
        /// The process that ran `init`.
        server: AnyPid,
        /// The server type.
        kind: &'static str,
        /// Why `init` failed.
        reason: ExitReason,
    },
    /// The name could not be registered (taken, say); nothing was started.
    #[error("{kind} could not be started under its name: {error}")]
    Name {
        /// The server type.
        kind: &'static str,
        /// What the registry said.
        error: RegistryError,
    },
}

/// The context of a running GenServer, given to `init` and to any handler
/// that takes a `ctx: &mut ServerCtx<Self>` argument: its own pid, links,
/// monitors, exit signals, background tasks, and stopping.
pub struct ServerCtx<S: GenServer> {
    ctx: Ctx<S::Msg>,
    stop: Option<ExitReason>,
    trap_exit: bool,
    /// Made at the first `spawn_task`: most servers never need one.
    tasks: Option<JoinSet<()>>,
    /// The process that started the server with `start_link`.
    parent: Option<AnyPid>,
}

impl<S: GenServer> ServerCtx<S> {
    /// The server's process context, for the runtime's own servers.
    pub(crate) fn process(&mut self) -> &mut Ctx<S::Msg> {
        &mut self.ctx
    }

    /// The server's own pid.
    pub fn pid(&self) -> Pid<S::Msg> {
        self.ctx.pid()
    }

    /// Stops the server with `reason` once the current handler returns (a
    /// call handler's reply is sent first): OTP's `{stop, Reason, ...}`.
    /// `terminate` runs, then the server ends with `reason`.
    pub fn stop(&mut self, reason: ExitReason) {
        self.stop = Some(reason);
    }

    /// Turns exit signals into calls of the server's `#[info]` handler for
    /// [`Exit`] (`true`), or lets an abnormal one stop the server (`false`,
    /// the default). Returns the previous value. `Kill` ends the server
    /// either way.
    pub fn trap_exit(&mut self, on: bool) -> bool {
        std::mem::replace(&mut self.trap_exit, on)
    }

    /// Links the server with `other`; see [`Ctx::link`].
    pub fn link(&mut self, other: impl Into<AnyPid>) -> Result<(), ProcessError> {
        self.ctx.link(other)
    }

    /// Removes a link; see [`Ctx::unlink`].
    pub fn unlink(&mut self, other: impl Into<AnyPid>) {
        self.ctx.unlink(other)
    }

    /// Monitors `other`; the down message reaches the `#[info]` handler for
    /// [`Down`]. See [`Ctx::monitor`].
    pub fn monitor(&mut self, other: impl Into<AnyPid>) -> MonitorRef {
        self.ctx.monitor(other)
    }

    /// Removes a monitor; see [`Ctx::demonitor`].
    pub fn demonitor(&mut self, monitor: MonitorRef) -> bool {
        self.ctx.demonitor(monitor)
    }

    /// Sends an exit signal; see [`Ctx::exit`].
    pub fn exit(&self, target: impl Into<AnyPid>, reason: ExitReason) {
        self.ctx.exit(target, reason)
    }

    /// Spawns a process linked to the server; see [`Ctx::spawn_link`].
    pub fn spawn_link<N, F, Fut>(&mut self, body: F) -> Pid<N>
    where
        N: Send + 'static,
        F: FnOnce(Ctx<N>) -> Fut + Send + 'static,
        Fut: Future<Output = ProcessResult> + Send + 'static,
    {
        self.ctx.spawn_link(body)
    }

    /// Spawns a process monitored by the server; see [`Ctx::spawn_monitor`].
    pub fn spawn_monitor<N, F, Fut>(&mut self, body: F) -> (Pid<N>, MonitorRef)
    where
        N: Send + 'static,
        F: FnOnce(Ctx<N>) -> Fut + Send + 'static,
        Fut: Future<Output = ProcessResult> + Send + 'static,
    {
        self.ctx.spawn_monitor(body)
    }

    /// Runs `work` in the background, off the server's loop, and delivers
    /// its result to the server's `#[task_end]` handler for
    /// `Result<T, TaskError>` (Python fauxtp's `spawn_task` /
    /// `handle_task_end`). A panic in `work` arrives as
    /// [`TaskError::Panicked`]. Tasks still running when the server stops
    /// are cancelled, and their results never arrive.
    pub fn spawn_task<T, F>(&mut self, work: F)
    where
        T: Send + 'static,
        F: Future<Output = T> + Send + 'static,
        S::Msg: From<TaskDone<T>>,
    {
        let tasks = self.tasks.get_or_insert_with(JoinSet::new);
        // Forget the tasks that have finished, so the set does not grow.
        while tasks.try_join_next().is_some() {}
        let server = self.ctx.pid();
        tasks.spawn(async move {
            let result = CatchUnwind::new(work).await.map_err(|payload| {
                caught(&*payload);
                TaskError::Panicked(panic_message(&*payload))
            });
            let _ = server.send(TaskDone(result));
        });
    }
}

impl<S: GenServer> ProcessContext for ServerCtx<S> {
    fn self_pid(&self) -> AnyPid {
        self.ctx.pid().any()
    }
}

/// What a GenServer does with an exit signal.
enum OnExit {
    /// Stop with the signal's reason (`terminate` runs).
    Stop,
    /// Hand it to the `#[info]` handler for [`Exit`].
    Handle,
    Ignore,
}

/// How `start` starts a server: registered or not, linked or not.
pub(crate) struct StartMode<'a> {
    pub(crate) name: Option<&'a str>,
    pub(crate) link: Option<AnyPid>,
}

pub(crate) async fn start_with<S: GenServer>(
    args: S::Args,
    mode: StartMode<'_>,
) -> Result<Pid<S::Msg>, StartError> {
    let ctx = Ctx::<S::Msg>::new(false);
    let pid = ctx.pid();
    if let Some(parent) = &mode.link {
        crate::process::link_unstarted(parent, &pid.any());
    }
    if S::INIT_IN_CALLER {
        return start_in_caller::<S>(ctx, args, mode).await;
    }
    let (started_tx, started) = oneshot::channel();
    let name = mode.name.map(str::to_owned);
    let parent = mode.link;
    runner::start(ctx, move |ctx| {
        serve::<S>(ctx, args, name, parent, started_tx)
    });
    match started.await {
        Ok(Ok(())) => Ok(pid),
        Ok(Err(error)) => Err(error),
        // The server ended before `init` reported: killed by a signal.
        Err(_) => Err(StartError::Init {
            server: pid.any(),
            kind: S::SERVER,
            reason: pid.core.exit_reason().unwrap_or(ExitReason::Killed),
        }),
    }
}

/// Starts a server whose `init` runs in the caller's task: registers it,
/// runs `init`, and only then spawns the server's task with its state.
async fn start_in_caller<S: GenServer>(
    ctx: Ctx<S::Msg>,
    args: S::Args,
    mode: StartMode<'_>,
) -> Result<Pid<S::Msg>, StartError> {
    let pid = ctx.pid();
    let mut sctx = ServerCtx::<S>::new(ctx, mode.link);
    if let Err(error) = sctx.register(mode.name) {
        sctx.end_unstarted(ExitReason::Normal);
        return Err(error);
    }
    let init = sctx.init(args).await.and_then(|state| {
        // Killed while `init` ran: the kill wins, as it would have in the
        // server's own task.
        match pid.core.take_kill() {
            Some(reason) => Err(reason),
            None => Ok(state),
        }
    });
    match init {
        Ok(state) => {
            runner::spawn_started(pid.any(), serve_loop(state, sctx));
            Ok(pid)
        }
        Err(reason) => {
            sctx.abandon_start(mode.name);
            sctx.end_unstarted(reason.clone());
            Err(StartError::Init {
                server: pid.any(),
                kind: S::SERVER,
                reason,
            })
        }
    }
}

/// The body of a GenServer process whose `init` runs in its own task.
async fn serve<S: GenServer>(
    ctx: Ctx<S::Msg>,
    args: S::Args,
    name: Option<String>,
    parent: Option<AnyPid>,
    started: oneshot::Sender<Result<(), StartError>>,
) -> ProcessResult {
    let mut sctx = ServerCtx::<S>::new(ctx, parent);
    if let Err(error) = sctx.register(name.as_deref()) {
        let _ = started.send(Err(error));
        return Ok(());
    }
    let state = match sctx.init(args).await {
        Ok(state) => state,
        Err(reason) => {
            sctx.abandon_start(name.as_deref());
            let _ = started.send(Err(StartError::Init {
                server: sctx.pid().any(),
                kind: S::SERVER,
                reason: reason.clone(),
            }));
            return sctx.finish(reason);
        }
    };
    drop(name);
    let _ = started.send(Ok(()));
    serve_loop(state, sctx).await
}

/// A started server's loop: one message at a time until it stops, then
/// `terminate`.
async fn serve_loop<S: GenServer>(mut state: S, mut sctx: ServerCtx<S>) -> ProcessResult {
    let mut reason = loop {
        let entry = sctx.ctx.recv().await;
        let handled = CatchUnwind::new(async {
            match entry {
                Envelope::Message(msg) => state.handle(msg, &mut sctx).await,
                Envelope::Down(down) => state.handle_down(down, &mut sctx).await,
                Envelope::Exit(exit) => match sctx.exit_signal(&exit) {
                    OnExit::Stop => sctx.stop = Some(exit.reason),
                    OnExit::Handle => state.handle_exit(exit, &mut sctx).await,
                    OnExit::Ignore => {}
                },
            }
        })
        .await;
        if let Err(payload) = handled {
            break caught(&*payload);
        }
        if let Some(reason) = sctx.stop.take() {
            break reason;
        }
    };
    if let Err(payload) = CatchUnwind::new(state.terminate(&reason, &mut sctx)).await {
        reason = caught(&*payload);
    }
    sctx.finish(reason)
}

impl<S: GenServer> ServerCtx<S> {
    fn new(ctx: Ctx<S::Msg>, parent: Option<AnyPid>) -> Self {
        // The loop decides what an exit signal does (so that `terminate`
        // runs on shutdown): they all arrive as messages. `Kill` still kills.
        ctx.set_runtime_trap_exit();
        ServerCtx {
            ctx,
            stop: None,
            trap_exit: false,
            tasks: None,
            parent,
        }
    }

    /// Registers the server under `name`, if it has one.
    fn register(&mut self, name: Option<&str>) -> Result<(), StartError> {
        let Some(name) = name else {
            return Ok(());
        };
        registry::register(name, &self.pid()).map_err(|error| {
            self.abandon_start(None);
            StartError::Name {
                kind: S::SERVER,
                error,
            }
        })
    }

    /// Runs `init`: its state, or why it failed (an error, a panic, or
    /// `ctx.stop(reason)`, OTP's `{stop, Reason}`).
    async fn init(&mut self, args: S::Args) -> Result<S, ExitReason> {
        match CatchUnwind::new(S::init(args, self)).await {
            Ok(Ok(state)) => match self.stop.take() {
                Some(reason) => Err(reason),
                None => Ok(state),
            },
            Ok(Err(reason)) => Err(reason),
            Err(payload) => Err(caught(&*payload)),
        }
    }

    /// Ends a server that never got a task of its own with `reason`.
    fn end_unstarted(self, reason: ExitReason) {
        let pid = self.ctx.pid().any();
        let _ = self.finish(reason.clone());
        pid.terminate(reason);
    }
}

impl<S: GenServer> ServerCtx<S> {
    /// What an exit signal does to the server.
    ///
    /// Without `trap_exit`, the server behaves as a plain process would:
    /// `Normal` from another process is ignored, anything else stops it.
    /// With `trap_exit`, signals go to the `#[info]` handler for [`Exit`],
    /// except one from the process that started it with `start_link` (as in
    /// OTP, the server stops with its parent's reason) and one from itself,
    /// which is how [`stop`] asks it to stop.
    fn exit_signal(&self, exit: &Exit) -> OnExit {
        let from_parent = self.parent.as_ref() == Some(&exit.from);
        let from_self = exit.from == self.ctx.pid();
        match (self.trap_exit, from_parent || from_self) {
            (true, true) => OnExit::Stop,
            (true, false) => OnExit::Handle,
            (false, _) if !exit.reason.is_normal() || from_self => OnExit::Stop,
            (false, _) => OnExit::Ignore,
        }
    }

    /// Undoes what a start that fails left behind, before the starter is
    /// told: the link with the starter (as OTP's `proc_lib:init_fail`, the
    /// starter gets the error and no exit signal) and the name (so that
    /// starting again under it works at once).
    fn abandon_start(&mut self, registered: Option<&str>) {
        if let Some(parent) = self.parent.take() {
            self.ctx.unlink(parent);
        }
        if let Some(name) = registered {
            let _ = registry::unregister(name);
        }
    }

    /// Ends the server's body with `reason`. Calls still queued are dropped
    /// by the exit protocol, after it has recorded `reason` for their callers.
    fn finish(mut self, reason: ExitReason) -> ProcessResult {
        if let Some(tasks) = &mut self.tasks {
            tasks.abort_all();
        }
        match reason {
            ExitReason::Normal => Ok(()),
            reason => Err(reason),
        }
    }
}

/// Stops a server (or any process) from outside and waits until it has
/// ended, as OTP's `gen_server:stop/3`: the server runs `terminate` with
/// `reason` and ends with it, whether or not it traps exits
/// ([`ExitReason::Kill`] kills it instead).
///
/// Fails with [`CallError::NoProc`] if it is not alive, and with
/// [`CallError::Timeout`] if it has not ended within `timeout` (it may
/// still be stopping).
///
/// ```
/// use fauxtp::prelude::*;
/// use std::time::Duration;
///
/// struct Idle;
///
/// #[genserver]
/// impl Idle {
///     fn init() -> Self { Idle }
/// }
///
/// # #[tokio::main] async fn main() {
/// let idle = Idle::start(()).await.unwrap();
/// genserver::stop(&idle, ExitReason::Shutdown, Duration::from_secs(1)).await.unwrap();
/// assert!(!idle.is_alive());
/// # }
/// ```
pub async fn stop<M: Send + 'static>(
    server: &Pid<M>,
    reason: ExitReason,
    timeout: Duration,
) -> Result<(), CallError> {
    let target = server.any();
    // A monitor from a short-lived context: its down message comes once the
    // server has completely ended (names released, links told).
    let mut watcher = Ctx::<()>::detached();
    let monitor = watcher.monitor(&target);
    if !target.is_alive() {
        return Err(CallError::NoProc {
            server: target,
            call: "stop",
        });
    }
    // A signal from the server itself: a GenServer stops on it whatever its
    // trap_exit flag, a plain process ends with it.
    target.core.exit_signal(&target, &reason, false);
    if watcher.wait_down(monitor, Some(timeout)).await {
        Ok(())
    } else {
        Err(CallError::Timeout {
            server: target,
            call: "stop",
            after: timeout,
        })
    }
}

/// [`answer`] for a handler that is not async.
pub fn answer_now<R>(reply: ReplyTo<R>, handler: impl FnOnce() -> R) {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(handler)) {
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
