//! Where frames to one peer wait to be written: a byte queue that any
//! task can send to without waiting, and that the connection's task takes
//! from (see [`crate::connection`]).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use eetf::Term;
use erl_dist::DistributionFlags;

use crate::control::Control;
use crate::frame::{
    self, AtomCacheOut, CachedAtoms, Framing, Head, Payload, PidParts, FRAGMENT_SIZE,
};

/// How many bytes may wait in a connection's queue before the node's own
/// sends ([`Outgoing::room`]) wait for its task to take them: Erlang's
/// `dist_buf_busy_limit` (1 MiB by default), past which a process sending
/// to the node is suspended.
pub(crate) const BUSY_LIMIT: usize = 1024 * 1024;

/// How many bytes may wait in the queue for a message in fragments to
/// queue its next fragment: enough for the connection's task to write in
/// large batches, little enough that a message queued behind them waits
/// for no more than that (about 100 us at 2.5 GB/s).
const STREAM_WINDOW: usize = 4 * FRAGMENT_SIZE;

/// The bytes before a whole frame's terms when its header has no atom
/// cache references: the length, then 131, 68 and a count of 0.
const FRAME_HEADER: usize = 7;

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
    /// How the peer takes frames.
    framing: Framing,
    /// The peer takes large messages in fragments.
    fragments: bool,
    /// The peer keeps an atom cache for this node.
    atom_cache: bool,
}

/// The bytes waiting to be written to one peer, and the connection task's
/// waker while it waits for some. A byte queue rather than a channel of
/// frames: a frame costs no allocation of its own, and the connection task
/// takes all that is queued by swapping buffers.
#[derive(Default)]
struct Queue {
    state: Mutex<QueueState>,
    /// Set when an append leaves [`BUSY_LIMIT`] or more queued, cleared
    /// when the task takes the queue: [`Outgoing::room`] reads it without
    /// the lock, and takes the lock only when it is set.
    busy: AtomicBool,
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
    /// The atoms this node has put in the peer's cache (made on first
    /// use, for a peer that keeps one).
    atoms: Option<Box<AtomCacheOut>>,
}

impl QueueState {
    /// Keeps `waker` to be woken when the connection's task takes the
    /// queue, once.
    fn wait_for_room(&mut self, waker: &Waker) {
        if !self.room.iter().any(|w| w.will_wake(waker)) {
            self.room.push(waker.clone());
        }
    }
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// After an append, under the lock: whether the queue is busy now.
    fn note_len(&self, queued: usize) {
        if queued >= BUSY_LIMIT {
            self.busy.store(true, Ordering::Release);
        }
    }
}

