//! [`HealthScore`]: one number from 0 to 100 for how the KPIs stand.

use serde::{Deserialize, Serialize};

use crate::config::{Config, Kpi};
use crate::summary::Stats;

/// How one KPI scored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KpiScore {
    /// The KPI's name in the configuration (`responseTime`, `errorRate`, ...).
    pub kpi: String,
    /// The value observed (p95 in ms for response time).
    pub value: f64,
    /// Its target.
    pub target: f64,
    /// Its critical line.
    pub critical: f64,
    /// 0 to 100.
    pub score: f64,
}

/// The health score: the mean of the per-KPI scores of the KPIs that have data.
///
/// Each KPI scores `100 × clamp((critical − value) / (critical − target), 0, 1)`:
/// 100 at or better than its target, 0 at or past its critical line, linear in
/// between (the formula works for both directions, since `critical − target` carries
/// the sign). Response time is judged on p95 in milliseconds. A KPI without data
/// (accuracy never reported, cost efficiency with one model) is left out rather than
/// scored; with no KPI at all the score is absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthScore {
    /// 0 (everything critical) to 100 (everything on target); `None` without data.
    pub score: Option<f64>,
    /// The KPIs that went into it.
    pub components: Vec<KpiScore>,
}

impl HealthScore {
    /// Scores `stats` against the configured KPIs.
    pub fn from_stats(stats: &Stats, config: &Config) -> Self {
        let k = &config.performance_metrics;
        let candidates: [(&str, &Kpi, Option<f64>); 5] = [
            (
                "responseTime",
                &k.response_time,
                (stats.count > 0).then_some(stats.latency.p95.as_secs_f64() * 1000.0),
            ),
            (
                "selectionAccuracy",
                &k.selection_accuracy,
                stats.mean_accuracy,
            ),
            (
                "cacheHitRate",
                &k.cache_hit_rate,
                (stats.count > 0).then_some(stats.cache_hit_rate),
            ),
            ("costEfficiency", &k.cost_efficiency, stats.cost_efficiency),
            (
                "errorRate",
                &k.error_rate,
                (stats.count > 0).then_some(stats.error_rate),
            ),
        ];
        let components: Vec<KpiScore> = candidates
            .into_iter()
            .filter_map(|(name, kpi, value)| {
                let value = value?;
                let span = kpi.critical - kpi.target;
                let score = if span == 0.0 {
                    if (value - kpi.target) * 1.0 <= 0.0 {
                        100.0
                    } else {
                        0.0
                    }
                } else {
                    100.0 * ((kpi.critical - value) / span).clamp(0.0, 1.0)
                };
                Some(KpiScore {
                    kpi: name.to_owned(),
                    value,
                    target: kpi.target,
                    critical: kpi.critical,
                    score,
                })
            })
            .collect();
        let score = (!components.is_empty())
            .then(|| components.iter().map(|c| c.score).sum::<f64>() / components.len() as f64);
        Self { score, components }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn scores_follow_the_formula_in_both_directions() {
        let mut s = Stats {
            count: 100,
            error_rate: 0.06,     // target 0.02, critical 0.10: halfway -> 50
            cache_hit_rate: 0.95, // better than target -> 100
            ..Stats::default()
        };
        s.latency.p95 = Duration::from_millis(6000); // past critical -> 0
        s.mean_accuracy = Some(0.90); // target .95, critical .85 -> 50
        let h = HealthScore::from_stats(&s, &Config::default());
        let by: std::collections::HashMap<_, _> = h
            .components
            .iter()
            .map(|c| (c.kpi.as_str(), c.score))
            .collect();
        assert_eq!(by["responseTime"], 0.0);
        assert_eq!(by["cacheHitRate"], 100.0);
        assert!((by["errorRate"] - 50.0).abs() < 1e-9);
        assert!((by["selectionAccuracy"] - 50.0).abs() < 1e-9);
        assert!(!by.contains_key("costEfficiency"));
        assert!((h.score.unwrap() - 50.0).abs() < 1e-9);
        assert_eq!(
            HealthScore::from_stats(&Stats::default(), &Config::default()).score,
            None
        );
    }
}
