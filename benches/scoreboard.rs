//! Reading the routing scoreboard, against a plain `HashMap` lookup of the same scores
//! in the same run, on one thread and on two; and what refreshing it adds to a tick.
//!
//! | case (ns per read)               | what                                           |
//! |----------------------------------|------------------------------------------------|
//! | scoreboard/hashmap_1_thread      | `std::collections::HashMap<String, ModelScore>` |
//! | scoreboard/get_1_thread          | `Scoreboard::get`                              |
//! | scoreboard/hashmap_2_threads     | the same map, read by 2 threads at once         |
//! | scoreboard/get_2_threads         | one scoreboard, read by 2 threads at once       |
//!
//! The 2-thread cases report wall time for `BATCH` reads on *each* thread: equal to
//! the 1-thread figure means the reads scale perfectly.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant, SystemTime};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use modelmeter::{Config, ManualClock, ModelScore, Monitor, Selection};

const MODELS: usize = 100;
const BATCH: usize = 1024;

fn names() -> Vec<String> {
    (0..MODELS)
        .map(|i| format!("provider-{}/model-{i}", i % 7))
        .collect()
}

/// A manual monitor with `MODELS` models of traffic in the open minute.
fn monitor(names: &[String], alerting: bool) -> Monitor {
    let mut config = Config::default();
    config.monitoring.alerting.enabled = alerting;
    let monitor = Monitor::builder()
        .config(config)
        .clock(ManualClock::new(SystemTime::now()))
        .background(false)
        .build()
        .unwrap();
    for (i, name) in names.iter().enumerate() {
        for k in 0..50u64 {
            let s = Selection::new(
                name,
                Duration::from_millis(100 + (i as u64 * 13 + k * 7) % 900),
            )
            .cost_usd(0.001)
            .error(k % 25 == 0);
            monitor.record_selection(&s).unwrap();
        }
    }
    monitor
}

/// Wall time for `iters` rounds of `read` on each of `threads` threads, started together.
fn on_threads(threads: usize, iters: u64, read: &(dyn Fn() + Sync)) -> Duration {
    let barrier = Barrier::new(threads + 1);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                barrier.wait();
                for _ in 0..iters {
                    read();
                }
                barrier.wait();
            });
        }
        barrier.wait();
        let start = Instant::now();
        barrier.wait();
        start.elapsed()
    })
}

fn reads(c: &mut Criterion) {
    let names = names();
    let monitor = monitor(&names, false);
    let board = monitor.scoreboard();
    let map: HashMap<String, ModelScore> = board.iter().map(|(k, v)| (k.to_string(), v)).collect();
    assert_eq!(map.len(), MODELS);
    // A fixed, shuffled order of keys, so neither side gets a branch-predictor gift.
    let keys: Vec<&str> = (0..BATCH)
        .map(|i| names[(i * 37 + 11) % MODELS].as_str())
        .collect();

    let read_map = || {
        for k in &keys {
            black_box(map.get(*black_box(k)).copied());
        }
    };
    let read_board = || {
        for k in &keys {
            black_box(board.get(black_box(k)));
        }
    };
    let mut g = c.benchmark_group("scoreboard");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function("hashmap_1_thread", |b| b.iter(read_map));
    g.bench_function("get_1_thread", |b| b.iter(read_board));
    g.bench_function("hashmap_2_threads", |b| {
        b.iter_custom(|iters| on_threads(2, iters, &read_map))
    });
    g.bench_function("get_2_threads", |b| {
        b.iter_custom(|iters| on_threads(2, iters, &read_board))
    });
    g.finish();
}

/// A manual tick with no rules and nothing to seal, with and without a scoreboard to
/// refresh: the refresh's cost at 100 models.
fn refresh(c: &mut Criterion) {
    let names = names();
    let mut g = c.benchmark_group("scoreboard");
    let plain = monitor(&names, false);
    g.bench_function("tick_100_models", |b| b.iter(|| plain.tick()));
    let scored = monitor(&names, false);
    let _board = scored.scoreboard();
    g.bench_function("tick_100_models_refreshing", |b| b.iter(|| scored.tick()));
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3));
    targets = reads, refresh
}
criterion_main!(benches);
