//! Process groups, as OTP's `pg` (OTP 23 and later): named groups of
//! processes, in scopes, for pub/sub and for finding the processes that do
//! a job.
//!
//! - **Scopes** keep groups apart: [`Scope::default`] (OTP's `pg`) and
//!   named ones ([`Scope::new`]). The free functions use the default scope.
//! - **Join and leave.** A process may join a group several times and must
//!   leave as many times; it may be in many groups. A process that ends
//!   leaves all its groups by itself, before its links and monitors hear of
//!   it.
//! - **Typed reads.** [`members`] gives `Pid<M>`s. A group read with
//!   another message type than its members joined with is an error
//!   ([`PgError::WrongType`]), not a panic; [`members_any`] reads any
//!   group.
//! - **Watching.** [`monitor`] gives the members now, and from then on a
//!   [`PgEvent`] message for each join and leave.
//!
//! ```
//! use fauxtp::prelude::*;
//! use fauxtp::pg;
//!
//! # #[tokio::main] async fn main() {
//! let worker = |mut ctx: Ctx<String>| async move {
//!     let _ = ctx.recv().await;
//!     Ok(())
//! };
//! let a = fauxtp::spawn(worker);
//! let b = fauxtp::spawn(worker);
//! pg::join("pg-doc-workers", &a).unwrap();
//! pg::join("pg-doc-workers", &b).unwrap();
//! for member in pg::members::<String>("pg-doc-workers").unwrap() {
//!     member.send("work".to_owned()).unwrap();
//! }
//! # }
//! ```
//!
//! These groups hold this program's processes. To share a scope with other
//! nodes, Erlang's, Elixir's and fauxtp's, as Erlang's `pg` does, the
//! distribution layer has `fauxtp::dist::PgScope` (`Node::pg_scope`).

use std::any::TypeId;
use std::sync::Arc;

use crate::process::groups::{self, Change, Member};
use crate::process::{AnyPid, Pid};

/// Why a group operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PgError {
    /// The process has ended: it cannot join.
    #[error("{pid} cannot join group {group:?}: it has ended")]
    NoProc {
        /// The process.
        pid: AnyPid,
        /// The group.
        group: String,
    },
    /// The process is not in the group (or has left it as often as it
    /// joined).
    #[error("{pid} is not a member of group {group:?}")]
    NotJoined {
        /// The process.
        pid: AnyPid,
        /// The group.
        group: String,
    },
    /// A member joined with another message type than the one read with.
    #[error("group {group:?} has a member of message type {found}, read as {expected}")]
    WrongType {
        /// The group.
        group: String,
        /// The type asked for.
        expected: &'static str,
        /// A member's type.
        found: &'static str,
    },
    /// Group names are not empty.
    #[error("a group's name cannot be empty")]
    EmptyName,
}

/// A join or a leave in a watched group, as [`monitor`] sends it: the
/// watcher's message type converts from it (`impl From<PgEvent> for
/// MyMsg`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PgEvent {
    /// The watch that sent it.
    pub monitor: PgMonitor,
    /// Joined or left.
    pub kind: PgChange,
    /// Who joined or left (one entry per join or leave).
    pub pids: Vec<AnyPid>,
}

/// What happened in a watched group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PgChange {
    /// The processes joined.
    Joined,
    /// The processes left, or ended.
    Left,
}

/// A watch on a group, from [`monitor`]; give it to [`demonitor`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PgMonitor {
    scope: Arc<str>,
    group: Arc<str>,
    id: u64,
}

impl PgMonitor {
    /// The watched group.
    pub fn group(&self) -> &str {
        &self.group
    }
}

/// A scope: a namespace of groups (OTP's `pg` scope).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    name: Arc<str>,
}

impl Default for Scope {
    /// The default scope (OTP's `pg`), which the free functions use.
    fn default() -> Self {
        Scope::new("pg")
    }
}

fn check_name(group: &str) -> Result<(), PgError> {
    if group.is_empty() {
        Err(PgError::EmptyName)
    } else {
        Ok(())
    }
}

impl Scope {
    /// The scope named `name`; scopes need no starting.
    pub fn new(name: &str) -> Scope {
        Scope { name: name.into() }
    }

