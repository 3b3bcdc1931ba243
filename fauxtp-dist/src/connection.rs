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
    /// Handles one control message that `peer` sent over `out`.
    fn dispatch(
        &self,
        peer: &str,
        out: &Outgoing,
        control: Control,
        payload: Option<Term>,
    ) -> Handled;

    /// Handles a message that `peer` sent over `out` to the registered
    /// name `name`, read in place ([`Frame::ToName`]).
    fn to_name(&self, peer: &str, out: &Outgoing, name: &str, message: Message);

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
    let mut input: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    // The peer's atom cache, and its messages still coming in fragments.
    let mut incoming = Incoming::default();
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
                    input.reserve(READ_CHUNK);
                    match stream.try_read_buf(&mut input) {
                        Ok(0) => return,
                        Ok(_) => heard = true,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(_) => return,
                    }
                    let Some(node) = node.upgrade() else { return };
                    let Some(answers) = handle_frames(&*node, &peer, &out, &mut input, &mut incoming) else {
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
fn handle_frames(
    node: &impl Dispatch,
    peer: &str,
    out: &Outgoing,
    input: &mut Vec<u8>,
    incoming: &mut Incoming,
) -> Option<u32> {
    let mut at = 0;
    let mut answers = 0;
    let go_on = loop {
        let frame = match frame::split_frame(&input[at..], incoming) {
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
            Ok(Some(Frame::Message { control, payload })) => {
                if receive(node, peer, out, control, payload) == Handled::AnsweredCall {
                    answers += 1;
                }
            }
            Ok(Some(Frame::ToName { name, message })) => {
                guarded(peer, || {
                    node.to_name(peer, out, &name, message);
                    Handled::Other
                });
            }
            // A tick, or a fragment of a message not whole yet.
            Ok(Some(Frame::Tick) | None) => {}
            Err(error) => tracing::warn!(%peer, %error, "dropped a frame that does not decode"),
        }
    };
    input.drain(..at);
    go_on
}

/// Hands one control message to the node. One that does not decode is
/// dropped; the connection goes on.
fn receive(
    node: &impl Dispatch,
    peer: &str,
    out: &Outgoing,
    control: Term,
    payload: Option<Term>,
) -> Handled {
    match Control::decode(control) {
        Ok(control) => guarded(peer, || node.dispatch(peer, out, control, payload)),
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

/// How many bytes a read takes at most.
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
