//! Mailboxes: the queue behind every process, and selective receive.
//!
//! A mailbox is a multi-producer, single-consumer queue plus a *save queue*.
//! The queue lives in the process's control block (no allocation of its
//! own). A sender takes the queue's lock for one `push_back` and nothing
//! else, boxes nothing, and wakes the process after letting go of the lock.
//! The owning process takes everything that has arrived in one swap of
//! buffers, so it takes the lock once per batch, not once per message, and
//! the two buffers are reused: a process in a steady state allocates nothing
//! to receive. Only the owning process receives.
//!
//! Selective receive ([`receive!`](crate::receive)) looks at the messages in
//! arrival order and takes the first one that matches one of its arms. A
//! message that matches no arm is moved to the save queue, in order, and every
//! later receive looks at the save queue first: this is Erlang's save queue,
//! and it keeps the order of the messages a process has not taken yet.
//!
//! # Costs
//!
//! - A receive that skips `k` saved messages costs O(k): each skipped message
//!   is moved from the front of the save queue to its back and the order is
//!   restored with one rotation. Nothing is allocated per skipped message; the
//!   save queue only grows (amortised) when new arrivals are skipped.
//! - A receive with an `after` timeout creates its timer only if it has to
//!   wait; `after Duration::ZERO` never waits and never creates a timer.
//! - Taking a new arrival takes part in tokio's cooperative scheduling: it
//!   spends a unit of the task's budget, as reading a tokio channel does,
//!   with or without `after`, so a process whose mailbox never empties
//!   still yields to the other tasks of its thread now and then, and an
//!   exit signal takes effect then. Taking from the save queue (whose
//!   messages all arrived that way) and `try_recv` spend none.
//!
//! The mailbox is unbounded, like Erlang's: a process that never takes some
//! kind of message keeps it forever. Give such processes a catch-all arm.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

pub(crate) mod selector;

pub(crate) use self::selector::Selector;

/// The shared half of a mailbox, in the process's control block: where
/// senders push.
pub(crate) struct Queue<T> {
    state: Mutex<State<T>>,
    /// How many messages the receiver holds (taken from `state`, not
    /// received yet), as of the end of its last receiving operation.
    held: Held,
}

/// Written by the receiver alone, after each receiving operation.
struct Held(AtomicUsize);

struct State<T> {
    items: VecDeque<T>,
    /// The owning process, if it waits for a message.
    receiver: Option<Waker>,
    /// Set when the owning process has ended: pushes fail from then on.
    closed: bool,
    /// How many messages may wait here before a push is refused (see
    /// [`Queue::push_message`]); `usize::MAX` by default.
    limit: usize,
    /// Set by [`Queue::interrupt`]: the receiver's next wait returns at once.
    interrupted: bool,
    /// How many items were ever pushed (a counter, not a length).
    accepted: u64,
    /// Woken once, when the queue closes; made by the first wait for that
    /// (a timer's on its target), since every process carries the slot.
    closing: Option<Arc<Notify>>,
    /// The receiving side, left by a body that has ended before its
    /// process (see [`park`](Queue::park)). Boxed, and only when it holds
    /// messages: every process carries the slot.
    parked: Option<Box<Mailbox<T>>>,
    /// A body that has ended left its receiving side empty.
    parked_empty: bool,
    /// The exit protocol found nothing parked: a receiving side that comes
    /// later (a context dropped on another thread meanwhile) closes the
    /// queue at once.
    close_on_park: bool,
}

/// What [`Queue::activity`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Activity {
    /// Messages waiting: queued, or held by the receiver (see
    /// [`Queue::activity`]).
    pub(crate) waiting: usize,
    /// Messages the receiver has taken for good since the queue was made.
    pub(crate) taken: u64,
    /// Whether the receiver is parked, waiting for a message.
    pub(crate) receiver_waits: bool,
}

/// Why a message was not queued.
pub(crate) enum Refused<T> {
    /// The owning process has ended.
    Closed(T),
    /// As many messages as the limit allows wait already: the limit.
    Full(T, usize),
}

