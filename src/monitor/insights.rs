//! The analysis side of the monitor: heuristics, budgets and reports, on demand and
//! at the tick.

use std::time::{Duration, SystemTime};

use crate::clock::from_unix_nanos;
use crate::cost::{BudgetPeriod, BudgetStatus};
use crate::heuristics::Recommendation;
use crate::optimizer::{Analysis, AppliedAction, run};
use crate::reports::{
    Baseline, BudgetBurn, CostReport, HealthScore, ModelComparison, PerformanceReport,
    ReportCharts, ReportInputs, ReportSchedule, Reports, ScheduledReport, SpendPoint,
};
use crate::seal::NANOS_PER_MINUTE;
use crate::summary::Summary;

use super::{Inner, Monitor};

pub(super) const HOUR_MIN: u64 = 60;
pub(super) const DAY_MIN: u64 = 1440;
const WEEK_MIN: u64 = 7 * DAY_MIN;
/// 1970-01-05, the first Monday, in minutes.
const MONDAY_MIN: u64 = 4 * DAY_MIN;

/// Hours for a window, capped where hour buckets stop (older parts would be served
/// from days, which do not split into hours).
fn hours_in(window: Duration, hour_retention: Duration) -> u64 {
    (window.as_secs() / 3600)
        .min(hour_retention.as_secs() / 3600)
        .max(1)
}

/// Spend-rate points `(hours relative to now, USD per hour)` from consecutive
/// summaries, leaving out the leading intervals without traffic.
pub(super) fn rate_points(series: &[Summary], now: u64) -> Vec<(f64, f64)> {
    let first = series.iter().position(|s| s.overview.count > 0);
    series[first.unwrap_or(series.len())..]
        .iter()
        .map(|s| {
            let start = crate::clock::to_unix_nanos(s.start);
            let end = crate::clock::to_unix_nanos(s.end);
            let hours = (end - start) as f64 / 3.6e12;
            let mid = (start + end) as f64 / 2.0;
            ((mid - now as f64) / 3.6e12, s.overview.cost_usd / hours)
        })
        .collect()
}

impl Inner {
    pub(super) fn series(&self, end_minute: u64, now: u64, step: u64, count: u64) -> Vec<Summary> {
        crate::query::series(
            &self.registry,
            &self.store,
            &self.layout,
            (end_minute, now / NANOS_PER_MINUTE),
            step,
            count,
            self.config.cost.reference_model.as_deref(),
        )
    }

    fn range_summary(&self, from: u64, to: u64, now: u64) -> Summary {
        crate::query::range_summary(
            &self.registry,
            &self.store,
            &self.layout,
            (from, to),
            now / NANOS_PER_MINUTE,
            self.config.cost.reference_model.as_deref(),
        )
    }

    /// Everything the heuristics read, for the `window` ending at `now`.
    pub(crate) fn analysis(&self, now: u64, window: Duration) -> Analysis {
        let summary = self.summary_at(now, window);
        let now_minute = now / NANOS_PER_MINUTE;
        let from = crate::clock::to_unix_nanos(summary.start) / NANOS_PER_MINUTE;
        let bands = crate::query::bands(&self.registry, &self.store, (from, now_minute + 1));
        // Bands cover whole hours, back to the hour tier's retention at most.
        let kept = now_minute.saturating_sub(self.config.recording.hour_retention.as_secs() / 60);
        let bands_from = (from / 60 * 60).max(kept / 60 * 60);
        let bands_span = Duration::from_nanos(now.saturating_sub(bands_from * NANOS_PER_MINUTE));
        let hours = hours_in(window, self.config.recording.hour_retention);
        let history = self.series(now_minute, now, HOUR_MIN, hours);
        let at = from_unix_nanos(now);
        let since = at.checked_sub(window).unwrap_or(SystemTime::UNIX_EPOCH);
        let (resolved, active) = {
            let alerts = self.alerts.lock();
            let resolved = alerts
                .history()
                .into_iter()
                .filter(|r| r.resolved_at >= since)
                .collect();
            (resolved, alerts.active())
        };
        Analysis {
            now: at,
            window,
            summary,
            bands,
            bands_span,
            history,
            resolved,
            active,
        }
    }

    /// Runs every heuristic over the optimizer window ending at `now`.
    pub(crate) fn recommendations_at(&self, now: u64) -> Vec<Recommendation> {
        let window = self.config.optimizer.window;
        let analysis = self.analysis(now, window);
        run(
            &self.heuristics,
            &analysis.view(&self.config),
            &self.heuristic_panics,
        )
    }

