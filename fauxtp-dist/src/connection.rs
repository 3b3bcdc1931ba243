//! One connection to another node, after its handshake: a task that reads
//! frames and hands their control messages to the node, writes the frames
//! the node sends, and keeps the connection alive with ticks.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use eetf::Term;
use tokio::io::Interest;
use tokio::net::TcpStream;
use tokio::time::{Instant, MissedTickBehavior};

use crate::control::Control;
use crate::frame::{self, Frame, Split};
use crate::node::Inner;

/// How often a connection that sent nothing sends a tick. OTP sends one
/// every quarter of `net_ticktime` (60 s).
const TICK: Duration = Duration::from_secs(15);

/// Where the node sends frames to one peer. Sending never waits: the
/// frame's bytes join the connection's queue, and its task writes all that
/// is queued in one go.
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
        let send = |scratch: &mut Vec<u8>| {
            scratch.clear();
            if !frame::encode_into(&frame, scratch) {
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
        let sent = SCRATCH.try_with(|scratch| match scratch.try_borrow_mut() {
            Ok(mut scratch) => {
                send(&mut scratch);
                true
            }
            Err(_) => false,
        });
        if sent != Ok(true) {
            send(&mut Vec::new());
        }
    }

    /// Swaps what is queued into `into` (which must be empty), or registers
    /// the task to be woken by the next send.
    fn poll_take(&self, cx: &mut Context<'_>, into: &mut Vec<u8>) -> Poll<()> {
        let mut queue = self.queue.lock();
        if queue.bytes.is_empty() {
            match &mut queue.waker {
                Some(waker) => waker.clone_from(cx.waker()),
                None => queue.waker = Some(cx.waker().clone()),
            }
            return Poll::Pending;
        }
        std::mem::swap(&mut queue.bytes, into);
        Poll::Ready(())
    }

    /// Takes what is queued into `into` (which must be empty), without
    /// waiting; stops waking the task on sends until it waits again.
    fn take(&self, into: &mut Vec<u8>) {
        let mut queue = self.queue.lock();
        queue.waker = None;
        std::mem::swap(&mut queue.bytes, into);
    }

    /// Stops waking the task on sends until it waits again: it will look
    /// at the queue before it does.
    fn stop_waking(&self) {
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
    }
}

