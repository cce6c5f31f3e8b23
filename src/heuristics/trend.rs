//! Heuristics over the hourly history: regressions and correlations.

use super::stats::{linear_fit, pearson};
use super::{AnalysisView, Heuristic, Level, Priority, Recommendation, RecommendationKind};
use crate::summary::Stats;

/// Hours with fewer selections than this are left out of a model's series: their
/// percentiles and rates are too noisy to fit.
const MIN_PER_HOUR: u64 = 20;
/// Fewest hours a trend or correlation is judged on.
const MIN_HOURS: usize = 6;
/// |t| a slope or a correlation must exceed: about p < 0.005 one-sided for 6 to 48
/// points, strict because every model and metric is tested.
const T_CRIT: f64 = 3.0;

/// Per model (and `"fleet"` for the overview), the hourly points `(hour index, f(stats))`.
fn series<'v>(
    view: &'v AnalysisView<'_>,
    f: impl Fn(&Stats) -> Option<f64> + Copy + 'v,
) -> Vec<(String, Vec<(f64, f64)>)> {
    let mut names: Vec<&str> = vec!["fleet"];
    names.extend(view.summary.models.keys().map(String::as_str));
    names
        .into_iter()
        .map(|name| {
            let points = view
                .history
                .iter()
                .enumerate()
                .filter_map(|(i, h)| {
                    let s = if name == "fleet" {
                        &h.overview
                    } else {
                        h.models.get(name)?
                    };
                    (s.count >= MIN_PER_HOUR)
                        .then(|| f(s))
                        .flatten()
                        .map(|v| (i as f64, v))
                })
                .collect();
            (name.to_owned(), points)
        })
        .collect()
}

/// A sustained upward trend of hourly p95 latency or mean cost per selection over the
/// window: a least-squares slope with `t > 3` **and** a fitted rise of at least
/// `optimizer.regressionMinGrowth` (20%) from the first hour to the last, so neither
/// noise nor a statistically real but negligible drift is reported.
#[derive(Debug, Clone, Copy, Default)]
pub struct Regression;

impl Heuristic for Regression {
    fn id(&self) -> &str {
        "regression"
    }

    fn analyze(&self, view: &AnalysisView<'_>) -> Vec<Recommendation> {
        let min_growth = view.config.optimizer.regression_min_growth;
        type Pick = fn(&Stats) -> Option<f64>;
        let metrics: [(&str, &str, Pick); 2] = [
            ("p95_latency", "ms", |s| {
                Some(s.latency.p95.as_secs_f64() * 1000.0)
            }),
            ("cost_per_selection", "usd", |s| s.mean_cost_usd),
        ];
        let mut out = Vec::new();
        for (metric, unit, f) in metrics {
            for (name, points) in series(view, f) {
                if points.len() < MIN_HOURS {
                    continue;
                }
                let Some(fit) = linear_fit(&points) else {
                    continue;
                };
                let (x0, x1) = (points[0].0, points[points.len() - 1].0);
                let (start, end) = (fit.at(x0), fit.at(x1));
                if fit.t <= T_CRIT || start <= 0.0 {
                    continue;
                }
                let growth = end / start - 1.0;
                if growth < min_growth {
                    continue;
                }
                let hours = x1 - x0;
                let mut r = Recommendation::new(
                    self.id(),
                    RecommendationKind::Regression,
                    &format!("{name}/{metric}"),
                )
                .title(format!(
                    "{name}: {} rose {:.0}% over {hours:.0} h",
                    metric.replace('_', " "),
                    growth * 100.0
                ))
                .description(format!(
                    "Hourly {} went from about {start:.4} to {end:.4} {unit} (slope {:.4} {unit}/h, \
                     t = {:.1}, r² = {:.2}). Look for a provider change, a prompt that grew, or \
                     a routing shift.",
                    metric.replace('_', " "),
                    fit.slope,
                    fit.t,
                    fit.r2
                ))
                .priority(if growth >= 0.5 {
                    Priority::High
                } else {
                    Priority::Medium
                })
                .impact_effort(Level::Medium, Level::Medium)
                .evidence("start", start, unit)
                .evidence("end", end, unit)
                .evidence("growth", growth, "ratio")
                .evidence("slope_per_hour", fit.slope, unit)
                .evidence("t", fit.t, "")
                .evidence("hours", hours + 1.0, "count");
                if name != "fleet" {
                    r = r.model(&name);
                }
                out.push(r);
            }
        }
        out
    }
}

/// Two of a model's hourly metrics moving together: latency with error rate (a
/// struggling provider: timeouts become errors) or complexity with latency (the
/// model is slow on hard tasks specifically). Reported when `r >=
/// optimizer.correlationMin` and `t > 3`; a negative relation is not this story
/// (fast failures, say) and is left alone.
#[derive(Debug, Clone, Copy, Default)]
pub struct Correlation;

impl Heuristic for Correlation {
    fn id(&self) -> &str {
        "correlation"
    }

    fn analyze(&self, view: &AnalysisView<'_>) -> Vec<Recommendation> {
        type Pick = fn(&Stats) -> Option<(f64, f64)>;
        let pairs: [(&str, &str, Pick); 2] = [
            ("latency", "error_rate", |s| {
                Some((s.latency.mean.as_secs_f64() * 1000.0, s.error_rate))
            }),
            ("complexity", "latency", |s| {
                Some((s.mean_complexity?, s.latency.mean.as_secs_f64() * 1000.0))
            }),
        ];
        let min_r = view.config.optimizer.correlation_min;
        let mut out = Vec::new();
        for (a, b, pick) in pairs {
            for model in view.summary.models.keys() {
                let points: Vec<(f64, f64)> = view
                    .history
                    .iter()
                    .filter_map(|h| h.models.get(model))
                    .filter(|s| s.count >= MIN_PER_HOUR)
                    .filter_map(pick)
                    .collect();
                if points.len() < MIN_HOURS {
                    continue;
                }
                let Some((r, t)) = pearson(&points) else {
                    continue;
                };
                if r < min_r || t <= T_CRIT {
                    continue;
                }
                out.push(
                    Recommendation::new(
                        self.id(),
                        RecommendationKind::Correlation,
                        &format!("{model}/{a}~{b}"),
                    )
                    .title(format!(
                        "{model}: hourly {a} and {b} move together (r = {r:.2})"
                    ))
                    .description(format!(
                        "Over {} hours, Pearson r = {r:.2} (t = {t:.1}). {}",
                        points.len(),
                        if a == "latency" {
                            "Slow hours are failing hours: check timeouts and the provider's load."
                        } else {
                            "Harder tasks are what make it slow: route them elsewhere or raise its timeout."
                        }
                    ))
                    .model(model)
                    .evidence("r", r, "")
                    .evidence("t", t, "")
                    .evidence("hours", points.len() as f64, "count"),
                );
            }
        }
        out
    }
}
