//! Mailboxes: the queue behind every process, and selective receive.
//!
//! A mailbox is a multi-producer, single-consumer queue plus a *save queue*.
//! Senders push at the back of the queue without taking a lock and without
//! boxing the message ([`Pid::send`](crate::Pid::send) is one push on a
//! lock-free linked list of slot blocks). Only the owning process receives.
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
//!   save queue only grows (amortised) when messages pulled from the channel are
//!   skipped.
//! - A receive with an `after` timeout creates its timer only if it has to
//!   wait; `after Duration::ZERO` never waits and never creates a timer.
//!
//! The mailbox is unbounded, like Erlang's: a process that never takes some
//! kind of message keeps it forever. Give such processes a catch-all arm.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

/// The sending half of a mailbox: cheap to clone, never blocks.
pub(crate) struct MailboxSender<T> {
    tx: mpsc::UnboundedSender<T>,
}

impl<T> MailboxSender<T> {
    /// Pushes `item` at the back of the mailbox; gives it back if the
    /// receiving process is gone.
    #[inline]
    pub(crate) fn push(&self, item: T) -> Result<(), T> {
        self.tx.send(item).map_err(|e| e.0)
    }

    /// Completes once the mailbox's owner has dropped it (the process ended).
    pub(crate) async fn closed(&self) {
        self.tx.closed().await
    }
}

/// The receiving half of a mailbox, with its save queue.
pub(crate) struct Mailbox<T> {
    rx: mpsc::UnboundedReceiver<T>,
    saved: VecDeque<T>,
}

/// Creates a mailbox.
pub(crate) fn mailbox<T>() -> (MailboxSender<T>, Mailbox<T>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (
        MailboxSender { tx },
        Mailbox {
            rx,
            saved: VecDeque::new(),
        },
    )
}

impl<T> Mailbox<T> {
    /// Takes the oldest message, waiting for one if there is none.
    pub(crate) async fn recv(&mut self) -> T {
        if let Some(item) = self.saved.pop_front() {
            return item;
        }
        match self.rx.recv().await {
            Some(item) => item,
            // Every sender is gone: nothing can ever arrive again. A process
            // holds a sender to itself, so this only happens while it is
            // being torn down; wait until that is done.
            None => std::future::pending().await,
        }
    }

    /// Takes the oldest message if there is one, without waiting.
    pub(crate) fn try_recv(&mut self) -> Option<T> {
        self.saved.pop_front().or_else(|| self.rx.try_recv().ok())
    }

    /// Everything waiting, in order, without taking it (arrivals move to the
    /// save queue first).
    pub(crate) fn peek_all(&mut self) -> std::collections::vec_deque::Iter<'_, T> {
        while let Ok(item) = self.rx.try_recv() {
            self.saved.push_back(item);
        }
        self.saved.iter()
    }

    /// Number of messages waiting (saved and not yet looked at).
    pub(crate) fn len(&self) -> usize {
        self.saved.len() + self.rx.len()
    }

    /// Moves everything that has arrived into the save queue, then keeps only
    /// the messages for which `keep` returns true (order unchanged).
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        while let Ok(item) = self.rx.try_recv() {
            self.saved.push_back(item);
        }
        self.saved.retain(|item| keep(item));
    }

    /// Starts a selective receive that gives up at `deadline` (`None`: never).
    pub(crate) fn select(&mut self, deadline: Option<Instant>) -> Selector<'_, T> {
        let to_scan = self.saved.len();
        Selector {
            mailbox: self,
            deadline,
            to_scan,
            popped: 0,
            returned: 0,
            last_from_saved: false,
        }
    }
}

/// The deadline of a receive that waits at most `after` from now; `None` if
/// that is too far away to represent (it then waits forever).
pub(crate) fn deadline_after(after: Duration) -> Option<Instant> {
    Instant::now().checked_add(after)
}

