//! The background side: sealing a minute of 100 models, evaluating the default rules
//! over 100 models, and summaries over 100 models.

mod common;

use std::time::{Duration, Instant};

use common::events;
use criterion::{Criterion, criterion_group, criterion_main};
use modelmeter::{
    Config, ExportBatch, ExportError, ExportSettings, Exporter, ManualClock, Monitor, Selection,
};

const MODELS: usize = 100;
/// Selections per model per minute: a busy router (10,000 a minute in all).
const PER_MINUTE: usize = 100;

fn names() -> Vec<String> {
    (0..MODELS).map(|i| format!("model-{i:03}")).collect()
}

fn fill_minute(monitor: &Monitor, names: &[String], evs: &[common::Ev]) {
    for (i, e) in evs.iter().enumerate().take(MODELS * PER_MINUTE) {
        let s = Selection::new(&names[i % MODELS], e.latency)
            .cost_usd(e.cost_usd)
            .cache_hit(e.cache_hit);
        monitor.record_selection(&s).unwrap();
    }
}

/// A manual monitor, with the default rules (5 KPI threshold rules and 2 anomaly
/// rules) or none.
fn manual(rules: bool) -> (ManualClock, Monitor) {
    let mut config = Config::default();
    config.monitoring.alerting.enabled = rules;
    // The optimizer's hourly run is measured on its own in benches/optimizer.rs.
    config.optimizer.enabled = false;
    common::manual_monitor(config)
}

/// Fills and seals `iters` minutes; returns the time spent in `tick` alone.
fn seal_minutes(
    iters: u64,
    clock: &ManualClock,
    monitor: &Monitor,
    names: &[String],
    evs: &[common::Ev],
) -> Duration {
    let mut spent = Duration::ZERO;
    for _ in 0..iters {
        fill_minute(monitor, names, evs);
        clock.advance(Duration::from_secs(60));
        let t = Instant::now();
        monitor.tick();
        spent += t.elapsed();
    }
    spent
}

fn tick(c: &mut Criterion) {
    let names = names();
    let evs = events(MODELS * PER_MINUTE);
    let (clock, monitor) = manual(false);
    c.bench_function("tick/seal_100_models", |b| {
        b.iter_custom(|iters| seal_minutes(iters, &clock, &monitor, &names, &evs))
    });
}

/// A tick with nothing to seal, with and without the default rules over 100 models
/// that have 2 hours of history (anomaly baselines warmed up): the difference is the
/// cost of rule evaluation and the alert lifecycle.
fn rules(c: &mut Criterion) {
    let names = names();
    let evs = events(MODELS * PER_MINUTE);
    let mut g = c.benchmark_group("rules");
    for (label, with_rules) in [
        ("tick_without_rules", false),
        ("tick_with_default_rules", true),
    ] {
        let (clock, monitor) = manual(with_rules);
        for _ in 0..120 {
            fill_minute(&monitor, &names, &evs);
            clock.advance(Duration::from_secs(60));
            monitor.tick();
        }
        fill_minute(&monitor, &names, &evs);
        g.bench_function(format!("{label}_100_models"), |b| b.iter(|| monitor.tick()));
        // Once a minute a tick also seals, and the rules learn the sealed minutes
        // (evidence rings, anomaly baselines).
        g.bench_function(format!("seal_{label}_100_models"), |b| {
            b.iter_custom(|iters| seal_minutes(iters, &clock, &monitor, &names, &evs))
        });
    }
    g.finish();
}

/// Blocks in its first export until the process ends: the worst exporter there is.
struct Stalled(std::sync::mpsc::Receiver<()>);

impl Exporter for Stalled {
    fn export(&mut self, _: &ExportBatch) -> Result<(), ExportError> {
        let _ = self.0.recv();
        Ok(())
    }
}

