//! The counters every bucket carries, at every stage from open cell to week tier.
//!
//! Sums are kept as integers in fixed point (cost in nano-dollars, ratios in millionths)
//! so that merging is exactly associative and commutative: a day equals the sum of its
//! minutes to the last unit, whatever order the pieces were added in.

use crate::error::RecordError;
use crate::failure::KindCounts;
use crate::hdr::{BucketLayout, CompactCounts};
use crate::selection::{MAX_COST_USD, Marks, Selection};
use crate::stream::{StreamAgg, StreamEvent};

/// Nano-dollars per dollar.
pub(crate) const COST_SCALE: f64 = 1e9;
/// Millionths per unit for complexity, accuracy and satisfaction.
pub(crate) const RATIO_SCALE: f64 = 1e6;

#[inline]
pub(crate) fn fixed(v: f64, scale: f64) -> u64 {
    // Inputs are validated and bounded, so going through i64 (one instruction on x86-64,
    // unlike u64) is exact; adding 0.5 rounds to nearest without a libm call.
    (v * scale + 0.5) as i64 as u64
}

/// Validates an optional ratio and converts it to millionths: `(value, present)`.
#[inline]
pub(crate) fn ratio(
    v: Option<f64>,
    err: fn(f64) -> RecordError,
) -> Result<(u64, u64), RecordError> {
    match v {
        None => Ok((0, 0)),
        Some(v) if (0.0..=1.0).contains(&v) => Ok((fixed(v, RATIO_SCALE), 1)),
        Some(v) => Err(err(v)),
    }
}

/// One validated selection, converted to the units buckets store. Optional fields are
/// `(value, present)` pairs so that adding them needs no branch.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Event {
    pub latency_us: u64,
    pub bucket: usize,
    pub error: bool,
    pub cache_hit: bool,
    pub cost: (u64, u64),
    pub complexity: (u64, u64),
    pub accuracy: (u64, u64),
    pub satisfaction: (u64, u64),
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cached_input_tokens: u64,
    pub reasoning_tokens: u64,
    /// The token-usage bucket of the input and the output count
    /// ([`crate::tokens::slot`]), when the selection reported tokens.
    pub token_slots: Option<(u8, u8)>,
    /// Retries, error kind, fallback and streaming, packed as the selection holds them.
    pub marks: Marks,
    /// The time to first token in µs, [`NO_TTFT`] without one: a word, not the whole
    /// [`StreamEvent`], so that moving an `Event` stays cheap; the recorder derives the
    /// rest ([`Event::stream`]) next to where it is added.
    pub ttft_us: u64,
}

/// [`Event::ttft_us`] of a selection without a time to first token.
pub(crate) const NO_TTFT: u64 = u64::MAX;

impl Event {
    /// Validates every field that does not depend on time and converts the selection,
    /// in one pass.
    #[inline]
    pub(crate) fn from_selection(
        s: &Selection<'_>,
        layout: &BucketLayout,
    ) -> Result<Self, RecordError> {
        s.check_model()?;
        let cost = match s.cost_usd {
            None => (0, 0),
            // The range check also refuses NaN; the upper bound keeps fixed-point sums exact.
            Some(v) if (0.0..=MAX_COST_USD).contains(&v) => (fixed(v, COST_SCALE), 1),
            Some(value) => return Err(RecordError::InvalidCost { value }),
        };
        let complexity = ratio(s.complexity, |value| RecordError::InvalidComplexity {
            value,
        })?;
        let accuracy = ratio(s.accuracy, |value| RecordError::InvalidAccuracy { value })?;
        let satisfaction = ratio(s.satisfaction, |value| RecordError::InvalidSatisfaction {
            value,
        })?;
        if s.cached_input_tokens > s.input_tokens || s.reasoning_tokens > s.output_tokens {
            return Err(RecordError::InvalidTokens {
                input: s.input_tokens,
                cached_input: s.cached_input_tokens,
                output: s.output_tokens,
                reasoning: s.reasoning_tokens,
            });
        }
        let latency_us = micros(s.latency);
        let ttft_us = match s.time_to_first_token {
            None => NO_TTFT,
            Some(ttft) => {
                if ttft > s.latency {
                    return Err(RecordError::TimeToFirstTokenAfterEnd {
                        ttft,
                        latency: s.latency,
                    });
                }
                // Saturating like the latency, so `ttft_us <= latency_us` holds; one
                // below the sentinel, so a saturated time still counts as streamed.
                micros(ttft).min(NO_TTFT - 1)
            }
        };
        Ok(Self {
            latency_us,
            bucket: layout.index(latency_us),
            error: s.error,
            cache_hit: s.cache_hit,
            cost,
            complexity,
            accuracy,
            satisfaction,
            input_tokens: s.input_tokens,
            output_tokens: s.output_tokens,
            cached_input_tokens: s.cached_input_tokens,
            reasoning_tokens: s.reasoning_tokens,
            token_slots: s.tokens_reported.then(|| {
                (
                    crate::tokens::slot(s.input_tokens),
                    crate::tokens::slot(s.output_tokens),
                )
            }),
            marks: match s.tags.requested_model() {
                // Served by another model than the one asked for: a fallback.
                Some(r) if r != s.model => s.marks.with_flag(Marks::FALLBACK, true),
                _ => s.marks,
            },
            ttft_us,
        })
    }

