//! [`MinuteBucket`]: one model's sealed minute, as exporters receive it.

use crate::tokens::TokenUsage;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::aggregate::{Aggregate, COST_SCALE, RATIO_SCALE};
use crate::failure::ErrorKind;
use crate::hdr::{BucketLayout, CompactCounts};
use crate::histogram::LatencyHistogram;
use crate::stream::Timing;
use crate::summary::{de_ms, de_time, ser_ms, ser_time};

/// One model's selections during one minute, sealed.
///
/// Buckets are deltas: if events for a minute arrive after it was sealed (a late replay
/// with [`Selection::at`](crate::Selection::at)), a second bucket with the same `model`
/// and `start` carries just those events. Summing every bucket an exporter receives
/// therefore gives exact totals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MinuteBucket {
    /// The model id.
    pub model: String,
    /// Start of the minute.
    #[serde(serialize_with = "ser_time", deserialize_with = "de_time")]
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
    /// Of the input tokens, those served from the provider's prompt cache.
    #[serde(default)]
    pub cached_input_tokens: u64,
    /// Of the output tokens, those spent reasoning.
    #[serde(default)]
    pub reasoning_tokens: u64,
    /// Selections by token-usage bucket (OpenTelemetry GenAI bounds), for the
    /// selections that reported tokens.
    pub token_usage: TokenUsage,
    /// The fastest selection, exact (zero in an empty bucket).
    #[serde(serialize_with = "ser_ms", deserialize_with = "de_ms")]
    pub latency_min: Duration,
    /// The slowest selection, exact.
    #[serde(serialize_with = "ser_ms", deserialize_with = "de_ms")]
    pub latency_max: Duration,
    /// Exact sum of latencies (for the mean).
    #[serde(serialize_with = "ser_ms", deserialize_with = "de_ms")]
    pub latency_sum: Duration,
    /// The latency distribution, in the configured HDR buckets.
    pub latency: LatencyHistogram,
    /// Failed selections per kind (kinds without failures left out); they sum to
    /// `errors`.
    #[serde(default)]
    pub errors_by_kind: BTreeMap<ErrorKind, u64>,
    /// Retries before the recorded outcomes, summed.
    #[serde(default)]
    pub retries: u64,
    /// Selections that fell back from another model.
    #[serde(default)]
    pub fallbacks: u64,
    /// Streamed selections.
    #[serde(default)]
    pub streaming: u64,
    /// Time to first token of the streamed selections that reported one.
    #[serde(default)]
    pub time_to_first_token: Option<TimingDistribution>,
    /// Time per output token after the first.
    #[serde(default)]
    pub time_per_output_token: Option<TimingDistribution>,
    /// Feedback reports added late ([`Monitor::record_feedback`](crate::Monitor::record_feedback));
    /// their accuracy and satisfaction are in the sums above.
    #[serde(default)]
    pub feedback: u64,
    /// Named feedback scores, by name.
    #[serde(default)]
    pub scores: BTreeMap<String, ScoreSum>,
}

/// One timing's values in a bucket: exact count, sum, minimum and maximum, and the
/// distribution in the configured HDR buckets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TimingDistribution {
    /// Values.
    pub count: u64,
    /// Exact sum.
    #[serde(serialize_with = "ser_ms", deserialize_with = "de_ms")]
    pub sum: Duration,
    /// Smallest value, exact.
    #[serde(serialize_with = "ser_ms", deserialize_with = "de_ms")]
    pub min: Duration,
    /// Largest value, exact.
    #[serde(serialize_with = "ser_ms", deserialize_with = "de_ms")]
    pub max: Duration,
    /// The distribution.
    pub histogram: LatencyHistogram,
}

impl TimingDistribution {
    fn new(t: &Timing, counts: &CompactCounts, layout: &BucketLayout) -> Option<Self> {
        (t.count > 0).then(|| Self {
            count: t.count,
            sum: Duration::from_micros(t.sum_us),
            min: Duration::from_micros(t.min_us),
            max: Duration::from_micros(t.max_us),
            histogram: LatencyHistogram::new(layout, counts.clone()),
        })
    }
}

/// A named score's sum and the number of feedback reports in it.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ScoreSum {
    /// Sum of the values.
    pub sum: f64,
    /// Reports that carried the score.
    pub count: u64,
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
            cached_input_tokens: t.cached_input_tokens,
            reasoning_tokens: t.reasoning_tokens,
            token_usage,
            latency_min: Duration::from_micros(if t.count == 0 { 0 } else { t.latency_min_us }),
            latency_max: Duration::from_micros(t.latency_max_us),
            latency_sum: Duration::from_micros(t.latency_sum_us),
            latency: LatencyHistogram::new(layout, agg.latency.clone()),
            errors_by_kind: t.error_kinds.to_map(),
            retries: t.retries,
            fallbacks: t.fallbacks,
            streaming: t.streaming,
            time_to_first_token: agg
                .stream
                .as_ref()
                .and_then(|s| TimingDistribution::new(&s.ttft, &s.ttft_counts, layout)),
            time_per_output_token: agg
                .stream
                .as_ref()
                .and_then(|s| TimingDistribution::new(&s.tpot, &s.tpot_counts, layout)),
            feedback: t.feedback,
            scores: agg
                .scores
                .0
                .iter()
                .map(|(n, s)| {
                    (
                        n.to_string(),
                        ScoreSum {
                            sum: ratio(s.sum),
                            count: s.count,
                        },
                    )
                })
                .collect(),
        }
    }

    /// Spend in nano-dollars, as summed: `cost_usd` holds the exact sum divided by
    /// 10⁹, which rounds back exactly below 2⁵⁰ nano-dollars (a million dollars a minute).
    pub(crate) fn cost_nano_usd(&self) -> u64 {
        (self.cost_usd * COST_SCALE).round() as u64
    }

    /// The latency buckets in the crate's layout (see `crate::hdr`).
    pub(crate) fn compact(&self) -> &CompactCounts {
        self.latency.compact()
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
        self.latency.count_slower_than(line)
    }
}
