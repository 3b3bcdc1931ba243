//! Crash reports, as OTP's logger writes them, through `tracing` with the
//! target `fauxtp::process`: a process that ends with an error or a panic
//! is an error event (`crash report`), one that is killed a debug event.
//! `normal`, `shutdown` and `noproc` are not reported. With no subscriber
//! installed, an event costs one check of an atomic.

use super::{AnyPid, ExitReason};

/// Reports how a process ended, from its exit protocol.
pub(super) fn ended(pid: &AnyPid, reason: &ExitReason, name: Option<&str>, server: Option<&str>) {
    match reason {
        ExitReason::Panic(message) => tracing::error!(
            target: "fauxtp::process",
            pid = %pid,
            name,
            server,
            %reason,
            panic = &**message,
            location = super::unwind::panic_location(pid.id()),
            "crash report: process panicked"
        ),
        ExitReason::Error(_) => tracing::error!(
            target: "fauxtp::process",
            pid = %pid,
            name,
            server,
            %reason,
            "crash report: process ended with an error"
        ),
        ExitReason::Killed => tracing::debug!(
            target: "fauxtp::process",
            pid = %pid,
            name,
            server,
            "process killed"
        ),
        _ => {}
    }
}
