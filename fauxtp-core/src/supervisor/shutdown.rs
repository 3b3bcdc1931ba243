//! Stopping one child: a shutdown signal, a grace period, then a kill.

use super::Shutdown;
use crate::process::{AnyPid, Ctx, ExitReason};

/// Stops one child as its spec says, and waits until it has ended.
///
/// The link is removed first (and an exit message it already sent is
/// dropped), so the supervisor does not take the stop for a crash; a monitor
/// tells when the child is gone.
pub(super) async fn stop_child<M: Send + 'static>(
    ctx: &mut Ctx<M>,
    pid: &AnyPid,
    shutdown: Shutdown,
) {
    let monitor = ctx.monitor(pid);
    ctx.unlink(pid);
    ctx.flush_exits_from(pid);
    let first = match shutdown {
        Shutdown::BrutalKill => ExitReason::Kill,
        Shutdown::Timeout(_) | Shutdown::Infinity => ExitReason::Shutdown,
    };
    ctx.exit(pid, first);
    let grace = match shutdown {
        Shutdown::Timeout(timeout) => Some(timeout),
        Shutdown::BrutalKill | Shutdown::Infinity => None,
    };
    if !ctx.wait_down(monitor, grace).await {
        ctx.exit(pid, ExitReason::Kill);
        ctx.wait_down(monitor, None).await;
    }
}
