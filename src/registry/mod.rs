//! Model slots: interning model ids without a global lock on the hot path.
//!
//! The authoritative id-to-slot map is an immutable `HashMap` behind an `ArcSwap`;
//! adding a model (rare, at most `maxModels` times) copies the map under a writer mutex
//! and swaps it in. In front of it, each thread keeps its own cache of the slots it has
//! used ([`local`]), so a lookup is a hash and a string compare on thread-local memory:
//! no atomic read-modify-write and no write to any shared cache line. Evicting a model
//! bumps an epoch that every thread's cache checks, so no thread keeps writing to an
//! evicted slot (and a writer that races the eviction is caught under the shard lock).
//!
//! Once `maxModels` ids are tracked, new ids share the `__other__` slot and each such
//! event is counted in [`Health::overflowed_selections`](crate::Health). Recording the
//! id `__other__` explicitly lands in that same slot.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use arc_swap::ArcSwap;
use parking_lot::Mutex;

use crate::accumulate::{ModelSlot, Retired};
use crate::error::RecordError;
use crate::selection::check_new_model_id;

pub(crate) mod distinct;
mod local;

static NEXT_REGISTRY_ID: AtomicU64 = AtomicU64::new(1);

/// The slot that absorbs model ids past the cardinality cap.
pub const OTHER_MODEL: &str = "__other__";

type SlotMap = HashMap<Arc<str>, Arc<ModelSlot>, foldhash::fast::RandomState>;

#[derive(Debug)]
pub(crate) struct Registry {
    /// Tells thread-local caches apart across monitors.
    id: u64,
    /// Bumped on every eviction; thread-local caches older than this are dropped.
    epoch: AtomicU64,
    map: ArcSwap<SlotMap>,
    write: Mutex<()>,
    other: Arc<ModelSlot>,
    /// Distinct ids sent to `other` past the cap.
    overflow_ids: distinct::Distinct,
    full: AtomicBool,
    cap: usize,
    shards: usize,
    buckets: usize,
}

impl Registry {
    pub(crate) fn new(cap: usize, shards: usize, buckets: usize) -> Self {
        Self {
            id: NEXT_REGISTRY_ID.fetch_add(1, Ordering::Relaxed),
            epoch: AtomicU64::new(0),
            map: ArcSwap::from_pointee(SlotMap::default()),
            write: Mutex::new(()),
            other: Arc::new(ModelSlot::new(OTHER_MODEL.into(), shards, buckets)),
            overflow_ids: distinct::Distinct::default(),
            full: AtomicBool::new(false),
            cap,
            shards,
            buckets,
        }
    }

    /// Runs `f` on the slot for `name` (creating it if needed), retrying if the slot was
    /// retired under our feet. `f` also learns whether the id overflowed the cap.
    ///
    /// An id not tracked yet must pass the id rules (`check_new_model_id`) unless it
    /// is `trusted` (a slot's own name, when a handle's slot was retired).
    #[inline]
    pub(crate) fn with_slot<R>(
        &self,
        name: &str,
        trusted: bool,
        mut f: impl FnMut(&ModelSlot, bool) -> Result<R, Retired>,
    ) -> Result<R, RecordError> {
        let epoch = self.epoch.load(Ordering::Acquire);
        if let Some(r) = local::with_cached(self.id, epoch, name, |slot| f(slot, false).ok()) {
            return Ok(r);
        }
        self.with_slot_slow(name, trusted, epoch, f)
    }

    #[cold]
    #[inline(never)]
    fn with_slot_slow<R>(
        &self,
        name: &str,
        trusted: bool,
        epoch: u64,
        mut f: impl FnMut(&ModelSlot, bool) -> Result<R, Retired>,
    ) -> Result<R, RecordError> {
        loop {
            let found = self.map.load().get(name).cloned();
            let (slot, overflow) = match found {
                Some(slot) => (slot, false),
                None => {
                    if !trusted {
                        check_new_model_id(name)?;
                    }
                    self.resolve_slow(name)
                }
            };
            // Overflowing ids are not cached: there may be unboundedly many of them.
            if overflow {
                self.overflow_ids.insert(name);
            } else {
                local::insert(self.id, epoch, name, &slot);
            }
            if let Ok(r) = f(&slot, overflow) {
                return Ok(r);
            }
            // Retired: the evictor removes it from the map right after; look again.
            std::thread::yield_now();
        }
    }

