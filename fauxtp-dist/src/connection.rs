//! One connection to another node, after its handshake: a task that reads
//! frames and hands their control messages to the node (through
//! [`Dispatch`], so this module does not know the node), writes the frames
//! queued in its [`Outgoing`], and keeps the connection alive with ticks.

use std::io;
use std::sync::Weak;
use std::task::Poll;
use std::time::Duration;

use eetf::Term;
use tokio::io::Interest;
use tokio::time::{Instant, MissedTickBehavior};

use crate::control::Control;
use crate::frame::{self, Frame, Incoming, Message, Split};
use crate::outgoing::Outgoing;
use crate::transport::Transport;

/// What a connection's task needs of the node it serves. The node
/// implements it; the task holds it weakly, so a node that is dropped ends
/// its connections.
pub(crate) trait Dispatch: Send + Sync + 'static {
    /// What a connection keeps for [`to_name`](Self::to_name) between
    /// messages (the node's: the servers its names led to).
    type Names: Default + Send;

    /// Handles one control message that `peer` sent over `out`, with what
    /// the connection keeps for messages to names (`names`).
    fn dispatch(
        &self,
        peer: &str,
        out: &Outgoing,
        names: &mut Self::Names,
        control: Control,
        payload: Option<Term>,
    ) -> Handled;

    /// Handles a message that `peer` sent over `out` to the registered
    /// name `name`, read in place ([`Frame::ToName`]), with what the
    /// connection keeps for it (`names`).
    fn to_name(
        &self,
        peer: &str,
        out: &Outgoing,
        names: &mut Self::Names,
        name: &str,
        message: Message,
    );

    /// The task serving connection `connection` to `peer` has ended.
    fn hung_up(&self, peer: &str, connection: u64);
}