/// A number for each connection, so that the end of an old connection is
/// not mistaken for the end of its replacement.
fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Runs a connection until it fails, stays silent too long, gets a frame
/// larger than any it takes, or is aborted, or the node is gone; then tells
/// the node. Reads frames and hands their control messages to the node,
/// writes the frames queued in `out`, and keeps the connection alive with
/// ticks.
///
/// One task does all of it, so what the node answers while it handles a
/// frame (a demonitor after a reply, a down for a missing name) goes out
/// without waking another task, and a call does not hand its frames
/// between a reader and a writer on different threads.
pub(crate) async fn run(stream: TcpStream, node: Weak<Inner>, peer: String, out: Outgoing) {
    // However the task ends (an error, a panic, an abort), the node hears
    // of it, so that it never keeps a connection nobody serves.
    let _hangup = Hangup {
        node: node.clone(),
        peer: peer.clone(),
        out: out.clone(),
    };
    let mut input: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    // Bytes to write; the first `written` of them are written.
    let mut output: Vec<u8> = Vec::new();
    let mut written = 0;
    let mut ticks = tokio::time::interval_at(Instant::now() + TICK, TICK);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // Whether anything came, or went, since the last tick; how many ticks
    // in a row found nothing come.
    let (mut heard, mut sent, mut silent) = (false, false, 0);
    loop {
        // Whatever is queued goes in the same write: one system call for a
        // call's monitor and request, or for many callers' replies.
        if output.is_empty() {
            out.take(&mut output);
        }
        if written < output.len() {
            match stream.try_write(&output[written..]) {
                // The socket takes nothing more: it is broken.
                Ok(0) => return,
                Ok(n) => {
                    written += n;
                    sent = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return,
            }
            if written == output.len() {
                output.clear();
                written = 0;
                shrink(&mut output);
            }
        }
        let writing = written < output.len();
        let interest = if writing {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        tokio::select! {
            // Ticks first: a peer that floods the connection must not keep
            // this node from telling it that it is alive.
            biased;
            _ = ticks.tick() => {
                silent = if heard { 0 } else { silent + 1 };
                if silent >= SILENT_TICKS {
                    tracing::warn!(%peer, "connection silent too long");
                    return;
                }
                // A tick is an empty frame: its length, zero.
                if !sent && output.is_empty() {
                    output.extend_from_slice(&[0, 0, 0, 0]);
                }
                (heard, sent) = (false, false);
            }
            ready = stream.ready(interest) => {
                let Ok(ready) = ready else { return };
                if ready.is_readable() {
                    // What the frames lead to (replies, from servers that
                    // may run on other threads meanwhile) is taken at the
                    // top of the loop: a wake-up now would only run the
                    // task again, on any idle thread.
                    out.stop_waking();
                    input.reserve(READ_CHUNK);
                    match stream.try_read_buf(&mut input) {
                        Ok(0) => return,
                        Ok(_) => heard = true,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(_) => return,
                    }
                    let Some(node) = node.upgrade() else { return };
                    let Some(answers) = handle_frames(&node, &peer, &out, &mut input) else {
                        return;
                    };
                    drop(node);
                    shrink(&mut input);
                    if answers > 1 {
                        // Callers woken by these answers mostly call again
                        // at once: let them run first, so that their
                        // requests go out in one write rather than one each.
                        run_later().await;
                    } else {
                        // Readiness does not count against tokio's budget:
                        // a peer that sends without a pause would otherwise
                        // keep this task running for ever.
                        tokio::task::coop::consume_budget().await;
                    }
                }
                // Writable: the loop writes.
            }
            () = std::future::poll_fn(|cx| out.poll_take(cx, &mut output)), if !writing => {}
        }
    }
}

/// Gives back the memory of a buffer that a large frame made large, once it
/// is empty.
fn shrink(buffer: &mut Vec<u8>) {
    if buffer.is_empty() && buffer.capacity() > 4 * READ_CHUNK {
        *buffer = Vec::with_capacity(READ_CHUNK);
    }
}

/// Lets the tasks that are ready to run go before the current one: it
/// wakes itself and waits once, which puts it at the back of its worker's
/// queue. (`tokio::task::yield_now` waits until the worker has nothing
/// else to do and has polled for I/O, which is later than needed here.)
async fn run_later() {
    let mut waited = false;
    std::future::poll_fn(|cx| {
        if waited {
            return Poll::Ready(());
        }
        waited = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await
}

/// Handles the whole frames at the front of `input` and removes them: how
/// many of the node's calls they answered, or `None` if the connection
/// cannot go on.
fn handle_frames(node: &Inner, peer: &str, out: &Outgoing, input: &mut Vec<u8>) -> Option<u32> {
    let mut at = 0;
    let mut answers = 0;
    let go_on = loop {
        let frame = match frame::split_frame(&input[at..]) {
            Ok(Split::Whole { taken, frame }) => {
                at += taken;
                frame
            }
            Ok(Split::Partial) => break Some(answers),
            Err(error) => {
                tracing::warn!(%peer, %error, "connection out of step");
                break None;
            }
        };
        match frame {
            Ok(Frame::Message { control, payload }) => {
                receive(node, peer, out, control, payload, &mut answers)
            }
            Ok(Frame::Tick) => {}
            Err(error) => tracing::warn!(%peer, %error, "dropped a frame that does not decode"),
        }
    };
    input.drain(..at);
    go_on
}

/// Hands one control message to the node (see [`Inner::receive`]). One
/// that does not decode is dropped; the connection goes on.
fn receive(
    node: &Inner,
    peer: &str,
    out: &Outgoing,
    control: Term,
    payload: Option<Term>,
    answers: &mut u32,
) {
    match Control::decode(control) {
        Ok(control) => {
            // User code runs in here too (the `From<Term>` and `FromTerm` of
            // the processes a message is for): a panic there drops that
            // message, not the connection.
            let handled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                node.receive(peer, out, control, payload, answers)
            }));
            if handled.is_err() {
                tracing::warn!(%peer, "dropped a message whose handling panicked");
            }
        }
        Err(error) => tracing::warn!(%peer, %error, "dropped a control message"),
    }
}

/// How many bytes a read takes at most.
const READ_CHUNK: usize = 64 * 1024;
/// How many ticks in a row may pass with nothing heard before the
/// connection counts as lost: 60 to 75 s of silence, about OTP's
/// `net_ticktime` (60 s, which OTP also applies with some slack).
const SILENT_TICKS: u32 = 4;

/// Tells the node that a connection's task has ended.
struct Hangup {
    node: Weak<Inner>,
    peer: String,
    out: Outgoing,
}

impl Drop for Hangup {
    fn drop(&mut self) {
        self.out.close();
        if let Some(node) = self.node.upgrade() {
            node.disconnected(&self.peer, self.out.id());
        }
    }
}
