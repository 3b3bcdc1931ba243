//! A port mapper of fauxtp's own: EPMD's protocol (register a node, look
//! one up, list them), so that a cluster of fauxtp nodes needs no Erlang
//! install, and Erlang nodes on the host can use it too.
//!
//! ```no_run
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), fauxtp_dist::DistError> {
//! use fauxtp_dist::epmd::PortMapper;
//!
//! // On 127.0.0.1:4369 (epmd's port), for this program's lifetime.
//! let epmd = PortMapper::serve("127.0.0.1:4369".parse().unwrap()).await?;
//! println!("epmd on {}", epmd.local_addr());
//! # Ok(()) }
//! ```
//!
//! It answers `ALIVE2_REQ` (a node registers; the registration lasts as
//! long as its connection), `PORT_PLEASE2_REQ` (a node's port, type,
//! protocol and versions) and `NAMES_REQ` (what `epmd -names` and
//! `net_adm:names/0` ask). A name that is taken is refused. Requests of
//! other kinds (`KILL_REQ`, `STOP_REQ`, `DUMP_REQ`) are refused by closing
//! the connection: this mapper is stopped by dropping its handle.
//!
//! Whatever a client sends, the mapper keeps serving the others: a
//! request that cannot be read (malformed, or not whole within 5 s) closes
//! that client's connection, with a log line.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::error::DistError;

const ALIVE2_REQ: u8 = 120;
const ALIVE2_X_RESP: u8 = 118;
const PORT_PLEASE2_REQ: u8 = 122;
const PORT2_RESP: u8 = 119;
const NAMES_REQ: u8 = 110;

/// How long a client has to send its request whole.
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// A registered node, as `ALIVE2_REQ` describes it.
#[derive(Debug, Clone)]
struct Entry {
    port: u16,
    node_type: u8,
    protocol: u8,
    highest: u16,
    lowest: u16,
    extra: Vec<u8>,
    /// Which registration this is, so that a closing connection removes
    /// its own entry only.
    serial: u64,
}

#[derive(Default)]
struct Table {
    nodes: HashMap<String, Entry>,
    next: u64,
}

/// A running port mapper; it stops when this is dropped.
#[derive(Debug)]
pub struct PortMapper {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl PortMapper {
    /// Listens on `addr` and answers EPMD's requests.
    ///
    /// # Errors
    ///
    /// [`DistError::Epmd`] if it cannot listen there (another epmd runs,
    /// say).
    pub async fn serve(addr: SocketAddr) -> Result<PortMapper, DistError> {
        let listener = TcpListener::bind(addr).await.map_err(|e| DistError::Epmd {
            addr,
            detail: format!("cannot listen: {e}"),
        })?;
        let local = listener.local_addr().map_err(|e| DistError::Epmd {
            addr,
            detail: format!("cannot listen: {e}"),
        })?;
        let table = Arc::new(Mutex::new(Table::default()));
        let task = tokio::spawn(async move {
            loop {
                let (stream, peer) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Out of file descriptors, say: wait instead of
                        // spinning.
                        tracing::warn!(%error, "the port mapper cannot accept");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let table = table.clone();
                tokio::spawn(async move {
                    if let Err(error) = serve_one(stream, table, local.port()).await {
                        tracing::debug!(%peer, %error, "a port mapper client went");
                    }
                });
            }
        });
        Ok(PortMapper { addr: local, task })
    }

    /// Where it listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for PortMapper {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn table(table: &Mutex<Table>) -> std::sync::MutexGuard<'_, Table> {
    table.lock().unwrap_or_else(|e| e.into_inner())
}

/// One connection: one request (and, for a registration, the connection
/// held open until the node goes).
async fn serve_one(
    mut stream: TcpStream,
    nodes: Arc<Mutex<Table>>,
    epmd_port: u16,
) -> std::io::Result<()> {
    let request = tokio::time::timeout(REQUEST_TIMEOUT, read_request(&mut stream))
        .await
        .map_err(|_| malformed("no whole request in time"))??;
    let Some((&tag, body)) = request.split_first() else {
        return Err(malformed("an empty request"));
    };
    match tag {
        ALIVE2_REQ => {
            let Some((name, mut entry)) = parse_alive(body) else {
                return Err(malformed("a registration that cannot be read"));
            };
            let creation = {
                let mut table = table(&nodes);
                table.next += 1;
                entry.serial = table.next;
                if name.is_empty() || table.nodes.contains_key(&name) {
                    None
                } else {
                    table.nodes.insert(name.clone(), entry.clone());
                    // Any value that differs between registrations.
                    Some((table.next % 0xffff_fffe) as u32 + 1)
                }
            };
            match creation {
                Some(creation) => {
                    let mut reply = vec![ALIVE2_X_RESP, 0];
                    reply.extend_from_slice(&creation.to_be_bytes());
                    stream.write_all(&reply).await?;
                    // Registered while the connection stays open.
                    let mut sink = [0u8; 64];
                    while stream.read(&mut sink).await.unwrap_or(0) > 0 {}
                    let mut table = table(&nodes);
                    if table
                        .nodes
                        .get(&name)
                        .is_some_and(|e| e.serial == entry.serial)
                    {
                        table.nodes.remove(&name);
                    }
                }
                None => {
                    stream.write_all(&[ALIVE2_X_RESP, 1, 0, 0, 0, 0]).await?;
                }
            }
        }
        PORT_PLEASE2_REQ => {
            let name = String::from_utf8_lossy(body).into_owned();
            let found = table(&nodes).nodes.get(&name).cloned();
            match found {
                Some(entry) => {
                    let mut reply = vec![PORT2_RESP, 0];
                    reply.extend_from_slice(&entry.port.to_be_bytes());
                    reply.push(entry.node_type);
                    reply.push(entry.protocol);
                    reply.extend_from_slice(&entry.highest.to_be_bytes());
                    reply.extend_from_slice(&entry.lowest.to_be_bytes());
                    reply.extend_from_slice(&(name.len() as u16).to_be_bytes());
                    reply.extend_from_slice(name.as_bytes());
                    reply.extend_from_slice(&(entry.extra.len() as u16).to_be_bytes());
                    reply.extend_from_slice(&entry.extra);
                    stream.write_all(&reply).await?;
                }
                None => stream.write_all(&[PORT2_RESP, 1]).await?,
            }
        }
        NAMES_REQ => {
            let mut reply = (epmd_port as u32).to_be_bytes().to_vec();
            let mut names: Vec<(String, u16)> = table(&nodes)
                .nodes
                .iter()
                .map(|(name, entry)| (name.clone(), entry.port))
                .collect();
            names.sort();
            for (name, port) in names {
                reply.extend_from_slice(format!("name {name} at port {port}\n").as_bytes());
            }
            stream.write_all(&reply).await?;
        }
        other => return Err(malformed(&format!("request {other}, which is not served"))),
    }
    stream.shutdown().await
}

/// Reads one length-prefixed request.
async fn read_request(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let len = stream.read_u16().await? as usize;
    let mut request = vec![0; len];
    stream.read_exact(&mut request).await?;
    Ok(request)
}

/// A request the mapper drops, logged once.
fn malformed(what: &str) -> std::io::Error {
    tracing::warn!("the port mapper dropped a client: {what}");
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned())
}

/// `ALIVE2_REQ`'s body: the node's name and its entry.
fn parse_alive(body: &[u8]) -> Option<(String, Entry)> {
    let u16_at = |at: usize| -> Option<u16> {
        Some(u16::from_be_bytes(body.get(at..at + 2)?.try_into().ok()?))
    };
    let port = u16_at(0)?;
    let node_type = *body.get(2)?;
    let protocol = *body.get(3)?;
    let highest = u16_at(4)?;
    let lowest = u16_at(6)?;
    let name_len = u16_at(8)? as usize;
    let name = std::str::from_utf8(body.get(10..10 + name_len)?)
        .ok()?
        .to_owned();
    let extra_at = 10 + name_len;
    let extra_len = u16_at(extra_at)? as usize;
    let extra = body.get(extra_at + 2..extra_at + 2 + extra_len)?.to_vec();
    Some((
        name,
        Entry {
            port,
            node_type,
            protocol,
            highest,
            lowest,
            extra,
            serial: 0,
        },
    ))
}