impl<T> Queue<T> {
    pub(crate) fn new() -> Self {
        Queue {
            state: Mutex::new(State {
                items: VecDeque::new(),
                receiver: None,
                closed: false,
                limit: usize::MAX,
                interrupted: false,
                accepted: 0,
                closing: None,
                parked: None,
                parked_empty: false,
                close_on_park: false,
            }),
            held: Held(AtomicUsize::new(0)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // Nothing that can panic runs under this lock but an allocation, and
        // the queue stays consistent if it does; recover from poisoning.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Pushes `item` at the back of the queue; gives it back if the
    /// receiving process is gone.
    #[inline]
    pub(crate) fn push(&self, item: T) -> Result<(), T> {
        let mut state = self.lock();
        if state.closed {
            return Err(item);
        }
        state.items.push_back(item);
        state.accepted += 1;
        let receiver = state.receiver.take();
        drop(state);
        if let Some(waker) = receiver {
            waker.wake();
        }
        Ok(())
    }

    /// [`push`](Self::push), for a message: refused when as many as the
    /// limit wait already (signals are never refused).
    #[inline]
    pub(crate) fn push_message(&self, item: T) -> Result<(), Refused<T>> {
        let mut state = self.lock();
        if state.closed {
            return Err(Refused::Closed(item));
        }
        if state.items.len() >= state.limit {
            return Err(Refused::Full(item, state.limit));
        }
        state.items.push_back(item);
        state.accepted += 1;
        let receiver = state.receiver.take();
        drop(state);
        if let Some(waker) = receiver {
            waker.wake();
        }
        Ok(())
    }

    /// Sets how many messages may wait before a push is refused.
    pub(crate) fn set_limit(&self, limit: usize) {
        self.lock().limit = limit;
    }

    /// Wakes the receiver from an interruptible wait (see
    /// [`Receiver::poll_recv_interruptible`]), or makes its next one return
    /// at once: a GenServer asked to stop looks at why.
    pub(crate) fn interrupt(&self) {
        let mut state = self.lock();
        state.interrupted = true;
        let receiver = state.receiver.take();
        drop(state);
        if let Some(waker) = receiver {
            waker.wake();
        }
    }

    /// Closes the queue for good, with the receiving side that goes with it:
    /// later pushes fail, and everything still queued or saved is dropped
    /// (after the lock is released, since dropping a message may run any
    /// code, a reply to a waiting caller for one).
    pub(crate) fn close(&self, mailbox: Mailbox<T>) {
        let (queued, closing) = {
            let mut state = self.lock();
            state.closed = true;
            state.receiver = None;
            (std::mem::take(&mut state.items), state.closing.take())
        };
        drop(mailbox);
        drop(queued);
        if let Some(closing) = closing {
            closing.notify_waiters();
        }
    }

    /// Keeps the receiving side of a body that has ended before its
    /// process, to be dropped by [`close_parked`](Self::close_parked) once
    /// the exit reason is known (replies still queued tell it).
    pub(crate) fn park(&self, mailbox: Mailbox<T>) {
        let mut state = self.lock();
        if state.close_on_park {
            drop(state);
            return self.close(mailbox);
        }
        match mailbox.is_empty() {
            true => state.parked_empty = true,
            false => state.parked = Some(Box::new(mailbox)),
        }
    }

    /// [`close`](Self::close)s the queue with the receiving side parked in
    /// it, if one is. If none is (the body still has it), the queue closes
    /// when it is parked.
    pub(crate) fn close_parked(&self) {
        let parked = {
            let mut state = self.lock();
            match (state.parked.take(), std::mem::take(&mut state.parked_empty)) {
                (Some(mailbox), _) => Some(*mailbox),
                (None, true) => Some(Mailbox::new()),
                (None, false) => {
                    state.close_on_park = true;
                    None
                }
            }
        };
        if let Some(mailbox) = parked {
            self.close(mailbox);
        }
    }

    /// Completes once [`interrupt`](Self::interrupt) is called (at once if
    /// it was since the last wait), taking no message: a suspended
    /// server's wait.
    pub(crate) async fn interrupted(&self) {
        poll_fn(|cx| {
            let mut state = self.lock();
            if std::mem::take(&mut state.interrupted) {
                return Poll::Ready(());
            }
            match &state.receiver {
                Some(waker) if waker.will_wake(cx.waker()) => {}
                _ => state.receiver = Some(cx.waker().clone()),
            }
            Poll::Pending
        })
        .await;
    }

    /// Completes once the queue is closed (its process has ended).
    pub(crate) async fn closed(&self) {
        let closing = {
            let mut state = self.lock();
            if state.closed {
                return;
            }
            state.closing.get_or_insert_with(Default::default).clone()
        };
        let notified = closing.notified();
        let mut notified = std::pin::pin!(notified);
        // Registered before the flag is read again, so a close in between
        // is seen.
        notified.as_mut().enable();
        if self.lock().closed {
            return;
        }
        notified.await;
    }

    /// Number of messages pushed and not yet taken by the receiver.
    fn len(&self) -> usize {
        self.lock().items.len()
    }

    /// The queue seen from outside the owning process, under one lock.
    /// Messages waiting are those queued plus those its receiver holds as
    /// of its last receive (exact between receives; during one it may be
    /// off by the batch being taken); taken ones are all the others.
    pub(crate) fn activity(&self) -> Activity {
        let state = self.lock();
        let waiting = state.items.len() + self.held.0.load(Ordering::Relaxed);
        Activity {
            waiting,
            taken: state.accepted.saturating_sub(waiting as u64),
            receiver_waits: state.receiver.is_some(),
        }
    }
}

/// The receiving half of a mailbox, owned by the process: what has been
/// taken from the queue and not received yet, and the save queue.
pub(crate) struct Mailbox<T> {
    /// Looked at by a selective receive and not taken: always older than
    /// everything in `arrived`.
    saved: VecDeque<T>,
    /// Taken from the queue in one batch, not looked at yet.
    arrived: VecDeque<T>,
}

impl<T> Mailbox<T> {
    pub(crate) fn new() -> Self {
        Mailbox {
            saved: VecDeque::new(),
            arrived: VecDeque::new(),
        }
    }

    /// Whether it holds no message (saved, or taken from its queue and not
    /// looked at yet).
    pub(crate) fn is_empty(&self) -> bool {
        self.saved.is_empty() && self.arrived.is_empty()
    }

    /// Number of messages waiting (saved, taken from `queue` and not looked
    /// at, and still in `queue`).
    pub(crate) fn len(&self, queue: &Queue<T>) -> usize {
        self.saved.len() + self.arrived.len() + queue.len()
    }

    /// Everything waiting, in order, without taking it.
    pub(crate) fn peek_all<'a>(&'a mut self, queue: &Queue<T>) -> impl Iterator<Item = &'a T> {
        self.with(queue).take_arrivals();
        self.saved.iter().chain(self.arrived.iter())
    }

    /// The mailbox together with the queue it receives from.
    pub(crate) fn with<'a>(&'a mut self, queue: &'a Queue<T>) -> Receiver<'a, T> {
        Receiver {
            queue,
            mailbox: self,
        }
    }
}

/// A mailbox and its queue, borrowed for one receiving operation.
pub(crate) struct Receiver<'a, T> {
    queue: &'a Queue<T>,
    mailbox: &'a mut Mailbox<T>,
}

