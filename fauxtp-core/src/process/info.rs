//! `process::info`: what a running process looks like from outside, as
//! Erlang's `erlang:process_info/1`.

use std::time::Duration;

use super::AnyPid;

/// A live process, read at one moment by [`info`].
///
/// `#[non_exhaustive]`: read its fields, do not build it; more may come.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProcessInfo {
    /// The process.
    pub pid: AnyPid,
    /// Its registered name, if it has one.
    pub name: Option<String>,
    /// Its GenServer type (`"Counter"`), for a GenServer.
    pub server: Option<&'static str>,
    /// What it is doing.
    pub status: Status,
    /// How many messages wait in its mailbox (Erlang's
    /// `message_queue_len`), signals included. Exact while the process
    /// waits; while it receives, it may be off by the batch being taken.
    pub mailbox_len: usize,
    /// How many messages it has taken from its mailbox since it was
    /// spawned (signals included; for a GenServer, the messages its loop
    /// has handled or is handling). Skipped ones, left in the mailbox by a
    /// selective receive, are not counted until taken.
    pub messages_handled: u64,
    /// The processes linked to it, by pid order.
    pub links: Vec<AnyPid>,
    /// The processes it monitors, by pid order (one entry per monitor,
    /// and only monitors that have not fired).
    pub monitors: Vec<AnyPid>,
    /// The processes that monitor it, by pid order (one entry per
    /// monitor).
    pub monitored_by: Vec<AnyPid>,
    /// Whether it traps exits (for a GenServer, its own flag).
    pub trap_exit: bool,
    /// The process that spawned it (the one linked to, for `spawn_link`
    /// and `start_link`; the supervisor, for a child), if it was spawned by
    /// a process and that process's pid is still held somewhere (a live
    /// parent always is). Code that is not a process, such as `main` or a
    /// test's own task, is no parent.
    pub parent: Option<AnyPid>,
    /// Its parent, its parent's parent, and so on up to the first process
    /// with no parent (proc_lib's `$ancestors`, as pids; names are a
    /// [`AnyPid::registered_name`] away).
    pub ancestors: Vec<AnyPid>,
    /// How long ago it was spawned.
    pub uptime: Duration,
}

/// What a live process is doing, as far as [`info`] can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Status {
    /// Running, ready to run, or waiting for something other than its
    /// mailbox (a call's reply, a timer, I/O).
    Running,
    /// Waiting for a message in its mailbox (in `recv`, `receive!`, or a
    /// GenServer's loop between messages).
    Waiting,
    /// A GenServer suspended by [`sys::suspend`](crate::sys::suspend):
    /// it handles no message until resumed.
    Suspended,
    /// An exit signal has ended it, or its body has returned, and its
    /// exit protocol has not run yet: it is about to be gone.
    Exiting,
}

/// How far up [`ProcessInfo::ancestors`] goes, at most.
const MAX_ANCESTORS: usize = 64;

/// Reads a process's state (Erlang's `erlang:process_info/1`); `None` once
/// it has ended. Takes the process's lock once, its queue's lock once, and
/// each ancestor's and monitored process's lock once: cheap enough to call
/// on any process at any time, and it never waits on the process itself (a
/// process stuck in a handler still answers).
///
/// ```
/// use fauxtp::prelude::*;
/// use fauxtp::process;
///
/// # #[tokio::main] async fn main() {
/// let mut me = Ctx::<()>::detached();
/// let worker = me.spawn_link(|mut ctx: Ctx<String>| async move {
///     let _ = ctx.recv().await;
///     Ok(())
/// });
/// let info = process::info(&worker).unwrap();
/// assert_eq!(info.links, [me.pid().any()]);
/// assert_eq!(info.parent, Some(me.pid().any()));
/// assert_eq!(info.mailbox_len, 0);
/// # }
/// ```
pub fn info(pid: impl Into<AnyPid>) -> Option<ProcessInfo> {
    let pid = pid.into();
    let snapshot = pid.core.snapshot()?;
    let activity = pid.core.sink.activity();
    let status = if snapshot.exiting {
        Status::Exiting
    } else if snapshot.suspended {
        Status::Suspended
    } else if activity.receiver_waits {
        Status::Waiting
    } else {
        Status::Running
    };
    let parent = pid.core.parent();
    let mut ancestors = Vec::new();
    let mut next = parent.clone();
    while let Some(ancestor) = next {
        if ancestors.len() == MAX_ANCESTORS {
            break;
        }
        next = ancestor.core.parent();
        ancestors.push(ancestor);
    }
    let mut monitors = snapshot.monitoring;
    monitors.retain(AnyPid::is_alive);
    Some(ProcessInfo {
        name: snapshot.name,
        server: snapshot.server,
        status,
        mailbox_len: activity.waiting,
        messages_handled: activity.taken,
        links: snapshot.links,
        monitors,
        monitored_by: snapshot.monitored_by,
        trap_exit: snapshot.trap_exit,
        parent,
        ancestors,
        uptime: pid.core.spawned().elapsed(),
        pid,
    })
}
