//! What queries return: [`Summary`], [`Stats`] and [`LatencyStats`].
//!
//! Durations serialize as floating-point milliseconds, times as milliseconds since the
//! Unix epoch, so the JSON reads naturally in dashboards; both read back (times at
//! millisecond resolution), so a saved summary can serve as a baseline.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::aggregate::{RATIO_SCALE, Totals};
use crate::failure::ErrorKind;
use crate::feedback::Scores;
use crate::hdr::BucketLayout;
use crate::stream::{Dense, StreamAcc, Timing};

pub(crate) fn ser_ms<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1000.0)
}

/// Reads what [`ser_ms`] wrote, to the nearest nanosecond.
pub(crate) fn de_ms<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let ms = f64::deserialize(d)?;
    if !ms.is_finite() || ms < 0.0 {
        return Err(serde::de::Error::custom(format!(
            "duration {ms} ms must be finite and >= 0"
        )));
    }
    Ok(Duration::from_nanos((ms * 1e6).round() as u64))
}

/// As [`ser_ms`], for an optional duration (`null` when absent).
pub(crate) fn ser_opt_ms<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => ser_ms(d, s),
        None => s.serialize_none(),
    }
}

/// Reads what [`ser_opt_ms`] wrote.
pub(crate) fn de_opt_ms<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    #[derive(Deserialize)]
    struct Ms(#[serde(deserialize_with = "de_ms")] Duration);
    Ok(Option::<Ms>::deserialize(d)?.map(|m| m.0))
}

/// Reads what [`ser_time`] wrote.
pub(crate) fn de_time<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
    let ms = u64::deserialize(d)?;
    Ok(crate::clock::from_unix_nanos(ms.saturating_mul(1_000_000)))
}

pub(crate) fn ser_time<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(crate::clock::to_unix_nanos(*t) / 1_000_000)
}

/// Latency distribution of a set of selections.
///
/// `min`, `max` and `mean` are exact; the percentiles come from the HDR buckets and are
/// within the configured relative error (1% with the default 2 significant digits) of
/// the exact percentile, never below `min` nor above `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LatencyStats {
    /// Fastest selection.
    #[serde(serialize_with = "ser_ms", deserialize_with = "de_ms")]
    pub min: Duration,
    /// Arithmetic mean.
    #[serde(serialize_with = "ser_ms", deserialize_with = "de_ms")]
    pub mean: Duration,
    /// Median.
    #[serde(serialize_with = "ser_ms", deserialize_with = "de_ms")]
    pub p50: Duration,
    /// 75th percentile.
    #[serde(serialize_with = "ser_ms", deserialize_with = "de_ms")]
    pub p75: Duration,
    /// 90th percentile.
    #[serde(serialize_with = "ser_ms", deserialize_with = "de_ms")]
    pub p90: Duration,
    /// 95th percentile.
    #[serde(serialize_with = "ser_ms", deserialize_with = "de_ms")]
    pub p95: Duration,
    /// 99th percentile.
    #[serde(serialize_with = "ser_ms", deserialize_with = "de_ms")]
    pub p99: Duration,
    /// Slowest selection.
    #[serde(serialize_with = "ser_ms", deserialize_with = "de_ms")]
    pub max: Duration,
}

