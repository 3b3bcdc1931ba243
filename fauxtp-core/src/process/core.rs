//! The control block every process has: its links, the monitors on it, its
//! exit state, and the exit protocol that runs when it ends.
//!
//! Locking rules (they are what keeps this deadlock-free):
//! - a process's control lock is held only briefly and never while taking
//!   another process's control lock;
//! - a mailbox's queue lock is a leaf: nothing else is locked, and nothing
//!   is woken or dropped, while it is held. So a dying process may deliver
//!   its down messages while holding its own control lock (which is what
//!   lets `demonitor` flush a down message reliably);
//! - the name table's lock may be held while taking a process lock, never
//!   the other way round (see `names.rs`).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::Waker;
use std::time::Instant;

use super::exit::{Down, Exit, ExitReason, MonitorRef};
use super::handle::Handle;
use super::pid::AnyPid;
use super::table::ById;
use super::{Signal, Slot};
use crate::mailbox::{Activity, Mailbox, Queue};

static ALIVE: AtomicUsize = AtomicUsize::new(0);

/// The instant spawn times count from: the first time one was asked for.
fn epoch() -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// `at` as nanoseconds since [`epoch`] (584 years fit).
fn since_epoch(at: Instant) -> u64 {
    let nanos = at.saturating_duration_since(epoch()).as_nanos();
    u64::try_from(nanos).unwrap_or(u64::MAX)
}

/// How many processes are alive right now, in the whole program (Erlang's
/// `erlang:system_info(process_count)`).
///
/// A process counts from the moment it is spawned until it is marked ended,
/// which happens before its monitors and links are told: once you have its
/// down message, it no longer counts. Detached contexts
/// ([`Ctx::detached`](crate::Ctx::detached)) count too, until dropped.
pub fn count() -> usize {
    ALIVE.load(Ordering::Acquire)
}

/// The queue of a process's mailbox, and a place to park the receiving
/// side: a body that drops its [`Ctx`](super::Ctx) before the process ends
/// leaves the mailbox here, so the process can be sent to for as long as it
/// lives, and the requests still queued are only dropped by the exit
/// protocol, after the exit reason is known.
pub(crate) struct Inbox<M> {
    pub(crate) queue: Queue<Slot<M>>,
}

impl<M> Inbox<M> {
    pub(crate) fn new() -> Self {
        Inbox {
            queue: Queue::new(),
        }
    }

    pub(crate) fn park(&self, mailbox: Mailbox<Slot<M>>) {
        self.queue.park(mailbox);
    }
}

/// What the parts of a process that do not know its message type need of
/// its mailbox: delivering the two system messages, and dropping a parked
/// mailbox. Dynamic dispatch happens only for these, never for ordinary
/// messages.
///
/// # Safety
///
/// `inbox_type` must return `TypeId::of::<Self>()`: `AnyPid::downcast`
/// trusts it to turn a `Core<dyn Sink>` back into the `Core<Inbox<M>>` it
/// was made from. `Inbox<M>` is the only implementation.
pub(crate) unsafe trait Sink: Send + Sync + 'static {
    fn down(&self, down: Down);
    fn exit(&self, exit: Exit);
    fn interrupt(&self);
    fn drop_parked(&self);
    /// The mailbox, read from outside.
    fn activity(&self) -> Activity;
    /// The concrete type of this sink, to turn an untyped pid back into a
    /// typed one.
    fn inbox_type(&self) -> std::any::TypeId;
}

// SAFETY: `inbox_type` returns the type id of `Self`.
unsafe impl<M: Send + 'static> Sink for Inbox<M> {
    fn down(&self, down: Down) {
        let _ = self.queue.push(Slot::Signal(Box::new(Signal::Down(down))));
    }
    fn exit(&self, exit: Exit) {
        let _ = self.queue.push(Slot::Signal(Box::new(Signal::Exit(exit))));
    }
    fn interrupt(&self) {
        self.queue.interrupt();
    }
    fn drop_parked(&self) {
        self.queue.close_parked();
    }
    fn activity(&self) -> Activity {
        self.queue.activity()
    }
    fn inbox_type(&self) -> std::any::TypeId {
        std::any::TypeId::of::<Self>()
    }
}

