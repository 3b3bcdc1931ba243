//! Supervisors: start children, watch them, restart them by OTP's rules.
//!
//! A supervisor starts its children in order, each linked to it, and traps
//! their exits. When a child ends, its [`Restart`] type says whether it is
//! started again, and the [`Strategy`] which siblings are restarted with it.
//! More than `max_restarts` restarts within `max_seconds` make the
//! supervisor give up: it stops all its children, in reverse order, and ends
//! with an error, so that its own supervisor applies its strategy
//! (escalation).
//!
//! Trees are usually declared with [`supervisor!`](crate::supervisor!); this
//! module is the runtime it uses, usable on its own:
//!
//! ```
//! use fauxtp::prelude::*;
//! use fauxtp::supervisor::{Strategy, Supervisor, SupervisorSpec};
//!
//! struct Worker;
//!
//! #[genserver]
//! impl Worker {
//!     fn init() -> Self { Worker }
//!     #[call] fn ping(&self) -> &'static str { "pong" }
//! }
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let spec = SupervisorSpec::new(Strategy::OneForOne)
//!     .intensity(3, std::time::Duration::from_secs(5))
//!     .child(Worker::child(()).id("a").named("supervisor-doc-a"))
//!     .child(Worker::child(()).id("b").transient());
//! let sup = Supervisor::start(spec).await?;
//! let children = sup.which_children().await?;
//! assert_eq!(children.len(), 2);
//! let a: Pid<WorkerMsg> = fauxtp::registry::whereis("supervisor-doc-a")?;
//! assert_eq!(a.ping().await?, "pong");
//! # Ok(()) }
//! ```
//!
//! Every child is a process linked to its supervisor: a `#[genserver]`
//! ([`Supervise::child`]), a plain process ([`ChildSpec::process`]), another
//! supervisor, or anything a [`ChildSpec::new`] start function starts.

mod client;
mod intensity;
pub(crate) mod macro_support;
mod report;
mod server;
mod shutdown;
mod spec;
mod tree;

use std::time::Duration;

pub use self::client::{SupervisorClient, SupervisorMsg};
pub use self::server::Supervisor;
pub use self::spec::{
    ChildKind, ChildSpec, Launch, Restart, Shutdown, Supervise, DEFAULT_SHUTDOWN,
};
pub use self::tree::{tree, ChildNode, SupervisorNode};

use crate::genserver::{CallError, StartError};
use crate::process::AnyPid;

/// Which children are restarted when one ends (OTP's strategies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Strategy {
    /// Only the child that ended.
    OneForOne,
    /// All children: the others are stopped (in reverse order), then all are
    /// started again in order.
    OneForAll,
    /// The child that ended and the ones started after it.
    RestForOne,
}

/// What a supervisor starts with: its strategy, restart intensity and
/// children. Cloneable, so that a supervisor can itself be a child.
#[derive(Debug, Clone)]
pub struct SupervisorSpec {
    strategy: Strategy,
    max_restarts: u32,
    max_seconds: Duration,
    children: Vec<ChildSpec>,
    dynamic: bool,
    max_children: Option<usize>,
    auto_shutdown: AutoShutdown,
}

/// When a supervisor stops by itself because its significant children
/// have ended (OTP 24's `auto_shutdown`; see
/// [`ChildSpec::significant`](crate::supervisor::ChildSpec::significant)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AutoShutdown {
    /// Never (the default).
    #[default]
    Never,
    /// As soon as one significant child has ended for good.
    AnySignificant,
    /// Once every significant child has ended for good.
    AllSignificant,
}

impl SupervisorSpec {
    /// A supervisor with `strategy`, no children yet, and OTP's default
    /// intensity: at most 3 restarts within 5 seconds.
    pub fn new(strategy: Strategy) -> Self {
        SupervisorSpec {
            strategy,
            max_restarts: 3,
            max_seconds: Duration::from_secs(5),
            children: Vec::new(),
            dynamic: false,
            max_children: None,
            auto_shutdown: AutoShutdown::Never,
        }
    }

    /// A dynamic supervisor (Elixir's `DynamicSupervisor`, OTP's
    /// `simple_one_for_one`): no children at start, children added with
    /// `start_child` at run time, each restarted on its own
    /// (one_for_one). Children are told apart by pid; their ids are made
    /// unique. Worker pools and per-connection servers use it.
    pub fn dynamic() -> Self {
        SupervisorSpec {
            dynamic: true,
            ..SupervisorSpec::new(Strategy::OneForOne)
        }
    }

    /// Allows at most `max_restarts` restarts within `within`; one more
    /// makes the supervisor give up.
    pub fn intensity(mut self, max_restarts: u32, within: Duration) -> Self {
        self.max_restarts = max_restarts;
        self.max_seconds = within;
        self
    }

    /// Adds a child, started after the ones before it.
    pub fn child(mut self, child: ChildSpec) -> Self {
        self.children.push(child);
        self
    }

    /// Limits the number of running children (a dynamic supervisor's, say):
    /// `start_child` beyond it fails with [`SupervisorError::MaxChildren`].
    pub fn max_children(mut self, max: usize) -> Self {
        self.max_children = Some(max);
        self
    }

    /// Stops the supervisor (and its other children, in order, with reason
    /// `shutdown`) when any or all of its significant children have ended
    /// and are not restarted (OTP 24's `auto_shutdown`). A tree that does a
    /// job and ends with it.
    pub fn auto_shutdown(mut self, when: AutoShutdown) -> Self {
        self.auto_shutdown = when;
        self
    }
}

/// A child as [`SupervisorClient::which_children`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildInfo {
    /// The child's id.
    pub id: String,
    /// Its process, if it is running.
    pub pid: Option<AnyPid>,
    /// Worker or supervisor.
    pub kind: ChildKind,
    /// Its restart type.
    pub restart: Restart,
}

/// How many children a supervisor has, as
/// [`SupervisorClient::count_children`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChildCounts {
    /// Child specs, running or not.
    pub specs: usize,
    /// Running children.
    pub active: usize,
    /// Children that are supervisors.
    pub supervisors: usize,
    /// Children that are workers.
    pub workers: usize,
}

/// Why a supervisor operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SupervisorError {
    /// No child has this id.
    #[error("the supervisor has no child {0:?}")]
    NotFound(String),
    /// No child has this pid.
    #[error("{0} is not a child of the supervisor")]
    NotAChild(AnyPid),
    /// The child is running; terminate it first.
    #[error("child {0:?} is running; terminate it first")]
    Running(String),
    /// Another child already has this id.
    #[error("the supervisor already has a child {0:?}")]
    AlreadyPresent(String),
    /// The child's start function failed.
    #[error("child {id:?} failed to start: {error}")]
    StartFailed {
        /// The child's id.
        id: String,
        /// Why it did not start.
        error: StartError,
    },
    /// The dynamic supervisor runs as many children as it may.
    #[error("the supervisor already runs its maximum of {0} children")]
    MaxChildren(usize),
    /// The call to the supervisor failed (it is not alive, say).
    #[error(transparent)]
    Call(#[from] CallError),
}
