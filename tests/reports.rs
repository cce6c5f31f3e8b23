//! Reports through the public API: JSON round-trips, CSV reads back to the JSON's
//! numbers, text renders, schedules deliver on the hour and at midnight, comparisons
//! and the health score.

mod common;

use common::{Batches, Shared};

use std::time::Duration;

use common::{build, drive, quiet};
use modelmeter::{
    Baseline, Config, CostReport, ManualClock, Monitor, PerformanceReport, ReportSchedule,
    Selection,
};

const DAY: Duration = Duration::from_secs(86_400);

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

/// Three models for two hours; `gpt-4o` serves easy tasks that `gpt-4o-mini` does as
/// well, and `mistral-large` fails often.
fn busy() -> (ManualClock, Monitor) {
    let mut config = quiet();
    config.cost.budget.daily_usd = Some(50.0);
    let (clock, m) = build(config);
    drive(&clock, &m, 120, 60, |minute, i| {
        let n = minute * 60 + i;
        let (model, cost, latency) = match n % 3 {
            0 => ("gpt-4o", 0.01, 900),
            1 => ("gpt-4o-mini", 0.001, 400),
            _ => ("mistral-large", 0.004, 1100),
        };
        Selection::new(model, ms(latency + n % 97))
            .cost_usd(cost)
            .cache_hit(n % 4 == 0)
            .error(model == "mistral-large" && n % 8 == 0)
            .complexity(0.1)
            .accuracy(if n % 50 == 0 { 0.0 } else { 1.0 })
    });
    (clock, m)
}

#[test]
fn reports_round_trip_through_json() {
    let (_, m) = busy();
    let modelmeter::Reports {
        performance: perf,
        cost,
        ..
    } = m.reports(DAY);
    assert!(!perf.recommendations.is_empty());
    assert_eq!(perf.overview.count, 7200);
    let back: PerformanceReport = serde_json::from_str(&perf.to_json().unwrap()).unwrap();
    assert_eq!(back, perf);
    let back: CostReport = serde_json::from_str(&cost.to_json().unwrap()).unwrap();
    assert_eq!(back, cost);
    assert_eq!(cost.budgets.len(), 1);
    assert!(
        cost.recommendations
            .iter()
            .all(|r| r.savings_usd_per_30d.is_some())
    );
}

fn table<'a>(tables: &'a [modelmeter::CsvTable], name: &str) -> &'a str {
    &tables.iter().find(|t| t.name == name).unwrap().csv
}

#[test]
fn csv_tables_read_back_to_the_json_numbers() {
    let (_, m) = busy();
    let modelmeter::Reports {
        performance: perf,
        cost,
        ..
    } = m.reports(DAY);
    let json: serde_json::Value = serde_json::from_str(&perf.to_json().unwrap()).unwrap();
    let tables = perf.to_csv().unwrap();
    let names: Vec<_> = tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "period",
            "overview",
            "models",
            "health",
            "trends",
            "bottlenecks",
            "recommendations",
            "evidence",
            "alerts"
        ]
    );
    let mut rows = 0;
    for rec in csv::Reader::from_reader(table(&tables, "models").as_bytes()).deserialize() {
        let row: std::collections::HashMap<String, String> = rec.unwrap();
        let model = &json["models"][&row["model"]];
        assert_eq!(
            row["count"].parse::<u64>().unwrap(),
            model["count"].as_u64().unwrap()
        );
        assert_eq!(
            row["cost_usd"].parse::<f64>().unwrap(),
            model["cost_usd"].as_f64().unwrap()
        );
        assert_eq!(
            row["p95_ms"].parse::<f64>().unwrap(),
            model["latency"]["p95"].as_f64().unwrap()
        );
        rows += 1;
    }
    assert_eq!(rows, 3);
    let recs: Vec<std::collections::HashMap<String, String>> =
        csv::Reader::from_reader(table(&tables, "recommendations").as_bytes())
            .deserialize()
            .collect::<Result<_, _>>()
            .unwrap();
    assert_eq!(recs.len(), perf.recommendations.len());
    for (row, r) in recs.iter().zip(&perf.recommendations) {
        assert_eq!(row["id"], r.id);
        if let Some(s) = r.savings_usd_per_30d {
            assert_eq!(row["savings_usd_per_30d"].parse::<f64>().unwrap(), s);
        }
    }

    let cjson: serde_json::Value = serde_json::from_str(&cost.to_json().unwrap()).unwrap();
    let ctables = cost.to_csv().unwrap();
    for rec in csv::Reader::from_reader(table(&ctables, "models").as_bytes()).deserialize() {
        let row: std::collections::HashMap<String, String> = rec.unwrap();
        let j = cjson["models"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["model"] == row["model"].as_str())
            .unwrap();
        assert_eq!(
            row["cost_usd"].parse::<f64>().unwrap(),
            j["cost_usd"].as_f64().unwrap()
        );
        assert_eq!(
            row["share"].parse::<f64>().unwrap(),
            j["share"].as_f64().unwrap()
        );
    }
    let summary: Vec<std::collections::HashMap<String, String>> =
        csv::Reader::from_reader(table(&ctables, "summary").as_bytes())
            .deserialize()
            .collect::<Result<_, _>>()
            .unwrap();
    assert_eq!(
        summary[0]["spend_usd"].parse::<f64>().unwrap(),
        cjson["spend_usd"].as_f64().unwrap()
    );
    let budgets = table(&ctables, "budgets");
    assert!(budgets.starts_with("period,limit_usd,"), "{budgets}");
}

