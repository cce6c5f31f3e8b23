//! The dimension families: per dimension, one family per counter with the dimension's
//! key as the label (`modelmeter_team_selections_total{team="search"}`), and the
//! providers' latency as a histogram. Values are bounded by the dimensions' caps.

use std::collections::BTreeMap;
use std::time::SystemTime;

use super::DURATION_BOUNDS;
use super::encode::{Encoder, Float, HistogramNames, Kind, escape};
use super::series::{LE_SLOTS, le_slot};
use crate::dimension::{DimTotals, DimensionBucket, PROVIDER};

/// Counters by (dimension, value).
pub(crate) type DimSeries = BTreeMap<(String, String), DimCounts>;

/// One dimension value's counters since the monitor started.
#[derive(Debug, Clone, Default)]
pub(crate) struct DimCounts {
    count: u64,
    errors: u64,
    cache_hits: u64,
    fallbacks: u64,
    cost_nano_usd: u64,
    tokens: [u64; 4],
    latency_sum_us: u64,
    /// Selections per duration bucket; providers only.
    le: Option<Box<[u64; LE_SLOTS]>>,
    pub last_seen: Option<SystemTime>,
}

impl DimCounts {
    fn add_totals(&mut self, t: &DimTotals) {
        self.count += t.count;
        self.errors += t.errors;
        self.cache_hits += t.cache_hits;
        self.fallbacks += t.fallbacks;
        self.cost_nano_usd += t.cost.sum;
        let tokens = [
            t.input_tokens,
            t.output_tokens,
            t.cached_input_tokens,
            t.reasoning_tokens,
        ];
        self.tokens
            .iter_mut()
            .zip(tokens)
            .for_each(|(a, b)| *a += b);
        self.latency_sum_us += t.latency_sum_us;
    }

    fn le(&mut self) -> &mut [u64; LE_SLOTS] {
        self.le.get_or_insert_with(|| Box::new([0; LE_SLOTS]))
    }

    /// Adds a sealed bucket.
    pub(crate) fn add_bucket(&mut self, b: &DimensionBucket, at: SystemTime) {
        let us = |d: std::time::Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.count += b.count;
        self.errors += b.errors;
        self.cache_hits += b.cache_hits;
        self.fallbacks += b.fallbacks;
        self.cost_nano_usd += (b.cost_usd * 1e9).round() as u64;
        let tokens = [
            b.input_tokens,
            b.output_tokens,
            b.cached_input_tokens,
            b.reasoning_tokens,
        ];
        self.tokens
            .iter_mut()
            .zip(tokens)
            .for_each(|(a, b)| *a += b);
        self.latency_sum_us += us(b.latency_sum);
        if let Some(h) = &b.latency {
            let le = self.le();
            for v in h.iter() {
                le[le_slot(us(v.high))] += v.count;
            }
        }
        self.last_seen = Some(at);
    }

    /// Adds an open cell's counters for this value.
    pub(crate) fn add_open(&mut self, t: &DimTotals) {
        self.add_totals(t);
    }

    /// Adds an open cell's latency counts for this value (a provider); `slots[i]` is
    /// the duration slot of layout bucket `i`.
    pub(crate) fn add_open_latency(
        &mut self,
        buckets: impl Iterator<Item = (usize, u64)>,
        slots: &[u8],
    ) {
        let le = self.le();
        for (i, n) in buckets {
            le[usize::from(slots[i])] += n;
        }
    }

    fn merge(&mut self, o: &DimCounts) {
        self.add_totals(&DimTotals {
            count: o.count,
            errors: o.errors,
            cache_hits: o.cache_hits,
            fallbacks: o.fallbacks,
            cost: crate::aggregate::SumCount {
                sum: o.cost_nano_usd,
                count: 0,
            },
            input_tokens: o.tokens[0],
            output_tokens: o.tokens[1],
            cached_input_tokens: o.tokens[2],
            reasoning_tokens: o.tokens[3],
            latency_sum_us: o.latency_sum_us,
            ..DimTotals::default()
        });
        if let Some(ole) = &o.le {
            let le = self.le();
            le.iter_mut().zip(ole.iter()).for_each(|(a, b)| *a += b);
        }
    }
}

/// Writes every dimension's families: `sealed` since the start plus `open` (both keyed
/// by (dimension, value)).
pub(crate) fn write(e: &mut Encoder<'_>, sealed: &DimSeries, open: &DimSeries) {
    let mut merged = sealed.clone();
    for (k, c) in open {
        merged.entry(k.clone()).or_default().merge(c);
    }
    let mut by_dim: BTreeMap<&str, Vec<(std::borrow::Cow<'_, str>, &DimCounts)>> = BTreeMap::new();
    for ((dim, value), c) in &merged {
        by_dim.entry(dim).or_default().push((escape(value), c));
    }
    type Counter = (&'static str, &'static str, fn(&DimCounts) -> u64);
    let counters: [Counter; 4] = [
        ("selections_total", "Selections recorded", |c| c.count),
        ("errors_total", "Selections that failed", |c| c.errors),
        ("cache_hits_total", "Selections served from cache", |c| {
            c.cache_hits
        }),
        (
            "fallbacks_total",
            "Selections served by another model than requested",
            |c| c.fallbacks,
        ),
    ];
    for (dim, values) in &by_dim {
        for (suffix, help, get) in counters {
            let name = format!("modelmeter_{dim}_{suffix}");
            e.family(&name, Kind::Counter, &format!("{help}, by {dim}."));
            for (value, c) in values {
                e.sample(&name, &[(dim, value)], get(c));
            }
        }
        let name = format!("modelmeter_{dim}_cost_usd_total");
        e.family(
            &name,
            Kind::Counter,
            &format!("Spend in US dollars, by {dim}."),
        );
        for (value, c) in values {
            e.sample(&name, &[(dim, value)], Float(c.cost_nano_usd as f64 / 1e9));
        }
        let name = format!("modelmeter_{dim}_tokens_total");
        e.family(
            &name,
            Kind::Counter,
            &format!(
                "Tokens by type (cached_input within input, reasoning within output), by {dim}."
            ),
        );
        for (value, c) in values {
            for (kind, n) in ["input", "output", "cached_input", "reasoning"]
                .iter()
                .zip(c.tokens)
            {
                e.sample(&name, &[(dim, value), ("type", kind)], n);
            }
        }
        if *dim == PROVIDER {
            let family = "modelmeter_provider_duration_seconds";
            e.family(
                family,
                Kind::Histogram,
                "Duration of selections, by provider, in seconds.",
            );
            let names = HistogramNames::new(family);
            let les = DURATION_BOUNDS.map(|b| b.to_string());
            for (value, c) in values {
                let empty = [0; LE_SLOTS];
                let le = c.le.as_deref().unwrap_or(&empty);
                let sum = Float(c.latency_sum_us as f64 / 1e6);
                e.histogram(
                    &names,
                    &[(dim, value)],
                    &les,
                    &le[..LE_SLOTS - 1],
                    c.count,
                    sum,
                );
            }
        }
    }
}
