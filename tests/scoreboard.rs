//! The routing scoreboard through the public API: equal to a summary at the same
//! instant, refreshed at every tick and by the worker between ticks, never torn.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use common::{drive, manual, start};
use modelmeter::{Clock, Config, ManualClock, Monitor, Score, Selection, Severity, Stats};

fn same(score: &Score, stats: &Stats) {
    assert_eq!(score.count, stats.count);
    assert_eq!(score.per_second, stats.throughput_per_sec);
    assert_eq!(score.p50, stats.latency.p50);
    assert_eq!(score.p95, stats.latency.p95);
    assert_eq!(score.error_rate, stats.error_rate);
    assert_eq!(score.cache_hit_rate, stats.cache_hit_rate);
    assert_eq!(score.mean_cost_usd, stats.mean_cost_usd);
    let (lo, hi) = score.error_rate_bounds;
    assert!(
        lo <= score.error_rate && score.error_rate <= hi,
        "{lo} {hi}"
    );
}

#[test]
fn scores_equal_a_summary_over_the_same_window_at_the_same_instant() {
    let (clock, monitor) = common::build(common::quiet());
    let board = monitor.scoreboard();
    let models = ["a", "b", "c"];
    // "old" has traffic 8 minutes ago only: outside both windows.
    monitor
        .record_selection(&Selection::new("old", Duration::from_millis(50)))
        .unwrap();
    drive(&clock, &monitor, 8, 90, |m, i| {
        let model = models[(i % 3) as usize];
        Selection::new(model, Duration::from_millis(40 + (i * 37 + m * 11) % 900))
            .error(i % 7 == 0 && model != "c")
            .cache_hit(i % 5 == 0)
            .cost_usd(0.001 * (1 + i % 4) as f64)
    });
    // Part of the open minute too.
    clock.advance(Duration::from_secs(25));
    for i in 0..30 {
        monitor
            .record_selection(&Selection::new("a", Duration::from_millis(300 + i)).error(i < 10))
            .unwrap();
    }
    monitor.tick();
    let one = monitor.summary(Duration::from_secs(60));
    let five = monitor.summary(Duration::from_secs(300));
    assert_eq!(board.len(), 3);
    for m in models {
        let s = board.get(m).unwrap();
        same(&s.last_1m, &one.models[m]);
        same(&s.last_5m, &five.models[m]);
        assert_eq!(s.at, clock.now());
    }
    assert!(board.get("old").is_none());
    let listed: Vec<_> = board.iter().map(|(m, _)| m.to_string()).collect();
    assert_eq!(listed, models);
}

#[test]
fn a_manual_scoreboard_changes_only_at_a_tick_and_says_when() {
    let (clock, monitor) = manual();
    monitor
        .record_selection(&Selection::new("a", Duration::from_millis(100)))
        .unwrap();
    // The first ask fills the table, so it never starts empty.
    let board = monitor.scoreboard();
    assert_eq!(board.get("a").unwrap().last_1m.count, 1);
    assert_eq!(board.at(), Some(start()));
    clock.advance(Duration::from_secs(1));
    monitor
        .record_selection(&Selection::new("a", Duration::from_millis(100)))
        .unwrap();
    assert_eq!(
        board.get("a").unwrap().last_1m.count,
        1,
        "stale until a tick"
    );
    monitor.tick();
    let s = board.get("a").unwrap();
    assert_eq!((s.last_1m.count, s.at), (2, clock.now()));
    // A handle taken before, or cloned, sees the same table.
    assert_eq!(board.clone().get("a"), monitor.scoreboard().get("a"));
}

#[test]
fn a_model_that_starts_failing_shows_at_the_next_tick() {
    let (clock, monitor) = manual();
    let board = monitor.scoreboard();
    drive(&clock, &monitor, 5, 120, |_, _| {
        Selection::new("a", Duration::from_millis(200))
    });
    assert_eq!(board.get("a").unwrap().last_1m.error_rate_bounds.0, 0.0);
    // One second of failures, then a tick: the live interval in manual mode.
    for _ in 0..20 {
        monitor
            .record_selection(&Selection::new("a", Duration::from_millis(200)).error(true))
            .unwrap();
    }
    clock.advance(Duration::from_secs(1));
    monitor.tick();
    let s = board.get("a").unwrap();
    assert!(
        s.last_1m.error_rate_bounds.0 > 0.05,
        "credibly failing: {:?}",
        s.last_1m
    );
    assert!(s.last_5m.error_rate < s.last_1m.error_rate);
}

