//! [`Metric`]: the statistics rules judge, named as the configuration names them.
//!
//! Plain data: the configuration lists metrics (`monitoring.alerting.anomaly.metrics`,
//! `responseTimeMetric`) and the rules read them off a window's statistics
//! ([`Metric::value`]).

use serde::{Deserialize, Serialize};

use super::Direction;

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
    /// [`Stats::cost_efficiency`](crate::Stats::cost_efficiency).
    CostEfficiency,
    /// Mean cost of the selections that carried a cost.
    CostPerSelection,
    /// Selections per second.
    Throughput,
    /// Mean user satisfaction, over the selections that carried one.
    Satisfaction,
    /// 95th percentile time to first token of the streamed selections
    /// ([`Stats::time_to_first_token`](crate::Stats::time_to_first_token)); absent in a
    /// window without them. Judged on the window's value, like the mean latency.
    TimeToFirstTokenP95,
    /// 95th percentile time per output token after the first
    /// ([`Stats::time_per_output_token`](crate::Stats::time_per_output_token)).
    TimePerOutputTokenP95,
}

impl Metric {
    /// Which way the metric gets worse when no direction is given.
    pub fn default_direction(self) -> Direction {
        use Metric::*;
        match self {
            MeanLatency
            | LatencyP50
            | LatencyP90
            | LatencyP95
            | LatencyP99
            | ErrorRate
            | CostPerSelection
            | TimeToFirstTokenP95
            | TimePerOutputTokenP95 => Direction::HigherIsWorse,
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
            TimeToFirstTokenP95 => "p95 time to first token",
            TimePerOutputTokenP95 => "p95 time per output token",
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
            MeanLatency
            | LatencyP50
            | LatencyP90
            | LatencyP95
            | LatencyP99
            | TimeToFirstTokenP95
            | TimePerOutputTokenP95 => {
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

    /// The name used in the configuration and in JSON (`latency_p95`).
    pub fn name(self) -> &'static str {
        use Metric::*;
        match self {
            MeanLatency => "mean_latency",
            LatencyP50 => "latency_p50",
            LatencyP90 => "latency_p90",
            LatencyP95 => "latency_p95",
            LatencyP99 => "latency_p99",
            ErrorRate => "error_rate",
            CacheHitRate => "cache_hit_rate",
            SelectionAccuracy => "selection_accuracy",
            CostEfficiency => "cost_efficiency",
            CostPerSelection => "cost_per_selection",
            Throughput => "throughput",
            Satisfaction => "satisfaction",
            TimeToFirstTokenP95 => "time_to_first_token_p95",
            TimePerOutputTokenP95 => "time_per_output_token_p95",
        }
    }
}

/// The configuration's name, [`Metric::name`].
impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn display_is_the_serde_name() {
        for m in [
            Metric::LatencyP95,
            Metric::CostPerSelection,
            Metric::MeanLatency,
            Metric::TimeToFirstTokenP95,
            Metric::TimePerOutputTokenP95,
        ] {
            assert_eq!(serde_json::to_string(&m).unwrap(), format!("\"{m}\""));
        }
    }
}
