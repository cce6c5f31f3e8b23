//! No user code stops the monitor: rules and clocks that panic are caught, counted,
//! and (rules) disabled after a run of panics; the worker, `flush` and `Drop` survive.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime};

use common::Batches;
use modelmeter::{
    AlertEventKind, Clock, Finding, ManualClock, Metric, Monitor, Rule, RuleView, Selection,
    Severity, ThresholdRule,
};

const MINUTE: Duration = Duration::from_secs(60);

/// Panics in `evaluate` (or `windows`) while `fail` says so; otherwise breaches.
struct Flaky {
    id: &'static str,
    fail: Arc<AtomicBool>,
    in_windows: bool,
    calls: Arc<AtomicU32>,
}

impl Rule for Flaky {
    fn id(&self) -> &str {
        self.id
    }
    fn windows(&self) -> Vec<Duration> {
        if self.in_windows && self.fail.load(Ordering::Relaxed) {
            panic!("{} cannot name its windows", self.id);
        }
        vec![Duration::from_secs(300)]
    }
    fn evaluate(&mut self, _view: &RuleView<'_>) -> Vec<Finding> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        if self.fail.load(Ordering::Relaxed) {
            panic!("{} broke", self.id);
        }
        Vec::new()
    }
}

fn flaky(id: &'static str, in_windows: bool) -> (Flaky, Arc<AtomicBool>, Arc<AtomicU32>) {
    let (fail, calls) = (Arc::new(AtomicBool::new(true)), Arc::new(AtomicU32::new(0)));
    let rule = Flaky {
        id,
        fail: fail.clone(),
        in_windows,
        calls: calls.clone(),
    };
    (rule, fail, calls)
}

fn errors(monitor: &Monitor) {
    for i in 0..40 {
        let s = Selection::new("gpt-4o", Duration::from_millis(300)).error(i % 2 == 0);
        monitor.record_selection(&s).unwrap();
    }
}

#[test]
fn a_panicking_rule_is_skipped_counted_and_disabled_while_the_others_alert() {
    let clock = ManualClock::new(common::start());
    let batches = Batches::default();
    let (boom, _, _) = flaky("boom", false);
    let (bad_windows, _, _) = flaky("bad_windows", true);
    let monitor = Monitor::builder()
        .clock(clock.clone())
        .config(common::quiet())
        .rule(boom)
        .rule(bad_windows)
        .rule(
            ThresholdRule::new("errors", Metric::ErrorRate, 0.05, 0.10)
                .min_samples(10)
                .for_duration(Duration::ZERO),
        )
        .exporter(batches.clone())
        .background(false)
        .build()
        .unwrap();
    for tick in 1..=5u64 {
        errors(&monitor);
        clock.advance(MINUTE);
        monitor.tick();
        let h = monitor.health();
        for id in ["boom", "bad_windows"] {
            let p = &h.rule_panics[id];
            assert_eq!(p.panics, tick.min(3), "{id} stops running once disabled");
            assert_eq!(p.disabled, tick >= 3, "{id} after tick {tick}");
        }
        assert_eq!(h.rule_panics["boom"].last_message, "boom broke");
        assert_eq!(h.ticks, tick);
    }
    let events = batches.flat(|b| &b.alerts);
    let mut disabled: Vec<_> = events
        .iter()
        .filter(|e| e.kind == AlertEventKind::RuleDisabled)
        .map(|e| (e.rule_id.as_str(), e.severity))
        .collect();
    disabled.sort();
    assert_eq!(
        disabled,
        [
            ("bad_windows", Severity::Critical),
            ("boom", Severity::Critical)
        ],
        "one event each, at the third panic"
    );
    assert!(
        events
            .iter()
            .any(|e| e.rule_id == "errors" && e.kind == AlertEventKind::Firing),
        "the healthy rule kept alerting"
    );
    assert!(
        monitor
            .active_alerts()
            .iter()
            .all(|a| a.rule_id == "errors"),
        "a disabled rule opens no alert"
    );
    assert_eq!(
        monitor.summary(Duration::from_secs(600)).overview.count,
        200
    );
}

