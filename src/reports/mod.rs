//! Reports: [`PerformanceReport`] and [`CostReport`] over a period, on demand
//! ([`Monitor::performance_report`](crate::Monitor::performance_report),
//! [`Monitor::cost_report`](crate::Monitor::cost_report)) or on a schedule
//! (`reporting.schedules`, delivered in
//! [`ExportBatch::reports`](crate::ExportBatch::reports)).
//!
//! Every report renders three ways: JSON (`serde_json`, and it reads back), CSV (one
//! table per section, see [`CsvTable`]) and a plain-text table (`Display`). Both
//! reports together ([`Reports`], [`ScheduledReport`]) also render as one
//! self-contained HTML page with charts (`to_html`, feature `html`, on by default) and
//! as a PDF (`to_pdf`, feature `pdf`), drawn from [`ReportCharts`].

mod charts;
mod compare;
#[cfg(feature = "html")]
mod document;
#[cfg(feature = "html")]
mod draw;
mod health;
#[cfg(feature = "html")]
mod html;
#[cfg(feature = "pdf")]
mod pdf;
mod render;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

pub(crate) use charts::latency_bins;
pub use charts::{BINS_PER_DECADE, BudgetBurn, LatencyBin, ReportCharts, SpendPoint};
pub use compare::{Baseline, ComparisonRow, ModelComparison};

#[cfg(feature = "html")]
pub use document::CHART_NAMES;
pub use health::{HealthScore, KpiScore};
pub use render::CsvTable;

use crate::alerts::{Alert, Incident, ResolvedAlert};
use crate::config::Config;
use crate::cost::{BudgetStatus, ModelCost, Savings, model_costs, savings};
use crate::heuristics::Recommendation;
use crate::heuristics::stats::linear_fit;
use crate::rules::Severity;
use crate::summary::{Stats, Summary, de_ms, de_opt_ms, de_time, ser_ms, ser_opt_ms, ser_time};

/// The span a report covers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportPeriod {
    /// Start (inclusive).
    #[serde(serialize_with = "ser_time", deserialize_with = "de_time")]
    pub start: SystemTime,
    /// End.
    #[serde(serialize_with = "ser_time", deserialize_with = "de_time")]
    pub end: SystemTime,
    /// `end − start`.
    #[serde(serialize_with = "ser_ms", deserialize_with = "de_ms")]
    pub length: Duration,
}

impl ReportPeriod {
    fn of(summary: &Summary) -> Self {
        Self {
            start: summary.start,
            end: summary.end,
            length: summary
                .end
                .duration_since(summary.start)
                .unwrap_or_default(),
        }
    }
}

/// One interval of a report's trend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrendPoint {
    /// Start of the interval.
    #[serde(serialize_with = "ser_time", deserialize_with = "de_time")]
    pub start: SystemTime,
    /// Selections.
    pub selections: u64,
    /// Error rate.
    pub error_rate: f64,
    /// Cache hit rate.
    pub cache_hit_rate: f64,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// p95 latency, ms.
    pub p95_ms: f64,
    /// p99 latency, ms.
    #[serde(default)]
    pub p99_ms: f64,
    /// Spend, US dollars.
    pub cost_usd: f64,
    /// Mean cost per selection.
    pub mean_cost_usd: Option<f64>,
}

impl TrendPoint {
    fn of(s: &Summary) -> Self {
        Self::of_stats(s.start, Some(&s.overview))
    }

    /// The point of an interval starting at `start` with `stats`; all zero without.
    pub(crate) fn of_stats(start: SystemTime, stats: Option<&Stats>) -> Self {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        match stats {
            Some(s) => Self {
                start,
                selections: s.count,
                error_rate: s.error_rate,
                cache_hit_rate: s.cache_hit_rate,
                p50_ms: ms(s.latency.p50),
                p95_ms: ms(s.latency.p95),
                p99_ms: ms(s.latency.p99),
                cost_usd: s.cost_usd,
                mean_cost_usd: s.mean_cost_usd,
            },
            None => Self {
                start,
                selections: 0,
                error_rate: 0.0,
                cache_hit_rate: 0.0,
                p50_ms: 0.0,
                p95_ms: 0.0,
                p99_ms: 0.0,
                cost_usd: 0.0,
                mean_cost_usd: None,
            },
        }
    }
}

/// A model whose KPI is past its warning line in the period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bottleneck {
    /// The model.
    pub model: String,
    /// The KPI (`responseTime` as p95 ms, `errorRate`, ...).
    pub kpi: String,
    /// Observed value.
    pub value: f64,
    /// The line crossed.
    pub threshold: f64,
    /// Warning or critical.
    pub severity: Severity,
}

