//! Catching panics in futures, so that a panic ends one process (or one
//! handler, or one task) with a reason instead of tearing through tokio.

use std::any::Any;
use std::cell::RefCell;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use super::ExitReason;

pin_project_lite::pin_project! {
    /// Polls `inner`, turning a panic during a poll into `Err(payload)`.
    pub(crate) struct CatchUnwind<F> {
        #[pin]
        inner: F,
    }
}

impl<F> CatchUnwind<F> {
    pub(crate) fn new(inner: F) -> Self {
        CatchUnwind { inner }
    }
}

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.project().inner;
        match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}

/// Something to do with the exit reason of a panic once it is caught.
pub(crate) type OnCaught = Box<dyn FnOnce(&ExitReason)>;

thread_local! {
    /// Work to do once the panic now unwinding on this thread is caught.
    static ON_CAUGHT: RefCell<Vec<OnCaught>> = const { RefCell::new(Vec::new()) };
}

/// Runs `hook` with the panic's exit reason once fauxtp catches the panic
/// now unwinding (a reply slot dropped by a panicking handler answers its
/// caller with the real reason this way).
pub(crate) fn when_caught(hook: OnCaught) {
    let _ = ON_CAUGHT.try_with(|hooks| hooks.borrow_mut().push(hook));
}

/// What fauxtp does where it catches a panic: turns the payload into an exit
/// reason and runs the hooks the unwinding left.
pub(crate) fn caught(payload: &(dyn Any + Send)) -> ExitReason {
    let reason = ExitReason::Panic(panic_message(payload).into());
    let hooks = ON_CAUGHT
        .try_with(|hooks| std::mem::take(&mut *hooks.borrow_mut()))
        .unwrap_or_default();
    for hook in hooks {
        hook(&reason);
    }
    reason
}

/// The text of a panic payload (`panic!` gives a `&str` or a `String`).
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic with a non-string payload".to_owned()
    }
}
