//! Processes: spawning, pids, links, monitors and exit reasons.
//!
//! A process is a tokio task that owns a mailbox. You start one with
//! [`spawn`] (or [`Ctx::spawn_link`] / [`Ctx::spawn_monitor`] from inside
//! another process); its body is an async closure that receives its context,
//! [`Ctx<M>`], and returns `Ok(())` to end normally or an error to fail.
//!
//! ```
//! use fauxtp::prelude::*;
//! use std::time::Duration;
//!
//! enum Msg { Ping(Pid<Reply>), Stop }
//! struct Reply;
//!
//! # #[tokio::main] async fn main() {
//! let server = fauxtp::spawn(|mut ctx: Ctx<Msg>| async move {
//!     loop {
//!         receive!(ctx, {
//!             Msg::Ping(from) => { let _ = from.send(Reply); }
//!             Msg::Stop => return Ok(()),
//!         });
//!     }
//! });
//!
//! // The code of a test or of `main` can take part as a process, too.
//! let mut me = Ctx::<Reply>::detached();
//! server.send(Msg::Ping(me.pid())).unwrap();
//! let got = receive!(me, {
//!     Reply => true,
//!     after Duration::from_secs(1) => false,
//! });
//! assert!(got);
//! server.send(Msg::Stop).unwrap();
//! # }
//! ```
//!
//! # Exit reasons, links and monitors
//!
//! Every process ends with an [`ExitReason`]: `Normal` when its body returns
//! `Ok(())`, `Error(text)` when it returns an error, `Panic(message)` when it
//! panics (the panic ends that process only), `Killed` when it is killed.
//!
//! Links are two-way: when a linked process ends abnormally, this one ends
//! too, with the same reason, unless it traps exits
//! ([`Ctx::trap_exit`]); then it receives an [`Exit`] message instead. A
//! `Normal` exit does not propagate. [`ExitReason::Kill`] cannot be trapped.
//!
//! Monitors are one-way: [`Ctx::monitor`] delivers exactly one [`Down`]
//! message when the process ends, or at once (reason `NoProc`) if it already
//! has.
//!
//! A process can only be stopped at an `.await`: a body that computes for a
//! long time without awaiting is ended when it next awaits.

mod core;
mod exit;
pub(crate) mod groups;
mod handle;
pub(crate) mod hooks;
mod info;
pub(crate) mod names;
mod pid;
pub(crate) mod receive;
mod report;
pub(crate) mod runner;
pub(crate) mod slot;
mod table;
pub(crate) mod unwind;

use std::future::Future;
use std::time::Duration;

pub use self::core::count;
pub use self::exit::{Down, Exit, ExitReason, MonitorRef};
pub use self::info::{info, ProcessInfo, Status};
pub use self::pid::{AnyPid, Pid, SendError};
pub use self::table::{find, list};
pub use self::unwind::capture_panic_locations;

pub(crate) use self::slot::{Signal, Slot};

use self::core::{Core, Inbox, SignalMode, Sink};
use self::handle::Handle;
use crate::mailbox::{self, Mailbox, Receiver, Selector};
use std::task::Context;

/// What a process body returns: `Ok(())` to end normally, `Err(reason)` to
/// end with that reason. `?` converts any error into
/// [`ExitReason::Error`].
pub type ProcessResult = Result<(), ExitReason>;

/// One entry of a process's mailbox, as [`Ctx::recv`] returns it.
///
/// [`receive!`](crate::receive) arms match the `M` inside `Message`
/// directly, and `Down(..)` / `Exit(..)` patterns for the other two.
#[derive(Debug)]
pub enum Envelope<M> {
    /// A message sent with [`Pid::send`].
    Message(M),
    /// A monitor fired: the monitored process ended.
    Down(Down),
    /// A linked process ended, or someone called [`Ctx::exit`] on this
    /// process, while it traps exits.
    Exit(Exit),
}

/// An entry of a mailbox, looked at but not taken: what
/// [`Ctx::messages`] gives.
#[derive(Debug)]
pub enum Peek<'a, M> {
    /// A message.
    Message(&'a M),
    /// A down message.
    Down(&'a Down),
    /// A trapped exit signal.
    Exit(&'a Exit),
}

impl<'a, M> From<&'a Slot<M>> for Peek<'a, M> {
    fn from(slot: &'a Slot<M>) -> Self {
        match slot {
            Slot::Message(m) => Peek::Message(m),
            Slot::Signal(signal) => match &**signal {
                Signal::Down(down) => Peek::Down(down),
                Signal::Exit(exit) => Peek::Exit(exit),
            },
        }
    }
}

/// An error of a process operation, naming the process concerned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProcessError {
    /// The other process has already ended (Erlang's `noproc`).
    #[error("{0} is not alive (noproc)")]
    NoProc(AnyPid),
}

