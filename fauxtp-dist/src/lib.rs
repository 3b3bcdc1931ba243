//! Erlang distribution for fauxtp: a fauxtp program joins an Erlang or
//! Elixir cluster as a node, speaking the protocol BEAM nodes speak to each
//! other.
//!
//! What works so far: a [`Node`] registers with epmd as a hidden node,
//! listens on loopback, accepts connections from Erlang and Elixir nodes
//! that have its cookie, connects to them on first use, keeps connections
//! alive with ticks, and answers `net_adm:ping` (`pong`); [`Node::ping`]
//! asks other nodes the same. A wrong cookie fails the handshake on both
//! sides. Monitors and links from other nodes to names and processes this
//! node does not have fail at once (`noproc`), so callers do not wait out
//! their timeouts.
//!
//! ```no_run
//! use fauxtp_dist::{Cookie, Node};
//!
//! # async fn demo() -> Result<(), fauxtp_dist::DistError> {
//! // With `epmd -daemon` running, and `erl -sname e1@localhost -setcookie secret`:
//! let node = Node::start("rust@localhost", Cookie::new("secret")).await?;
//! node.ping("e1@localhost").await?; // pong
//! # Ok(())
//! # }
//! ```
//!
//! The cookie is the only protection: there is no TLS yet. Nodes listen on
//! loopback only.

mod connection;
mod control;
mod error;
mod frame;
mod node;
mod remote;
pub mod term;

pub use error::DistError;
pub use node::{Cookie, Node, NodeDown, NodeOptions, Remote, RemoteDown, RemoteMonitor};
pub use remote::{RemoteCaller, RemoteServer};
pub use term::{FromTerm, TermError, ToTerm};

/// Derives [`ToTerm`](trait@ToTerm) for a struct or an enum, the way OTP
/// writes messages: a unit variant (or unit struct) is an atom, its name in
/// snake case (`Get` is `get`); one with fields is a tuple tagged with that
/// atom, its fields in order (`Add(7)` is `{add, 7}`, `Point { x: 1, y: 2 }`
/// is `{point, 1, 2}`, an Erlang record).
pub use fauxtp_macros::ToTerm;

/// Derives [`FromTerm`](trait@FromTerm): reads what the `ToTerm` derive
/// writes.
pub use fauxtp_macros::FromTerm;

#[doc(hidden)]
pub use remote::__private;
