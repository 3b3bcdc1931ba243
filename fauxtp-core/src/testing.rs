//! Test helpers: bounded waits, assertions on mailboxes, and a probe that
//! fails the test when a process it watches crashed unseen.
//!
//! ```
//! use fauxtp::prelude::*;
//! use fauxtp::testing::Probe;
//! use std::time::Duration;
//!
//! #[derive(Debug)]
//! enum Msg { Pong(u32), Other }
//!
//! # #[tokio::main] async fn main() {
//! let mut probe = Probe::<Msg>::new();
//! let to = probe.pid();
//! // A process the probe watches: if it crashed and the test never looked,
//! // dropping the probe would fail the test.
//! let worker = probe.spawn(move |_: Ctx<()>| async move {
//!     to.send(Msg::Other)?;
//!     to.send(Msg::Pong(3))?;
//!     Ok(())
//! });
//!
//! // Binds `n` like Elixir's `assert_receive`; other messages stay.
//! assert_receives!(probe, Msg::Pong(n) if n > 1);
//! assert_eq!(n, 3);
//! assert_receives!(probe, Msg::Other);
//! // The watched worker's end is a message too.
//! let reason = probe.expect_down(&worker, Duration::from_secs(1)).await;
//! assert_eq!(reason, ExitReason::Normal);
//! assert_no_message!(probe, Duration::from_millis(10));
//! # }
//! ```
//!
//! Every wait has a bound: a test that does not see its event fails with a
//! message saying what it expected and what it saw, instead of hanging or
//! passing by luck.

use std::collections::HashMap;
use std::fmt::{self, Debug};
use std::future::{Future, IntoFuture};
use std::time::Duration;

use crate::mailbox::Selector;
use crate::process::receive::Receive;
use crate::process::Slot;
use crate::process::{AnyPid, Ctx, ExitReason, MonitorRef, Peek, Pid, ProcessError, ProcessResult};

/// The default bound of the waits of this module: one second, as the Python
/// library's.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(1);

/// Something did not happen in time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} did not happen within {after:?}")]
pub struct TimedOut {
    /// What was waited for.
    pub what: String,
    /// The bound that ran out.
    pub after: Duration,
}

/// Runs `work` (any future, or a [`Call`](crate::Call)), failing with
/// [`TimedOut`] if it takes longer than `limit`.
///
/// ```
/// # #[tokio::main] async fn main() {
/// use fauxtp::testing::with_timeout;
/// use std::time::Duration;
/// assert_eq!(with_timeout(Duration::from_secs(1), async { 42 }).await, Ok(42));
/// let slow = with_timeout(Duration::from_millis(5), std::future::pending::<()>()).await;
/// assert!(slow.is_err());
/// # }
/// ```
pub async fn with_timeout<F: IntoFuture>(limit: Duration, work: F) -> Result<F::Output, TimedOut> {
    tokio::time::timeout(limit, work.into_future())
        .await
        .map_err(|_| TimedOut {
            what: "the awaited work".to_owned(),
            after: limit,
        })
}

/// Waits until `condition` holds, checking it every millisecond, at most
/// `limit`.
///
/// For conditions no message announces (a name being registered, a count);
/// when a message or a down says it, wait for that instead.
pub async fn wait_for(
    mut condition: impl FnMut() -> bool,
    limit: Duration,
) -> Result<(), TimedOut> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if condition() {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(TimedOut {
                what: "the condition".to_owned(),
                after: limit,
            });
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// A process the test owns: it collects what it is sent, monitors or links
/// the processes it watches, and fails the test when one of them crashed and
/// the test never looked at it.
///
/// Use it as the context of [`receive!`](crate::receive),
/// [`assert_receives!`](crate::assert_receives) and
/// [`assert_no_message!`](crate::assert_no_message). A watched process that
/// ended with an abnormal reason (not `Normal` or `Shutdown`) leaves a down
/// message; if the test has not taken it (with [`Probe::expect_down`], or a
/// `Down(..)` pattern) when the probe is dropped, the drop panics and names
/// the process and its reason. This catches the panic that would otherwise
/// go unseen in a background process.
pub struct Probe<M: Send + 'static = ()> {
    ctx: Ctx<M>,
    watched: HashMap<MonitorRef, AnyPid>,
    linked: Vec<AnyPid>,
}

impl<M: Send + 'static> Default for Probe<M> {
    fn default() -> Self {
        Probe::new()
    }
}

