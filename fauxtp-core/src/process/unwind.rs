//! Catching panics in futures, so that a panic ends one process (or one
//! handler, or one task) with a reason instead of tearing through tokio.

use std::any::Any;
use std::cell::{Cell, RefCell};
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
        match catch(|| inner.poll(cx)) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}

/// Something to do with the exit reason of a panic once it is caught.
pub(crate) type OnCaught = Box<dyn FnOnce(&ExitReason)>;

thread_local! {
    /// Work to do once the panic now unwinding on this thread is caught, by
    /// the innermost of fauxtp's catch points that it reaches.
    static ON_CAUGHT: RefCell<Vec<OnCaught>> = const { RefCell::new(Vec::new()) };
    /// How many hooks `ON_CAUGHT` holds: read on every catch point, which
    /// leaves the vector alone when there are none (nearly always).
    static HOOKS: Cell<usize> = const { Cell::new(0) };
    /// Where the hooks of the panic a catch point caught start.
    static CAUGHT_FROM: Cell<usize> = const { Cell::new(0) };
}

/// Keeps only the first `len` hooks; the others are dropped.
fn truncate_hooks(len: usize) -> Vec<OnCaught> {
    let rest = ON_CAUGHT
        .try_with(|hooks| {
            let mut hooks = hooks.borrow_mut();
            let len = len.min(hooks.len());
            hooks.split_off(len)
        })
        .unwrap_or_default();
    HOOKS.with(|count| count.set(len.min(count.get())));
    rest
}

/// Runs `f`, catching a panic, as one of fauxtp's catch points: the hooks
/// left by a panic it catches are run by the next [`caught`].
pub(crate) fn catch<R>(f: impl FnOnce() -> R) -> std::thread::Result<R> {
    let mark = HOOKS.with(Cell::get);
    let result = catch_unwind(AssertUnwindSafe(f));
    if result.is_err() {
        CAUGHT_FROM.with(|from| from.set(mark));
    }
    result
}

/// [`catch`], for the outermost catch point of a process's poll (the
/// runner): the hooks left by a panic that something else caught inside
/// (a user's `catch_unwind`, say) are dropped when `f` returns, so they
/// never answer for another panic.
pub(crate) fn catch_outermost<R>(f: impl FnOnce() -> R) -> std::thread::Result<R> {
    let mark = HOOKS.with(Cell::get);
    let result = catch(f);
    if result.is_ok() && HOOKS.with(Cell::get) > mark {
        drop(truncate_hooks(mark));
    }
    result
}

/// Runs `hook` with the panic's exit reason once fauxtp catches the panic
/// now unwinding (a reply slot dropped by a panicking handler answers its
/// caller with the real reason this way). Outside a process's poll (a
/// plain tokio task, `spawn_blocking`, a `Task`), nothing of fauxtp's is
/// sure to catch the panic: the hook is dropped at once.
pub(crate) fn when_caught(hook: OnCaught) {
    if super::runner::current().is_none() {
        return;
    }
    let pushed = ON_CAUGHT.try_with(|hooks| hooks.borrow_mut().push(hook));
    if pushed.is_ok() {
        HOOKS.with(|count| count.set(count.get() + 1));
    }
}

/// What fauxtp does where it catches a panic: turns the payload into an exit
/// reason, runs the hooks the unwinding left, and keeps where the panic
/// happened (if [`capture_panic_locations`] is on) for the crash report of
/// the process it is caught in.
pub(crate) fn caught(payload: &(dyn Any + Send)) -> ExitReason {
    let reason = ExitReason::Panic(panic_message(payload).into());
    settle(&reason);
    let location = PANICKED_AT.with(RefCell::take);
    if let (Some(location), Some(process)) = (location, super::runner::current()) {
        CAUGHT_AT.with(|caught| *caught.borrow_mut() = Some((process, location)));
    }
    reason
}

thread_local! {
    /// Where the panic now unwinding on this thread happened, as the panic
    /// hook of [`capture_panic_locations`] saw it.
    static PANICKED_AT: RefCell<Option<String>> = const { RefCell::new(None) };
    /// Where the panic last caught in a process on this thread happened,
    /// and which process: for that process's crash report.
    static CAUGHT_AT: RefCell<Option<(u64, String)>> = const { RefCell::new(None) };
}

/// Makes the crash report of a process that panics say where the panic
/// happened (`src/worker.rs:42:9`), as well as its message. A panic's
/// location reaches only the panic hook, so this installs one, once, in
/// front of the one already there (which still runs: the default prints
/// the panic as usual). Off by default: a hook is the program's to choose.
pub fn capture_panic_locations() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if let Some(location) = info.location() {
                let _ = PANICKED_AT.try_with(|at| *at.borrow_mut() = Some(location.to_string()));
            }
            previous(info);
        }));
    });
}

/// Where the panic that ended process `id` happened, if it was caught on
/// this thread and locations are captured.
pub(crate) fn panic_location(id: u64) -> Option<String> {
    CAUGHT_AT
        .try_with(|caught| match caught.borrow_mut().take() {
            Some((process, location)) if process == id => Some(location),
            _ => None,
        })
        .ok()
        .flatten()
}

/// Runs the hooks the panic a catch point just caught left, with `reason`.
pub(crate) fn settle(reason: &ExitReason) {
    let from = CAUGHT_FROM.with(|from| from.replace(0));
    if HOOKS.with(Cell::get) <= from {
        return;
    }
    for hook in truncate_hooks(from) {
        hook(reason);
    }
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
