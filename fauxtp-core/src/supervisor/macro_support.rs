//! What the code `supervisor!` writes calls. Reached only through
//! `fauxtp::__private`.

use super::ChildSpec;
use crate::genserver::StartError;

/// Says which tree failed to start (`App`, rather than `Supervisor`).
pub fn name_start_error<T>(
    started: Result<T, StartError>,
    tree: &'static str,
) -> Result<T, StartError> {
    started.map_err(|error| match error {
        StartError::Init { server, reason, .. } => StartError::Init {
            server,
            kind: tree,
            reason,
        },
        StartError::Name { error, .. } => StartError::Name { kind: tree, error },
        StartError::Ignored { .. } => StartError::Ignored { kind: tree },
        StartError::Via { error, .. } => StartError::Via { kind: tree, error },
    })
}

/// Checks that a `supervisor!` child is a child spec (a type error points
/// at the child's expression otherwise).
pub fn child_spec(spec: ChildSpec) -> ChildSpec {
    spec
}
