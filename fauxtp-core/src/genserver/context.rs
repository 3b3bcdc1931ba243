//! [`ServerCtx`]: what `init` and handlers see of their server (its pid,
//! links, monitors, exit signals, stopping), and how the start and the loop
//! drive it.

use std::future::Future;
use std::sync::Arc;

use tokio::task::JoinSet;

use super::{GenServer, StartError};
use crate::process::unwind::{caught, CatchUnwind};
use crate::process::{
    AnyPid, Ctx, ExitReason, MonitorRef, Pid, ProcessContext, ProcessError, ProcessResult,
};
use crate::registry;

/// The context of a running GenServer, given to `init` and to any handler
/// that takes a `ctx: &mut ServerCtx<Self>` argument: its own pid, links,
/// monitors, exit signals, background tasks, and stopping.
pub struct ServerCtx<S: GenServer> {
    pub(super) ctx: Ctx<S::Msg>,
    pub(super) stop: Option<ExitReason>,
    pub(super) trap_exit: bool,
    /// The process that started the server with `start_link`.
    pub(super) parent: Option<AnyPid>,
    /// What few servers use, behind one pointer: every server's future
    /// carries the slot, and a tokio task's size rounds up in steps of
    /// 128 bytes.
    pub(super) extras: Option<Box<Extras<S::Msg>>>,
}

/// The parts of a server's context that most servers never use.
pub(super) struct Extras<M> {
    /// Made at the first `spawn_task`.
    pub(super) tasks: Option<JoinSet<()>>,
    /// With the `trace` option: the span `init`, the handlers and
    /// `terminate` run in.
    pub(super) span: Option<Arc<tracing::Span>>,
    /// While `sys::trace` or `sys` statistics are on: what replies are
    /// watched for (see [`sys::watch_reply`](super::sys)).
    pub(super) watch: Option<Arc<super::sys::ReplyWatch>>,
    /// Set by `continue_with` and `idle_timeout`.
    pub(super) after: Option<After<M>>,
    /// Set by `ignore` in `init`.
    pub(super) ignored: bool,
}

impl<M> Default for Extras<M> {
    fn default() -> Self {
        Extras {
            tasks: None,
            span: None,
            watch: None,
            after: None,
            ignored: false,
        }
    }
}

/// What a handler asked to happen after it.
pub(super) struct After<M> {
    pub(super) continued: std::collections::VecDeque<M>,
    /// Set by the handler running now.
    pub(super) idle: Option<(std::time::Duration, M)>,
    /// The idle timeout running: its deadline and message.
    pub(super) armed: Option<(tokio::time::Instant, M)>,
    /// Messages handled that did not come from the mailbox: continued
    /// ones and idle timeouts (for `sys`'s `messages_handled`).
    pub(super) handled: u64,
}

impl<M> After<M> {
    /// Starts the idle timeout the handler that just returned set; one
    /// set before is over (a message came).
    pub(super) fn arm(&mut self) {
        self.armed = self
            .idle
            .take()
            .map(|(after, msg)| (tokio::time::Instant::now() + after, msg));
    }
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

    /// In `init`: do not start (OTP's `ignore`). `start` returns
    /// [`StartError::Ignored`], the process ends quietly (`terminate` does
    /// not run), and a supervisor records the child as not running instead
    /// of counting a failure: for a child that has nothing to do in this
    /// configuration. Elsewhere it does nothing.
    pub fn ignore(&mut self) {
        self.extras_mut().ignored = true;
    }

    /// Whether `init` called [`ignore`](ServerCtx::ignore).
    pub(super) fn ignored(&self) -> bool {
        self.extras.as_ref().is_some_and(|extras| extras.ignored)
    }

