//! Rendering reports: CSV tables (one per section) and plain text for terminals.
//! JSON is serde's (`to_json`, or any serde format on the report itself).

use std::fmt;

use serde::Serialize;

use super::{CostReport, PerformanceReport, TrendPoint};
use crate::calendar::rfc3339;
use crate::clock::to_unix_nanos;
use crate::error::ReportError;
use crate::failure::ErrorKind;
use crate::heuristics::Recommendation;
use crate::summary::Stats;

/// One section of a report as CSV text, with a header row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvTable {
    /// The section (`models`, `trend`, `recommendations`, ...).
    pub name: String,
    /// The table, header first.
    pub csv: String,
}

fn table<R: Serialize>(
    name: &str,
    rows: impl IntoIterator<Item = R>,
) -> Result<CsvTable, ReportError> {
    let fail = |reason: String| ReportError::Csv {
        table: name.to_owned(),
        reason,
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r).map_err(|e| fail(e.to_string()))?;
    }
    let bytes = w.into_inner().map_err(|e| fail(e.error().to_string()))?;
    let csv = String::from_utf8(bytes).map_err(|e| fail(e.to_string()))?;
    Ok(CsvTable {
        name: name.to_owned(),
        csv,
    })
}

fn json<T: Serialize>(report: &T) -> Result<String, ReportError> {
    serde_json::to_string_pretty(report).map_err(|e| ReportError::Json(e.to_string()))
}

/// A flat row of [`Stats`] for CSV.
#[derive(Serialize)]
struct StatsRow<'a> {
    model: &'a str,
    count: u64,
    errors: u64,
    cache_hits: u64,
    error_rate: f64,
    cache_hit_rate: f64,
    throughput_per_sec: f64,
    cost_usd: f64,
    mean_cost_usd: Option<f64>,
    cost_efficiency: Option<f64>,
    mean_ms: f64,
    p50_ms: f64,
    p90_ms: f64,
    p95_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    mean_accuracy: Option<f64>,
    mean_satisfaction: Option<f64>,
    input_tokens: u64,
    output_tokens: u64,
    errors_timeout: u64,
    errors_rate_limited: u64,
    errors_server_error: u64,
    errors_bad_request: u64,
    errors_content_filter: u64,
    errors_cancelled: u64,
    errors_other: u64,
    retries: u64,
    fallbacks: u64,
    streaming: u64,
    ttft_p50_ms: Option<f64>,
    ttft_p95_ms: Option<f64>,
    ttft_p99_ms: Option<f64>,
    tpot_p95_ms: Option<f64>,
    feedback_samples: u64,
}

impl<'a> StatsRow<'a> {
    fn new(model: &'a str, s: &Stats) -> Self {
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
        Self {
            model,
            count: s.count,
            errors: s.errors,
            cache_hits: s.cache_hits,
            error_rate: s.error_rate,
            cache_hit_rate: s.cache_hit_rate,
            throughput_per_sec: s.throughput_per_sec,
            cost_usd: s.cost_usd,
            mean_cost_usd: s.mean_cost_usd,
            cost_efficiency: s.cost_efficiency,
            mean_ms: ms(s.latency.mean),
            p50_ms: ms(s.latency.p50),
            p90_ms: ms(s.latency.p90),
            p95_ms: ms(s.latency.p95),
            p99_ms: ms(s.latency.p99),
            max_ms: ms(s.latency.max),
            mean_accuracy: s.mean_accuracy,
            mean_satisfaction: s.mean_satisfaction,
            input_tokens: s.input_tokens,
            output_tokens: s.output_tokens,
            errors_timeout: kind(s, ErrorKind::Timeout),
            errors_rate_limited: kind(s, ErrorKind::RateLimited),
            errors_server_error: kind(s, ErrorKind::ServerError),
            errors_bad_request: kind(s, ErrorKind::BadRequest),
            errors_content_filter: kind(s, ErrorKind::ContentFilter),
            errors_cancelled: kind(s, ErrorKind::Cancelled),
            errors_other: kind(s, ErrorKind::Other),
            retries: s.retries,
            fallbacks: s.fallbacks,
            streaming: s.streaming,
            ttft_p50_ms: s.time_to_first_token.map(|t| ms(t.p50)),
            ttft_p95_ms: s.time_to_first_token.map(|t| ms(t.p95)),
            ttft_p99_ms: s.time_to_first_token.map(|t| ms(t.p99)),
            tpot_p95_ms: s.time_per_output_token.map(|t| ms(t.p95)),
            feedback_samples: s.feedback_samples,
        }
    }
}

