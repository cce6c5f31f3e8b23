//! Open-minute accumulators: where the hot path writes.
//!
//! Each model slot owns one shard per writer lane, each on its own cache line. A thread
//! picks its lane once (round robin over threads) and from then on writes only there, so
//! two threads recording the same model touch different cache lines. A shard holds the
//! open minute's counters and a dense `u32` latency array (see [`crate::hdr`]) in
//! [`OpenCell`]s, one per minute that is still open.
//!
//! ## Why a lock per shard
//!
//! Each shard is guarded by its own `parking_lot::Mutex`. It is uncontended unless more
//! threads than lanes write the same model at the same instant, or the sealer takes the
//! shard's finished cells (an O(1) swap, once a minute). One uncontended lock costs one
//! atomic read-modify-write, fewer than the six relaxed atomic adds a lock-free layout
//! needs, and it makes sealing trivially exact: a cell is either wholly before the seal
//! or wholly after it, so no count can be lost or counted twice.
//!
//! ## Allocation and memory
//!
//! A slot allocates its shard table when the model is first seen; a shard allocates a
//! cell on the first event its lane writes for that model, and a second one at its first
//! minute rollover (the old cell is still waiting for the sealer). From then on the
//! sealer hands cells back zeroed and recording allocates nothing; only an event for a
//! third concurrently open minute (a late replay) would. Memory is therefore
//! `2 × buckets × 4 bytes` (26 KiB with the default layout) per model and per thread
//! lane that actually records that model, not per configured shard.

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::sync::Mutex;
use crossbeam_utils::CachePadded;

use crate::aggregate::{Event, Totals};
use crate::bands::Bands;
use crate::dimension::{Combo, DimCell};
use crate::feedback::{FeedbackEvent, Scores};
use crate::stream::{Dense, OpenStreams, StreamEvent};
use crate::tokens::SLOTS;

static NEXT_LANE: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static LANE: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// This thread's writer lane; lanes are handed out round robin as threads first record.
#[inline]
pub(crate) fn thread_lane() -> usize {
    LANE.with(|lane| {
        let v = lane.get();
        if v != usize::MAX {
            return v;
        }
        let v = NEXT_LANE.fetch_add(1, Ordering::Relaxed);
        lane.set(v);
        v
    })
}

/// One minute's worth of one shard's events.
#[derive(Debug)]
pub(crate) struct OpenCell {
    pub minute: u64,
    pub totals: Totals,
    /// Counters by complexity band; boxed so moving a cell stays cheap.
    pub bands: Box<Bands>,
    /// Selections by token-usage bucket, input then output ([`crate::tokens`]).
    tokens: Box<[u32; 2 * SLOTS]>,
    has_tokens: bool,
    counts: Dense<u32>,
    /// Streaming timings, allocated at the first streamed selection and kept (cleared)
    /// when the cell is reused.
    stream: Option<Box<OpenStreams>>,
    /// Named feedback scores (empty unless feedback carried one).
    pub scores: Scores,
    /// Counters by dimension combination: in the cell, not boxed, which spares the
    /// hot path a dependent load; empty, it allocates nothing, and its memory is kept
    /// across reuse.
    pub dims: DimCell,
}

impl OpenCell {
    fn new(buckets: usize) -> Self {
        Self {
            minute: 0,
            totals: Totals::default(),
            bands: Box::default(),
            tokens: Box::new([0; 2 * SLOTS]),
            has_tokens: false,
            counts: Dense::new(buckets),
            stream: None,
            scores: Scores::default(),
            dims: DimCell::new(buckets),
        }
    }

    /// Adds a selection without dimensions.
    #[inline]
    fn add(&mut self, e: &Event, stream: Option<&StreamEvent>) {
        self.dims.add_plain(&self.counts);
        self.add_counts(e, stream);
    }