    /// Handles `msg` right after the current handler (or after `init`),
    /// before any message in the mailbox: OTP's `{continue, Continue}` and
    /// `handle_continue`. Several are handled in the order given.
    ///
    /// ```
    /// use fauxtp::prelude::*;
    ///
    /// struct Load;
    ///
    /// struct Cache { loaded: bool }
    ///
    /// #[genserver]
    /// impl Cache {
    ///     fn init(ctx: &mut ServerCtx<Self>) -> Self {
    ///         // `start` returns at once; the loading happens next.
    ///         ctx.continue_with(Load);
    ///         Cache { loaded: false }
    ///     }
    ///
    ///     #[info]
    ///     fn load(&mut self, _load: Load) { self.loaded = true; }
    ///
    ///     #[call]
    ///     fn loaded(&self) -> bool { self.loaded }
    /// }
    ///
    /// # #[tokio::main] async fn main() {
    /// let cache = Cache::start(()).await.unwrap();
    /// assert_eq!(cache.loaded().await, Ok(true));
    /// # }
    /// ```
    pub fn continue_with(&mut self, msg: impl Into<S::Msg>) {
        self.after_mut().continued.push_back(msg.into());
    }

    /// Delivers `msg` if no message arrives within `after` once the current
    /// handler has returned: OTP's `{noreply, State, Timeout}`. Any message
    /// cancels it, and so does the next handler unless it sets it again.
    pub fn idle_timeout(&mut self, after: std::time::Duration, msg: impl Into<S::Msg>) {
        self.after_mut().idle = Some((after, msg.into()));
    }

    fn after_mut(&mut self) -> &mut After<S::Msg> {
        self.extras_mut().after.get_or_insert_with(|| After {
            continued: std::collections::VecDeque::new(),
            idle: None,
            armed: None,
            handled: 0,
        })
    }

    /// What `continue_with` and `idle_timeout` set, if either was used.
    pub(super) fn after(&mut self) -> Option<&mut After<S::Msg>> {
        self.extras
            .as_mut()
            .and_then(|extras| extras.after.as_mut())
    }

    /// Whether a stop was asked for (by `stop`) and will happen once the
    /// current handler returns.
    pub(crate) fn stopping(&self) -> bool {
        self.stop.is_some()
    }

    /// Turns exit signals into calls of the server's `#[info]` handler for
    /// [`Exit`] (`true`), or lets an abnormal one stop the server (`false`,
    /// the default). Returns the previous value. `Kill` ends the server
    /// either way.
    pub fn trap_exit(&mut self, on: bool) -> bool {
        self.ctx.take_signals_as_server(on);
        std::mem::replace(&mut self.trap_exit, on)
    }

    /// Limits how many messages may wait for the server; past it the server
    /// ends with `mailbox overflow` (see [`Ctx::set_mailbox_limit`]). Set it
    /// in `init`.
    pub fn set_mailbox_limit(&self, limit: Option<usize>) {
        self.ctx.set_mailbox_limit(limit)
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
}

impl<S: GenServer> ProcessContext for ServerCtx<S> {
    fn self_pid(&self) -> AnyPid {
        self.ctx.pid().any()
    }
}

/// How the server's own machinery (start, loop) drives the context.
impl<S: GenServer> ServerCtx<S> {
    pub(super) fn new(ctx: Ctx<S::Msg>, parent: Option<AnyPid>) -> Self {
        // The loop decides what an exit signal does (so that `terminate`
        // runs on shutdown): they all arrive as messages. `Kill` still kills.
        ctx.take_signals_as_server(false);
        ctx.set_server_type(S::SERVER);
        let ctx_pid_any = ctx.pid().any();
        let span = S::OPTIONS.trace.then(|| {
            Arc::new(tracing::info_span!(
                target: "fauxtp::genserver",
                "genserver",
                server = S::SERVER,
                pid = %ctx_pid_any,
                name = tracing::field::Empty,
            ))
        });
        ServerCtx {
            ctx,
            stop: None,
            trap_exit: false,
            parent,
            extras: span.map(|span| {
                Box::new(Extras {
                    span: Some(span),
                    ..Extras::default()
                })
            }),
        }
    }