    /// The slot for `name`, created if there is room.
    pub(crate) fn resolve(&self, name: &str) -> Arc<ModelSlot> {
        if let Some(slot) = self.map.load().get(name) {
            return slot.clone();
        }
        self.resolve_slow(name).0
    }

    #[cold]
    fn resolve_slow(&self, name: &str) -> (Arc<ModelSlot>, bool) {
        if name == OTHER_MODEL {
            return (self.other.clone(), false);
        }
        // Once full, overflowing ids must not take the writer lock on every event.
        if self.full.load(Ordering::Acquire) {
            return (self.other.clone(), true);
        }
        let _w = self.write.lock();
        let current = self.map.load_full();
        if let Some(slot) = current.get(name) {
            return (slot.clone(), false);
        }
        if current.len() >= self.cap {
            self.full.store(true, Ordering::Release);
            return (self.other.clone(), true);
        }
        let slot = Arc::new(ModelSlot::new(name.into(), self.shards, self.buckets));
        let mut next = SlotMap::clone(&current);
        next.insert(slot.name.clone(), slot.clone());
        self.map.store(Arc::new(next));
        (slot, false)
    }

    /// The slot tracked for `name`, if any (never `__other__`, which is not evictable).
    pub(crate) fn get(&self, name: &str) -> Option<Arc<ModelSlot>> {
        self.map.load().get(name).cloned()
    }

    /// Estimated distinct ids folded into `__other__` past the cap.
    pub(crate) fn overflowed_ids(&self) -> u64 {
        self.overflow_ids.estimate()
    }

    /// Every slot, `__other__` included.
    pub(crate) fn slots(&self) -> Vec<Arc<ModelSlot>> {
        let map = self.map.load();
        map.values()
            .cloned()
            .chain(std::iter::once(self.other.clone()))
            .collect()
    }

    /// Tracked ids, `__other__` excluded.
    pub(crate) fn len(&self) -> usize {
        self.map.load().len()
    }

    /// Removes a slot that has been retired.
    pub(crate) fn remove(&self, name: &str) {
        let _w = self.write.lock();
        let current = self.map.load_full();
        if !current.contains_key(name) {
            return;
        }
        let mut next = SlotMap::clone(&current);
        next.remove(name);
        self.map.store(Arc::new(next));
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.full.store(false, Ordering::Release);
    }

    pub(crate) fn other(&self) -> &ModelSlot {
        &self.other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_sends_new_ids_to_other() {
        let r = Registry::new(2, 1, 8);
        assert_eq!(&*r.resolve("a").name, "a");
        assert_eq!(&*r.resolve("b").name, "b");
        assert_eq!(&*r.resolve("c").name, OTHER_MODEL);
        assert_eq!(&*r.resolve("a").name, "a");
        assert_eq!(r.len(), 2);
        assert!(
            r.with_slot("d", false, |_, overflow| Ok::<_, Retired>(overflow))
                .unwrap()
        );
        assert!(
            !r.with_slot("a", false, |_, overflow| Ok::<_, Retired>(overflow))
                .unwrap()
        );
        assert_eq!(
            r.with_slot(OTHER_MODEL, false, |_, _| Ok::<_, Retired>(())),
            Err(RecordError::ReservedModelId)
        );
        r.remove("b");
        assert_eq!(&*r.resolve("c").name, "c");
    }

    #[test]
    fn explicit_other_is_the_overflow_slot() {
        let r = Registry::new(10, 1, 8);
        assert!(Arc::ptr_eq(&r.resolve(OTHER_MODEL), &r.other));
        assert_eq!(r.len(), 0);
    }
}