    /// At a tick: runs the heuristics if an optimizer interval has begun since the
    /// last run, applies what is safe, and returns the recommendations for export.
    pub(crate) fn optimize_if_due(&self, now: u64) -> Vec<Recommendation> {
        let slot = now / self.config.optimizer.interval_nanos();
        {
            let mut o = self.optimizer.lock();
            if slot <= o.last_slot {
                return Vec::new();
            }
            o.last_slot = slot;
        }
        let recs = self.recommendations_at(now);
        let cooldown = self.config.optimizer.cooldown;
        crate::optimizer::actuate(&self.optimizer, &recs, from_unix_nanos(now), cooldown);
        self.optimizer.lock().latest = recs.clone();
        recs
    }

    /// Spend over the next 30 days at the mean hourly rate of the last 24 complete
    /// hours that had traffic.
    fn projected_30d(&self, now: u64) -> f64 {
        let points = rate_points(&self.series(now / NANOS_PER_MINUTE, now, HOUR_MIN, 24), now);
        if points.is_empty() {
            return 0.0;
        }
        points.iter().map(|p| p.1).sum::<f64>() / points.len() as f64 * 720.0
    }

    /// The pictures' series of the reports over minutes `from..to`: the trend's
    /// intervals of `step` minutes, then the partial interval after the last complete
    /// one (so the newest minutes are drawn too); budgets as they stood at `at`.
    fn charts(
        &self,
        (from, to): (u64, u64),
        now: u64,
        (step, trend): (u64, &[Summary]),
        (summary, budgets, at): (&Summary, &[BudgetStatus], u64),
    ) -> ReportCharts {
        let now_minute = now / NANOS_PER_MINUTE;
        let ctx = (&self.registry, &self.store, &self.layout);
        let latency_distributions = crate::query::latency_buckets(ctx, (from, to), now_minute)
            .into_iter()
            .map(|(name, buckets)| (name, crate::reports::latency_bins(buckets)))
            .collect();
        let length = to - from;
        let previous = self.range_summary(from.saturating_sub(length), from, now);
        let end = to.min(now_minute + 1);
        let last = end / step * step;
        let partial = (last < end && last >= from).then(|| self.range_summary(last, end, now));
        let intervals: Vec<&Summary> = trend.iter().chain(partial.as_ref()).collect();
        ReportCharts {
            step: Duration::from_secs(step * 60),
            fleet: intervals
                .iter()
                .map(|s| crate::reports::TrendPoint::of_stats(s.start, Some(&s.overview)))
                .collect(),
            models: ReportCharts::series(&intervals),
            latency_distributions,
            budgets: budgets
                .iter()
                .map(|b| self.budget_burn(b, at, now))
                .collect(),
            comparisons: ReportCharts::compare(
                ("previous period", &previous.models),
                &summary.models,
            ),
        }
    }

    /// A budget's cumulative spend at the end of each complete hour (daily budget) or
    /// day (monthly) of its period up to `at`, then at `at`: spend counters only, no
    /// latency.
    fn budget_burn(&self, status: &BudgetStatus, at: u64, now: u64) -> BudgetBurn {
        let step = match status.period {
            BudgetPeriod::Daily => HOUR_MIN,
            BudgetPeriod::Monthly => DAY_MIN,
        };
        let start = crate::clock::to_unix_nanos(status.period_start) / NANOS_PER_MINUTE;
        let at_minute = at / NANOS_PER_MINUTE;
        let now_minute = now / NANOS_PER_MINUTE;
        let spend = |from: u64, to: u64| self.spend(&status.scope, (from, to), now_minute);
        let mut cumulative = 0.0;
        let mut spent = vec![SpendPoint {
            at: status.period_start,
            cumulative_usd: 0.0,
        }];
        let mut edge = start;
        while edge + step <= at_minute {
            cumulative += spend(edge, edge + step);
            edge += step;
            spent.push(SpendPoint {
                at: from_unix_nanos(edge * NANOS_PER_MINUTE),
                cumulative_usd: cumulative,
            });
        }
        spent.push(SpendPoint {
            at: from_unix_nanos(at),
            cumulative_usd: status.spent_usd,
        });
        BudgetBurn {
            status: status.clone(),
            spent,
        }
    }

