//! [`MinuteBucket`]: one model's sealed minute, as exporters receive it.

use crate::tokens::TokenUsage;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use serde::ser::{SerializeSeq, Serializer};

use crate::aggregate::{Aggregate, COST_SCALE, RATIO_SCALE};
use crate::hdr::{BucketLayout, CompactCounts};
use crate::summary::{ser_ms, ser_time};

/// One model's selections during one minute, sealed.
///
/// Buckets are deltas: if events for a minute arrive after it was sealed (a late replay
/// with [`Selection::at`](crate::Selection::at)), a second bucket with the same `model`
/// and `start` carries just those events. Summing every bucket an exporter receives
/// therefore gives exact totals.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct MinuteBucket {
    /// The model id.
    pub model: String,
    /// Start of the minute.
    #[serde(serialize_with = "ser_time")]
    pub start: SystemTime,
    /// Selections.
    pub count: u64,
    /// Failed selections.
    pub errors: u64,
    /// Selections served from cache.
    pub cache_hits: u64,
    /// Total spend in US dollars.
    pub cost_usd: f64,
    /// Selections that reported a cost.
    pub cost_count: u64,
    /// Sum of reported accuracies.
    pub accuracy_sum: f64,
    /// Selections that reported an accuracy.
    pub accuracy_count: u64,
    /// Sum of reported satisfactions.
    pub satisfaction_sum: f64,
    /// Selections that reported a satisfaction.
    pub satisfaction_count: u64,
    /// Sum of reported complexities.
    pub complexity_sum: f64,
    /// Selections that reported a complexity.
    pub complexity_count: u64,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Selections by token-usage bucket (OpenTelemetry GenAI bounds), for the
    /// selections that reported tokens.
    pub token_usage: TokenUsage,
    /// The fastest selection, exact (zero in an empty bucket).
    #[serde(serialize_with = "ser_ms")]
    pub latency_min: Duration,
    /// The slowest selection, exact.
    #[serde(serialize_with = "ser_ms")]
    pub latency_max: Duration,
    /// Exact sum of latencies (for the mean).
    #[serde(serialize_with = "ser_ms")]
    pub latency_sum: Duration,
    /// Latency distribution in microseconds, bounds as configured.
    #[serde(serialize_with = "ser_histogram")]
    pub latency: hdrhistogram::Histogram<u64>,
    /// The same distribution as the store keeps it, for rules that learn from sealed
    /// minutes without walking a 26 KiB histogram.
    #[serde(skip)]
    compact: CompactCounts,
    /// Spend in nano-dollars, exact, so cumulative counters never step back.
    #[serde(skip)]
    cost_nano_usd: u64,
}

impl MinuteBucket {
    pub(crate) fn new(
        model: &str,
        start: SystemTime,
        agg: &Aggregate,
        token_usage: TokenUsage,
        layout: &BucketLayout,
    ) -> Self {
        let t = &agg.totals;
        let mut latency = layout.empty_histogram();
        for (index, count) in agg.latency.iter() {
            // The bucket's lowest value maps back to the same bucket; see `crate::hdr`.
            latency.saturating_record_n(layout.lowest_value(index), count);
        }
        let ratio = |s: u64| s as f64 / RATIO_SCALE;
        Self {
            model: model.to_owned(),
            start,
            count: t.count,
            errors: t.errors,
            cache_hits: t.cache_hits,
            cost_usd: t.cost.sum as f64 / COST_SCALE,
            cost_count: t.cost.count,
            accuracy_sum: ratio(t.accuracy.sum),
            accuracy_count: t.accuracy.count,
            satisfaction_sum: ratio(t.satisfaction.sum),
            satisfaction_count: t.satisfaction.count,
            complexity_sum: ratio(t.complexity.sum),
            complexity_count: t.complexity.count,
            input_tokens: t.input_tokens,
            output_tokens: t.output_tokens,
            token_usage,
            latency_min: Duration::from_micros(if t.count == 0 { 0 } else { t.latency_min_us }),
            latency_max: Duration::from_micros(t.latency_max_us),
            latency_sum: Duration::from_micros(t.latency_sum_us),
            latency,
            compact: agg.latency.clone(),
            cost_nano_usd: t.cost.sum,
        }
    }

    /// Spend in nano-dollars, as summed.
    pub(crate) fn cost_nano_usd(&self) -> u64 {
        self.cost_nano_usd
    }

    /// The latency buckets in the crate's layout (see `crate::hdr`).
    pub(crate) fn compact(&self) -> &CompactCounts {
        &self.compact
    }

    /// Selections slower than `line`, to the histogram's resolution: the bucket that
    /// holds `line` itself (values within 1% of it with the default 2 significant
    /// digits) does not count as slower.
    ///
    /// ```
    /// # use modelmeter::{ExportBatch, ExportError, Exporter};
    /// # use std::time::Duration;
    /// struct SlowMinutes;
    /// impl Exporter for SlowMinutes {
    ///     fn export(&mut self, batch: &ExportBatch) -> Result<(), ExportError> {
    ///         for b in &batch.buckets {
    ///             let slow = b.count_slower_than(Duration::from_secs(3));
    ///             println!("{}: {slow} of {} slower than 3 s", b.model, b.count);
    ///         }
    ///         Ok(())
    ///     }
    /// }
    /// ```
    pub fn count_slower_than(&self, line: Duration) -> u64 {
        let h = &self.latency;
        let us = u64::try_from(line.as_micros()).unwrap_or(u64::MAX);
        if h.is_empty() || us >= h.max() {
            return 0;
        }
        let from = h.next_non_equivalent(us);
        if from > h.high() {
            return 0;
        }
        h.count_between(from, h.high())
    }
}

/// Serializes a histogram as `[[value_us, count], ...]` over its non-empty buckets, each
/// value being the lowest of its bucket.
fn ser_histogram<S: Serializer>(h: &hdrhistogram::Histogram<u64>, s: S) -> Result<S::Ok, S::Error> {
    let recorded: Vec<_> = h
        .iter_recorded()
        .map(|v| {
            (
                h.lowest_equivalent(v.value_iterated_to()),
                v.count_at_value(),
            )
        })
        .collect();
    let mut seq = s.serialize_seq(Some(recorded.len()))?;
    for pair in recorded {
        seq.serialize_element(&pair)?;
    }
    seq.end()
}
