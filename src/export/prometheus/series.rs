//! Cumulative per-model counts behind the exposition, fed by sealed minutes and, for
//! the monitor's live view, topped up with the cells still open.

use std::collections::VecDeque;
use std::time::SystemTime;

use crate::accumulate::OpenCell;
use crate::bucket::MinuteBucket;
use crate::hdr::BucketLayout;
use crate::tokens::TokenUsage;

use super::{DURATION_BOUNDS, TPOT_BOUNDS, TTFT_BOUNDS};
use crate::failure::KINDS;

/// Slots of the duration histogram: one per bound, then `+Inf` only.
pub(crate) const LE_SLOTS: usize = DURATION_BOUNDS.len() + 1;

/// The duration slot of a latency in microseconds: the first bound at or above it.
/// Both feeds (an HDR histogram's values, a layout's bucket indices) go through here,
/// with each bucket's highest value, so a selection never changes slot when its minute
/// is sealed.
#[inline]
pub(crate) fn le_slot(value_us: u64) -> usize {
    slot_in(&DURATION_BOUNDS, value_us)
}

/// The slot of a value in microseconds among `bounds` in seconds (the last slot is
/// `+Inf` only): the first bound at or above it. Open and sealed values both pass each
/// HDR bucket's highest value, so a value never changes slot when sealed.
#[inline]
fn slot_in(bounds: &[f64], value_us: u64) -> usize {
    let secs = value_us as f64 / 1e6;
    bounds.partition_point(|&b| secs > b)
}

/// One streaming timing's histogram: counts per slot (not cumulative), count and sum.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TimingCounts<const N: usize> {
    pub le: [u64; N],
    pub count: u64,
    pub sum_us: u64,
}

impl<const N: usize> Default for TimingCounts<N> {
    fn default() -> Self {
        Self {
            le: [0; N],
            count: 0,
            sum_us: 0,
        }
    }
}

impl<const N: usize> TimingCounts<N> {
    fn merge(&mut self, o: &Self) {
        for (a, b) in self.le.iter_mut().zip(o.le) {
            *a += b;
        }
        self.count += o.count;
        self.sum_us = self.sum_us.saturating_add(o.sum_us);
    }

    /// Adds values given as (HDR bucket highest value µs, count), with their exact sum.
    fn add(&mut self, bounds: &[f64], values: impl Iterator<Item = (u64, u64)>, sum_us: u64) {
        for (v, n) in values {
            self.le[slot_in(bounds, v)] += n;
            self.count += n;
        }
        self.sum_us = self.sum_us.saturating_add(sum_us);
    }
}

/// Counters of one model, every one an integer so sums are exact and never step back.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Counts {
    /// Selections per duration slot (not cumulative).
    pub le: [u64; LE_SLOTS],
    pub count: u64,
    pub latency_sum_us: u64,
    pub errors: u64,
    pub cache_hits: u64,
    pub cost_nano_usd: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cached_input_tokens: u64,
    pub reasoning_tokens: u64,
    pub tokens: TokenUsage,
    /// Failed selections per kind, in `ErrorKind::ALL` order.
    pub errors_by_kind: [u64; KINDS],
    pub retries: u64,
    pub fallbacks: u64,
    pub ttft: TimingCounts<{ TTFT_BOUNDS.len() + 1 }>,
    pub tpot: TimingCounts<{ TPOT_BOUNDS.len() + 1 }>,
}

impl Counts {
    pub(crate) fn merge(&mut self, o: &Counts) {
        for (a, b) in self.le.iter_mut().zip(o.le) {
            *a += b;
        }
        self.count += o.count;
        self.latency_sum_us += o.latency_sum_us;
        self.errors += o.errors;
        self.cache_hits += o.cache_hits;
        self.cost_nano_usd += o.cost_nano_usd;
        self.input_tokens += o.input_tokens;
        self.output_tokens += o.output_tokens;
        self.cached_input_tokens += o.cached_input_tokens;
        self.reasoning_tokens += o.reasoning_tokens;
        self.tokens.merge(&o.tokens);
        for (a, b) in self.errors_by_kind.iter_mut().zip(o.errors_by_kind) {
            *a += b;
        }
        self.retries += o.retries;
        self.fallbacks += o.fallbacks;
        self.ttft.merge(&o.ttft);
        self.tpot.merge(&o.tpot);
    }

