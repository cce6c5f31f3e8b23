//! Soak: records at full speed for `SOAK_SECS` (default 600) seconds of real time,
//! through the background worker, with an exporter that always errors, one that
//! panics, one that stalls for good, a rule that panics at every tick, and a counting
//! exporter that must receive every selection. Samples the process's RSS every 10 s.
//!
//! Retention is the shortest allowed (minute buckets 2 minutes, hour buckets 2
//! minutes), the stalled exporter's queue holds 4 batches, and the default rules are
//! off (their evidence rings fill over 6 hours by design), so the store and the queues
//! reach their steady size within the first minutes; growth after that is a leak. `cargo run --release --example soak`; RELIABILITY.md quotes a run. Exits
//! non-zero if RSS grows more than 10% over the second half of the run, if the worker
//! stops, or if the counting exporter misses a selection. With `--features persist`,
//! `SOAK_STORE=<file>` adds a persistent store.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use modelmeter::{
    Config, ExportBatch, ExportError, ExportSettings, Exporter, Finding, Monitor, Rule, RuleView,
    Selection,
};

struct Erroring;
impl Exporter for Erroring {
    fn export(&mut self, _: &ExportBatch) -> Result<(), ExportError> {
        Err(ExportError::new("sink down"))
    }
    fn name(&self) -> &str {
        "erroring"
    }
}

struct Panicking;
impl Exporter for Panicking {
    fn export(&mut self, _: &ExportBatch) -> Result<(), ExportError> {
        panic!("exporter bug")
    }
    fn name(&self) -> &str {
        "panicking"
    }
}

/// Blocks on its first batch until the soak ends.
struct Stalling(Arc<AtomicBool>);
impl Exporter for Stalling {
    fn export(&mut self, _: &ExportBatch) -> Result<(), ExportError> {
        while !self.0.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }
    fn name(&self) -> &str {
        "stalling"
    }
}

struct Counting(Arc<AtomicU64>);
impl Exporter for Counting {
    fn export(&mut self, batch: &ExportBatch) -> Result<(), ExportError> {
        let n: u64 = batch.buckets.iter().map(|b| b.count).sum();
        self.0.fetch_add(n, Ordering::Relaxed);
        Ok(())
    }
}

struct PanickingRule;
impl Rule for PanickingRule {
    fn id(&self) -> &str {
        "panicking_rule"
    }
    fn evaluate(&mut self, _: &RuleView<'_>) -> Vec<Finding> {
        panic!("rule bug")
    }
}

/// Resident set size in bytes (Linux), 0 elsewhere.
fn rss() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secs: u64 = std::env::var("SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    // Thousands of caught panics would otherwise each print a message.
    std::panic::set_hook(Box::new(|_| {}));
    let mut config = Config::default();
    config.monitoring.update_interval = Duration::from_secs(1);
    config.monitoring.alerting.rule_panic_limit = u32::MAX;
    // The default rules' evidence rings and anomaly baselines grow by design until
    // they hold 6 hours and a day of minutes: within ten minutes that growth would
    // hide a leak. The panicking rule still runs at every tick.
    config.monitoring.alerting.enabled = false;
    config.recording.minute_retention = Duration::from_secs(120);
    config.recording.hour_retention = Duration::from_secs(120);
    config.monitoring.retention_period = Duration::from_secs(3600);
    let mut fast = ExportSettings::default();
    fast.initial_backoff = Duration::from_millis(1);
    fast.max_backoff = Duration::from_millis(2);
    fast.timeout = Duration::from_secs(1);
    fast.flush_timeout = Duration::from_millis(200);
    fast.queue_capacity = 4;
    let (release, exported) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicU64::new(0)),
    );
    let builder = Monitor::builder()
        .config(config)
        .rule(PanickingRule)
        .exporter_with(Erroring, fast.clone())
        .exporter_with(Panicking, fast.clone())
        .exporter_with(Stalling(release.clone()), fast.clone())
        .exporter(Counting(exported.clone()));
    // With `--features persist` and `SOAK_STORE=<file>`, every sealing tick commits to
    // a persistent store too (the file is replaced).
    #[cfg(feature = "persist")]
    let builder = match std::env::var_os("SOAK_STORE") {
        Some(path) => {
            let _ = std::fs::remove_file(&path);
            builder.persist(path)
        }
        None => builder,
    };
    let monitor = builder.build()?;
    let names: Vec<String> = (0..200).map(|i| format!("model-{i:03}")).collect();
    let start = Instant::now();
    let mut next_sample = Duration::ZERO;
    let (mut recorded, mut i) = (0u64, 0u64);
    let mut samples: Vec<(u64, u64)> = Vec::new();
    println!("  t (s)    selections   RSS (MiB)   ticks   rule panics   exporter failures");
    loop {
        for _ in 0..10_000 {
            let s = Selection::new(
                &names[(i % 200) as usize],
                Duration::from_micros(1_000 + i % 900_000),
            )
            .cost_usd(0.001)
            .error(i % 50 == 0)
            .cache_hit(i % 3 == 0)
            .tokens(500, 100);
            monitor.record_selection(&s)?;
            i += 1;
        }
        recorded += 10_000;
        let elapsed = start.elapsed();
        if elapsed >= next_sample {
            let h = monitor.health();
            let rule_panics = h.rule_panics.get("panicking_rule").map_or(0, |p| p.panics);
            let mib = rss() as f64 / (1 << 20) as f64;
            println!(
                "{:>7} {:>13} {:>11.1} {:>7} {:>13} {:>19}",
                elapsed.as_secs(),
                recorded,
                mib,
                h.ticks,
                rule_panics,
                h.export_failures
            );
            samples.push((elapsed.as_secs(), rss()));
            if h.worker_alive != Some(true) {
                return Err("the worker stopped".into());
            }
            next_sample += Duration::from_secs(10);
        }
        if elapsed >= Duration::from_secs(secs) {
            break;
        }
    }
    release.store(true, Ordering::Relaxed);
    monitor.flush();
    let delivered = exported.load(Ordering::Relaxed);
    let warm = samples
        .iter()
        .find(|(t, _)| *t >= secs / 2)
        .or(samples.last())
        .map_or(0, |s| s.1);
    let last = samples.last().map_or(0, |s| s.1);
    let peak = samples.iter().map(|s| s.1).max().unwrap_or(0);
    let mib = |b: u64| b as f64 / (1 << 20) as f64;
    println!(
        "recorded {recorded}, delivered to the counting exporter {delivered}; RSS at half time {:.1} MiB, at the end {:.1} MiB, peak {:.1} MiB ({:+.1}%)",
        mib(warm),
        mib(last),
        mib(peak),
        (last as f64 / warm.max(1) as f64 - 1.0) * 100.0
    );
    if let Some(p) = monitor.health().persistence {
        let bytes = std::fs::metadata(&p.path).map_or(0, |m| m.len());
        println!(
            "store: {} commits ({} failed), {:?} committing in all, {:.1} MiB on disk",
            p.commits,
            p.commit_failures,
            p.commit_time,
            mib(bytes)
        );
    }
    if delivered != recorded {
        return Err(format!("lost {} selections", recorded - delivered).into());
    }
    if last as f64 > warm as f64 * 1.1 {
        return Err("RSS grew more than 10% over the second half".into());
    }
    Ok(())
}