#[test]
fn the_worker_refreshes_between_ticks() {
    let mut config = Config::default();
    config.monitoring.update_interval = Duration::from_secs(3600); // no tick during the test
    config.monitoring.live_interval = Duration::from_millis(10);
    let clock = ManualClock::new(start());
    let monitor = Monitor::builder()
        .clock(clock.clone())
        .config(config)
        .build()
        .unwrap();
    let board = monitor.scoreboard();
    assert!(board.get("a").is_none());
    for _ in 0..10 {
        monitor
            .record_selection(&Selection::new("a", Duration::from_millis(200)).error(true))
            .unwrap();
    }
    clock.advance(Duration::from_millis(10));
    // Waits for the worker thread, not for simulated time: the clock is manual.
    let deadline = Instant::now() + Duration::from_secs(10);
    while board.get("a").is_none_or(|s| s.last_1m.count < 10) {
        assert!(Instant::now() < deadline, "no refresh within 10 s");
        std::thread::yield_now();
    }
    let s = board.get("a").unwrap();
    assert_eq!(s.last_1m.error_rate, 1.0);
    assert_eq!(monitor.health().ticks, 0, "refreshed without a tick");
}

#[test]
fn a_firing_alert_is_on_its_models_score_only() {
    let (clock, monitor) = manual();
    let board = monitor.scoreboard();
    drive(&clock, &monitor, 20, 200, |m, i| {
        let model = if i % 2 == 0 { "flaky" } else { "steady" };
        // Cache hits, so the cache-hit-rate rule stays quiet.
        Selection::new(model, Duration::from_millis(300))
            .cache_hit(true)
            .error(model == "flaky" && m >= 5 && i % 4 == 0)
    });
    let firing: Vec<_> = monitor
        .active_alerts()
        .into_iter()
        .filter(|a| a.state == modelmeter::AlertState::Firing)
        .collect();
    assert!(!firing.is_empty(), "a 50% error rate fires");
    assert_eq!(board.get("flaky").unwrap().alert, Some(Severity::Critical));
    assert_eq!(board.get("steady").unwrap().alert, None);
}

#[test]
fn reads_during_refreshes_never_see_a_torn_score() {
    let (clock, monitor) = manual();
    let board = monitor.scoreboard();
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (board, done) = (board.clone(), done.clone());
            std::thread::spawn(move || {
                let (mut reads, mut last) = (0u64, (SystemTime::UNIX_EPOCH, 0));
                while !done.load(Ordering::Relaxed) {
                    let Some(s) = board.get("a") else { continue };
                    // Every refresh sees whole pairs: one failed cache hit, one success.
                    let one = s.last_1m;
                    assert_eq!(one.count % 2, 0, "{one:?}");
                    assert_eq!((one.error_rate, one.cache_hit_rate), (0.5, 0.5));
                    assert_eq!(
                        (one.p50, one.p95),
                        (Duration::from_millis(120), Duration::from_millis(120))
                    );
                    assert!((one.mean_cost_usd.unwrap() - 0.002).abs() < 1e-12);
                    assert_eq!(s.last_5m.count, one.count, "both windows from one refresh");
                    assert!((s.at, one.count) >= last, "never goes back");
                    last = (s.at, one.count);
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    for k in 0..3_000u64 {
        for error in [true, false] {
            monitor
                .record_selection(
                    &Selection::new("a", Duration::from_millis(120))
                        .error(error)
                        .cache_hit(error)
                        .cost_usd(0.002),
                )
                .unwrap();
        }
        if k % 100 == 99 {
            clock.advance(Duration::from_millis(10));
        }
        monitor.tick();
    }
    done.store(true, Ordering::Relaxed);
    let reads: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
    assert!(reads > 0);
    assert_eq!(board.get("a").unwrap().last_1m.count, 6_000);
}

#[test]
fn one_thread_reading_two_monitors_gets_each_its_own_scores() {
    let (_c1, first) = manual();
    let (_c2, second) = manual();
    let (b1, b2) = (first.scoreboard(), second.scoreboard());
    for (monitor, n) in [(&first, 3), (&second, 5)] {
        for _ in 0..n {
            monitor
                .record_selection(&Selection::new("m", Duration::from_millis(10)))
                .unwrap();
        }
        monitor.tick();
    }
    for _ in 0..3 {
        assert_eq!(b1.get("m").unwrap().last_1m.count, 3);
        assert_eq!(b2.get("m").unwrap().last_1m.count, 5);
    }
    drop(first);
    let (_c3, third) = manual();
    let b3 = third.scoreboard();
    assert!(
        b3.get("m").is_none(),
        "a new monitor never answers from an old table"
    );
    assert_eq!(
        b1.get("m").unwrap().last_1m.count,
        3,
        "frozen after its monitor is gone"
    );
}
