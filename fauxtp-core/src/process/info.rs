//! `process::info`: what a running process looks like from outside, as
//! Erlang's `erlang:process_info/1`.

use super::AnyPid;

/// A live process, read at one moment by [`info`].
///
/// More fields will come (the issue tracking introspection lists parent
/// and ancestors, spawn time, messages handled), so the struct is
/// `#[non_exhaustive]`: read its fields, do not build it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProcessInfo {
    /// The process.
    pub pid: AnyPid,
    /// Its registered name, if it has one.
    pub name: Option<String>,
    /// Its GenServer type (`"Counter"`), for a GenServer.
    pub server: Option<&'static str>,
    /// Whether it runs or is on its way out.
    pub status: Status,
    /// How many messages wait in its mailbox (Erlang's
    /// `message_queue_len`), signals included. Exact while the process
    /// waits; while it receives, it may be off by the batch being taken.
    pub mailbox_len: usize,
    /// The processes linked to it, by pid order.
    pub links: Vec<AnyPid>,
    /// The processes that monitor it, by pid order (one entry per
    /// monitor).
    pub monitored_by: Vec<AnyPid>,
    /// Whether it traps exits (for a GenServer, its own flag).
    pub trap_exit: bool,
}

/// What a live process is doing, as far as [`info`] can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Status {
    /// Alive, and not on its way out.
    Running,
    /// An exit signal has ended it, or its body has returned, and its
    /// exit protocol has not run yet: it is about to be gone.
    Exiting,
}

/// Reads a process's state (Erlang's `erlang:process_info/1`); `None` once
/// it has ended. Takes the process's lock once, and its queue's lock once
/// for the mailbox length: cheap enough to call on any process at any time,
/// and it never waits on the process itself (a process stuck in a handler
/// still answers).
///
/// ```
/// use fauxtp::prelude::*;
/// use fauxtp::process::{self, Status};
///
/// # #[tokio::main] async fn main() {
/// let mut me = Ctx::<()>::detached();
/// let worker = me.spawn_link(|mut ctx: Ctx<String>| async move {
///     let _ = ctx.recv().await;
///     Ok(())
/// });
/// let info = process::info(&worker).unwrap();
/// assert_eq!(info.status, Status::Running);
/// assert_eq!(info.links, [me.pid().any()]);
/// assert_eq!(info.mailbox_len, 0);
/// # }
/// ```
pub fn info(pid: impl Into<AnyPid>) -> Option<ProcessInfo> {
    let pid = pid.into();
    let snapshot = pid.core.snapshot()?;
    Some(ProcessInfo {
        mailbox_len: pid.core.sink.waiting(),
        name: snapshot.name,
        server: snapshot.server,
        status: if snapshot.exiting {
            Status::Exiting
        } else {
            Status::Running
        },
        links: snapshot.links,
        monitored_by: snapshot.monitored_by,
        trap_exit: snapshot.trap_exit,
        pid,
    })
}
