//! The tables of process groups ([`crate::pg`]): every scope's groups, their
//! members and the processes that watch them. Like the name table, they are
//! part of the process table: the exit protocol takes an ended process out
//! of every group it joined before it tells its links and monitors, so
//! whoever hears of the exit sees the groups without it.
//!
//! Lock order: the groups' lock may be held while taking a process's
//! control lock, never the other way round. A join takes the groups' lock,
//! then marks the process (refusing one that has ended) under its control
//! lock; the exit protocol marks the process ended first, then removes it
//! here. So a process is never left in a group after it has ended.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

use super::pid::AnyPid;

/// One membership: a process joins as often as it likes, and each join is
/// one entry.
pub(crate) struct Member {
    pub(crate) pid: AnyPid,
    pub(crate) message_type: TypeId,
    pub(crate) message_type_name: &'static str,
}

/// What a watcher is told: a group, who joined or left, and whether they
/// joined.
pub(crate) struct Change {
    pub(crate) scope: Arc<str>,
    pub(crate) group: Arc<str>,
    pub(crate) joined: bool,
    pub(crate) pids: Vec<AnyPid>,
    pub(crate) watch: u64,
}

/// Delivers a change to a watcher; false once the watcher has ended.
pub(crate) type Notify = Arc<dyn Fn(Change) -> bool + Send + Sync>;

#[derive(Default)]
struct Group {
    members: Vec<Member>,
    watchers: Vec<(u64, Notify)>,
}

/// Where one join is: its scope and group.
type Place = (Arc<str>, Arc<str>);

#[derive(Default)]
struct Tables {
    /// scope -> group -> members and watchers.
    scopes: HashMap<Arc<str>, HashMap<Arc<str>, Group>>,
    /// pid id -> the (scope, group) of each of its joins.
    joined: HashMap<u64, Vec<Place>>,
}

static TABLES: LazyLock<Mutex<Tables>> = LazyLock::new(Default::default);
static NEXT_WATCH: AtomicU64 = AtomicU64::new(1);

fn tables() -> MutexGuard<'static, Tables> {
    TABLES.lock().unwrap_or_else(|e| e.into_inner())
}

/// Changes to send once the lock is released.
type Outbox = Vec<(Notify, Change)>;

/// Sends the changes; forgets the watchers that have ended.
fn deliver(outbox: Outbox) {
    let mut gone = Vec::new();
    for (notify, change) in outbox {
        let (scope, group, watch) = (change.scope.clone(), change.group.clone(), change.watch);
        if !notify(change) {
            gone.push((scope, group, watch));
        }
    }
    for (scope, group, watch) in gone {
        unwatch(&scope, &group, watch);
    }
}

fn changes(
    outbox: &mut Outbox,
    scope: &Arc<str>,
    group: &Arc<str>,
    watchers: &[(u64, Notify)],
    joined: bool,
    pids: &[AnyPid],
) {
    for (watch, notify) in watchers {
        outbox.push((
            notify.clone(),
            Change {
                scope: scope.clone(),
                group: group.clone(),
                joined,
                pids: pids.to_vec(),
                watch: *watch,
            },
        ));
    }
}

/// Adds one membership of `pid` to `group`; false if the process has
/// ended.
pub(crate) fn join(scope: &str, group: &str, member: Member) -> bool {
    let mut outbox = Outbox::new();
    {
        let mut t = tables();
        if !member.pid.core.enter_groups() {
            return false;
        }
        let scope: Arc<str> = match t.scopes.get_key_value(scope) {
            Some((key, _)) => key.clone(),
            None => scope.into(),
        };
        let groups = t.scopes.entry(scope.clone()).or_default();
        let group: Arc<str> = match groups.get_key_value(group) {
            Some((key, _)) => key.clone(),
            None => group.into(),
        };
        let entry = groups.entry(group.clone()).or_default();
        let pid = member.pid.clone();
        entry.members.push(member);
        changes(
            &mut outbox,
            &scope,
            &group,
            &entry.watchers,
            true,
            std::slice::from_ref(&pid),
        );
        t.joined.entry(pid.id()).or_default().push((scope, group));
    }
    deliver(outbox);
    true
}

