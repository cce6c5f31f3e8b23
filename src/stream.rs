//! Streaming timings: time to first token and time per output token, from the open cell
//! to the stored tiers and the queries.
//!
//! For a streamed chat completion the latency a user feels is the time to the first
//! token; the OpenTelemetry GenAI conventions add the time per output token after the
//! first, `(latency - time to first token) / (output tokens - 1)`. Both get their own
//! HDR-bucketed distribution per model in the configured layout, and exact count, sum,
//! minimum and maximum. Selections without a time to first token never touch them: the
//! parts are allocated on a cell's, bucket's or query's first streamed selection.

use crate::hdr::{BucketLayout, CompactCounts};
use crate::summary::{LatencyStats, rank};

/// Exact count, sum, minimum and maximum of one timing, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timing {
    pub count: u64,
    pub sum_us: u64,
    pub min_us: u64,
    pub max_us: u64,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            count: 0,
            sum_us: 0,
            min_us: u64::MAX,
            max_us: 0,
        }
    }
}

impl Timing {
    pub(crate) fn merge(&mut self, o: &Timing) {
        self.count = self.count.saturating_add(o.count);
        self.sum_us = self.sum_us.saturating_add(o.sum_us);
        self.min_us = self.min_us.min(o.min_us);
        self.max_us = self.max_us.max(o.max_us);
    }

    /// The distribution of these values over their non-empty `buckets` (index order):
    /// exact min, max and mean, percentiles from the buckets clamped to min and max.
    /// `None` without values.
    pub(crate) fn stats(
        &self,
        layout: &BucketLayout,
        buckets: impl Iterator<Item = (usize, u64)>,
    ) -> Option<LatencyStats> {
        if self.count == 0 {
            return None;
        }
        let [p50, p75, p90, p95, p99] = quantiles(
            layout,
            [0.5, 0.75, 0.9, 0.95, 0.99],
            (self.count, self.min_us, self.max_us),
            buckets,
        );
        let us = std::time::Duration::from_micros;
        Some(LatencyStats {
            min: us(self.min_us),
            mean: us(self.sum_us / self.count),
            p50: us(p50),
            p75: us(p75),
            p90: us(p90),
            p95: us(p95),
            p99: us(p99),
            max: us(self.max_us),
        })
    }
}

/// Values at the given quantiles (ascending), in microseconds, of `n` values between
/// `min` and `max` whose non-empty buckets (index order) are `buckets`.
fn quantiles<const N: usize>(
    layout: &BucketLayout,
    qs: [f64; N],
    (n, min, max): (u64, u64, u64),
    buckets: impl Iterator<Item = (usize, u64)>,
) -> [u64; N] {
    let mut out = [0; N];
    if n == 0 {
        return out;
    }
    let mut seen = 0u64;
    let mut k = 0;
    for (i, c) in buckets {
        seen += c;
        while k < N && seen >= rank(qs[k], n) {
            // Not `clamp`: counters from outside (an unvalidated snapshot) may hold
            // min > max, and a query must not panic on them.
            out[k] = layout.highest_value(i).max(min).min(max);
            k += 1;
        }
    }
    // Only reachable if bucket counts disagree with the total; stay within bounds.
    out[k..].iter_mut().for_each(|v| *v = max);
    out
}

/// Counts per latency bucket in a dense array, with the range in use, so that clearing
/// and scanning touch only that range. Open cells count in `u32`, queries in `u64`.
#[derive(Debug, Clone)]
pub(crate) struct Dense<T> {
    counts: Box<[T]>,
    lo: usize,
    hi: usize,
}

impl<T: Copy + Default + PartialEq + Into<u64> + std::ops::AddAssign> Dense<T> {
    /// Whether nothing was counted since the last clear.
    pub(crate) fn is_clear(&self) -> bool {
        self.lo == usize::MAX
    }

    pub(crate) fn new(buckets: usize) -> Self {
        Self {
            counts: vec![T::default(); buckets].into_boxed_slice(),
            lo: usize::MAX,
            hi: 0,
        }
    }

    #[inline]
    pub(crate) fn add(&mut self, index: usize, count: T) {
        self.counts[index] += count;
        self.lo = self.lo.min(index);
        self.hi = self.hi.max(index);
    }

    /// The non-empty buckets, in index order.
    pub(crate) fn buckets(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        let range = if self.lo == usize::MAX {
            0..0
        } else {
            self.lo..self.hi + 1
        };
        range.filter_map(|i| {
            let c = self.counts[i];
            (c != T::default()).then(|| (i, c.into()))
        })
    }

