//! How a node starts: its cookie and its options.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

/// The secret two nodes must share to connect: Erlang's cookie.
///
/// It is the only thing that keeps other programs out of a node: anyone who
/// can reach the node's port and knows the cookie can send to its
/// processes. Keep nodes on loopback or a private network.
#[derive(Clone, PartialEq, Eq)]
pub struct Cookie(pub(super) String);

impl Cookie {
    /// A cookie. Erlang nodes are given theirs with `-setcookie`.
    pub fn new(cookie: impl Into<String>) -> Cookie {
        Cookie(cookie.into())
    }
}

impl fmt::Debug for Cookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cookie(..)")
    }
}

/// How a node starts.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NodeOptions {
    /// Register as a normal node rather than a hidden one: Erlang nodes
    /// then list it in `nodes()` and connect it to the rest of the cluster
    /// (they will try to reach it from every node). Off by default.
    pub published: bool,
    /// The address the node listens on for other nodes: 127.0.0.1 by
    /// default. Another one exposes the node to whoever can reach it and
    /// has the cookie (unless [`tls`](NodeOptions::tls) asks for
    /// certificates too); a port mapper the node starts then listens on
    /// every address, on the epmd port.
    pub listen: IpAddr,
    /// The port of epmd, here and on other hosts: 4369 by default (as
    /// Erlang's `ERL_EPMD_PORT`).
    pub epmd_port: u16,
    /// If no epmd answers on this host, run fauxtp's own port mapper
    /// ([`PortMapper`](crate::epmd::PortMapper)) for as long as the node
    /// runs, so that a Rust-only cluster needs no Erlang install. On by
    /// default.
    pub start_epmd: bool,
    /// How long a connection may stay silent before the peer counts as
    /// gone (OTP's `net_ticktime`, 60 s by default): a tick goes out every
    /// quarter of it, and four silent ticks in a row end the connection.
    /// Both sides should agree, as Erlang's nodes do.
    pub net_ticktime: std::time::Duration,
    /// TLS for every connection, both ways, as OTP's `inet_tls_dist`
    /// (`-proto_dist inet_tls`): none by default. A node with TLS talks
    /// only to nodes with TLS.
    #[cfg(feature = "tls")]
    pub tls: Option<crate::Tls>,
}

impl Default for NodeOptions {
    fn default() -> Self {
        NodeOptions {
            published: false,
            listen: Ipv4Addr::LOCALHOST.into(),
            epmd_port: 4369,
            start_epmd: true,
            net_ticktime: std::time::Duration::from_secs(60),
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

impl NodeOptions {
    /// The defaults: a hidden node.
    pub fn new() -> NodeOptions {
        NodeOptions::default()
    }

    /// A published (normal) node, or not.
    pub fn published(mut self, published: bool) -> NodeOptions {
        self.published = published;
        self
    }

    /// Listens on `address` instead of 127.0.0.1.
    pub fn listen_on(mut self, address: IpAddr) -> NodeOptions {
        self.listen = address;
        self
    }

    /// Uses epmd on `port` instead of 4369, on this host and on others.
    pub fn epmd_port(mut self, port: u16) -> NodeOptions {
        self.epmd_port = port;
        self
    }

    /// Sets `net_ticktime` (at least 4 ms): how fast a peer that froze,
    /// or whose network went away, is found gone.
    pub fn net_ticktime(mut self, ticktime: std::time::Duration) -> NodeOptions {
        self.net_ticktime = ticktime.max(std::time::Duration::from_millis(4));
        self
    }

    /// Encrypts every connection with `tls`, and verifies peers as it
    /// says (the `tls` feature).
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: crate::Tls) -> NodeOptions {
        self.tls = Some(tls);
        self
    }

    /// Whether to run fauxtp's own port mapper when no epmd answers (on by
    /// default).
    pub fn start_epmd(mut self, on: bool) -> NodeOptions {
        self.start_epmd = on;
        self
    }
}