/// Removes one membership of `pid` from `group`; false if it had none.
pub(crate) fn leave(scope: &str, group: &str, pid: &AnyPid) -> bool {
    let mut outbox = Outbox::new();
    {
        let mut t = tables();
        let Some(groups) = t.scopes.get_mut(scope) else {
            return false;
        };
        let Some(group_key) = groups.get_key_value(group).map(|(key, _)| key.clone()) else {
            return false;
        };
        let Some(entry) = groups.get_mut(group) else {
            return false;
        };
        let Some(at) = entry.members.iter().position(|m| m.pid == *pid) else {
            return false;
        };
        entry.members.remove(at);
        let scope_key: Arc<str> = scope.into();
        changes(
            &mut outbox,
            &scope_key,
            &group_key,
            &entry.watchers,
            false,
            std::slice::from_ref(pid),
        );
        if entry.members.is_empty() && entry.watchers.is_empty() {
            groups.remove(group);
        }
        if let Some(joins) = t.joined.get_mut(&pid.id()) {
            if let Some(at) = joins
                .iter()
                .position(|(s, g)| &**s == scope && &**g == group)
            {
                joins.swap_remove(at);
            }
            if joins.is_empty() {
                t.joined.remove(&pid.id());
            }
        }
    }
    deliver(outbox);
    true
}

/// The members of `group`, one entry per join, in join order.
pub(crate) fn members<T>(scope: &str, group: &str, read: impl Fn(&Member) -> T) -> Vec<T> {
    let t = tables();
    t.scopes
        .get(scope)
        .and_then(|groups| groups.get(group))
        .map(|g| g.members.iter().map(read).collect())
        .unwrap_or_default()
}

/// The groups of `scope` that have members, sorted.
pub(crate) fn which_groups(scope: &str) -> Vec<String> {
    let t = tables();
    let mut groups: Vec<String> = t
        .scopes
        .get(scope)
        .map(|groups| {
            groups
                .iter()
                .filter(|(_, g)| !g.members.is_empty())
                .map(|(name, _)| name.to_string())
                .collect()
        })
        .unwrap_or_default();
    groups.sort();
    groups
}

/// Starts watching `group`: its members now, and a watch id.
pub(crate) fn watch(scope: &str, group: &str, notify: Notify) -> (u64, Vec<AnyPid>) {
    let watch = NEXT_WATCH.fetch_add(1, Ordering::Relaxed);
    let mut t = tables();
    let entry = t
        .scopes
        .entry(scope.into())
        .or_default()
        .entry(group.into())
        .or_default();
    entry.watchers.push((watch, notify));
    (watch, entry.members.iter().map(|m| m.pid.clone()).collect())
}

/// Stops a watch; false if it was not there.
pub(crate) fn unwatch(scope: &str, group: &str, watch: u64) -> bool {
    let mut t = tables();
    let Some(groups) = t.scopes.get_mut(scope) else {
        return false;
    };
    let Some(entry) = groups.get_mut(group) else {
        return false;
    };
    let before = entry.watchers.len();
    entry.watchers.retain(|(w, _)| *w != watch);
    let removed = entry.watchers.len() < before;
    if entry.members.is_empty() && entry.watchers.is_empty() {
        groups.remove(group);
    }
    removed
}

/// Called by the exit protocol of `pid`, which had joined groups: takes it
/// out of every one, and tells their watchers (dropping watchers that
/// have ended).
pub(super) fn forget(pid: &AnyPid) {
    let mut outbox = Outbox::new();
    {
        let mut t = tables();
        let Some(joins) = t.joined.remove(&pid.id()) else {
            return;
        };
        for (scope, group) in joins {
            let Some(groups) = t.scopes.get_mut(&scope) else {
                continue;
            };
            let Some(entry) = groups.get_mut(&group) else {
                continue;
            };
            let before = entry.members.len();
            entry.members.retain(|m| m.pid != *pid);
            if entry.members.len() < before {
                changes(
                    &mut outbox,
                    &scope,
                    &group,
                    &entry.watchers,
                    false,
                    std::slice::from_ref(pid),
                );
            }
            if entry.members.is_empty() && entry.watchers.is_empty() {
                groups.remove(&group);
            }
        }
    }
    deliver(outbox);
}
