//! The reports' charts, drawn with `plotters` on any of its backends: the HTML report
//! draws them to SVG, the PDF report to PDF vector graphics, so both show the same
//! pictures.
//!
//! Colours are stops of the viridis map, whose lightness rises steadily from dark to
//! light, and the darker lines are also wider: a chart printed in greyscale still tells
//! its series apart. Every point is marked, so a one-interval series still shows, and a
//! line breaks where an interval had no traffic rather than bridging the gap.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::reports::{LatencyBin, PerformanceReport, ReportCharts, TrendPoint};

/// A drawing failure, as text: the page shows it in place of the chart.
pub(crate) type DrawResult = Result<(), String>;

/// Series colours, darkest first: viridis at six even stops, luma (0.299 R + 0.587 G +
/// 0.114 B) rising by at least 20 of 255 from each to the next.
pub(crate) const PALETTE: [RGBColor; 6] = [
    RGBColor(0x44, 0x01, 0x54),
    RGBColor(0x41, 0x44, 0x87),
    RGBColor(0x2a, 0x78, 0x8e),
    RGBColor(0x22, 0xa8, 0x84),
    RGBColor(0x7a, 0xd1, 0x51),
    RGBColor(0xfd, 0xe7, 0x25),
];

/// The grey of bars, of the "other models" layer and of alerts; the red of lines
/// that stand out (error rate, budget limit, incidents).
const GREY: RGBColor = RGBColor(0x9a, 0x9a, 0x9a);
const ACCENT: RGBColor = RGBColor(0xb2, 0x18, 0x2b);

/// The most models a per-model chart shows (the busiest ones); the tables list all.
pub(crate) const MAX_SERIES: usize = PALETTE.len();

/// Stroke width of series `i`: the two darkest widest, so lines differ in print too.
fn width(i: usize) -> u32 {
    if i < 2 { 3 } else { 2 }
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
    start: f64,
    end: f64,
}

impl Axis {
    /// The axis from `first` to `last`, seconds since the epoch.
    fn new(first: f64, last: f64) -> Self {
        let last = last.max(first + 60.0);
        let unit = if last - first <= 2.0 * 86_400.0 {
            3_600.0
        } else {
            86_400.0
        };
        let origin = (first / unit).floor() * unit;
        Self {
            origin,
            unit,
            start: (first - origin) / unit,
            end: (last - origin) / unit,
        }
    }

    /// The axis of intervals of `step` starting at `starts`, or of `period` when there
    /// are none.
    fn of(
        starts: impl Iterator<Item = SystemTime> + Clone,
        step: Duration,
        period: (SystemTime, SystemTime),
    ) -> Self {
        let first = starts.clone().map(secs).fold(f64::INFINITY, f64::min);
        let last = starts.map(secs).fold(f64::NEG_INFINITY, f64::max);
        if first.is_finite() {
            Self::new(first, last + step.as_secs_f64().max(60.0))
        } else {
            Self::new(secs(period.0), secs(period.1))
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

type TimeChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A chart with a time x axis and a value y axis from 0 to `y1`, its mesh drawn: the
/// set-up every time chart shares.
fn time_chart<'a, DB: DrawingBackend + 'a>(
    area: &'a DrawingArea<DB, Shift>,
    caption: &str,
    ax: &Axis,
    (y1, y_desc): (f64, &str),
    y_label: &dyn Fn(&f64) -> String,
) -> Result<TimeChart<'a, DB>, String> {
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 16))
        .margin(8)
        .margin_right(18)
        .x_label_area_size(34)
        .y_label_area_size(64)
        .build_cartesian_2d(ax.start..ax.end, 0.0..y1)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("time (UTC)")
        .y_desc(y_desc)
        .x_labels(6)
        .x_label_formatter(&|x| ax.label(*x))
        .y_label_formatter(y_label)
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(err)?;
    Ok(chart)
}

fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> DrawResult {
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 12))
        .position(position)
        .draw()
        .map_err(err)
}

/// Whole numbers, or one decimal below 10.
fn plain(y: &f64) -> String {
    if y.abs() < 10.0 && y.fract() != 0.0 {
        format!("{y:.1}")
    } else {
        format!("{y:.0}")
    }
}