/// Shared by every handle to one process. `sink` is last so that
/// `Core<Inbox<..>>` coerces to `Core<dyn Sink>`.
pub(crate) struct Core<S: ?Sized> {
    pub(crate) id: u64,
    /// Set when an exit signal has ended this process; checked on every poll
    /// of the process's task without taking the lock.
    exit_pending: AtomicBool,
    /// Set when an exit signal asks a GenServer to stop (see
    /// [`SignalMode::Server`]), or a system request waits for it; checked
    /// by its loop before each message.
    stop_pending: AtomicBool,
    /// The process that spawned this one, for `process::info`. Weak, so
    /// that processes which each spawn the next and end do not keep one
    /// another alive in a chain.
    parent: Option<Weak<Core<dyn Sink>>>,
    /// When it was spawned, as nanoseconds since [`epoch`] (half the size
    /// of an `Instant`, in every process).
    spawned: u64,
    control: Mutex<Control>,
    pub(crate) sink: S,
}

/// How a process takes exit signals (other than `Kill`, which always ends
/// it).
#[derive(Default, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignalMode {
    /// A plain process: ends on an abnormal signal, unless it traps exits.
    #[default]
    Plain,
    /// A GenServer's: a signal it does not trap asks it to stop *now*,
    /// ahead of the messages already queued, so that its loop stops before
    /// the next one and runs `terminate`; one it traps is an `Exit`
    /// message, in order with the others (OTP's gen_server).
    Server {
        /// The server's own trap_exit flag.
        traps: bool,
    },
}

#[derive(Default)]
struct Control {
    /// `Some` once the process is marked ended (the exit protocol started).
    exited: Option<ExitReason>,
    trap_exit: bool,
    mode: SignalMode,
    /// The server type of a GenServer (`Counter`), for its crash report.
    server_type: Option<&'static str>,
    /// What waits for a GenServer's loop beside its mailbox: a stop request
    /// and `sys` requests. Boxed, since most processes never get one and
    /// every process carries the slot.
    requests: Option<Box<Requests>>,
    /// A detached context has no task to end: it always traps exits.
    detached: bool,
    links: ById<u64, AnyPid>,
    /// The monitors other processes hold on this one. Boxed: most
    /// processes are monitored by none, and every one carries the slot (a
    /// pointer, where a vector is three words).
    monitors: Option<Box<Monitors>>,
    /// The monitors this process holds: ref -> monitored process. Written
    /// by the process alone; a monitor that has fired stays until the
    /// process demonitors it or sweeps (see `Ctx::monitor`).
    /// Boxed: most processes hold no monitor, and every one carries the
    /// slot (a pointer, where the map itself is six words).
    #[allow(clippy::box_collection)]
    monitoring: Option<Box<ById<MonitorRef, AnyPid>>>,
    /// Suspended by `sys::suspend` (a GenServer).
    suspended: bool,
    /// Has joined a process group (`pg`): the exit protocol takes it out.
    in_groups: bool,
    /// What tables outside the process layer (keyed registries) ask to run
    /// when it ends. Boxed: most processes have none (a pointer, where the
    /// vector is three words).
    #[allow(clippy::box_collection)]
    exit_hooks: Option<Box<Vec<ExitHook>>>,
    /// The reason an exit signal asked this process to end with.
    pending_exit: Option<ExitReason>,
    /// The reason the process is ending with, known a moment before the
    /// exit protocol runs (while its mailbox is being dropped).
    ending: Option<ExitReason>,
    waker: Option<Waker>,
    name: Option<Arc<str>>,
}

impl<S> Core<S> {
    pub(crate) fn new(id: u64, sink: S, detached: bool, parent: Option<&AnyPid>) -> Self {
        ALIVE.fetch_add(1, Ordering::AcqRel);
        Core {
            id,
            exit_pending: AtomicBool::new(false),
            stop_pending: AtomicBool::new(false),
            parent: parent.map(|parent| parent.core.downgrade()),
            spawned: since_epoch(Instant::now()),
            control: Mutex::new(Control {
                detached,
                trap_exit: detached,
                ..Control::default()
            }),
            sink,
        }
    }
}

