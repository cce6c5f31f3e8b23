//! Budgets: spend against a daily or monthly limit, its projection, and threshold
//! events. The projection method is described in the `cost` module's docs.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::heuristics::stats::linear_fit;
use crate::summary::{de_time, ser_time};

/// Which period a budget covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetPeriod {
    /// A UTC day.
    Daily,
    /// A UTC calendar month.
    Monthly,
}

crate::names::serde_names!(BudgetPeriod { Daily => "daily", Monthly => "monthly" });

/// Whose spend a budget limits. Serialized as its display: `"fleet"`, or
/// `"dimension=value"` (`"team=search"`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum BudgetScope {
    /// Everything recorded (`cost.budget.dailyUsd` and `monthlyUsd`).
    #[default]
    Fleet,
    /// The selections with one value of one dimension, such as team `search`
    /// (`cost.budget.scoped`).
    Dimension {
        /// The dimension's key.
        dimension: String,
        /// The value.
        value: String,
    },
}

impl Serialize for BudgetScope {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for BudgetScope {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s == "fleet" {
            return Ok(Self::Fleet);
        }
        // Keys hold no `=`, values may.
        match s.split_once('=') {
            Some((dimension, value)) => Ok(Self::Dimension {
                dimension: dimension.to_owned(),
                value: value.to_owned(),
            }),
            None => Err(serde::de::Error::custom(format!(
                "budget scope {s:?} is neither \"fleet\" nor \"dimension=value\""
            ))),
        }
    }
}

impl std::fmt::Display for BudgetScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Fleet => f.write_str("fleet"),
            Self::Dimension { dimension, value } => write!(f, "{dimension}={value}"),
        }
    }
}

/// Where a budget stands; from [`Monitor::budget_status`](crate::Monitor::budget_status).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetStatus {
    /// Daily or monthly.
    pub period: BudgetPeriod,
    /// The limit in US dollars.
    pub limit_usd: f64,
    /// Start of the current period.
    #[serde(serialize_with = "ser_time", deserialize_with = "de_time")]
    pub period_start: SystemTime,
    /// End of the current period.
    #[serde(serialize_with = "ser_time", deserialize_with = "de_time")]
    pub period_end: SystemTime,
    /// Spent so far in the period.
    pub spent_usd: f64,
    /// `spent / limit`.
    pub used: f64,
    /// Projected spend at the end of the period.
    pub projected_usd: f64,
    /// `projected / limit`.
    pub projected_used: f64,
    /// When the budget is projected to run out, if within the period (now, if it
    /// already has).
    #[serde(
        serialize_with = "crate::alerts::ser_opt_time",
        deserialize_with = "crate::alerts::de_opt_time"
    )]
    pub runs_out_at: Option<SystemTime>,
    /// The fitted spend rate now, US dollars per hour.
    pub rate_usd_per_hour: f64,
    /// The fitted change of that rate per hour (0 when not significant).
    pub rate_slope_usd_per_hour2: f64,
    /// Whose spend: the fleet's or one dimension value's.
    #[serde(default)]
    pub scope: BudgetScope,
}

/// A budget crossed 85%, 95% or 100% of its limit; each fires once per period.
/// Delivered in [`ExportBatch::budget_events`](crate::ExportBatch::budget_events).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetEvent {
    /// Daily or monthly.
    pub period: BudgetPeriod,
    /// The threshold crossed: 0.85, 0.95 or 1.0.
    pub threshold: f64,
    /// The limit.
    pub limit_usd: f64,
    /// Spent when it fired.
    pub spent_usd: f64,
    /// Projected spend at period end.
    pub projected_usd: f64,
    /// Start of the period.
    #[serde(serialize_with = "ser_time", deserialize_with = "de_time")]
    pub period_start: SystemTime,
    /// When it fired.
    #[serde(serialize_with = "ser_time", deserialize_with = "de_time")]
    pub at: SystemTime,
    /// One line for humans.
    pub message: String,
    /// Whose spend: the fleet's or one dimension value's.
    #[serde(default)]
    pub scope: BudgetScope,
}

/// The thresholds that raise events.
pub(crate) const THRESHOLDS: [f64; 3] = [0.85, 0.95, 1.0];

/// A fitted spend projection.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Projection {
    pub projected: f64,
    pub rate_now: f64,
    pub slope: f64,
    /// Hours from now until the limit is reached, if within the horizon.
    pub runs_out_in_hours: Option<f64>,
}