/// What handling a control message came to, as far as the task cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Handled {
    /// It answered one of the node's own calls (and so woke its caller).
    AnsweredCall,
    /// Anything else.
    Other,
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
pub(crate) async fn run<N: Dispatch>(
    mut stream: Transport,
    node: Weak<N>,
    peer: String,
    out: Outgoing,
    tick: Duration,
) {
    // However the task ends (an error, a panic, an abort), the node hears
    // of it, so that it never keeps a connection nobody serves.
    let _hangup = Hangup {
        node: node.clone(),
        peer: peer.clone(),
        out: out.clone(),
    };
    let mut input = Input {
        bytes: Vec::with_capacity(READ_CHUNK),
        start: 0,
        incoming: Incoming::default(),
        names: N::Names::default(),
    };
    // Bytes to write; the first `written` of them are written.
    let mut output: Vec<u8> = Vec::new();
    let mut written = 0;
    // A connection that sent nothing sends a tick every `tick`: a quarter
    // of `net_ticktime`, as OTP does.
    let mut ticks = tokio::time::interval_at(Instant::now() + tick, tick);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // Whether anything came, or went, since the last tick; how many ticks
    // in a row found nothing come.
    let (mut heard, mut sent, mut silent) = (false, false, 0);
    // How many frames the task has handed on since it last let the other
    // tasks run (`yield_now`, `run_later`): what a turn hands on is at
    // most that, and never more than `FRAMES_PER_TURN`. Whether `input`
    // may hold whole frames left for the next share.
    let (mut turn, mut backlog) = (0, false);
    loop {
        // Whatever is queued goes in the same write: one system call for a
        // call's monitor and request, or for many callers' replies.
        if output.is_empty() {
            out.take(&mut output);
        }
        // TLS records made of earlier writes, that the socket did not take.
        if stream.flush().is_err() {
            return;
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
                // Swapped with the queue's: kept up to the size a busy
                // queue reaches, so that a stream reuses both.
                if output.capacity() > 2 * crate::outgoing::BUSY_LIMIT {
                    output = Vec::new();
                }
            }
        }
        if backlog {
            // Frames left from the last read. The processes the last share
            // went to, and every other task ready on this thread, run
            // first; then the next share. (`yield_now`, not `run_later`:
            // a task back in the queue at once is taken by an idle thread,
            // and keeps handing on frames there faster than the process
            // it hands them to takes them.)
            tokio::task::yield_now().await;
            let Some(handled) = input.handle(&node, &peer, &out, FRAMES_PER_TURN) else {
                return;
            };
            (turn, backlog) = (handled.frames, handled.more);
            continue;
        }
        let writing = written < output.len();
        let interest = if writing || stream.has_pending() {
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
                    input.bytes.reserve(READ_CHUNK);
                    match stream.try_read_buf(&mut input.bytes) {
                        Ok(0) => return,
                        Ok(_) => heard = true,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(_) => return,
                    }
                    // Below the limit: reaching it sets `backlog`.
                    debug_assert!(turn < FRAMES_PER_TURN);
                    let Some(handled) = input.handle(&node, &peer, &out, FRAMES_PER_TURN - turn) else {
                        return;
                    };
                    (turn, backlog) = (turn + handled.frames, handled.more);
                    if backlog {
                        // The next share of frames waits at the top of
                        // the loop, behind the processes these went to.
                    } else if handled.answers > 1 {
                        // Callers woken by these answers mostly call again
                        // at once: let them run first, so that their
                        // requests go out in one write rather than one each.
                        run_later().await;
                        turn = 0;
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

/// What a connection has read and not handled yet, and what it keeps
/// between frames.
struct Input<Names> {
    bytes: Vec<u8>,
    /// Where the frames not handled yet begin in `bytes`.
    start: usize,
    /// The peer's atom cache, and its messages still coming in fragments.
    incoming: Incoming,
    /// The node's, for messages to names.
    names: Names,
}

impl<Names> Input<Names> {
    /// Hands the whole frames read, up to `limit` of them, to `node`;
    /// `None` if the connection cannot go on, or the node is gone.
    fn handle<N: Dispatch<Names = Names>>(
        &mut self,
        node: &Weak<N>,
        peer: &str,
        out: &Outgoing,
        limit: u32,
    ) -> Option<Frames> {
        let node = node.upgrade()?;
        let handled = handle_frames(&*node, peer, out, self, limit)?;
        // The memory a large frame took, given back once it is handled.
        if self.bytes.is_empty() && self.bytes.capacity() > 4 * READ_CHUNK {
            self.bytes = Vec::with_capacity(READ_CHUNK);
        }
        Some(handled)
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

/// What [`handle_frames`] did.
struct Frames {
    /// How many it handled.
    frames: u32,
    /// How many of the node's calls they answered.
    answers: u32,
    /// Whether it reached its limit (whole frames may be left).
    more: bool,
}

/// How many frames a turn of the task handles at most before the other
/// tasks ready to run on its thread get theirs: as many messages as a
/// process takes from its mailbox in one turn (tokio's budget). A read
/// takes up to 64 KiB, a thousand small messages or more: handed on all at
/// once, they would pile up in a mailbox faster than its process, on the
/// same thread, takes them, and keep that thread's other tasks waiting.
const FRAMES_PER_TURN: u32 = 128;

/// Handles the whole frames of `input`, up to `limit` of them; `None` if
/// the connection cannot go on. Those handled are removed once all are;
/// until then, `input.start` moves past them.
fn handle_frames<N: Dispatch>(
    node: &N,
    peer: &str,
    out: &Outgoing,
    input: &mut Input<N::Names>,
    limit: u32,
) -> Option<Frames> {
    let mut at = input.start;
    let (mut frames, mut answers) = (0, 0);
    let go_on = loop {
        if frames == limit {
            break Some(Frames {
                frames,
                answers,
                more: true,
            });
        }
        let frame = match frame::split_frame(&input.bytes[at..], &mut input.incoming) {
            Ok(Split::Whole { taken, frame }) => {
                at += taken;
                frames += 1;
                frame
            }
            Ok(Split::Partial) => {
                break Some(Frames {
                    frames,
                    answers,
                    more: false,
                })
            }
            Err(error) => {
                tracing::warn!(%peer, %error, "connection out of step");
                break None;
            }
        };
        match frame {
            Ok(Some(Frame::Message { control, payload })) => {
                let names = &mut input.names;
                if receive(node, peer, out, names, control, payload) == Handled::AnsweredCall {
                    answers += 1;
                }
            }
            Ok(Some(Frame::ToName { name, message })) => {
                guarded(peer, || {
                    node.to_name(peer, out, &mut input.names, &name, message);
                    Handled::Other
                });
            }
            // A tick, or a fragment of a message not whole yet.
            Ok(Some(Frame::Tick) | None) => {}
            Err(error) => tracing::warn!(%peer, %error, "dropped a frame that does not decode"),
        }
    };
    match go_on {
        // The rest waits for the next share, where it is.
        Some(Frames { more: true, .. }) => input.start = at,
        _ => {
            input.bytes.drain(..at);
            input.start = 0;
        }
    }
    go_on
}

/// Hands one control message to the node. One that does not decode is
/// dropped; the connection goes on.
fn receive<N: Dispatch>(
    node: &N,
    peer: &str,
    out: &Outgoing,
    names: &mut N::Names,
    control: Term,
    payload: Option<Term>,
) -> Handled {
    match Control::decode(control) {
        Ok(control) => guarded(peer, || node.dispatch(peer, out, names, control, payload)),
        Err(error) => {
            tracing::warn!(%peer, %error, "dropped a control message");
            Handled::Other
        }
    }
}

/// Runs the handling of one message. User code runs in there (the
/// `From<Term>` and `FromTerm` of the processes a message is for): a panic
/// there drops that message, not the connection.
fn guarded(peer: &str, handle: impl FnOnce() -> Handled) -> Handled {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(handle)).unwrap_or_else(|_| {
        tracing::warn!(%peer, "dropped a message whose handling panicked");
        Handled::Other
    })
}

/// The room made for each read. A read fills all the room the buffer has,
/// which is more while a large frame is coming in.
const READ_CHUNK: usize = 64 * 1024;
/// How many ticks in a row may pass with nothing heard before the
/// connection counts as lost: one to one and a quarter `net_ticktime` of
/// silence, as OTP applies it, with some slack.
const SILENT_TICKS: u32 = 4;

/// Tells the node that a connection's task has ended.
struct Hangup<N: Dispatch> {
    node: Weak<N>,
    peer: String,
    out: Outgoing,
}

impl<N: Dispatch> Drop for Hangup<N> {
    fn drop(&mut self) {
        self.out.close();
        if let Some(node) = self.node.upgrade() {
            node.hung_up(&self.peer, self.out.id());
        }
    }
}
