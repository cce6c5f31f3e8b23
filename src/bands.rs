//! Complexity bands: per-model counters split by the task complexity a selection
//! carried, so the optimizer can compare models on tasks of the same difficulty.
//!
//! Complexity `0..=1` falls into one of [`BANDS`] bands of width 0.1 (1.0 joins the
//! last). Only selections that carry a complexity are counted here; the others cost
//! the hot path one predictable branch.
//!
//! ## Memory
//!
//! Band counters are kept per model and **hour**, not per minute, and only for the
//! hour tier's retention (`recording.hourRetention`, 2 days by default): 10 bands of
//! 80 bytes per model and hour, about 3.8 MB for 100 models that all report
//! complexity. Band queries therefore cover the whole hours their window touches,
//! plus the minutes still open.

use std::collections::{BTreeMap, HashMap};

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::aggregate::{COST_SCALE, Event, RATIO_SCALE, SumCount};
use crate::summary::{de_ms, ser_ms};

/// Number of complexity bands, each 0.1 wide.
pub const BANDS: usize = 10;

/// Counters of the selections of one band.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct BandTotals {
    pub count: u64,
    pub errors: u64,
    pub cache_hits: u64,
    pub cost: SumCount,
    pub accuracy: SumCount,
    pub satisfaction: SumCount,
    pub latency_sum_us: u64,
}

impl BandTotals {
    fn merge(&mut self, o: &BandTotals) {
        self.count += o.count;
        self.errors += o.errors;
        self.cache_hits += o.cache_hits;
        self.cost.merge(&o.cost);
        self.accuracy.merge(&o.accuracy);
        self.satisfaction.merge(&o.satisfaction);
        self.latency_sum_us = self.latency_sum_us.saturating_add(o.latency_sum_us);
    }
}

/// One set of band counters: an open cell's, an hour's, or a query's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Bands {
    pub bands: [BandTotals; BANDS],
}

impl Bands {
    /// Counts `e` in its band, if it carried a complexity.
    #[inline]
    pub(crate) fn add(&mut self, e: &Event) {
        let (millionths, present) = e.complexity;
        if present == 0 {
            return;
        }
        let i = ((millionths / 100_000) as usize).min(BANDS - 1);
        let b = &mut self.bands[i];
        b.count += 1;
        b.errors += u64::from(e.error);
        b.cache_hits += u64::from(e.cache_hit);
        b.cost.add(e.cost);
        b.accuracy.add(e.accuracy);
        b.satisfaction.add(e.satisfaction);
        b.latency_sum_us = b.latency_sum_us.saturating_add(e.latency_us);
    }

    pub(crate) fn merge(&mut self, o: &Bands) {
        for (a, b) in self.bands.iter_mut().zip(&o.bands) {
            a.merge(b);
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.bands.iter().all(|b| b.count == 0)
    }

    /// The non-empty bands as public statistics.
    pub(crate) fn stats(&self) -> Vec<BandStats> {
        self.bands
            .iter()
            .enumerate()
            .filter(|(_, b)| b.count > 0)
            .map(|(i, b)| BandStats::new(i, b))
            .collect()
    }
}

/// What one model did on tasks of one complexity band, from
/// [`AnalysisView::bands`](crate::AnalysisView::bands).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BandStats {
    /// Band index, `0..BANDS`: complexity in `[index / 10, (index + 1) / 10)`.
    pub index: usize,
    /// Lower complexity bound (inclusive).
    pub lower: f64,
    /// Upper complexity bound (exclusive; the last band includes 1.0).
    pub upper: f64,
    /// Selections in the band.
    pub count: u64,
    /// Failed selections.
    pub errors: u64,
    /// `errors / count`.
    pub error_rate: f64,
    /// `cache_hits / count`.
    pub cache_hit_rate: f64,
    /// Spend in the band, US dollars.
    pub cost_usd: f64,
    /// Mean cost of the selections that reported one.
    pub mean_cost_usd: Option<f64>,
    /// Mean accuracy, absent when no selection carried one.
    pub mean_accuracy: Option<f64>,
    /// Selections that carried an accuracy.
    pub accuracy_samples: u64,
    /// Mean satisfaction, absent when no selection carried one.
    pub mean_satisfaction: Option<f64>,
    /// Selections that carried a satisfaction.
    pub satisfaction_samples: u64,
    /// Mean latency.
    #[serde(serialize_with = "ser_ms", deserialize_with = "de_ms")]
    pub mean_latency: Duration,
}

impl BandStats {
    fn new(index: usize, b: &BandTotals) -> Self {
        let n = b.count as f64;
        Self {
            index,
            lower: index as f64 / BANDS as f64,
            upper: (index + 1) as f64 / BANDS as f64,
            count: b.count,
            errors: b.errors,
            error_rate: b.errors as f64 / n,
            cache_hit_rate: b.cache_hits as f64 / n,
            cost_usd: b.cost.sum as f64 / COST_SCALE,
            mean_cost_usd: b.cost.mean(COST_SCALE),
            mean_accuracy: b.accuracy.mean(RATIO_SCALE),
            accuracy_samples: b.accuracy.count,
            mean_satisfaction: b.satisfaction.mean(RATIO_SCALE),
            satisfaction_samples: b.satisfaction.count,
            mean_latency: Duration::from_micros(b.latency_sum_us / b.count),
        }
    }
}

