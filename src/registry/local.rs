//! Each thread's cache of the model slots it has used.
//!
//! The cache belongs to one registry at a time (the one the thread used last) and to one
//! eviction epoch; a mismatch empties it. It holds at most as many entries as the
//! registry tracks. A thread that stops recording keeps its cache (and so the slots it
//! references) until it records into another monitor or exits.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use crate::accumulate::ModelSlot;

#[derive(Default)]
struct LocalCache {
    registry: u64,
    epoch: u64,
    slots: HashMap<Box<str>, Arc<ModelSlot>, foldhash::fast::FixedState>,
}

impl LocalCache {
    #[inline]
    fn sync(&mut self, registry: u64, epoch: u64) {
        if self.registry != registry || self.epoch != epoch {
            self.registry = registry;
            self.epoch = epoch;
            self.slots.clear();
        }
    }
}

thread_local! {
    static CACHE: RefCell<LocalCache> = RefCell::new(LocalCache::default());
}

/// Runs `f` on the cached slot for `name`; `None` on a miss or when `f` declines.
#[inline]
pub(super) fn with_cached<R>(
    registry: u64,
    epoch: u64,
    name: &str,
    f: impl FnOnce(&ModelSlot) -> Option<R>,
) -> Option<R> {
    CACHE
        .try_with(|cache| {
            // A failed borrow (re-entry from a destructor) just takes the slow path.
            let mut cache = cache.try_borrow_mut().ok()?;
            cache.sync(registry, epoch);
            f(cache.slots.get(name)?)
        })
        .ok()
        .flatten()
}

/// Remembers `slot` for `name` in this thread's cache.
pub(super) fn insert(registry: u64, epoch: u64, name: &str, slot: &Arc<ModelSlot>) {
    let _ = CACHE.try_with(|cache| {
        if let Ok(mut cache) = cache.try_borrow_mut() {
            cache.sync(registry, epoch);
            cache.slots.insert(name.into(), slot.clone());
        }
    });
}
