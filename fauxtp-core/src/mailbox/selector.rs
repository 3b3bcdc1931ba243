//! One selective receive in progress. Reached by the code `receive!`
//! generates through `fauxtp::__private`.

use std::future::poll_fn;

use tokio::time::Instant;

use super::Receiver;

/// One selective receive in progress: hands out candidate messages in order
/// (save queue first, then new arrivals) and takes back the ones that did
/// not match.
///
/// Used by the code [`receive!`](crate::receive) generates; not meant to be
/// called by hand. The contract: every candidate handed out is given back
/// with [`skip`](Selector::skip), except the last one, which the receive
/// takes (or loses to a panic) before it stops. Dropping the selector puts
/// the save queue back in arrival order.
pub struct Selector<'a, T> {
    pub(super) receiver: Receiver<'a, T>,
    pub(super) deadline: Option<Instant>,
    /// How many messages were saved when the receive started.
    pub(super) to_scan: usize,
    /// How many of those have been handed out so far.
    pub(super) popped: usize,
}

impl<T> Selector<'_, T> {
    /// The next saved candidate, while the receive has saved messages left
    /// to look at: no waiting, so a scan of the save queue costs no future
    /// per message. `None` once they have all been looked at; then
    /// [`next`](Selector::next).
    #[inline]
    pub fn next_saved(&mut self) -> Option<T> {
        if self.popped < self.to_scan {
            self.popped += 1;
            return self.receiver.mailbox.saved.pop_front();
        }
        None
    }

    /// The next candidate message, or `None` once the deadline has passed.
    pub async fn next(&mut self) -> Option<T> {
        if let Some(item) = self.next_saved() {
            return Some(item);
        }
        let Some(deadline) = self.deadline else {
            return Some(self.receiver.next_arrival().await);
        };
        // What has arrived already is taken without a timer, but it spends
        // tokio's budget as a wait would: a process whose mailbox never
        // empties still yields now and then (and so can be killed).
        if let Some(item) = poll_fn(|cx| self.receiver.poll_arrived(cx)).await {
            return Some(item);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::timeout_at(deadline, self.receiver.next_arrival())
            .await
            .ok()
    }

    /// Gives back a candidate that matched no arm: it stays in the mailbox,
    /// in order, for a later receive.
    #[inline]
    pub fn skip(&mut self, item: T) {
        self.receiver.mailbox.saved.push_back(item);
    }
}

impl<T> Drop for Selector<'_, T> {
    fn drop(&mut self) {
        // If the receive stopped inside the save queue, the queue now reads
        // [not yet looked at] ++ [looked at, unmatched]; turn it back. All
        // but the last one handed out came back.
        if self.popped < self.to_scan {
            let returned = self.popped.saturating_sub(1);
            self.receiver.mailbox.saved.rotate_right(returned);
        }
    }
}
