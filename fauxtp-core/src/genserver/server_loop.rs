//! A started server's loop: one message at a time, exit signals as OTP's
//! gen_server treats them, `terminate` at the end; and stopping a server
//! from outside.

use std::future::Future;
use std::task::Poll;
use std::time::Duration;

use super::context::InSpan;
use super::sys::{self, SysState};
use super::{CallError, GenServer, ServerCtx};
use crate::process::unwind::{caught, CatchUnwind};
use crate::process::{Ctx, Envelope, Exit, ExitReason, Pid, ProcessResult};

/// What a GenServer does with an exit signal.
enum OnExit {
    /// Stop with the signal's reason (`terminate` runs).
    Stop,
    /// Hand it to the `#[info]` handler for [`Exit`].
    Handle,
    Ignore,
}

/// A started server's loop: one message at a time until it stops, then
/// `terminate`.
///
/// A function that returns a block rather than an `async fn`: an `async
/// fn` moves its arguments into locals, and its future keeps room for
/// both, which was 152 bytes of every server's task.
#[allow(clippy::manual_async_fn)]
pub(super) fn serve_loop<S: GenServer>(
    mut state: S,
    mut sctx: ServerCtx<S>,
) -> impl Future<Output = ProcessResult> + Send {
    async move {
        let mut sys = SysState::new();
        if let Some(after) = sctx.after() {
            after.arm();
        }
        let mut reason = loop {
            // A signal the server does not trap comes first, ahead of the
            // messages already queued (and cuts a wait for one short); so do
            // `sys` requests.
            if let Some((stop, requests)) = sctx.ctx.take_control() {
                if let Some(reason) = stop {
                    break reason;
                }
                let served = requests
                    .into_iter()
                    .try_for_each(|request| sys::serve(request, &mut state, &mut sctx, &mut sys));
                if let Err(reason) = served {
                    break reason;
                }
            }
            if sys.suspended {
                sctx.ctx.wait_control().await;
                continue;
            }
            let started;
            let watching = sys.watching();
            // The entry is bound in a block that ends before the handler
            // runs, and only once: the future keeps room for every binding
            // still in scope at an `.await`, even one moved out of (the
            // handler's future holds the entry itself).
            let handled = {
                let Some(mut entry) = (match sctx.after().is_some() {
                    false => sctx.ctx.recv_or_stop().await,
                    // Boxed: a wait with a deadline is much larger than a
                    // plain one, and every server's future would carry it.
                    true => Box::pin(next_after(&mut sctx)).await,
                }) else {
                    continue;
                };
                started = match watching {
                    true => sys.before(&entry, &sctx),
                    false => None,
                };
                CatchUnwind::new(InSpan::new(sctx.span(), async {
                    loop {
                        match entry {
                            Envelope::Message(msg) => state.handle(msg, &mut sctx).await,
                            Envelope::Down(down) => state.handle_down(down, &mut sctx).await,
                            Envelope::Exit(exit) => match sctx.exit_signal(&exit) {
                                OnExit::Stop => sctx.stop = Some(exit.reason),
                                OnExit::Handle => state.handle_exit(exit, &mut sctx).await,
                                OnExit::Ignore => {}
                            },
                        }
                        // The next entry in the same catch and span, if the
                        // mailbox holds it already (taken with the batch of
                        // this one) and nothing needs a look between
                        // the two: no stop, no system request, no timeout
                        // and no trace or statistics (each message then
                        // goes round the loop above). A panic ends the
                        // server either way.
                        if watching
                            || sctx.stop.is_some()
                            || sctx.after().is_some()
                            || sctx.ctx.control_pending()
                        {
                            break;
                        }
                        let next =
                            std::future::poll_fn(|cx| Poll::Ready(sctx.ctx.try_recv_held(cx)))
                                .await;
                        match next {
                            // Into the captured entry: a binding of its own
                            // would take room in every server's future.
                            Some(next) => entry = next,
                            None => break,
                        }
                    }
                }))
            }
            .await;
            if let Err(payload) = handled {
                break caught(&*payload);
            }
            if started.is_some() {
                sys.after(started);
            }
            if let Some(reason) = sctx.stop.take() {
                break reason;
            }
            if let Some(after) = sctx.after() {
                after.arm();
            }
        };
        let span = sctx.span();
        if let Err(payload) =
            CatchUnwind::new(InSpan::new(span, state.terminate(&reason, &mut sctx))).await
        {
            reason = caught(&*payload);
        }
        sctx.finish(reason)
    }
}

/// For a server that has used `continue_with` or `idle_timeout`: the next
/// message to continue with, or the next message of the mailbox, or the
/// idle timeout's if it runs out first; `None` if a stop or `sys` request
/// cut the wait short (the timeout keeps its deadline).
async fn next_after<S: GenServer>(sctx: &mut ServerCtx<S>) -> Option<Envelope<S::Msg>> {
    let after = sctx.after()?;
    if let Some(msg) = after.continued.pop_front() {
        after.handled += 1;
        return Some(Envelope::Message(msg));
    }
    let Some((deadline, _)) = after.armed.as_ref() else {
        return sctx.ctx.recv_or_stop().await;
    };
    let deadline = *deadline;
    match tokio::time::timeout_at(deadline, sctx.ctx.recv_or_stop()).await {
        Ok(Some(entry)) => {
            if let Some(after) = sctx.after() {
                after.armed = None;
            }
            Some(entry)
        }
        Ok(None) => None,
        Err(_) => sctx.after().and_then(|after| {
            let (_, msg) = after.armed.take()?;
            after.handled += 1;
            Some(Envelope::Message(msg))
        }),
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
}

/// Stops a server from outside and waits until it has ended, as OTP's
/// `gen_server:stop/3`: the server runs `terminate` with `reason` and ends
/// with it, whether or not it traps exits ([`ExitReason::Kill`] kills it
/// instead). It works on a plain process too, as an exit signal from the
/// process to itself: one that does not trap exits ends with `reason`; one
/// that traps gets an `Exit` message and ends only if it chooses to.
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
    target.signal_from(&target, &reason);
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
