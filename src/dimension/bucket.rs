//! [`DimensionBucket`]: one dimension value's sealed minute, as exporters receive it.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::DimAgg;
use crate::aggregate::COST_SCALE;
use crate::hdr::BucketLayout;
use crate::histogram::LatencyHistogram;
use crate::summary::{de_ms, de_time, ser_ms, ser_time};

/// The selections with one value of one dimension during one minute, sealed: for
/// example everything team `search` recorded, across models.
///
/// As with [`MinuteBucket`](crate::MinuteBucket), buckets are deltas: a late replay
/// adds a second bucket for the same dimension, value and minute, and summing every
/// bucket received gives exact totals. Each selection is counted once in each
/// dimension it set, so the buckets of one dimension sum to the selections that set it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DimensionBucket {
    /// The dimension's key: `provider`, `operation`, `requested_model` or a declared
    /// attribute.
    pub dimension: String,
    /// The value; `__other__` for the values past the dimension's cap.
    pub value: String,
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
    /// Selections that carried a cost (reported or priced).
    pub cost_count: u64,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Of the input tokens, those served from the provider's prompt cache.
    pub cached_input_tokens: u64,
    /// Of the output tokens, those spent reasoning.
    pub reasoning_tokens: u64,
    /// Selections served by another model than the one requested, or marked
    /// [`fallback`](crate::Selection::fallback).
    pub fallbacks: u64,
    /// The fastest selection, exact.
    #[serde(serialize_with = "ser_ms", deserialize_with = "de_ms")]
    pub latency_min: Duration,
    /// The slowest selection, exact.
    #[serde(serialize_with = "ser_ms", deserialize_with = "de_ms")]
    pub latency_max: Duration,
    /// Exact sum of latencies (for the mean).
    #[serde(serialize_with = "ser_ms", deserialize_with = "de_ms")]
    pub latency_sum: Duration,
    /// The latency distribution, for the dimensions that keep one (`provider`).
    pub latency: Option<LatencyHistogram>,
}

impl DimensionBucket {
    pub(crate) fn new(
        (dimension, value): (&str, &str),
        start: SystemTime,
        agg: &DimAgg,
        layout: Option<&BucketLayout>,
    ) -> Self {
        let t = &agg.totals;
        Self {
            dimension: dimension.to_owned(),
            value: value.to_owned(),
            start,
            count: t.count,
            errors: t.errors,
            cache_hits: t.cache_hits,
            cost_usd: t.cost.sum as f64 / COST_SCALE,
            cost_count: t.cost.count,
            input_tokens: t.input_tokens,
            output_tokens: t.output_tokens,
            cached_input_tokens: t.cached_input_tokens,
            reasoning_tokens: t.reasoning_tokens,
            fallbacks: t.fallbacks,
            latency_min: Duration::from_micros(if t.count == 0 { 0 } else { t.latency_min_us }),
            latency_max: Duration::from_micros(t.latency_max_us),
            latency_sum: Duration::from_micros(t.latency_sum_us),
            latency: layout.map(|l| LatencyHistogram::new(l, agg.latency.clone())),
        }
    }
}
