//! Each thread's cache of the dimension values it has recorded.
//!
//! A direct-mapped table of [`SLOTS`] entries, addressed by the value's content and
//! dimension: its length and its first and last 8 bytes, which hold all of a value of
//! up to 16 bytes (the usual provider, team or feature name); a longer value is also
//! compared whole. So a hit reads the host's string once, copies nothing and writes
//! nothing shared, and means the value was checked and interned before. A value that
//! lands on a taken slot replaces it; the one it replaced only costs a slow lookup next
//! time.
//!
//! The table belongs to one monitor at a time (switching monitors empties it). Values
//! are never evicted from a monitor, so an entry cannot go stale; values folded into
//! `__other__` are never cached, so each of their selections is counted.

use std::cell::RefCell;
use std::sync::Arc;

use super::{Combo, Tags};

/// Entries per thread (about 24 KiB).
const SLOTS: usize = 512;

/// A value as words: `[length << 8 | dimension, first 8 bytes, last 8 bytes]`.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Words([u64; 3]);

impl Words {
    #[inline(always)]
    pub(super) fn of(dim: usize, s: &str) -> Self {
        let s = s.as_bytes();
        let n = s.len();
        // One length test picks both loads (`head` and `tail` say the same apart).
        let (a, b) = if n >= 8 {
            let a = u64::from_le_bytes(s[..8].try_into().expect("8 bytes"));
            (
                a,
                u64::from_le_bytes(s[n - 8..].try_into().expect("8 bytes")),
            )
        } else {
            (head(s), tail(s))
        };
        Words([(n as u64) << 8 | dim as u64 | 1 << 7, a, b])
    }

    #[inline(always)]
    fn slot(&self) -> usize {
        let [a, b, c] = self.0;
        let m = u128::from(a ^ b.rotate_left(29)) * u128::from(c ^ 0x9e37_79b9_7f4a_7c15);
        ((m as u64) ^ (m >> 64) as u64) as usize % SLOTS
    }

    #[inline(always)]
    fn is_long(&self) -> bool {
        self.0[0] >> 8 > 16
    }
}

/// The first 8 bytes of `s` (for a shorter string, enough bytes that with the length
/// and [`tail`] they determine it).
#[inline]
pub(super) fn head(s: &[u8]) -> u64 {
    match s.len() {
        8.. => u64::from_le_bytes(s[..8].try_into().expect("8 bytes")),
        4.. => u64::from(u32::from_le_bytes(s[..4].try_into().expect("4 bytes"))),
        0 => 0,
        n => u64::from(s[0]) | u64::from(s[n / 2]) << 8 | u64::from(s[n - 1]) << 16,
    }
}

/// The last 8 bytes of `s` (the last 4 of a string of 4 to 7 bytes).
#[inline]
pub(super) fn tail(s: &[u8]) -> u64 {
    let n = s.len();
    match n {
        8.. => u64::from_le_bytes(s[n - 8..].try_into().expect("8 bytes")),
        4.. => u64::from(u32::from_le_bytes(s[n - 4..].try_into().expect("4 bytes"))),
        _ => 0,
    }
}

#[derive(Clone, Default)]
struct Entry {
    words: Words,
    /// The whole value, when longer than 16 bytes: the registry's own copy, shared, so
    /// that caching a value again after an eviction allocates nothing.
    long: Option<Arc<str>>,
    id: u16,
}

struct Cache {
    monitor: u64,
    slots: Box<[Entry]>,
}

impl Cache {
    /// The id of `value` of dimension `dim`, when this thread has it.
    #[inline(always)]
    fn find(&self, dim: usize, value: &str) -> Option<u16> {
        let words = Words::of(dim, value);
        let e = &self.slots[words.slot()];
        let same = e.words == words && (!words.is_long() || e.long.as_deref() == Some(value));
        same.then_some(e.id)
    }
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(Cache {
        monitor: 0,
        slots: vec![Entry::default(); SLOTS].into_boxed_slice(),
    });
}

/// The ids of every value in `tags`, if this thread has seen each in this monitor;
/// `attr_dim` maps an attribute key to its dimension.
#[inline]
pub(super) fn lookup(
    monitor: u64,
    tags: &Tags<'_>,
    attr_dim: impl Fn(&str) -> Option<usize>,
) -> Option<Combo> {
    CACHE
        .try_with(|cache| {
            // A failed borrow (re-entry from a destructor) just takes the slow path.
            let cache = cache.try_borrow().ok()?;
            if cache.monitor != monitor {
                return None;
            }
            let mut combo = Combo::default();
            for (dim, value) in tags.built_in.iter().enumerate() {
                if let Some(value) = value {
                    combo = combo.with(dim, cache.find(dim, value)?);
                }
            }
            for (key, value) in tags.attributes() {
                let dim = attr_dim(key)?;
                combo = combo.with(dim, cache.find(dim, value)?);
            }
            Some(combo)
        })
        .ok()
        .flatten()
}

/// Remembers that `value` of dimension `dim` has id `id`; `name` gives the registry's
/// copy of the value, asked for only when it is longer than 16 bytes.
pub(super) fn insert(
    monitor: u64,
    dim: usize,
    value: &str,
    id: u16,
    name: impl FnOnce() -> Arc<str>,
) {
    let _ = CACHE.try_with(|cache| {
        if let Ok(mut cache) = cache.try_borrow_mut() {
            if cache.monitor != monitor {
                cache.monitor = monitor;
                cache.slots.fill(Entry::default());
            }
            let words = Words::of(dim, value);
            cache.slots[words.slot()] = Entry {
                words,
                long: words.is_long().then(name),
                id,
            };
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_hits_only_itself() {
        let values = [
            "",
            "a",
            "b",
            "abc",
            "aXc",
            "abcdefghijkl",
            "abcdefghijkm",
            "abcXefghijkl",
            "abcdefgXijkl",
            "a-very-long-team-name-0001",
            "a-very-long-team-name-0002",
            "a-very-long-tXam-name-0001",
        ];
        for dim in [3, 4] {
            for (i, v) in values.iter().enumerate() {
                insert(9, dim, v, i as u16 + 2, || Arc::from(*v));
            }
        }
        for dim in [3, 4] {
            for (i, v) in values.iter().enumerate() {
                let mut tags = Tags::default();
                tags.set_attr("k", v);
                let at = |_: &str| Some(dim);
                let got = lookup(9, &tags, at);
                // A slot another value took since is a miss, never a wrong hit.
                assert!(
                    got.is_none() || got.map(|c| c.id(dim)) == Some(i as u16 + 2),
                    "{v}"
                );
                insert(9, dim, v, i as u16 + 2, || Arc::from(*v));
                assert_eq!(lookup(9, &tags, at).map(|c| c.id(dim)), Some(i as u16 + 2));
                assert_eq!(lookup(8, &tags, at), None);
                insert(9, dim, v, i as u16 + 2, || Arc::from(*v));
            }
        }
    }

    #[test]
    fn the_words_of_a_short_string_hold_every_byte() {
        for n in 0..=16usize {
            let a: Vec<u8> = (1..=n as u8).collect();
            for i in 0..n {
                let mut b = a.clone();
                b[i] ^= 0x40;
                assert!(
                    (head(&a), tail(&a)) != (head(&b), tail(&b)),
                    "byte {i} of {n}"
                );
            }
        }
    }
}
