//! Sealing: turning finished open cells into stored minutes.
//!
//! The sealer takes every cell whose minute is due out of every shard (an O(1) move
//! under the shard's lock), merges the cells of each (model, minute) across shards into
//! one [`Aggregate`], stores it in every tier, and hands the emptied cells back for
//! reuse. The store's write lock is held throughout, so a query sees each event exactly
//! once: either still open or already stored.

use std::collections::HashMap;
use std::time::SystemTime;

use crate::accumulate::OpenCell;
use crate::aggregate::{Aggregate, Totals};
use crate::bands::Bands;
use crate::bucket::MinuteBucket;
use crate::clock::from_unix_nanos;
use crate::dimension::{DimAgg, DimTotals, DimensionBucket, Dimensions};
use crate::feedback::Scores;
use crate::hdr::{BucketLayout, CompactCounts};
use crate::registry::Registry;
use crate::store::Store;
use crate::stream::{Dense, StreamAgg};
use crate::summary::WindowAcc;
use crate::tokens::TokenUsage;

pub(crate) const NANOS_PER_MINUTE: u64 = 60_000_000_000;

/// Reusable buffers for sealing.
#[derive(Debug)]
pub(crate) struct Sealer {
    cells: Vec<(usize, OpenCell)>,
    scratch: WindowAcc,
    /// Dimension counters of the cells sealed by [`Sealer::seal`], by (minute,
    /// dimension, value id), until [`Sealer::seal_dimensions`] stores them.
    dims: HashMap<(u64, usize, u16), DimTotals>,
    /// Provider latency counts by (minute, provider id).
    provider_latency: HashMap<(u64, u16), Dense<u64>>,
    buckets: usize,
}

impl Sealer {
    pub(crate) fn new(buckets: usize) -> Self {
        Self {
            cells: Vec::new(),
            scratch: WindowAcc::new(buckets),
            dims: HashMap::new(),
            provider_latency: HashMap::new(),
            buckets,
        }
    }

    /// Splits a sealed cell's dimension combinations into their dimensions.
    fn take_dimensions(&mut self, cell: &OpenCell) {
        let Some(d) = cell.dims() else {
            return;
        };
        let minute = cell.minute;
        for (combo, totals) in d.combos() {
            for (dim, id) in combo.ids() {
                self.dims
                    .entry((minute, dim, id))
                    .or_default()
                    .merge(totals);
            }
        }
        let buckets = self.buckets;
        for (provider, counts) in cell.provider_latency() {
            let mut counts = counts.peekable();
            if counts.peek().is_some() {
                self.provider_latency
                    .entry((minute, provider))
                    .or_insert_with(|| Dense::new(buckets))
                    .add_all(counts);
            }
        }
    }

    /// Stores the dimension minutes gathered by the last [`Sealer::seal`] and returns
    /// them as buckets for the exporters.
    pub(crate) fn seal_dimensions(
        &mut self,
        dims: &Dimensions,
        store: &mut Store,
        layout: &BucketLayout,
    ) -> Vec<DimensionBucket> {
        let mut keys: Vec<_> = self.dims.keys().copied().collect();
        keys.sort_unstable();
        let mut out = Vec::with_capacity(keys.len());
        for key @ (minute, dim, id) in keys {
            let totals = self.dims.remove(&key).expect("a key just listed");
            let keeps = Dimensions::keeps_latency(dim);
            let latency = match keeps.then(|| self.provider_latency.remove(&(minute, id))) {
                Some(Some(counts)) => CompactCounts::from_sorted(counts.buckets()),
                _ => CompactCounts::default(),
            };
            let agg = DimAgg { totals, latency };
            let value = dims.value(dim, id);
            out.push(DimensionBucket::new(
                (&dims.keys()[dim], &value),
                minute_start(minute),
                &agg,
                keeps.then_some(layout),
            ));
            let Store {
                dims,
                tiers,
                journal,
                ..
            } = store;
            dims.insert(tiers, (dim, value), minute, agg, journal.as_mut());
        }
        self.provider_latency.clear();
        out
    }

    /// Seals every open cell with `minute < before` and returns them as buckets: the
    /// tick hands them to exporters and to the Prometheus series.
    pub(crate) fn seal(
        &mut self,
        registry: &Registry,
        store: &mut Store,
        layout: &BucketLayout,
        before: u64,
    ) -> Vec<MinuteBucket> {
        let mut out = Vec::new();
        for slot in registry.slots() {
            slot.take_cells(before, &mut self.cells);
            if self.cells.is_empty() {
                continue;
            }
            self.cells.sort_unstable_by_key(|(_, c)| c.minute);
            let mut i = 0;
            while i < self.cells.len() {
                let minute = self.cells[i].1.minute;
                let mut totals = Totals::default();
                let mut bands = Bands::default();
                let mut tokens = TokenUsage::default();
                let mut stream: Option<Box<StreamAgg>> = None;
                let mut scores = Scores::default();
                let first = i;
                while i < self.cells.len() && self.cells[i].1.minute == minute {
                    let cell = &self.cells[i].1;
                    totals.merge(&cell.totals);
                    if let Some(s) = cell.stream() {
                        let part = StreamAgg::from_open(s);
                        match &mut stream {
                            Some(acc) => acc.merge(&part),
                            // Moved in, not cloned: most minutes have one streamed cell.
                            None => stream = Some(Box::new(part)),
                        }
                    }
                    scores.merge(&cell.scores);
                    if cell.totals.complexity.count > 0 {
                        bands.merge(&cell.bands);
                    }
                    if let Some(t) = cell.token_counts() {
                        tokens.add_cell(t);
                    }
                    i += 1;
                }
                // Most minutes were recorded by one writer shard: encode its cell
                // directly; several are summed in the dense scratch first.
                let latency = if i - first == 1 {
                    CompactCounts::from_sorted(self.cells[first].1.buckets())
                } else {
                    for (_, cell) in &self.cells[first..i] {
                        self.scratch.add_buckets(cell.buckets());
                    }
                    let latency = CompactCounts::from_sorted(self.scratch.buckets());
                    self.scratch.clear();
                    latency
                };
                let agg = Aggregate {
                    totals,
                    latency,
                    stream,
                    scores,
                };
                out.push(MinuteBucket::new(
                    &slot.name,
                    minute_start(minute),
                    &agg,
                    tokens,
                    layout,
                ));
                store.insert(&slot.name, minute, agg);
                store.bands.insert(&slot.name, minute, &bands);
            }
            let cells = std::mem::take(&mut self.cells);
            cells
                .iter()
                .for_each(|(_, cell)| self.take_dimensions(cell));
            self.cells = cells;
            slot.return_cells(self.cells.drain(..));
        }
        out
    }
}

pub(crate) fn minute_start(minute: u64) -> SystemTime {
    from_unix_nanos(minute.saturating_mul(NANOS_PER_MINUTE))
}