/// Draws `points` (x, y, present) as a line broken where a point is absent, with a
/// marker on every present point, labelled `label` in the legend.
fn broken_line<DB: DrawingBackend>(
    chart: &mut TimeChart<'_, DB>,
    points: &[(f64, f64, bool)],
    style: ShapeStyle,
    label: &str,
) -> DrawResult {
    let runs = points.split(|p| !p.2).filter(|r| !r.is_empty());
    for run in runs {
        chart
            .draw_series(LineSeries::new(run.iter().map(|p| (p.0, p.1)), style))
            .map_err(err)?;
    }
    let size = style.stroke_width + 1;
    chart
        .draw_series(
            points
                .iter()
                .filter(|p| p.2)
                .map(|p| Circle::new((p.0, p.1), size, style.filled())),
        )
        .map_err(err)?
        .label(label)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
    Ok(())
}

/// p50, p95 and p99 of one model over the period.
pub(crate) fn latency_over_time<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    model: &str,
    charts: &ReportCharts,
    period: (SystemTime, SystemTime),
) -> DrawResult {
    let points = charts.models.get(model).map_or(&[][..], Vec::as_slice);
    let ax = Axis::of(points.iter().map(|p| p.start), charts.step, period);
    let y1 = top(points.iter().map(|p| p.p99_ms));
    let mut chart = time_chart(
        area,
        &format!("Latency of {model}"),
        &ax,
        (y1, "latency (ms)"),
        &plain,
    )?;
    let half = ax.len(charts.step) / 2.0;
    type Pick = fn(&TrendPoint) -> f64;
    let picks: [(&str, Pick); 3] = [
        ("p99", |p| p.p99_ms),
        ("p95", |p| p.p95_ms),
        ("p50", |p| p.p50_ms),
    ];
    for (i, (name, pick)) in picks.into_iter().enumerate() {
        let style = colour(i * 2).stroke_width(width(i));
        let xy: Vec<_> = points
            .iter()
            .map(|p| (ax.x(p.start) + half, pick(p), p.selections > 0))
            .collect();
        broken_line(&mut chart, &xy, style, name)?;
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft)
}

/// A latency-axis label: more decimals below 10 ms.
fn ms_label(x: &f64) -> String {
    if *x < 1.0 {
        format!("{x:.2}")
    } else if *x < 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.0}")
    }
}

/// Each model's latency distribution over the period, as the share of its selections
/// per log-spaced bin.
pub(crate) fn latency_distribution<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    models: &[&str],
    charts: &ReportCharts,
) -> DrawResult {
    let dists: Vec<(&str, &[LatencyBin], u64)> = models
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
    let share = |b: &LatencyBin, total: u64| b.count as f64 / total as f64 * 100.0;
    let y1 = top(dists
        .iter()
        .flat_map(|(_, bins, t)| bins.iter().map(move |b| share(b, *t))));
    let mut chart = ChartBuilder::on(area)
        .caption("Latency distribution (log scale)", ("sans-serif", 16))
        .margin(8)
        .x_label_area_size(34)
        .y_label_area_size(64)
        .build_cartesian_2d((lo..hi).log_scale(), 0.0..y1)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("latency (ms, log scale)")
        .y_desc("share of selections (%)")
        .x_label_formatter(&ms_label)
        .y_label_formatter(&plain)
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(err)?;
    for (i, (model, bins, total)) in dists.iter().enumerate() {
        let style = colour(i).stroke_width(width(i));
        // A step line: each bin is a flat top from its low to its high edge, dropping
        // to zero at both ends so a single bin still reads as a bar.
        let first = bins.first().map_or(lo, |b| b.low_ms);
        let last = bins.last().map_or(hi, |b| b.high_ms);
        let steps = std::iter::once((first, 0.0))
            .chain(bins.iter().flat_map(|b| {
                let y = share(b, *total);
                [(b.low_ms, y), (b.high_ms, y)]
            }))
            .chain(std::iter::once((last, 0.0)));
        chart
            .draw_series(LineSeries::new(steps, style))
            .map_err(err)?
            .label(*model)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)
}

