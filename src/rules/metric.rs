//! What a [`Metric`] reads off a window's [`Stats`], and the Wilson interval rules
//! judge rates with.

pub use crate::config::Metric;
use crate::summary::Stats;

impl Metric {
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
            TimeToFirstTokenP95 => ms(stats.time_to_first_token?.p95),
            TimePerOutputTokenP95 => ms(stats.time_per_output_token?.p95),
        })
    }

    /// How many selections the value rests on: the `min_samples` gate counts these.
    pub fn samples(self, stats: &Stats) -> u64 {
        match self {
            Metric::SelectionAccuracy => stats.accuracy_samples,
            Metric::Satisfaction => stats.satisfaction_samples,
            Metric::CostPerSelection | Metric::CostEfficiency => stats.cost_samples,
            Metric::TimeToFirstTokenP95 => stats.time_to_first_token_samples,
            Metric::TimePerOutputTokenP95 => stats.time_per_output_token_samples,
            _ => stats.count,
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
