//! The single-window heuristics: slow responses, cache hit rate, cost per selection
//! and error hotspots.

use std::time::Duration;

use super::{AnalysisView, Heuristic, Level, Priority, Recommendation, RecommendationKind};
use crate::rules::wilson_interval;
use crate::summary::{LatencyStats, Stats};

/// z-score of the one-sided 95% bound used for every rate judgement.
pub(crate) const Z: f64 = 1.645;

/// Models with at least `optimizer.minSamples` selections, by id.
pub(crate) fn judged<'v>(view: &'v AnalysisView<'_>) -> impl Iterator<Item = (&'v str, &'v Stats)> {
    let min = view.config.optimizer.min_samples;
    view.summary
        .models
        .iter()
        .filter(move |(_, s)| s.count >= min.max(1))
        .map(|(k, s)| (k.as_str(), s))
}

/// The rest of the fleet without `model`: `(count, errors, cache_hits)`.
fn rest_of_fleet(view: &AnalysisView<'_>, model: &Stats) -> (u64, u64, u64) {
    let o = &view.summary.overview;
    (
        o.count - model.count,
        o.errors - model.errors,
        o.cache_hits - model.cache_hits,
    )
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Share of selections slower than `target`, interpolated linearly between the known
/// percentiles (exact at each of them).
pub(crate) fn share_above(l: &LatencyStats, target: Duration) -> f64 {
    let points = [
        (0.0, l.min),
        (0.5, l.p50),
        (0.75, l.p75),
        (0.9, l.p90),
        (0.95, l.p95),
        (0.99, l.p99),
        (1.0, l.max),
    ];
    if target < l.min {
        return 1.0;
    }
    if target >= l.max {
        return 0.0;
    }
    for w in points.windows(2) {
        let ((q0, v0), (q1, v1)) = (w[0], w[1]);
        if target < v1 {
            let span = v1.saturating_sub(v0).as_secs_f64();
            let frac = if span > 0.0 {
                (target.saturating_sub(v0)).as_secs_f64() / span
            } else {
                1.0
            };
            return 1.0 - (q0 + (q1 - q0) * frac);
        }
    }
    0.0
}

/// More than `optimizer.slowShare` of a model's selections exceed the response-time
/// target; for a model whose selections are mostly streamed, more than that share wait
/// longer than `optimizer.timeToFirstTokenTarget` for the first token (the latency a
/// user of a stream feels; a long answer that starts fast is not slow).
#[derive(Debug, Clone, Copy, Default)]
pub struct SlowResponses;

impl SlowResponses {
    /// The time-to-first-token judgement of a mostly streamed model: `None` for one
    /// that is not, `Some(None)` for one that is and is fast enough.
    fn streamed(
        &self,
        view: &AnalysisView<'_>,
        model: &str,
        s: &Stats,
    ) -> Option<Option<Recommendation>> {
        let ttft = s.time_to_first_token?;
        if s.time_to_first_token_samples * 2 < s.count {
            return None;
        }
        let target_ms = view.config.optimizer.time_to_first_token_target;
        let target = Duration::try_from_secs_f64(target_ms / 1000.0).unwrap_or(Duration::MAX);
        let share = share_above(&ttft, target);
        if share <= view.config.optimizer.slow_share {
            return Some(None);
        }
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        Some(Some(
            Recommendation::new(self.id(), RecommendationKind::SlowResponses, model)
                .title(format!(
                    "{model}: {:.0}% of streamed selections wait over {target_ms:.0} ms for the first token",
                    share * 100.0
                ))
                .description(format!(
                    "Time to first token p90 {:.0} ms, p95 {:.0} ms over {} streamed selections. \
                     Shorten prompts (prefill time grows with input), use prompt caching, \
                     or route latency-sensitive streams to a model that starts faster.",
                    ms(ttft.p90),
                    ms(ttft.p95),
                    s.time_to_first_token_samples
                ))
                .priority(if ms(ttft.p95) > 2.0 * target_ms {
                    Priority::High
                } else {
                    Priority::Medium
                })
                .impact_effort(Level::Medium, Level::Medium)
                .model(model)
                .evidence("share_above_target", share, "ratio")
                .evidence("time_to_first_token_target_ms", target_ms, "ms")
                .evidence("time_to_first_token_p90_ms", ms(ttft.p90), "ms")
                .evidence("time_to_first_token_p95_ms", ms(ttft.p95), "ms")
                .evidence(
                    "streamed_selections",
                    s.time_to_first_token_samples as f64,
                    "count",
                ),
        ))
    }
}

impl Heuristic for SlowResponses {
    fn id(&self) -> &str {
        "slow_responses"
    }

    fn analyze(&self, view: &AnalysisView<'_>) -> Vec<Recommendation> {
        let target_ms = view.config.performance_metrics.response_time.target;
        let critical_ms = view.config.performance_metrics.response_time.critical;
        let target = Duration::try_from_secs_f64(target_ms / 1000.0).unwrap_or(Duration::MAX);
        let limit = view.config.optimizer.slow_share;
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        judged(view)
            .filter_map(|(model, s)| {
                if let Some(judged) = self.streamed(view, model, s) {
                    return judged;
                }
                let share = share_above(&s.latency, target);
                if share <= limit {
                    return None;
                }
                let priority = if ms(s.latency.p95) > critical_ms {
                    Priority::High
                } else {
                    Priority::Medium
                };
                Some(
                    Recommendation::new(self.id(), RecommendationKind::SlowResponses, model)
                        .title(format!(
                            "{model}: {:.0}% of selections exceed the {target_ms:.0} ms target",
                            share * 100.0
                        ))
                        .description(format!(
                            "p90 {:.0} ms, p95 {:.0} ms over {} selections. Route \
                             latency-sensitive traffic to a faster model, cap output tokens, \
                             or add a timeout with fallback.",
                            ms(s.latency.p90),
                            ms(s.latency.p95),
                            s.count
                        ))
                        .priority(priority)
                        .impact_effort(Level::Medium, Level::Medium)
                        .model(model)
                        .evidence("share_above_target", share, "ratio")
                        .evidence("target_ms", target_ms, "ms")
                        .evidence("p90_ms", ms(s.latency.p90), "ms")
                        .evidence("p95_ms", ms(s.latency.p95), "ms")
                        .evidence("selections", s.count as f64, "count"),
                )
            })
            .collect()
    }
}

/// The fleet's cache hit rate is below target, or one model's is below half the rest
/// of the fleet's; each with the money and time the better rate would save.
///
/// Savings price a hit and a miss apart from the window's own data (the model's mean
/// cost and latency of hits and of misses): raising the rate by `Δ` saves
/// `Δ × selections × (miss cost − hit cost)`, scaled to 30 days.
#[derive(Debug, Clone, Copy, Default)]
pub struct LowCacheHitRate;

impl LowCacheHitRate {
    fn savings(s: &Stats, to_rate: f64) -> Option<(f64, f64)> {
        let gain = (to_rate - s.cache_hit_rate).max(0.0) * s.count as f64;
        let usd = gain * (s.cache_miss_mean_cost_usd? - s.cache_hit_mean_cost_usd?).max(0.0);
        let ms = gain * (s.cache_miss_mean_latency_ms? - s.cache_hit_mean_latency_ms?).max(0.0);
        Some((usd, ms))
    }
}

impl Heuristic for LowCacheHitRate {
    fn id(&self) -> &str {
        "low_cache_hit_rate"
    }

    fn analyze(&self, view: &AnalysisView<'_>) -> Vec<Recommendation> {
        let target = view.config.performance_metrics.cache_hit_rate.target;
        let scale = view.per_30_days();
        let mut out = Vec::new();
        let o = &view.summary.overview;
        let (_, upper) = wilson_interval(o.cache_hit_rate, o.count, Z);
        if o.count >= view.config.optimizer.min_samples && upper < target {
            let mut r =
                Recommendation::new(self.id(), RecommendationKind::LowCacheHitRate, "fleet")
                    .title(format!(
                        "Fleet cache hit rate {:.1}% is below the {:.0}% target",
                        o.cache_hit_rate * 100.0,
                        target * 100.0
                    ))
                    .priority(Priority::Low)
                    .impact_effort(Level::Medium, Level::High)
                    .evidence("cache_hit_rate", o.cache_hit_rate, "ratio")
                    .evidence("target", target, "ratio")
                    .evidence("selections", o.count as f64, "count");
            let (mut usd, mut ms) = (0.0, 0.0);
            for s in view.summary.models.values() {
                if let Some((u, m)) = Self::savings(s, target) {
                    usd += u;
                    ms += m;
                }
            }
            r = r
                .description(format!(
                    "Reaching the target would serve {:.0} more selections per 30 days from \
                     cache and save about {:.1} hours of model time. Review cache keys and TTLs.",
                    (target - o.cache_hit_rate) * o.count as f64 * scale,
                    ms * scale / 3_600_000.0
                ))
                .evidence("time_saved_hours_per_30d", ms * scale / 3_600_000.0, "h")
                .savings(usd * scale);
            out.push(r);
        }
        for (model, s) in judged(view) {
            let (rest_n, _, rest_hits) = rest_of_fleet(view, s);
            let rest = ratio(rest_hits, rest_n);
            let (_, upper) = wilson_interval(s.cache_hit_rate, s.count, Z);
            if rest_n == 0 || upper >= (rest * 0.5).min(target) {
                continue;
            }
            let (usd, ms) = Self::savings(s, rest).unwrap_or((0.0, 0.0));
            let share = usd / view.summary.overview.cost_usd.max(f64::MIN_POSITIVE);
            out.push(
                Recommendation::new(self.id(), RecommendationKind::LowCacheHitRate, model)
                    .title(format!(
                        "{model}: cache hit rate {:.1}% vs {:.1}% for the rest of the fleet",
                        s.cache_hit_rate * 100.0,
                        rest * 100.0
                    ))
                    .description(format!(
                        "The cache in front of {model} underperforms. At the fleet's rate it would \
                         save about ${:.0} and {:.1} hours of model time per 30 days. Check its \
                         cache keys (prompt templates with timestamps or ids defeat caching) and TTL.",
                        usd * scale,
                        ms * scale / 3_600_000.0
                    ))
                    .priority(if share > 0.05 {
                        Priority::High
                    } else {
                        Priority::Medium
                    })
                    .impact_effort(Level::Medium, Level::Low)
                    .model(model)
                    .evidence("cache_hit_rate", s.cache_hit_rate, "ratio")
                    .evidence("rest_of_fleet_rate", rest, "ratio")
                    .evidence("selections", s.count as f64, "count")
                    .evidence("time_saved_hours_per_30d", ms * scale / 3_600_000.0, "h")
                    .savings(usd * scale),
            );
        }
        out
    }
}

/// A model's mean cost per selection is above `cost.maxCostPerSelection`.
#[derive(Debug, Clone, Copy, Default)]
pub struct HighCostPerSelection;

impl Heuristic for HighCostPerSelection {
    fn id(&self) -> &str {
        "high_cost_per_selection"
    }

    fn analyze(&self, view: &AnalysisView<'_>) -> Vec<Recommendation> {
        let bound = view.config.cost.max_cost_per_selection;
        let scale = view.per_30_days();
        judged(view)
            .filter_map(|(model, s)| {
                let mean = s.mean_cost_usd?;
                if mean <= bound {
                    return None;
                }
                let excess = (mean - bound) * s.cost_samples as f64 * scale;
                Some(
                    Recommendation::new(self.id(), RecommendationKind::HighCostPerSelection, model)
                        .title(format!(
                            "{model}: ${mean:.4} per selection, above the ${bound:.4} bound"
                        ))
                        .description(format!(
                            "Bringing {model} to the bound (shorter prompts, lower max tokens, \
                             or a cheaper model for part of its traffic) would save about \
                             ${excess:.0} per 30 days."
                        ))
                        .priority(if mean > 2.0 * bound {
                            Priority::High
                        } else {
                            Priority::Medium
                        })
                        .impact_effort(Level::Medium, Level::Medium)
                        .model(model)
                        .evidence("mean_cost_usd", mean, "usd")
                        .evidence("bound_usd", bound, "usd")
                        .evidence("spend_usd", s.cost_usd, "usd")
                        .savings(excess),
                )
            })
            .collect()
    }
}

/// A model's error rate is above the error-rate target and well above the rest of the
/// fleet's: its Wilson lower bound exceeds `errorHotspotFactor` times the others' rate.
#[derive(Debug, Clone, Copy, Default)]
pub struct ErrorHotspot;

impl Heuristic for ErrorHotspot {
    fn id(&self) -> &str {
        "error_hotspot"
    }

    fn analyze(&self, view: &AnalysisView<'_>) -> Vec<Recommendation> {
        let kpi = &view.config.performance_metrics.error_rate;
        let factor = view.config.optimizer.error_hotspot_factor;
        let scale = view.per_30_days();
        judged(view)
            .filter_map(|(model, s)| {
                let (rest_n, rest_errors, _) = rest_of_fleet(view, s);
                if rest_n == 0 {
                    return None;
                }
                let rest = ratio(rest_errors, rest_n);
                let (lower, _) = wilson_interval(s.error_rate, s.count, Z);
                if lower <= (factor * rest).max(kpi.target) {
                    return None;
                }
                // Spend on the excess failures: requests paid for and thrown away.
                let wasted =
                    (s.error_rate - rest) * s.count as f64 * s.mean_cost_usd.unwrap_or(0.0);
                Some(
                    Recommendation::new(self.id(), RecommendationKind::ErrorHotspot, model)
                        .title(format!(
                            "{model}: error rate {:.1}% vs {:.1}% for the rest of the fleet",
                            s.error_rate * 100.0,
                            rest * 100.0
                        ))
                        .description(format!(
                            "{} of {} selections failed. Check the provider's status and \
                             rate limits, and fail over to another model; the excess failures \
                             cost about ${:.0} per 30 days in paid, discarded requests.",
                            s.errors,
                            s.count,
                            wasted * scale
                        ))
                        .priority(if s.error_rate > kpi.critical {
                            Priority::Critical
                        } else {
                            Priority::High
                        })
                        .impact_effort(Level::High, Level::Low)
                        .model(model)
                        .evidence("error_rate", s.error_rate, "ratio")
                        .evidence("wilson_lower", lower, "ratio")
                        .evidence("rest_of_fleet_rate", rest, "ratio")
                        .evidence("errors", s.errors as f64, "count")
                        .evidence("selections", s.count as f64, "count")
                        .savings(wasted * scale),
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_above_is_exact_at_percentiles_and_bounded() {
        let ms = Duration::from_millis;
        let l = LatencyStats {
            min: ms(10),
            mean: ms(500),
            p50: ms(400),
            p75: ms(800),
            p90: ms(2000),
            p95: ms(3000),
            p99: ms(6000),
            max: ms(9000),
        };
        assert!((share_above(&l, ms(2000)) - 0.10).abs() < 1e-9);
        assert!((share_above(&l, ms(2500)) - 0.075).abs() < 1e-9);
        assert_eq!(share_above(&l, ms(5)), 1.0);
        assert_eq!(share_above(&l, ms(9000)), 0.0);
    }
}