impl<M: Send + 'static> Probe<M> {
    /// A probe: a detached process with a mailbox of `M`.
    pub fn new() -> Self {
        Probe {
            ctx: Ctx::detached(),
            watched: HashMap::new(),
            linked: Vec::new(),
        }
    }

    /// The probe's pid, to give to the processes under test.
    pub fn pid(&self) -> Pid<M> {
        self.ctx.pid()
    }

    /// The probe's context, for anything a [`Ctx`] does.
    pub fn ctx(&mut self) -> &mut Ctx<M> {
        &mut self.ctx
    }

    /// Watches `pid`: monitors it, so that a crash the test does not take
    /// fails the test when the probe is dropped.
    pub fn watch(&mut self, pid: impl Into<AnyPid>) -> MonitorRef {
        let pid = pid.into();
        let monitor = self.ctx.monitor(&pid);
        self.watched.insert(monitor, pid);
        monitor
    }

    /// Links the probe with `pid`. The probe traps exits (it is detached),
    /// so the process's exit arrives as an [`Exit`](crate::Exit) message;
    /// an abnormal one the test does not take fails the test at drop time,
    /// as for a watched process.
    pub fn link(&mut self, pid: impl Into<AnyPid>) -> Result<(), ProcessError> {
        let pid = pid.into();
        self.ctx.link(&pid)?;
        self.linked.push(pid);
        Ok(())
    }

    /// Spawns a process and watches it (the monitor is in place before the
    /// process runs, so even an immediate crash is seen).
    pub fn spawn<N, F, Fut>(&mut self, body: F) -> Pid<N>
    where
        N: Send + 'static,
        F: FnOnce(Ctx<N>) -> Fut + Send + 'static,
        Fut: Future<Output = ProcessResult> + Send + 'static,
    {
        let (pid, monitor) = self.ctx.spawn_monitor(body);
        self.watched.insert(monitor, pid.any());
        pid
    }

    /// Waits for the end of `pid` (watched or not) and returns its reason;
    /// the crash, if it was one, counts as seen. Fails the test after
    /// `within`.
    pub async fn expect_down(&mut self, pid: impl Into<AnyPid>, within: Duration) -> ExitReason {
        let pid = pid.into();
        let monitor = match self.watched.iter().find(|(_, p)| **p == pid) {
            Some((monitor, _)) => *monitor,
            None => self.watch(&pid),
        };
        let down = self.ctx.take_down(monitor, Some(within)).await;
        self.watched.remove(&monitor);
        match down {
            Some(down) => down.reason,
            None => panic!("expected {pid} to end within {within:?}, but it is still running"),
        }
    }

    /// Panics if a watched or linked process crashed and the test has not
    /// taken its down (or exit) message. Dropping the probe does this
    /// check. A process that had already ended when it was watched (reason
    /// `NoProc`) is not counted: how it ended is unknown.
    pub fn check(&mut self) {
        let crashed = |reason: &ExitReason| !reason.is_clean() && *reason != ExitReason::NoProc;
        let (watched, linked) = (&self.watched, &self.linked);
        let crashed: Vec<String> = self
            .ctx
            .messages()
            .filter_map(|entry| match entry {
                Peek::Down(d) if watched.contains_key(&d.monitor) && crashed(&d.reason) => {
                    Some(format!("{} ended with {}", d.pid, d.reason))
                }
                Peek::Exit(e) if linked.contains(&e.from) && crashed(&e.reason) => {
                    Some(format!("{} (linked) ended with {}", e.from, e.reason))
                }
                _ => None,
            })
            .collect();
        if !crashed.is_empty() {
            panic!(
                "a process the probe watched crashed and the test did not look: {}",
                crashed.join("; ")
            );
        }
    }
}

impl<M: Send + 'static> Drop for Probe<M> {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.check();
        }
    }
}

impl<M: Send + 'static> fmt::Debug for Probe<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Probe")
            .field("pid", &self.ctx.pid())
            .field("watched", &self.watched.len())
            .finish_non_exhaustive()
    }
}

impl<M: Send + 'static> Receive for Probe<M> {
    type Entry = Slot<M>;
    fn selector(&mut self, after: Option<Duration>) -> Selector<'_, Self::Entry> {
        Receive::selector(&mut self.ctx, after)
    }
}

/// What `assert_receives!` and `assert_no_message!` call: the failure
/// messages, and a mailbox's contents for them. Reached through
/// `fauxtp::__private`.
pub(crate) mod support {
    use std::fmt::Debug;
    use std::time::Duration;

    use crate::process::Ctx;

    /// What the test macros need of a mailbox: to show what it holds.
    pub trait Inspect {
        /// Every entry in the mailbox, for a failure message.
        fn __describe_mailbox(&mut self) -> String;
    }

    impl<M: Send + Debug + 'static> Inspect for Ctx<M> {
        fn __describe_mailbox(&mut self) -> String {
            let entries: Vec<String> = self.messages().map(|e| format!("{e:?}")).collect();
            if entries.is_empty() {
                "nothing".to_owned()
            } else {
                entries.join(", ")
            }
        }
    }

    impl<M: Send + Debug + 'static> Inspect for super::Probe<M> {
        fn __describe_mailbox(&mut self) -> String {
            self.ctx.__describe_mailbox()
        }
    }

    /// The failure of [`assert_receives!`](crate::assert_receives).
    #[track_caller]
    pub fn no_match(mailbox: String, pattern: &str, within: Duration) -> ! {
        panic!(
            "expected a message matching `{pattern}` within {within:?}; the mailbox holds: {mailbox}"
        )
    }

    /// The failure of [`assert_no_message!`](crate::assert_no_message).
    #[track_caller]
    pub fn unexpected<E: Debug>(entry: E, within: Duration) -> ! {
        panic!("expected no message within {within:?}, got {entry:?}")
    }
}
