//! The counters every bucket carries, at every stage from open cell to week tier.
//!
//! Sums are kept as integers in fixed point (cost in nano-dollars, ratios in millionths)
//! so that merging is exactly associative and commutative: a day equals the sum of its
//! minutes to the last unit, whatever order the pieces were added in.

use crate::hdr::CompactCounts;
use crate::selection::Selection;

/// Nano-dollars per dollar.
pub(crate) const COST_SCALE: f64 = 1e9;
/// Millionths per unit for complexity, accuracy and satisfaction.
pub(crate) const RATIO_SCALE: f64 = 1e6;

#[inline]
fn fixed(v: f64, scale: f64) -> u64 {
    // Inputs are validated non-negative; adding 0.5 rounds to nearest without a libm call.
    (v * scale + 0.5) as u64
}

/// One validated selection, converted to the units buckets store.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Event {
    pub latency_us: u64,
    pub bucket: usize,
    pub error: bool,
    pub cache_hit: bool,
    pub cost: Option<u64>,
    pub complexity: Option<u64>,
    pub accuracy: Option<u64>,
    pub satisfaction: Option<u64>,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

impl Event {
    #[inline]
    pub(crate) fn new(s: &Selection<'_>, layout: &crate::hdr::BucketLayout) -> Self {
        let latency_us = u64::try_from(s.latency.as_micros()).unwrap_or(u64::MAX);
        Self {
            latency_us,
            bucket: layout.index(latency_us),
            error: s.error,
            cache_hit: s.cache_hit,
            cost: s.cost_usd.map(|v| fixed(v, COST_SCALE)),
            complexity: s.complexity.map(|v| fixed(v, RATIO_SCALE)),
            accuracy: s.accuracy.map(|v| fixed(v, RATIO_SCALE)),
            satisfaction: s.satisfaction.map(|v| fixed(v, RATIO_SCALE)),
            input_tokens: s.input_tokens,
            output_tokens: s.output_tokens,
        }
    }
}

/// A sum and the number of values in it, for optional fields whose mean is absent when
/// no selection carried them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SumCount {
    pub sum: u64,
    pub count: u64,
}

impl SumCount {
    #[inline]
    fn add(&mut self, v: Option<u64>) {
        if let Some(v) = v {
            self.sum = self.sum.saturating_add(v);
            self.count += 1;
        }
    }

    fn merge(&mut self, o: &SumCount) {
        self.sum = self.sum.saturating_add(o.sum);
        self.count += o.count;
    }

    /// The mean in natural units, or `None` without values.
    pub(crate) fn mean(&self, scale: f64) -> Option<f64> {
        (self.count > 0).then(|| self.sum as f64 / scale / self.count as f64)
    }
}

/// Exact counters of a set of selections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Totals {
    pub count: u64,
    pub errors: u64,
    pub cache_hits: u64,
    pub cost: SumCount,
    pub latency_sum_us: u64,
    pub latency_min_us: u64,
    pub latency_max_us: u64,
    pub complexity: SumCount,
    pub accuracy: SumCount,
    pub satisfaction: SumCount,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

impl Default for Totals {
    fn default() -> Self {
        Self {
            count: 0,
            errors: 0,
            cache_hits: 0,
            cost: SumCount::default(),
            latency_sum_us: 0,
            latency_min_us: u64::MAX,
            latency_max_us: 0,
            complexity: SumCount::default(),
            accuracy: SumCount::default(),
            satisfaction: SumCount::default(),
            input_tokens: 0,
            output_tokens: 0,
        }
    }
}

impl Totals {
    #[inline]
    pub(crate) fn add(&mut self, e: &Event) {
        self.count += 1;
        self.errors += u64::from(e.error);
        self.cache_hits += u64::from(e.cache_hit);
        self.cost.add(e.cost);
        self.latency_sum_us = self.latency_sum_us.saturating_add(e.latency_us);
        self.latency_min_us = self.latency_min_us.min(e.latency_us);
        self.latency_max_us = self.latency_max_us.max(e.latency_us);
        self.complexity.add(e.complexity);
        self.accuracy.add(e.accuracy);
        self.satisfaction.add(e.satisfaction);
        self.input_tokens = self.input_tokens.saturating_add(e.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(e.output_tokens);
    }

    pub(crate) fn merge(&mut self, o: &Totals) {
        self.count += o.count;
        self.errors += o.errors;
        self.cache_hits += o.cache_hits;
        self.cost.merge(&o.cost);
        self.latency_sum_us = self.latency_sum_us.saturating_add(o.latency_sum_us);
        self.latency_min_us = self.latency_min_us.min(o.latency_min_us);
        self.latency_max_us = self.latency_max_us.max(o.latency_max_us);
        self.complexity.merge(&o.complexity);
        self.accuracy.merge(&o.accuracy);
        self.satisfaction.merge(&o.satisfaction);
        self.input_tokens = self.input_tokens.saturating_add(o.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(o.output_tokens);
    }

    /// Total cost in dollars.
    pub(crate) fn cost_usd(&self) -> f64 {
        self.cost.sum as f64 / COST_SCALE
    }
}

/// A sealed, mergeable bucket: counters plus the compact latency distribution.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Aggregate {
    pub totals: Totals,
    pub latency: CompactCounts,
}

impl Aggregate {
    pub(crate) fn merge(&mut self, o: &Aggregate) {
        self.totals.merge(&o.totals);
        self.latency.merge(&o.latency);
    }

    /// Approximate heap plus inline bytes, for `Health::bytes_retained`.
    pub(crate) fn footprint(&self) -> usize {
        std::mem::size_of::<Self>() + self.latency.heap_bytes()
    }
}