    /// Adds a selection to the model's counters.
    #[inline]
    fn add_counts(&mut self, e: &Event, stream: Option<&StreamEvent>) {
        self.totals.add(e);
        // Only selections with a complexity touch the band counters' cache lines.
        if e.complexity.1 != 0 {
            self.bands.add(e);
        }
        if let Some((input, output)) = e.token_slots {
            self.tokens[usize::from(input)] += 1;
            self.tokens[SLOTS + usize::from(output)] += 1;
            self.has_tokens = true;
        }
        self.counts.add(e.bucket, 1);
        if let Some(s) = stream {
            let buckets = self.counts.len();
            self.stream
                .get_or_insert_with(|| Box::new(OpenStreams::new(buckets)))
                .add(s);
        }
    }

    /// Adds a selection with dimensions: its combination, then the model's counters.
    #[inline]
    fn add_with_dims(&mut self, e: &Event, stream: Option<&StreamEvent>, combo: Combo) {
        self.dims.add(combo, e, &self.counts, self.totals.count);
        self.add_counts(e, stream);
    }

    /// Each provider's latency counts in this cell.
    pub(crate) fn provider_latency(
        &self,
    ) -> impl Iterator<Item = (u16, impl Iterator<Item = (usize, u64)> + '_)> + '_ {
        self.dims.provider_latency(&self.counts)
    }

    /// The dimension counters, when a selection in the cell carried any.
    pub(crate) fn dims(&self) -> Option<&DimCell> {
        Some(&self.dims).filter(|d| !d.is_empty())
    }

    /// Adds feedback on a selection of this minute, counting no selection.
    fn add_feedback(&mut self, f: &FeedbackEvent) {
        f.add_to(&mut self.totals, &mut self.scores);
    }

    /// The streaming timings, when a selection in the cell was streamed.
    pub(crate) fn stream(&self) -> Option<&OpenStreams> {
        self.stream.as_deref().filter(|s| !s.is_empty())
    }

    /// The non-empty buckets, in index order.
    pub(crate) fn buckets(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        self.counts.buckets()
    }

    /// The token-usage counts, input then output; `None` when no selection reported
    /// tokens.
    pub(crate) fn token_counts(&self) -> Option<&[u32; 2 * SLOTS]> {
        self.has_tokens.then_some(&*self.tokens)
    }

    /// Empties the cell for reuse, touching only the buckets that were used.
    fn clear(&mut self) {
        self.counts.clear();
        if self.totals.complexity.count > 0 {
            *self.bands = Bands::default();
        }
        if self.has_tokens {
            *self.tokens = [0; 2 * SLOTS];
            self.has_tokens = false;
        }
        if let Some(s) = &mut self.stream {
            s.clear();
        }
        self.scores.clear();
        self.dims.clear();
        self.totals = Totals::default();
    }

    fn heap_bytes(&self) -> usize {
        self.counts.heap_bytes()
            + std::mem::size_of::<Bands>()
            + std::mem::size_of::<[u32; 2 * SLOTS]>()
            + self.stream.as_ref().map_or(0, |s| s.heap_bytes())
            + self.scores.heap_bytes()
            + self.dims.heap_bytes()
    }
}

#[derive(Debug)]
struct Shard {
    active: Vec<OpenCell>,
    spare: Vec<OpenCell>,
    /// Set when the slot is evicted; writers that find it go back to the registry.
    retired: bool,
    /// Events that landed here because the model-id cap was reached.
    overflowed: u64,
}

/// The slot was evicted between lookup and write; resolve the model again.
#[derive(Debug)]
pub(crate) struct Retired;

/// Everything the hot path needs for one model.
#[derive(Debug)]
pub(crate) struct ModelSlot {
    pub name: Arc<str>,
    shards: Box<[CachePadded<Mutex<Shard>>]>,
    buckets: usize,
}

impl ModelSlot {
    pub(crate) fn new(name: Arc<str>, shards: usize, buckets: usize) -> Self {
        debug_assert!(shards.is_power_of_two());
        let shards = (0..shards)
            .map(|_| {
                CachePadded::new(Mutex::new(Shard {
                    active: Vec::with_capacity(4),
                    spare: Vec::with_capacity(2),
                    retired: false,
                    overflowed: 0,
                }))
            })
            .collect();
        Self {
            name,
            shards,
            buckets,
        }
    }

