//! What code that carries signals on behalf of processes needs from
//! outside their tasks: fauxtp-dist's connection tasks and node watcher,
//! which make monitors and deliver exit signals for other nodes' processes
//! in order with the rest of a connection's traffic. Reached through
//! `fauxtp::__private`.

use super::{AnyPid, ExitReason, MonitorRef};

/// Monitors `target` on behalf of `watcher`, from outside `watcher`'s task:
/// the down message goes to `watcher`'s mailbox (at once, with `NoProc`, if
/// `target` has ended).
pub fn monitor_for(watcher: &AnyPid, target: &AnyPid) -> MonitorRef {
    target.add_monitor_for(watcher)
}

/// Sends `to` an exit signal from `from`, as `from`'s `Ctx::exit` would.
pub fn exit_from(from: &AnyPid, to: &AnyPid, reason: ExitReason) {
    to.signal_from(from, &reason);
}

/// Removes a monitor made with [`monitor_for`]; false if it had fired (its
/// down message may be in the watcher's mailbox).
pub fn demonitor_for(target: &AnyPid, monitor: MonitorRef) -> bool {
    target.remove_monitor(monitor)
}
