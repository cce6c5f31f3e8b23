//! [`Metric`]: what a rule can judge, read off a window's [`Stats`].

use serde::{Deserialize, Serialize};

use crate::config::Direction;
use crate::summary::Stats;

/// A statistic of a window that rules judge.
///
/// Latencies are in milliseconds, rates and scores in `0..=1`, cost in US dollars,
/// throughput in selections per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Metric {
    /// Mean latency.
    MeanLatency,
    /// Median latency.
    LatencyP50,
    /// 90th percentile latency.
    LatencyP90,
    /// 95th percentile latency.
    LatencyP95,
    /// 99th percentile latency.
    LatencyP99,
    /// Failed selections over all selections.
    ErrorRate,
    /// Cache hits over all selections.
    CacheHitRate,
    /// Mean selection accuracy, over the selections that carried one.
    SelectionAccuracy,
    /// [`Stats::cost_efficiency`].
    CostEfficiency,
    /// Mean cost of the selections that carried a cost.
    CostPerSelection,
    /// Selections per second.
    Throughput,
    /// Mean user satisfaction, over the selections that carried one.
    Satisfaction,
}

impl Metric {
    /// Which way the metric gets worse when no direction is given.
    pub fn default_direction(self) -> Direction {
        use Metric::*;
        match self {
            MeanLatency | LatencyP50 | LatencyP90 | LatencyP95 | LatencyP99 | ErrorRate
            | CostPerSelection => Direction::HigherIsWorse,
            CacheHitRate | SelectionAccuracy | CostEfficiency | Throughput | Satisfaction => {
                Direction::LowerIsWorse
            }
        }
    }

    /// Whether the metric is a latency.
    pub fn is_latency(self) -> bool {
        use Metric::*;
        matches!(
            self,
            MeanLatency | LatencyP50 | LatencyP90 | LatencyP95 | LatencyP99
        )
    }

    /// The quantile a latency percentile metric stands for (`0.95` for
    /// [`LatencyP95`](Metric::LatencyP95)); `None` for every other metric.
    pub fn quantile(self) -> Option<f64> {
        match self {
            Metric::LatencyP50 => Some(0.5),
            Metric::LatencyP90 => Some(0.9),
            Metric::LatencyP95 => Some(0.95),
            Metric::LatencyP99 => Some(0.99),
            _ => None,
        }
    }

    /// The metric's value in `stats`, or `None` where it is absent (no selection
    /// carried the field, or cost efficiency cannot be computed).
    pub fn value(self, stats: &Stats) -> Option<f64> {
        use Metric::*;
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
        let l = &stats.latency;
        if stats.count == 0 {
            return None;
        }
        Some(match self {
            MeanLatency => ms(l.mean),
            LatencyP50 => ms(l.p50),
            LatencyP90 => ms(l.p90),
            LatencyP95 => ms(l.p95),
            LatencyP99 => ms(l.p99),
            ErrorRate => stats.error_rate,
            CacheHitRate => stats.cache_hit_rate,
            SelectionAccuracy => stats.mean_accuracy?,
            CostEfficiency => stats.cost_efficiency?,
            CostPerSelection => stats.mean_cost_usd?,
            Throughput => stats.throughput_per_sec,
            Satisfaction => stats.mean_satisfaction?,
        })
    }

    /// How many selections the value rests on: the `min_samples` gate counts these.
    pub fn samples(self, stats: &Stats) -> u64 {
        match self {
            Metric::SelectionAccuracy => stats.accuracy_samples,
            Metric::Satisfaction => stats.satisfaction_samples,
            Metric::CostPerSelection | Metric::CostEfficiency => stats.cost_samples,
            _ => stats.count,
        }
    }

    /// Whether the value is a proportion of `samples` in `0..=1`, whose breach is judged
    /// with a Wilson bound instead of the point value.
    pub fn is_rate(self) -> bool {
        matches!(
            self,
            Metric::ErrorRate
                | Metric::CacheHitRate
                | Metric::SelectionAccuracy
                | Metric::Satisfaction
        )
    }