/// What exporters cost the tick: sealing 100 models with no exporter and with one
/// stalled exporter (asynchronous delivery, as in production), and rendering the
/// Prometheus exposition of 100 models.
fn export(c: &mut Criterion) {
    let names = names();
    let evs = events(MODELS * PER_MINUTE);
    let mut g = c.benchmark_group("export");
    let (_release, stalled_rx) = std::sync::mpsc::channel::<()>();
    let mut stalled = Some(Stalled(stalled_rx));
    for label in ["tick_no_exporter", "tick_stalled_exporter"] {
        let clock = ManualClock::new(common::start());
        let mut config = Config::default();
        config.monitoring.alerting.enabled = false;
        let mut b = Monitor::builder()
            .clock(clock.clone())
            .config(config)
            .background(false)
            .synchronous_export(false);
        if label == "tick_stalled_exporter" {
            let mut settings = ExportSettings::default();
            settings.flush_timeout = Duration::from_millis(10);
            b = b.exporter_with(stalled.take().unwrap(), settings);
        }
        let monitor = b.build().unwrap();
        g.bench_function(format!("{label}_100_models"), |b| {
            b.iter_custom(|iters| seal_minutes(iters, &clock, &monitor, &names, &evs))
        });
        if label == "tick_no_exporter" {
            g.bench_function("render_prometheus_100_models", |b| {
                b.iter(|| monitor.render_prometheus())
            });
        }
    }
    g.finish();
}

fn summary(c: &mut Criterion) {
    let names = names();
    let evs = events(MODELS * PER_MINUTE);
    let (clock, monitor) = manual(false);
    // 26 hours of history, so a 24-hour window is full.
    for _ in 0..26 * 60 {
        fill_minute(&monitor, &names, &evs);
        clock.advance(Duration::from_secs(60));
        monitor.tick();
    }
    clock.advance(Duration::from_secs(37 * 60 + 20));
    let mut g = c.benchmark_group("summary");
    for (label, window) in [("5m", 300), ("1h", 3600), ("24h", 86_400)] {
        g.bench_function(format!("{label}_100_models"), |b| {
            b.iter(|| monitor.summary(Duration::from_secs(window)))
        });
    }
    g.finish();
    eprintln!(
        "retained after 26 h of 100 models: {} KiB",
        monitor.health().bytes_retained / 1024
    );
}

/// Sealing a minute of 100 models with and without a persistent store, in one run,
/// with and without the default rules (whose state is saved at every commit). The
/// store commits with redb's immediate durability (fsync), as a monitor does.
#[cfg(feature = "persist")]
fn persist(c: &mut Criterion) {
    let names = names();
    let evs = events(MODELS * PER_MINUTE);
    let dir = std::env::temp_dir().join(format!("modelmeter-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut g = c.benchmark_group("persist");
    for rules in [false, true] {
        let label = if rules { "rules_" } else { "" };
        for store in [false, true] {
            let mut config = Config::default();
            config.monitoring.alerting.enabled = rules;
            config.optimizer.enabled = false;
            let clock = ManualClock::new(common::start());
            let mut builder = Monitor::builder()
                .config(config)
                .clock(clock.clone())
                .background(false);
            let name = if store {
                let path = dir.join(format!("{label}store.redb"));
                let _ = std::fs::remove_file(&path);
                builder = builder.persist(path);
                format!("seal_{label}100_models_store")
            } else {
                format!("seal_{label}100_models")
            };
            let monitor = builder.build().unwrap();
            g.bench_function(name, |b| {
                b.iter_custom(|iters| seal_minutes(iters, &clock, &monitor, &names, &evs))
            });
            if store {
                let h = monitor.health().persistence.unwrap();
                eprintln!(
                    "{label}store: {} commits, {:?} per commit, {} KiB on disk",
                    h.commits,
                    h.commit_time / h.commits.max(1) as u32,
                    std::fs::metadata(&h.path).map_or(0, |m| m.len() / 1024)
                );
            }
        }
    }
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(not(feature = "persist"))]
fn persist(_: &mut Criterion) {}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(4)).sample_size(30);
    targets = tick, rules, export, summary, persist
}
criterion_main!(benches);