/// What waits for a GenServer's loop beside its mailbox.
#[derive(Default)]
struct Requests {
    /// The reason a signal asked the server to stop with (the first one).
    stop: Option<ExitReason>,
    /// `sys` requests, opaque here.
    system: Vec<SystemRequest>,
}

/// What the exit protocol runs for a table outside the process layer.
pub(crate) type ExitHook = Box<dyn FnOnce(&AnyPid) + Send>;

/// A request of `fauxtp::sys`, opaque to the process layer: the GenServer
/// loop knows what it is.
pub(crate) type SystemRequest = Box<dyn std::any::Any + Send>;

/// A process's control block, read at one moment.
pub(crate) struct Snapshot {
    pub(crate) name: Option<String>,
    pub(crate) server: Option<&'static str>,
    pub(crate) exiting: bool,
    pub(crate) suspended: bool,
    pub(crate) trap_exit: bool,
    pub(crate) links: Vec<AnyPid>,
    pub(crate) monitored_by: Vec<AnyPid>,
    /// The processes it monitors, fired monitors included (the caller
    /// filters those, without this lock held).
    pub(crate) monitoring: Vec<AnyPid>,
}

/// What an exit signal did to the process that received it.
enum Effect {
    Ignored,
    Message(Exit),
    /// A GenServer is asked to stop before its next message.
    Stops,
    Ends,
}

impl<S: ?Sized + Sink> Core<S> {
    fn lock(&self) -> MutexGuard<'_, Control> {
        // A panic while holding this lock cannot leave the state half-written
        // in a way that matters more than losing the process, so recover.
        self.control.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn is_alive(&self) -> bool {
        self.lock().exited.is_none()
    }

    /// Records the reason the process is about to end with.
    pub(crate) fn record_reason(&self, reason: &ExitReason) {
        self.lock().ending = Some(reason.clone());
    }

    /// Why the process ended, or is ending; `None` while it runs.
    pub(crate) fn exit_reason(&self) -> Option<ExitReason> {
        let c = self.lock();
        c.exited.clone().or_else(|| c.ending.clone())
    }

    /// Sets how the process takes exit signals (a GenServer's loop does, at
    /// its start and when the server changes its trap_exit flag).
    pub(crate) fn set_signal_mode(&self, mode: SignalMode) {
        self.lock().mode = mode;
    }

    /// Names the process's GenServer type, for its crash report.
    pub(crate) fn set_server_type(&self, server_type: &'static str) {
        self.lock().server_type = Some(server_type);
    }

    /// Whether a stop or system request waits for a GenServer's loop:
    /// one atomic load.
    #[inline]
    pub(crate) fn control_pending(&self) -> bool {
        self.stop_pending.load(Ordering::Acquire)
    }

    /// Takes the reason a signal asked a GenServer to stop with, if one
    /// did, and the system requests waiting: one atomic load when there
    /// are none.
    #[inline]
    pub(crate) fn take_control(&self) -> Option<(Option<ExitReason>, Vec<SystemRequest>)> {
        if !self.stop_pending.load(Ordering::Acquire) {
            return None;
        }
        let mut c = self.lock();
        let (stop, system) = match c.requests.as_deref_mut() {
            Some(requests) => (requests.stop.take(), std::mem::take(&mut requests.system)),
            None => (None, Vec::new()),
        };
        // A stop request ends the loop: the flag may stay up. Otherwise it
        // goes down under the lock, so a request queued later raises it again.
        if stop.is_none() {
            self.stop_pending.store(false, Ordering::Release);
        }
        Some((stop, system))
    }

    /// Queues a system request for a GenServer's loop and wakes it; gives
    /// the request back if this is not a running GenServer.
    pub(crate) fn system_request(&self, request: SystemRequest) -> Result<(), SystemRequest> {
        let mut c = self.lock();
        if c.exited.is_some() || c.ending.is_some() || !matches!(c.mode, SignalMode::Server { .. })
        {
            return Err(request);
        }
        c.requests
            .get_or_insert_with(Box::default)
            .system
            .push(request);
        self.stop_pending.store(true, Ordering::Release);
        self.sink.interrupt();
        Ok(())
    }

