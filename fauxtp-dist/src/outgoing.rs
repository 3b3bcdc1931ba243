//! Where frames to one peer wait to be written: a byte queue that any
//! task can send to without waiting, and that the connection's task takes
//! from (see [`crate::connection`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use eetf::Term;

use crate::control::Control;
use crate::frame::{self, Frame, PidParts};

/// How many bytes may wait in a connection's queue before the node's own
/// sends ([`Outgoing::room`]) wait for its task to take them: Erlang's
/// `dist_buf_busy_limit` (1 MiB by default), past which a process sending
/// to the node is suspended.
pub(crate) const BUSY_LIMIT: usize = 1024 * 1024;

/// Where the node sends frames to one peer. Sending never waits: the
/// frame's bytes join the connection's queue, and its task writes all that
/// is queued in one go. Streams of sends wait for [`room`](Outgoing::room)
/// first, so that a fast sender does not queue without bound.
#[derive(Clone)]
pub(crate) struct Outgoing {
    queue: Arc<Queue>,
    /// The connection's number (see [`next_id`]).
    id: u64,
    /// The peer takes messages to process aliases (`ALIAS_SEND`).
    aliases: bool,
}

/// The bytes waiting to be written to one peer, and the connection task's
/// waker while it waits for some. A byte queue rather than a channel of
/// frames: a frame costs no allocation of its own, and the connection task
/// takes all that is queued by swapping buffers.
#[derive(Default)]
struct Queue {
    state: Mutex<QueueState>,
}

#[derive(Default)]
struct QueueState {
    bytes: Vec<u8>,
    /// Set while the connection task waits for bytes; taken by the next
    /// send. The task clears it while it runs, so what it sends itself (a
    /// demonitor after a reply) does not wake it again.
    waker: Option<Waker>,
    /// The connection has ended: sends are dropped.
    closed: bool,
    /// Senders waiting for the queue to fall under [`BUSY_LIMIT`]: woken
    /// when the task takes what is queued.
    room: Vec<Waker>,
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

thread_local! {
    /// Where a frame is encoded before it joins a queue, so that encoding
    /// does not hold the queue's lock.
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Outgoing {
    /// A new connection's queue, numbered with [`next_id`], to a peer that
    /// takes messages to process aliases or not.
    pub(crate) fn new(aliases: bool) -> Self {
        Outgoing {
            queue: Arc::default(),
            id: next_id(),
            aliases,
        }
    }

    /// Whether the peer takes messages to process aliases (`ALIAS_SEND`).
    pub(crate) fn takes_aliases(&self) -> bool {
        self.aliases
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
        self.queue_frame(|scratch| frame::encode_into(&frame, scratch));
    }

    /// Queues `payload` for the process registered as `to` on the peer,
    /// from `from` (a `REG_SEND`), writing its control message without
    /// building its terms.
    pub(crate) fn send_to_name(&self, from: &PidParts<'_>, to: &str, payload: &Term) {
        self.queue_frame(|scratch| frame::encode_reg_send_into(scratch, from, to, payload));
    }

    /// Encodes a frame with `encode` (false if it cannot be written) in a
    /// scratch buffer, then appends it to the queue.
    fn queue_frame(&self, encode: impl FnOnce(&mut Vec<u8>) -> bool) {
        let send = |scratch: &mut Vec<u8>| {
            scratch.clear();
            if !encode(scratch) {
                // A term from a peer that cannot go back as it came (an atom
                // too long once in UTF-8): dropped, as one that does not
                // decode.
                tracing::warn!("dropped a message that does not encode");
                return;
            }
            let waker = {
                let mut queue = self.queue.lock();
                if queue.closed {
                    return;
                }
                queue.bytes.extend_from_slice(scratch);
                queue.waker.take()
            };
            if let Some(waker) = waker {
                waker.wake();
            }
        };
        // A send from a destructor while the thread ends finds the buffer
        // gone: it uses one of its own.
        let mut send = Some(send);
        let sent = SCRATCH.try_with(|scratch| match scratch.try_borrow_mut() {
            Ok(mut scratch) => {
                if let Some(send) = send.take() {
                    send(&mut scratch);
                }
                true
            }
            Err(_) => false,
        });
        if sent != Ok(true) {
            if let Some(send) = send.take() {
                send(&mut Vec::new());
            }
        }
    }

    /// Waits until fewer than [`BUSY_LIMIT`] bytes are queued (or the
    /// connection has ended), as Erlang suspends a process that sends on a
    /// busy distribution port.
    pub(crate) async fn room(&self) {
        std::future::poll_fn(|cx| {
            let mut queue = self.queue.lock();
            if queue.closed || queue.bytes.len() < BUSY_LIMIT {
                return Poll::Ready(());
            }
            if !queue.room.iter().any(|w| w.will_wake(cx.waker())) {
                queue.room.push(cx.waker().clone());
            }
            Poll::Pending
        })
        .await
    }

    /// Swaps what is queued into `into` (which must be empty), or registers
    /// the task to be woken by the next send.
    pub(crate) fn poll_take(&self, cx: &mut Context<'_>, into: &mut Vec<u8>) -> Poll<()> {
        let mut queue = self.queue.lock();
        if queue.bytes.is_empty() {
            match &mut queue.waker {
                Some(waker) => waker.clone_from(cx.waker()),
                None => queue.waker = Some(cx.waker().clone()),
            }
            return Poll::Pending;
        }
        std::mem::swap(&mut queue.bytes, into);
        let room = std::mem::take(&mut queue.room);
        drop(queue);
        room.into_iter().for_each(Waker::wake);
        Poll::Ready(())
    }

    /// Takes what is queued into `into` (which must be empty), without
    /// waiting; stops waking the task on sends until it waits again.
    pub(crate) fn take(&self, into: &mut Vec<u8>) {
        let mut queue = self.queue.lock();
        queue.waker = None;
        std::mem::swap(&mut queue.bytes, into);
        if queue.room.is_empty() {
            return;
        }
        let room = std::mem::take(&mut queue.room);
        drop(queue);
        room.into_iter().for_each(Waker::wake);
    }

    /// Stops waking the task on sends until it waits again: it will look
    /// at the queue before it does.
    pub(crate) fn stop_waking(&self) {
        self.queue.lock().waker = None;
    }

    /// Whether the connection has ended (see [`close`](Self::close)).
    pub(crate) fn is_closed(&self) -> bool {
        self.queue.lock().closed
    }

    /// The connection has ended, or is being dropped: what is queued, and
    /// what is sent from now on, is dropped.
    pub(crate) fn close(&self) {
        let mut queue = self.queue.lock();
        queue.closed = true;
        queue.waker = None;
        queue.bytes = Vec::new();
        let room = std::mem::take(&mut queue.room);
        drop(queue);
        room.into_iter().for_each(Waker::wake);
    }
}

/// A number for each connection, so that the end of an old connection is
/// not mistaken for the end of its replacement.
fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
