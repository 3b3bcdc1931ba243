//! One connection to another node, after its handshake: a task that reads
//! frames and hands their control messages to the node, and a task that
//! writes the frames the node sends and keeps the connection alive with
//! ticks.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Weak;
use std::time::Duration;

use eetf::Term;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;

use crate::control::Control;
use crate::frame::{self, Frame};
use crate::node::Inner;

/// How often a connection that sent nothing sends a tick. OTP sends one
/// every quarter of `net_ticktime` (60 s).
const TICK: Duration = Duration::from_secs(15);
/// How long a connection may stay silent before it counts as lost: OTP's
/// `net_ticktime`.
const SILENCE: Duration = Duration::from_secs(60);

/// Where the node sends frames to one peer. Sending never waits: frames
/// queue up for the writer task.
#[derive(Clone)]
pub(crate) struct Outgoing {
    frames: mpsc::UnboundedSender<Vec<u8>>,
    /// The connection's number (see [`next_id`]).
    id: u64,
}

impl Outgoing {
    pub(crate) fn new(frames: mpsc::UnboundedSender<Vec<u8>>, id: u64) -> Self {
        Outgoing { frames, id }
    }

    /// The connection's number: what the node's state about a connection
    /// (calls waiting on it, monitors and links made over it) is tied to.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Queues a control message, with its payload if it has one. A
    /// connection that has ended drops it, as Erlang drops messages to a
    /// node it lost.
    pub(crate) fn send(&self, control: Control, payload: Option<Term>) {
        let frame = Frame::Message {
            control: control.encode(),
            payload,
        };
        match frame::encode(&frame) {
            Some(bytes) => {
                let _ = self.frames.send(bytes);
            }
            // A term from a peer that cannot go back as it came (an atom
            // too long once in UTF-8): dropped, as one that does not decode.
            None => tracing::warn!("dropped a message that does not encode"),
        }
    }
}

/// A number for each connection, so that the end of an old connection is
/// not mistaken for the end of its replacement.
pub(crate) fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Writes queued frames, all that are queued in one write; sends a tick
/// when nothing was sent for a while.
pub(crate) async fn write_loop(
    mut stream: OwnedWriteHalf,
    mut frames: mpsc::UnboundedReceiver<Vec<u8>>,
) {
    // A tick is an empty frame: its length, zero.
    let tick = vec![0, 0, 0, 0];
    let mut batch = Vec::new();
    loop {
        batch.clear();
        match tokio::time::timeout(TICK, frames.recv()).await {
            Ok(Some(bytes)) => batch.extend_from_slice(&bytes),
            Ok(None) => return,
            Err(_quiet) => batch.extend_from_slice(&tick),
        }
        // Whatever else is queued goes in the same write: one system call
        // for a call's monitor and request, or for many callers' replies.
        while batch.len() < MAX_BATCH {
            match frames.try_recv() {
                Ok(bytes) => batch.extend_from_slice(&bytes),
                Err(_) => break,
            }
        }
        if stream.write_all(&batch).await.is_err() {
            return;
        }
    }
}

/// How many bytes a write gathers at most before it goes.
const MAX_BATCH: usize = 64 * 1024;

/// Reads frames until the connection fails or stays silent too long, then
/// tells the node.
pub(crate) async fn read_loop(
    stream: OwnedReadHalf,
    node: Weak<Inner>,
    peer: String,
    id: u64,
    out: Outgoing,
) {
    // However the loop ends (an error, a panic, an abort), the node hears
    // of it, so that it never keeps a connection nobody reads.
    let _hangup = Hangup {
        node: node.clone(),
        peer: peer.clone(),
        id,
    };
    let mut stream = BufReader::new(stream);
    loop {
        let frame = match tokio::time::timeout(SILENCE, frame::read_frame(&mut stream)).await {
            Ok(Ok(frame)) => frame,
            Ok(Err(error)) if !error.is_fatal() => {
                tracing::warn!(%peer, %error, "dropped a frame that does not decode");
                continue;
            }
            Ok(Err(_)) | Err(_) => break,
        };
        let Frame::Message { control, payload } = frame else {
            continue;
        };
        let Some(node) = node.upgrade() else {
            return;
        };
        // A control message that does not decode is dropped; the
        // connection goes on.
        match Control::decode(control) {
            Ok(control) => {
                // User code runs in here too (the `From<Term>` and `FromTerm`
                // of the processes a message is for): a panic there drops
                // that message, not the connection.
                let handled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    node.receive(&peer, &out, control, payload)
                }));
                if handled.is_err() {
                    tracing::warn!(%peer, "dropped a message whose handling panicked");
                }
            }
            Err(error) => tracing::warn!(%peer, %error, "dropped a control message"),
        }
    }
}

/// Tells the node that a connection's reading task has ended.
struct Hangup {
    node: Weak<Inner>,
    peer: String,
    id: u64,
}

impl Drop for Hangup {
    fn drop(&mut self) {
        if let Some(node) = self.node.upgrade() {
            node.disconnected(&self.peer, self.id);
        }
    }
}