/// Everything known about a set of selections: one model, or all of them.
///
/// Optional means (`mean_cost_usd`, `mean_complexity`, `mean_accuracy`,
/// `mean_satisfaction`) are `None` when no selection in the set carried that field: an
/// absent value, not a zero.
///
/// `Stats` gains fields as the crate learns more about selections, so it is
/// `#[non_exhaustive]`: read it, deserialize it, or start from `Stats::default()`; a
/// struct literal does not compile outside the crate.
///
/// ```compile_fail
/// let s = modelmeter::Stats { count: 1, ..Default::default() };
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Stats {
    /// Selections.
    pub count: u64,
    /// Failed selections.
    pub errors: u64,
    /// Selections served from cache.
    pub cache_hits: u64,
    /// `errors / count` (0 when empty).
    pub error_rate: f64,
    /// `cache_hits / count` (0 when empty).
    pub cache_hit_rate: f64,
    /// Selections per second over the covered span.
    pub throughput_per_sec: f64,
    /// Total spend in US dollars (resolution: one nano-dollar).
    pub cost_usd: f64,
    /// Mean cost of the selections that reported a cost.
    pub mean_cost_usd: Option<f64>,
    /// Latency distribution.
    pub latency: LatencyStats,
    /// Mean task complexity.
    pub mean_complexity: Option<f64>,
    /// Mean selection accuracy.
    pub mean_accuracy: Option<f64>,
    /// Mean user satisfaction.
    pub mean_satisfaction: Option<f64>,
    /// Selections that carried an accuracy value.
    pub accuracy_samples: u64,
    /// Selections that carried a satisfaction value.
    pub satisfaction_samples: u64,
    /// Selections that carried a cost.
    pub cost_samples: u64,
    /// Share of spend avoided against sending every selection to the reference model at
    /// its observed mean cost per selection: `1 - cost / (cost_samples * reference mean)`.
    ///
    /// The reference model is `cost.referenceModel` when configured and present in the
    /// window, else the model with the highest mean cost per selection. `None` (absent,
    /// not zero) when fewer than two models reported a cost in the window, or the
    /// reference's mean cost is zero. The reference model itself scores 0.
    pub cost_efficiency: Option<f64>,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Of the input tokens, those served from the provider's prompt cache
    /// ([`Selection::cached_input_tokens`](crate::Selection::cached_input_tokens)).
    pub cached_input_tokens: u64,
    /// Of the output tokens, those spent reasoning
    /// ([`Selection::reasoning_tokens`](crate::Selection::reasoning_tokens)).
    pub reasoning_tokens: u64,
    /// Mean cost of the cache hits that reported a cost.
    pub cache_hit_mean_cost_usd: Option<f64>,
    /// Mean cost of the cache misses that reported a cost.
    pub cache_miss_mean_cost_usd: Option<f64>,
    /// Mean latency of the cache hits, in milliseconds (absent without hits).
    pub cache_hit_mean_latency_ms: Option<f64>,
    /// Mean latency of the cache misses, in milliseconds (absent without misses).
    pub cache_miss_mean_latency_ms: Option<f64>,
    /// Failed selections per kind (kinds without failures left out); they sum to
    /// `errors`. See [`Stats::error_rate_of`].
    pub errors_by_kind: BTreeMap<ErrorKind, u64>,
    /// Retries the router made before the recorded outcomes, summed
    /// ([`Selection::retries`](crate::Selection::retries)).
    pub retries: u64,
    /// Selections the router fell back to from another model.
    pub fallbacks: u64,
    /// Streamed selections.
    pub streaming: u64,
    /// Time to first token of the streamed selections that reported one; `None`
    /// without any.
    pub time_to_first_token: Option<LatencyStats>,
    /// Time per output token after the first, of the streamed selections that reported
    /// a time to first token and more than one output token; `None` without any.
    pub time_per_output_token: Option<LatencyStats>,
    /// Selections behind [`time_to_first_token`](Stats::time_to_first_token).
    pub time_to_first_token_samples: u64,
    /// Selections behind [`time_per_output_token`](Stats::time_per_output_token).
    pub time_per_output_token_samples: u64,
    /// Feedback reports added after their selections were recorded
    /// ([`Monitor::record_feedback`](crate::Monitor::record_feedback)).
    pub feedback_samples: u64,
    /// Named feedback scores, by name.
    pub scores: BTreeMap<String, ScoreStats>,
    /// True where no latency distribution is kept: the values of `operation`,
    /// `requested_model` and the declared attributes
    /// ([`Monitor::summary_by`](crate::Monitor::summary_by)), whose `latency.p50` to
    /// `latency.p99` are then zero while `min`, `mean` and `max` stay exact. False for
    /// models, the overview and providers.
    pub latency_percentiles_absent: bool,
}

impl Stats {
    /// Zeroes the percentiles of a set whose latency distribution is not kept.
    pub(crate) fn drop_latency_percentiles(&mut self) {
        let l = &mut self.latency;
        (l.p50, l.p75, l.p90, l.p95, l.p99) = Default::default();
        self.latency_percentiles_absent = true;
    }
}

/// The mean of one named feedback score.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ScoreStats {
    /// Mean value, `0..=1`.
    pub mean: f64,
    /// Feedback reports that carried this score.
    pub samples: u64,
}

/// The answer to [`Monitor::summary`](crate::Monitor::summary).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Summary {
    /// The window asked for.
    #[serde(serialize_with = "ser_ms", deserialize_with = "de_ms")]
    pub window: Duration,
    /// Start of the span actually covered: the start of the minute the window begins
    /// in, or earlier where only a coarser tier still holds that part (see
    /// [`Monitor::summary`](crate::Monitor::summary)).
    #[serde(serialize_with = "ser_time", deserialize_with = "de_time")]
    pub start: SystemTime,
    /// End of the span: the time of the query.
    #[serde(serialize_with = "ser_time", deserialize_with = "de_time")]
    pub end: SystemTime,
    /// All models together.
    pub overview: Stats,
    /// Per model, by id.
    pub models: BTreeMap<String, Stats>,
}