    /// Sets the trap_exit flag; returns its previous value.
    pub(crate) fn set_trap_exit(&self, on: bool) -> bool {
        let mut c = self.lock();
        let on = on || c.detached;
        std::mem::replace(&mut c.trap_exit, on)
    }

    /// What [`process::info`](super::info) reports, read under one lock;
    /// `None` once the process has ended.
    pub(crate) fn snapshot(&self) -> Option<Snapshot> {
        let c = self.lock();
        if c.exited.is_some() {
            return None;
        }
        let mut links: Vec<AnyPid> = c.links.values().cloned().collect();
        links.sort_by_key(AnyPid::id);
        let mut monitored_by: Vec<AnyPid> = c
            .monitors
            .iter()
            .flat_map(|m| m.iter())
            .map(|(_, w)| w.clone())
            .collect();
        monitored_by.sort_by_key(AnyPid::id);
        let mut monitoring: Vec<AnyPid> = c
            .monitoring
            .iter()
            .flat_map(|m| m.values())
            .cloned()
            .collect();
        monitoring.sort_by_key(AnyPid::id);
        Some(Snapshot {
            name: c.name.as_deref().map(str::to_owned),
            server: c.server_type,
            exiting: c.pending_exit.is_some() || c.ending.is_some(),
            suspended: c.suspended,
            monitoring,
            trap_exit: match c.mode {
                SignalMode::Server { traps } => traps,
                SignalMode::Plain => c.trap_exit,
            },
            links,
            monitored_by,
        })
    }

    /// The process that spawned this one, while it lives.
    pub(crate) fn parent(&self) -> Option<AnyPid> {
        let parent = self.parent.as_ref()?;
        Handle::upgrade(parent).map(|core| AnyPid { core })
    }

    /// When this process was spawned.
    pub(crate) fn spawned(&self) -> Instant {
        epoch() + std::time::Duration::from_nanos(self.spawned)
    }

    /// Marks a GenServer suspended by `sys::suspend`, or resumed.
    pub(crate) fn set_suspended(&self, on: bool) {
        self.lock().suspended = on;
    }

    /// Adds a hook that the exit protocol runs (with the process's pid)
    /// after its name and groups are released and before its links and
    /// monitors are told; gives it back if the process has ended. Callers
    /// may hold their own table's lock: the hook runs without this one.
    pub(crate) fn add_exit_hook(&self, hook: ExitHook) -> Result<(), ExitHook> {
        let mut c = self.lock();
        if c.exited.is_some() {
            return Err(hook);
        }
        c.exit_hooks.get_or_insert_with(Box::default).push(hook);
        Ok(())
    }

    /// Marks the process as a member of some group; false if it has
    /// ended (see `groups.rs` for the lock order).
    pub(crate) fn enter_groups(&self) -> bool {
        let mut c = self.lock();
        if c.exited.is_some() {
            return false;
        }
        c.in_groups = true;
        true
    }

    /// Records a monitor this process holds.
    pub(crate) fn hold_monitor(&self, monitor: MonitorRef, target: AnyPid) {
        self.lock()
            .monitoring
            .get_or_insert_with(Box::default)
            .insert(monitor, target);
    }

    /// Forgets a monitor this process held; the process it monitored.
    pub(crate) fn release_monitor(&self, monitor: MonitorRef) -> Option<AnyPid> {
        self.lock().monitoring.as_mut()?.remove(&monitor)
    }

    /// The monitors this process holds, fired ones included.
    pub(crate) fn held_monitors(&self) -> Vec<(MonitorRef, AnyPid)> {
        let c = self.lock();
        c.monitoring
            .iter()
            .flat_map(|held| held.iter())
            .map(|(m, p)| (*m, p.clone()))
            .collect()
    }

    /// How many monitors this process holds, fired ones included.
    pub(crate) fn held_monitor_count(&self) -> usize {
        self.lock().monitoring.as_ref().map_or(0, |held| held.len())
    }