/// Projects spend: `spent` so far, `horizon` hours left, `points` as (hours relative
/// to now, negative for the past; USD per hour), `limit` for the run-out time; a
/// significant rising trend is extrapolated only if `trend`.
pub(crate) fn project(
    spent: f64,
    horizon: f64,
    points: &[(f64, f64)],
    limit: Option<f64>,
    trend: bool,
) -> Projection {
    let (a, b) = match linear_fit(points) {
        Some(f) if trend && f.t > 3.0 => (f.intercept, f.slope),
        _ if !points.is_empty() => (
            points.iter().map(|p| p.1).sum::<f64>() / points.len() as f64,
            0.0,
        ),
        _ => (0.0, 0.0),
    };
    // Integral of max(0, a + b x) over 0..t.
    let integral = |t: f64| -> f64 {
        if b == 0.0 {
            return a.max(0.0) * t;
        }
        let root = -a / b;
        let (lo, hi) = if b > 0.0 {
            (root.max(0.0), t)
        } else {
            (0.0, root.min(t))
        };
        if hi <= lo {
            return 0.0;
        }
        a * (hi - lo) + b * (hi * hi - lo * lo) / 2.0
    };
    let horizon = horizon.max(0.0);
    let projected = spent + integral(horizon);
    let runs_out_in_hours = limit.and_then(|limit| {
        let remaining = limit - spent;
        if remaining <= 0.0 {
            return Some(0.0);
        }
        if integral(horizon) < remaining {
            return None;
        }
        let (mut lo, mut hi) = (0.0, horizon);
        for _ in 0..60 {
            let mid = (lo + hi) / 2.0;
            if integral(mid) < remaining {
                lo = mid
            } else {
                hi = mid
            }
        }
        Some(hi)
    });
    Projection {
        projected,
        rate_now: a.max(0.0),
        slope: b,
        runs_out_in_hours,
    }
}

impl BudgetStatus {
    pub(crate) fn new(
        (scope, period, limit_usd): (BudgetScope, BudgetPeriod, f64),
        (start, end): (SystemTime, SystemTime),
        now: SystemTime,
        spent_usd: f64,
        p: &Projection,
    ) -> Self {
        Self {
            scope,
            period,
            limit_usd,
            period_start: start,
            period_end: end,
            spent_usd,
            used: spent_usd / limit_usd,
            projected_usd: p.projected,
            projected_used: p.projected / limit_usd,
            runs_out_at: p
                .runs_out_in_hours
                .and_then(|h| Duration::try_from_secs_f64(h * 3600.0).ok())
                .and_then(|d| now.checked_add(d))
                .map(crate::clock::floor_ms),
            rate_usd_per_hour: p.rate_now,
            rate_slope_usd_per_hour2: p.slope,
        }
    }
}

/// Remembers which thresholds fired in which period, per budget.
#[derive(Debug, Default)]
pub(crate) struct BudgetTracker {
    fired: HashMap<(BudgetScope, BudgetPeriod), (SystemTime, usize)>,
}

#[cfg(feature = "persist")]
/// Which thresholds fired in which period, as a persistent store keeps it: the fleet's
/// (the store's first format), then the scoped budgets'.
pub(crate) type SavedBudgets = (
    Vec<(BudgetPeriod, SystemTime, usize)>,
    Vec<(BudgetScope, BudgetPeriod, SystemTime, usize)>,
);

impl BudgetTracker {
    #[cfg(feature = "persist")]
    pub(crate) fn saved(&self) -> SavedBudgets {
        let mut saved = SavedBudgets::default();
        for ((scope, p), (s, n)) in &self.fired {
            match scope {
                BudgetScope::Fleet => saved.0.push((*p, *s, *n)),
                scope => saved.1.push((scope.clone(), *p, *s, *n)),
            }
        }
        saved
    }

    #[cfg(feature = "persist")]
    pub(crate) fn restore((fleet, scoped): SavedBudgets) -> Self {
        let fleet = fleet
            .into_iter()
            .map(|(p, s, n)| ((BudgetScope::Fleet, p), (s, n)));
        let scoped = scoped
            .into_iter()
            .map(|(scope, p, s, n)| ((scope, p), (s, n)));
        Self {
            fired: fleet.chain(scoped).collect(),
        }
    }

    /// How many thresholds `spent` has crossed that have not fired yet this period.
    pub(crate) fn pending(
        &self,
        budget: &(BudgetScope, BudgetPeriod),
        start: SystemTime,
        used: f64,
    ) -> bool {
        let fired = match self.fired.get(budget) {
            Some((s, n)) if *s == start => *n,
            _ => 0,
        };
        THRESHOLDS.iter().filter(|t| used >= **t).count() > fired
    }

