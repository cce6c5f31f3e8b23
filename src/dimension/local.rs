//! Each thread's cache of the dimension values it has recorded.
//!
//! A table of [`SETS`] sets of two entries, addressed by the value's content and
//! dimension: its length and its first and last 8 bytes, which hold all of a value of
//! up to 16 bytes (the usual provider, team or feature name); a longer value is also
//! compared whole. So a hit reads the host's string once, copies nothing and writes
//! nothing shared, and means the value was checked and interned before. A value that
//! lands on a full set takes the first way and pushes out the second; the one pushed
//! out only costs a slow lookup next time. Declared attribute keys are cached the same
//! way, under a dimension byte of their own ([`KEY`]), with their dimension as id, and
//! each attribute place remembers the key last seen there.
//!
//! The table belongs to one monitor at a time (switching monitors empties it). Values
//! are never evicted from a monitor, so an entry cannot go stale; values folded into
//! `__other__` are never cached, so each of their selections is counted.

use std::cell::RefCell;
use std::sync::Arc;

use super::{Combo, MAX_ATTRIBUTES, Tags};

/// Sets of two entries per thread (about 24 KiB); a power of two.
const SETS: usize = 256;
const _: () = assert!(SETS.is_power_of_two());

/// A value as words: `[length << 8 | dimension, first 8 bytes, last 8 bytes]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
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

    /// The set: the top bits of one 64-bit product, which every bit of the three
    /// words reaches.
    #[inline(always)]
    fn slot(&self) -> usize {
        let [a, b, c] = self.0;
        let m = (a ^ b ^ c.rotate_left(32)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (m >> (64 - SETS.trailing_zeros())) as usize
    }

    /// Equality in three scalar operations (the derived `==` compared through the
    /// stack with vector instructions).
    #[inline(always)]
    fn same(&self, o: &Words) -> bool {
        (self.0[0] ^ o.0[0]) | (self.0[1] ^ o.0[1]) | (self.0[2] ^ o.0[2]) == 0
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
    /// Two ways per set, the one inserted last first: two values whose words pick the
    /// same set (as `team` and `summarize` do) both stay, where a direct-mapped table
    /// would send every selection with either to the slow path. An array, not a
    /// slice: a set's index needs no bounds check.
    sets: Box<[[Entry; 2]; SETS]>,
    /// The key last seen in each attribute place, with its dimension.
    keys: [(Words, u16); MAX_ATTRIBUTES],
}

impl Cache {
    /// Built-in dimension `dim`'s id in its place of the combination's low half (0 when
    /// the selection did not set it), when this thread has the value.
    #[inline(always)]
    fn built_in(&self, tags: &Tags<'_>, dim: usize) -> Option<u64> {
        match tags.built_in[dim] {
            Some(value) => Some(u64::from(self.find(dim, value)?) << (16 * dim)),
            None => Some(0),
        }
    }

    /// The dimension of the attribute key set in place `place`. A host sets its
    /// attributes in the same order selection after selection, so the key last seen
    /// in a place is compared first, with no probe.
    #[inline(always)]
    fn key_dim(&mut self, place: usize, key: &str) -> Option<usize> {
        let words = Words::of(KEY, key);
        let (last, dim) = self.keys[place];
        if last.same(&words) && !words.is_long() {
            return Some(usize::from(dim));
        }
        let dim = self.find(KEY, key)?;
        self.keys[place] = (words, dim);
        Some(usize::from(dim))
    }

    /// The id of the attribute in place `place` (set: it is before `attr_len`) at its
    /// place in the combination's halves `(low, high)`, when this thread has its key
    /// and value and the key was not set in an earlier place (`seen`, the dimensions
    /// so far).
    #[inline(always)]
    fn attribute(&mut self, tags: &Tags<'_>, place: usize, seen: &mut u32) -> Option<(u64, u64)> {
        let (key, value) = tags.attrs[place]?;
        let dim = self.key_dim(place, key)?;
        if *seen & 1 << dim != 0 {
            return None;
        }
        *seen |= 1 << dim;
        let id = u64::from(self.find(dim, value)?) << (16 * (dim % 4));
        Some(if dim < 4 { (id, 0) } else { (0, id) })
    }

    /// The id of `value` of dimension `dim`, when this thread has it.
    #[inline(always)]
    fn find(&self, dim: usize, value: &str) -> Option<u16> {
        let words = Words::of(dim, value);
        let [first, second] = &self.sets[words.slot()];
        if first.holds(&words, value) {
            Some(first.id)
        } else if second.holds(&words, value) {
            Some(second.id)
        } else {
            None
        }
    }
}

impl Entry {
    #[inline(always)]
    fn holds(&self, words: &Words, value: &str) -> bool {
        self.words.same(words) && (!words.is_long() || self.long.as_deref() == Some(value))
    }
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(Cache {
        monitor: 0,
        sets: Box::new(std::array::from_fn(|_| Default::default())),
        keys: Default::default(),
    });
}

/// The dimension byte under which attribute keys are cached, their dimension index as
/// their id: a key is found with one probe, as a value is.
pub(super) const KEY: usize = 0x7f;

/// The ids of every value in `tags` (text alone), if this thread has seen each in this
/// monitor and no attribute past [`MAX_ATTRIBUTES`] was set; the empty combination
/// otherwise, which no selection with a value has. Not inlined: the answer comes back
/// in two registers.
#[inline(never)]
pub(super) fn lookup(monitor: u64, tags: &Tags<'_>) -> Combo {
    CACHE
        .try_with(|cache| {
            // A failed borrow (re-entry from a destructor) just takes the slow path.
            let mut cache = cache.try_borrow_mut().ok()?;
            if (cache.monitor != monitor) | tags.too_many {
                return None;
            }
            // The combination's two halves, each id ORed into its place: every place
            // is set once (a repeated key goes to the slow path), and a shift of a
            // `u64` by a runtime amount is one instruction where a `u128`'s is 25.
            // Written out, so that each built-in's place is a constant.
            let mut lo = cache.built_in(tags, 0)?;
            lo |= cache.built_in(tags, 1)?;
            lo |= cache.built_in(tags, 2)?;
            // The attribute places written out too, each a constant (a loop over them,
            // which the compiler kept, was 22 instructions more with two attributes),
            // and nested: four flat tests of `n` measured 82 more.
            let (n, mut seen, mut hi) = (tags.attr_len, 0u32, 0u64);
            let mut attribute = |place| cache.attribute(tags, place, &mut seen);
            if n > 0 {
                let (l, h) = attribute(0)?;
                (lo, hi) = (lo | l, hi | h);
                if n > 1 {
                    let (l, h) = attribute(1)?;
                    (lo, hi) = (lo | l, hi | h);
                    if n > 2 {
                        let (l, h) = attribute(2)?;
                        (lo, hi) = (lo | l, hi | h);
                        if n > 3 {
                            let (l, h) = attribute(3)?;
                            (lo, hi) = (lo | l, hi | h);
                        }
                    }
                }
            }
            Some(Combo(u128::from(hi) << 64 | u128::from(lo)))
        })
        .ok()
        .flatten()
        .unwrap_or_default()
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
                cache.sets.fill(Default::default());
                cache.keys = Default::default();
            }
            let words = Words::of(dim, value);
            let [first, second] = &mut cache.sets[words.slot()];
            if first.holds(&words, value) {
                return;
            }
            if second.holds(&words, value) {
                std::mem::swap(first, second);
                return;
            }
            // The entry inserted last moves to the second way, and the second way's
            // goes.
            *second = std::mem::replace(
                first,
                Entry {
                    words,
                    long: words.is_long().then(name),
                    id,
                },
            );
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
                tags.set_attr(if dim == 3 { "k" } else { "j" }, v);
                insert(9, KEY, "k", 3, || Arc::from("k"));
                insert(9, KEY, "j", 4, || Arc::from("j"));
                let got = Some(lookup(9, &tags)).filter(|c| *c != Combo::default());
                // A slot another value took since is a miss, never a wrong hit.
                assert!(
                    got.is_none() || got.map(|c| c.id(dim)) == Some(i as u16 + 2),
                    "{v}"
                );
                insert(9, dim, v, i as u16 + 2, || Arc::from(*v));
                assert_eq!(lookup(9, &tags).id(dim), i as u16 + 2);
                assert_eq!(lookup(8, &tags), Combo::default());
                insert(9, dim, v, i as u16 + 2, || Arc::from(*v));
            }
        }
    }

    #[test]
    fn two_values_of_one_set_both_stay() {
        let mut seen = std::collections::HashMap::new();
        let (a, b) = (0..10_000)
            .map(|i| format!("team-{i}"))
            .find_map(|v| {
                let other = seen.insert(Words::of(3, &v).slot(), v.clone())?;
                Some((other, v))
            })
            .expect("two values share a set");
        insert(7, 3, &a, 2, || Arc::from(a.as_str()));
        insert(7, 3, &b, 3, || Arc::from(b.as_str()));
        // Inserting one again (after a miss on another value) keeps both.
        insert(7, 3, &a, 2, || Arc::from(a.as_str()));
        let id = |v: &str| CACHE.with(|c| c.borrow().find(3, v));
        assert_eq!((id(&a), id(&b)), (Some(2), Some(3)));
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