fn kind(s: &Stats, k: ErrorKind) -> u64 {
    s.errors_by_kind.get(&k).copied().unwrap_or(0)
}

#[derive(Serialize)]
struct RecommendationRow<'a> {
    id: &'a str,
    heuristic: &'a str,
    kind: String,
    priority: String,
    title: &'a str,
    savings_usd_per_30d: Option<f64>,
    auto_apply: bool,
    model: Option<&'a str>,
}

#[derive(Serialize)]
struct EvidenceRow<'a> {
    recommendation_id: &'a str,
    name: &'a str,
    value: f64,
    unit: &'a str,
}

fn recommendation_tables(recs: &[Recommendation]) -> Result<[CsvTable; 2], ReportError> {
    Ok([
        table(
            "recommendations",
            recs.iter().map(|r| RecommendationRow {
                id: &r.id,
                heuristic: &r.heuristic,
                kind: r.kind.to_string(),
                priority: r.priority.to_string(),
                title: &r.title,
                savings_usd_per_30d: r.savings_usd_per_30d,
                auto_apply: r.auto_apply,
                model: r.model.as_deref(),
            }),
        )?,
        table(
            "evidence",
            recs.iter().flat_map(|r| {
                r.evidence.iter().map(|e| EvidenceRow {
                    recommendation_id: &r.id,
                    name: &e.name,
                    value: e.value,
                    unit: &e.unit,
                })
            }),
        )?,
    ])
}

#[derive(Serialize)]
struct PeriodRow {
    start_ms: u64,
    end_ms: u64,
    generated_at_ms: u64,
}

fn ms_since_epoch(t: std::time::SystemTime) -> u64 {
    to_unix_nanos(t) / 1_000_000
}

impl PerformanceReport {
    /// The report as pretty JSON.
    ///
    /// # Errors
    ///
    /// [`ReportError::Json`] only if serialization fails, which the report's types
    /// do not cause.
    pub fn to_json(&self) -> Result<String, ReportError> {
        json(self)
    }

    /// One CSV table per section: `period`, `overview`, `models`, `health`, `trends`,
    /// `bottlenecks`, `recommendations`, `evidence`, `alerts`.
    ///
    /// # Errors
    ///
    /// [`ReportError::Csv`] if writing fails (it does not for in-memory tables).
    pub fn to_csv(&self) -> Result<Vec<CsvTable>, ReportError> {
        let [recs, evidence] = recommendation_tables(&self.recommendations)?;
        #[derive(Serialize)]
        struct AlertRow<'a> {
            status: &'a str,
            rule_id: &'a str,
            scope: String,
            severity: String,
            started_at_ms: u64,
            ended_at_ms: Option<u64>,
        }
        let alerts = self
            .alerts
            .active
            .iter()
            .map(|a| AlertRow {
                status: "active",
                rule_id: &a.rule_id,
                scope: a.scope.to_string(),
                severity: a.severity.to_string(),
                started_at_ms: ms_since_epoch(a.started_at),
                ended_at_ms: None,
            })
            .chain(self.alerts.resolved.iter().map(|a| AlertRow {
                status: "resolved",
                rule_id: &a.rule_id,
                scope: a.scope.to_string(),
                severity: a.peak_severity.to_string(),
                started_at_ms: ms_since_epoch(a.started_at),
                ended_at_ms: Some(ms_since_epoch(a.resolved_at)),
            }));
        Ok(vec![
            table(
                "period",
                [PeriodRow {
                    start_ms: ms_since_epoch(self.period.start),
                    end_ms: ms_since_epoch(self.period.end),
                    generated_at_ms: ms_since_epoch(self.generated_at),
                }],
            )?,
            table("overview", [StatsRow::new("(all)", &self.overview)])?,
            table(
                "models",
                self.models.iter().map(|(m, s)| StatsRow::new(m, s)),
            )?,
            table("health", &self.health.components)?,
            table("trends", &self.trends)?,
            table("bottlenecks", &self.bottlenecks)?,
            recs,
            evidence,
            table("alerts", alerts)?,
        ])
    }
}

