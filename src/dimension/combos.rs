//! An open cell's table of combinations: open addressing with linear probing, the
//! entries in the slots, keyed by the combination itself.
//!
//! Every selection with dimension values finds its combination here, under the shard
//! lock, so the table is built for that one lookup: the table is at most half full, so
//! most lookups end at the first slot, with one compare of two words. A
//! `hashbrown::HashTable` in its place probed a group of 16 control bytes with vector
//! instructions before comparing: 22 instructions more per selection with
//! handles (`BENCHMARKS.md`). The empty combination marks a free slot: a selection that
//! reaches the cell's dimensions set at least one value, so its combination is never
//! empty.

use super::Combo;

/// A slot's content: a combination and what the cell keeps for it.
pub(super) trait Slot: Default {
    fn combo(&self) -> Combo;
    fn set_combo(&mut self, combo: Combo);
}

/// The table. Its memory is kept when cleared, so a cell reused next minute allocates
/// nothing for combinations it has held before.
#[derive(Debug)]
pub(super) struct Combos<E> {
    slots: Vec<E>,
    len: usize,
    /// 64 less the log2 of the number of slots.
    shift: u32,
}

impl<E: Slot> Combos<E> {
    pub(super) fn new() -> Self {
        Self {
            slots: Vec::new(),
            len: 0,
            shift: 64,
        }
    }

    /// The entry of `combo`, added (empty) if absent.
    #[inline]
    pub(super) fn entry(&mut self, combo: Combo) -> &mut E {
        debug_assert!(
            combo != Combo::default(),
            "the empty combination marks free slots"
        );
        let mask = self.slots.len().wrapping_sub(1);
        let mut i = self.home(combo);
        while let Some(slot) = self.slots.get(i) {
            let found = slot.combo();
            if found == combo {
                return &mut self.slots[i];
            }
            if found == Combo::default() {
                break;
            }
            i = (i + 1) & mask;
        }
        let i = self.insert(combo);
        &mut self.slots[i]
    }

    /// Adds `combo`, absent from the table, growing the table first when it would be
    /// more than half full; returns its slot.
    #[cold]
    #[inline(never)]
    fn insert(&mut self, combo: Combo) -> usize {
        if (self.len + 1) * 2 > self.slots.len() {
            let size = (self.slots.len() * 2).max(8);
            let old = std::mem::take(&mut self.slots);
            self.slots.resize_with(size, E::default);
            self.shift = 64 - size.trailing_zeros();
            for e in old.into_iter().filter(|e| e.combo() != Combo::default()) {
                let i = self.free_slot(e.combo());
                self.slots[i] = e;
            }
        }
        let i = self.free_slot(combo);
        self.slots[i].set_combo(combo);
        self.len += 1;
        i
    }

    /// The slot where `combo`'s probe sequence starts: the hash's top bits. Its low
    /// bits mix less (combinations differ in a few bits of small ids), and with them
    /// lookups in a benchmark's cells took 1.2 extra probes on average.
    #[inline(always)]
    fn home(&self, combo: Combo) -> usize {
        // An empty table's shift is 64, which `wrapping_shr` takes as 0: the slot is
        // past the end, and the lookup finds none.
        combo.hash().wrapping_shr(self.shift) as usize
    }

    /// The first free slot on `combo`'s probe sequence (the table has one).
    fn free_slot(&self, combo: Combo) -> usize {
        let mask = self.slots.len() - 1;
        let mut i = self.home(combo);
        while self.slots[i].combo() != Combo::default() {
            i = (i + 1) & mask;
        }
        i
    }

    /// The entries, in no particular order.
    pub(super) fn iter(&self) -> impl Iterator<Item = &E> + '_ {
        self.slots.iter().filter(|e| e.combo() != Combo::default())
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Empties the table, keeping its memory.
    pub(super) fn clear(&mut self) {
        if self.len > 0 {
            self.slots.iter_mut().for_each(|e| *e = E::default());
            self.len = 0;
        }
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<E>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[derive(Debug, Default, Clone, PartialEq)]
    struct Counted {
        combo: Combo,
        n: u64,
    }

    impl Slot for Counted {
        fn combo(&self) -> Combo {
            self.combo
        }
        fn set_combo(&mut self, combo: Combo) {
            self.combo = combo;
        }
    }

    fn combo(i: u16) -> Combo {
        Combo::default().with(usize::from(i % 7), i / 7 + 1)
    }

    #[test]
    fn every_combination_keeps_its_own_count_through_growth_and_clearing() {
        let mut table = Combos::<Counted>::new();
        assert!(table.is_empty());
        let mut want = HashMap::new();
        for round in 0..3u64 {
            // 700 combinations: the table grows from nothing through seven doublings,
            // and lookups pass runs of neighbours.
            for i in 0..7_000u16 {
                let c = combo(i % 700 + (i % 3) * 700);
                table.entry(c).n += 1 + round;
                *want.entry(c).or_insert(0) += 1 + round;
            }
            let got: HashMap<Combo, u64> = table.iter().map(|e| (e.combo, e.n)).collect();
            assert_eq!(got, want);
            assert_eq!(table.len, want.len());
            assert!(table.len * 2 <= table.slots.len());
            if round == 1 {
                let bytes = table.heap_bytes();
                table.clear();
                want.clear();
                assert!(table.is_empty() && table.iter().next().is_none());
                assert_eq!(table.heap_bytes(), bytes, "memory kept");
            }
        }
    }
}
