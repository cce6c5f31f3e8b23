//! The HTML and PDF reports, through the public API: every chart is present and drawn
//! from the recorded data, the chart series equal what was recorded, and nothing
//! reaches the page unescaped.
#![cfg(feature = "html")]

mod common;

use std::time::Duration;

use modelmeter::{Config, Selection};

const DAY: Duration = Duration::from_secs(24 * 3600);

/// Three hours of two models with errors, cache hits and costs, a daily budget and the
/// default alert rules (the flaky model raises an error-rate alert).
fn day() -> modelmeter::Reports {
    let mut config = Config::default();
    config.cost.budget.daily_usd = Some(50.0);
    let (clock, monitor) = common::build(config);
    clock.advance(Duration::from_secs(10 * 3600));
    common::drive(&clock, &monitor, 180, 40, |m, i| {
        if i % 2 == 0 {
            Selection::new("steady", Duration::from_millis(200 + (i % 7) * 30))
                .cost_usd(0.002)
                .cache_hit(i % 4 == 0)
        } else {
            Selection::new("flaky<b>", Duration::from_millis(900 + (m % 13) * 40))
                .cost_usd(0.01)
                .error(m > 60 && i % 5 == 1)
        }
    });
    monitor.reports(DAY)
}

/// Each `<figure data-chart=...>` of the page with its content.
fn figures(html: &str) -> Vec<(&str, &str)> {
    html.split("<figure class=\"chart\" data-chart=\"")
        .skip(1)
        .map(|f| {
            let (name, rest) = f.split_once('"').unwrap();
            (name, rest.split("</figure>").next().unwrap())
        })
        .collect()
}

#[test]
fn every_chart_is_on_the_page_and_drawn() {
    let reports = day();
    let html = reports.to_html();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(!html.contains("<script"), "no script");
    assert!(
        !html.contains(" src=") && !html.contains(" href=") && !html.contains("url("),
        "no external assets"
    );
    assert!(
        !html.contains("chart unavailable"),
        "a chart failed to draw"
    );
    let figs = figures(&html);
    for name in modelmeter::reports::CHART_NAMES {
        let drawn: Vec<_> = figs.iter().filter(|(n, _)| *n == name).collect();
        assert!(!drawn.is_empty(), "chart {name} missing");
        for (_, body) in drawn {
            assert!(body.contains("<svg"), "{name} has no svg");
            let marks = common::data_marks(body);
            assert!(marks > 0, "{name} draws no data");
            assert!(body.contains("<text"), "{name} has no axis labels");
        }
    }
    // A latency chart per model, and the model id escaped everywhere.
    assert_eq!(
        figs.iter()
            .filter(|(n, _)| *n == "latency-over-time")
            .count(),
        2
    );
    assert!(html.contains("flaky&lt;b&gt;"));
    assert!(!html.contains("flaky<b>"));
    assert!(
        html.contains("error_rate"),
        "the error-rate alert is listed"
    );
}

#[test]
fn a_chart_without_data_has_no_data_marks() {
    // The check above must be able to fail: a report of a monitor with no traffic.
    let (_clock, monitor) = common::manual();
    let html = monitor.reports(DAY).to_html();
    for (name, body) in figures(&html) {
        assert_eq!(common::data_marks(body), 0, "{name}");
    }
}

#[test]
fn one_interval_still_draws_and_the_newest_minutes_count() {
    let (clock, monitor) = common::manual();
    clock.advance(Duration::from_secs(90));
    monitor
        .record_selection(&Selection::new("solo", Duration::from_millis(300)).cost_usd(0.5))
        .unwrap();
    let reports = monitor.reports(Duration::from_secs(300));
    // The selection is in the partial interval after the last complete one.
    assert_eq!(
        reports
            .charts
            .fleet
            .iter()
            .map(|p| p.selections)
            .sum::<u64>(),
        1
    );
    assert_eq!(reports.charts.models["solo"].last().unwrap().selections, 1);
    let html = reports.to_html();
    for (name, body) in figures(&html) {
        if name != "alert-timeline" {
            assert!(
                common::data_marks(body) > 0,
                "{name} draws nothing for one interval"
            );
        }
    }
}

