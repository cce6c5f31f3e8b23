//! [`ReportCharts`]: the series behind a report's pictures, per model, which the
//! reports' own tables summarize away (per-model trends, latency distributions, budget
//! burn, the change against the previous period).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::cost::BudgetStatus;
use crate::reports::{ModelComparison, TrendPoint};
use crate::summary::{Stats, Summary, de_ms, de_time, ser_ms, ser_time};

/// Log-spaced latency bins per decade: fine enough to show two modes a factor of two
/// apart, coarse enough that a day of one model is a few dozen bars.
pub const BINS_PER_DECADE: u32 = 4;

/// The per-model series of one report period, in
/// [`Reports::charts`](crate::reports::Reports::charts) and
/// [`ScheduledReport::charts`](crate::reports::ScheduledReport::charts): what the HTML
/// and PDF reports draw.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReportCharts {
    /// The length of one interval of the series (as the reports' trend).
    #[serde(serialize_with = "ser_ms", deserialize_with = "de_ms")]
    pub step: Duration,
    /// All models together, one point per interval: the reports' trend, then the
    /// partial interval after it up to the report's end (so the newest minutes show).
    pub fleet: Vec<TrendPoint>,
    /// Per model with traffic in the period, one point per interval of
    /// [`fleet`](Self::fleet) (an interval without traffic is a point with 0
    /// selections).
    pub models: BTreeMap<String, Vec<TrendPoint>>,
    /// Per model, the latency distribution of the whole period in log-spaced bins
    /// ([`BINS_PER_DECADE`] per decade), from the first to the last non-empty bin.
    pub latency_distributions: BTreeMap<String, Vec<LatencyBin>>,
    /// Per configured budget, the spend so far in its period.
    pub budgets: Vec<BudgetBurn>,
    /// Per model with traffic in both, this period against the previous period of the
    /// same length (`a` is the previous period, `b` this one), or against a saved
    /// baseline after [`Reports::with_baseline`](crate::reports::Reports::with_baseline).
    pub comparisons: BTreeMap<String, ModelComparison>,
}

/// Selections whose latency fell in `[low_ms, high_ms)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LatencyBin {
    /// Lower edge, ms.
    pub low_ms: f64,
    /// Upper edge, ms.
    pub high_ms: f64,
    /// Selections in the bin.
    pub count: u64,
}

/// A budget's spend so far in its period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetBurn {
    /// The budget as it stands at the end of the report (limit, projection, run-out).
    pub status: BudgetStatus,
    /// Cumulative spend since the period began, at the end of each hour (daily budget)
    /// or day (monthly), and at the report's end.
    pub spent: Vec<SpendPoint>,
}

/// Cumulative spend at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SpendPoint {
    /// When.
    #[serde(serialize_with = "ser_time", deserialize_with = "de_time")]
    pub at: SystemTime,
    /// Spend since the period began, US dollars.
    pub cumulative_usd: f64,
}

impl ReportCharts {
    /// Per-model points from consecutive interval summaries, one per interval.
    pub(crate) fn series(trend: &[&Summary]) -> BTreeMap<String, Vec<TrendPoint>> {
        let mut out: BTreeMap<String, Vec<TrendPoint>> = BTreeMap::new();
        for s in trend {
            for name in s.models.keys() {
                out.entry(name.clone()).or_default();
            }
        }
        for (name, points) in &mut out {
            points.extend(
                trend
                    .iter()
                    .map(|s| TrendPoint::of_stats(s.start, s.models.get(name))),
            );
        }
        out
    }

    /// Per model with traffic in both, `previous` against `current`.
    pub(crate) fn compare(
        (label, before): (&str, &BTreeMap<String, Stats>),
        now: &BTreeMap<String, Stats>,
    ) -> BTreeMap<String, ModelComparison> {
        now.iter()
            .filter_map(|(name, stats)| {
                let c = ModelComparison::new(label, before.get(name)?, "this period", stats);
                Some((name.clone(), c))
            })
            .collect()
    }
}

impl crate::reports::Reports {
    /// The reports with each model compared against its figures in a saved
    /// `baseline` instead of the previous period: the HTML and PDF model tables then
    /// show the change since the baseline, labelled with its name.
    ///
    /// ```
    /// use modelmeter::{ManualClock, Monitor, Selection};
    /// use std::time::{Duration, SystemTime};
    ///
    /// let clock = ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_392_000));
    /// let monitor = Monitor::builder().clock(clock.clone()).background(false).build()?;
    /// monitor.record_selection(&Selection::new("gpt-4o", Duration::from_millis(800)))?;
    /// let before = monitor.baseline("before the prompt change", Duration::from_secs(3600));
    /// monitor.record_selection(&Selection::new("gpt-4o", Duration::from_millis(1600)))?;
    /// let reports = monitor.reports(Duration::from_secs(3600)).with_baseline(&before);
    /// let cmp = &reports.charts.comparisons["gpt-4o"];
    /// assert_eq!(cmp.a, "before the prompt change");
    /// assert_eq!(cmp.row("count").unwrap().change_pct, Some(100.0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_baseline(mut self, baseline: &crate::reports::Baseline) -> Self {
        self.charts.comparisons = ReportCharts::compare(
            (&baseline.name, &baseline.summary.models),
            &self.performance.models,
        );
        self
    }
}

/// Log-spaced bins from HDR buckets given as `(low_us, high_us, count)`, each bucket
/// falling in the bin of its midpoint; empty bins between the first and last non-empty
/// ones are kept so the distribution reads as a continuous shape.
pub(crate) fn latency_bins(buckets: impl IntoIterator<Item = (u64, u64, u64)>) -> Vec<LatencyBin> {
    let per = f64::from(BINS_PER_DECADE);
    let mut counts: BTreeMap<i32, u64> = BTreeMap::new();
    for (low, high, count) in buckets {
        if count == 0 {
            continue;
        }
        let mid_ms = ((low + high) as f64 / 2.0 / 1000.0).max(1e-3);
        *counts
            .entry((mid_ms.log10() * per).floor() as i32)
            .or_default() += count;
    }
    let (Some((&first, _)), Some((&last, _))) = (counts.first_key_value(), counts.last_key_value())
    else {
        return Vec::new();
    };
    (first..=last)
        .map(|k| LatencyBin {
            low_ms: 10f64.powf(f64::from(k) / per),
            high_ms: 10f64.powf(f64::from(k + 1) / per),
            count: counts.get(&k).copied().unwrap_or(0),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_hold_every_count_once_and_cover_the_gaps() {
        // 1 ms, 1.1 ms, 100 ms: two non-empty bins two decades apart.
        let bins = latency_bins([(1000, 1000, 3), (1100, 1101, 2), (100_000, 100_100, 5)]);
        assert_eq!(bins.iter().map(|b| b.count).sum::<u64>(), 10);
        assert_eq!(bins.len(), 9, "1 ms to 100 ms is 8 bins and the last one");
        assert_eq!(bins[0].count, 5);
        assert_eq!(bins[8].count, 5);
        for w in bins.windows(2) {
            assert!((w[0].high_ms - w[1].low_ms).abs() < 1e-9);
        }
        assert!(latency_bins([]).is_empty());
    }
}