/// The alerts of a report's period.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ReportAlerts {
    /// Open at the end of the period.
    pub active: Vec<Alert>,
    /// Resolved during the period.
    pub resolved: Vec<ResolvedAlert>,
    /// Incidents open at the end of the period, then those resolved during it.
    #[serde(default)]
    pub incidents: Vec<Incident>,
    /// Mean time to resolve of the incidents resolved during the period.
    #[serde(default, serialize_with = "ser_opt_ms", deserialize_with = "de_opt_ms")]
    pub incident_mean_time_to_resolve: Option<Duration>,
}

/// How performance went over a period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerformanceReport {
    /// The span covered.
    pub period: ReportPeriod,
    /// When it was built.
    #[serde(serialize_with = "ser_time", deserialize_with = "de_time")]
    pub generated_at: SystemTime,
    /// All models together.
    pub overview: Stats,
    /// The health score of the overview.
    pub health: HealthScore,
    /// Per model.
    pub models: BTreeMap<String, Stats>,
    /// Hourly (periods up to two days) or daily points.
    pub trends: Vec<TrendPoint>,
    /// KPIs past their warning line, worst first.
    pub bottlenecks: Vec<Bottleneck>,
    /// The optimizer's recommendations at build time.
    pub recommendations: Vec<Recommendation>,
    /// Alerts of the period.
    pub alerts: ReportAlerts,
}

/// A fitted trend of a series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trend {
    /// Change per interval of the trend points.
    pub slope_per_interval: f64,
    /// The slope's t statistic.
    pub t: f64,
    /// Whether `|t| > 3`.
    pub significant: bool,
}

/// Where the money went over a period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostReport {
    /// The span covered.
    pub period: ReportPeriod,
    /// When it was built.
    #[serde(serialize_with = "ser_time", deserialize_with = "de_time")]
    pub generated_at: SystemTime,
    /// Total spend, US dollars.
    pub spend_usd: f64,
    /// Selections.
    pub selections: u64,
    /// Mean cost per selection that reported one.
    pub cost_per_selection_usd: Option<f64>,
    /// Cost efficiency of the fleet.
    pub cost_efficiency: Option<f64>,
    /// Spend per interval (as the performance report's trend).
    pub trend: Vec<TrendPoint>,
    /// The spend trend's fit, when there are at least three points.
    pub spend_trend: Option<Trend>,
    /// Per model, costliest first.
    pub models: Vec<ModelCost>,
    /// Savings against the reference model and from the cache.
    pub savings: Savings,
    /// Projected spend over the next 30 days at the mean hourly rate of the last 24
    /// complete hours since traffic began (no trend is extrapolated that far).
    pub projected_30d_usd: f64,
    /// Configured budgets: used, projected, run-out date.
    pub budgets: Vec<BudgetStatus>,
    /// The recommendations that save money.
    pub recommendations: Vec<Recommendation>,
    /// With a price table (`MonitorBuilder::pricing`, `cost.prices`): the models of
    /// the period it has no price for that recorded selections without a cost, which
    /// the spend above leaves out. Empty without a table.
    #[serde(default)]
    pub unpriced: Vec<UnpricedModel>,
    /// Spend by every dimension with selections in the period (provider, operation,
    /// requested model, the declared attributes), each value with its share, tokens,
    /// error rate and fallback rate: spend by team or feature, fallbacks by requested
    /// model.
    #[serde(default)]
    pub by_dimension: Vec<crate::cost::DimensionSpend>,
}

/// A model with selections recorded without a cost and no price to give them one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnpricedModel {
    /// The model.
    pub model: String,
    /// Its selections in the period that carry no cost.
    pub selections_without_cost: u64,
}

impl std::fmt::Display for UnpricedModel {
    /// `model (n selections)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({} selections)",
            self.model, self.selections_without_cost
        )
    }
}

/// Which schedule produced a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportSchedule {
    /// On the hour, over the past hour.
    Hourly,
    /// At UTC midnight, over the past day.
    Daily,
    /// Monday 00:00 UTC, over the past week.
    Weekly,
}

crate::names::serde_names!(ReportSchedule { Hourly => "hourly", Daily => "daily", Weekly => "weekly" });

/// A scheduled pair of reports, in [`ExportBatch::reports`](crate::ExportBatch::reports).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduledReport {
    /// Which schedule.
    pub schedule: ReportSchedule,
    /// Performance over the period.
    pub performance: PerformanceReport,
    /// Cost over the period.
    pub cost: CostReport,
    /// The per-model series the HTML and PDF renderings draw.
    #[serde(default)]
    pub charts: ReportCharts,
}

/// Both reports of one period, sharing one analysis, from
/// [`Monitor::reports`](crate::Monitor::reports).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Reports {
    /// Performance over the period.
    pub performance: PerformanceReport,
    /// Cost over the period.
    pub cost: CostReport,
    /// The per-model series the HTML and PDF renderings draw.
    #[serde(default)]
    pub charts: ReportCharts,
}