    /// Both reports over minutes `from..to`.
    /// Every dimension's spend by value over minutes `from..to`, dimensions without
    /// selections left out.
    fn spend_by_dimension(
        &self,
        (from, to): (u64, u64),
        now: u64,
    ) -> Vec<crate::cost::DimensionSpend> {
        let ctx = (&self.registry, &self.store, &self.layout);
        let range = (
            from,
            to.min(now / NANOS_PER_MINUTE + 1),
            now / NANOS_PER_MINUTE,
        );
        self.dims
            .keys()
            .iter()
            .enumerate()
            .filter_map(|(dim, key)| {
                let (_, values) =
                    crate::query::dimension_values(ctx, &self.dims, dim, range, false);
                let values = values
                    .into_iter()
                    .map(|(v, acc)| (v.to_string(), acc.totals));
                let spend = crate::cost::DimensionSpend::new(key, values);
                (!spend.values.is_empty()).then_some(spend)
            })
            .collect()
    }

    pub(crate) fn reports(
        &self,
        (from, to): (u64, u64),
        now: u64,
        recommendations: &[Recommendation],
    ) -> Reports {
        let summary = self.range_summary(from, to, now);
        // On-demand reports reach one minute further than their window (the open
        // minute), hence the `+ 1`s.
        let length = to - from;
        let step = if length <= HOUR_MIN + 1 {
            5
        } else if length <= 2 * DAY_MIN + 1 {
            HOUR_MIN
        } else {
            DAY_MIN
        };
        // Past the day tier's retention there is nothing to plot.
        let max_points = (self.config.monitoring.retention_period.as_secs() / 60 / step).max(1);
        let points = (length / step).clamp(1, max_points);
        let trend = self.series(to.min(now / NANOS_PER_MINUTE + 1), now, step, points);
        let start = from_unix_nanos(from * NANOS_PER_MINUTE);
        let end = from_unix_nanos(to * NANOS_PER_MINUTE);
        let (active, resolved, incidents) = {
            let alerts = self.alerts.lock();
            let resolved = alerts
                .history()
                .into_iter()
                .filter(|r| r.resolved_at >= start && r.resolved_at < end)
                .collect();
            let ended = alerts
                .incident_history()
                .into_iter()
                .filter(|i| i.resolved_at.is_some_and(|r| r >= start && r < end));
            let incidents = alerts.incidents().into_iter().chain(ended).collect();
            (alerts.active(), resolved, incidents)
        };
        // A scheduled report shows its budgets as they stood at its end (a daily
        // report built just after midnight shows the day it covers, not the new one).
        // Whole milliseconds, as every time the crate writes.
        let at = now.min((to * NANOS_PER_MINUTE).saturating_sub(1)) / 1_000_000 * 1_000_000;
        let budgets = self.budget_statuses(at);
        let charts = self.charts((from, to), now, (step, &trend), (&summary, &budgets, at));
        let inputs = ReportInputs {
            config: &self.config,
            generated_at: crate::clock::floor_ms(from_unix_nanos(now)),
            summary: &summary,
            trend: &trend,
            recommendations,
            active,
            resolved,
            incidents,
            budgets,
            projected_30d_usd: self.projected_30d(now),
            pricing: self.pricing.as_ref().map(|p| p.table()),
            by_dimension: self.spend_by_dimension((from, to), now),
        };
        Reports {
            performance: PerformanceReport::build(&inputs),
            cost: CostReport::build(&inputs),
            charts,
        }
    }

    /// The scheduled reports whose boundary was crossed between `prev` and `now`.
    pub(crate) fn scheduled_reports(&self, prev: u64, now: u64) -> Vec<ScheduledReport> {
        let s = &self.config.reporting.schedules;
        let (p, n) = (prev / NANOS_PER_MINUTE, now / NANOS_PER_MINUTE);
        let mut out = Vec::new();
        // Taken only when a report is due: most ticks build none.
        let mut recs = None;
        for (schedule, enabled, len, offset) in [
            (ReportSchedule::Hourly, s.hourly.enabled, HOUR_MIN, 0),
            (ReportSchedule::Daily, s.daily.enabled, DAY_MIN, 0),
            (
                ReportSchedule::Weekly,
                s.weekly.enabled,
                WEEK_MIN,
                MONDAY_MIN,
            ),
        ] {
            let boundary = |m: u64| m.saturating_sub(offset) / len;
            if !enabled || n < offset || boundary(n) <= boundary(p) {
                continue;
            }
            let to = boundary(n) * len + offset;
            let recs = recs.get_or_insert_with(|| self.optimizer.lock().latest.clone());
            let Reports {
                performance,
                cost,
                charts,
            } = self.reports((to.saturating_sub(len), to), now, recs);
            out.push(ScheduledReport {
                schedule,
                performance,
                cost,
                charts,
            });
        }
        out
    }
}

