//! The reports' charts, drawn with `plotters` on any of its backends: the HTML report
//! draws them to SVG, the PDF report to PDF vector graphics, so both show the same
//! pictures.
//!
//! Colours step through lightness (dark to light) and lines also differ in width, so a
//! chart printed in greyscale still tells its series apart.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::reports::{PerformanceReport, ReportCharts, TrendPoint};

/// A drawing failure, as text: the page shows it in place of the chart.
pub(crate) type DrawResult = Result<(), String>;

/// Series colours, darkest first; neighbours differ by at least 15% in luminance.
pub(crate) const PALETTE: [RGBColor; 6] = [
    RGBColor(0x1b, 0x2a, 0x4a),
    RGBColor(0xb2, 0x3a, 0x48),
    RGBColor(0x2f, 0x7f, 0x6f),
    RGBColor(0xd9, 0x8c, 0x1f),
    RGBColor(0x8e, 0x9a, 0xaf),
    RGBColor(0xe9, 0xd9, 0x85),
];

/// The most models a per-model chart shows (the busiest ones); the tables list all.
pub(crate) const MAX_SERIES: usize = PALETTE.len();

/// Stroke width of series `i`: wider for darker colours, so lines differ in print too.
fn width(i: usize) -> u32 {
    (3 - i.min(2)) as u32
}

fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

fn err<E: std::fmt::Debug>(e: E) -> String {
    format!("{e:?}")
}

/// Seconds since the epoch.
fn secs(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

/// A time axis in whole hours (spans up to two days) or days since a UTC-aligned
/// origin, so plotters' round tick values land on round times.
#[derive(Debug, Clone, Copy)]
struct Axis {
    origin: f64,
    unit: f64,
}

impl Axis {
    fn new(first: f64, last: f64) -> Self {
        let unit = if last - first <= 2.0 * 86_400.0 {
            3_600.0
        } else {
            86_400.0
        };
        Self {
            origin: (first / unit).floor() * unit,
            unit,
        }
    }

    fn x(&self, t: SystemTime) -> f64 {
        (secs(t) - self.origin) / self.unit
    }

    fn len(&self, d: Duration) -> f64 {
        d.as_secs_f64() / self.unit
    }

    /// `HH:MM` UTC on an hour axis, `MM-DD` on a day axis.
    fn label(&self, x: f64) -> String {
        let s = (self.origin + x * self.unit).max(0.0).round() as u64;
        if self.unit < 86_400.0 {
            format!("{:02}:{:02}", s % 86_400 / 3600, s % 3600 / 60)
        } else {
            let (_, m, d) = crate::calendar::civil_from_days((s / 86_400) as i64);
            format!("{m:02}-{d:02}")
        }
    }
}

/// The time axis of intervals of `step` that start at `starts`, and its `(start, end)`.
fn x_range(starts: impl Iterator<Item = SystemTime> + Clone, step: Duration) -> (Axis, f64, f64) {
    let first = starts.clone().map(secs).fold(f64::INFINITY, f64::min);
    let last = starts.map(secs).fold(f64::NEG_INFINITY, f64::max);
    let (first, last) = if first.is_finite() {
        (first, last + step.as_secs_f64().max(1.0))
    } else {
        (0.0, 3_600.0)
    };
    let ax = Axis::new(first, last);
    (
        ax,
        (first - ax.origin) / ax.unit,
        (last - ax.origin) / ax.unit,
    )
}

/// The upper end of a value axis: 10% above the largest value, never empty.
fn top(values: impl Iterator<Item = f64>) -> f64 {
    let m = values.filter(|v| v.is_finite()).fold(0.0, f64::max);
    if m > 0.0 { m * 1.1 } else { 1.0 }
}

/// The busiest models of a report, at most [`MAX_SERIES`], in a stable order.
pub(crate) fn busiest(report: &PerformanceReport) -> Vec<&str> {
    let mut models: Vec<(&str, u64)> = report
        .models
        .iter()
        .map(|(m, s)| (m.as_str(), s.count))
        .collect();
    models.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    models.truncate(MAX_SERIES);
    models.into_iter().map(|(m, _)| m).collect()
}

fn caption_font() -> TextStyle<'static> {
    ("sans-serif", 16).into_font().into()
}

fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
) -> DrawResult {
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 12))
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(err)
}

