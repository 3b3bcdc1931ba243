//! The fauxtp observer: a running fauxtp system in a web page, served by
//! the program itself, as Erlang's observer shows a running BEAM.
//!
//! ```no_run
//! # #[tokio::main] async fn main() -> Result<(), fauxtp_observer::ObserverError> {
//! let observer = fauxtp_observer::serve("127.0.0.1:9911").await?;
//! println!("observer on {}", observer.url());
//! # Ok(()) }
//! ```
//!
//! The page shows the supervision trees (each child with its pid, kind,
//! restart type and restarts, each supervisor with the restart intensity it
//! has used), every process in a table that sorts and filters (name, pid,
//! status, mailbox length, messages handled, links, monitors, uptime), one
//! process at a time (its links and monitors, and for a GenServer its
//! `sys` status and, when its state is `Debug`, its state), the registry,
//! and the processes that ended abnormally lately. It follows the system
//! about once a second, over server-sent events, without reloading. From
//! the page, each confirmed first: kill a process, suspend or resume a
//! server, terminate or restart a supervisor's child.
//!
//! - **Loopback by default.** [`serve`] refuses an address that is not a
//!   loopback one; [`ObserverOptions::allow_remote`] allows it, and
//!   [`ObserverOptions::token`] then keeps strangers out.
//! - **Read-only** ([`ObserverOptions::read_only`]): the page offers no
//!   action, and the server refuses them.
//! - **Nothing to build.** The page is three files embedded in this crate.
//! - **Costs nothing until served**, and while no page is open, nothing
//!   but its listening socket: it reads the system only for a page.
//!
//! The page reads a JSON API that scripts may use too (every route under
//! `/api`, with the token as a `token` query parameter or an
//! `x-fauxtp-token` header): `GET /api/overview` (trees, registry, recent
//! exits), `GET /api/processes?sort=mailbox&order=desc&filter=&offset=0&limit=100`,
//! `GET /api/processes/{id}`, `POST /api/processes/{id}/kill` (or
//! `suspend`, `resume`), `POST /api/supervisors/{id}/children/{child}/terminate`
//! (or `restart`), and `GET /api/events` (the overview, as server-sent
//! events). Bad requests get a 4xx with a JSON `{"error": ...}`.

#![warn(missing_docs)]

mod api;
mod snapshot;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How often an open page is brought up to date.
const REFRESH: Duration = Duration::from_secs(1);

/// Why the observer could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ObserverError {
    /// The address did not resolve, or could not be listened on.
    #[error("the observer could not listen on {addr}: {source}")]
    Listen {
        /// The address asked for.
        addr: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// The address is not a loopback one, and remote access was not
    /// allowed ([`ObserverOptions::allow_remote`]).
    #[error(
        "{addr} is not a loopback address: the observer can kill processes, \
         so it listens on loopback unless allow_remote(true) is given (with a token)"
    )]
    NotLoopback {
        /// The address asked for.
        addr: SocketAddr,
    },
}

/// How to serve the observer: read-only or not, an access token, remote
/// access. [`serve`] is `ObserverOptions::new().serve(addr)`.
///
/// ```no_run
/// # #[tokio::main] async fn main() -> Result<(), fauxtp_observer::ObserverError> {
/// use fauxtp_observer::ObserverOptions;
///
/// let observer = ObserverOptions::new()
///     .read_only(true)
///     .token("s3cret")
///     .serve("127.0.0.1:0")
///     .await?;
/// println!("{}", observer.url()); // http://127.0.0.1:40123/?token=s3cret
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct ObserverOptions {
    read_only: bool,
    token: Option<String>,
    allow_remote: bool,
}

impl ObserverOptions {
    /// Read-write, no token, loopback only.
    pub fn new() -> Self {
        ObserverOptions::default()
    }

    /// Serves the page without its actions: no kill, suspend, resume,
    /// terminate or restart, on the page or through the API.
    pub fn read_only(mut self, on: bool) -> Self {
        self.read_only = on;
        self
    }

    /// Asks for this token on every API request (the page passes on the
    /// one in its own address: [`Observer::url`] includes it).
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Allows an address that is not a loopback one. Give a token too: the
    /// observer can kill any process.
    pub fn allow_remote(mut self, on: bool) -> Self {
        self.allow_remote = on;
        self
    }

    /// Listens on `addr` and serves the observer until the returned
    /// [`Observer`] is dropped or shut down. Port 0 picks a free port.
    ///
    /// # Errors
    ///
    /// [`ObserverError::NotLoopback`] for an address that is not a
    /// loopback one (unless allowed), [`ObserverError::Listen`] if it does
    /// not resolve or cannot be listened on.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub async fn serve(self, addr: impl ToSocketAddrs) -> Result<Observer, ObserverError> {
        let listen_error = |addr: String| move |source| ObserverError::Listen { addr, source };
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host(addr)
            .await
            .map_err(listen_error(String::from("the address given")))?
            .collect();
        let Some(&first) = addrs.first() else {
            return Err(ObserverError::Listen {
                addr: String::from("the address given"),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "it resolved to no address",
                ),
            });
        };
        if !self.allow_remote {
            if let Some(&remote) = addrs.iter().find(|a| !a.ip().is_loopback()) {
                return Err(ObserverError::NotLoopback { addr: remote });
            }
        }
        let listener = TcpListener::bind(first)
            .await
            .map_err(listen_error(first.to_string()))?;
        let local = listener
            .local_addr()
            .map_err(listen_error(first.to_string()))?;
        let (closing, closed) = watch::channel(false);
        let state = Arc::new(api::State::new(
            self.read_only,
            self.token.clone(),
            closed.clone(),
        ));
        let app = api::router(state);
        let task = tokio::spawn(async move {
            let mut closed = closed;
            let serving = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = closed.wait_for(|closed| *closed).await;
            });
            // An accept error is retried by axum; only closing ends it.
            let _ = serving.await;
        });
        Ok(Observer {
            addr: local,
            token: self.token,
            closing,
            task: Some(task),
        })
    }
}

/// Serves the observer on `addr` (read-write, no token; loopback only):
/// `ObserverOptions::new().serve(addr)`.
///
/// # Errors
///
/// As [`ObserverOptions::serve`].
pub async fn serve(addr: impl ToSocketAddrs) -> Result<Observer, ObserverError> {
    ObserverOptions::new().serve(addr).await
}

/// A running observer: serves until dropped or [shut down](Observer::shutdown).
#[derive(Debug)]
pub struct Observer {
    addr: SocketAddr,
    token: Option<String>,
    /// Set to true to close: the server stops accepting, open event
    /// streams end, and requests in flight finish.
    closing: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Observer {
    /// The address it listens on (with the port chosen, for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The page's address, with the token if there is one.
    pub fn url(&self) -> String {
        match &self.token {
            Some(token) => format!("http://{}/?token={}", self.addr, api::encode(token)),
            None => format!("http://{}/", self.addr),
        }
    }

    /// Stops serving, and waits until every connection has closed (open
    /// pages lose their event stream, requests in flight finish).
    pub async fn shutdown(mut self) {
        self.closing.send_replace(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Observer {
    /// Stops serving, without waiting: connections close in the
    /// background.
    fn drop(&mut self) {
        self.closing.send_replace(true);
    }
}
