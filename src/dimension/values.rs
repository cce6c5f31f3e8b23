//! One dimension's values: interned once, capped, with `__other__` past the cap.
//!
//! As the model registry does, the value-to-id map is an immutable map behind an
//! `ArcSwap`, copied under a writer mutex to add a value (at most the cap's number of
//! times). The hot path rarely gets here: the per-thread value cache answers first.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use arc_swap::ArcSwap;
use parking_lot::{Mutex, RwLock};

use super::OTHER_VALUE;
use crate::registry::distinct::Distinct;

/// Id of [`OTHER_VALUE`]; kept values count from 2 (0 means "not set").
pub(super) const OTHER_ID: u16 = 1;

type IdMap = HashMap<Arc<str>, u16, foldhash::fast::RandomState>;

#[derive(Debug)]
pub(super) struct Values {
    map: ArcSwap<IdMap>,
    /// Names by id − 2, append-only.
    names: RwLock<Vec<Arc<str>>>,
    write: Mutex<()>,
    full: AtomicBool,
    cap: usize,
    /// Selections folded into `__other__`.
    overflowed: AtomicU64,
    /// Distinct values folded into `__other__`.
    overflow_values: Distinct,
}

impl Values {
    pub(super) fn new(cap: usize) -> Self {
        Self {
            map: ArcSwap::from_pointee(IdMap::default()),
            names: RwLock::new(Vec::new()),
            write: Mutex::new(()),
            full: AtomicBool::new(false),
            cap,
            overflowed: AtomicU64::new(0),
            overflow_values: Distinct::default(),
        }
    }

    /// The id of `value` (taking one if there is room) and whether it overflowed the
    /// cap, which is counted as a selection folded.
    pub(super) fn id(&self, value: &str) -> (u16, bool) {
        let id = self.intern(value);
        if id == OTHER_ID {
            self.count_folded();
        }
        (id, id == OTHER_ID)
    }

    /// The id of `value`, taking one if there is room; past the cap, `__other__`'s,
    /// and the value counts among the distinct values folded.
    pub(super) fn intern(&self, value: &str) -> u16 {
        if let Some(id) = self.map.load().get(value) {
            return *id;
        }
        let id = if self.full.load(Ordering::Acquire) {
            // The map loaded above may predate the value that filled the cap: look
            // again before calling this one an overflow.
            self.map.load().get(value).copied()
        } else {
            self.add(value)
        };
        id.unwrap_or_else(|| {
            self.overflow_values.insert(value);
            OTHER_ID
        })
    }

    /// Counts a selection folded into `__other__`.
    pub(super) fn count_folded(&self) {
        self.overflowed.fetch_add(1, Ordering::Relaxed);
    }

    #[cold]
    fn add(&self, value: &str) -> Option<u16> {
        let _w = self.write.lock();
        let current = self.map.load_full();
        if let Some(id) = current.get(value) {
            return Some(*id);
        }
        if current.len() >= self.cap {
            self.full.store(true, Ordering::Release);
            return None;
        }
        let name: Arc<str> = value.into();
        let mut names = self.names.write();
        names.push(name.clone());
        let id = u16::try_from(names.len() + 1).expect("caps are at most 10000");
        let mut next = IdMap::clone(&current);
        next.insert(name, id);
        self.map.store(Arc::new(next));
        Some(id)
    }

    /// The id of a value already kept (`__other__`'s for `__other__`), without taking
    /// one.
    pub(super) fn find(&self, value: &str) -> Option<u16> {
        if value == OTHER_VALUE {
            return Some(OTHER_ID);
        }
        self.map.load().get(value).copied()
    }

    /// The value behind `id`.
    pub(super) fn name(&self, id: u16) -> Arc<str> {
        match id {
            0 | OTHER_ID => OTHER_VALUE.into(),
            id => self.names.read()[usize::from(id) - 2].clone(),
        }
    }

    /// Values kept, the cap, selections folded into `__other__` and the estimated
    /// distinct values folded there.
    pub(super) fn health(&self) -> (usize, usize, u64, u64) {
        (
            self.names.read().len(),
            self.cap,
            self.overflowed.load(Ordering::Relaxed),
            self.overflow_values.estimate(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_value_past_the_cap_is_folded_and_counted() {
        let v = Values::new(100);
        for i in 0..100 {
            assert_eq!(v.id(&format!("v{i}")), (i + 2, false));
        }
        assert_eq!(v.id("v100"), (OTHER_ID, true));
        assert_eq!(v.id("v7"), (9, false));
        assert_eq!(&*v.name(9), "v7");
        assert_eq!(&*v.name(OTHER_ID), OTHER_VALUE);
        let (kept, cap, folded, distinct) = v.health();
        assert_eq!((kept, cap, folded, distinct), (100, 100, 1, 1));
    }
}