/// Selections per interval (bars) and the error rate (line, right axis), all models.
pub(crate) fn selections_and_errors<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    charts: &ReportCharts,
    period: (SystemTime, SystemTime),
) -> DrawResult {
    let fleet = &charts.fleet;
    let ax = Axis::of(fleet.iter().map(|p| p.start), charts.step, period);
    let y1 = top(fleet.iter().map(|p| p.selections as f64));
    let e1 = top(fleet.iter().map(|p| p.error_rate * 100.0));
    let mut chart = ChartBuilder::on(area)
        .caption("Selections and error rate", ("sans-serif", 16))
        .margin(8)
        .x_label_area_size(34)
        .y_label_area_size(64)
        .right_y_label_area_size(56)
        .build_cartesian_2d(ax.start..ax.end, 0.0..y1)
        .map_err(err)?
        .set_secondary_coord(ax.start..ax.end, 0.0..e1);
    chart
        .configure_mesh()
        .x_desc("time (UTC)")
        .y_desc("selections per interval")
        .x_labels(6)
        .x_label_formatter(&|x| ax.label(*x))
        .y_label_formatter(&plain)
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(err)?;
    chart
        .configure_secondary_axes()
        .y_desc("error rate (%)")
        .y_label_formatter(&plain)
        .draw()
        .map_err(err)?;
    let w = ax.len(charts.step);
    chart
        .draw_series(fleet.iter().filter(|p| p.selections > 0).map(|p| {
            let x = ax.x(p.start);
            Rectangle::new(
                [(x + w * 0.1, 0.0), (x + w * 0.9, p.selections as f64)],
                GREY.filled(),
            )
        }))
        .map_err(err)?
        .label("selections")
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], GREY.filled()));
    let line = ACCENT.stroke_width(3);
    let xy: Vec<(f64, f64)> = fleet
        .iter()
        .filter(|p| p.selections > 0)
        .map(|p| (ax.x(p.start) + w / 2.0, p.error_rate * 100.0))
        .collect();
    chart
        .draw_secondary_series(LineSeries::new(xy.iter().copied(), line))
        .map_err(err)?
        .label("error rate (%)")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], line));
    chart
        .draw_secondary_series(
            xy.iter()
                .map(|&(x, y)| Circle::new((x, y), 3, line.filled())),
        )
        .map_err(err)?;
    legend(&mut chart, SeriesLabelPosition::UpperLeft)
}

/// Each model's cache hit rate per interval.
pub(crate) fn cache_hit_rate<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    models: &[&str],
    charts: &ReportCharts,
    period: (SystemTime, SystemTime),
) -> DrawResult {
    let ax = Axis::of(charts.fleet.iter().map(|p| p.start), charts.step, period);
    let mut chart = time_chart(
        area,
        "Cache hit rate",
        &ax,
        (100.0, "cache hits (%)"),
        &plain,
    )?;
    let half = ax.len(charts.step) / 2.0;
    for (i, model) in models.iter().enumerate() {
        let Some(points) = charts.models.get(*model) else {
            continue;
        };
        let xy: Vec<_> = points
            .iter()
            .map(|p| {
                (
                    ax.x(p.start) + half,
                    p.cache_hit_rate * 100.0,
                    p.selections > 0,
                )
            })
            .collect();
        broken_line(&mut chart, &xy, colour(i).stroke_width(width(i)), model)?;
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft)
}

