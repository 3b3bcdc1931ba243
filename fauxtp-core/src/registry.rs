//! The name registry: find processes by name (Erlang's `register/2`,
//! `whereis/1`).
//!
//! ```
//! use fauxtp::prelude::*;
//! use fauxtp::registry::{self, RegistryError};
//!
//! # #[tokio::main] async fn main() {
//! let mut me = Ctx::<String>::detached();
//! registry::register("doc-logger", &me.pid()).unwrap();
//!
//! // Anyone can now reach the process by name, with its message type.
//! let logger = registry::whereis::<String>("doc-logger").unwrap();
//! logger.send("hello".to_string()).unwrap();
//! let line = receive!(me, {
//!     line => line,
//!     after std::time::Duration::from_secs(1) => panic!("no message"),
//! });
//! assert_eq!(line, "hello");
//!
//! // Asking for the wrong message type is an error, not a panic.
//! assert!(matches!(
//!     registry::whereis::<u64>("doc-logger"),
//!     Err(RegistryError::WrongType { .. })
//! ));
//!
//! // The name goes away with the process.
//! drop(me);
//! assert!(registry::whereis_any("doc-logger").is_none());
//! # }
//! ```
//!
//! The registry is one per program, like an Erlang node's: names are shared
//! by every tokio runtime in the process. A process has at most one name; a
//! name names at most one process, and registering a taken name is an error,
//! never an overwrite. A name is released when its process ends: by the time
//! a link or a monitor reports the exit, the name can be taken again (a
//! restarted process can register the name its predecessor had).

use std::any::type_name;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

use crate::process::{AnyPid, Pid};

struct Entry {
    pid: AnyPid,
    /// The name of its message type, for errors.
    message_type: &'static str,
}

static NAMES: LazyLock<Mutex<HashMap<Arc<str>, Entry>>> = LazyLock::new(Default::default);

fn names() -> MutexGuard<'static, HashMap<Arc<str>, Entry>> {
    NAMES.lock().unwrap_or_else(|e| e.into_inner())
}

/// Why a registry operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// Names must not be empty.
    #[error("a registered name cannot be empty")]
    EmptyName,
    /// The name is registered to another live process.
    #[error("the name {name:?} is already registered to {holder}")]
    NameTaken {
        /// The name asked for.
        name: String,
        /// The process that holds it.
        holder: AnyPid,
    },
    /// The process already has a name; a process has at most one.
    #[error("{pid} is already registered as {name:?}")]
    AlreadyNamed {
        /// The process.
        pid: AnyPid,
        /// The name it has.
        name: String,
    },
    /// The process has ended; only live processes can be registered.
    #[error("cannot register {pid} as {name:?}: the process is not alive")]
    NotAlive {
        /// The name asked for.
        name: String,
        /// The process.
        pid: AnyPid,
    },
    /// No live process has this name.
    #[error("no process is registered as {name:?}")]
    NotRegistered {
        /// The name looked up.
        name: String,
    },
    /// The process registered under this name takes another message type.
    #[error(
        "{name:?} is registered to {pid}, whose messages are `{registered}`, not `{requested}`"
    )]
    WrongType {
        /// The name looked up.
        name: String,
        /// The process registered under it.
        pid: AnyPid,
        /// Its message type.
        registered: &'static str,
        /// The message type asked for.
        requested: &'static str,
    },
}

/// Registers `pid` under `name`.
///
/// Fails if the name is empty, taken by a live process, if the process
/// already has a name, or if it has ended.
pub fn register<M: Send + 'static>(name: &str, pid: &Pid<M>) -> Result<(), RegistryError> {
    if name.is_empty() {
        return Err(RegistryError::EmptyName);
    }
    let mut names = names();
    if let Some(entry) = names.get(name) {
        if entry.pid.is_alive() {
            return Err(RegistryError::NameTaken {
                name: name.to_owned(),
                holder: entry.pid.clone(),
            });
        }
    }
    let name: Arc<str> = name.into();
    match pid.core.set_name(&name) {
        Ok(()) => {}
        Err(None) => {
            return Err(RegistryError::NotAlive {
                name: name.to_string(),
                pid: pid.any(),
            })
        }
        Err(Some(existing)) => {
            return Err(RegistryError::AlreadyNamed {
                pid: pid.any(),
                name: existing.to_string(),
            })
        }
    }
    names.insert(
        name,
        Entry {
            pid: pid.any(),
            message_type: type_name::<M>(),
        },
    );
    Ok(())
}

/// Removes `name` from the registry; its process goes on running, nameless.
pub fn unregister(name: &str) -> Result<(), RegistryError> {
    let entry = names().remove(name);
    match entry {
        Some(entry) => {
            entry.pid.core.clear_name(name);
            Ok(())
        }
        None => Err(RegistryError::NotRegistered {
            name: name.to_owned(),
        }),
    }
}

/// The process registered as `name`, with its message type `M`.
///
/// Fails with [`RegistryError::NotRegistered`] if no live process has the
/// name, and [`RegistryError::WrongType`] if its messages are not `M`.
pub fn whereis<M: Send + 'static>(name: &str) -> Result<Pid<M>, RegistryError> {
    let names = names();
    let entry = names
        .get(name)
        .filter(|entry| entry.pid.is_alive())
        .ok_or_else(|| RegistryError::NotRegistered {
            name: name.to_owned(),
        })?;
    entry
        .pid
        .downcast::<M>()
        .ok_or_else(|| RegistryError::WrongType {
            name: name.to_owned(),
            pid: entry.pid.clone(),
            registered: entry.message_type,
            requested: type_name::<M>(),
        })
}

/// The process registered as `name`, whatever its message type; `None` if
/// no live process has the name.
pub fn whereis_any(name: &str) -> Option<AnyPid> {
    names()
        .get(name)
        .map(|entry| entry.pid.clone())
        .filter(AnyPid::is_alive)
}

/// The names of all live registered processes, sorted.
pub fn registered() -> Vec<String> {
    let mut all: Vec<String> = names()
        .iter()
        .filter(|(_, entry)| entry.pid.is_alive())
        .map(|(name, _)| name.to_string())
        .collect();
    all.sort();
    all
}

/// Called by the exit protocol of process `id`, which held `name`.
pub(crate) fn release(name: &str, id: u64) {
    let mut names = names();
    if names.get(name).is_some_and(|entry| entry.pid.id() == id) {
        names.remove(name);
    }
}