/// Band counters per model and hour (keyed by the hour's first minute).
#[derive(Debug)]
pub(crate) struct BandStore {
    models: HashMap<Arc<str>, BTreeMap<u64, Bands>>,
    /// Retention in minutes.
    retention: u64,
}

impl BandStore {
    pub(crate) fn new(retention_minutes: u64) -> Self {
        Self {
            models: HashMap::new(),
            retention: retention_minutes.max(60),
        }
    }

    pub(crate) fn insert(&mut self, model: &Arc<str>, minute: u64, bands: &Bands) {
        if bands.is_empty() {
            return;
        }
        self.models
            .entry(model.clone())
            .or_default()
            .entry(minute / 60 * 60)
            .or_default()
            .merge(bands);
    }

    /// Drops hours past retention, telling `gone` each (model, hour) dropped.
    pub(crate) fn prune(&mut self, newest_minute: u64, mut gone: impl FnMut(&Arc<str>, u64)) {
        let horizon = newest_minute.saturating_sub(self.retention);
        self.models.retain(|model, hours| {
            while let Some(e) = hours.first_entry() {
                if *e.key() + 60 > horizon {
                    break;
                }
                gone(model, *e.key());
                e.remove();
            }
            !hours.is_empty()
        });
    }

    /// Drops every hour of `model`, telling `gone` each.
    pub(crate) fn forget(&mut self, model: &str, mut gone: impl FnMut(&Arc<str>, u64)) {
        if let Some((name, hours)) = self.models.remove_entry(model) {
            hours.keys().for_each(|hour| gone(&name, *hour));
        }
    }

    #[cfg(feature = "persist")]
    /// The counters of `model` for the hour starting at minute `hour`.
    pub(crate) fn get(&self, model: &str, hour: u64) -> Option<&Bands> {
        self.models.get(model)?.get(&hour)
    }

    #[cfg(feature = "persist")]
    /// Puts back what a store held for `model` and the hour starting at `hour`.
    pub(crate) fn restore(&mut self, model: &Arc<str>, hour: u64, bands: Bands) {
        self.models
            .entry(model.clone())
            .or_default()
            .insert(hour, bands);
    }

    /// Adds into `acc` the bands of `model` for every hour that overlaps minutes
    /// `from..to`.
    pub(crate) fn add_to(&self, model: &str, from: u64, to: u64, acc: &mut Bands) {
        if let Some(hours) = self.models.get(model) {
            hours
                .range(from / 60 * 60..to)
                .for_each(|(_, b)| acc.merge(b));
        }
    }

    pub(crate) fn footprint(&self) -> usize {
        self.models
            .values()
            .map(|h| h.len() * (std::mem::size_of::<Bands>() + 16))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hdr::BucketLayout;
    use crate::selection::Selection;

    fn event(complexity: Option<f64>, accuracy: f64) -> Event {
        let layout = BucketLayout::new(1, 3_600_000_000, 2).unwrap();
        let mut s = Selection::new("m", Duration::from_millis(100))
            .accuracy(accuracy)
            .cost_usd(0.01);
        if let Some(c) = complexity {
            s = s.complexity(c);
        }
        Event::from_selection(&s, &layout).unwrap()
    }

    #[test]
    fn selections_fall_into_their_band_and_one_joins_the_last() {
        let mut b = Bands::default();
        b.add(&event(Some(0.05), 1.0));
        b.add(&event(Some(0.1), 0.0));
        b.add(&event(Some(1.0), 1.0));
        b.add(&event(Some(0.95), 1.0));
        b.add(&event(None, 1.0));
        let s = b.stats();
        assert_eq!(s.len(), 3);
        assert_eq!((s[0].index, s[0].count), (0, 1));
        assert_eq!((s[1].index, s[1].mean_accuracy), (1, Some(0.0)));
        assert_eq!((s[2].index, s[2].count), (9, 2));
        assert_eq!(s[2].mean_cost_usd, Some(0.01));
    }

    #[test]
    fn store_merges_hours_and_prunes() {
        let mut st = BandStore::new(120);
        let m: Arc<str> = "m".into();
        let mut b = Bands::default();
        b.add(&event(Some(0.5), 1.0));
        st.insert(&m, 600, &b);
        st.insert(&m, 659, &b);
        st.insert(&m, 660, &b);
        let count = |st: &BandStore, from, to| {
            let mut acc = Bands::default();
            st.add_to("m", from, to, &mut acc);
            acc.bands[5].count
        };
        assert_eq!(count(&st, 600, 720), 3);
        assert_eq!(count(&st, 660, 720), 1);
        st.prune(800, |_, _| {});
        assert_eq!(count(&st, 0, 1000), 1);
        st.prune(10_000, |_, _| {});
        assert_eq!(count(&st, 0, 100_000), 0);
    }
}