/// Spend per hour in each interval, stacked by model, the models past the busiest in
/// one "other models" layer on top, so the stack's height is the fleet's spend.
pub(crate) fn spend_by_model<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    models: &[&str],
    charts: &ReportCharts,
    period: (SystemTime, SystemTime),
) -> DrawResult {
    let fleet = &charts.fleet;
    // Each interval's length in hours: the step, or less for the partial last one.
    let step = charts.step.as_secs_f64().max(60.0);
    let hours: Vec<f64> = fleet
        .iter()
        .enumerate()
        .map(|(k, p)| {
            let end = fleet.get(k + 1).map_or(secs(period.1), |n| secs(n.start));
            (end - secs(p.start)).clamp(60.0, step) / 3600.0
        })
        .collect();
    let mut layers: Vec<(String, Vec<f64>)> = models
        .iter()
        .filter_map(|m| {
            let points = charts.models.get(*m)?;
            Some((m.to_string(), points.iter().map(|p| p.cost_usd).collect()))
        })
        .collect();
    let shown: Vec<f64> = (0..fleet.len())
        .map(|k| {
            layers
                .iter()
                .map(|l| l.1.get(k).copied().unwrap_or(0.0))
                .sum()
        })
        .collect();
    let other: Vec<f64> = fleet
        .iter()
        .zip(&shown)
        .map(|(p, s)| (p.cost_usd - s).max(0.0))
        .collect();
    if other.iter().any(|o| *o > 1e-12) {
        layers.push(("other models".to_owned(), other));
    }
    // Running sums per interval in USD per hour, bottom layer first.
    let mut stacked: Vec<Vec<f64>> = Vec::with_capacity(layers.len());
    for (_, costs) in &layers {
        let below = stacked
            .last()
            .cloned()
            .unwrap_or_else(|| vec![0.0; fleet.len()]);
        stacked.push(
            below
                .iter()
                .zip(costs)
                .zip(&hours)
                .map(|((b, c), h)| b + c / h)
                .collect(),
        );
    }
    let ax = Axis::of(fleet.iter().map(|p| p.start), charts.step, period);
    let y1 = top(stacked.last().into_iter().flatten().copied());
    let usd = |y: &f64| {
        if *y < 10.0 {
            format!("${y:.2}")
        } else {
            format!("${y:.0}")
        }
    };
    let mut chart = time_chart(
        area,
        "Spend per hour by model (stacked)",
        &ax,
        (y1, "spend (USD per hour)"),
        &usd,
    )?;
    let half = ax.len(charts.step) / 2.0;
    // Top layer first, so each lower layer is painted over the one above it.
    for (i, ((name, _), sums)) in layers.iter().zip(&stacked).enumerate().rev() {
        let fill = if name == "other models" {
            GREY
        } else {
            colour(i)
        };
        let points: Vec<(f64, f64)> = fleet
            .iter()
            .zip(sums)
            .map(|(p, y)| (ax.x(p.start) + half, *y))
            .collect();
        // A lone interval is a bar; more are an area.
        if points.len() == 1 {
            let (x, y) = points[0];
            chart
                .draw_series([Rectangle::new(
                    [(x - half * 0.8, 0.0), (x + half * 0.8, y)],
                    fill.filled(),
                )])
                .map_err(err)?
        } else {
            chart
                .draw_series(AreaSeries::new(points, 0.0, fill.mix(0.9)).border_style(BLACK))
                .map_err(err)?
        }
        .label(name.as_str())
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], fill.filled()));
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft)
}

/// A budget's spend so far, the projection to the period's end and the budget line.
pub(crate) fn budget_burn<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    burn: &crate::reports::BudgetBurn,
) -> DrawResult {
    let s = &burn.status;
    let ax = Axis::new(secs(s.period_start), secs(s.period_end));
    let y1 = top([s.limit_usd, s.projected_usd, s.spent_usd].into_iter());
    let dollars = |y: &f64| format!("${y:.0}");
    let mut chart = time_chart(
        area,
        &format!("{} budget burn", s.period),
        &ax,
        (y1, "spend since the period began (USD)"),
        &dollars,
    )?;
    let limit = ACCENT.stroke_width(2);
    chart
        .draw_series(LineSeries::new(
            [(ax.start, s.limit_usd), (ax.end, s.limit_usd)],
            limit,
        ))
        .map_err(err)?
        .label(format!("budget ${:.0}", s.limit_usd))
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], limit));
    let spent = PALETTE[0].stroke_width(3);
    let xy: Vec<(f64, f64)> = burn
        .spent
        .iter()
        .map(|p| (ax.x(p.at), p.cumulative_usd))
        .collect();
    chart
        .draw_series(LineSeries::new(xy.iter().copied(), spent))
        .map_err(err)?
        .label("spent")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], spent));
    let last = xy.last().copied().unwrap_or((ax.start, 0.0));
    chart
        .draw_series([Circle::new(last, 4, spent.filled())])
        .map_err(err)?;
    let projected = PALETTE[3].stroke_width(2);
    chart
        .draw_series(DashedLineSeries::new(
            [last, (ax.end, s.projected_usd)],
            6,
            4,
            projected,
        ))
        .map_err(err)?
        .label(format!("projected ${:.0}", s.projected_usd))
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], projected));
    legend(&mut chart, SeriesLabelPosition::UpperLeft)
}