/// Everything a pair of reports is built from.
pub(crate) struct ReportInputs<'a> {
    pub config: &'a Config,
    pub generated_at: SystemTime,
    pub summary: &'a Summary,
    pub trend: &'a [Summary],
    pub recommendations: &'a [Recommendation],
    pub active: Vec<Alert>,
    pub resolved: Vec<ResolvedAlert>,
    pub incidents: Vec<Incident>,
    pub budgets: Vec<BudgetStatus>,
    pub projected_30d_usd: f64,
    pub pricing: Option<&'a crate::pricing::Pricing>,
    pub by_dimension: Vec<crate::cost::DimensionSpend>,
}

fn bottlenecks(summary: &Summary, config: &Config) -> Vec<Bottleneck> {
    let k = &config.performance_metrics;
    let mut out = Vec::new();
    for (model, s) in &summary.models {
        if s.count < config.optimizer.min_samples {
            continue;
        }
        let checks = [
            (
                "responseTime",
                &k.response_time,
                Some(s.latency.p95.as_secs_f64() * 1000.0),
                true,
            ),
            ("errorRate", &k.error_rate, Some(s.error_rate), true),
            (
                "selectionAccuracy",
                &k.selection_accuracy,
                s.mean_accuracy,
                false,
            ),
            (
                "cacheHitRate",
                &k.cache_hit_rate,
                Some(s.cache_hit_rate),
                false,
            ),
        ];
        for (kpi, t, value, higher_is_worse) in checks {
            let Some(v) = value else { continue };
            let past = |line: f64| if higher_is_worse { v > line } else { v < line };
            let (severity, threshold) = if past(t.critical) {
                (Severity::Critical, t.critical)
            } else if past(t.warning) {
                (Severity::Warning, t.warning)
            } else {
                continue;
            };
            out.push(Bottleneck {
                model: model.clone(),
                kpi: kpi.to_owned(),
                value: v,
                threshold,
                severity,
            });
        }
    }
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.kpi.cmp(&b.kpi))
            .then_with(|| a.model.cmp(&b.model))
    });
    out
}

impl PerformanceReport {
    pub(crate) fn build(i: &ReportInputs<'_>) -> Self {
        Self {
            period: ReportPeriod::of(i.summary),
            generated_at: i.generated_at,
            overview: i.summary.overview.clone(),
            health: HealthScore::from_stats(&i.summary.overview, i.config),
            models: i.summary.models.clone(),
            trends: i.trend.iter().map(TrendPoint::of).collect(),
            bottlenecks: bottlenecks(i.summary, i.config),
            recommendations: i.recommendations.to_vec(),
            alerts: ReportAlerts {
                active: i.active.clone(),
                resolved: i.resolved.clone(),
                incidents: i.incidents.clone(),
                incident_mean_time_to_resolve: {
                    let times: Vec<Duration> = i
                        .incidents
                        .iter()
                        .filter_map(Incident::time_to_resolve)
                        .collect();
                    u32::try_from(times.len())
                        .ok()
                        .filter(|n| *n > 0)
                        .map(|n| times.iter().sum::<Duration>() / n)
                },
            },
        }
    }
}

impl CostReport {
    pub(crate) fn build(i: &ReportInputs<'_>) -> Self {
        let o = &i.summary.overview;
        let trend: Vec<TrendPoint> = i.trend.iter().map(TrendPoint::of).collect();
        let points: Vec<(f64, f64)> = trend
            .iter()
            .enumerate()
            .map(|(k, p)| (k as f64, p.cost_usd))
            .collect();
        let spend_trend = linear_fit(&points).map(|f| Trend {
            slope_per_interval: f.slope,
            t: f.t,
            significant: f.t.abs() > 3.0,
        });
        Self {
            period: ReportPeriod::of(i.summary),
            generated_at: i.generated_at,
            spend_usd: o.cost_usd,
            selections: o.count,
            cost_per_selection_usd: o.mean_cost_usd,
            cost_efficiency: o.cost_efficiency,
            trend,
            spend_trend,
            models: model_costs(i.summary),
            savings: savings(i.summary, i.config.cost.reference_model.as_deref()),
            projected_30d_usd: i.projected_30d_usd,
            budgets: i.budgets.clone(),
            recommendations: i
                .recommendations
                .iter()
                .filter(|r| r.savings_usd_per_30d.is_some_and(|s| s > 0.0))
                .cloned()
                .collect(),
            unpriced: i.pricing.map_or_else(Vec::new, |table| {
                let end = i.summary.end;
                i.summary
                    .models
                    .iter()
                    .filter(|(m, s)| s.count > s.cost_samples && table.price_at(m, end).is_none())
                    .map(|(m, s)| UnpricedModel {
                        model: m.clone(),
                        selections_without_cost: s.count - s.cost_samples,
                    })
                    .collect()
            }),
            by_dimension: i.by_dimension.clone(),
        }
    }
}
