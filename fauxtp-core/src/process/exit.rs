//! Exit reasons and the two signals a process can receive as messages.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::pid::AnyPid;

/// Why a process ended, as in Erlang.
///
/// Every process ends with exactly one reason. Links propagate every reason
/// but [`Normal`](ExitReason::Normal); monitors report every reason.
///
/// A process body returns `Result<(), ExitReason>`; `?` turns any
/// [`std::error::Error`] into [`ExitReason::Error`] with the error's text, so
/// most bodies never name this type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExitReason {
    /// The process finished its work (its body returned `Ok(())`).
    /// Linked processes are not affected.
    Normal,
    /// The process was asked to stop (by its supervisor, say). Abnormal for
    /// links, but not an error worth reporting.
    Shutdown,
    /// The untrappable exit signal: send it with
    /// [`Ctx::exit`](crate::Ctx::exit) to end a process even if it traps
    /// exits. The process then ends with [`Killed`](ExitReason::Killed).
    /// A process never ends with `Kill` itself.
    Kill,
    /// The process was killed: it received [`Kill`](ExitReason::Kill), or its
    /// task was dropped (its tokio runtime shut down) before it ended.
    Killed,
    /// There was no such process: the reason of the down message you get when
    /// you monitor a process that has already ended.
    NoProc,
    /// The process failed: its body returned an error (the text is the
    /// error's `Display`), or it received an exit signal with this reason.
    Error(Arc<str>),
    /// The process panicked; the text is the panic message.
    Panic(Arc<str>),
    /// Asked to stop, with a value that says why (OTP's
    /// `{shutdown, Term}`, the term as text): clean, as
    /// [`Shutdown`](ExitReason::Shutdown) is (a transient child is not
    /// restarted, no crash report), and visible to links and monitors.
    ShutdownWith(Arc<str>),
}

impl ExitReason {
    /// An [`Error`](ExitReason::Error) reason with the given text.
    ///
    /// ```
    /// use fauxtp::ExitReason;
    /// let reason = ExitReason::error("disk full");
    /// assert_eq!(reason.to_string(), "disk full");
    /// ```
    pub fn error(text: impl fmt::Display) -> Self {
        ExitReason::Error(text.to_string().into())
    }

    /// A [`ShutdownWith`](ExitReason::ShutdownWith) reason: a clean stop
    /// that says why.
    ///
    /// ```
    /// use fauxtp::ExitReason;
    /// let reason = ExitReason::shutdown_with("config reloaded");
    /// assert!(reason.is_clean());
    /// assert_eq!(reason.to_string(), "shutdown: config reloaded");
    /// ```
    pub fn shutdown_with(value: impl fmt::Display) -> Self {
        ExitReason::ShutdownWith(value.to_string().into())
    }

    /// True for [`Normal`](ExitReason::Normal) only: the one reason links do
    /// not propagate.
    pub fn is_normal(&self) -> bool {
        matches!(self, ExitReason::Normal)
    }

    /// True for [`Normal`](ExitReason::Normal),
    /// [`Shutdown`](ExitReason::Shutdown) and
    /// [`ShutdownWith`](ExitReason::ShutdownWith): the reasons that mean
    /// "stopped on purpose" (OTP does not restart a transient child for
    /// them, and does not report them as crashes).
    pub fn is_clean(&self) -> bool {
        matches!(
            self,
            ExitReason::Normal | ExitReason::Shutdown | ExitReason::ShutdownWith(_)
        )
    }
}

impl fmt::Display for ExitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitReason::Normal => f.write_str("normal"),
            ExitReason::Shutdown => f.write_str("shutdown"),
            ExitReason::Kill => f.write_str("kill"),
            ExitReason::Killed => f.write_str("killed"),
            ExitReason::NoProc => f.write_str("noproc"),
            ExitReason::Error(text) => f.write_str(text),
            ExitReason::Panic(text) => write!(f, "panicked: {text}"),
            ExitReason::ShutdownWith(value) => write!(f, "shutdown: {value}"),
        }
    }
}

/// Any error ends a process with its text as an [`ExitReason::Error`]; this
/// is what makes `?` work in a process body.
impl<E: std::error::Error> From<E> for ExitReason {
    fn from(error: E) -> Self {
        ExitReason::error(error)
    }
}

static NEXT_REF: AtomicU64 = AtomicU64::new(1);

/// Identifies one monitor: the `monitor` field of the [`Down`] message it
/// delivers, and what [`Ctx::demonitor`](crate::Ctx::demonitor) takes.
///
/// Unique for the life of the program; prints like an Erlang reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MonitorRef(pub(crate) u64);

impl MonitorRef {
    pub(crate) fn new() -> Self {
        MonitorRef(NEXT_REF.fetch_add(1, Ordering::Relaxed))
    }
}

impl fmt::Display for MonitorRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#Ref<0.{}>", self.0)
    }
}

/// The message a monitor delivers, exactly once, when the monitored process
/// ends (Erlang's `{'DOWN', Ref, process, Pid, Reason}`).
///
/// Match it in [`receive!`](crate::receive) with a bare `Down(..)` pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Down {
    /// The monitor that fired, as [`Ctx::monitor`](crate::Ctx::monitor)
    /// returned it.
    pub monitor: MonitorRef,
    /// The process that ended.
    pub pid: AnyPid,
    /// Why it ended; [`ExitReason::NoProc`] if it had already ended when the
    /// monitor was set up.
    pub reason: ExitReason,
}

/// An exit signal turned into a message, for a process that traps exits
/// (Erlang's `{'EXIT', From, Reason}`).
///
/// Match it in [`receive!`](crate::receive) with a bare `Exit(..)` pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exit {
    /// The process the signal came from: a linked process that ended, or the
    /// sender of [`Ctx::exit`](crate::Ctx::exit).
    pub from: AnyPid,
    /// The exit reason it carries.
    pub reason: ExitReason,
}
