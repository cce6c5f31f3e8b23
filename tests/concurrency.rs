//! No count is lost: writers race the sealer, queries, model creation and eviction.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use modelmeter::{Config, ManualClock, Monitor, Selection};

const MODELS: [&str; 8] = [
    "gpt-4o",
    "gpt-4o-mini",
    "claude",
    "haiku",
    "gemini",
    "flash",
    "llama",
    "mistral",
];

/// Runs `ticker` in a loop on its own thread until the writers are done.
fn with_ticker<R>(ticker: impl Fn() + Send + 'static, writers: impl FnOnce() -> R) -> R {
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let handle = thread::spawn(move || {
        while !s.load(Ordering::Relaxed) {
            ticker();
        }
    });
    let r = writers();
    stop.store(true, Ordering::Relaxed);
    handle.join().unwrap();
    r
}

#[test]
fn exact_totals_while_a_thread_ticks_and_time_moves() {
    const THREADS: u64 = 4;
    const PER_THREAD: u64 = 500_000;
    let clock = ManualClock::new(common::start());
    let collect = common::Collect::default();
    let monitor = Monitor::builder()
        .clock(clock.clone())
        .exporter(collect.clone())
        .background(false)
        .build()
        .unwrap();
    let (m, c) = (monitor.clone(), clock.clone());
    with_ticker(
        move || {
            c.advance(Duration::from_secs(7));
            m.tick();
            let _ = m.summary(Duration::from_secs(600));
        },
        || {
            thread::scope(|s| {
                for t in 0..THREADS {
                    let monitor = &monitor;
                    s.spawn(move || {
                        let handle = monitor.model("handle-model");
                        for i in 0..PER_THREAD {
                            let sel = Selection::new(
                                MODELS[(i % 8) as usize],
                                Duration::from_micros(100 + i % 5000),
                            )
                            .cost_usd(0.001)
                            .error(i % 50 == 0);
                            if (i + t) % 10 == 0 {
                                let own = handle
                                    .selection(sel.latency())
                                    .cost_usd(0.001)
                                    .error(i % 50 == 0);
                                handle.record_selection(&own).unwrap();
                            } else {
                                monitor.record_selection(&sel).unwrap();
                            }
                        }
                    });
                }
            })
        },
    );
    monitor.flush();
    let total = THREADS * PER_THREAD;
    assert_eq!(monitor.health().recorded, total);
    let buckets = collect.0.lock();
    assert_eq!(
        buckets.iter().map(|b| b.count).sum::<u64>(),
        total,
        "every event exported exactly once"
    );
    assert_eq!(
        buckets.iter().map(|b| b.errors).sum::<u64>(),
        THREADS * PER_THREAD / 50
    );
    assert_eq!(
        buckets.iter().map(|b| b.latency.count()).sum::<u64>(),
        total
    );
    let summary = monitor.summary(Duration::from_secs(6 * 3600));
    assert_eq!(summary.overview.count, total);
    assert!((summary.overview.cost_usd - total as f64 * 0.001).abs() < 1e-6);
}

#[test]
fn exact_totals_while_models_are_created_capped_and_evicted() {
    const THREADS: u64 = 3;
    const PER_THREAD: u64 = 100_000;
    let clock = ManualClock::new(common::start());
    let collect = common::Collect::default();
    let mut config = Config::default();
    config.recording.max_models = 16;
    config.recording.minute_retention = Duration::from_secs(120);
    config.recording.hour_retention = Duration::from_secs(120);
    config.monitoring.retention_period = Duration::from_secs(3600);
    let monitor = Monitor::builder()
        .clock(clock.clone())
        .config(config)
        .exporter(collect.clone())
        .background(false)
        .build()
        .unwrap();
    let (m, c) = (monitor.clone(), clock.clone());
    // Big clock steps retire idle models (retention is one hour) while writers race in.
    with_ticker(
        move || {
            c.advance(Duration::from_secs(1800));
            m.tick();
        },
        || {
            thread::scope(|s| {
                for t in 0..THREADS {
                    let monitor = &monitor;
                    s.spawn(move || {
                        for i in 0..PER_THREAD {
                            let name = format!("model-{}", (i * 7 + t) % 40);
                            monitor
                                .record_selection(&Selection::new(
                                    &name,
                                    Duration::from_micros(i % 977),
                                ))
                                .unwrap();
                        }
                    });
                }
            })
        },
    );
    monitor.flush();
    let exported: u64 = collect.0.lock().iter().map(|b| b.count).sum();
    assert_eq!(exported, THREADS * PER_THREAD);
    assert!(monitor.health().models_tracked <= 16);
}
