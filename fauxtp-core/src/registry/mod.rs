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
//!
//! [`Registry`] is the other kind, Elixir's: tables of your own, by key,
//! with a value per entry, unique or duplicate keys, for pub/sub and for
//! many processes of one kind.

mod keyed;

pub use self::keyed::{KeyError, Keys, Registry, Via};

use std::any::type_name;

use crate::process::names::{self, NameError};
use crate::process::{AnyPid, Pid};

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
    names::register(name, pid.any(), type_name::<M>()).map_err(|error| match error {
        NameError::Taken(holder) => RegistryError::NameTaken {
            name: name.to_owned(),
            holder,
        },
        NameError::AlreadyNamed(existing) => RegistryError::AlreadyNamed {
            pid: pid.any(),
            name: existing.to_string(),
        },
        NameError::NotAlive => RegistryError::NotAlive {
            name: name.to_owned(),
            pid: pid.any(),
        },
    })
}

/// Removes `name` from the registry; its process goes on running, nameless.
///
/// Fails with [`RegistryError::NotRegistered`] if no process has the name.
pub fn unregister(name: &str) -> Result<(), RegistryError> {
    if names::unregister(name) {
        Ok(())
    } else {
        Err(RegistryError::NotRegistered {
            name: name.to_owned(),
        })
    }
}

/// The process registered as `name`, with its message type `M`.
///
/// Fails with [`RegistryError::NotRegistered`] if no live process has the
/// name, and [`RegistryError::WrongType`] if its messages are not `M`.
pub fn whereis<M: Send + 'static>(name: &str) -> Result<Pid<M>, RegistryError> {
    let (pid, registered) = names::lookup(name).ok_or_else(|| RegistryError::NotRegistered {
        name: name.to_owned(),
    })?;
    pid.downcast::<M>().ok_or_else(|| RegistryError::WrongType {
        name: name.to_owned(),
        pid: pid.clone(),
        registered,
        requested: type_name::<M>(),
    })
}

/// The process registered as `name`, whatever its message type; `None` if
/// no live process has the name.
pub fn whereis_any(name: &str) -> Option<AnyPid> {
    names::lookup(name).map(|(pid, _)| pid)
}

/// The names of all live registered processes, sorted.
pub fn registered() -> Vec<String> {
    names::all()
}