impl CostReport {
    /// The report as pretty JSON.
    ///
    /// # Errors
    ///
    /// [`ReportError::Json`] only if serialization fails, which the report's types
    /// do not cause.
    pub fn to_json(&self) -> Result<String, ReportError> {
        json(self)
    }

    /// One CSV table per section: `summary`, `trend`, `models`, `savings`, `budgets`,
    /// `unpriced`, `by_dimension` (one row per dimension value), `recommendations`,
    /// `evidence`.
    ///
    /// # Errors
    ///
    /// [`ReportError::Csv`] if writing fails (it does not for in-memory tables).
    pub fn to_csv(&self) -> Result<Vec<CsvTable>, ReportError> {
        #[derive(Serialize)]
        struct SummaryRow {
            start_ms: u64,
            end_ms: u64,
            spend_usd: f64,
            selections: u64,
            cost_per_selection_usd: Option<f64>,
            cost_efficiency: Option<f64>,
            projected_30d_usd: f64,
            spend_trend_per_interval: Option<f64>,
            spend_trend_t: Option<f64>,
        }
        #[derive(Serialize)]
        struct DimensionRow<'a> {
            dimension: &'a str,
            value: &'a str,
            selections: u64,
            cost_usd: f64,
            share: f64,
            fallbacks: u64,
            fallback_rate: f64,
            error_rate: f64,
            input_tokens: u64,
            output_tokens: u64,
            cached_input_tokens: u64,
            reasoning_tokens: u64,
        }
        let [recs, evidence] = recommendation_tables(&self.recommendations)?;
        Ok(vec![
            table(
                "summary",
                [SummaryRow {
                    start_ms: ms_since_epoch(self.period.start),
                    end_ms: ms_since_epoch(self.period.end),
                    spend_usd: self.spend_usd,
                    selections: self.selections,
                    cost_per_selection_usd: self.cost_per_selection_usd,
                    cost_efficiency: self.cost_efficiency,
                    projected_30d_usd: self.projected_30d_usd,
                    spend_trend_per_interval: self
                        .spend_trend
                        .as_ref()
                        .map(|t| t.slope_per_interval),
                    spend_trend_t: self.spend_trend.as_ref().map(|t| t.t),
                }],
            )?,
            table("trend", &self.trend)?,
            table("models", &self.models)?,
            table("savings", [&self.savings])?,
            table("budgets", &self.budgets)?,
            table("unpriced", &self.unpriced)?,
            table(
                "by_dimension",
                self.by_dimension.iter().flat_map(|d| {
                    d.values.iter().map(move |v| DimensionRow {
                        dimension: &d.dimension,
                        value: &v.value,
                        selections: v.selections,
                        cost_usd: v.cost_usd,
                        share: v.share,
                        fallbacks: v.fallbacks,
                        fallback_rate: v.fallback_rate,
                        error_rate: v.error_rate,
                        input_tokens: v.input_tokens,
                        output_tokens: v.output_tokens,
                        cached_input_tokens: v.cached_input_tokens,
                        reasoning_tokens: v.reasoning_tokens,
                    })
                }),
            )?,
            recs,
            evidence,
        ])
    }
}

fn write_recommendations(f: &mut fmt::Formatter<'_>, recs: &[Recommendation]) -> fmt::Result {
    if recs.is_empty() {
        return writeln!(f, "recommendations: none");
    }
    writeln!(f, "recommendations:")?;
    for (i, r) in recs.iter().enumerate() {
        writeln!(f, "  {}. {r}", i + 1)?;
        if !r.description.is_empty() {
            writeln!(f, "     {}", r.description)?;
        }
    }
    Ok(())
}