    /// A short human name for messages.
    pub fn label(self) -> &'static str {
        use Metric::*;
        match self {
            MeanLatency => "mean latency",
            LatencyP50 => "p50 latency",
            LatencyP90 => "p90 latency",
            LatencyP95 => "p95 latency",
            LatencyP99 => "p99 latency",
            ErrorRate => "error rate",
            CacheHitRate => "cache hit rate",
            SelectionAccuracy => "selection accuracy",
            CostEfficiency => "cost efficiency",
            CostPerSelection => "cost per selection",
            Throughput => "throughput",
            Satisfaction => "satisfaction",
        }
    }

    /// Formats a value of this metric with its unit.
    pub fn format(self, v: f64) -> String {
        use Metric::*;
        // Rules format their messages at every tick for every breaching scope: fixed
        // decimals through integers avoid the exact float formatter's slow path.
        if !v.is_finite() || v.abs() >= 1e12 {
            return format!("{v}");
        }
        match self {
            MeanLatency | LatencyP50 | LatencyP90 | LatencyP95 | LatencyP99 => {
                format!("{} ms", v.round() as i64)
            }
            ErrorRate | CacheHitRate | SelectionAccuracy | CostEfficiency | Satisfaction => {
                let tenths = (v * 1000.0).round() as i64;
                let sign = if tenths < 0 { "-" } else { "" };
                let t = tenths.unsigned_abs();
                format!("{sign}{}.{}%", t / 10, t % 10)
            }
            CostPerSelection => format!("${v:.4}"),
            Throughput => format!("{v:.2}/s"),
        }
    }
}

/// The Wilson score interval of `p` observed over `n` trials, at z-score `z`.
///
/// Unlike the normal approximation it stays inside `0..=1` and is honest at small `n`
/// and at rates near 0 or 1, which is where alerting on rates goes wrong.
pub fn wilson_interval(p: f64, n: u64, z: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let n = n as f64;
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let center = (p + z2 / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
    ((center - half).max(0.0), (center + half).min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_keeps_few_errors_quiet_and_many_loud() {
        // Two errors in thirty: 6.7% observed, but credibly above 5%? No.
        let (lo, _) = wilson_interval(2.0 / 30.0, 30, 1.645);
        assert!(lo < 0.05, "{lo}");
        // 20% over 500 selections: credibly above the 10% critical line.
        let (lo, _) = wilson_interval(0.2, 500, 1.645);
        assert!(lo > 0.10, "{lo}");
        // Matches the textbook value for p = 0.5, n = 100, z = 1.96.
        let (lo, hi) = wilson_interval(0.5, 100, 1.96);
        assert!((lo - 0.4038).abs() < 1e-3 && (hi - 0.5962).abs() < 1e-3);
    }

    #[test]
    fn values_format_with_fixed_decimals() {
        assert_eq!(Metric::ErrorRate.format(0.0754), "7.5%");
        assert_eq!(Metric::ErrorRate.format(0.05), "5.0%");
        assert_eq!(Metric::CostEfficiency.format(-0.0123), "-1.2%");
        assert_eq!(Metric::CostEfficiency.format(-0.0004), "0.0%");
        assert_eq!(Metric::LatencyP95.format(2999.6), "3000 ms");
        assert_eq!(Metric::LatencyP95.format(f64::NAN), "NaN");
    }

    #[test]
    fn absent_fields_give_no_value() {
        let s = Stats {
            count: 10,
            ..Stats::default()
        };
        assert_eq!(Metric::SelectionAccuracy.value(&s), None);
        assert_eq!(Metric::CostEfficiency.value(&s), None);
        assert_eq!(Metric::ErrorRate.value(&s), Some(0.0));
        assert_eq!(Metric::ErrorRate.value(&Stats::default()), None);
    }
}
