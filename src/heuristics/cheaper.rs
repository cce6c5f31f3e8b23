//! The cheaper-equivalent heuristic: same quality for less money, band by band.

use super::{Action, AnalysisView, Heuristic, Level, Priority, Recommendation, RecommendationKind};
use crate::bands::{BANDS, BandStats};

/// Within a complexity band, a cheaper model whose accuracy (and satisfaction, when
/// both report it) is within tolerance of the chosen model's, whose p95 over the
/// window is within the response-time target (or no worse than the chosen model's), and
/// whose error rate is at most one point above it.
///
/// For each model and band the cheapest such candidate is taken; contiguous bands with
/// the same pair are merged into one recommendation ("complexity < 0.3"). Savings are
/// `selections moved × (chosen mean cost − candidate mean cost)`, per band, from the
/// band's own means, scaled from the window to 30 days.
///
/// Rerouting is reversible and gated by the actuator's cooldown, so these are marked
/// safe to auto-apply.
#[derive(Debug, Clone, Copy, Default)]
pub struct CheaperEquivalent;

/// One band where `to` can replace `from`.
struct Hit<'a> {
    from: &'a BandStats,
    to: &'a BandStats,
}

impl CheaperEquivalent {
    fn qualifies(
        view: &AnalysisView<'_>,
        chosen: (&str, &BandStats),
        cand: (&str, &BandStats),
    ) -> bool {
        let o = &view.config.optimizer;
        let (x, y) = (chosen.1, cand.1);
        let min = o.min_samples.max(1);
        if chosen.0 == cand.0 || x.count < min || y.count < min {
            return false;
        }
        let (Some(cx), Some(cy)) = (x.mean_cost_usd, y.mean_cost_usd) else {
            return false;
        };
        let (Some(ax), Some(ay)) = (x.mean_accuracy, y.mean_accuracy) else {
            return false;
        };
        if cy >= cx || ay < ax - o.accuracy_tolerance {
            return false;
        }
        if let (Some(sx), Some(sy)) = (x.mean_satisfaction, y.mean_satisfaction) {
            if sy < sx - o.satisfaction_tolerance {
                return false;
            }
        }
        if y.error_rate > x.error_rate + 0.01 {
            return false;
        }
        let models = &view.summary.models;
        let (Some(mx), Some(my)) = (models.get(chosen.0), models.get(cand.0)) else {
            return false;
        };
        let target_ms = view.config.performance_metrics.response_time.target;
        my.latency.p95.as_secs_f64() * 1000.0 <= target_ms || my.latency.p95 <= mx.latency.p95
    }

    /// For `from` in band `i`, the cheapest qualifying candidate.
    fn best<'a>(view: &'a AnalysisView<'_>, from: &str, i: usize) -> Option<(&'a str, Hit<'a>)> {
        let band = |m: &str| view.bands.get(m)?.iter().find(|b| b.index == i);
        let x = band(from)?;
        view.bands
            .keys()
            .filter_map(|m| Some((m.as_str(), band(m)?)))
            .filter(|(m, y)| Self::qualifies(view, (from, x), (m, y)))
            .min_by(|a, b| {
                a.1.mean_cost_usd
                    .unwrap_or(f64::MAX)
                    .total_cmp(&b.1.mean_cost_usd.unwrap_or(f64::MAX))
                    .then_with(|| a.0.cmp(b.0))
            })
            .map(|(m, y)| (m, Hit { from: x, to: y }))
    }
}

/// Count-weighted mean of an optional per-band value.
fn weighted(hits: &[Hit<'_>], f: impl Fn(&Hit<'_>) -> (Option<f64>, u64)) -> Option<f64> {
    let (mut sum, mut n) = (0.0, 0u64);
    for h in hits {
        if let (Some(v), c) = f(h) {
            sum += v * c as f64;
            n += c;
        }
    }
    (n > 0).then(|| sum / n as f64)
}

impl Heuristic for CheaperEquivalent {
    fn id(&self) -> &str {
        "cheaper_equivalent"
    }