    /// The extras, made at first use.
    pub(super) fn extras_mut(&mut self) -> &mut Extras<S::Msg> {
        self.extras.get_or_insert_with(Box::default)
    }

    /// The server's span, with the `trace` option.
    pub(super) fn span(&self) -> Option<Arc<tracing::Span>> {
        self.extras.as_ref().and_then(|extras| extras.span.clone())
    }

    /// Registers the server under `name`, if it has one.
    pub(super) fn register(
        &mut self,
        name: Option<&str>,
        via: Option<&crate::registry::Via>,
    ) -> Result<(), StartError> {
        if let Some(via) = via {
            let pid = self.pid().any();
            via.register(&pid, std::any::type_name::<S::Msg>())
                .map_err(|error| {
                    self.abandon_start(None);
                    StartError::Via {
                        kind: S::SERVER,
                        error,
                    }
                })?;
        }
        let Some(name) = name else {
            return Ok(());
        };
        registry::register(name, &self.pid()).map_err(|error| {
            self.abandon_start(None);
            StartError::Name {
                kind: S::SERVER,
                error,
            }
        })?;
        if let Some(span) = self.span() {
            span.record("name", name);
        }
        Ok(())
    }

    /// Runs `init`: its state, or why it failed (an error, a panic, or
    /// `ctx.stop(reason)`, OTP's `{stop, Reason}`).
    pub(super) async fn init(&mut self, args: S::Args) -> Result<S, ExitReason> {
        match CatchUnwind::new(InSpan::new(self.span(), S::init(args, self))).await {
            Ok(Ok(state)) => match self.stop.take() {
                Some(reason) => Err(reason),
                None => Ok(state),
            },
            Ok(Err(reason)) => Err(reason),
            Err(payload) => Err(caught(&*payload)),
        }
    }

    /// Ends a server that never got a task of its own with `reason`.
    pub(super) fn end_unstarted(self, reason: ExitReason) {
        let pid = self.ctx.pid().any();
        let _ = self.finish(reason.clone());
        pid.terminate(reason);
    }

    /// Undoes what a start that fails left behind, before the starter is
    /// told: the link with the starter (as OTP's `proc_lib:init_fail`, the
    /// starter gets the error and no exit signal) and the name (so that
    /// starting again under it works at once).
    pub(super) fn abandon_start(&mut self, registered: Option<&str>) {
        if let Some(parent) = self.parent.take() {
            self.ctx.unlink(parent);
        }
        if let Some(name) = registered {
            let _ = registry::unregister(name);
        }
    }

    /// Ends the server's body with `reason`. Calls still queued are dropped
    /// by the exit protocol, after it has recorded `reason` for their callers.
    pub(super) fn finish(mut self, reason: ExitReason) -> ProcessResult {
        // Before the state (and any `ReplyTo` it keeps) is dropped: their
        // callers read this reason.
        self.ctx.pid().record_ending(&reason);
        if let Some(tasks) = self.extras.as_mut().and_then(|e| e.tasks.as_mut()) {
            tasks.abort_all();
        }
        match reason {
            ExitReason::Normal => Ok(()),
            reason => Err(reason),
        }
    }
}

pin_project_lite::pin_project! {
    /// A server's own code (`init`, a handler, `terminate`), polled inside
    /// its span when it has one (the `trace` option). One type whether or
    /// not there is a span, built where it is awaited: the server's future
    /// keeps one copy of the handler's future, not one per case.
    pub(super) struct InSpan<F> {
        #[pin]
        inner: F,
        span: Option<Arc<tracing::Span>>,
    }
}

impl<F> InSpan<F> {
    pub(super) fn new(span: Option<Arc<tracing::Span>>, inner: F) -> Self {
        InSpan { inner, span }
    }
}

impl<F: Future> Future for InSpan<F> {
    type Output = F::Output;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        let this = self.project();
        let _entered = this.span.as_deref().map(tracing::Span::enter);
        this.inner.poll(cx)
    }
}