#[test]
fn panics_must_come_in_a_row_to_disable_a_rule() {
    let clock = ManualClock::new(common::start());
    let (rule, fail, calls) = flaky("sometimes", false);
    let monitor = Monitor::builder()
        .clock(clock.clone())
        .config(common::quiet())
        .rule(rule)
        .background(false)
        .build()
        .unwrap();
    for tick in 0..12 {
        // Two panics, one good run, and again: never three in a row.
        fail.store(tick % 3 != 2, Ordering::Relaxed);
        clock.advance(MINUTE);
        monitor.tick();
    }
    let p = &monitor.health().rule_panics["sometimes"];
    assert_eq!((p.panics, p.disabled), (8, false));
    assert_eq!(calls.load(Ordering::Relaxed), 12);
}

#[test]
fn flush_and_drop_survive_a_panicking_rule() {
    let collect = common::Collect::default();
    let (rule, _, _) = flaky("boom", false);
    let clock = ManualClock::new(common::start());
    let monitor = Monitor::builder()
        .clock(clock.clone())
        .rule(rule)
        .exporter(collect.clone())
        .background(false)
        .build()
        .unwrap();
    errors(&monitor);
    monitor.flush();
    errors(&monitor);
    drop(monitor);
    let sealed: u64 = collect.0.lock().iter().map(|b| b.count).sum();
    assert_eq!(sealed, 80, "both flushes sealed and exported everything");
}

/// A clock that panics while `broken` is set.
struct Unreliable {
    inner: ManualClock,
    broken: AtomicBool,
}

impl Clock for Unreliable {
    fn now(&self) -> SystemTime {
        if self.broken.load(Ordering::Relaxed) {
            panic!("clock source unavailable");
        }
        self.inner.now()
    }
}

#[test]
fn a_panicking_clock_is_answered_with_the_last_tick_and_loses_nothing() {
    let manual = ManualClock::new(common::start());
    let clock = Arc::new(Unreliable {
        inner: manual.clone(),
        broken: AtomicBool::new(false),
    });
    struct Shared(Arc<Unreliable>);
    impl Clock for Shared {
        fn now(&self) -> SystemTime {
            self.0.now()
        }
    }
    let monitor = Monitor::builder()
        .clock(Shared(clock.clone()))
        .config(common::quiet())
        .background(false)
        .build()
        .unwrap();
    manual.advance(MINUTE);
    monitor.tick();
    clock.broken.store(true, Ordering::Relaxed);
    for _ in 0..10 {
        monitor
            .record_selection(&Selection::new("gpt-4o", Duration::from_millis(200)))
            .unwrap();
    }
    monitor.tick();
    assert_eq!(
        monitor.health().clock_panics,
        11,
        "ten records and one tick"
    );
    clock.broken.store(false, Ordering::Relaxed);
    manual.advance(2 * MINUTE);
    monitor.tick();
    let h = monitor.health();
    assert_eq!((h.recorded, h.sealed_buckets, h.tick_panics), (10, 1, 0));
    assert_eq!(monitor.summary(Duration::from_secs(600)).overview.count, 10);
}

#[test]
fn the_worker_keeps_ticking_past_a_panicking_rule_and_says_it_is_alive() {
    let (rule, _, calls) = flaky("boom", false);
    let mut config = common::quiet();
    config.monitoring.update_interval = Duration::from_millis(5);
    config.monitoring.alerting.rule_panic_limit = 1_000_000;
    let monitor = Monitor::builder()
        .config(config)
        .rule(rule)
        .build()
        .unwrap();
    // Waits for the worker thread's progress, not for time to pass: bounded.
    let deadline = Instant::now() + Duration::from_secs(30);
    while calls.load(Ordering::Relaxed) < 5 && Instant::now() < deadline {
        std::thread::yield_now();
    }
    let h = monitor.health();
    // The fifth call may still be unwinding: four panics are counted for sure.
    assert!(h.rule_panics["boom"].panics >= 4, "{h:?}");
    assert_eq!(h.worker_alive, Some(true));
    assert!(h.last_tick.is_some());
    assert_eq!(common::manual().1.health().worker_alive, None);
}