/// Anything that acts on behalf of a process: a [`Ctx`], or the context of
/// a GenServer. Functions that link a new process to "this one" take it
/// (`start_link`), so that only a process can link itself.
pub trait ProcessContext {
    /// The pid of the process this context belongs to.
    fn self_pid(&self) -> AnyPid;
}

impl<M: Send + 'static> ProcessContext for Ctx<M> {
    fn self_pid(&self) -> AnyPid {
        self.me.any()
    }
}

/// Links `parent` with `child`, a process whose task has not started yet
/// (so no exit can be missed and `child` cannot be gone).
pub(crate) fn link_unstarted(parent: &AnyPid, child: &AnyPid) {
    parent.core.add_link(child);
    child.core.add_link(parent);
}

/// Spawns a process linked to `parent` (which need not be the caller: a
/// supervisor's child specs start children on its behalf).
pub(crate) fn spawn_linked_to<M, F, Fut>(parent: &AnyPid, body: F) -> Pid<M>
where
    M: Send + 'static,
    F: FnOnce(Ctx<M>) -> Fut + Send + 'static,
    Fut: Future<Output = ProcessResult> + Send + 'static,
{
    let child = Ctx::<M>::child_of(Some(parent));
    let pid = child.pid();
    link_unstarted(parent, &pid.any());
    runner::start(child, body);
    pid
}

/// The context of a process: its own pid, its mailbox, and the operations
/// that act on behalf of the process (links, monitors, exit signals).
///
/// A spawned process gets its `Ctx` as the argument of its body. Code that
/// is not a spawned process (a test, `main`) can become one with
/// [`Ctx::detached`].
pub struct Ctx<M: Send + 'static> {
    me: Pid<M>,
    /// Taken out in `drop`: parked in the process's control block, or
    /// dropped (detached context).
    mailbox: Mailbox<Slot<M>>,
    /// How many monitors this process held after its last sweep of ended
    /// processes (the monitors live in its control block).
    monitoring_swept: usize,
    detached: bool,
}

/// Starts a process running `body`, and returns its pid at once.
///
/// The body receives the process's [`Ctx`]; the type of its messages is
/// the `M` of that `Ctx`, usually given in the closure's argument:
/// `|mut ctx: Ctx<Msg>| async move { ... }`. Returning `Ok(())` ends the
/// process with [`ExitReason::Normal`], returning `Err(reason)` with that
/// reason, and a panic with [`ExitReason::Panic`].
///
/// Cost: one tokio task, one mailbox and one control block.
///
/// # Panics
///
/// Like `tokio::spawn`, panics if called outside a tokio runtime.
pub fn spawn<M, F, Fut>(body: F) -> Pid<M>
where
    M: Send + 'static,
    F: FnOnce(Ctx<M>) -> Fut + Send + 'static,
    Fut: Future<Output = ProcessResult> + Send + 'static,
{
    let ctx = Ctx::child_of(runner::current_pid().as_ref());
    let pid = ctx.pid();
    runner::start(ctx, body);
    pid
}