/// p50, p95 and p99 of one model over the period.
pub(crate) fn latency_over_time<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    model: &str,
    charts: &ReportCharts,
) -> DrawResult {
    let points = charts.models.get(model).map_or(&[][..], Vec::as_slice);
    let (ax, x0, x1) = x_range(points.iter().map(|p| p.start), charts.step);
    let y1 = top(points.iter().map(|p| p.p99_ms));
    let mut chart = ChartBuilder::on(area)
        .caption(format!("Latency of {model}"), caption_font())
        .margin(8)
        .x_label_area_size(34)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1, 0.0..y1)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("time (UTC)")
        .y_desc("latency (ms)")
        .y_label_formatter(&|y| format!("{y:.0}"))
        .x_labels(6)
        .x_label_formatter(&|x| ax.label(*x))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(err)?;
    let half = ax.len(charts.step) / 2.0;
    for (i, (name, pick)) in [
        (
            "p99",
            (|p: &crate::reports::ModelPoint| p.p99_ms) as fn(&_) -> f64,
        ),
        ("p95", |p| p.p95_ms),
        ("p50", |p| p.p50_ms),
    ]
    .into_iter()
    .enumerate()
    {
        let style = colour(i).stroke_width(width(i));
        chart
            .draw_series(LineSeries::new(
                points
                    .iter()
                    .filter(|p| p.selections > 0)
                    .map(|p| (ax.x(p.start) + half, pick(p))),
                style,
            ))
            .map_err(err)?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
    }
    legend(&mut chart)
}

/// Each model's latency distribution over the period, as the share of its selections
/// per log-spaced bin.
pub(crate) fn latency_distribution<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    models: &[&str],
    charts: &ReportCharts,
) -> DrawResult {
    let dists: Vec<(&str, &[crate::reports::LatencyBin], u64)> = models
        .iter()
        .filter_map(|m| {
            let bins = charts.latency_distributions.get(*m)?;
            let total: u64 = bins.iter().map(|b| b.count).sum();
            (total > 0).then_some((*m, bins.as_slice(), total))
        })
        .collect();
    let lo = dists
        .iter()
        .filter_map(|d| d.1.first())
        .map(|b| b.low_ms)
        .fold(f64::INFINITY, f64::min);
    let hi = dists
        .iter()
        .filter_map(|d| d.1.last())
        .map(|b| b.high_ms)
        .fold(0.0, f64::max);
    let (lo, hi) = if lo.is_finite() && hi > lo {
        (lo, hi)
    } else {
        (1.0, 10.0)
    };
    let share = |b: &crate::reports::LatencyBin, total: u64| b.count as f64 / total as f64 * 100.0;
    let y1 = top(dists
        .iter()
        .flat_map(|(_, bins, t)| bins.iter().map(move |b| share(b, *t))));
    let mut chart = ChartBuilder::on(area)
        .caption("Latency distribution (log scale)", caption_font())
        .margin(8)
        .x_label_area_size(34)
        .y_label_area_size(60)
        .build_cartesian_2d((lo..hi).log_scale(), 0.0..y1)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("latency (ms, log scale)")
        .y_desc("share of selections (%)")
        .y_label_formatter(&|y| format!("{y:.0}"))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(err)?;
    for (i, (model, bins, total)) in dists.iter().enumerate() {
        let style = colour(i).stroke_width(width(i));
        // A step line: each bin is a flat top from its low to its high edge.
        let steps = bins.iter().flat_map(|b| {
            let y = share(b, *total);
            [(b.low_ms, y), (b.high_ms, y)]
        });
        chart
            .draw_series(LineSeries::new(steps, style))
            .map_err(err)?
            .label(*model)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 12))
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(err)
}

