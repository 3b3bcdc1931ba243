//! What can go wrong between nodes.

use std::net::SocketAddr;
use std::time::Duration;

/// Why a node could not start, or could not reach another node.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DistError {
    /// A node name is not `name@host`.
    #[error("invalid node name {name:?}: {reason}")]
    InvalidName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The node could not listen for other nodes.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address it tried.
        addr: SocketAddr,
        /// What the system said.
        source: std::io::Error,
    },
    /// epmd could not be reached, or refused a registration or a lookup.
    #[error("epmd at {addr}: {detail}")]
    Epmd {
        /// epmd's address.
        addr: SocketAddr,
        /// What happened.
        detail: String,
    },
    /// epmd on the node's host does not know it: it is not running.
    #[error("{node} is not registered with epmd on its host (is it running?)")]
    UnknownNode {
        /// The node.
        node: String,
    },
    /// The node's host or port could not be reached.
    #[error("cannot connect to {node}: {source}")]
    Connect {
        /// The node.
        node: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// The two nodes have different cookies; nothing was sent. (An Erlang
    /// node says so by closing the connection when it has checked the
    /// cookie's digest; that is what this reports on the connecting side.)
    #[error("{node} has another cookie: the handshake failed")]
    CookieMismatch {
        /// The node.
        node: String,
    },
    /// The handshake failed for another reason.
    #[error("handshake with {node} failed: {reason}")]
    Handshake {
        /// The node.
        node: String,
        /// Why.
        reason: String,
    },
    /// A node's TLS could not be set up: a certificate or key file that
    /// cannot be read or holds none, or a key that does not fit its
    /// certificate.
    #[error("TLS: {reason}")]
    Tls {
        /// What is wrong.
        reason: String,
    },
    /// The TLS handshake with a node failed: it showed a certificate this
    /// node does not trust (or none), or refused this node's. Nothing was
    /// sent to it.
    #[error("TLS with {node} failed: {reason}")]
    TlsRefused {
        /// The node.
        node: String,
        /// Why, as TLS says it (`invalid peer certificate: UnknownIssuer`,
        /// `received fatal alert: CertificateRequired`).
        reason: String,
    },
    /// The node did not answer in time.
    #[error("{node} did not answer within {after:?}")]
    Timeout {
        /// The node.
        node: String,
        /// How long it was given.
        after: Duration,
    },
    /// The connection to the node was lost before it answered.
    #[error("the connection to {node} was lost")]
    ConnectionLost {
        /// The node.
        node: String,
    },
    /// The node answered something else than expected.
    #[error("{node} answered {answer}")]
    Refused {
        /// The node.
        node: String,
        /// Its answer, as an Erlang term.
        answer: String,
    },
    /// The server called is not there, or ended before it replied: its exit
    /// reason, as Erlang writes it (`noproc` for a name nobody has).
    #[error("{server} exited: {reason}")]
    Exited {
        /// The server, `{name, node}`.
        server: String,
        /// Its exit reason.
        reason: String,
    },
    /// The server's reply does not fit the type asked for.
    #[error("{server} replied with something else than expected: {error}")]
    BadReply {
        /// The server, `{name, node}`.
        server: String,
        /// What did not fit.
        error: crate::TermError,
    },
    /// Another live server has this name on this node.
    #[error("the name {name:?} is taken on this node")]
    NameTaken {
        /// The name.
        name: String,
    },
    /// A group operation of a shared `pg` scope failed as the local one
    /// does (a process that has ended, one not in the group).
    #[error(transparent)]
    Pg(#[from] fauxtp::pg::PgError),
    /// A `pg` scope or group name that cannot be an Erlang atom.
    #[error("group or scope name {group:?} cannot be an atom: {reason}")]
    InvalidGroup {
        /// The name.
        group: String,
        /// Why.
        reason: String,
    },
    /// This node has been stopped.
    #[error("the node is stopped")]
    Stopped,
}