#[test]
fn cost_report_numbers_add_up() {
    let (_, m) = busy();
    let cost = m.cost_report(DAY);
    // 2400 selections each: gpt-4o at $0.01, mini at $0.001, mistral at $0.004.
    assert!((cost.spend_usd - 2400.0 * 0.015).abs() < 1e-6);
    let shares: f64 = cost.models.iter().map(|m| m.share).sum();
    assert!((shares - 1.0).abs() < 1e-12);
    assert_eq!(cost.models[0].model, "gpt-4o");
    // Against sending everything to gpt-4o at $0.01.
    assert_eq!(cost.savings.reference_model.as_deref(), Some("gpt-4o"));
    assert!((cost.savings.vs_reference_usd.unwrap() - (7200.0 * 0.01 - 36.0)).abs() < 1e-6);
    // The daily budget of $50: $36 spent.
    let b = &cost.budgets[0];
    assert!((b.used - 36.0 / 50.0).abs() < 1e-9);
    assert!(b.projected_usd > b.spent_usd);
    assert!(cost.projected_30d_usd > 0.0);
    assert!(
        cost.recommendations
            .iter()
            .any(|r| r.id == "cheaper_equivalent/gpt-4o->gpt-4o-mini@0.1"),
        "{:#?}",
        cost.recommendations
    );
}

#[test]
fn text_rendering_names_everything() {
    let (_, m) = busy();
    let modelmeter::Reports {
        performance: perf,
        cost,
        ..
    } = m.reports(DAY);
    let p = perf.to_string();
    for needle in [
        "performance report: 2026-11-22",
        "gpt-4o-mini",
        "all models",
        "health score:",
        "recommendations:",
    ] {
        assert!(p.contains(needle), "{needle} missing in\n{p}");
    }
    let c = cost.to_string();
    for needle in [
        "cost report:",
        "mistral-large",
        "daily budget $50.00",
        "saved vs sending everything to gpt-4o",
        "Route complexity 0.1-0.2 traffic from gpt-4o to gpt-4o-mini",
    ] {
        assert!(c.contains(needle), "{needle} missing in\n{c}");
    }
}