    /// The scope's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Adds `pid` to `group`, once more if it is there already.
    ///
    /// # Errors
    ///
    /// [`PgError::NoProc`] if it has ended; [`PgError::EmptyName`].
    pub fn join<M: Send + 'static>(&self, group: &str, pid: &Pid<M>) -> Result<(), PgError> {
        check_name(group)?;
        let member = Member {
            pid: pid.any(),
            message_type: TypeId::of::<M>(),
            message_type_name: std::any::type_name::<M>(),
        };
        if groups::join(&self.name, group, member) {
            Ok(())
        } else {
            Err(PgError::NoProc {
                pid: pid.any(),
                group: group.to_owned(),
            })
        }
    }

    /// Takes one of `pid`'s memberships of `group` away.
    ///
    /// # Errors
    ///
    /// [`PgError::NotJoined`] if it has none left.
    pub fn leave(&self, group: &str, pid: impl Into<AnyPid>) -> Result<(), PgError> {
        let pid = pid.into();
        if groups::leave(&self.name, group, &pid) {
            Ok(())
        } else {
            Err(PgError::NotJoined {
                pid,
                group: group.to_owned(),
            })
        }
    }

    /// The members of `group` (one entry per join, in join order), typed;
    /// an empty list for a group with no member.
    ///
    /// # Errors
    ///
    /// [`PgError::WrongType`] if a member joined with another message
    /// type than `M`.
    pub fn members<M: Send + 'static>(&self, group: &str) -> Result<Vec<Pid<M>>, PgError> {
        let read = groups::members(&self.name, group, |m| {
            if m.message_type == TypeId::of::<M>() {
                Ok(m.pid.downcast::<M>())
            } else {
                Err(m.message_type_name)
            }
        });
        read.into_iter()
            .filter_map(|member| match member {
                // The type matched: the downcast succeeds.
                Ok(pid) => pid.map(Ok),
                Err(found) => Some(Err(PgError::WrongType {
                    group: group.to_owned(),
                    expected: std::any::type_name::<M>(),
                    found,
                })),
            })
            .collect()
    }

    /// The members of `group`, whatever their message types.
    pub fn members_any(&self, group: &str) -> Vec<AnyPid> {
        groups::members(&self.name, group, |m| m.pid.clone())
    }

    /// The members on this node: all of them, since these tables hold this
    /// program's processes (the distinction is OTP's `get_local_members`;
    /// `fauxtp::dist::PgScope` has the members on other nodes).
    ///
    /// # Errors
    ///
    /// As [`members`](Scope::members).
    pub fn local_members<M: Send + 'static>(&self, group: &str) -> Result<Vec<Pid<M>>, PgError> {
        self.members(group)
    }

    /// The groups with at least one member, sorted.
    pub fn which_groups(&self) -> Vec<String> {
        groups::which_groups(&self.name)
    }

    /// Watches `group`: returns the watch and the members now; from then
    /// on, `watcher` gets a [`PgEvent`] for each join and each leave
    /// (including members that end), until [`demonitor`](Scope::demonitor)
    /// or until it ends.
    pub fn monitor<M>(&self, group: &str, watcher: &Pid<M>) -> (PgMonitor, Vec<AnyPid>)
    where
        M: From<PgEvent> + Send + 'static,
    {
        let watcher = watcher.clone();
        let notify = Arc::new(move |change: Change| {
            let event = PgEvent {
                monitor: PgMonitor {
                    scope: change.scope,
                    group: change.group,
                    id: change.watch,
                },
                kind: if change.joined {
                    PgChange::Joined
                } else {
                    PgChange::Left
                },
                pids: change.pids,
            };
            watcher.send(event).is_ok()
        });
        let (id, members) = groups::watch(&self.name, group, notify);
        let monitor = PgMonitor {
            scope: self.name.clone(),
            group: group.into(),
            id,
        };
        (monitor, members)
    }

    /// Stops a watch; false if it had stopped already. Events already sent
    /// may still be in the watcher's mailbox.
    pub fn demonitor(&self, monitor: &PgMonitor) -> bool {
        groups::unwatch(&monitor.scope, &monitor.group, monitor.id)
    }
}

/// [`Scope::join`] in the default scope.
///
/// # Errors
///
/// As [`Scope::join`].
pub fn join<M: Send + 'static>(group: &str, pid: &Pid<M>) -> Result<(), PgError> {
    Scope::default().join(group, pid)
}

/// [`Scope::leave`] in the default scope.
///
/// # Errors
///
/// As [`Scope::leave`].
pub fn leave(group: &str, pid: impl Into<AnyPid>) -> Result<(), PgError> {
    Scope::default().leave(group, pid)
}

/// [`Scope::members`] in the default scope.
///
/// # Errors
///
/// As [`Scope::members`].
pub fn members<M: Send + 'static>(group: &str) -> Result<Vec<Pid<M>>, PgError> {
    Scope::default().members(group)
}

/// [`Scope::members_any`] in the default scope.
pub fn members_any(group: &str) -> Vec<AnyPid> {
    Scope::default().members_any(group)
}

/// [`Scope::local_members`] in the default scope.
///
/// # Errors
///
/// As [`Scope::members`].
pub fn local_members<M: Send + 'static>(group: &str) -> Result<Vec<Pid<M>>, PgError> {
    Scope::default().local_members(group)
}

/// [`Scope::which_groups`] in the default scope.
pub fn which_groups() -> Vec<String> {
    Scope::default().which_groups()
}

/// [`Scope::monitor`] in the default scope.
pub fn monitor<M>(group: &str, watcher: &Pid<M>) -> (PgMonitor, Vec<AnyPid>)
where
    M: From<PgEvent> + Send + 'static,
{
    Scope::default().monitor(group, watcher)
}

/// [`Scope::demonitor`] (in the watch's own scope).
pub fn demonitor(monitor: &PgMonitor) -> bool {
    groups::unwatch(&monitor.scope, &monitor.group, monitor.id)
}