    /// Adds one event to the cell of `minute` in this thread's shard.
    #[inline]
    pub(crate) fn record(
        &self,
        minute: u64,
        e: &Event,
        stream: Option<&StreamEvent>,
        overflow: bool,
    ) -> Result<(), Retired> {
        self.with_cell(minute, |cell, overflowed| {
            *overflowed += u64::from(overflow);
            cell.add(e, stream);
        })
    }

    /// As [`ModelSlot::record`], for an event with dimension values: a path of its
    /// own, so that events without any pay nothing for them.
    #[inline]
    pub(crate) fn record_with_dims(
        &self,
        minute: u64,
        e: &Event,
        stream: Option<&StreamEvent>,
        combo: Combo,
        overflow: bool,
    ) -> Result<(), Retired> {
        self.with_cell(minute, |cell, overflowed| {
            *overflowed += u64::from(overflow);
            cell.add_with_dims(e, stream, combo);
        })
    }

    /// Adds feedback to the cell of `minute` (the current or the previous one) in this
    /// thread's shard; the sealer merges it into the minute, sealed before or not.
    pub(crate) fn record_feedback(&self, minute: u64, f: &FeedbackEvent) -> Result<(), Retired> {
        self.with_cell(minute, |cell, _| cell.add_feedback(f))
    }

    #[inline(always)]
    fn with_cell(
        &self,
        minute: u64,
        f: impl FnOnce(&mut OpenCell, &mut u64),
    ) -> Result<(), Retired> {
        let lane = thread_lane() & (self.shards.len() - 1);
        let mut shard = self.shards[lane].lock();
        if shard.retired {
            return Err(Retired);
        }
        let Shard {
            active,
            spare,
            overflowed,
            ..
        } = &mut *shard;
        let cell = match active.iter().position(|c| c.minute == minute) {
            Some(i) => &mut active[i],
            None => {
                let mut cell = spare.pop().unwrap_or_else(|| OpenCell::new(self.buckets));
                cell.minute = minute;
                active.push(cell);
                active.last_mut().expect("just pushed")
            }
        };
        f(cell, overflowed);
        Ok(())
    }

    /// Moves every open cell with `minute < before` into `out`, tagged with its shard.
    pub(crate) fn take_cells(&self, before: u64, out: &mut Vec<(usize, OpenCell)>) {
        for (i, shard) in self.shards.iter().enumerate() {
            let mut shard = shard.lock();
            let mut j = 0;
            while j < shard.active.len() {
                if shard.active[j].minute < before {
                    out.push((i, shard.active.swap_remove(j)));
                } else {
                    j += 1;
                }
            }
        }
    }

    /// Hands sealed cells back, emptied, for reuse.
    pub(crate) fn return_cells(&self, cells: impl Iterator<Item = (usize, OpenCell)>) {
        for (i, mut cell) in cells {
            cell.clear();
            let mut shard = self.shards[i].lock();
            // Keep a couple of spares per shard; more would only hold memory.
            if shard.spare.len() < 2 {
                shard.spare.push(cell);
            }
        }
    }

    /// Calls `f` with every open cell whose minute is in `from..to`, under its shard lock.
    pub(crate) fn peek_open(&self, from: u64, to: u64, mut f: impl FnMut(&OpenCell)) {
        for shard in self.shards.iter() {
            let shard = shard.lock();
            shard
                .active
                .iter()
                .filter(|c| (from..to).contains(&c.minute))
                .for_each(&mut f);
        }
    }