fn write_period(
    f: &mut fmt::Formatter<'_>,
    title: &str,
    start: std::time::SystemTime,
    end: std::time::SystemTime,
) -> fmt::Result {
    let secs = |t| to_unix_nanos(t) / 1_000_000_000;
    writeln!(
        f,
        "{title}: {} to {}",
        rfc3339(secs(start)),
        rfc3339(secs(end))
    )
}

fn write_trend(f: &mut fmt::Formatter<'_>, trend: &[TrendPoint]) -> fmt::Result {
    if trend.is_empty() {
        return Ok(());
    }
    let max = trend.iter().map(|p| p.cost_usd).fold(0.0, f64::max);
    writeln!(f, "spend by interval:")?;
    for p in trend {
        let bar = if max > 0.0 {
            (p.cost_usd / max * 40.0).round() as usize
        } else {
            0
        };
        writeln!(
            f,
            "  {} {:>10.2} {}",
            rfc3339(to_unix_nanos(p.start) / 1_000_000_000),
            p.cost_usd,
            "#".repeat(bar)
        )?;
    }
    Ok(())
}

impl fmt::Display for PerformanceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_period(f, "performance report", self.period.start, self.period.end)?;
        let ms = |d: std::time::Duration| format!("{:.0}ms", d.as_secs_f64() * 1000.0);
        writeln!(
            f,
            "{:<20} {:>8} {:>7} {:>7} {:>8} {:>8} {:>8} {:>6}",
            "model", "count", "errors", "cache", "p50", "p95", "p99", "acc"
        )?;
        let rows = self.models.iter().map(|(m, s)| (m.as_str(), s));
        for (m, s) in rows.chain([("all models", &self.overview)]) {
            writeln!(
                f,
                "{:<20} {:>8} {:>6.1}% {:>6.1}% {:>8} {:>8} {:>8} {:>6}",
                m,
                s.count,
                s.error_rate * 100.0,
                s.cache_hit_rate * 100.0,
                ms(s.latency.p50),
                ms(s.latency.p95),
                ms(s.latency.p99),
                s.mean_accuracy.map_or("-".into(), |a| format!("{a:.3}")),
            )?;
        }
        let streamed: Vec<_> = self
            .models
            .iter()
            .filter_map(|(m, s)| Some((m, s.time_to_first_token?, s)))
            .collect();
        if !streamed.is_empty() {
            writeln!(f, "time to first token (streamed selections):")?;
            for (m, t, s) in streamed {
                let tpot = s
                    .time_per_output_token
                    .map(|t| format!(", {} per output token at p95", ms(t.p95)))
                    .unwrap_or_default();
                writeln!(
                    f,
                    "  {m}: p50 {} p95 {} p99 {} over {}{tpot}",
                    ms(t.p50),
                    ms(t.p95),
                    ms(t.p99),
                    s.streaming
                )?;
            }
        }
        if self.overview.errors > 0 {
            write!(f, "errors by kind:")?;
            for (k, n) in &self.overview.errors_by_kind {
                write!(f, " {k} {n}")?;
            }
            writeln!(
                f,
                " ({} retries, {} fallbacks)",
                self.overview.retries, self.overview.fallbacks
            )?;
        }
        match self.health.score {
            Some(score) => {
                write!(f, "health score: {score:.0}/100 (")?;
                for (i, c) in self.health.components.iter().enumerate() {
                    write!(
                        f,
                        "{}{} {:.0}",
                        if i > 0 { ", " } else { "" },
                        c.kpi,
                        c.score
                    )?;
                }
                writeln!(f, ")")?;
            }
            None => writeln!(f, "health score: no data")?,
        }
        if !self.bottlenecks.is_empty() {
            writeln!(f, "bottlenecks:")?;
            for b in &self.bottlenecks {
                writeln!(
                    f,
                    "  {} {} {}: {:.4} past {:.4}",
                    b.severity, b.model, b.kpi, b.value, b.threshold
                )?;
            }
        }
        writeln!(
            f,
            "alerts: {} open, {} resolved in the period",
            self.alerts.active.len(),
            self.alerts.resolved.len()
        )?;
        let a = &self.alerts;
        if !a.incidents.is_empty() {
            let mttr = a
                .incident_mean_time_to_resolve
                .map(|d| format!(", mean time to resolve {}m", d.as_secs() / 60))
                .unwrap_or_default();
            writeln!(f, "incidents: {}{mttr}", a.incidents.len())?;
            for i in &a.incidents {
                let state = match i.time_to_resolve() {
                    Some(d) => format!("resolved after {}m", d.as_secs() / 60),
                    None => "open".to_owned(),
                };
                writeln!(
                    f,
                    "  #{} {} {} ({} alerts, {state})",
                    i.id,
                    i.peak_severity,
                    i.title,
                    i.alerts.len()
                )?;
            }
        }
        write_recommendations(f, &self.recommendations)
    }
}