    /// Empties the array, touching only the range in use.
    pub(crate) fn clear(&mut self) {
        if self.lo != usize::MAX {
            self.counts[self.lo..=self.hi].fill(T::default());
        }
        self.lo = usize::MAX;
        self.hi = 0;
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.counts.len() * std::mem::size_of::<T>()
    }

    /// Buckets in the layout.
    pub(crate) fn len(&self) -> usize {
        self.counts.len()
    }
}

impl Dense<u32> {
    /// Adds every count of `other`.
    pub(crate) fn add_dense(&mut self, other: &Dense<u32>) {
        for (i, c) in other.buckets() {
            // `other`'s counts are `u32`s themselves.
            self.add(i, c as u32);
        }
    }
}

impl Dense<u64> {
    pub(crate) fn add_all(&mut self, buckets: impl Iterator<Item = (usize, u64)>) {
        for (i, c) in buckets {
            self.add(i, c);
        }
    }
}

/// One streamed selection's timings, converted: `(µs, bucket)` of the time to first
/// token, and of the time per output token when more than one token came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StreamEvent {
    pub ttft: (u64, usize),
    pub tpot: Option<(u64, usize)>,
}

impl StreamEvent {
    /// The timings of a selection that took `latency_us` in all, first token after
    /// `ttft_us`, with `output_tokens` out (`None` when not reported).
    #[inline]
    pub(crate) fn new(
        layout: &BucketLayout,
        latency_us: u64,
        ttft_us: u64,
        output_tokens: Option<u64>,
    ) -> Self {
        // An integer division: one instruction, about as fast as a double one on
        // current cores, where converting to and from `f64` costs ten.
        let tpot = output_tokens.filter(|&n| n > 1).map(|n| {
            let us = (latency_us - ttft_us) / (n - 1);
            (us, layout.index(us))
        });
        Self {
            ttft: (ttft_us, layout.index(ttft_us)),
            tpot,
        }
    }
}

/// One timing in an open cell: exact count, sum, minimum and maximum, and counts per
/// bucket. The bucket range in use moves with the minimum and maximum (a smaller value
/// never lands in a higher bucket), so one predictable branch per end tracks both,
/// where separate `min` and range updates would cost four conditional moves.
#[derive(Debug)]
pub(crate) struct OpenTiming {
    pub timing: Timing,
    lo: usize,
    hi: usize,
    counts: Box<[u32]>,
}

impl OpenTiming {
    fn new(buckets: usize) -> Self {
        Self {
            timing: Timing::default(),
            lo: 0,
            hi: 0,
            counts: vec![0; buckets].into_boxed_slice(),
        }
    }

    #[inline]
    fn add(&mut self, (us, bucket): (u64, usize)) {
        let t = &mut self.timing;
        if us < t.min_us {
            t.min_us = us;
            self.lo = bucket;
        }
        // `max_us` starts at 0 and `hi` at bucket 0, which is the bucket of 0.
        if us > t.max_us {
            t.max_us = us;
            self.hi = bucket;
        }
        t.count += 1;
        t.sum_us = t.sum_us.saturating_add(us);
        self.counts[bucket] += 1;
    }

    /// The non-empty buckets, in index order.
    pub(crate) fn buckets(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        let range = if self.timing.count == 0 {
            0..0
        } else {
            self.lo..self.hi + 1
        };
        range
            .filter(|&i| self.counts[i] != 0)
            .map(|i| (i, u64::from(self.counts[i])))
    }

    fn clear(&mut self) {
        if self.timing.count > 0 {
            self.counts[self.lo..=self.hi].fill(0);
        }
        self.timing = Timing::default();
        (self.lo, self.hi) = (0, 0);
    }
}

/// The streaming part of an open cell.
#[derive(Debug)]
pub(crate) struct OpenStreams {
    pub ttft: OpenTiming,
    pub tpot: OpenTiming,
}

impl OpenStreams {
    pub(crate) fn new(buckets: usize) -> Self {
        Self {
            ttft: OpenTiming::new(buckets),
            tpot: OpenTiming::new(buckets),
        }
    }

    #[inline]
    pub(crate) fn add(&mut self, e: &StreamEvent) {
        self.ttft.add(e.ttft);
        if let Some(tpot) = e.tpot {
            self.tpot.add(tpot);
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.ttft.timing.count == 0
    }

    pub(crate) fn clear(&mut self) {
        self.ttft.clear();
        self.tpot.clear();
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        (self.ttft.counts.len() + self.tpot.counts.len()) * std::mem::size_of::<u32>()
    }
}

/// The streaming part of a stored bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct StreamAgg {
    pub ttft: Timing,
    pub tpot: Timing,
    pub ttft_counts: CompactCounts,
    pub tpot_counts: CompactCounts,
}