/// Selections per interval (bars) and the error rate (line, right axis).
pub(crate) fn requests_and_errors<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    trend: &[TrendPoint],
    step: Duration,
) -> DrawResult {
    let (ax, x0, x1) = x_range(trend.iter().map(|p| p.start), step);
    let y1 = top(trend.iter().map(|p| p.selections as f64));
    let e1 = top(trend.iter().map(|p| p.error_rate * 100.0));
    let mut chart = ChartBuilder::on(area)
        .caption("Selections and error rate", caption_font())
        .margin(8)
        .x_label_area_size(34)
        .y_label_area_size(60)
        .right_y_label_area_size(60)
        .build_cartesian_2d(x0..x1, 0.0..y1)
        .map_err(err)?
        .set_secondary_coord(x0..x1, 0.0..e1);
    chart
        .configure_mesh()
        .x_desc("time (UTC)")
        .y_desc("selections per interval")
        .y_label_formatter(&|y| format!("{y:.0}"))
        .x_labels(6)
        .x_label_formatter(&|x| ax.label(*x))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(err)?;
    chart
        .configure_secondary_axes()
        .y_desc("error rate (%)")
        .draw()
        .map_err(err)?;
    let w = ax.len(step);
    let bars = PALETTE[4];
    chart
        .draw_series(trend.iter().map(|p| {
            let x = ax.x(p.start);
            Rectangle::new(
                [(x + w * 0.1, 0.0), (x + w * 0.9, p.selections as f64)],
                bars.filled(),
            )
        }))
        .map_err(err)?
        .label("selections")
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], bars.filled()));
    let line = PALETTE[1].stroke_width(3);
    chart
        .draw_secondary_series(LineSeries::new(
            trend
                .iter()
                .filter(|p| p.selections > 0)
                .map(|p| (ax.x(p.start) + w / 2.0, p.error_rate * 100.0)),
            line,
        ))
        .map_err(err)?
        .label("error rate (%)")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], line));
    legend(&mut chart)
}

/// Each model's cache hit rate per interval.
pub(crate) fn cache_hit_rate<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    models: &[&str],
    charts: &ReportCharts,
) -> DrawResult {
    let all = models.iter().filter_map(|m| charts.models.get(*m));
    let (ax, x0, x1) = x_range(all.flatten().map(|p| p.start), charts.step);
    let mut chart = ChartBuilder::on(area)
        .caption("Cache hit rate", caption_font())
        .margin(8)
        .x_label_area_size(34)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1, 0.0..100.0)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("time (UTC)")
        .y_desc("cache hits (%)")
        .y_label_formatter(&|y| format!("{y:.0}"))
        .x_labels(6)
        .x_label_formatter(&|x| ax.label(*x))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(err)?;
    let half = ax.len(charts.step) / 2.0;
    for (i, model) in models.iter().enumerate() {
        let Some(points) = charts.models.get(*model) else {
            continue;
        };
        let style = colour(i).stroke_width(width(i));
        chart
            .draw_series(LineSeries::new(
                points
                    .iter()
                    .filter(|p| p.selections > 0)
                    .map(|p| (ax.x(p.start) + half, p.cache_hit_rate * 100.0)),
                style,
            ))
            .map_err(err)?
            .label(*model)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
    }
    legend(&mut chart)
}

/// Spend per interval, stacked by model.
pub(crate) fn spend_by_model<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    models: &[&str],
    charts: &ReportCharts,
) -> DrawResult {
    let series: Vec<(&str, &[crate::reports::ModelPoint])> = models
        .iter()
        .filter_map(|m| Some((*m, charts.models.get(*m)?.as_slice())))
        .collect();
    let n = series.first().map_or(0, |s| s.1.len());
    // Running sums per interval, bottom layer first.
    let mut stacked: Vec<Vec<f64>> = Vec::with_capacity(series.len());
    for (_, points) in &series {
        let below = stacked.last().cloned().unwrap_or_else(|| vec![0.0; n]);
        stacked.push(
            below
                .iter()
                .zip(points.iter())
                .map(|(b, p)| b + p.cost_usd)
                .collect(),
        );
    }
    let starts = series.first().map_or(&[][..], |s| s.1);
    let (ax, x0, x1) = x_range(starts.iter().map(|p| p.start), charts.step);
    let y1 = top(stacked.last().into_iter().flatten().copied());
    let mut chart = ChartBuilder::on(area)
        .caption("Spend per interval by model (stacked)", caption_font())
        .margin(8)
        .x_label_area_size(34)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, 0.0..y1)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("time (UTC)")
        .y_desc("spend (USD)")
        .x_labels(6)
        .x_label_formatter(&|x| ax.label(*x))
        .y_label_formatter(&|y| format!("${y:.2}"))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(err)?;
    let half = ax.len(charts.step) / 2.0;
    // Top layer first, so each lower layer is painted over the one above it.
    for (i, ((model, _), sums)) in series.iter().zip(&stacked).enumerate().rev() {
        let fill = colour(i);
        let points: Vec<(f64, f64)> = starts
            .iter()
            .zip(sums)
            .map(|(p, y)| (ax.x(p.start) + half, *y))
            .collect();
        chart
            .draw_series(AreaSeries::new(points, 0.0, fill.mix(0.9)).border_style(BLACK))
            .map_err(err)?
            .label(*model)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], fill.filled()));
    }
    legend(&mut chart)
}

