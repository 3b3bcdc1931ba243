//! `Handle<T>`: a shared, reference-counted pointer to a process's control
//! block: what `Arc<T>` is, minus one thing.
//!
//! Pids are hashed and compared by their id, never by the mutable state of
//! the control block. `Arc<T>` would expose that state to the
//! `clippy::mutable_key_type` lint, which would then fire on every
//! `HashSet<Pid<_>>` or `HashMap<Pid<_>, _>` in users' code. Holding the
//! `Arc`'s pointer raw keeps `Pid` honestly free of interior mutability in
//! its own fields; the reference counting is still the `Arc`'s own.

use std::marker::PhantomData;
use std::ops::Deref;
use std::ptr::NonNull;
use std::sync::{Arc, Weak};

pub(crate) struct Handle<T: ?Sized> {
    /// Obtained from `Arc::into_raw`; this handle owns one strong count.
    ptr: NonNull<T>,
    /// Makes `Handle<T>` covariant in `T`, as `Arc<T>` is, without naming a
    /// type that contains interior mutability. (Drop-check soundness comes
    /// from the `Drop` impl below, which has no `#[may_dangle]`.)
    _owns: PhantomData<*const T>,
}

// SAFETY: a `Handle<T>` is an `Arc<T>`, which is `Send` and `Sync` exactly
// when `T: Send + Sync`.
unsafe impl<T: ?Sized + Send + Sync> Send for Handle<T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send + Sync> Sync for Handle<T> {}

impl<T: ?Sized> Handle<T> {
    pub(crate) fn new(arc: Arc<T>) -> Self {
        let raw = Arc::into_raw(arc).cast_mut();
        Handle {
            // SAFETY: `Arc::into_raw` never returns null.
            ptr: unsafe { NonNull::new_unchecked(raw) },
            _owns: PhantomData,
        }
    }

    /// A new strong reference, as an `Arc` (for unsizing it, say).
    pub(crate) fn to_arc(&self) -> Arc<T> {
        let raw = self.ptr.as_ptr().cast_const();
        // SAFETY: `raw` came from `Arc::into_raw` and this handle holds a
        // strong count, so the allocation is alive; we add the count that the
        // returned `Arc` will own.
        unsafe {
            Arc::increment_strong_count(raw);
            Arc::from_raw(raw)
        }
    }
}

impl<T: ?Sized> Handle<T> {
    /// A weak reference to the same allocation.
    pub(crate) fn downgrade(&self) -> Weak<T> {
        let raw = self.ptr.as_ptr().cast_const();
        // SAFETY: `raw` came from `Arc::into_raw` and this handle holds a
        // strong count; the `ManuallyDrop` keeps that count where it is.
        let arc = std::mem::ManuallyDrop::new(unsafe { Arc::from_raw(raw) });
        Arc::downgrade(&arc)
    }

    /// A handle from a weak reference, if the value is still alive.
    pub(crate) fn upgrade(weak: &Weak<T>) -> Option<Self> {
        weak.upgrade().map(Handle::new)
    }
}

impl<T: ?Sized> Clone for Handle<T> {
    fn clone(&self) -> Self {
        Handle::new(self.to_arc())
    }
}

impl<T: ?Sized> Drop for Handle<T> {
    fn drop(&mut self) {
        // SAFETY: this handle owns one strong count of an allocation made by
        // `Arc`; give it back exactly once.
        unsafe { Arc::decrement_strong_count(self.ptr.as_ptr().cast_const()) }
    }
}

impl<T: ?Sized> Deref for Handle<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the strong count this handle holds keeps `T` alive for as
        // long as `self` is borrowed.
        unsafe { self.ptr.as_ref() }
    }
}