    fn analyze(&self, view: &AnalysisView<'_>) -> Vec<Recommendation> {
        let scale = view.bands_per_30_days();
        let spend = view.summary.overview.cost_usd;
        let mut out = Vec::new();
        for from in view.bands.keys() {
            let mut run: Vec<Hit<'_>> = Vec::new();
            let mut run_to: Option<&str> = None;
            for i in 0..=BANDS {
                let found = (i < BANDS).then(|| Self::best(view, from, i)).flatten();
                let continues = match (&found, run_to) {
                    (Some((to, h)), Some(prev)) => {
                        *to == prev && run.last().is_some_and(|l| l.from.index + 1 == h.from.index)
                    }
                    _ => false,
                };
                if !continues && !run.is_empty() {
                    out.push(self.recommend(from, run_to.unwrap_or_default(), &run, scale, spend));
                    run.clear();
                }
                if let Some((to, h)) = found {
                    run_to = Some(to);
                    run.push(h);
                }
            }
        }
        out
    }
}

impl CheaperEquivalent {
    fn recommend(
        &self,
        from: &str,
        to: &str,
        run: &[Hit<'_>],
        scale: f64,
        spend: f64,
    ) -> Recommendation {
        let lo = run[0].from.lower;
        let hi = run[run.len() - 1].from.upper;
        let moved: u64 = run.iter().map(|h| h.from.count).sum();
        let saved: f64 = run
            .iter()
            .map(|h| {
                h.from.count as f64
                    * (h.from.mean_cost_usd.unwrap_or(0.0) - h.to.mean_cost_usd.unwrap_or(0.0))
            })
            .sum();
        let acc_from = weighted(run, |h| (h.from.mean_accuracy, h.from.accuracy_samples));
        let acc_to = weighted(run, |h| (h.to.mean_accuracy, h.to.accuracy_samples));
        let cost_from = weighted(run, |h| (h.from.mean_cost_usd, h.from.count));
        let cost_to = weighted(run, |h| (h.to.mean_cost_usd, h.to.count));
        let sat_from = weighted(run, |h| {
            (h.from.mean_satisfaction, h.from.satisfaction_samples)
        });
        let sat_to = weighted(run, |h| (h.to.mean_satisfaction, h.to.satisfaction_samples));
        let range = if lo == 0.0 {
            format!("complexity < {hi:.1}")
        } else if hi >= 1.0 {
            format!("complexity >= {lo:.1}")
        } else {
            format!("complexity {lo:.1}-{hi:.1}")
        };
        let share = saved / spend.max(f64::MIN_POSITIVE);
        let mut r = Recommendation::new(
            self.id(),
            RecommendationKind::CheaperEquivalent,
            &format!("{from}->{to}@{lo:.1}"),
        )
        .title(format!("Route {range} traffic from {from} to {to}"))
        .description(format!(
            "On {range} tasks {to} matched {from}: accuracy {:.3} vs {:.3}, at ${:.5} vs ${:.5} \
             per selection. Moving those {moved} selections saves about ${:.0} per 30 days at \
             current volume.",
            acc_to.unwrap_or_default(),
            acc_from.unwrap_or_default(),
            cost_to.unwrap_or_default(),
            cost_from.unwrap_or_default(),
            saved * scale
        ))
        .priority(if share >= 0.10 {
            Priority::High
        } else if share >= 0.02 {
            Priority::Medium
        } else {
            Priority::Low
        })
        .impact_effort(Level::High, Level::Low)
        .model(from)
        .evidence("min_complexity", lo, "ratio")
        .evidence("max_complexity", hi, "ratio")
        .evidence("accuracy_from", acc_from.unwrap_or_default(), "ratio")
        .evidence("accuracy_to", acc_to.unwrap_or_default(), "ratio")
        .evidence("mean_cost_from_usd", cost_from.unwrap_or_default(), "usd")
        .evidence("mean_cost_to_usd", cost_to.unwrap_or_default(), "usd")
        .evidence("selections_moved", moved as f64, "count");
        if let (Some(a), Some(b)) = (sat_from, sat_to) {
            r = r
                .evidence("satisfaction_from", a, "ratio")
                .evidence("satisfaction_to", b, "ratio");
        }
        r.savings(saved * scale).action(
            Action::Reroute {
                from: from.to_owned(),
                to: to.to_owned(),
                min_complexity: lo,
                max_complexity: hi,
            },
            true,
        )
    }
}
