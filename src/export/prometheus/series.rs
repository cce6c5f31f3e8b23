//! Cumulative per-model counts behind the exposition, fed by sealed minutes and, for
//! the monitor's live view, topped up with the cells still open.

use std::collections::VecDeque;
use std::time::SystemTime;

use crate::accumulate::OpenCell;
use crate::bucket::MinuteBucket;
use crate::hdr::BucketLayout;
use crate::tokens::TokenUsage;

use super::DURATION_BOUNDS;

/// Slots of the duration histogram: one per bound, then `+Inf` only.
pub(crate) const LE_SLOTS: usize = DURATION_BOUNDS.len() + 1;

/// The duration slot of a latency in microseconds: the first bound at or above it.
/// Both feeds (an HDR histogram's values, a layout's bucket indices) go through here,
/// with each bucket's highest value, so a selection never changes slot when its minute
/// is sealed.
#[inline]
pub(crate) fn le_slot(value_us: u64) -> usize {
    let secs = value_us as f64 / 1e6;
    DURATION_BOUNDS.partition_point(|&b| secs > b)
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
    pub tokens: TokenUsage,
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
        self.tokens.merge(&o.tokens);
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
        self.tokens.merge(&b.token_usage);
    }

    /// Adds one open cell; `slots[i]` is the duration slot of layout bucket `i`.
    pub(crate) fn add_cell(&mut self, cell: &OpenCell, slots: &[u8]) {
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
        if let Some(cell) = cell.token_counts() {
            self.tokens.add_cell(cell);
        }
    }

    pub(crate) fn cost_usd(&self) -> f64 {
        self.cost_nano_usd as f64 / crate::aggregate::COST_SCALE
    }
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