thread_local! {
    /// Where a frame is encoded before it joins a queue, so that encoding
    /// does not hold the queue's lock.
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Outgoing {
    /// A new connection's queue, numbered with [`next_id`], to a peer
    /// that negotiated `flags` with this node.
    pub(crate) fn new(flags: DistributionFlags) -> Self {
        let headers = flags.contains(DistributionFlags::DIST_HDR_ATOM_CACHE)
            || flags.contains(DistributionFlags::FRAGMENTS);
        Outgoing {
            queue: Arc::default(),
            id: next_id(),
            aliases: flags.contains(DistributionFlags::ALIAS),
            framing: match headers {
                true => Framing::Header,
                false => Framing::PassThrough,
            },
            fragments: flags.contains(DistributionFlags::FRAGMENTS),
            atom_cache: flags.contains(DistributionFlags::DIST_HDR_ATOM_CACHE),
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

    /// Queues a control message, with its payload if it has one, whole. A
    /// connection that has ended drops it, as Erlang drops messages to a
    /// node it lost.
    ///
    /// To a peer that keeps an atom cache, its atoms and its payload's go
    /// through it (up to 16, see [`CachedAtoms`]), as OTP writes them.
    pub(crate) fn send(&self, control: Control, payload: Option<Term>) {
        self.send_whole(control, payload, self.atom_cache)
    }

    /// [`send`](Self::send), with the atoms in full whatever the peer
    /// keeps: for the monitor, request and demonitor of a call to a server
    /// on an Erlang node, which serves them faster so (design-notes.md,
    /// "The distribution header").
    pub(crate) fn send_in_full(&self, control: Control, payload: Option<Term>) {
        self.send_whole(control, payload, false)
    }

    fn send_whole(&self, control: Control, payload: Option<Term>, cached: bool) {
        let control = control.encode();
        with_scratch(|scratch| {
            if !cached {
                if self.encode(scratch, |bytes| {
                    frame::encode_into(bytes, self.framing, &control, payload.as_ref())
                }) {
                    self.append(scratch);
                }
                return;
            }
            let mut atoms = CachedAtoms::new(&[]);
            let payload = payload.as_ref().map(Payload::Term);
            if self.encode(scratch, |bytes| {
                frame::encode_terms(bytes, &control, payload, &mut atoms)
            }) {
                self.append_with_header(atoms.as_slice(), scratch);
            }
        });
    }

    /// Sends `payload` to the process `to` on the peer (a `SEND`), as a
    /// sender that can wait: see [`send_streamed`](Self::send_streamed).
    pub(crate) async fn send_to_pid(&self, to: eetf::Pid, payload: Payload<'_>) {
        let control = Control::Send { to }.encode();
        if self.atom_cache {
            return self
                .send_cached(&[], |bytes, atoms| {
                    frame::encode_terms(bytes, &control, Some(payload), atoms)
                })
                .await;
        }
        self.send_streamed(|bytes, framing| {
            frame::encode_message_into(bytes, framing, &control, payload)
        })
        .await
    }

    /// Sends `payload` to the process registered as `to` on the peer, from
    /// `from` (a `REG_SEND`), writing its control message without building
    /// its terms, as a sender that can wait: see
    /// [`send_streamed`](Self::send_streamed). To a peer that keeps an
    /// atom cache, a message that goes whole names the node and `to`
    /// through it, as OTP does, which spares the peer looking them up.
    pub(crate) async fn send_to_name(&self, from: &PidParts<'_>, to: &str, payload: Payload<'_>) {
        if !self.atom_cache {
            return self
                .send_streamed(|bytes, framing| {
                    frame::encode_reg_send_into(bytes, framing, from, to, payload)
                })
                .await;
        }
        self.send_cached(&[from.node, "", to], |bytes, atoms| {
            frame::encode_reg_send_terms(bytes, from, payload, atoms)
        })
        .await
    }

    /// [`send_streamed`](Self::send_streamed) to a peer that keeps an
    /// atom cache: `encode` writes the frame's terms, its atoms as
    /// references into a list that begins with `first`. A message too
    /// large to go whole goes in fragments as it was written, the first
    /// with the header of its references.
    async fn send_cached<'a>(
        &'a self,
        first: &[&'a str],
        encode: impl FnOnce(&mut Vec<u8>, &mut CachedAtoms<'a>) -> bool,
    ) {
        self.room().await;
        let large = with_scratch(|scratch| {
            let mut atoms = CachedAtoms::new(first);
            if !self.encode(scratch, |bytes| encode(bytes, &mut atoms)) {
                return None;
            }
            if !self.fragments || scratch.len() <= STREAM_WINDOW {
                self.append_with_header(atoms.as_slice(), scratch);
                return None;
            }
            Some(Fragments::cached(self, std::mem::take(scratch), atoms))
        });
        if let Some(fragments) = large {
            self.queue_fragments(fragments).await;
        }
    }

    /// Appends a frame of `terms` after a header whose atom cache
    /// references are `atoms` (made under the queue's lock, so that the
    /// peer's cache and this node's picture of it stay the same), and
    /// wakes the connection's task, unless the connection has ended.
    fn append_with_header(&self, atoms: &[&str], terms: &[u8]) {
        // Checked before the cache changes: a frame that is not written
        // must not leave an entry the peer never saw.
        if terms.len() > (u32::MAX as usize) / 2 {
            tracing::warn!("dropped a message that does not encode");
            return;
        }
        self.push(|queue| {
            let start = queue.bytes.len();
            queue.bytes.extend_from_slice(&[0; 4]);
            let cache = queue.atoms.get_or_insert_with(Box::default);
            let written = cache.write_header(&mut queue.bytes, atoms) && {
                queue.bytes.extend_from_slice(terms);
                true
            };
            if !frame::finish_frame(&mut queue.bytes, start, written) {
                tracing::warn!("dropped a message that does not encode");
                return false;
            }
            true
        });
    }

    /// Queues a message written by `encode`, for a sender that can wait.
    /// It waits first while the connection is busy (see
    /// [`room`](Self::room)). A message larger than [`STREAM_WINDOW`], to
    /// a peer that takes fragments, then goes in fragments of
    /// [`FRAGMENT_SIZE`] (as OTP cuts them), queued while less than the
    /// window waits in the queue: what other senders queue meanwhile goes
    /// between its fragments rather than behind the whole message. The
    /// sender's own next message waits until this one is queued whole, so
    /// that messages between two processes keep their order.
    async fn send_streamed(&self, encode: impl FnOnce(&mut Vec<u8>, Framing) -> bool) {
        self.room().await;
        let rest = with_scratch(|scratch| {
            if !self.encode(scratch, |bytes| encode(bytes, self.framing)) {
                return None;
            }
            // A message that fits in the window goes whole: in fragments, it
            // would keep others waiting as long, and cost more to send and
            // to put together again.
            if !self.fragments || scratch.len() <= STREAM_WINDOW {
                self.append(scratch);
                return None;
            }
            // What fits in the window now goes from the scratch buffer;
            // the rest, if any, from a buffer of its own.
            let mut fragments = Fragments::new(self, &scratch[..]);
            fragments.queue_some(None);
            let (sequence, count, next) = fragments.disarm();
            (next < count).then(|| Fragments {
                out: self,
                message: std::mem::take(scratch),
                start: FRAME_HEADER,
                atoms: CachedAtoms::new(&[]),
                sequence,
                count,
                next,
            })
        });
        if let Some(fragments) = rest {
            self.queue_fragments(fragments).await;
        }
    }

    /// Queues the fragments of a message not yet queued, each while less
    /// than [`STREAM_WINDOW`] waits in the queue.
    async fn queue_fragments(&self, mut fragments: Fragments<'_, Vec<u8>>) {
        while fragments.next < fragments.count {
            std::future::poll_fn(|cx| match fragments.queue_some(Some(cx.waker())) {
                true => Poll::Ready(()),
                false => Poll::Pending,
            })
            .await;
        }
    }

    /// Clears `scratch` and writes a frame in it with `encode`; false, with
    /// a warning, if the frame cannot be written.
    fn encode(&self, scratch: &mut Vec<u8>, encode: impl FnOnce(&mut Vec<u8>) -> bool) -> bool {
        scratch.clear();
        let written = encode(scratch);
        if !written {
            // A term from a peer that cannot go back as it came (an atom
            // too long once in UTF-8): dropped, as one that does not
            // decode.
            tracing::warn!("dropped a message that does not encode");
        }
        written
    }

    /// Appends whole frames to the queue and wakes the connection's task,
    /// unless the connection has ended.
    fn append(&self, frames: &[u8]) {
        self.push(|queue| {
            queue.bytes.extend_from_slice(frames);
            true
        });
    }

    /// Runs `write` on the queue, under its lock, unless the connection
    /// has ended; if it wrote something (true), notes whether the queue is
    /// busy now and wakes the connection's task.
    fn push(&self, write: impl FnOnce(&mut QueueState) -> bool) {
        let waker = {
            let mut queue = self.queue.lock();
            if queue.closed || !write(&mut queue) {
                return;
            }
            self.queue.note_len(queue.bytes.len());
            queue.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Waits until fewer than [`BUSY_LIMIT`] bytes are queued (or the
    /// connection has ended), as Erlang suspends a process that sends on a
    /// busy distribution port.
    pub(crate) async fn room(&self) {
        if !self.queue.busy.load(Ordering::Acquire) {
            return;
        }
        std::future::poll_fn(|cx| {
            let mut queue = self.queue.lock();
            if queue.closed || queue.bytes.len() < BUSY_LIMIT {
                return Poll::Ready(());
            }
            queue.wait_for_room(cx.waker());
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
        self.queue.busy.store(false, Ordering::Release);
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
        self.queue.busy.store(false, Ordering::Release);
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
        self.queue.busy.store(false, Ordering::Release);
        let room = std::mem::take(&mut queue.room);
        drop(queue);
        room.into_iter().for_each(Waker::wake);
    }
}

/// Runs `f` with this thread's scratch buffer, where frames are encoded
/// before they join a queue (so that encoding does not hold the queue's
/// lock). A send from a destructor while the thread ends finds the buffer
/// gone: it uses one of its own.
fn with_scratch<R>(f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    let mut f = Some(f);
    let done = SCRATCH.try_with(|scratch| match scratch.try_borrow_mut() {
        Ok(mut scratch) => f.take().map(|f| f(&mut scratch)),
        Err(_) => None,
    });
    match (done, f) {
        (Ok(Some(done)), _) => done,
        (_, Some(f)) => f(&mut Vec::new()),
        (_, None) => unreachable!("the closure ran, so it returned"),
    }
}

/// A message going out in fragments. If its sender stops waiting (its
/// future is dropped), the fragments not yet queued are queued at once:
/// the peer must not be left with a message that never ends.
struct Fragments<'a, M: AsRef<[u8]>> {
    out: &'a Outgoing,
    /// The whole message: its bytes from `start` on are what the fragments
    /// carry (what follows a whole frame's header).
    message: M,
    start: usize,
    /// The atoms the first fragment's header refers to through the peer's
    /// cache (with none, a header of no references).
    atoms: CachedAtoms<'a>,
    sequence: u64,
    count: u64,
    /// How many fragments are queued.
    next: u64,
}

impl<'a, M: AsRef<[u8]>> Fragments<'a, M> {
    /// The fragments of a whole frame whose header has no references.
    fn new(out: &'a Outgoing, frame: M) -> Self {
        Self::starting(out, frame, FRAME_HEADER, CachedAtoms::new(&[]))
    }

    /// The fragments of a message's terms, which refer to `atoms` through
    /// the peer's cache: the first fragment's header makes the references.
    fn cached(out: &'a Outgoing, terms: M, atoms: CachedAtoms<'a>) -> Self {
        Self::starting(out, terms, 0, atoms)
    }

    fn starting(out: &'a Outgoing, message: M, start: usize, atoms: CachedAtoms<'a>) -> Self {
        Fragments {
            out,
            count: (message.as_ref().len() - start).div_ceil(FRAGMENT_SIZE) as u64,
            message,
            start,
            atoms,
            sequence: next_id(),
            next: 0,
        }
    }

    /// Queues fragments while fewer than [`STREAM_WINDOW`] bytes wait, and
    /// wakes the connection's task; true if it queued some or the
    /// connection has ended (nothing more is to be queued then). False if
    /// the queue is full, with `waker` (if any) kept to be woken when the
    /// task takes it.
    fn queue_some(&mut self, waker: Option<&Waker>) -> bool {
        let mut queue = self.out.queue.lock();
        if queue.closed {
            self.next = self.count;
            return true;
        }
        if queue.bytes.len() >= STREAM_WINDOW {
            if let Some(waker) = waker {
                queue.wait_for_room(waker);
            }
            return false;
        }
        while self.next < self.count && queue.bytes.len() < STREAM_WINDOW {
            self.write_next(&mut queue);
        }
        self.out.queue.note_len(queue.bytes.len());
        let task = queue.waker.take();
        drop(queue);
        if let Some(task) = task {
            task.wake();
        }
        true
    }

    /// Appends the next fragment to the queue, under its lock (the first
    /// may put atoms in the peer's cache).
    fn write_next(&mut self, queue: &mut QueueState) {
        let message = self.message.as_ref();
        let start = self.start + self.next as usize * FRAGMENT_SIZE;
        let end = (start + FRAGMENT_SIZE).min(message.len());
        let head = match (self.next, self.atoms.as_slice()) {
            (0, []) => Head::First,
            (0, atoms) => Head::FirstCached(queue.atoms.get_or_insert_with(Box::default), atoms),
            _ => Head::Later,
        };
        let id = self.count - self.next;
        if !frame::write_fragment(
            &mut queue.bytes,
            self.sequence,
            id,
            head,
            &message[start..end],
        ) {
            // Nothing of it was queued: the peer has seen none of it.
            tracing::warn!("dropped a message that does not encode");
            self.next = self.count;
            return;
        }
        self.next += 1;
    }

    /// Gives up the message without queuing the rest: its sequence number,
    /// fragment count and how many are queued.
    fn disarm(mut self) -> (u64, u64, u64) {
        let next = std::mem::replace(&mut self.next, self.count);
        (self.sequence, self.count, next)
    }
}

impl<M: AsRef<[u8]>> Drop for Fragments<'_, M> {
    fn drop(&mut self) {
        if self.next == self.count {
            return;
        }
        let out = self.out;
        out.push(|queue| {
            while self.next < self.count {
                self.write_next(queue);
            }
            true
        });
    }
}

/// A number for each connection, so that the end of an old connection is
/// not mistaken for the end of its replacement.
fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{split_frame, Frame, Incoming, Split};
    use eetf::{Atom, Binary};

    fn to_erlang() -> Outgoing {
        Outgoing::new(DistributionFlags::FRAGMENTS | DistributionFlags::DIST_HDR_ATOM_CACHE)
    }

    const FROM: PidParts<'static> = PidParts {
        node: "a@b",
        id: 1,
        serial: 0,
        creation: 1,
    };

    /// The payloads of the messages made whole by the frames in `bytes`.
    fn payloads(bytes: &[u8], incoming: &mut Incoming) -> Vec<Term> {
        let mut at = 0;
        let mut whole = Vec::new();
        while let Split::Whole { taken, frame } = split_frame(&bytes[at..], incoming).unwrap() {
            at += taken;
            match frame.unwrap() {
                Some(Frame::Message { payload, .. }) => whole.push(payload.unwrap()),
                Some(Frame::ToName { message, .. }) => whole.push(message.into_term()),
                _ => {}
            }
        }
        assert_eq!(at, bytes.len());
        whole
    }

    fn small() -> Term {
        Term::from(Atom::from("small"))
    }

    /// Sends `message` to `sink` from a task of its own, which waits for
    /// room as a sender of a large message does.
    fn send_from_a_task(out: &Outgoing, message: &Term) -> tokio::task::JoinHandle<()> {
        let (out, message) = (out.clone(), message.clone());
        tokio::spawn(async move {
            out.send_to_name(&FROM, "sink", Payload::Term(&message))
                .await
        })
    }

    #[tokio::test]
    async fn what_others_send_goes_between_the_fragments_of_a_large_message() {
        let out = to_erlang();
        let large = Term::from(Binary::from(vec![7u8; 12 * FRAGMENT_SIZE]));
        let sender = send_from_a_task(&out, &large);
        let mut incoming = Incoming::default();
        let mut taken = Vec::new();
        let mut seen = Vec::new();
        // Each round: the sender queues fragments up to the window and
        // waits; another sends a small message; the connection takes the
        // queue.
        while !sender.is_finished() {
            tokio::task::yield_now().await;
            out.send_to_name(&FROM, "sink", Payload::Term(&small()))
                .await;
            out.take(&mut taken);
            // What waited before the small message: within the window,
            // and a fragment over it at most.
            assert!(taken.len() < STREAM_WINDOW + FRAGMENT_SIZE + 100);
            seen.push(payloads(&taken, &mut incoming));
            taken.clear();
        }
        // Fragments (and no whole message) before each small one, until
        // the last makes the large message whole.
        let rounds = seen.len();
        assert!(rounds >= 3, "{rounds} rounds");
        for (round, whole) in seen.iter().enumerate() {
            let expected = match round == rounds - 1 {
                true => vec![large.clone(), small()],
                false => vec![small()],
            };
            assert_eq!(whole, &expected, "round {round}");
        }
    }

    #[tokio::test]
    async fn a_large_message_whose_sender_stops_waiting_is_queued_whole() {
        let out = to_erlang();
        let large = Term::from(Binary::from(vec![7u8; 5 * FRAGMENT_SIZE]));
        let sender = send_from_a_task(&out, &large);
        tokio::task::yield_now().await;
        // One fragment queued; the sender waits for room, and is dropped.
        sender.abort();
        let _ = sender.await;
        out.send_to_name(&FROM, "sink", Payload::Term(&small()))
            .await;
        let mut taken = Vec::new();
        out.take(&mut taken);
        let mut incoming = Incoming::default();
        assert_eq!(payloads(&taken, &mut incoming), vec![large, small()]);
    }

    /// The atom cache references of the first fragment in `bytes`.
    fn first_fragment_refs(bytes: &[u8]) -> u8 {
        // Length (4), version, tag, sequence (8), fragment id (8), then the
        // count of references.
        assert_eq!(bytes[4..6], [131, 69], "a first fragment");
        bytes[4 + 2 + 16]
    }

    #[tokio::test]
    async fn any_message_refers_to_its_atoms_through_the_cache() {
        // A control message and its payload, as a reply to an Erlang
        // caller: its pid, its alias and the reply's reference name nodes.
        let out = to_erlang();
        let alias = eetf::Reference {
            node: Atom::from("erl@h"),
            id: vec![1, 2, 3],
            creation: 5,
        };
        let control = Control::AliasSend {
            from: eetf::Pid::new("a@b", 1, 0, 1),
            alias: alias.clone(),
        };
        let reply = Term::from(eetf::Tuple::from(vec![
            Term::from(alias),
            Term::from(eetf::Tuple::from(vec![small(), small()])),
        ]));
        out.send(control.clone(), Some(reply.clone()));
        let mut taken = Vec::new();
        out.take(&mut taken);
        // a@b, erl@h and `small`, once each.
        assert_eq!(taken[4..7], [131, 68, 3]);
        let mut incoming = Incoming::default();
        assert_eq!(payloads(&taken, &mut incoming), vec![reply.clone()]);
        // Again: the same references, the atoms in the cache already.
        out.send(control, Some(reply.clone()));
        taken.clear();
        out.take(&mut taken);
        assert_eq!(taken[4..7], [131, 68, 3]);
        assert_eq!(payloads(&taken, &mut incoming), vec![reply.clone()]);
        // Unless asked for in full, as a call's own messages are.
        out.send_in_full(control_again(), Some(reply.clone()));
        taken.clear();
        out.take(&mut taken);
        assert_eq!(taken[4..7], [131, 68, 0]);
        assert_eq!(payloads(&taken, &mut incoming), vec![reply]);
    }

    fn control_again() -> Control {
        Control::Send {
            to: eetf::Pid::new("erl@h", 2, 0, 5),
        }
    }

    #[tokio::test]
    async fn a_large_message_to_a_name_refers_to_its_atoms_through_the_cache() {
        // Written once, as OTP writes it: the first fragment's header
        // holds the atom cache references of the whole message, the
        // control message's and the payload's, rather than the message
        // being written again with its atoms in full.
        let out = to_erlang();
        let blob = Term::from(Binary::from(vec![7u8; 6 * FRAGMENT_SIZE]));
        let large = Term::from(eetf::Tuple::from(vec![
            Term::from(Atom::from("blob")),
            blob,
        ]));
        let sender = send_from_a_task(&out, &large);
        let mut incoming = Incoming::default();
        let mut taken = Vec::new();
        let mut whole = Vec::new();
        let mut first = None;
        while !sender.is_finished() || !taken.is_empty() {
            tokio::task::yield_now().await;
            taken.clear();
            out.take(&mut taken);
            if first.is_none() && !taken.is_empty() {
                first = Some(first_fragment_refs(&taken));
            }
            whole.extend(payloads(&taken, &mut incoming));
        }
        // The node, '' and the name of the control message, and `blob`.
        assert_eq!(first, Some(4));
        assert_eq!(whole, vec![large.clone()]);
        // The cache on both sides agrees after it: a message with the same
        // atoms, whole, refers to them again.
        let small = Term::from(eetf::Tuple::from(vec![
            Term::from(Atom::from("blob")),
            Term::from(Binary::from(vec![1u8])),
        ]));
        out.send_to_name(&FROM, "sink", Payload::Term(&small)).await;
        out.take(&mut taken);
        assert_eq!(payloads(&taken, &mut incoming), vec![small]);
    }

    #[tokio::test]
    async fn a_large_message_dropped_before_its_first_fragment_is_queued_whole_with_its_references()
    {
        let out = to_erlang();
        // The queue is full: the large message's sender waits for room
        // before it queues anything.
        let filler = Term::from(Binary::from(vec![1u8; STREAM_WINDOW / 2 + 1]));
        for _ in 0..2 {
            out.send_to_name(&FROM, "other", Payload::Term(&filler))
                .await;
        }
        let large = Term::from(eetf::Tuple::from(vec![
            Term::from(Atom::from("blob")),
            Term::from(Binary::from(vec![7u8; 5 * FRAGMENT_SIZE])),
        ]));
        let sender = send_from_a_task(&out, &large);
        tokio::task::yield_now().await;
        sender.abort();
        let _ = sender.await;
        let mut taken = Vec::new();
        out.take(&mut taken);
        let mut incoming = Incoming::default();
        assert_eq!(
            payloads(&taken, &mut incoming),
            vec![filler.clone(), filler, large]
        );
    }

    #[tokio::test]
    async fn a_message_within_the_window_or_to_a_peer_without_fragments_goes_whole() {
        let within = 3 * FRAGMENT_SIZE;
        let beyond = 5 * FRAGMENT_SIZE;
        for (flags, size, tag) in [
            (DistributionFlags::mandatory(), beyond, 112),
            (DistributionFlags::DIST_HDR_ATOM_CACHE, beyond, 68),
            (DistributionFlags::FRAGMENTS, within, 68),
        ] {
            let out = Outgoing::new(flags);
            let large = Term::from(Binary::from(vec![7u8; size]));
            out.send_to_name(&FROM, "sink", Payload::Term(&large)).await;
            let mut taken = Vec::new();
            out.take(&mut taken);
            // Pass-through (112), or a distribution header (131, 68).
            assert_eq!(taken[4..].iter().find(|b| **b != 131), Some(&tag));
            let mut incoming = Incoming::default();
            assert_eq!(payloads(&taken, &mut incoming), vec![large]);
        }
    }
}