/// A budget's spend so far, the projection to the period's end and the budget line.
pub(crate) fn budget_burn<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    burn: &crate::reports::BudgetBurn,
) -> DrawResult {
    let s = &burn.status;
    let ax = Axis::new(secs(s.period_start), secs(s.period_end));
    let (x0, x1) = (ax.x(s.period_start), ax.x(s.period_end));
    let y1 = top([s.limit_usd, s.projected_usd, s.spent_usd].into_iter());
    let mut chart = ChartBuilder::on(area)
        .caption(format!("{} budget burn", s.period), caption_font())
        .margin(8)
        .x_label_area_size(34)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, 0.0..y1)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("time (UTC)")
        .y_desc("spend since the period began (USD)")
        .x_labels(6)
        .x_label_formatter(&|x| ax.label(*x))
        .y_label_formatter(&|y| format!("${y:.0}"))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(err)?;
    let limit = PALETTE[1].stroke_width(2);
    chart
        .draw_series(LineSeries::new(
            [(x0, s.limit_usd), (x1, s.limit_usd)],
            limit,
        ))
        .map_err(err)?
        .label(format!("budget ${:.0}", s.limit_usd))
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], limit));
    let spent = PALETTE[0].stroke_width(3);
    chart
        .draw_series(LineSeries::new(
            burn.spent.iter().map(|p| (ax.x(p.at), p.cumulative_usd)),
            spent,
        ))
        .map_err(err)?
        .label("spent")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], spent));
    let last = burn
        .spent
        .last()
        .map_or((x0, 0.0), |p| (ax.x(p.at), p.cumulative_usd));
    let projected = PALETTE[3].stroke_width(2);
    chart
        .draw_series(DashedLineSeries::new(
            [last, (x1, s.projected_usd)],
            6,
            4,
            projected,
        ))
        .map_err(err)?
        .label(format!("projected ${:.0}", s.projected_usd))
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], projected));
    legend(&mut chart)
}

/// The period's alerts and incidents as bars from start to resolution (or the end of
/// the period when still open).
pub(crate) fn alert_timeline<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    report: &PerformanceReport,
) -> DrawResult {
    let (start, end) = (secs(report.period.start), secs(report.period.end));
    let ax = Axis::new(start, end.max(start + 60.0));
    let (x0, x1) = (ax.x(report.period.start), ax.x(report.period.end).max(0.01));
    let a = &report.alerts;
    let mut rows: Vec<(String, f64, f64, bool)> = Vec::new();
    for i in &a.incidents {
        let end = i.resolved_at.map_or(x1, |t| ax.x(t));
        rows.push((
            format!("incident: {}", i.title),
            ax.x(i.started_at),
            end,
            true,
        ));
    }
    for r in &a.resolved {
        rows.push((
            format!("{} {}", r.rule_id, r.scope),
            ax.x(r.started_at),
            ax.x(r.resolved_at),
            false,
        ));
    }
    for al in &a.active {
        rows.push((
            format!("{} {} (open)", al.rule_id, al.scope),
            ax.x(al.started_at),
            x1,
            false,
        ));
    }
    rows.truncate(24);
    let n = rows.len().max(1) as f64;
    let mut chart = ChartBuilder::on(area)
        .caption("Alerts and incidents", caption_font())
        .margin(8)
        .x_label_area_size(34)
        .y_label_area_size(10)
        .build_cartesian_2d(x0..x1, 0.0..n)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("time (UTC)")
        .x_labels(6)
        .x_label_formatter(&|x| ax.label(*x))
        .disable_y_mesh()
        .y_labels(0)
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(err)?;
    // A bar is at least 1/200 of the axis wide, so a short alert is still visible.
    let min_width = (x1 - x0) / 200.0;
    chart
        .draw_series(
            rows.iter()
                .enumerate()
                .map(|(k, (_, start, end, is_incident))| {
                    let fill = if *is_incident { PALETTE[1] } else { PALETTE[4] };
                    let y = n - k as f64;
                    let (a, b) = (start.max(x0), end.min(x1).max(start + min_width));
                    Rectangle::new([(a, y - 0.85), (b, y - 0.15)], fill.filled())
                }),
        )
        .map_err(err)?;
    chart
        .draw_series(rows.iter().enumerate().map(|(k, (label, start, ..))| {
            Text::new(
                label.clone(),
                (start.max(x0), n - k as f64 - 0.1),
                ("sans-serif", 11).into_font(),
            )
        }))
        .map_err(err)?;
    Ok(())
}