    /// Takes every monitor this process holds (when it ends).
    pub(crate) fn take_held_monitors(&self) -> ById<MonitorRef, AnyPid> {
        self.lock()
            .monitoring
            .take()
            .map(|held| *held)
            .unwrap_or_default()
    }

    /// Adds a link end; false if this process has already ended.
    pub(crate) fn add_link(&self, other: &AnyPid) -> bool {
        let mut c = self.lock();
        if c.exited.is_some() {
            return false;
        }
        c.links.insert(other.id(), other.clone());
        true
    }

    pub(crate) fn remove_link(&self, other_id: u64) {
        self.lock().links.remove(&other_id);
    }

    /// Records that `watcher` monitors this process; false if it has ended.
    pub(crate) fn add_monitor(&self, monitor: MonitorRef, watcher: AnyPid) -> bool {
        let mut c = self.lock();
        if c.exited.is_some() {
            return false;
        }
        match c.monitors.as_mut() {
            Some(monitors) => monitors.more.push((monitor, watcher)),
            None => {
                c.monitors = Some(Box::new(Monitors {
                    first: (monitor, watcher),
                    more: Vec::new(),
                }))
            }
        }
        true
    }

    /// Removes a monitor; false if it was not there (already fired, or this
    /// process is gone). Once this returns, no down message for `monitor`
    /// can still be on its way: a dying process delivers its down messages
    /// before it releases this lock.
    pub(crate) fn remove_monitor(&self, monitor: MonitorRef) -> bool {
        let mut c = self.lock();
        let Some(monitors) = c.monitors.as_mut() else {
            return false;
        };
        if monitors.first.0 == monitor {
            match monitors.more.pop() {
                Some(last) => monitors.first = last,
                None => c.monitors = None,
            }
            return true;
        }
        match monitors.more.iter().position(|(m, _)| *m == monitor) {
            Some(i) => {
                monitors.more.swap_remove(i);
                true
            }
            None => false,
        }
    }

    /// Records the registered name; false if the process has ended or
    /// already has a name (the existing name is returned).
    pub(crate) fn set_name(&self, name: &Arc<str>) -> Result<(), Option<Arc<str>>> {
        let mut c = self.lock();
        if c.exited.is_some() {
            return Err(None);
        }
        if let Some(existing) = &c.name {
            return Err(Some(existing.clone()));
        }
        c.name = Some(name.clone());
        Ok(())
    }

    pub(crate) fn clear_name(&self, name: &str) {
        let mut c = self.lock();
        if c.name.as_deref() == Some(name) {
            c.name = None;
        }
    }

    /// Handles an exit signal `reason` from `from`, as OTP does:
    /// `Kill` always ends the process (with `Killed`); otherwise a trapping
    /// process gets an [`Exit`] message; otherwise `Normal` is ignored
    /// (unless the process sent it to itself) and any other reason ends the
    /// process with that reason.
    ///
    /// A signal carried by a link is ignored if the link is gone (unlinked).
    pub(crate) fn exit_signal(&self, from: &AnyPid, reason: &ExitReason, via_link: bool) {
        let mut c = self.lock();
        if c.exited.is_some() || c.pending_exit.is_some() {
            return;
        }
        if via_link && c.links.remove(&from.id()).is_none() {
            return;
        }
        let from_self = from.id() == self.id;
        let effect = match (reason, c.mode) {
            (ExitReason::Kill, _) if !c.detached => Effect::Ends,
            (_, SignalMode::Server { traps: true }) => Effect::Message(Exit {
                from: from.clone(),
                reason: reason.clone(),
            }),
            // `normal` from another process is ignored, as by a plain one.
            (ExitReason::Normal, SignalMode::Server { traps: false }) if !from_self => {
                Effect::Ignored
            }
            (_, SignalMode::Server { traps: false }) => Effect::Stops,
            _ if c.trap_exit => Effect::Message(Exit {
                from: from.clone(),
                reason: reason.clone(),
            }),
            // `exit(self(), normal)` ends the caller; from anyone else,
            // `normal` is ignored.
            (ExitReason::Normal, _) if !via_link && from_self => Effect::Ends,
            (ExitReason::Normal, _) => Effect::Ignored,
            _ => Effect::Ends,
        };
        match effect {
            Effect::Ignored => {}
            // Pushed while the lock is held (the queue's lock is a leaf): a
            // trapped signal over a link lands before an `unlink` that
            // comes after it returns, never after.
            Effect::Message(exit) => self.sink.exit(exit),
            Effect::Stops => {
                let requests = c.requests.get_or_insert_with(Box::default);
                if requests.stop.is_none() {
                    requests.stop = Some(reason.clone());
                    self.stop_pending.store(true, Ordering::Release);
                }
                // Wakes the loop if it waits for a message (the queue's
                // lock is a leaf).
                self.sink.interrupt();
            }
            Effect::Ends => {
                let reason = match reason {
                    ExitReason::Kill => ExitReason::Killed,
                    other => other.clone(),
                };
                c.pending_exit = Some(reason);
                self.exit_pending.store(true, Ordering::Release);
                if let Some(waker) = &c.waker {
                    waker.wake_by_ref();
                }
            }
        }
    }

