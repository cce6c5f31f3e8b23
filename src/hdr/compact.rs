use std::cell::RefCell;

thread_local! {
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(4096));
}

/// The non-empty buckets of one latency distribution, varint-encoded.
///
/// Each entry is `(index delta, count)` as two LEB128 varints, in increasing index order.
/// Typical buckets cost 2 bytes. This is the at-rest form of every sealed bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct CompactCounts {
    bytes: Box<[u8]>,
}

impl CompactCounts {
    /// Encodes `(index, count)` pairs given in strictly increasing index order; zero
    /// counts are skipped.
    pub(crate) fn from_sorted(pairs: impl IntoIterator<Item = (usize, u64)>) -> Self {
        // Encoded into a reused per-thread buffer, then copied once at its exact size:
        // the tick encodes hundreds of these a minute, and growing a fresh `Vec` and
        // shrinking it into a box cost three allocator calls each.
        SCRATCH.with_borrow_mut(|bytes| {
            bytes.clear();
            let mut prev = 0usize;
            for (index, count) in pairs {
                if count == 0 {
                    continue;
                }
                debug_assert!(bytes.is_empty() || index > prev, "indices must increase");
                put_varint(bytes, (index - prev) as u64);
                put_varint(bytes, count);
                prev = index;
            }
            Self {
                bytes: Box::from(&bytes[..]),
            }
        })
    }

    /// The `(index, count)` pairs, in increasing index order.
    pub(crate) fn iter(&self) -> CompactIter<'_> {
        CompactIter {
            bytes: &self.bytes,
            pos: 0,
            index: 0,
        }
    }

    /// The count in buckets above `index`.
    pub(crate) fn count_above(&self, index: usize) -> u64 {
        self.iter()
            .filter(|(i, _)| *i > index)
            .map(|(_, c)| c)
            .sum()
    }

    /// Heap bytes held.
    /// The encoded pairs, as a persistent store writes them.
    #[cfg_attr(not(feature = "persist"), allow(dead_code))]
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.bytes.len()
    }

    /// Adds `other` into `self` (an exact merge of the two distributions).
    pub(crate) fn merge(&mut self, other: &CompactCounts) {
        if other.bytes.is_empty() {
            return;
        }
        if self.bytes.is_empty() {
            self.bytes = other.bytes.clone();
            return;
        }
        let merged = MergeSorted {
            a: self.iter().peekable(),
            b: other.iter().peekable(),
        };
        *self = Self::from_sorted(merged);
    }
}

#[derive(Debug)]
pub(crate) struct CompactIter<'a> {
    bytes: &'a [u8],
    pos: usize,
    index: usize,
}

impl Iterator for CompactIter<'_> {
    type Item = (usize, u64);

    #[inline]
    fn next(&mut self) -> Option<(usize, u64)> {
        if self.pos >= self.bytes.len() {
            return None;
        }
        let delta = get_varint(self.bytes, &mut self.pos);
        let count = get_varint(self.bytes, &mut self.pos);
        self.index += delta as usize;
        Some((self.index, count))
    }
}

struct MergeSorted<A: Iterator<Item = (usize, u64)>, B: Iterator<Item = (usize, u64)>> {
    a: std::iter::Peekable<A>,
    b: std::iter::Peekable<B>,
}

impl<A, B> Iterator for MergeSorted<A, B>
where
    A: Iterator<Item = (usize, u64)>,
    B: Iterator<Item = (usize, u64)>,
{
    type Item = (usize, u64);

    fn next(&mut self) -> Option<(usize, u64)> {
        match (self.a.peek().copied(), self.b.peek().copied()) {
            (Some((ia, ca)), Some((ib, cb))) => {
                if ia == ib {
                    self.a.next();
                    self.b.next();
                    Some((ia, ca + cb))
                } else if ia < ib {
                    self.a.next()
                } else {
                    self.b.next()
                }
            }
            (Some(_), None) => self.a.next(),
            (None, _) => self.b.next(),
        }
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

#[inline]
fn get_varint(bytes: &[u8], pos: &mut usize) -> u64 {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let b = bytes[*pos];
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return v;
        }
        shift += 7;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn sparse() -> impl Strategy<Value = BTreeMap<usize, u64>> {
        proptest::collection::btree_map(0usize..4000, 1u64..u64::MAX / 4, 0..200)
    }

    proptest! {
        #[test]
        fn round_trips(m in sparse()) {
            let c = CompactCounts::from_sorted(m.iter().map(|(&i, &n)| (i, n)));
            let back: BTreeMap<usize, u64> = c.iter().collect();
            prop_assert_eq!(back, m);
        }

        #[test]
        fn merge_adds_counts_and_is_associative(a in sparse(), b in sparse(), c in sparse()) {
            let enc = |m: &BTreeMap<usize, u64>| CompactCounts::from_sorted(m.iter().map(|(&i, &n)| (i, n)));
            let mut left = enc(&a);
            left.merge(&enc(&b));
            left.merge(&enc(&c));
            let mut bc = enc(&b);
            bc.merge(&enc(&c));
            let mut right = enc(&a);
            right.merge(&bc);
            prop_assert_eq!(&left, &right);
            let mut expected = a.clone();
            for (i, n) in b.iter().chain(c.iter()) {
                *expected.entry(*i).or_default() += n;
            }
            prop_assert_eq!(left.iter().collect::<BTreeMap<_, _>>(), expected);
        }
    }
}