impl<M: Send + 'static> Ctx<M> {
    fn new(detached: bool, parent: Option<&AnyPid>) -> Self {
        let core = Handle::new(std::sync::Arc::new(Core::new(
            pid::next_id(),
            Inbox::new(),
            detached,
            parent,
        )));
        let me = Pid { core };
        table::insert(&me.any());
        Ctx {
            me,
            mailbox: Mailbox::new(),
            monitoring_swept: 0,
            detached,
        }
    }

    /// The context of a process about to be spawned by `parent` (the
    /// process that spawns it, or the supervisor it is spawned for).
    pub(crate) fn child_of(parent: Option<&AnyPid>) -> Self {
        Ctx::new(false, parent)
    }

    /// Makes the current task a process, so that code which is not a spawned
    /// process (a test, `main`) can receive messages, link, monitor and be
    /// monitored.
    ///
    /// A detached process has no task that fauxtp could end, so it always
    /// traps exits: exit signals, even [`ExitReason::Kill`], arrive as
    /// [`Exit`] messages. It ends, with reason `Normal`, when the `Ctx` is
    /// dropped.
    pub fn detached() -> Self {
        Ctx::new(true, None)
    }

    /// This process's own pid (Erlang's `self()`).
    pub fn pid(&self) -> Pid<M> {
        self.me.clone()
    }

    /// Waits for the next entry of the mailbox, whatever it is: the oldest
    /// saved message first, then new arrivals.
    pub async fn recv(&mut self) -> Envelope<M> {
        self.receiver().recv().await.into()
    }

    /// Takes the next entry of the mailbox if there is one, without waiting.
    pub fn try_recv(&mut self) -> Option<Envelope<M>> {
        self.receiver().try_recv().map(Envelope::from)
    }

    /// Everything waiting in the mailbox, oldest first, without taking it
    /// (Erlang's `process_info(self(), messages)`): for tests and debugging.
    pub fn messages(&mut self) -> impl Iterator<Item = Peek<'_, M>> {
        self.mailbox
            .peek_all(&self.me.core.sink.queue)
            .map(Peek::from)
    }

    /// How many entries wait in the mailbox (including saved ones that no
    /// receive has taken yet).
    pub fn mailbox_len(&self) -> usize {
        self.mailbox.len(&self.me.core.sink.queue)
    }

    /// Limits how many messages may wait in this process's mailbox, as
    /// Erlang's `max_heap_size` limits a process's heap: a send that would
    /// go past the limit fails, and the process ends at once with the reason
    /// `mailbox overflow: more than N messages waiting` (as if killed:
    /// nothing traps it, and a GenServer does not run `terminate`), which
    /// its links, monitors and supervisor see. `None` removes the limit (the
    /// default). Down and exit signals are never refused.
    ///
    /// What counts is what has arrived and not been taken by a receive yet;
    /// a receive takes all of it in one go, so a process that is slow with
    /// what it took holds up to twice the limit, plus what it saved.
    pub fn set_mailbox_limit(&self, limit: Option<usize>) {
        self.me
            .core
            .sink
            .queue
            .set_limit(limit.unwrap_or(usize::MAX));
    }

    /// Turns exit signals into [`Exit`] messages (`true`) or lets them end
    /// this process (`false`, the default), as Erlang's
    /// `process_flag(trap_exit, ...)`. [`ExitReason::Kill`] ends the process
    /// either way. Has no effect on a detached context, which always traps.
    /// Returns the previous value of the flag.
    pub fn trap_exit(&mut self, on: bool) -> bool {
        self.me.core.set_trap_exit(on)
    }

    /// Links this process with `other`: from now on, when one of them ends
    /// abnormally, the other receives an exit signal with the same reason.
    /// Linking twice is the same as linking once, and linking to itself does
    /// nothing (as in Erlang).
    ///
    /// Fails with [`ProcessError::NoProc`] if `other` has already ended (in
    /// Erlang the caller would receive a `noproc` exit signal instead).
    pub fn link(&mut self, other: impl Into<AnyPid>) -> Result<(), ProcessError> {
        let other = other.into();
        let me = self.me.any();
        if other == me {
            return Ok(());
        }
        // Our end first: if `other` dies as soon as it has its end, the exit
        // signal it sends must find the link here.
        self.me.core.add_link(&other);
        if other.core.add_link(&me) {
            Ok(())
        } else {
            self.me.core.remove_link(other.id());
            Err(ProcessError::NoProc(other))
        }
    }

    /// Removes the link with `other`, if there is one. After this returns no
    /// exit signal from that link ends this process (an [`Exit`] message
    /// already delivered stays in the mailbox).
    pub fn unlink(&mut self, other: impl Into<AnyPid>) {
        let other = other.into();
        self.me.core.remove_link(other.id());
        other.core.remove_link(self.me.id());
    }

    /// Monitors `other`: exactly one [`Down`] message will arrive, with the
    /// returned ref, when it ends, or at once with reason
    /// [`ExitReason::NoProc`] if it already has. Monitoring twice gives two
    /// independent monitors.
    pub fn monitor(&mut self, other: impl Into<AnyPid>) -> MonitorRef {
        let other = other.into();
        let monitor = MonitorRef::new();
        if other.core.add_monitor(monitor, self.me.any()) {
            self.remember_monitor(monitor, other);
        } else {
            let down = Down {
                monitor,
                pid: other,
                reason: ExitReason::NoProc,
            };
            self.me.core.sink.down(down);
        }
        monitor
    }

    fn remember_monitor(&mut self, monitor: MonitorRef, target: AnyPid) {
        // Monitors that fired stay held until demonitor or until their
        // number has doubled since the last sweep; then the ended ones go
        // (looked up without this process's lock held).
        let core = &self.me.core;
        if core.held_monitor_count() >= 2 * self.monitoring_swept.max(16) {
            for (fired, pid) in core.held_monitors() {
                if !pid.is_alive() {
                    core.release_monitor(fired);
                }
            }
            self.monitoring_swept = core.held_monitor_count();
        }
        core.hold_monitor(monitor, target);
    }

    /// Removes a monitor. Returns true if it was active (no down message had
    /// been sent for it). Either way, once this returns no [`Down`] message
    /// for `monitor` will be received: one already in the mailbox is removed
    /// (Erlang's `demonitor(Ref, [flush])`).
    pub fn demonitor(&mut self, monitor: MonitorRef) -> bool {
        let was_active = match self.me.core.release_monitor(monitor) {
            Some(target) => target.core.remove_monitor(monitor),
            None => false,
        };
        if !was_active {
            self.receiver().retain(
                |entry| !matches!(Peek::from(entry), Peek::Down(d) if d.monitor == monitor),
            );
        }
        was_active
    }

    /// Sends an exit signal with `reason` to `target`, as Erlang's
    /// `exit(Pid, Reason)`: [`ExitReason::Kill`] ends it whatever it does; a
    /// process that traps exits receives any other reason as an [`Exit`]
    /// message; otherwise `Normal` is ignored (except when a process sends
    /// it to itself: then it ends normally) and any other reason ends it
    /// with that reason. Sending to an ended process does nothing.
    pub fn exit(&self, target: impl Into<AnyPid>, reason: ExitReason) {
        target
            .into()
            .core
            .exit_signal(&self.me.any(), &reason, false);
    }

    /// Spawns a process linked to this one. The link exists before the new
    /// process runs, so no exit can be missed.
    pub fn spawn_link<N, F, Fut>(&mut self, body: F) -> Pid<N>
    where
        N: Send + 'static,
        F: FnOnce(Ctx<N>) -> Fut + Send + 'static,
        Fut: Future<Output = ProcessResult> + Send + 'static,
    {
        spawn_linked_to(&self.me.any(), body)
    }

    /// Spawns a process monitored by this one; the monitor exists before the
    /// new process runs.
    pub fn spawn_monitor<N, F, Fut>(&mut self, body: F) -> (Pid<N>, MonitorRef)
    where
        N: Send + 'static,
        F: FnOnce(Ctx<N>) -> Fut + Send + 'static,
        Fut: Future<Output = ProcessResult> + Send + 'static,
    {
        let child = Ctx::<N>::child_of(Some(&self.me.any()));
        let pid = child.pid();
        let monitor = MonitorRef::new();
        pid.core.add_monitor(monitor, self.me.any());
        self.remember_monitor(monitor, pid.any());
        runner::start(child, body);
        (pid, monitor)
    }

    /// Waits for the down message of `monitor` (taking it out of the
    /// mailbox; other messages stay), at most `timeout`. False on timeout.
    pub(crate) async fn wait_down(
        &mut self,
        monitor: MonitorRef,
        timeout: Option<Duration>,
    ) -> bool {
        self.take_down(monitor, timeout).await.is_some()
    }

    /// [`wait_down`](Ctx::wait_down), giving the down message.
    pub(crate) async fn take_down(
        &mut self,
        monitor: MonitorRef,
        timeout: Option<Duration>,
    ) -> Option<Down> {
        let mut selector = self.select(timeout);
        while let Some(entry) = selector.next().await {
            match entry {
                Slot::Signal(signal) => match *signal {
                    Signal::Down(down) if down.monitor == monitor => return Some(down),
                    other => selector.skip(Slot::Signal(Box::new(other))),
                },
                other => selector.skip(other),
            }
        }
        None
    }

    /// Drops the exit messages from `pid` that are in the mailbox.
    pub(crate) fn flush_exits_from(&mut self, pid: &AnyPid) {
        self.receiver()
            .retain(|entry| !matches!(Peek::from(entry), Peek::Exit(e) if e.from == *pid));
    }

    /// Names this process's GenServer type (`Counter`), for its crash
    /// report.
    pub(crate) fn set_server_type(&self, server_type: &'static str) {
        self.me.core.set_server_type(server_type);
    }

    /// Makes this process take exit signals as a GenServer does: one the
    /// server traps (`traps`) arrives as an `Exit` message, in order; any
    /// other asks it to stop before its next message (see
    /// [`take_stop_request`](Ctx::take_stop_request)). `Kill` still kills.
    pub(crate) fn take_signals_as_server(&self, traps: bool) {
        self.me.core.set_trap_exit(true);
        self.me.core.set_signal_mode(SignalMode::Server { traps });
    }

    /// The reason an exit signal asked this GenServer to stop with, if one
    /// did: one atomic load when none did. The loop looks before each
    /// message, ahead of whatever is queued.
    #[inline]
    pub(crate) fn take_control(&self) -> Option<(Option<ExitReason>, Vec<core::SystemRequest>)> {
        self.me.core.take_control()
    }

    /// How many messages this process has taken from its mailbox.
    pub(crate) fn messages_taken(&self) -> u64 {
        self.me.core.sink.activity().taken
    }

    /// How long ago this process was spawned.
    pub(crate) fn uptime(&self) -> Duration {
        self.me.core.spawned().elapsed()
    }

    /// Marks this GenServer suspended (by `sys::suspend`) or resumed, for
    /// `process::info`.
    pub(crate) fn set_suspended(&self, on: bool) {
        self.me.core.set_suspended(on);
    }

    /// Waits for a stop or system request, taking no message.
    pub(crate) async fn wait_control(&mut self) {
        self.me.core.sink.queue.interrupted().await;
    }

    /// The next entry of the mailbox; `None` if the wait was cut short by a
    /// stop request (see [`take_stop_request`](Ctx::take_stop_request)).
    pub(crate) async fn recv_or_stop(&mut self) -> Option<Envelope<M>> {
        self.receiver()
            .recv_interruptible()
            .await
            .map(Envelope::from)
    }

    /// The next entry if the mailbox holds it already and tokio's budget
    /// allows; never waits, never locks (see [`Receiver::try_recv_held`]).
    pub(crate) fn try_recv_held(&mut self, cx: &mut Context<'_>) -> Option<Envelope<M>> {
        self.receiver().try_recv_held(cx).map(Envelope::from)
    }

    /// Whether a stop or system request waits for a GenServer's loop (one
    /// atomic load).
    pub(crate) fn control_pending(&self) -> bool {
        self.me.core.control_pending()
    }

    /// Starts a selective receive; used by [`receive!`](crate::receive).
    pub(crate) fn select(&mut self, after: Option<Duration>) -> Selector<'_, Slot<M>> {
        // An `after` too far away to represent waits forever.
        let deadline = after.and_then(mailbox::deadline_after);
        self.receiver().select(deadline)
    }

    /// The mailbox with its queue, for one receiving operation.
    fn receiver(&mut self) -> Receiver<'_, Slot<M>> {
        self.mailbox.with(&self.me.core.sink.queue)
    }
}

impl<M: Send + 'static> Drop for Ctx<M> {
    fn drop(&mut self) {
        for (monitor, target) in self.me.core.take_held_monitors() {
            target.core.remove_monitor(monitor);
        }
        // An empty mailbox allocates nothing: taking this one out costs
        // nothing.
        let mailbox = std::mem::replace(&mut self.mailbox, Mailbox::new());
        // The mailbox lives as long as the process: parked until its exit
        // protocol runs, which drops it. (A detached context ends right
        // here. A task dropped by a runtime shutdown may have run the exit
        // protocol already: then the mailbox goes at once.)
        if self.detached || self.me.core.is_alive() {
            self.me.core.sink.park(mailbox);
        } else {
            self.me.core.sink.queue.close(mailbox);
        }
        if self.detached {
            self.me.any().terminate(ExitReason::Normal);
        }
    }
}

impl<M: Send + 'static> std::fmt::Debug for Ctx<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("pid", &self.me)
            .field("mailbox_len", &self.mailbox_len())
            .finish_non_exhaustive()
    }
}
