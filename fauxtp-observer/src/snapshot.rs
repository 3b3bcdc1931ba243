//! What the page shows, read from the running system: every process (one
//! scan, shared by the pages open at the time), the supervision trees, the
//! registry, and the processes that ended abnormally lately.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fauxtp::process::{self, AnyPid, ProcessInfo, Status};
use fauxtp::supervisor::{self, ChildNode, SupervisorMsg, SupervisorNode};
use fauxtp::ExitReason;
use serde::Serialize;

/// How many abnormal ends the page lists.
const EXITS_KEPT: usize = 50;

/// How long a tree may take to read before the page goes without it.
const TREE_TIMEOUT: Duration = Duration::from_secs(1);

/// One process, as a row of the table.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Row {
    pub(crate) id: u64,
    pub(crate) pid: String,
    pub(crate) name: Option<String>,
    pub(crate) server: Option<&'static str>,
    pub(crate) status: &'static str,
    pub(crate) mailbox_len: usize,
    pub(crate) messages_handled: u64,
    pub(crate) links: usize,
    pub(crate) monitors: usize,
    pub(crate) monitored_by: usize,
    pub(crate) uptime_ms: u64,
    /// The parent's id.
    pub(crate) parent: Option<u64>,
}

pub(crate) fn status_text(status: Status) -> &'static str {
    match status {
        Status::Running => "running",
        Status::Waiting => "waiting",
        Status::Suspended => "suspended",
        Status::Exiting => "exiting",
        _ => "unknown",
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl Row {
    fn new(info: &ProcessInfo) -> Self {
        Row {
            id: info.pid.id(),
            pid: info.pid.to_string(),
            name: info.name.clone(),
            server: info.server,
            status: status_text(info.status),
            mailbox_len: info.mailbox_len,
            messages_handled: info.messages_handled,
            links: info.links.len(),
            monitors: info.monitors.len(),
            monitored_by: info.monitored_by.len(),
            uptime_ms: millis(info.uptime),
            parent: info.parent.as_ref().map(AnyPid::id),
        }
    }
}

/// A process that ended abnormally.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Ended {
    pub(crate) id: u64,
    pub(crate) pid: String,
    pub(crate) name: Option<String>,
    pub(crate) server: Option<&'static str>,
    pub(crate) reason: String,
    /// Seen gone this long ago (at the scan that found it gone).
    #[serde(skip)]
    pub(crate) seen: Instant,
}

/// Every live process, read at one moment.
pub(crate) struct Scan {
    pub(crate) rows: Vec<Row>,
    pub(crate) taken: Instant,
    /// How long the scan took: the observer's cost per refresh.
    pub(crate) took: Duration,
}

/// The last scan, and what it takes to tell which processes ended since.
#[derive(Default)]
pub(crate) struct Cache {
    pub(crate) scan: Option<Arc<Scan>>,
    /// The processes of the last scan, held so that those that end before
    /// the next one can say why.
    known: HashMap<u64, (AnyPid, Option<String>, Option<&'static str>)>,
    pub(crate) exits: VecDeque<Ended>,
}

impl Cache {
    /// The last scan if it is younger than `fresh`, or a new one.
    pub(crate) fn scan(&mut self, fresh: Duration) -> Arc<Scan> {
        if let Some(scan) = &self.scan {
            if scan.taken.elapsed() < fresh {
                return scan.clone();
            }
        }
        let started = Instant::now();
        let pids = process::list();
        let mut rows = Vec::with_capacity(pids.len());
        let mut known = HashMap::with_capacity(pids.len());
        for pid in pids {
            if let Some(info) = process::info(&pid) {
                let row = Row::new(&info);
                known.insert(row.id, (pid, row.name.clone(), row.server));
                rows.push(row);
            }
        }
        let before = std::mem::replace(&mut self.known, known);
        for (id, (pid, name, server)) in before {
            if self.known.contains_key(&id) {
                continue;
            }
            match pid.exit_reason() {
                Some(ExitReason::Normal | ExitReason::Shutdown) | None => {}
                Some(reason) => {
                    if self.exits.len() == EXITS_KEPT {
                        self.exits.pop_back();
                    }
                    self.exits.push_front(Ended {
                        id,
                        pid: pid.to_string(),
                        name,
                        server,
                        reason: reason.to_string(),
                        seen: started,
                    });
                }
            }
        }
        let scan = Arc::new(Scan {
            rows,
            taken: Instant::now(),
            took: started.elapsed(),
        });
        self.scan = Some(scan.clone());
        scan
    }