#[test]
fn schedules_deliver_hourly_and_daily_reports_of_exact_periods() {
    let mut config: Config = quiet();
    config.reporting.schedules.hourly.enabled = true;
    config.reporting.schedules.daily.enabled = true;
    config.reporting.schedules.weekly.enabled = true;
    let clock = ManualClock::new(common::start());
    let reports = Batches::default();
    let lines = Shared::default();
    let m = Monitor::builder()
        .clock(clock.clone())
        .config(config)
        .exporter(reports.clone())
        .exporter(modelmeter::JsonLinesExporter::new(lines.clone()))
        .background(false)
        .build()
        .unwrap();
    drive(&clock, &m, 25 * 60, 2, |_, i| {
        Selection::new("m", ms(100 + i)).cost_usd(0.01)
    });
    let got = reports.flat(|b| &b.reports);
    let report_lines = String::from_utf8_lossy(&lines.0.lock())
        .lines()
        .filter(|l| l.starts_with(r#"{"type":"report""#))
        .count();
    assert_eq!(report_lines, 26);
    let hourly: Vec<_> = got
        .iter()
        .filter(|r| r.schedule == ReportSchedule::Hourly)
        .collect();
    let daily: Vec<_> = got
        .iter()
        .filter(|r| r.schedule == ReportSchedule::Daily)
        .collect();
    assert_eq!(hourly.len(), 25);
    assert_eq!(daily.len(), 1);
    assert!(got.iter().all(|r| r.schedule != ReportSchedule::Weekly));
    let h = &hourly[3].performance;
    assert_eq!(
        h.period.start,
        common::start() + Duration::from_secs(3 * 3600)
    );
    assert_eq!(h.period.length, Duration::from_secs(3600));
    assert_eq!(h.overview.count, 120);
    assert_eq!(h.trends.len(), 12, "5-minute points");
    let d = &daily[0];
    assert_eq!(d.performance.period.start, common::start());
    assert_eq!(d.performance.overview.count, 24 * 120);
    assert!((d.cost.spend_usd - 24.0 * 120.0 * 0.01).abs() < 1e-6);
    assert_eq!(d.cost.trend.len(), 24, "hourly points");

    // Tick hourly, without traffic, into the next Monday: one weekly report of the
    // whole first week, with daily points.
    for _ in 0..(7 * 24 - 25) {
        clock.advance(Duration::from_secs(3600));
        m.tick();
    }
    let weekly: Vec<_> = reports
        .flat(|b| &b.reports)
        .into_iter()
        .filter(|r| r.schedule == ReportSchedule::Weekly)
        .collect();
    assert_eq!(weekly.len(), 1);
    assert_eq!(weekly[0].performance.period.start, common::start());
    assert_eq!(
        weekly[0].performance.period.length,
        Duration::from_secs(7 * 86_400)
    );
    assert_eq!(weekly[0].performance.overview.count, 25 * 120);
    assert_eq!(weekly[0].cost.trend.len(), 7);
}

#[test]
fn the_reference_file_enables_the_schedules() {
    let c = Config::from_json_file("tests/data/reference-config.json").unwrap();
    let s = &c.reporting.schedules;
    assert!(s.hourly.enabled && s.daily.enabled && s.weekly.enabled);
    assert!(!Config::default().reporting.schedules.daily.enabled);
}

#[test]
fn models_compare_side_by_side_and_against_a_saved_baseline() {
    let (clock, m) = busy();
    let cmp = m.compare_models("gpt-4o", "gpt-4o-mini", DAY).unwrap();
    let cost = cmp.row("mean_cost_usd").unwrap();
    assert!((cost.change_pct.unwrap() - -90.0).abs() < 1e-9);
    assert!(cmp.row("p95_ms").unwrap().change_pct.unwrap() < -40.0);
    assert!(cmp.to_string().contains("mean_cost_usd"));
    assert!(m.compare_models("gpt-4o", "nope", DAY).is_none());

    let saved = serde_json::to_string(&m.baseline("before", DAY)).unwrap();
    let baseline: Baseline = serde_json::from_str(&saved).unwrap();
    // An hour of gpt-4o only, twice as slow.
    drive(&clock, &m, 60, 30, |_, i| {
        Selection::new("gpt-4o", ms(1800 + i)).cost_usd(0.01)
    });
    let cmp = m.compare_to_baseline("gpt-4o", &baseline, DAY).unwrap();
    assert_eq!(cmp.a, "before");
    assert!((cmp.row("count").unwrap().change_pct.unwrap() - 75.0).abs() < 1e-9);
    assert!(cmp.row("max_ms").unwrap().change_pct.unwrap() > 80.0);
    assert!(m.compare_to_baseline("*", &baseline, DAY).is_some());
}

#[test]
fn health_score_is_100_on_target_and_falls_with_errors() {
    let mut config = quiet();
    config.performance_metrics.cache_hit_rate.target = 0.0;
    config.performance_metrics.cache_hit_rate.warning = 0.0;
    config.performance_metrics.cache_hit_rate.critical = 0.0;
    let (clock, m) = build(config.clone());
    drive(&clock, &m, 5, 100, |_, _| {
        Selection::new("m", ms(300)).accuracy(1.0)
    });
    assert_eq!(m.health_score(DAY).score, Some(100.0));
    let (clock, m) = build(config);
    // 6% errors: halfway between the 2% target and the 10% critical line.
    drive(&clock, &m, 5, 100, |_, i| {
        Selection::new("m", ms(300)).error(i % 50 < 3)
    });
    let h = m.health_score(DAY);
    let e = h.components.iter().find(|c| c.kpi == "errorRate").unwrap();
    assert!((e.score - 50.0).abs() < 1e-9, "{h:?}");
    assert!(h.score.unwrap() < 100.0);
}
