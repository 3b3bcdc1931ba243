//! Supervisor reports, as OTP's logger writes them, through `tracing` with
//! the target `fauxtp::supervisor`: a child that ended abnormally (error),
//! one started again (info), one that failed to start (error), and the
//! supervisor giving up (error). Each names the supervisor and the child.

use crate::genserver::StartError;
use crate::process::{AnyPid, ExitReason};

/// A child ended; reported if it ended abnormally (a child stopped on
/// purpose, or ending `normal` or `shutdown`, is not an error).
pub(super) fn child_ended(supervisor: &AnyPid, child: &str, pid: &AnyPid, reason: &ExitReason) {
    if reason.is_clean() {
        return;
    }
    tracing::error!(
        target: "fauxtp::supervisor",
        supervisor = %supervisor,
        child,
        pid = %pid,
        %reason,
        "supervisor report: child terminated"
    );
}

/// A child was started again; `restarts` counts its restarts so far.
pub(super) fn restarted(supervisor: &AnyPid, child: &str, pid: &AnyPid, restarts: u64) {
    tracing::info!(
        target: "fauxtp::supervisor",
        supervisor = %supervisor,
        child,
        pid = %pid,
        restarts,
        "supervisor report: child restarted"
    );
}

/// A child's start function failed.
pub(super) fn start_failed(supervisor: &AnyPid, child: &str, error: &StartError) {
    tracing::error!(
        target: "fauxtp::supervisor",
        supervisor = %supervisor,
        child,
        %error,
        "supervisor report: child failed to start"
    );
}

/// The supervisor reached its restart intensity and ends with `reason`.
pub(super) fn gave_up(supervisor: &AnyPid, reason: &ExitReason) {
    tracing::error!(
        target: "fauxtp::supervisor",
        supervisor = %supervisor,
        %reason,
        "supervisor report: shutting down, reached the maximum restart intensity"
    );
}
