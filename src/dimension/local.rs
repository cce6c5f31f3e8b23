//! Each thread's cache of the dimension combinations it has recorded.
//!
//! Keyed by the combination's encoded bytes ([`Tags::encode`]), so a hit means every
//! value was checked and interned before: no check, no shared read. The cache belongs
//! to one monitor at a time and holds at most [`CAPACITY`] combinations; past that it
//! starts afresh, so a host with many combinations pays a slow lookup now and then,
//! never unbounded memory. Values are never evicted from a monitor, so an entry cannot
//! go stale.

use std::cell::RefCell;
use std::collections::HashMap;

use super::{Combo, Tags};

/// Combinations one thread remembers.
const CAPACITY: usize = 4096;

#[derive(Default)]
struct Cache {
    monitor: u64,
    combos: HashMap<Box<[u8]>, Combo, foldhash::fast::FixedState>,
    key: Vec<u8>,
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(Cache::default());
}

/// The cached combination for `tags`, if this thread has seen it in this monitor.
#[inline]
pub(super) fn lookup(monitor: u64, tags: &Tags<'_>) -> Option<Combo> {
    CACHE
        .try_with(|cache| {
            // A failed borrow (re-entry from a destructor) just takes the slow path.
            let mut cache = cache.try_borrow_mut().ok()?;
            if cache.monitor != monitor {
                return None;
            }
            let Cache { combos, key, .. } = &mut *cache;
            tags.encode(key);
            combos.get(key.as_slice()).copied()
        })
        .ok()
        .flatten()
}

/// Remembers `combo` for `tags`.
pub(super) fn insert(monitor: u64, tags: &Tags<'_>, combo: Combo) {
    let _ = CACHE.try_with(|cache| {
        if let Ok(mut cache) = cache.try_borrow_mut() {
            if cache.monitor != monitor || cache.combos.len() >= CAPACITY {
                cache.monitor = monitor;
                cache.combos.clear();
            }
            let Cache { combos, key, .. } = &mut *cache;
            tags.encode(key);
            combos.insert(key.as_slice().into(), combo);
        }
    });
}