/// One selective receive in progress: hands out candidate messages in order
/// (save queue first, then new arrivals) and takes back the ones that did
/// not match.
///
/// Used by the code [`receive!`](crate::receive) generates; not meant to be
/// called by hand. Dropping it puts the save queue back in arrival order.
#[doc(hidden)]
pub struct Selector<'a, T> {
    mailbox: &'a mut Mailbox<T>,
    deadline: Option<Instant>,
    /// How many messages were saved when the receive started.
    to_scan: usize,
    /// How many of those have been handed out so far.
    popped: usize,
    /// How many of those came back unmatched (they are at the back now).
    returned: usize,
    last_from_saved: bool,
}

impl<T> Selector<'_, T> {
    /// The next candidate message, or `None` once the deadline has passed.
    pub async fn next(&mut self) -> Option<T> {
        if self.popped < self.to_scan {
            self.popped += 1;
            self.last_from_saved = true;
            return self.mailbox.saved.pop_front();
        }
        self.last_from_saved = false;
        let Some(deadline) = self.deadline else {
            return Some(self.mailbox.recv_new().await);
        };
        if let Ok(item) = self.mailbox.rx.try_recv() {
            return Some(item);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::timeout_at(deadline, self.mailbox.recv_new())
            .await
            .ok()
    }

    /// Gives back a candidate that matched no arm: it stays in the mailbox,
    /// in order, for a later receive.
    pub fn skip(&mut self, item: T) {
        if self.last_from_saved {
            self.returned += 1;
        }
        self.mailbox.saved.push_back(item);
    }
}

impl<T> Mailbox<T> {
    /// Waits for a message that arrives after the save queue was looked at.
    async fn recv_new(&mut self) -> T {
        match self.rx.recv().await {
            Some(item) => item,
            None => std::future::pending().await,
        }
    }
}

impl<T> Drop for Selector<'_, T> {
    fn drop(&mut self) {
        // If the receive stopped inside the save queue, the queue now reads
        // [not yet looked at] ++ [looked at, unmatched]; turn it back.
        if self.popped < self.to_scan {
            self.mailbox.saved.rotate_right(self.returned);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn pick_even(mb: &mut Mailbox<u32>) -> Option<u32> {
        let mut sel = mb.select(deadline_after(Duration::ZERO));
        while let Some(n) = sel.next().await {
            if n % 2 == 0 {
                return Some(n);
            }
            sel.skip(n);
        }
        None
    }

    #[tokio::test]
    async fn skipped_messages_keep_their_order() {
        let (tx, mut mb) = mailbox::<u32>();
        for n in [1, 3, 4, 5, 6, 7] {
            tx.push(n).unwrap();
        }
        assert_eq!(pick_even(&mut mb).await, Some(4));
        assert_eq!(mb.saved, [1, 3]);
        // The second receive scans the save queue first and stops inside it.
        tx.push(8).unwrap();
        assert_eq!(pick_even(&mut mb).await, Some(6));
        assert_eq!(mb.saved, [1, 3, 5]);
        mb.saved.push_front(2);
        mb.saved.push_back(9);
        // Match in the middle of the save queue: [2,1,3,5,9] minus the 2 at front.
        assert_eq!(pick_even(&mut mb).await, Some(2));
        assert_eq!(mb.saved, [1, 3, 5, 9]);
        assert_eq!(pick_even(&mut mb).await, Some(8));
        assert_eq!(mb.saved, [1, 3, 5, 9, 7]);
        assert_eq!(pick_even(&mut mb).await, None);
        assert_eq!(mb.saved, [1, 3, 5, 9, 7]);
        let all: Vec<u32> = std::iter::from_fn(|| mb.try_recv()).collect();
        assert_eq!(all, [1, 3, 5, 9, 7]);
    }

    #[tokio::test]
    async fn match_in_the_middle_of_the_save_queue_restores_order() {
        let (_tx, mut mb) = mailbox::<u32>();
        mb.saved.extend([1, 3, 5, 6, 7, 9, 11]);
        assert_eq!(pick_even(&mut mb).await, Some(6));
        assert_eq!(mb.saved, [1, 3, 5, 7, 9, 11]);
    }
}
