//! Erlang distribution for fauxtp: a fauxtp program joins an Erlang or
//! Elixir cluster as a node, speaking the protocol BEAM nodes speak to each
//! other.
//!
//! - A [`Node`] registers with epmd (as a hidden node unless
//!   [`NodeOptions`] say otherwise), listens on loopback, shakes hands with
//!   Erlang and Elixir nodes that have its cookie, connects to them on first
//!   use, keeps connections alive with ticks, and answers `net_adm:ping`.
//! - GenServers with `#[genserver(remote)]`, registered with
//!   [`Node::register`], answer `gen_server:call` and `cast` from other
//!   nodes: a call to handler `add(n)` is `{add, N}`.
//! - [`Node::call`], [`Node::cast`] and [`Node::send`] reach gen_servers and
//!   registered processes of other nodes; [`Node::pid_of`],
//!   [`Node::send_to`], [`Node::monitor`] and [`Node::link`] work with pids
//!   across nodes, with exit reasons both ways and `noconnection` when a
//!   node is lost; [`Node::monitor_node`] watches a connection.
//! - [`ToTerm`] and [`FromTerm`] (with derives) convert Rust values to and
//!   from Erlang terms ([`term`]).
//!
//! Use it through the `fauxtp` crate with its `dist` feature, as
//! `fauxtp::dist`: the code `#[genserver(remote)]` and the derives write
//! names it by that path.
//!
//! ```toml
//! fauxtp = { version = "0.1", features = ["dist"] }
//! ```
//!
//! ```no_run
//! use fauxtp_dist::{Cookie, Node, Remote};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! // With `epmd -daemon` running, and `erl -sname e1@localhost -setcookie secret`:
//! let node = Node::start("rust@localhost", Cookie::new("secret")).await?;
//! node.ping("e1@localhost").await?; // pong
//! // A gen_server `ecounter` registered on e1, called as OTP would.
//! let ecounter = Remote::name("ecounter", "e1@localhost");
//! let n: u64 = node.call(&ecounter, (fauxtp_dist::term::atom("add"), 1u64)).await?;
//! # let _ = n;
//! # Ok(())
//! # }
//! ```
//!
//! Without TLS the cookie is the only protection. With the `tls` feature,
//! [`NodeOptions::tls`] encrypts connections and verifies peers'
//! certificates, compatible with OTP's `inet_tls_dist`. Nodes listen on
//! loopback unless told otherwise. The guide, with a remote GenServer, is
//! `docs/distribution.md`.
//!
//! # Where things are
//!
//! Bottom up; each module uses only those above it:
//!
//! | module | what |
//! |---|---|
//! | [`term`] | Erlang terms, `ToTerm`/`FromTerm`, exit reasons as terms |
//! | `control` | the control messages of the protocol |
//! | `frame` | frames on the wire, their bytes |
//! | `outgoing` | the byte queue of frames to one peer |
//! | `transport` | the byte stream under a connection: TCP, or TLS over it |
//! | [`Tls`] (`tls`) | certificates and verification; the handshake's framing under TLS |
//! | `connection` | one connection's task: reads, writes, ticks; hands control messages to a `Dispatch` |
//! | `gen` | the gen_server wire format, both directions, and `net_kernel` |
//! | `watches` | inbound monitors and links, and the watcher process that fires them |
//! | `node` | the [`Node`]: setup, pids, outbound calls, monitors and links, names, dispatch |

#![warn(missing_docs)]

mod connection;
mod control;
pub mod epmd;
mod error;
mod frame;
mod gen;
mod node;
mod outgoing;
pub mod term;
#[cfg(feature = "tls")]
mod tls;
mod transport;
mod watches;

pub use error::DistError;
pub use gen::{RemoteCaller, RemoteServer};
pub use node::{
    Cookie, Node, NodeDown, NodeMonitor, NodeOptions, NodeStats, PgScope, Remote, RemoteDown,
    RemoteMonitor,
};
pub use term::{FromTerm, TermError, ToTerm};
#[cfg(feature = "tls")]
pub use tls::{Tls, Verify};

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
pub use gen::__private;