impl StreamAgg {
    pub(crate) fn from_open(o: &OpenStreams) -> Self {
        Self {
            ttft: o.ttft.timing,
            tpot: o.tpot.timing,
            ttft_counts: CompactCounts::from_sorted(o.ttft.buckets()),
            tpot_counts: CompactCounts::from_sorted(o.tpot.buckets()),
        }
    }

    pub(crate) fn merge(&mut self, o: &StreamAgg) {
        self.ttft.merge(&o.ttft);
        self.tpot.merge(&o.tpot);
        self.ttft_counts.merge(&o.ttft_counts);
        self.tpot_counts.merge(&o.tpot_counts);
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.ttft_counts.heap_bytes() + self.tpot_counts.heap_bytes()
    }
}

/// Merges an optional streaming part into another, allocating on the first.
pub(crate) fn merge_opt(into: &mut Option<Box<StreamAgg>>, o: Option<&StreamAgg>) {
    if let Some(o) = o {
        match into {
            Some(s) => s.merge(o),
            None => *into = Some(Box::new(o.clone())),
        }
    }
}

/// The streaming part of a query's accumulator.
#[derive(Debug, Clone)]
pub(crate) struct StreamAcc {
    pub ttft: Timing,
    pub tpot: Timing,
    ttft_counts: Dense<u64>,
    tpot_counts: Dense<u64>,
}

impl StreamAcc {
    pub(crate) fn new(buckets: usize) -> Self {
        Self {
            ttft: Timing::default(),
            tpot: Timing::default(),
            ttft_counts: Dense::new(buckets),
            tpot_counts: Dense::new(buckets),
        }
    }

    pub(crate) fn add_stored(&mut self, s: &StreamAgg) {
        self.ttft.merge(&s.ttft);
        self.tpot.merge(&s.tpot);
        self.ttft_counts.add_all(s.ttft_counts.iter());
        self.tpot_counts.add_all(s.tpot_counts.iter());
    }

    pub(crate) fn add_open(&mut self, s: &OpenStreams) {
        self.ttft.merge(&s.ttft.timing);
        self.tpot.merge(&s.tpot.timing);
        self.ttft_counts.add_all(s.ttft.buckets());
        self.tpot_counts.add_all(s.tpot.buckets());
    }

    pub(crate) fn merge(&mut self, o: &StreamAcc) {
        self.ttft.merge(&o.ttft);
        self.tpot.merge(&o.tpot);
        self.ttft_counts.add_all(o.ttft_counts.buckets());
        self.tpot_counts.add_all(o.tpot_counts.buckets());
    }

    pub(crate) fn clear(&mut self) {
        self.ttft = Timing::default();
        self.tpot = Timing::default();
        self.ttft_counts.clear();
        self.tpot_counts.clear();
    }

    /// Time to first token and time per output token.
    pub(crate) fn stats(
        &self,
        layout: &BucketLayout,
    ) -> (Option<LatencyStats>, Option<LatencyStats>) {
        (
            self.ttft.stats(layout, self.ttft_counts.buckets()),
            self.tpot.stats(layout, self.tpot_counts.buckets()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> BucketLayout {
        BucketLayout::new(1, 3_600_000_000, 2).unwrap()
    }

    #[test]
    fn time_per_output_token_is_the_time_after_the_first_over_the_rest() {
        let l = layout();
        let e = StreamEvent::new(&l, 2_000_000, 400_000, Some(101));
        assert_eq!(e.tpot.unwrap().0, 16_000);
        assert_eq!(StreamEvent::new(&l, 9, 4, Some(1)).tpot, None);
        assert_eq!(StreamEvent::new(&l, 9, 4, None).tpot, None);
    }

    #[test]
    fn open_sealed_and_queried_parts_agree() {
        let l = layout();
        let mut open = OpenStreams::new(l.len());
        for ms in 1..=100u64 {
            open.add(&StreamEvent::new(&l, ms * 10_000, ms * 1_000, Some(10)));
        }
        let mut sealed = StreamAgg::from_open(&open);
        sealed.merge(&StreamAgg::from_open(&open));
        let mut acc = StreamAcc::new(l.len());
        acc.add_stored(&sealed);
        let (ttft, tpot) = acc.stats(&l);
        let ttft = ttft.unwrap();
        assert_eq!(acc.ttft.count, 200);
        assert_eq!(ttft.min.as_millis(), 1);
        assert_eq!(ttft.max.as_millis(), 100);
        let p95 = ttft.p95.as_micros() as f64;
        assert!((p95 / 95_000.0 - 1.0).abs() <= 0.01, "{p95}");
        assert_eq!(tpot.unwrap().max.as_micros(), 100_000);
        open.clear();
        assert!(open.is_empty() && open.ttft.buckets().next().is_none());
    }
}