/// The period's alerts and incidents as bars from start to resolution (or the end of
/// the period when still open), at most 24 rows.
pub(crate) fn alert_timeline<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    report: &PerformanceReport,
) -> DrawResult {
    let period = (report.period.start, report.period.end);
    let ax = Axis::new(secs(period.0), secs(period.1));
    let a = &report.alerts;
    let mut rows: Vec<(String, f64, f64, bool)> = Vec::new();
    for i in &a.incidents {
        let end = i.resolved_at.map_or(ax.end, |t| ax.x(t));
        rows.push((
            format!("incident: {}", i.title),
            ax.x(i.started_at),
            end,
            true,
        ));
    }
    for r in &a.resolved {
        let label = format!("{} {}", r.rule_id, r.scope);
        rows.push((label, ax.x(r.started_at), ax.x(r.resolved_at), false));
    }
    for al in &a.active {
        let label = format!("{} {} (open)", al.rule_id, al.scope);
        rows.push((label, ax.x(al.started_at), ax.end, false));
    }
    rows.truncate(24);
    let n = rows.len().max(1) as f64;
    let mut chart = ChartBuilder::on(area)
        .caption("Alerts and incidents", ("sans-serif", 16))
        .margin(8)
        .x_label_area_size(34)
        .y_label_area_size(10)
        .build_cartesian_2d(ax.start..ax.end, 0.0..n + 1.2)
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
    let min_width = (ax.end - ax.start) / 200.0;
    for (kind, incident, fill) in [("incident", true, ACCENT), ("alert", false, GREY)] {
        if !rows.iter().any(|r| r.3 == incident) {
            continue;
        }
        chart
            .draw_series(
                rows.iter()
                    .enumerate()
                    .filter(|(_, r)| r.3 == incident)
                    .map(|(k, (_, start, end, _))| {
                        let y = n - k as f64;
                        let (a, b) = (start.max(ax.start), end.min(ax.end).max(start + min_width));
                        Rectangle::new([(a, y - 0.85), (b, y - 0.15)], fill.filled())
                    }),
            )
            .map_err(err)?
            .label(kind)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], fill.filled()));
    }
    chart
        .draw_series(rows.iter().enumerate().map(|(k, (label, start, ..))| {
            Text::new(
                label.clone(),
                (start.max(ax.start), n - k as f64 - 0.1),
                ("sans-serif", 11).into_font(),
            )
        }))
        .map_err(err)?;
    legend(&mut chart, SeriesLabelPosition::UpperRight)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_palette_reads_in_greyscale() {
        let luma =
            |c: &RGBColor| 0.299 * f64::from(c.0) + 0.587 * f64::from(c.1) + 0.114 * f64::from(c.2);
        for pair in PALETTE.windows(2) {
            assert!(
                luma(&pair[1]) - luma(&pair[0]) >= 20.0,
                "{:?} -> {:?}",
                pair[0],
                pair[1]
            );
        }
    }

    #[test]
    fn time_labels_land_on_round_times() {
        // 2026-11-23 06:00 to 18:00 UTC: an hour axis.
        let start = 1_795_392_000.0 + 6.0 * 3600.0;
        let ax = Axis::new(start, start + 12.0 * 3600.0);
        assert_eq!(ax.label(ax.start), "06:00");
        assert_eq!(ax.label(ax.start + 2.5), "08:30");
        // A week: a day axis.
        let ax = Axis::new(start, start + 7.0 * 86_400.0);
        assert_eq!(ax.label(0.0), "11-23");
    }
}
