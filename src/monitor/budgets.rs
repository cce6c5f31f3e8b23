//! Budgets at the monitor: spend so far, its projection and threshold events, for the
//! fleet and for each scoped budget (one dimension value's spend).

use crate::aggregate::COST_SCALE;
use crate::calendar::{day_bounds, month_bounds};
use crate::clock::from_unix_nanos;
use crate::cost::{BudgetEvent, BudgetPeriod, BudgetScope, BudgetStatus, project};
use crate::seal::NANOS_PER_MINUTE;

use super::Inner;
use super::insights::{DAY_MIN, HOUR_MIN, rate_points};

impl Inner {
    /// The configured budgets as they stand at `now`.
    pub(crate) fn budget_statuses(&self, now: u64) -> Vec<BudgetStatus> {
        self.budgets()
            .into_iter()
            .map(|budget| self.budget_status(budget, now))
            .collect()
    }

    fn period_bounds(period: BudgetPeriod, now: u64) -> (u64, u64) {
        let secs = now / 1_000_000_000;
        match period {
            BudgetPeriod::Daily => day_bounds(secs),
            BudgetPeriod::Monthly => month_bounds(secs),
        }
    }

    /// Spend in US dollars of `scope` over minutes `from..to`, from the counters alone.
    pub(super) fn spend(&self, scope: &BudgetScope, range: (u64, u64), now_minute: u64) -> f64 {
        self.spend_covering(scope, range, now_minute).0
    }

    /// As [`Inner::spend`], with the start the answer really covers: earlier than
    /// `from` where only a coarser bucket still holds the range's old edge.
    fn spend_covering(
        &self,
        scope: &BudgetScope,
        (from, to): (u64, u64),
        now_minute: u64,
    ) -> (f64, u64) {
        match scope {
            BudgetScope::Fleet => {
                let usd = crate::query::spend(&self.registry, &self.store, (from, to), now_minute);
                (usd, from)
            }
            BudgetScope::Dimension { dimension, value } => {
                let Some(dim) = self.dims.index(dimension) else {
                    return (0.0, from);
                };
                let ctx = (&self.registry, &self.store);
                let range = (from, to);
                let (t, start) = crate::query::dimension_totals(
                    ctx,
                    &self.dims,
                    (dim, value),
                    range,
                    now_minute,
                );
                (t.cost.sum as f64 / COST_SCALE, start)
            }
        }
    }

    fn spent_since(&self, scope: &BudgetScope, start_secs: u64, now: u64) -> f64 {
        let now_minute = now / NANOS_PER_MINUTE;
        self.spend(scope, (start_secs / 60, now_minute + 1), now_minute)
    }

    /// The configured budgets: `(scope, period, limit in USD)`, the fleet's first.
    fn budgets(&self) -> Vec<(BudgetScope, BudgetPeriod, f64)> {
        let b = &self.config.cost.budget;
        let fleet = [
            (BudgetPeriod::Daily, b.daily_usd),
            (BudgetPeriod::Monthly, b.monthly_usd),
        ]
        .into_iter()
        .filter_map(|(period, limit)| Some((BudgetScope::Fleet, period, limit?)));
        let scoped = b.scoped.iter().flat_map(|s| {
            let scope = BudgetScope::Dimension {
                dimension: s.dimension.clone(),
                value: s.value.clone(),
            };
            [
                (BudgetPeriod::Daily, s.daily_usd),
                (BudgetPeriod::Monthly, s.monthly_usd),
            ]
            .into_iter()
            .filter_map(move |(period, limit)| Some((scope.clone(), period, limit?)))
        });
        fleet.chain(scoped).collect()
    }

    /// Spend-rate points of `scope` over the `count` complete intervals of `step`
    /// minutes before now: `(hours relative to now, USD per hour)`, leading intervals
    /// without traffic left out.
    fn spend_rates(&self, scope: &BudgetScope, step: u64, count: u64, now: u64) -> Vec<(f64, f64)> {
        let now_minute = now / NANOS_PER_MINUTE;
        if *scope == BudgetScope::Fleet {
            return rate_points(&self.series(now_minute, now, step, count), now);
        }
        let last = now_minute / step * step;
        let points: Vec<(f64, f64)> = (1..=count)
            .rev()
            .filter_map(|k| last.checked_sub(k * step))
            .map(|from| {
                let mid = (from as f64 + step as f64 / 2.0) * NANOS_PER_MINUTE as f64;
                // Only a coarser bucket still holds this interval: unknown, counted as
                // nothing rather than as the whole bucket (as the fleet's series does).
                let usd = match self.spend_covering(scope, (from, from + step), now_minute) {
                    (usd, start) if start >= from => usd,
                    _ => 0.0,
                };
                ((mid - now as f64) / 3.6e12, usd / (step as f64 / 60.0))
            })
            .collect();
        let first = points
            .iter()
            .position(|p| p.1 > 0.0)
            .unwrap_or(points.len());
        points[first..].to_vec()
    }

    fn budget_status(
        &self,
        (scope, period, limit): (BudgetScope, BudgetPeriod, f64),
        now: u64,
    ) -> BudgetStatus {
        let (start, end) = Self::period_bounds(period, now);
        let spent = self.spent_since(&scope, start, now);
        let hourly = || self.spend_rates(&scope, HOUR_MIN, 24, now);
        let (points, trend) = match period {
            BudgetPeriod::Daily => (hourly(), true),
            BudgetPeriod::Monthly => {
                let daily = self.spend_rates(&scope, DAY_MIN, 14, now);
                if daily.len() >= 3 {
                    (daily, true)
                } else {
                    (hourly(), false)
                }
            }
        };
        let horizon = (end as f64 - now as f64 / 1e9) / 3600.0;
        let p = project(spent, horizon, &points, Some(limit), trend);
        let t = |s: u64| from_unix_nanos(s * 1_000_000_000);
        BudgetStatus::new(
            (scope, period, limit),
            (t(start), t(end)),
            from_unix_nanos(now),
            spent,
            &p,
        )
    }

    /// Budget threshold events newly crossed at `now`. Cheap when nothing is due: the
    /// projection is computed only for a budget that crosses a threshold.
    pub(crate) fn check_budgets(&self, now: u64) -> Vec<BudgetEvent> {
        let mut events = Vec::new();
        for (scope, period, limit) in self.budgets() {
            let (start, _) = Self::period_bounds(period, now);
            let start_time = from_unix_nanos(start * 1_000_000_000);
            let used = self.spent_since(&scope, start, now) / limit;
            let key = (scope, period);
            if !self.budgets.lock().pending(&key, start_time, used) {
                continue;
            }
            let status = self.budget_status((key.0, period, limit), now);
            events.extend(self.budgets.lock().check(&status, from_unix_nanos(now)));
        }
        events
    }
}