impl<T> Drop for Receiver<'_, T> {
    /// Tells the queue how many messages the receiver holds now, for
    /// [`Queue::waiting`].
    fn drop(&mut self) {
        let held = self.mailbox.saved.len() + self.mailbox.arrived.len();
        self.queue.held.0.store(held, Ordering::Relaxed);
    }
}

impl<'a, T> Receiver<'a, T> {
    /// Takes the oldest message, waiting for one if there is none.
    pub(crate) async fn recv(mut self) -> T {
        if let Some(item) = self.mailbox.saved.pop_front() {
            return item;
        }
        self.next_arrival().await
    }

    /// [`recv`](Self::recv), but a wait that [`Queue::interrupt`] cuts
    /// short gives `None`.
    pub(crate) async fn recv_interruptible(mut self) -> Option<T> {
        if let Some(item) = self.mailbox.saved.pop_front() {
            return Some(item);
        }
        poll_fn(|cx| self.poll_arrival_interruptible(cx)).await
    }

    /// Takes the oldest message if there is one, without waiting.
    pub(crate) fn try_recv(mut self) -> Option<T> {
        match self.mailbox.saved.pop_front() {
            Some(item) => Some(item),
            None => self.try_arrival(),
        }
    }

    /// The oldest message the receiver holds already: saved (which, as
    /// for [`recv`](Self::recv), spends no budget), or taken from the
    /// queue with an earlier batch (a unit of tokio's budget; `None` once
    /// it is spent, and the task is woken to run again, so the caller's
    /// next wait for an arrival yields). `None` if it holds none. It never
    /// takes the queue's lock: the caller's wait takes the next batch, with
    /// one lock for all of it.
    pub(crate) fn try_recv_held(self, cx: &mut Context<'_>) -> Option<T> {
        if let Some(item) = self.mailbox.saved.pop_front() {
            return Some(item);
        }
        if self.mailbox.arrived.is_empty() {
            return None;
        }
        let Poll::Ready(coop) = tokio::task::coop::poll_proceed(cx) else {
            return None;
        };
        coop.made_progress();
        self.mailbox.arrived.pop_front()
    }

