//! What a rendered report says, in order: headings, headline tiles, tables and charts,
//! built once from the reports so the HTML and the PDF renderings carry the same
//! content.

use std::time::{Duration, SystemTime};

use plotters::coord::Shift;
use plotters::prelude::{DrawingArea, DrawingBackend};

use crate::calendar::rfc3339_time;
use crate::reports::draw::{self, DrawResult};
use crate::reports::{CostReport, PerformanceReport, ReportCharts};

fn names(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// The charts a report can hold, by the name in the HTML's `data-chart` attribute.
pub const CHART_NAMES: [&str; 7] = [
    "latency-over-time",
    "latency-distribution",
    "selections-and-errors",
    "cache-hit-rate",
    "spend-by-model",
    "budget-burn",
    "alert-timeline",
];

/// One chart of a report.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Chart {
    /// p50/p95/p99 of one model.
    LatencyOverTime(String),
    /// The latency distribution of the busiest models.
    LatencyDistribution(Vec<String>),
    /// Selections and error rate of the fleet.
    SelectionsAndErrors,
    /// Cache hit rate of the busiest models.
    CacheHitRate(Vec<String>),
    /// Spend stacked by model.
    SpendByModel(Vec<String>),
    /// One budget's burn, by index in the charts' budgets.
    BudgetBurn(usize),
    /// Alerts and incidents on the period's time axis.
    AlertTimeline,
}

impl Chart {
    /// The `data-chart` name, one of [`CHART_NAMES`].
    pub(crate) fn name(&self) -> &'static str {
        let i = match self {
            Self::LatencyOverTime(_) => 0,
            Self::LatencyDistribution(_) => 1,
            Self::SelectionsAndErrors => 2,
            Self::CacheHitRate(_) => 3,
            Self::SpendByModel(_) => 4,
            Self::BudgetBurn(_) => 5,
            Self::AlertTimeline => 6,
        };
        CHART_NAMES[i]
    }

    /// Draws the chart on `area`.
    pub(crate) fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        src: &Source<'_>,
    ) -> DrawResult {
        let c = src.charts;
        let period = (src.performance.period.start, src.performance.period.end);
        match self {
            Self::LatencyOverTime(m) => draw::latency_over_time(area, m, c, period),
            Self::LatencyDistribution(m) => draw::latency_distribution(area, &names(m), c),
            Self::SelectionsAndErrors => draw::selections_and_errors(area, c, period),
            Self::CacheHitRate(m) => draw::cache_hit_rate(area, &names(m), c, period),
            Self::SpendByModel(m) => draw::spend_by_model(area, &names(m), c, period),
            Self::BudgetBurn(i) => match src.charts.budgets.get(*i) {
                Some(b) => draw::budget_burn(area, b),
                None => Err(format!("no budget {i}")),
            },
            Self::AlertTimeline => draw::alert_timeline(area, src.performance),
        }
    }
}

/// One block of a report, top to bottom.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Block {
    /// A section heading.
    Heading(String),
    /// A paragraph.
    Text(String),
    /// Headline numbers: `(label, value)`.
    Tiles(Vec<(String, String)>),
    /// A table: header and rows.
    Table(Vec<String>, Vec<Vec<String>>),
    /// Charts side by side (two per row in HTML), each with its caption.
    Charts(Vec<(Chart, String)>),
}

/// What the reports are rendered from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Source<'a> {
    pub performance: &'a PerformanceReport,
    pub cost: &'a CostReport,
    pub charts: &'a ReportCharts,
}

/// A report's title and blocks.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Document {
    pub title: String,
    pub subtitle: String,
    pub blocks: Vec<Block>,
}

fn pct(x: f64) -> String {
    format!("{:.2}%", x * 100.0)
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms >= 10_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else {
        format!("{ms:.0} ms")
    }
}

fn usd(x: f64) -> String {
    if x.abs() >= 100.0 {
        format!("${x:.0}")
    } else {
        format!("${x:.2}")
    }
}

fn opt(x: Option<f64>, f: impl Fn(f64) -> String) -> String {
    x.map_or_else(|| "-".to_owned(), f)
}

/// `YYYY-MM-DD HH:MM` UTC: the report's times, short enough for a table cell.
fn time(t: SystemTime) -> String {
    let full = rfc3339_time(t);
    format!("{} {}", &full[..10], &full[11..16])
}

fn change(c: Option<&crate::reports::ComparisonRow>) -> String {
    match c.and_then(|r| r.change_pct) {
        Some(p) => format!("{p:+.1}%"),
        None => "-".to_owned(),
    }
}