#[test]
fn chart_series_equal_what_was_recorded() {
    let reports = day();
    let c = &reports.charts;
    let fleet: u64 = c.fleet.iter().map(|p| p.selections).sum();
    assert_eq!(
        fleet, reports.performance.overview.count,
        "the fleet series covers the period"
    );
    for (model, points) in &c.models {
        assert_eq!(
            points.len(),
            c.fleet.len(),
            "{model}: aligned with the fleet"
        );
        let total: u64 = points.iter().map(|p| p.selections).sum();
        assert_eq!(total, reports.performance.models[model].count, "{model}");
        let spend: f64 = points.iter().map(|p| p.cost_usd).sum();
        assert!((spend - reports.performance.models[model].cost_usd).abs() < 1e-6);
        let binned: u64 = c.latency_distributions[model].iter().map(|b| b.count).sum();
        assert_eq!(binned, total, "{model}: every selection in one latency bin");
    }
    assert_eq!(
        c.models["steady"].iter().map(|p| p.selections).sum::<u64>(),
        3600
    );
    // The steady model's latencies, 200 to 380 ms, fall in the bins that hold them.
    let bins = &c.latency_distributions["steady"];
    assert!(bins.first().unwrap().low_ms <= 200.0 && bins.last().unwrap().high_ms >= 380.0);
    let burn = &c.budgets[0];
    let last = burn.spent.last().unwrap();
    assert!((last.cumulative_usd - burn.status.spent_usd).abs() < 1e-9);
    assert!(
        burn.spent
            .windows(2)
            .all(|w| w[0].cumulative_usd <= w[1].cumulative_usd + 1e-12)
    );
    assert!((burn.status.spent_usd - reports.cost.spend_usd).abs() < 1e-6);
    // A JSON round trip keeps the charts (exporters write them with the reports).
    let json = serde_json::to_string(&reports).unwrap();
    let back: modelmeter::Reports = serde_json::from_str(&json).unwrap();
    assert_eq!(back.charts.models, reports.charts.models);
}

#[cfg(feature = "pdf")]
#[test]
fn the_pdf_has_pages_fonts_and_the_charts_text() {
    let pdf = day().to_pdf();
    assert!(pdf.starts_with(b"%PDF-"));
    let text = String::from_utf8_lossy(&pdf);
    assert!(text.contains("/Helvetica"));
    let pages = text.matches("/Type /Page\n").count() + text.matches("/Type /Page ").count();
    assert!(pages >= 3, "{pages} pages");
    assert!(text.trim_end().ends_with("%%EOF"));
}

/// Keeps the scheduled reports handed to exporters.
#[derive(Clone, Default)]
struct Scheduled(std::sync::Arc<parking_lot::Mutex<Vec<modelmeter::ScheduledReport>>>);

impl modelmeter::Exporter for Scheduled {
    fn export(&mut self, batch: &modelmeter::ExportBatch) -> Result<(), modelmeter::ExportError> {
        self.0.lock().extend(batch.reports.iter().cloned());
        Ok(())
    }
}

#[test]
fn a_daily_report_shows_the_budget_of_the_day_it_covers() {
    let mut config = Config::default();
    config.cost.budget.daily_usd = Some(100.0);
    config.reporting.schedules.daily.enabled = true;
    config.monitoring.alerting.enabled = false;
    let scheduled = Scheduled::default();
    let clock = modelmeter::ManualClock::new(common::start());
    let monitor = modelmeter::Monitor::builder()
        .clock(clock.clone())
        .config(config)
        .exporter(scheduled.clone())
        .background(false)
        .build()
        .unwrap();
    // A day at $0.50 a minute, then the tick after midnight builds the daily report.
    common::drive(&clock, &monitor, 24 * 60, 1, |_, _| {
        Selection::new("m", Duration::from_millis(300)).cost_usd(0.5)
    });
    clock.advance(Duration::from_secs(5));
    monitor.tick();
    let reports = scheduled.0.lock().clone();
    let daily = reports
        .iter()
        .find(|r| r.schedule == modelmeter::reports::ReportSchedule::Daily)
        .expect("a daily report");
    let budget = &daily.cost.budgets[0];
    assert_eq!(
        budget.period_start,
        common::start(),
        "the day the report covers"
    );
    assert!(
        (budget.spent_usd - 720.0).abs() < 1e-6,
        "{}",
        budget.spent_usd
    );
    let burn = &daily.charts.budgets[0];
    assert_eq!(
        burn.spent.len(),
        25,
        "midnight, 23 hour ends, the report's last instant"
    );
    assert!((burn.spent[12].cumulative_usd - 360.0).abs() < 1e-6);
    assert!((burn.spent.last().unwrap().cumulative_usd - 720.0).abs() < 1e-6);
    assert!(daily.to_html().contains("modelmeter daily report"));
}

#[test]
fn a_saved_baseline_replaces_the_previous_period_in_the_model_table() {
    let (clock, monitor) = common::manual();
    common::drive(&clock, &monitor, 30, 10, |_, _| {
        Selection::new("gpt-4o", Duration::from_millis(500))
    });
    let saved = serde_json::to_string(&monitor.baseline("before the change", DAY)).unwrap();
    common::drive(&clock, &monitor, 30, 10, |_, _| {
        Selection::new("gpt-4o", Duration::from_millis(1000))
    });
    let baseline: modelmeter::Baseline = serde_json::from_str(&saved).unwrap();
    let reports = monitor.reports(DAY).with_baseline(&baseline);
    let cmp = &reports.charts.comparisons["gpt-4o"];
    assert_eq!(cmp.a, "before the change");
    assert_eq!(cmp.row("count").unwrap().change_pct, Some(100.0));
    let html = reports.to_html();
    assert!(html.contains("against the baseline &quot;before the change&quot;"));
    let p95 = cmp.row("p95_ms").unwrap().change_pct.unwrap();
    assert!(p95 > 90.0, "{p95}");
    assert!(
        html.contains(&format!("<td class=\"n\">{p95:+.1}%</td>")),
        "the p95 change is in the table"
    );
}
