//! The lock that guards each writer shard, swapped for loom's in the model-checking
//! build (`RUSTFLAGS="--cfg modelmeter_loom" cargo test --release --lib loom`, see
//! RELIABILITY.md) so that loom explores every interleaving of recording, sealing and
//! eviction.

#[cfg(not(modelmeter_loom))]
pub(crate) use parking_lot::Mutex;

/// `parking_lot::Mutex`'s interface over loom's mutex.
#[cfg(modelmeter_loom)]
#[derive(Debug)]
pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

#[cfg(modelmeter_loom)]
impl<T> Mutex<T> {
    pub(crate) fn new(value: T) -> Self {
        Self(loom::sync::Mutex::new(value))
    }

    pub(crate) fn lock(&self) -> loom::sync::MutexGuard<'_, T> {
        self.0.lock().expect("a modelled thread panicked")
    }
}