    /// More messages wait than the process's limit allows (see
    /// `Ctx::set_mailbox_limit`): it ends at once with a reason that says
    /// so, as if killed (nothing can trap it, and a GenServer does not run
    /// `terminate`). A detached context, which has no task, does not end.
    pub(crate) fn overflowed(&self, limit: usize) {
        let mut c = self.lock();
        if c.detached || c.exited.is_some() || c.pending_exit.is_some() {
            return;
        }
        c.pending_exit = Some(ExitReason::error(format!(
            "mailbox overflow: more than {limit} messages waiting"
        )));
        self.exit_pending.store(true, Ordering::Release);
        if let Some(waker) = &c.waker {
            waker.wake_by_ref();
        }
    }

    /// Takes the reason of an exit signal that asked the process to end, if
    /// one did (for a process with no task yet).
    pub(crate) fn take_kill(&self) -> Option<ExitReason> {
        if self.exit_pending.load(Ordering::Acquire) {
            self.lock().pending_exit.take()
        } else {
            None
        }
    }

    /// Called by the process's task on every poll (cheap: one atomic load
    /// unless the waker changed). Returns the reason to end with if an exit
    /// signal asked for it.
    pub(crate) fn poll_exit_signal(
        &self,
        known: &mut Option<Waker>,
        current: &Waker,
    ) -> Option<ExitReason> {
        if !known.as_ref().is_some_and(|w| w.will_wake(current)) {
            self.lock().waker = Some(current.clone());
            *known = Some(current.clone());
        }
        self.take_kill()
    }
}

/// What the rest of the crate may ask of a process, by intent; the control
/// block itself is private to `process`.
impl AnyPid {
    /// Sends this process an exit signal from `from`, as `from`'s
    /// [`Ctx::exit`](super::Ctx::exit) would: not over a link.
    pub(crate) fn signal_from(&self, from: &AnyPid, reason: &ExitReason) {
        self.core.exit_signal(from, reason, false);
    }

    /// Monitors this process on behalf of `watcher`, from outside
    /// `watcher`'s task: the down message goes to `watcher`'s mailbox (at
    /// once, with `NoProc`, if this process has ended).
    pub(crate) fn add_monitor_for(&self, watcher: &AnyPid) -> MonitorRef {
        let monitor = MonitorRef::new();
        if !self.core.add_monitor(monitor, watcher.clone()) {
            watcher.core.sink.down(Down {
                monitor,
                pid: self.clone(),
                reason: ExitReason::NoProc,
            });
        }
        monitor
    }

    /// Removes a monitor on this process; false if it was not there
    /// (already fired: its down message is in the watcher's mailbox).
    pub(crate) fn remove_monitor(&self, monitor: MonitorRef) -> bool {
        self.core.remove_monitor(monitor)
    }
}

impl AnyPid {
    /// See `Core::add_exit_hook`.
    pub(crate) fn add_exit_hook(&self, hook: ExitHook) -> Result<(), ExitHook> {
        self.core.add_exit_hook(hook)
    }