    /// The events for thresholds newly crossed by `status`, each once per period.
    pub(crate) fn check(&mut self, status: &BudgetStatus, at: SystemTime) -> Vec<BudgetEvent> {
        let entry = self
            .fired
            .entry((status.scope.clone(), status.period))
            .or_insert((status.period_start, 0));
        if entry.0 != status.period_start {
            *entry = (status.period_start, 0);
        }
        let mut out = Vec::new();
        while entry.1 < THRESHOLDS.len() && status.used >= THRESHOLDS[entry.1] {
            let threshold = THRESHOLDS[entry.1];
            entry.1 += 1;
            let whose = match &status.scope {
                BudgetScope::Fleet => String::new(),
                scope => format!("{scope} "),
            };
            out.push(BudgetEvent {
                scope: status.scope.clone(),
                period: status.period,
                threshold,
                limit_usd: status.limit_usd,
                spent_usd: status.spent_usd,
                projected_usd: status.projected_usd,
                period_start: status.period_start,
                at,
                message: format!(
                    "{whose}{} budget {:.0}% used: ${:.2} of ${:.2}, projected ${:.2} at period end",
                    status.period,
                    threshold * 100.0,
                    status.spent_usd,
                    status.limit_usd,
                    status.projected_usd
                ),
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steady_rate_projects_linearly_and_finds_the_run_out_time() {
        let pts: Vec<_> = (1..=24).map(|h| (-f64::from(h) + 0.5, 10.0)).collect();
        let p = project(100.0, 10.0, &pts, Some(150.0), true);
        assert!((p.projected - 200.0).abs() < 1e-9);
        assert!((p.runs_out_in_hours.unwrap() - 5.0).abs() < 1e-6);
        assert_eq!(
            project(100.0, 10.0, &pts, Some(500.0), true).runs_out_in_hours,
            None
        );
        assert_eq!(
            project(100.0, 10.0, &pts, Some(50.0), true).runs_out_in_hours,
            Some(0.0)
        );
    }

    #[test]
    fn a_significant_trend_is_extrapolated() {
        // Rate 10 + 1/h, observed for the past 12 hours (x = -12..0).
        let pts: Vec<_> = (0..12)
            .map(|h| (-f64::from(h), 10.0 - f64::from(h)))
            .collect();
        let p = project(0.0, 4.0, &pts, None, true);
        // Integral of 10 + x over 0..4 = 40 + 8.
        assert!((p.projected - 48.0).abs() < 1e-6, "{p:?}");
        // Without trend, the mean rate 4.5.
        assert!((project(0.0, 4.0, &pts, None, false).projected - 18.0).abs() < 1e-9);
        // Falling: not extrapolated, the mean rate 15.5 holds.
        let down: Vec<_> = (0..12)
            .map(|h| (-f64::from(h), 10.0 + f64::from(h)))
            .collect();
        assert!((project(0.0, 4.0, &down, None, true).projected - 62.0).abs() < 1e-9);
    }

    #[test]
    fn scopes_serialize_as_their_display() {
        let team = BudgetScope::Dimension {
            dimension: "team".into(),
            value: "a=b".into(),
        };
        for (scope, text) in [(BudgetScope::Fleet, "\"fleet\""), (team, "\"team=a=b\"")] {
            assert_eq!(serde_json::to_string(&scope).unwrap(), text);
            assert_eq!(serde_json::from_str::<BudgetScope>(text).unwrap(), scope);
        }
        assert!(serde_json::from_str::<BudgetScope>("\"team\"").is_err());
    }

    #[test]
    fn thresholds_fire_once_per_period() {
        let mut t = BudgetTracker::default();
        let start = SystemTime::UNIX_EPOCH;
        let p = Projection {
            projected: 0.0,
            rate_now: 0.0,
            slope: 0.0,
            runs_out_in_hours: None,
        };
        let status = |spent: f64, start| {
            let budget = (BudgetScope::Fleet, BudgetPeriod::Daily, 100.0);
            BudgetStatus::new(budget, (start, start), start, spent, &p)
        };
        assert!(t.check(&status(50.0, start), start).is_empty());
        let daily = (BudgetScope::Fleet, BudgetPeriod::Daily);
        assert!(t.pending(&daily, start, 0.96));
        let e = t.check(&status(96.0, start), start);
        assert_eq!(
            e.iter().map(|e| e.threshold).collect::<Vec<_>>(),
            [0.85, 0.95]
        );
        assert!(t.check(&status(97.0, start), start).is_empty());
        assert!(!t.pending(&daily, start, 0.97));
        assert_eq!(t.check(&status(101.0, start), start)[0].threshold, 1.0);
        let next = start + Duration::from_secs(86_400);
        assert_eq!(t.check(&status(90.0, next), next).len(), 1);
    }
}