impl Document {
    /// The report's content from `src`; `title` names the report (`"Daily report"`).
    pub(crate) fn build(title: &str, src: &Source<'_>) -> Self {
        let p = src.performance;
        let c = src.cost;
        let o = &p.overview;
        let busiest: Vec<String> = draw::busiest(p).into_iter().map(str::to_owned).collect();
        let mut blocks = vec![Block::Tiles(vec![
            ("Selections".into(), o.count.to_string()),
            ("Error rate".into(), pct(o.error_rate)),
            ("p95 latency".into(), ms(o.latency.p95)),
            ("Cache hit rate".into(), pct(o.cache_hit_rate)),
            ("Spend".into(), usd(c.spend_usd)),
            ("Projected 30 days".into(), usd(c.projected_30d_usd)),
            (
                "Health".into(),
                opt(p.health.score, |s| format!("{s:.0} / 100")),
            ),
            ("Open alerts".into(), p.alerts.active.len().to_string()),
        ])];

        blocks.push(Block::Heading("Latency".into()));
        let mut latency: Vec<(Chart, String)> = busiest
            .iter()
            .map(|m| {
                (
                    Chart::LatencyOverTime(m.clone()),
                    format!("p50, p95 and p99 of {m} per interval."),
                )
            })
            .collect();
        latency.push((
            Chart::LatencyDistribution(busiest.clone()),
            "Share of each model's selections per latency bin over the whole period (from the HDR histograms).".into(),
        ));
        blocks.push(Block::Charts(latency));

        blocks.push(Block::Heading("Traffic and errors".into()));
        blocks.push(Block::Charts(vec![
            (
                Chart::SelectionsAndErrors,
                "Selections per interval (bars) and the fleet's error rate (line, right axis); the last interval may be partial."
                    .into(),
            ),
            (
                Chart::CacheHitRate(busiest.clone()),
                "Cache hit rate per interval, by model.".into(),
            ),
        ]));

        blocks.push(Block::Heading("Models".into()));
        blocks.push(Block::Table(
            [
                "model",
                "selections",
                "error rate",
                "cache hits",
                "p50",
                "p95",
                "p99",
                "spend",
                "p95 change",
                "error change",
                "spend change",
            ]
            .map(String::from)
            .to_vec(),
            p.models
                .iter()
                .map(|(m, s)| {
                    let cmp = src.charts.comparisons.get(m);
                    let row = |k: &str| cmp.and_then(|c| c.row(k));
                    vec![
                        m.clone(),
                        s.count.to_string(),
                        pct(s.error_rate),
                        pct(s.cache_hit_rate),
                        ms(s.latency.p50),
                        ms(s.latency.p95),
                        ms(s.latency.p99),
                        usd(s.cost_usd),
                        change(row("p95_ms")),
                        change(row("error_rate")),
                        change(row("cost_usd")),
                    ]
                })
                .collect(),
        ));
        blocks.push(Block::Text(
            match src.charts.comparisons.values().next().map(|c| c.a.as_str()) {
                Some(label) if label != "previous period" => format!(
                    "Changes are against the baseline \"{label}\"; '-' where a model had no traffic in it."
                ),
                _ => "Changes are against the previous period of the same length; '-' where a model had no traffic then.".to_owned(),
            },
        ));

        blocks.push(Block::Heading("Cost".into()));
        let mut cost_charts = vec![(
            Chart::SpendByModel(busiest.clone()),
            "Spend per hour in each interval, stacked by model; the models not drawn separately are one grey layer on top.".into(),
        )];
        for (i, b) in src.charts.budgets.iter().enumerate() {
            let s = &b.status;
            cost_charts.push((
                Chart::BudgetBurn(i),
                format!(
                    "{}{} budget: {} of {} spent ({}), projected {} by the period's end{}.",
                    match &s.scope {
                        crate::cost::BudgetScope::Fleet => String::new(),
                        scope => format!("{scope} "),
                    },
                    s.period,
                    usd(s.spent_usd),
                    usd(s.limit_usd),
                    pct(s.used),
                    usd(s.projected_usd),
                    s.runs_out_at
                        .map(|t| format!("; runs out at {}", time(t)))
                        .unwrap_or_default()
                ),
            ));
        }
        blocks.push(Block::Charts(cost_charts));
        blocks.push(Block::Table(
            [
                "model",
                "selections",
                "spend",
                "share",
                "per selection",
                "cache savings",
            ]
            .map(String::from)
            .to_vec(),
            c.models
                .iter()
                .map(|m| {
                    vec![
                        m.model.clone(),
                        m.selections.to_string(),
                        usd(m.cost_usd),
                        pct(m.share),
                        opt(m.mean_cost_usd, |x| format!("${x:.5}")),
                        opt(m.cache_savings_usd, usd),
                    ]
                })
                .collect(),
        ));

        if !c.unpriced.is_empty() {
            let list: Vec<String> = c.unpriced.iter().map(ToString::to_string).collect();
            blocks.push(Block::Text(format!(
                "Not in the spend: selections without a cost of models the price table has no price for: {}.",
                list.join(", ")
            )));
        }
        for d in &c.by_dimension {
            blocks.push(Block::Heading(format!("Spend by {}", d.dimension)));
            blocks.push(Block::Table(
                [
                    d.dimension.as_str(),
                    "selections",
                    "spend",
                    "share",
                    "errors",
                    "fallbacks",
                    "tokens in / cached",
                    "tokens out / reasoning",
                ]
                .map(String::from)
                .to_vec(),
                d.values
                    .iter()
                    .map(|v| {
                        vec![
                            v.value.clone(),
                            v.selections.to_string(),
                            usd(v.cost_usd),
                            pct(v.share),
                            pct(v.error_rate),
                            pct(v.fallback_rate),
                            format!("{} / {}", v.input_tokens, v.cached_input_tokens),
                            format!("{} / {}", v.output_tokens, v.reasoning_tokens),
                        ]
                    })
                    .collect(),
            ));
        }

        blocks.push(Block::Heading("Alerts and incidents".into()));
        blocks.push(Block::Charts(vec![(
            Chart::AlertTimeline,
            "Incidents (red) and alerts (grey) from start to resolution; open ones run to the end of the period.".into(),
        )]));
        let a = &p.alerts;
        let mut rows: Vec<Vec<String>> = a
            .incidents
            .iter()
            .map(|i| {
                vec![
                    "incident".into(),
                    i.title.clone(),
                    i.peak_severity.to_string(),
                    time(i.started_at),
                    i.resolved_at.map_or_else(|| "open".into(), time),
                ]
            })
            .collect();
        rows.extend(a.active.iter().map(|al| {
            vec![
                "alert".into(),
                format!("{} {}: {}", al.rule_id, al.scope, al.message),
                al.severity.to_string(),
                time(al.started_at),
                "open".into(),
            ]
        }));
        rows.extend(a.resolved.iter().map(|r| {
            vec![
                "alert".into(),
                format!("{} {}", r.rule_id, r.scope),
                r.peak_severity.to_string(),
                time(r.started_at),
                time(r.resolved_at),
            ]
        }));
        if rows.is_empty() {
            blocks.push(Block::Text("No alerts in the period.".into()));
        } else {
            blocks.push(Block::Table(
                ["kind", "what", "severity", "started", "resolved"]
                    .map(String::from)
                    .to_vec(),
                rows,
            ));
        }

        blocks.push(Block::Heading("Recommendations".into()));
        if p.recommendations.is_empty() {
            blocks.push(Block::Text("No recommendations.".into()));
        }
        for (i, r) in p.recommendations.iter().enumerate() {
            let savings = r
                .savings_usd_per_30d
                .map(|s| format!(" Estimated savings: {} per 30 days.", usd(s)))
                .unwrap_or_default();
            blocks.push(Block::Text(format!(
                "{}. [{}] {} {}{savings}",
                i + 1,
                r.priority,
                r.title,
                r.description
            )));
            if !r.evidence.is_empty() {
                blocks.push(Block::Table(
                    ["evidence", "value", "unit"].map(String::from).to_vec(),
                    r.evidence
                        .iter()
                        .map(|e| vec![e.name.clone(), format!("{:.4}", e.value), e.unit.clone()])
                        .collect(),
                ));
            }
        }
        Self {
            title: title.to_owned(),
            subtitle: format!(
                "{} to {} (UTC), generated {}",
                time(p.period.start),
                time(p.period.end),
                time(p.generated_at)
            ),
            blocks,
        }
    }
}

impl crate::reports::Reports {
    /// The content to render and what its charts are drawn from.
    pub(crate) fn document(&self) -> (Document, Source<'_>) {
        let src = Source {
            performance: &self.performance,
            cost: &self.cost,
            charts: &self.charts,
        };
        (Document::build("modelmeter report", &src), src)
    }
}

impl crate::reports::ScheduledReport {
    /// The content to render, titled by the schedule, and what its charts are drawn
    /// from.
    pub(crate) fn document(&self) -> (Document, Source<'_>) {
        let src = Source {
            performance: &self.performance,
            cost: &self.cost,
            charts: &self.charts,
        };
        let title = match self.schedule {
            crate::reports::ReportSchedule::Hourly => "modelmeter hourly report",
            crate::reports::ReportSchedule::Daily => "modelmeter daily report",
            crate::reports::ReportSchedule::Weekly => "modelmeter weekly report",
        };
        (Document::build(title, &src), src)
    }
}
