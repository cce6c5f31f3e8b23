//! The analysis side over 100 models with two hours of history: one optimizer run
//! (every built-in heuristic), both reports of the last day, and the budget status.

mod common;

use std::time::Duration;

use common::events;
use criterion::{Criterion, criterion_group, criterion_main};
use modelmeter::{Config, Monitor, Selection};

const MODELS: usize = 100;
const PER_MINUTE: usize = 100;
const MINUTES: u64 = 120;

fn monitor() -> Monitor {
    let start = common::start();
    let mut config = Config::default();
    config.monitoring.alerting.enabled = false;
    config.cost.budget.daily_usd = Some(1000.0);
    config.cost.budget.monthly_usd = Some(30_000.0);
    let (clock, monitor) = common::manual_monitor(config);
    let names: Vec<String> = (0..MODELS).map(|i| format!("model-{i:03}")).collect();
    let evs = events(MODELS * PER_MINUTE);
    for minute in 0..MINUTES {
        for (i, e) in evs.iter().enumerate() {
            let s = Selection::new(&names[i % MODELS], e.latency)
                .cost_usd(e.cost_usd)
                .cache_hit(e.cache_hit)
                .error(e.error)
                .accuracy(e.accuracy)
                .complexity(((i / MODELS) % 10) as f64 / 10.0 + 0.05);
            monitor.record_selection(&s).unwrap();
        }
        clock.set(start + Duration::from_secs((minute + 1) * 60 + 5));
        monitor.tick();
    }
    monitor
}

fn analysis(c: &mut Criterion) {
    let monitor = monitor();
    let day = Duration::from_secs(86_400);
    let mut g = c.benchmark_group("optimizer");
    g.sample_size(20);
    g.bench_function("recommendations_100_models", |b| {
        b.iter(|| monitor.recommendations())
    });
    g.bench_function("reports_24h_100_models", |b| {
        b.iter(|| monitor.reports(day))
    });
    g.bench_function("budget_status", |b| b.iter(|| monitor.budget_status()));
    // Rendering prebuilt reports: the charts' drawing and the page's assembly.
    #[cfg(feature = "html")]
    {
        let reports = monitor.reports(day);
        g.bench_function("reports_24h_to_html_100_models", |b| {
            b.iter(|| reports.to_html())
        });
        #[cfg(feature = "pdf")]
        g.bench_function("reports_24h_to_pdf_100_models", |b| {
            b.iter(|| reports.to_pdf())
        });
    }
    // One live-dashboard snapshot built from scratch (the feed itself keeps the
    // closed minutes between snapshots and rebuilds only the open one).
    #[cfg(feature = "http")]
    {
        let live = http::Request::get("/api/v1/live").body(()).unwrap();
        g.bench_function("live_snapshot_100_models", |b| {
            b.iter(|| modelmeter::http::handle(&monitor, &live))
        });
    }
    g.finish();
}

criterion_group!(benches, analysis);
criterion_main!(benches);