    /// Keeps only the waiting messages for which `keep` returns true (order
    /// unchanged).
    pub(crate) fn retain(mut self, mut keep: impl FnMut(&T) -> bool) {
        self.take_arrivals();
        self.mailbox.saved.retain(&mut keep);
        self.mailbox.arrived.retain(&mut keep);
    }

    /// Starts a selective receive that gives up at `deadline` (`None`: never).
    pub(crate) fn select(self, deadline: Option<Instant>) -> Selector<'a, T> {
        let to_scan = self.mailbox.saved.len();
        Selector {
            receiver: self,
            deadline,
            to_scan,
            popped: 0,
        }
    }

    /// Moves everything in the queue behind what has arrived already.
    fn take_arrivals(&mut self) {
        let mut state = self.queue.lock();
        if self.mailbox.arrived.is_empty() {
            std::mem::swap(&mut state.items, &mut self.mailbox.arrived);
        } else {
            self.mailbox.arrived.append(&mut state.items);
        }
    }

    /// The oldest message not looked at yet, if there is one.
    fn try_arrival(&mut self) -> Option<T> {
        if let Some(item) = self.mailbox.arrived.pop_front() {
            return Some(item);
        }
        let mut state = self.queue.lock();
        self.take_batch(&mut state)
    }

    /// The oldest message not looked at yet, if there is one, without
    /// waiting for one; spends a unit of tokio's budget when it takes one
    /// (and is `Pending` once the budget is spent, to yield).
    fn poll_arrived(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let coop = std::task::ready!(tokio::task::coop::poll_proceed(cx));
        let item = self.try_arrival();
        if item.is_some() {
            coop.made_progress();
        }
        Poll::Ready(item)
    }

    /// With `arrived` empty: takes the whole queue in one go (swapping
    /// hands the queue the empty buffer, room included) and gives its
    /// oldest message.
    fn take_batch(&mut self, state: &mut State<T>) -> Option<T> {
        if state.items.is_empty() {
            return None;
        }
        std::mem::swap(&mut state.items, &mut self.mailbox.arrived);
        self.mailbox.arrived.pop_front()
    }

    fn poll_arrival(&mut self, cx: &mut Context<'_>) -> Poll<T> {
        let coop = std::task::ready!(tokio::task::coop::poll_proceed(cx));
        if let Some(item) = self.mailbox.arrived.pop_front() {
            coop.made_progress();
            return Poll::Ready(item);
        }
        let mut state = self.queue.lock();
        if let Some(item) = self.take_batch(&mut state) {
            drop(state);
            coop.made_progress();
            return Poll::Ready(item);
        }
        match &state.receiver {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            _ => state.receiver = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// [`poll_arrival`](Self::poll_arrival), giving `None` when interrupted.
    fn poll_arrival_interruptible(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let coop = std::task::ready!(tokio::task::coop::poll_proceed(cx));
        if let Some(item) = self.mailbox.arrived.pop_front() {
            coop.made_progress();
            return Poll::Ready(Some(item));
        }
        let mut state = self.queue.lock();
        if let Some(item) = self.take_batch(&mut state) {
            drop(state);
            coop.made_progress();
            return Poll::Ready(Some(item));
        }
        if std::mem::take(&mut state.interrupted) {
            return Poll::Ready(None);
        }
        match &state.receiver {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            _ => state.receiver = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// Waits for a message that arrives after the save queue was looked at.
    async fn next_arrival(&mut self) -> T {
        poll_fn(|cx| self.poll_arrival(cx)).await
    }
}

/// The deadline of a receive that waits at most `after` from now; `None` if
/// that is too far away to represent (it then waits forever).
pub(crate) fn deadline_after(after: Duration) -> Option<Instant> {
    Instant::now().checked_add(after)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn pick_even(queue: &Queue<u32>, mb: &mut Mailbox<u32>) -> Option<u32> {
        let mut sel = mb.with(queue).select(deadline_after(Duration::ZERO));
        while let Some(n) = sel.next().await {
            if n % 2 == 0 {
                return Some(n);
            }
            sel.skip(n);
        }
        None
    }

    #[test]
    fn a_receiving_side_parked_after_the_exit_protocol_closes_the_queue() {
        // Parked before: the exit protocol closes the queue with it.
        let (queue, mut mb) = (Queue::new(), Mailbox::new());
        queue.push(1).unwrap();
        mb.with(&queue).take_arrivals();
        queue.park(mb);
        assert!(queue.push(2).is_ok(), "open until the exit protocol");
        queue.close_parked();
        assert!(queue.push(3).is_err(), "closed by the exit protocol");
        // Parked after (a context dropped on another thread while the exit
        // protocol ran): the queue closes then, not never.
        let queue = Queue::new();
        queue.close_parked();
        assert!(queue.push(1).is_ok(), "the body may still receive");
        queue.park(Mailbox::new());
        assert!(queue.push(2).is_err(), "closed when the body let go");
    }

    #[tokio::test]
    async fn skipped_messages_keep_their_order() {
        let (queue, mut mb) = (Queue::new(), Mailbox::new());
        for n in [1, 3, 4, 5, 6, 7] {
            queue.push(n).unwrap();
        }
        assert_eq!(pick_even(&queue, &mut mb).await, Some(4));
        assert_eq!(mb.saved, [1, 3]);
        // The second receive scans the save queue first and stops inside it.
        queue.push(8).unwrap();
        assert_eq!(pick_even(&queue, &mut mb).await, Some(6));
        assert_eq!(mb.saved, [1, 3, 5]);
        mb.saved.push_front(2);
        mb.saved.push_back(9);
        // Match in the middle of the save queue: [2,1,3,5,9] minus the 2 at front.
        assert_eq!(pick_even(&queue, &mut mb).await, Some(2));
        assert_eq!(mb.saved, [1, 3, 5, 9]);
        assert_eq!(pick_even(&queue, &mut mb).await, Some(8));
        assert_eq!(mb.saved, [1, 3, 5, 9, 7]);
        assert_eq!(pick_even(&queue, &mut mb).await, None);
        assert_eq!(mb.saved, [1, 3, 5, 9, 7]);
        let all: Vec<u32> = std::iter::from_fn(|| mb.with(&queue).try_recv()).collect();
        assert_eq!(all, [1, 3, 5, 9, 7]);
    }

    #[tokio::test]
    async fn match_in_the_middle_of_the_save_queue_restores_order() {
        let (queue, mut mb) = (Queue::new(), Mailbox::new());
        mb.saved.extend([1, 3, 5, 6, 7, 9, 11]);
        assert_eq!(pick_even(&queue, &mut mb).await, Some(6));
        assert_eq!(mb.saved, [1, 3, 5, 7, 9, 11]);
    }

    #[tokio::test]
    async fn arrivals_queue_behind_what_was_taken_already() {
        let (queue, mut mb) = (Queue::new(), Mailbox::new());
        queue.push(1).unwrap();
        queue.push(2).unwrap();
        assert_eq!(mb.with(&queue).try_recv(), Some(1));
        // 2 is taken from the queue but not received; 3 is still queued.
        queue.push(3).unwrap();
        assert_eq!(mb.len(&queue), 2);
        let seen: Vec<u32> = mb.peek_all(&queue).copied().collect();
        assert_eq!(seen, [2, 3]);
        queue.push(4).unwrap();
        mb.with(&queue).retain(|n| *n != 3);
        let all: Vec<u32> = std::iter::from_fn(|| mb.with(&queue).try_recv()).collect();
        assert_eq!(all, [2, 4]);
    }

    #[tokio::test]
    async fn a_closed_queue_refuses_pushes_and_wakes_its_watchers() {
        let queue = std::sync::Arc::new(Queue::<u32>::new());
        queue.push(1).unwrap();
        let watcher = tokio::spawn({
            let queue = queue.clone();
            async move { queue.closed().await }
        });
        queue.close(Mailbox::new());
        assert_eq!(queue.push(2), Err(2));
        assert_eq!(queue.len(), 0);
        tokio::time::timeout(Duration::from_secs(5), watcher)
            .await
            .expect("closed() completes")
            .unwrap();
        // Already closed: completes at once.
        queue.closed().await;
    }
}
