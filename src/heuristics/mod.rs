//! Heuristics: turning a window's numbers into ranked [`Recommendation`]s.
//!
//! A [`Heuristic`] reads an [`AnalysisView`] (the window's statistics overall, per
//! model and per complexity band, plus the hourly history and the window's alerts) and
//! returns recommendations, each with its evidence and, where it applies, the savings
//! it would bring in US dollars per 30 days at the observed volume.
//!
//! The built-in set ([`default_heuristics`]) reads its tolerances from
//! [`Config::optimizer`](crate::Config::optimizer) and its targets from
//! `performanceMetrics`:
//!
//! | heuristic | fires when |
//! |---|---|
//! | [`SlowResponses`] | more than `slowShare` (10%) of a model's selections exceed the response-time target (for a mostly streamed model: wait longer than `timeToFirstTokenTarget`, 1000 ms, for the first token) |
//! | [`LowCacheHitRate`] | the fleet's hit rate is below target, or a model's is below half the rest of the fleet's |
//! | [`HighCostPerSelection`] | a model's mean cost per selection is above `cost.maxCostPerSelection` ($0.05) |
//! | [`ErrorHotspot`] | a model's error rate is above its target and `errorHotspotFactor` (2×) the rest of the fleet's |
//! | [`RateLimitHotspot`] | a model's share of rate-limited (429) selections is above `rateLimitShare` (1%) and `errorHotspotFactor` (2×) the rest of the fleet's |
//! | [`CheaperEquivalent`] | in a complexity band, a cheaper model is as accurate (and satisfying) within tolerance, with acceptable p95 and errors |
//! | [`Regression`] | hourly p95 latency or cost per selection trends up, significantly and by at least `regressionMinGrowth` |
//! | [`Correlation`] | a model's hourly latency and error rate (or complexity and latency) move together, |r| >= `correlationMin` |
//!
//! Rates are judged on their Wilson interval (z = 1.645), so small samples do not
//! fire; a model needs `optimizer.minSamples` selections before it is judged at all.

mod builtin;
mod cheaper;
mod rate_limit;
mod recommendation;
pub(crate) mod stats;
mod trend;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

pub use builtin::{ErrorHotspot, HighCostPerSelection, LowCacheHitRate, SlowResponses};
pub use cheaper::CheaperEquivalent;
pub use rate_limit::RateLimitHotspot;
pub use recommendation::{Action, Evidence, Level, Priority, Recommendation, RecommendationKind};
pub use trend::{Correlation, Regression};

use crate::alerts::{Alert, ResolvedAlert};
use crate::bands::BandStats;
use crate::config::Config;
use crate::summary::Summary;

/// An optimizer heuristic: reads a window's numbers, suggests changes.
///
/// Heuristics are ordinary structs; add one with
/// [`MonitorBuilder::heuristic`](crate::MonitorBuilder::heuristic).
///
/// ```
/// use modelmeter::{AnalysisView, Heuristic, Priority, Recommendation, RecommendationKind};
///
/// /// Flags any model that produced no output tokens at all.
/// struct SilentModel;
///
/// impl Heuristic for SilentModel {
///     fn id(&self) -> &str {
///         "silent_model"
///     }
///     fn analyze(&self, view: &AnalysisView<'_>) -> Vec<Recommendation> {
///         view.summary
///             .models
///             .iter()
///             .filter(|(_, s)| s.count > 100 && s.output_tokens == 0)
///             .map(|(model, s)| {
///                 Recommendation::new(self.id(), RecommendationKind::Custom("silent".into()), model)
///                     .title(format!("{model} returns no output"))
///                     .priority(Priority::High)
///                     .model(model)
///                     .evidence("selections", s.count as f64, "count")
///             })
///             .collect()
///     }
/// }
/// ```
pub trait Heuristic: Send + Sync + 'static {
    /// A stable identifier; recommendations carry it.
    fn id(&self) -> &str;

    /// Analyses the view. Return an empty vector when nothing is worth saying.
    fn analyze(&self, view: &AnalysisView<'_>) -> Vec<Recommendation>;
}

/// What a heuristic sees: one window, read-only.
#[derive(Debug)]
#[non_exhaustive]
pub struct AnalysisView<'a> {
    /// When the analysis runs.
    pub now: SystemTime,
    /// The window analysed (`optimizer.window`, 24 hours by default).
    pub window: Duration,
    /// The window's statistics, overall and per model.
    pub summary: &'a Summary,
    /// Per model, its statistics per complexity band (non-empty bands only, whole
    /// hours of sealed minutes; see [`BandStats`]).
    pub bands: &'a BTreeMap<String, Vec<BandStats>>,
    /// The span `bands` covers: whole hours from the window's start (or the hour
    /// tier's retention, if shorter) to now.
    pub bands_span: Duration,
    /// The complete hours of the window, oldest first, one summary each.
    pub history: &'a [Summary],
    /// Alerts resolved during the window.
    pub resolved_alerts: &'a [ResolvedAlert],
    /// Alerts open now.
    pub active_alerts: &'a [Alert],
    /// The monitor's configuration: targets, tolerances, budgets.
    pub config: &'a Config,
}

impl AnalysisView<'_> {
    /// The factor that turns a count observed over the window's covered span into one
    /// per 30 days (1 for an empty span).
    pub fn per_30_days(&self) -> f64 {
        scale_to_30_days(
            self.summary
                .end
                .duration_since(self.summary.start)
                .unwrap_or_default(),
        )
    }

    /// As [`per_30_days`](Self::per_30_days), for counts from [`bands`](Self::bands).
    pub fn bands_per_30_days(&self) -> f64 {
        scale_to_30_days(self.bands_span)
    }
}

fn scale_to_30_days(span: Duration) -> f64 {
    let span = span.as_secs_f64();
    if span > 0.0 {
        30.0 * 86_400.0 / span
    } else {
        1.0
    }
}

/// The built-in heuristics, in the order of the table above.
pub fn default_heuristics() -> Vec<Box<dyn Heuristic>> {
    vec![
        Box::new(SlowResponses),
        Box::new(LowCacheHitRate),
        Box::new(HighCostPerSelection),
        Box::new(ErrorHotspot),
        Box::new(RateLimitHotspot),
        Box::new(CheaperEquivalent),
        Box::new(Regression),
        Box::new(Correlation),
    ]
}

/// Deduplicates by id (keeping the highest priority) and ranks: priority, then
/// savings, then id, so the same data always gives the same list.
pub(crate) fn rank(mut recs: Vec<Recommendation>) -> Vec<Recommendation> {
    recs.sort_by(|a, b| {
        b.priority
            .cmp(&a.priority)
            .then_with(|| {
                b.savings_usd_per_30d
                    .unwrap_or(0.0)
                    .total_cmp(&a.savings_usd_per_30d.unwrap_or(0.0))
            })
            .then_with(|| a.id.cmp(&b.id))
    });
    let mut seen = std::collections::HashSet::new();
    recs.retain(|r| seen.insert(r.id.clone()));
    recs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_dedups_and_orders_stably() {
        let r = |id: &str, p, s| {
            Recommendation::new("h", RecommendationKind::SlowResponses, id)
                .priority(p)
                .savings(s)
        };
        let out = rank(vec![
            r("b", Priority::Low, 5.0),
            r("a", Priority::High, 1.0),
            r("c", Priority::High, 9.0),
            r("a", Priority::Low, 100.0),
        ]);
        let ids: Vec<_> = out.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["h/c", "h/a", "h/b"]);
        assert_eq!(out[1].priority, Priority::High);
    }
}
