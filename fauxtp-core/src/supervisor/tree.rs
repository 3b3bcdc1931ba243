//! The live supervision tree: what each supervisor runs now, with restart
//! counts and the intensity used, as a structure and as indented text.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use super::client::ask;
use super::{ChildKind, Restart, Strategy, SupervisorError, SupervisorMsg};
use crate::process::{AnyPid, Pid};

/// One supervisor of a live tree, as [`tree`] reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SupervisorNode {
    /// The supervisor.
    pub pid: AnyPid,
    /// Its strategy.
    pub strategy: Strategy,
    /// Restarts counted in the current window (those that count against
    /// the limit now).
    pub restarts_in_window: usize,
    /// The limit: at most this many restarts ...
    pub max_restarts: u32,
    /// ... within this window.
    pub within: Duration,
    /// Its children, in start order.
    pub children: Vec<ChildNode>,
}

/// One child of a live tree.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChildNode {
    /// The child's id.
    pub id: String,
    /// Its process, if it runs.
    pub pid: Option<AnyPid>,
    /// Worker or supervisor.
    pub kind: ChildKind,
    /// Its restart type.
    pub restart: Restart,
    /// How many times its supervisor has started it again.
    pub restarts: u64,
    /// For a running supervisor child, its own subtree.
    pub subtree: Option<Box<SupervisorNode>>,
}

/// Reads the live tree under `sup`: each supervisor in it answers for its
/// own children, one request each (OTP has `supervisor:which_children` on
/// each level; this walks them). A subtree whose supervisor ends while it
/// is read is left out (`subtree` is `None`).
///
/// # Errors
///
/// [`SupervisorError::Call`] if `sup` itself is not alive or ends first.
pub async fn tree(sup: &Pid<SupervisorMsg>) -> Result<SupervisorNode, SupervisorError> {
    read(sup.clone()).await
}

/// Boxed for the recursion.
fn read(
    sup: Pid<SupervisorMsg>,
) -> Pin<Box<dyn Future<Output = Result<SupervisorNode, SupervisorError>> + Send>> {
    Box::pin(async move {
        // The supervisor answers for its own level; the subtrees are read
        // from their supervisors.
        let mut level: SupervisorNode = ask(&sup, "Supervisor::tree", SupervisorMsg::Tree).await?;
        for child in &mut level.children {
            if let (Some(pid), ChildKind::Supervisor) = (&child.pid, child.kind) {
                if let Some(child_sup) = pid.downcast::<SupervisorMsg>() {
                    child.subtree = read(child_sup).await.ok().map(Box::new);
                }
            }
        }
        Ok(level)
    })
}

impl SupervisorNode {
    fn write(&self, f: &mut fmt::Formatter<'_>, depth: usize) -> fmt::Result {
        writeln!(
            f,
            "{:indent$}{} {:?}, restarts {}/{} within {:?}",
            "",
            self.pid,
            self.strategy,
            self.restarts_in_window,
            self.max_restarts,
            self.within,
            indent = depth * 2
        )?;
        for child in &self.children {
            let pid = child
                .pid
                .as_ref()
                .map_or_else(|| "not running".to_owned(), ToString::to_string);
            writeln!(
                f,
                "{:indent$}{} {} {:?} {:?}, restarts {}",
                "",
                child.id,
                pid,
                child.kind,
                child.restart,
                child.restarts,
                indent = depth * 2 + 2
            )?;
            if let Some(subtree) = &child.subtree {
                subtree.write(f, depth + 2)?;
            }
        }
        Ok(())
    }
}

/// The tree as indented text, one line per supervisor and per child.
impl fmt::Display for SupervisorNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, 0)
    }
}