impl Stats {
    /// The share of selections that failed with `kind` (0 when empty).
    pub fn error_rate_of(&self, kind: ErrorKind) -> f64 {
        match self.count {
            0 => 0.0,
            n => self.errors_by_kind.get(&kind).copied().unwrap_or(0) as f64 / n as f64,
        }
    }

    /// Sets [`cost_efficiency`](Stats::cost_efficiency) for a reference mean cost.
    fn rate_against(&mut self, reference_mean: f64) {
        self.cost_efficiency = (reference_mean > 0.0 && self.cost_samples > 0)
            .then(|| 1.0 - self.cost_usd / (self.cost_samples as f64 * reference_mean));
    }
}

impl Summary {
    /// The model cost efficiency is judged against and its mean cost per selection:
    /// `configured` when it reported a cost in the window, else the costliest model
    /// per selection. `None` with fewer than two priced models, or a zero reference.
    pub fn reference_model(&self, configured: Option<&str>) -> Option<(&str, f64)> {
        let priced = || {
            self.models
                .iter()
                .filter_map(|(k, s)| Some((k.as_str(), s.mean_cost_usd?)))
        };
        if priced().count() < 2 {
            return None;
        }
        let found = configured
            .and_then(|r| {
                Some((
                    self.models.get_key_value(r)?.0.as_str(),
                    self.models.get(r)?.mean_cost_usd?,
                ))
            })
            .or_else(|| priced().max_by(|a, b| a.1.total_cmp(&b.1).then_with(|| b.0.cmp(a.0))))?;
        (found.1 > 0.0).then_some(found)
    }

    /// Fills in cost efficiency for the overview and every model, against
    /// `reference` when it is in the window, else the costliest model per selection.
    pub(crate) fn rate_cost_efficiency(&mut self, reference: Option<&str>) {
        let Some((_, reference_mean)) = self.reference_model(reference) else {
            return;
        };
        self.overview.rate_against(reference_mean);
        for s in self.models.values_mut() {
            s.rate_against(reference_mean);
        }
    }
}

/// Counters plus a dense latency array, filled by a query; the streaming timings and
/// named scores when the window holds any.
#[derive(Debug, Clone)]
pub(crate) struct WindowAcc {
    pub totals: Totals,
    dense: Dense<u64>,
    /// Allocated at the first streamed bucket and kept, cleared, across models.
    stream: Option<Box<StreamAcc>>,
    has_stream: bool,
    pub scores: Scores,
}

impl WindowAcc {
    pub(crate) fn new(buckets: usize) -> Self {
        Self {
            totals: Totals::default(),
            dense: Dense::new(buckets),
            stream: None,
            has_stream: false,
            scores: Scores::default(),
        }
    }

    pub(crate) fn add_buckets(&mut self, buckets: impl Iterator<Item = (usize, u64)>) {
        self.dense.add_all(buckets);
    }

    fn stream_mut(&mut self) -> &mut StreamAcc {
        self.has_stream = true;
        let buckets = self.dense.len();
        self.stream
            .get_or_insert_with(|| Box::new(StreamAcc::new(buckets)))
    }

    /// Adds a stored bucket.
    pub(crate) fn add_stored(&mut self, agg: &crate::aggregate::Aggregate) {
        self.totals.merge(&agg.totals);
        self.add_buckets(agg.latency.iter());
        if let Some(s) = &agg.stream {
            self.stream_mut().add_stored(s);
        }
        if !agg.scores.is_empty() {
            self.scores.merge(&agg.scores);
        }
    }

    /// Adds an open cell.
    pub(crate) fn add_open(&mut self, cell: &crate::accumulate::OpenCell) {
        self.totals.merge(&cell.totals);
        self.add_buckets(cell.buckets());
        if let Some(s) = cell.stream() {
            self.stream_mut().add_open(s);
        }
        if !cell.scores.is_empty() {
            self.scores.merge(&cell.scores);
        }
    }

    pub(crate) fn merge(&mut self, o: &WindowAcc) {
        self.merge_counters(o);
        self.dense.add_all(o.dense.buckets());
    }

    /// Merges everything but the latency buckets (a caller that already extracted
    /// them adds them itself).
    pub(crate) fn merge_counters(&mut self, o: &WindowAcc) {
        self.totals.merge(&o.totals);
        if let Some(s) = o.stream() {
            self.stream_mut().merge(s);
        }
        self.scores.merge(&o.scores);
    }

    /// The streaming part, when the window held a streamed selection.
    pub(crate) fn stream(&self) -> Option<&StreamAcc> {
        self.stream.as_deref().filter(|_| self.has_stream)
    }