impl fmt::Display for CostReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_period(f, "cost report", self.period.start, self.period.end)?;
        writeln!(
            f,
            "spend ${:.2} over {} selections (${:.5} each), cost efficiency {}",
            self.spend_usd,
            self.selections,
            self.cost_per_selection_usd.unwrap_or(0.0),
            self.cost_efficiency
                .map_or("-".into(), |e| format!("{:.1}%", e * 100.0)),
        )?;
        writeln!(
            f,
            "{:<20} {:>10} {:>7} {:>10} {:>10}",
            "model", "spend", "share", "$/sel", "efficiency"
        )?;
        for m in &self.models {
            writeln!(
                f,
                "{:<20} {:>10.2} {:>6.1}% {:>10.5} {:>10}",
                m.model,
                m.cost_usd,
                m.share * 100.0,
                m.mean_cost_usd.unwrap_or(0.0),
                m.cost_efficiency
                    .map_or("-".into(), |e| format!("{:.1}%", e * 100.0)),
            )?;
        }
        let s = &self.savings;
        if let (Some(r), Some(v)) = (&s.reference_model, s.vs_reference_usd) {
            writeln!(f, "saved vs sending everything to {r}: ${v:.2}")?;
        }
        if let Some(c) = s.from_cache_usd {
            writeln!(f, "saved by cache hits: ${c:.2}")?;
        }
        writeln!(
            f,
            "projected spend, next 30 days: ${:.2}",
            self.projected_30d_usd
        )?;
        for d in &self.by_dimension {
            writeln!(f, "spend by {}:", d.dimension)?;
            for v in &d.values {
                writeln!(
                    f,
                    "  {:<20} {:>10.2} {:>6.1}% {:>8} sel, {:>5.1}% errors, {:>5.1}% fallbacks",
                    v.value,
                    v.cost_usd,
                    v.share * 100.0,
                    v.selections,
                    v.error_rate * 100.0,
                    v.fallback_rate * 100.0,
                )?;
            }
        }
        for b in &self.budgets {
            let whose = match &b.scope {
                crate::cost::BudgetScope::Fleet => String::new(),
                scope => format!("{scope} "),
            };
            writeln!(
                f,
                "{whose}{} budget ${:.2}: {:.1}% used, projected ${:.2} ({:.1}%){}",
                b.period,
                b.limit_usd,
                b.used * 100.0,
                b.projected_usd,
                b.projected_used * 100.0,
                b.runs_out_at.map_or(String::new(), |t| format!(
                    ", runs out {}",
                    rfc3339(to_unix_nanos(t) / 1_000_000_000)
                ))
            )?;
        }
        if !self.unpriced.is_empty() {
            let list: Vec<String> = self.unpriced.iter().map(ToString::to_string).collect();
            writeln!(
                f,
                "unpriced, selections without a cost and no price: {}",
                list.join(", ")
            )?;
        }
        write_trend(f, &self.trend)?;
        write_recommendations(f, &self.recommendations)
    }
}