    /// Marks the slot retired if no cell is open; returns whether it did.
    pub(crate) fn retire_if_idle(&self) -> bool {
        let mut guards: Vec<_> = self.shards.iter().map(|s| s.lock()).collect();
        if guards.iter().any(|g| !g.active.is_empty()) {
            return false;
        }
        guards.iter_mut().for_each(|g| g.retired = true);
        true
    }

    /// Events sent here because the model-id cap was reached.
    pub(crate) fn overflowed(&self) -> u64 {
        self.shards.iter().map(|s| s.lock().overflowed).sum()
    }

    /// Events in cells not yet sealed.
    pub(crate) fn open_events(&self) -> u64 {
        let mut n = 0;
        self.peek_open(0, u64::MAX, |c| n += c.totals.count);
        n
    }

    /// Bytes held by the shards' cells.
    pub(crate) fn footprint(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                let s = s.lock();
                s.active
                    .iter()
                    .chain(s.spare.iter())
                    .map(OpenCell::heap_bytes)
                    .sum::<usize>()
            })
            .sum::<usize>()
            + std::mem::size_of::<Self>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hdr::BucketLayout;
    use crate::selection::Selection;
    use std::time::Duration;

    fn event(ms: u64) -> Event {
        let layout = BucketLayout::new(1, 3_600_000_000, 2).unwrap();
        Event::from_selection(
            &Selection::new("m", Duration::from_millis(ms)).error(ms > 100),
            &layout,
        )
        .unwrap()
    }

    #[test]
    fn each_provider_gets_its_selections_latency_however_the_cell_mixes() {
        use crate::dimension::PROVIDER_DIM;
        use std::collections::BTreeMap;
        // (provider id, latency ms); `None` is a selection without dimensions, id 0
        // one with dimensions but no provider.
        let cases: [&[(Option<u16>, u64)]; 6] = [
            &[(Some(2), 5), (Some(2), 500), (Some(2), 7)],
            &[(Some(2), 5), (Some(3), 500), (Some(2), 7), (Some(3), 9)],
            &[(None, 5), (Some(2), 500), (Some(2), 7)],
            &[(Some(2), 5), (None, 500), (Some(2), 7)],
            &[(Some(2), 5), (Some(0), 500), (Some(2), 7)],
            &[(Some(0), 5), (Some(2), 500), (Some(3), 7), (None, 8)],
        ];
        let mut cell = OpenCell::new(3328);
        for case in cases {
            // Twice: the second time in the cell reused, as after a seal.
            for _ in 0..2 {
                cell.clear();
                let mut want: BTreeMap<u16, BTreeMap<usize, u64>> = BTreeMap::new();
                for &(provider, ms) in case {
                    let e = event(ms);
                    match provider {
                        None => cell.add(&e, None),
                        Some(p) => {
                            let combo = Combo::default().with(PROVIDER_DIM, p).with(3, 7);
                            cell.add_with_dims(&e, None, combo);
                            if p != 0 {
                                *want.entry(p).or_default().entry(e.bucket).or_default() += 1;
                            }
                        }
                    }
                }
                let got: BTreeMap<u16, BTreeMap<usize, u64>> = cell
                    .provider_latency()
                    .map(|(p, b)| (p, b.collect()))
                    .collect();
                assert_eq!(got, want, "{case:?}");
                assert_eq!(cell.totals.count, case.len() as u64);
            }
        }
    }