    /// A process the last scan saw, alive or not.
    pub(crate) fn known(&self, id: u64) -> Option<AnyPid> {
        self.known.get(&id).map(|(pid, _, _)| pid.clone())
    }
}

/// A supervisor of a tree, for the page.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct SupervisorView {
    pub(crate) id: u64,
    pub(crate) pid: String,
    pub(crate) name: Option<String>,
    pub(crate) strategy: String,
    pub(crate) restarts_in_window: usize,
    pub(crate) max_restarts: u32,
    pub(crate) within_ms: u64,
    pub(crate) children: Vec<ChildView>,
}

/// A child of a tree, for the page.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ChildView {
    pub(crate) id: String,
    /// `None` while it does not run (restarting, or gone).
    pub(crate) pid: Option<String>,
    pub(crate) pid_id: Option<u64>,
    pub(crate) kind: String,
    pub(crate) restart: String,
    pub(crate) restarts: u64,
    pub(crate) subtree: Option<SupervisorView>,
}

impl SupervisorView {
    fn new(node: &SupervisorNode) -> Self {
        SupervisorView {
            id: node.pid.id(),
            pid: node.pid.to_string(),
            name: node.pid.registered_name(),
            strategy: format!("{:?}", node.strategy),
            restarts_in_window: node.restarts_in_window,
            max_restarts: node.max_restarts,
            within_ms: millis(node.within),
            children: node.children.iter().map(ChildView::new).collect(),
        }
    }
}

impl ChildView {
    fn new(child: &ChildNode) -> Self {
        ChildView {
            id: child.id.clone(),
            pid: child.pid.as_ref().map(ToString::to_string),
            pid_id: child.pid.as_ref().map(AnyPid::id),
            kind: format!("{:?}", child.kind),
            restart: format!("{:?}", child.restart),
            restarts: child.restarts,
            subtree: child.subtree.as_deref().map(SupervisorView::new),
        }
    }
}

/// The server type supervisors have.
const SUPERVISOR: &str = "Supervisor";

/// Every supervision tree: one per supervisor whose parent is not a
/// supervisor, read top-down. A tree that does not answer in time is left
/// out of this refresh.
pub(crate) async fn trees(scan: &Scan) -> Vec<SupervisorView> {
    let supervisors: HashMap<u64, &Row> = scan
        .rows
        .iter()
        .filter(|row| row.server == Some(SUPERVISOR))
        .map(|row| (row.id, row))
        .collect();
    let mut roots: Vec<u64> = supervisors
        .values()
        .filter(|row| !row.parent.is_some_and(|p| supervisors.contains_key(&p)))
        .map(|row| row.id)
        .collect();
    roots.sort_unstable();
    let mut trees = Vec::with_capacity(roots.len());
    for id in roots {
        let Some(sup) = process::find(id).and_then(|pid| pid.downcast::<SupervisorMsg>()) else {
            continue;
        };
        if let Ok(Ok(node)) = tokio::time::timeout(TREE_TIMEOUT, supervisor::tree(&sup)).await {
            trees.push(SupervisorView::new(&node));
        }
    }
    trees
}

/// A registered name.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Registered {
    pub(crate) name: String,
    pub(crate) id: u64,
    pub(crate) pid: String,
}

/// The registry, by name.
pub(crate) fn registry() -> Vec<Registered> {
    let mut names = fauxtp::registry::registered();
    names.sort();
    names
        .into_iter()
        .filter_map(|name| {
            let pid = fauxtp::registry::whereis_any(&name)?;
            Some(Registered {
                id: pid.id(),
                pid: pid.to_string(),
                name,
            })
        })
        .collect()
}