    /// Adds one sealed minute whose latency histogram's recorded values (each
    /// bucket's highest value, and its count) are `latency`: the caller walks the
    /// 26 KiB histogram once for this and for the recent quantiles.
    pub(crate) fn add_bucket(&mut self, b: &MinuteBucket, latency: &[(u64, u64)]) {
        for &(value, n) in latency {
            self.le[le_slot(value)] += n;
        }
        self.count += b.count;
        self.latency_sum_us += u64::try_from(b.latency_sum.as_micros()).unwrap_or(u64::MAX);
        self.errors += b.errors;
        self.cache_hits += b.cache_hits;
        self.cost_nano_usd += b.cost_nano_usd();
        self.input_tokens += b.input_tokens;
        self.output_tokens += b.output_tokens;
        self.cached_input_tokens += b.cached_input_tokens;
        self.reasoning_tokens += b.reasoning_tokens;
        self.tokens.merge(&b.token_usage);
        for (kind, n) in &b.errors_by_kind {
            self.errors_by_kind[kind.slot()] += n;
        }
        self.retries += b.retries;
        self.fallbacks += b.fallbacks;
        let us = |d: std::time::Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        if let Some(d) = &b.time_to_first_token {
            self.ttft.add(&TTFT_BOUNDS, bucket_values(d), us(d.sum));
        }
        if let Some(d) = &b.time_per_output_token {
            self.tpot.add(&TPOT_BOUNDS, bucket_values(d), us(d.sum));
        }
    }

    /// Adds one open cell; `slots[i]` is the duration slot of layout bucket `i`.
    pub(crate) fn add_cell(&mut self, cell: &OpenCell, slots: &[u8], layout: &BucketLayout) {
        for (i, n) in cell.buckets() {
            self.le[usize::from(slots[i])] += n;
        }
        let t = &cell.totals;
        self.count += t.count;
        self.latency_sum_us += t.latency_sum_us;
        self.errors += t.errors;
        self.cache_hits += t.cache_hits;
        self.cost_nano_usd += t.cost.sum;
        self.input_tokens += t.input_tokens;
        self.output_tokens += t.output_tokens;
        self.cached_input_tokens += t.cached_input_tokens;
        self.reasoning_tokens += t.reasoning_tokens;
        if let Some(cell) = cell.token_counts() {
            self.tokens.add_cell(cell);
        }
        for (a, b) in self.errors_by_kind.iter_mut().zip(t.error_kinds.0) {
            *a += b;
        }
        self.retries += t.retries;
        self.fallbacks += t.fallbacks;
        if let Some(s) = cell.stream() {
            let high = |(i, n): (usize, u64)| (layout.highest_value(i), n);
            let ttft = s.ttft.buckets().map(high);
            self.ttft.add(&TTFT_BOUNDS, ttft, s.ttft.timing.sum_us);
            let tpot = s.tpot.buckets().map(high);
            self.tpot.add(&TPOT_BOUNDS, tpot, s.tpot.timing.sum_us);
        }
    }

    pub(crate) fn cost_usd(&self) -> f64 {
        self.cost_nano_usd as f64 / crate::aggregate::COST_SCALE
    }
}

/// A sealed timing's buckets as (highest value µs, count), without collecting them.
fn bucket_values(d: &crate::bucket::TimingDistribution) -> impl Iterator<Item = (u64, u64)> + '_ {
    d.histogram
        .iter()
        .map(|v| (v.high.as_micros() as u64, v.count))
}

/// The duration slot of every bucket of `layout`.
pub(crate) fn layout_slots(layout: &BucketLayout) -> Vec<u8> {
    (0..layout.len())
        .map(|i| le_slot(layout.highest_value(i)) as u8)
        .collect()
}

/// One model's cumulative series and its recent minutes (for the opt-in summary).
#[derive(Debug, Default)]
pub(crate) struct ModelSeries {
    pub counts: Counts,
    /// Sealed minutes of the last 5 minutes: (minute start, [(latency µs, count)]).
    pub recent: VecDeque<(SystemTime, Vec<(u64, u64)>)>,
    pub last_seen: Option<SystemTime>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_has_the_same_slot_whether_open_or_sealed() {
        let layout = BucketLayout::new(1, 3_600_000_000, 2).unwrap();
        let slots = layout_slots(&layout);
        for (i, &slot) in slots.iter().enumerate() {
            // A sealed bucket reports the highest value of its HDR bucket.
            let v = layout.highest_value(i);
            assert_eq!(usize::from(slot), le_slot(v), "bucket {i}");
        }
    }

    #[test]
    fn slots_follow_the_bounds() {
        assert_eq!(le_slot(10_000), 0);
        assert_eq!(le_slot(10_001), 1);
        assert_eq!(le_slot(81_920_000), DURATION_BOUNDS.len() - 1);
        assert_eq!(le_slot(81_920_001), DURATION_BOUNDS.len());
    }
}