    #[test]
    fn cells_are_taken_by_minute_and_reused() {
        let slot = ModelSlot::new("m".into(), 2, 3328);
        slot.record(10, &event(5), None, false).unwrap();
        slot.record(10, &event(500), None, false).unwrap();
        slot.record(11, &event(7), None, true).unwrap();
        let mut out = Vec::new();
        slot.take_cells(11, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].1.minute, 10);
        assert_eq!(out[0].1.totals.count, 2);
        assert_eq!(out[0].1.totals.errors, 1);
        assert_eq!(out[0].1.buckets().count(), 2);
        assert_eq!(slot.open_events(), 1);
        assert_eq!(slot.overflowed(), 1);
        slot.return_cells(out.into_iter());
        slot.take_cells(u64::MAX, &mut Vec::new());
        assert_eq!(slot.open_events(), 0);
    }

    #[test]
    fn retired_slot_refuses_writes() {
        let slot = ModelSlot::new("m".into(), 1, 3328);
        slot.record(1, &event(1), None, false).unwrap();
        assert!(!slot.retire_if_idle());
        slot.take_cells(u64::MAX, &mut Vec::new());
        assert!(slot.retire_if_idle());
        assert!(slot.record(1, &event(1), None, false).is_err());
    }

    #[test]
    fn cleared_cells_are_empty() {
        let mut c = OpenCell::new(3328);
        c.add(&event(3), None);
        c.clear();
        assert_eq!(c.buckets().count(), 0);
        assert_eq!(c.totals, Totals::default());
    }
}

/// Model checks of the record-versus-seal protocol: loom runs every interleaving of
/// the writers' and the sealer's lock acquisitions.
#[cfg(all(test, modelmeter_loom))]
mod loom_model {
    use super::*;
    use crate::hdr::BucketLayout;
    use crate::selection::Selection;
    use loom::sync::Arc;
    use loom::thread;
    use std::time::Duration;

    fn setup() -> (Arc<ModelSlot>, Event) {
        let layout = BucketLayout::new(1, 1000, 1).unwrap();
        let slot = Arc::new(ModelSlot::new("m".into(), 2, layout.len()));
        let s = Selection::new("m", Duration::from_micros(5));
        (slot, Event::from_selection(&s, &layout).unwrap())
    }

    fn counts(cells: &[(usize, OpenCell)], minute: u64) -> u64 {
        cells
            .iter()
            .filter(|(_, c)| c.minute == minute)
            .map(|(_, c)| c.totals.count)
            .sum()
    }

    /// Two writers record into minutes 0 and 1 while the sealer takes minute 0: every
    /// event is sealed exactly once, in its own minute, whatever the order.
    #[test]
    fn sealing_loses_nothing_and_counts_nothing_twice() {
        loom::model(|| {
            let (slot, e) = setup();
            let writers: Vec<_> = (0..2)
                .map(|_| {
                    let (slot, e) = (slot.clone(), e.clone());
                    thread::spawn(move || {
                        slot.record(0, &e, None, false).unwrap();
                        slot.record(1, &e, None, false).unwrap();
                    })
                })
                .collect();
            let mut sealed = Vec::new();
            slot.take_cells(1, &mut sealed);
            assert!(sealed.iter().all(|(_, c)| c.minute == 0));
            for w in writers {
                w.join().unwrap();
            }
            slot.take_cells(u64::MAX, &mut sealed);
            assert_eq!((counts(&sealed, 0), counts(&sealed, 1)), (2, 2));
        });
    }

    /// A writer racing an eviction either records before it (and the slot is not
    /// retired) or finds the slot retired and records into the fresh one.
    #[test]
    fn eviction_loses_nothing() {
        loom::model(|| {
            let (slot, e) = setup();
            let fresh = Arc::new(ModelSlot::new("m".into(), 2, slot.buckets));
            let writer = {
                let (slot, fresh, e) = (slot.clone(), fresh.clone(), e.clone());
                thread::spawn(move || {
                    if slot.record(0, &e, None, false).is_err() {
                        fresh.record(0, &e, None, false).unwrap();
                    }
                })
            };
            let retired = slot.retire_if_idle();
            writer.join().unwrap();
            let mut sealed = Vec::new();
            slot.take_cells(u64::MAX, &mut sealed);
            let in_old = counts(&sealed, 0);
            sealed.clear();
            fresh.take_cells(u64::MAX, &mut sealed);
            let in_fresh = counts(&sealed, 0);
            assert_eq!(in_old + in_fresh, 1);
            assert_eq!(
                retired,
                in_fresh == 1,
                "retired exactly when the writer moved"
            );
        });
    }
}