    /// Empties the accumulator, touching only the buckets that were used.
    pub(crate) fn clear(&mut self) {
        self.dense.clear();
        if self.has_stream {
            if let Some(s) = &mut self.stream {
                s.clear();
            }
            self.has_stream = false;
        }
        self.scores.clear();
        self.totals = Totals::default();
    }

    /// The non-empty buckets, in index order.
    pub(crate) fn buckets(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        self.dense.buckets()
    }

    pub(crate) fn stats(&self, layout: &BucketLayout, span: Duration) -> Stats {
        self.stats_over(layout, span, self.buckets())
    }

    /// As [`Self::stats`], over this accumulator's non-empty `buckets`, already
    /// extracted (a query that also needs them scans the dense array once).
    pub(crate) fn stats_over(
        &self,
        layout: &BucketLayout,
        span: Duration,
        buckets: impl Iterator<Item = (usize, u64)>,
    ) -> Stats {
        let t = &self.totals;
        if t.count == 0 {
            return Stats::default();
        }
        let n = t.count as f64;
        // The same exact-extremes-and-HDR-percentiles summary as the streaming timings.
        let latency = Timing {
            count: t.count,
            sum_us: t.latency_sum_us,
            min_us: t.latency_min_us,
            max_us: t.latency_max_us,
        }
        .stats(layout, buckets)
        .unwrap_or_default();
        let secs = span.as_secs_f64();
        let (time_to_first_token, time_per_output_token) =
            self.stream().map_or((None, None), |s| s.stats(layout));
        Stats {
            count: t.count,
            errors: t.errors,
            cache_hits: t.cache_hits,
            error_rate: t.errors as f64 / n,
            cache_hit_rate: t.cache_hits as f64 / n,
            throughput_per_sec: if secs > 0.0 { n / secs } else { 0.0 },
            cost_usd: t.cost_usd(),
            mean_cost_usd: t.cost.mean(crate::aggregate::COST_SCALE),
            latency,
            mean_complexity: t.complexity.mean(RATIO_SCALE),
            mean_accuracy: t.accuracy.mean(RATIO_SCALE),
            mean_satisfaction: t.satisfaction.mean(RATIO_SCALE),
            accuracy_samples: t.accuracy.count,
            satisfaction_samples: t.satisfaction.count,
            cost_samples: t.cost.count,
            cost_efficiency: None,
            input_tokens: t.input_tokens,
            output_tokens: t.output_tokens,
            cached_input_tokens: t.cached_input_tokens,
            reasoning_tokens: t.reasoning_tokens,
            cache_hit_mean_cost_usd: t.hit_cost.mean(crate::aggregate::COST_SCALE),
            cache_miss_mean_cost_usd: crate::aggregate::SumCount {
                sum: t.cost.sum.saturating_sub(t.hit_cost.sum),
                count: t.cost.count.saturating_sub(t.hit_cost.count),
            }
            .mean(crate::aggregate::COST_SCALE),
            cache_hit_mean_latency_ms: (t.cache_hits > 0)
                .then(|| t.hit_latency_sum_us as f64 / 1000.0 / t.cache_hits as f64),
            cache_miss_mean_latency_ms: (t.count > t.cache_hits).then(|| {
                t.latency_sum_us.saturating_sub(t.hit_latency_sum_us) as f64
                    / 1000.0
                    / (t.count - t.cache_hits) as f64
            }),
            errors_by_kind: t.error_kinds.to_map(),
            retries: t.retries,
            fallbacks: t.fallbacks,
            streaming: t.streaming,
            time_to_first_token,
            time_per_output_token,
            time_to_first_token_samples: self.stream().map_or(0, |s| s.ttft.count),
            time_per_output_token_samples: self.stream().map_or(0, |s| s.tpot.count),
            feedback_samples: t.feedback,
            scores: self.scores.stats(),
            latency_percentiles_absent: false,
        }
    }
}

/// The 1-based rank of quantile `q` among `n` values, as `hdrhistogram` computes it.
pub(crate) fn rank(q: f64, n: u64) -> u64 {
    ((q * n as f64).ceil() as u64).clamp(1, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_window_has_zero_stats_and_absent_means() {
        let layout = BucketLayout::new(1, 3_600_000_000, 2).unwrap();
        let s = WindowAcc::new(layout.len()).stats(&layout, Duration::from_secs(60));
        assert_eq!(s.count, 0);
        assert_eq!(s.mean_accuracy, None);
        assert_eq!(s.mean_cost_usd, None);
    }

    #[test]
    fn rank_matches_hdrhistogram() {
        assert_eq!(rank(0.5, 10), 5);
        assert_eq!(rank(0.99, 10), 10);
        assert_eq!(rank(0.0, 10), 1);
    }
}