    /// The streaming timings of a selection with a time to first token.
    #[inline]
    pub(crate) fn stream(&self, layout: &BucketLayout) -> Option<StreamEvent> {
        (self.ttft_us != NO_TTFT).then(|| {
            StreamEvent::new(
                layout,
                self.latency_us,
                self.ttft_us,
                self.token_slots.map(|_| self.output_tokens),
            )
        })
    }
}

/// Whole microseconds, saturating.
#[inline]
fn micros(d: std::time::Duration) -> u64 {
    d.as_secs()
        .saturating_mul(1_000_000)
        .saturating_add(u64::from(d.subsec_micros()))
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
    pub(crate) fn add(&mut self, (value, present): (u64, u64)) {
        self.sum = self.sum.saturating_add(value);
        self.count += present;
    }

    pub(crate) fn merge(&mut self, o: &SumCount) {
        // Saturating: merged values may come from a store or a snapshot.
        self.sum = self.sum.saturating_add(o.sum);
        self.count = self.count.saturating_add(o.count);
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
    /// Of the input tokens, those served from the provider's prompt cache.
    pub cached_input_tokens: u64,
    /// Of the output tokens, those spent reasoning.
    pub reasoning_tokens: u64,
    /// Cost of the cache hits alone, so hits and misses can be priced apart.
    pub hit_cost: SumCount,
    /// Latency sum of the cache hits alone.
    pub hit_latency_sum_us: u64,
    /// Failed selections per kind; they sum to `errors`.
    pub error_kinds: KindCounts,
    /// Retries the router made before the recorded outcomes, summed.
    pub retries: u64,
    /// Selections the router fell back to from another model.
    pub fallbacks: u64,
    /// Streamed selections.
    pub streaming: u64,
    /// Feedback reports added after the selections were recorded
    /// ([`crate::feedback`]); they count no selection.
    pub feedback: u64,
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
            cached_input_tokens: 0,
            reasoning_tokens: 0,
            hit_cost: SumCount::default(),
            hit_latency_sum_us: 0,
            error_kinds: KindCounts::default(),
            retries: 0,
            fallbacks: 0,
            streaming: 0,
            feedback: 0,
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
        self.cached_input_tokens = self
            .cached_input_tokens
            .saturating_add(e.cached_input_tokens);
        self.reasoning_tokens = self.reasoning_tokens.saturating_add(e.reasoning_tokens);
        let hit = u64::from(e.cache_hit);
        self.hit_cost.add((e.cost.0 * hit, e.cost.1 * hit));
        self.hit_latency_sum_us = self.hit_latency_sum_us.saturating_add(e.latency_us * hit);
        // One predictable branch: most selections succeed without retries, fallback
        // or stream, and skip these adds.
        if e.error || e.marks != Marks::PLAIN {
            self.add_marks(e);
        }
    }

    #[inline]
    fn add_marks(&mut self, e: &Event) {
        let m = e.marks;
        if e.error {
            self.error_kinds.0[m.kind_slot()] += 1;
        }
        self.retries = self.retries.saturating_add(u64::from(m.retries()));
        self.fallbacks += u64::from(m.fallback());
        self.streaming += u64::from(m.streaming());
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
        self.cached_input_tokens = self
            .cached_input_tokens
            .saturating_add(o.cached_input_tokens);
        self.reasoning_tokens = self.reasoning_tokens.saturating_add(o.reasoning_tokens);
        self.hit_cost.merge(&o.hit_cost);
        self.hit_latency_sum_us = self.hit_latency_sum_us.saturating_add(o.hit_latency_sum_us);
        self.error_kinds.merge(&o.error_kinds);
        self.retries = self.retries.saturating_add(o.retries);
        self.fallbacks = self.fallbacks.saturating_add(o.fallbacks);
        self.streaming = self.streaming.saturating_add(o.streaming);
        self.feedback = self.feedback.saturating_add(o.feedback);
    }

    /// Total cost in dollars.
    pub(crate) fn cost_usd(&self) -> f64 {
        self.cost.sum as f64 / COST_SCALE
    }
}

/// A sealed, mergeable bucket: counters plus the compact latency distribution, and the
/// streaming timings when any selection in it was streamed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Aggregate {
    pub totals: Totals,
    pub latency: CompactCounts,
    pub stream: Option<Box<StreamAgg>>,
    /// Named feedback scores ([`crate::feedback`]), by name.
    pub scores: crate::feedback::Scores,
}

impl Aggregate {
    pub(crate) fn merge(&mut self, o: &Aggregate) {
        self.totals.merge(&o.totals);
        self.latency.merge(&o.latency);
        crate::stream::merge_opt(&mut self.stream, o.stream.as_deref());
        self.scores.merge(&o.scores);
    }

    /// Approximate heap plus inline bytes, for `Health::bytes_retained`.
    pub(crate) fn footprint(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.latency.heap_bytes()
            + self.stream.as_ref().map_or(0, |s| s.heap_bytes())
            + self.scores.heap_bytes()
    }
}
