//! Erlang/OTP for Rust, on tokio: processes with mailboxes and selective
//! receive, links, monitors and exit reasons, GenServers, supervision trees,
//! a name registry and timers, written with a few macros.
//!
//! Everything is the runtime's, re-exported (the `fauxtp-core` package,
//! whose documentation has the details of each module). With the `dist`
//! feature, [`dist`] is fauxtp-dist: a fauxtp program joins an Erlang or
//! Elixir cluster over the Erlang distribution protocol. With the
//! `observer` feature, [`observer`] is fauxtp-observer: the running
//! system in a web page.
//!
//! ```
//! use fauxtp::prelude::*;
//!
//! struct Counter {
//!     count: u64,
//! }
//!
//! #[genserver]
//! impl Counter {
//!     fn init(start: u64) -> Self {
//!         Counter { count: start }
//!     }
//!
//!     #[call]
//!     fn add(&mut self, n: u64) -> u64 {
//!         self.count += n;
//!         self.count
//!     }
//! }
//!
//! # #[tokio::main] async fn main() {
//! let counter = Counter::start(40).await.unwrap();
//! assert_eq!(counter.add(2).await, Ok(42));
//! # }
//! ```

#[doc(inline)]
pub use runtime::*;

/// Erlang distribution: fauxtp nodes in Erlang and Elixir clusters (the
/// fauxtp-dist crate; the `dist` feature).
#[cfg(feature = "dist")]
#[doc(inline)]
pub use fauxtp_dist as dist;

/// The observer: the running system in a web page (the fauxtp-observer
/// crate; the `observer` feature).
#[cfg(feature = "observer")]
#[doc(inline)]
pub use fauxtp_observer as observer;