impl Monitor {
    /// What should change: the heuristics' ranked recommendations over the optimizer
    /// window (`optimizer.window`, 24 hours) ending now, computed on demand.
    ///
    /// ```
    /// use modelmeter::{ManualClock, Monitor, Selection};
    /// use std::time::{Duration, SystemTime};
    ///
    /// let clock = ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_392_000));
    /// let monitor = Monitor::builder().clock(clock.clone()).background(false).build()?;
    /// for i in 0..500 {
    ///     let sel = Selection::new("flaky-model", Duration::from_millis(300)).error(i % 4 == 0);
    ///     monitor.record_selection(&sel)?;
    ///     monitor.record_selection(&Selection::new("steady-model", Duration::from_millis(300)))?;
    /// }
    /// clock.advance(Duration::from_secs(60));
    /// monitor.tick();
    /// let recs = monitor.recommendations();
    /// assert_eq!(recs[0].id, "error_hotspot/flaky-model");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn recommendations(&self) -> Vec<Recommendation> {
        self.inner.recommendations_at(self.inner.clock.unix_nanos())
    }

    /// The performance report of the `window` ending now, with the current
    /// recommendations.
    pub fn performance_report(&self, window: Duration) -> PerformanceReport {
        self.reports(window).performance
    }

    /// The cost report of the `window` ending now, with the current recommendations
    /// that save money and the configured budgets.
    pub fn cost_report(&self, window: Duration) -> CostReport {
        self.reports(window).cost
    }

    /// Both reports of the `window` ending now, sharing one analysis.
    pub fn reports(&self, window: Duration) -> Reports {
        let now = self.inner.clock.unix_nanos();
        let recs = self.inner.recommendations_at(now);
        self.inner
            .reports(crate::query::window_minutes(now, window), now, &recs)
    }

    /// The configured budgets (`cost.budget`) as they stand now: spend, projection,
    /// run-out date.
    pub fn budget_status(&self) -> Vec<BudgetStatus> {
        self.inner.budget_statuses(self.inner.clock.unix_nanos())
    }

    /// Every call made to the [`Actuator`](crate::Actuator), oldest first.
    pub fn applied_actions(&self) -> Vec<AppliedAction> {
        self.inner
            .optimizer
            .lock()
            .applied
            .iter()
            .cloned()
            .collect()
    }

    /// The health score (0 to 100) of the `window` ending now; see [`HealthScore`].
    pub fn health_score(&self, window: Duration) -> HealthScore {
        HealthScore::from_stats(&self.summary(window).overview, &self.inner.config)
    }

    /// Models `a` and `b` side by side over the `window` ending now; `None` if either
    /// had no traffic in it.
    pub fn compare_models(&self, a: &str, b: &str, window: Duration) -> Option<ModelComparison> {
        let s = self.summary(window);
        Some(ModelComparison::new(
            a,
            s.models.get(a)?,
            b,
            s.models.get(b)?,
        ))
    }

    /// A baseline of the `window` ending now, to save (serde) and compare against
    /// later with [`compare_to_baseline`](Self::compare_to_baseline).
    pub fn baseline(&self, name: &str, window: Duration) -> Baseline {
        Baseline {
            name: name.to_owned(),
            saved_at: crate::clock::floor_ms(from_unix_nanos(self.inner.clock.unix_nanos())),
            summary: self.summary(window),
        }
    }

    /// `model` in `baseline` against `model` over the `window` ending now (pass
    /// `"*"` for the overview); `None` if either side has no data for it.
    pub fn compare_to_baseline(
        &self,
        model: &str,
        baseline: &Baseline,
        window: Duration,
    ) -> Option<ModelComparison> {
        let now = self.summary(window);
        let pick = |s: &Summary| {
            if model == "*" {
                Some(s.overview.clone())
            } else {
                s.models.get(model).cloned()
            }
        };
        Some(ModelComparison::new(
            &baseline.name,
            &pick(&baseline.summary)?,
            "now",
            &pick(&now)?,
        ))
    }
}
