//! The table of registered names. Names are part of the process table, as
//! in BEAM: the exit protocol releases a process's name before it tells its
//! links and monitors, so that whoever hears of the exit can take the name
//! again. [`crate::registry`] is the public face of this table.
//!
//! Lock order: the table's lock may be held while taking a process's
//! control lock, never the other way round (the exit protocol takes the
//! name out of the control block first, then releases it here).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

use super::pid::AnyPid;

struct Entry {
    pid: AnyPid,
    /// The name of its message type, for errors.
    message_type: &'static str,
}

static NAMES: LazyLock<Mutex<HashMap<Arc<str>, Entry>>> = LazyLock::new(Default::default);

/// Moves on each time a name is given or taken away: who remembers what
/// a name led to (a node's connections, for the messages other nodes send
/// to names) knows it still does while this has not moved.
static VERSION: AtomicU64 = AtomicU64::new(0);

/// The table's version: the same as long as no name was given or taken
/// away since it was read. (Public for fauxtp-dist, through `__private`.)
pub fn version() -> u64 {
    VERSION.load(Ordering::Acquire)
}

fn changed() {
    VERSION.fetch_add(1, Ordering::Release);
}

fn names() -> MutexGuard<'static, HashMap<Arc<str>, Entry>> {
    NAMES.lock().unwrap_or_else(|e| e.into_inner())
}

/// Why a name could not be given.
pub(crate) enum NameError {
    /// A live process holds it.
    Taken(AnyPid),
    /// The process has a name already: this one.
    AlreadyNamed(Arc<str>),
    /// The process has ended.
    NotAlive,
}

/// Gives `pid` (whose messages are `message_type`) the name `name`.
pub(crate) fn register(
    name: &str,
    pid: AnyPid,
    message_type: &'static str,
) -> Result<(), NameError> {
    let mut names = names();
    if let Some(entry) = names.get(name) {
        if entry.pid.is_alive() {
            return Err(NameError::Taken(entry.pid.clone()));
        }
    }
    let name: Arc<str> = name.into();
    match pid.core.set_name(&name) {
        Ok(()) => {}
        Err(None) => return Err(NameError::NotAlive),
        Err(Some(existing)) => return Err(NameError::AlreadyNamed(existing)),
    }
    names.insert(name, Entry { pid, message_type });
    changed();
    Ok(())
}

/// Takes `name` away from its process, which goes on nameless; false if no
/// process had it.
pub(crate) fn unregister(name: &str) -> bool {
    let entry = names().remove(name);
    match entry {
        Some(entry) => {
            changed();
            entry.pid.core.clear_name(name);
            true
        }
        None => false,
    }
}

/// The live process named `name`, with the name of its message type.
pub(crate) fn lookup(name: &str) -> Option<(AnyPid, &'static str)> {
    names()
        .get(name)
        .filter(|entry| entry.pid.is_alive())
        .map(|entry| (entry.pid.clone(), entry.message_type))
}

/// The names of all live named processes, sorted.
pub(crate) fn all() -> Vec<String> {
    let mut all: Vec<String> = names()
        .iter()
        .filter(|(_, entry)| entry.pid.is_alive())
        .map(|(name, _)| name.to_string())
        .collect();
    all.sort();
    all
}

/// Called by the exit protocol of process `id`, which held `name`.
pub(super) fn release(name: &str, id: u64) {
    let mut names = names();
    if names.get(name).is_some_and(|entry| entry.pid.id() == id) {
        names.remove(name);
        changed();
    }
}
