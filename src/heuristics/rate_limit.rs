//! [`RateLimitHotspot`]: one model refused for rate limits far more often than the rest.

use super::builtin::{Z, judged};
use super::{AnalysisView, Heuristic, Level, Priority, Recommendation, RecommendationKind};
use crate::failure::ErrorKind;
use crate::rules::wilson_interval;

/// A model's share of rate-limited selections ([`ErrorKind::RateLimited`], HTTP 429)
/// is credibly above `optimizer.rateLimitShare` (1%) and `errorHotspotFactor` (2×) the
/// rest of the fleet's: its Wilson lower bound (z = 1.645) exceeds both.
///
/// A 429 is not a failure of the model: the router sends it more than the quota (of the
/// key, the deployment, the region) allows. The recommendation names the models with
/// traffic and no rate-limit problem that could take a share of the load, the retries
/// the 429s caused, and the two ways out: spread the load, or raise the quota.
#[derive(Debug, Clone, Copy, Default)]
pub struct RateLimitHotspot;

impl Heuristic for RateLimitHotspot {
    fn id(&self) -> &str {
        "rate_limit_hotspot"
    }

    fn analyze(&self, view: &AnalysisView<'_>) -> Vec<Recommendation> {
        let floor = view.config.optimizer.rate_limit_share;
        let factor = view.config.optimizer.error_hotspot_factor;
        let limited = |s: &crate::Stats| {
            s.errors_by_kind
                .get(&ErrorKind::RateLimited)
                .copied()
                .unwrap_or(0)
        };
        let all = &view.summary.overview;
        judged(view)
            .filter_map(|(model, s)| {
                let n = limited(s);
                let rest_n = all.count - s.count;
                let rest_rate = if rest_n == 0 {
                    0.0
                } else {
                    (limited(all) - n) as f64 / rest_n as f64
                };
                let rate = n as f64 / s.count as f64;
                let (lower, _) = wilson_interval(rate, s.count, Z);
                if lower <= floor.max(factor * rest_rate) {
                    return None;
                }
                // Models with traffic whose own 429 share is under the floor could
                // take part of the load.
                let spare: Vec<&str> = judged(view)
                    .filter(|(m, o)| *m != model && (limited(o) as f64) < floor * o.count as f64)
                    .map(|(m, _)| m)
                    .collect();
                let spread = if spare.is_empty() {
                    "No other model has spare capacity in this window: raise the quota \
                     (or add a deployment or region)."
                        .to_owned()
                } else {
                    format!(
                        "Spread part of its load to {} (no rate-limit problem in this \
                         window), or raise its quota.",
                        spare.join(", ")
                    )
                };
                Some(
                    Recommendation::new(self.id(), RecommendationKind::RateLimitHotspot, model)
                        .title(format!(
                            "{model}: {:.1}% of selections rate limited vs {:.1}% for the rest of the fleet",
                            rate * 100.0,
                            rest_rate * 100.0
                        ))
                        .description(format!(
                            "{n} of {} selections were refused with HTTP 429, and the router \
                             retried {} times in all. {spread} Back retries off with jitter so \
                             they do not deepen the limit.",
                            s.count, s.retries
                        ))
                        .priority(if rate > 0.05 {
                            Priority::High
                        } else {
                            Priority::Medium
                        })
                        .impact_effort(Level::High, Level::Low)
                        .model(model)
                        .evidence("rate_limited_share", rate, "ratio")
                        .evidence("wilson_lower", lower, "ratio")
                        .evidence("rest_of_fleet_rate", rest_rate, "ratio")
                        .evidence("rate_limited", n as f64, "count")
                        .evidence("retries", s.retries as f64, "count")
                        .evidence("selections", s.count as f64, "count")
                        .evidence("models_with_spare_capacity", spare.len() as f64, "count"),
                )
            })
            .collect()
    }
}
