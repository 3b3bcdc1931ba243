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
    /// Made at the first `spawn_task`: most servers never need one.
    pub(super) tasks: Option<JoinSet<()>>,
    /// The process that started the server with `start_link`.
    pub(super) parent: Option<AnyPid>,
    /// With the `trace` option: the span `init`, the handlers and
    /// `terminate` run in. Behind a pointer: most servers have none, and
    /// every server carries the slot.
    pub(super) span: Option<Arc<tracing::Span>>,
    /// While `sys::trace` or `sys` statistics are on: what replies are
    /// watched for (see [`sys::watch_reply`](super::sys)).
    pub(super) watch: Option<Arc<super::sys::ReplyWatch>>,
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
        ServerCtx {
            ctx,
            stop: None,
            trap_exit: false,
            tasks: None,
            span: S::OPTIONS.trace.then(|| {
                Arc::new(tracing::info_span!(
                    target: "fauxtp::genserver",
                    "genserver",
                    server = S::SERVER,
                    pid = %ctx_pid_any,
                    name = tracing::field::Empty,
                ))
            }),
            parent,
            watch: None,
        }
    }

    /// Registers the server under `name`, if it has one.
    pub(super) fn register(&mut self, name: Option<&str>) -> Result<(), StartError> {
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
        if let Some(span) = &self.span {
            span.record("name", name);
        }
        Ok(())
    }

    /// Runs `init`: its state, or why it failed (an error, a panic, or
    /// `ctx.stop(reason)`, OTP's `{stop, Reason}`).
    pub(super) async fn init(&mut self, args: S::Args) -> Result<S, ExitReason> {
        match CatchUnwind::new(InSpan::new(self.span.clone(), S::init(args, self))).await {
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
        if let Some(tasks) = &mut self.tasks {
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