    /// Why the process ended, or is ending; `None` while it runs. A pid
    /// keeps its process's reason for as long as the pid is held: tools
    /// (an observer, a test) can say why a process they know of ended
    /// without having monitored it. To be told when it ends, monitor it.
    pub fn exit_reason(&self) -> Option<ExitReason> {
        self.core.exit_reason()
    }

    /// Queues a `sys` request for this GenServer's loop; gives it back if
    /// this is not a running GenServer.
    pub(crate) fn system_request(&self, request: SystemRequest) -> Result<(), SystemRequest> {
        self.core.system_request(request)
    }

    /// The name the process is registered under, if any.
    pub fn registered_name(&self) -> Option<String> {
        self.core.lock().name.as_deref().map(str::to_owned)
    }
}

impl<M: Send + 'static> super::Pid<M> {
    /// Why the process ended, or is ending; `None` while it runs.
    pub(crate) fn exit_reason(&self) -> Option<ExitReason> {
        self.core.exit_reason()
    }

    /// Takes the reason of an exit signal that asked the process to end, if
    /// one did: for a process whose task has not started yet.
    pub(crate) fn take_pending_kill(&self) -> Option<ExitReason> {
        self.core.take_kill()
    }

    /// Records the reason the process is about to end with, before what it
    /// holds is dropped: a caller whose reply slot goes with it then reads
    /// the reason, not "no reply".
    pub(crate) fn record_ending(&self, reason: &ExitReason) {
        self.core.record_reason(reason);
    }
}

impl AnyPid {
    /// The exit protocol: marks the process ended with `reason`, releases
    /// its registered name, sends exit signals along its links, then
    /// delivers the down messages. Runs once; later calls do nothing.
    pub(crate) fn terminate(&self, reason: ExitReason) {
        let core = &self.core;
        let reason = match reason {
            ExitReason::Kill => ExitReason::Killed,
            other => other,
        };
        // Requests still queued go now; their callers find the reason.
        core.record_reason(&reason);
        core.sink.drop_parked();
        let drop_after;
        let (links, name, server_type, in_groups, hooks) = {
            let mut c = core.lock();
            if c.exited.is_some() {
                return;
            }
            c.exited = Some(reason.clone());
            // Counted out before anyone is told: whoever sees the down
            // message or the exit signal sees the count without it.
            ALIVE.fetch_sub(1, Ordering::AcqRel);
            c.waker = None;
            // System requests still waiting go unanswered: their callers
            // find the reason (dropped below, outside the lock).
            drop_after = c.requests.take();
            (
                std::mem::take(&mut c.links),
                c.name.take(),
                c.server_type,
                c.in_groups,
                c.exit_hooks.take(),
            )
        };
        drop(drop_after);
        super::table::remove(core.id);
        super::report::ended(self, &reason, name.as_deref(), server_type);
        if let Some(name) = name {
            super::names::release(&name, core.id);
        }
        if in_groups {
            super::groups::forget(self);
        }
        for hook in hooks.into_iter().flat_map(|hooks| *hooks) {
            hook(self);
        }
        // Links first, monitors last: whoever holds the down message knows
        // that the linked processes (a supervisor, say) have their exit
        // signal already.
        for linked in links.into_values() {
            linked.core.exit_signal(self, &reason, true);
        }
        // The monitors stay registered until their down messages are in
        // the watchers' mailboxes, delivered under the lock: a demonitor
        // that finds its monitor gone knows its down message has arrived.
        let mut c = core.lock();
        for (monitor, watcher) in c.monitors.take().into_iter().flat_map(|m| (*m).into_iter()) {
            watcher.core.sink.down(Down {
                monitor,
                pid: self.clone(),
                reason: reason.clone(),
            });
        }
    }
}

/// The monitors on a process: the first in the same allocation as the
/// box that holds them, so that being monitored once costs one.
struct Monitors {
    first: (MonitorRef, AnyPid),
    more: Vec<(MonitorRef, AnyPid)>,
}

impl Monitors {
    fn iter(&self) -> impl Iterator<Item = &(MonitorRef, AnyPid)> {
        std::iter::once(&self.first).chain(&self.more)
    }

    fn into_iter(self) -> impl Iterator<Item = (MonitorRef, AnyPid)> {
        std::iter::once(self.first).chain(self.more)
    }
}
