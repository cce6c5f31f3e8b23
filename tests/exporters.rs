//! Delivery and the built-in exporters, through the public API.

mod common;

use common::Shared;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, bounded};
use modelmeter::{
    Config, CsvExporter, ErrorKind, ExportBatch, ExportError, ExportSettings, Exporter,
    JsonLinesExporter, LogExporter, ManualClock, Monitor, Selection, Snapshot,
};
use parking_lot::Mutex;

const MINUTE: Duration = Duration::from_secs(60);

/// Counts per (model, minute start) of every bucket received, and batches.
type PerMinute = BTreeMap<(String, u128), (u64, u32)>;

#[derive(Clone, Default)]
struct Tally(Arc<Mutex<PerMinute>>, Arc<std::sync::atomic::AtomicU64>);

impl Exporter for Tally {
    fn export(&mut self, batch: &ExportBatch) -> Result<(), ExportError> {
        self.1.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut t = self.0.lock();
        for b in &batch.buckets {
            let start = b
                .start
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis();
            let e = t.entry((b.model.clone(), start)).or_default();
            e.0 += b.count;
            e.1 += 1;
        }
        Ok(())
    }
    fn name(&self) -> &str {
        "tally"
    }
}

fn fast_settings() -> ExportSettings {
    let mut s = ExportSettings::default();
    s.queue_capacity = 4;
    s.attempts = 2;
    s.initial_backoff = Duration::from_millis(1);
    s.max_backoff = Duration::from_millis(2);
    s.timeout = Duration::from_millis(50);
    s.flush_timeout = Duration::from_millis(300);
    s
}

/// `base` with a queue of `capacity` batches.
fn with_queue(mut base: ExportSettings, capacity: usize) -> ExportSettings {
    base.queue_capacity = capacity;
    base
}

fn traffic(monitor: &Monitor, minute: u64) {
    for m in ["gpt-4o", "gpt-4o-mini", "claude"] {
        for i in 0..(10 + minute % 7) {
            let s = Selection::new(m, Duration::from_millis(100 + i * 37)).cost_usd(0.001);
            monitor.record_selection(&s).unwrap();
        }
    }
}

fn expected(minutes: u64) -> u64 {
    (0..minutes).map(|m| 3 * (10 + m % 7)).sum()
}

#[test]
fn a_custom_exporter_receives_every_minute_exactly_once() {
    let clock = ManualClock::new(common::start());
    let tally = Tally::default();
    let monitor = Monitor::builder()
        .clock(clock.clone())
        .exporter_with(tally.clone(), with_queue(ExportSettings::default(), 1024))
        .background(false)
        .synchronous_export(false)
        .build()
        .unwrap();
    for minute in 0..120 {
        traffic(&monitor, minute);
        clock.advance(MINUTE);
        // Several ticks per minute: a minute must still be sealed once.
        monitor.tick();
        monitor.tick();
    }
    monitor.flush();
    let t = tally.0.lock();
    assert_eq!(t.len(), 3 * 120, "one bucket per model and minute");
    assert!(t.values().all(|&(_, buckets)| buckets == 1));
    assert_eq!(t.values().map(|v| v.0).sum::<u64>(), expected(120));
    let h = monitor.health();
    assert_eq!(h.exporters[0].name, "tally");
    assert_eq!(h.exporters[0].failed + h.exporters[0].dropped, 0);
}

struct Failing;
impl Exporter for Failing {
    fn export(&mut self, _: &ExportBatch) -> Result<(), ExportError> {
        Err(ExportError::new("sink down"))
    }
    fn name(&self) -> &str {
        "failing"
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

/// Blocks inside its first export until the test releases it.
struct Stalling {
    entered: Sender<()>,
    release: Receiver<()>,
}
impl Exporter for Stalling {
    fn export(&mut self, _: &ExportBatch) -> Result<(), ExportError> {
        let _ = self.entered.try_send(());
        let _ = self.release.recv();
        Ok(())
    }
    fn name(&self) -> &str {
        "stalling"
    }
}

#[test]
fn broken_exporters_delay_nobody_and_lose_nothing_for_the_others() {
    let clock = ManualClock::new(common::start());
    let tally = Tally::default();
    let (entered_tx, entered) = bounded(1);
    let (release, release_rx) = bounded(1000);
    let monitor = Monitor::builder()
        .clock(clock.clone())
        .exporter_with(Failing, fast_settings())
        // A panic's first backtrace can take longer to print than a fast flush waits
        // (its symbols are loaded then): this one may take its time to drain.
        .exporter_with(Panicking, {
            let mut s = fast_settings();
            s.flush_timeout = Duration::from_secs(10);
            s
        })
        .exporter_with(
            Stalling {
                entered: entered_tx,
                release: release_rx,
            },
            fast_settings(),
        )
        .exporter_with(tally.clone(), with_queue(fast_settings(), 1024))
        .background(false)
        .synchronous_export(false)
        .build()
        .unwrap();
    for minute in 0..30 {
        traffic(&monitor, minute);
        clock.advance(MINUTE);
        monitor.tick();
        if minute == 1 {
            // The first batch (minute 0) is out: the stalling exporter is now blocked
            // inside export, and ticks go on.
            entered
                .recv_timeout(Duration::from_secs(30))
                .expect("the stalling exporter received the first batch");
        }
    }
    // 30 ticks returned while one exporter was blocked: the tick is not held up.
    monitor.flush();
    let h = monitor.health();
    let by_name = |n: &str| h.exporters.iter().find(|e| e.name == n).unwrap().clone();
    let batches = tally.1.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(batches, 30, "minutes 0..=28 at ticks, 29 at flush");
    // Every batch is accounted for: failed after its retry, or dropped from the full
    // queue while the exporter was busy retrying.
    let failing = by_name("failing");
    assert_eq!(failing.delivered, 0);
    assert!(failing.failed > 0, "{failing:?}");
    assert_eq!(failing.failed + failing.dropped, batches, "{failing:?}");
    assert_eq!(failing.retried, failing.failed, "one retry per batch");
    assert!(failing.last_error.unwrap().contains("sink down"));
    let panicking = by_name("panicking");
    assert!(panicking.panicked > 0, "{panicking:?}");
    assert_eq!(
        panicking.panicked + panicking.dropped,
        batches,
        "{panicking:?}"
    );
    assert!(panicking.last_error.unwrap().contains("exporter bug"));
    let stalling = by_name("stalling");
    assert_eq!(
        stalling.dropped + stalling.queued + 1,
        batches,
        "{stalling:?}"
    );
    assert!(
        stalling.queued <= 4,
        "the queue stays bounded: {stalling:?}"
    );
    assert_eq!(h.export_failures, failing.failed + panicking.panicked);
    // The healthy exporter got everything, exactly.
    assert_eq!(
        tally.0.lock().values().map(|v| v.0).sum::<u64>(),
        expected(30)
    );
    // Released, the stalled call is counted as timed out and the rest drains.
    for _ in 0..100 {
        release.send(()).unwrap();
    }
    monitor.flush();
    let stalling = monitor
        .health()
        .exporters
        .into_iter()
        .find(|e| e.name == "stalling")
        .unwrap();
    assert_eq!(stalling.timed_out, 1, "{stalling:?}");
    assert_eq!(stalling.queued, 0);
}

#[test]
fn json_lines_have_a_type_and_exact_counts() {
    let clock = ManualClock::new(common::start());
    let out = Shared::default();
    let mut config = Config::default();
    config.monitoring.alerting.enabled = false;
    let monitor = Monitor::builder()
        .clock(clock.clone())
        .config(config)
        .rule(
            modelmeter::ThresholdRule::new("slow", modelmeter::Metric::LatencyP95, 100.0, 200.0)
                .min_samples(1)
                .for_duration(Duration::ZERO),
        )
        .exporter(JsonLinesExporter::new(out.clone()))
        .background(false)
        .build()
        .unwrap();
    for minute in 0..5 {
        traffic(&monitor, minute);
        clock.advance(MINUTE);
        monitor.tick();
    }
    monitor.flush();
    let mut count = 0;
    let mut alerts = 0;
    let mut incidents = 0;
    for line in out.text().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["v"], 1);
        match v["type"].as_str().unwrap() {
            "bucket" => {
                count += v["count"].as_u64().unwrap();
                assert!(v["latency"]["buckets"].as_array().unwrap().len() > 1);
            }
            "alert" => {
                alerts += 1;
                assert!(v["rule_id"] == "slow" && v["kind"] == "firing", "{v}");
            }
            "incident" => {
                incidents += 1;
                assert_eq!(v["kind"], "opened", "{v}");
                assert_eq!(v["incident"]["alerts"].as_array().unwrap().len(), 3, "{v}");
            }
            other => panic!("unexpected type {other}"),
        }
    }
    assert_eq!(count, expected(5));
    assert_eq!(alerts, 3, "one firing alert per model");
    assert_eq!(incidents, 1, "one incident for the three");
}

#[test]
fn csv_has_one_header_and_one_row_per_bucket() {
    let (clock, monitor_out) = (ManualClock::new(common::start()), Shared::default());
    let monitor = Monitor::builder()
        .clock(clock.clone())
        .exporter(CsvExporter::new(monitor_out.clone()))
        .background(false)
        .build()
        .unwrap();
    for minute in 0..4 {
        traffic(&monitor, minute);
        let streamed = Selection::new("claude", Duration::from_millis(900))
            .time_to_first_token(Duration::from_millis(50))
            .tokens(10, 86);
        monitor.record_selection(&streamed).unwrap();
        let limited = Selection::new("claude", Duration::from_millis(9))
            .error_kind(ErrorKind::RateLimited)
            .retries(2);
        monitor.record_selection(&limited).unwrap();
        clock.advance(MINUTE);
        monitor.tick();
    }
    monitor.flush();
    let text = monitor_out.text();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "minute_start_ms");
    let count_col = headers.iter().position(|h| h == "count").unwrap();
    let rows: Vec<_> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3 * 4);
    let total: u64 = rows
        .iter()
        .map(|r| r[count_col].parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, expected(4) + 8);
    assert_eq!(text.matches("minute_start_ms").count(), 1);
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let sum = |name: &str| -> u64 {
        rows.iter()
            .map(|r| r[col(name)].parse::<u64>().unwrap())
            .sum()
    };
    assert_eq!(sum("errors_rate_limited"), 4);
    assert_eq!(sum("errors"), 4);
    assert_eq!(sum("retries"), 8);
    assert_eq!(
        (sum("streaming"), sum("ttft_count"), sum("tpot_count")),
        (4, 4, 4)
    );
    for r in &rows {
        let (model, ttft, tpot) = (
            &r[col("model")],
            &r[col("ttft_p50_ms")],
            &r[col("tpot_p95_ms")],
        );
        if model == "claude" {
            // 50 ms within 1%; (900 - 50) / 85 = 10 ms per token.
            assert!(
                (ttft.parse::<f64>().unwrap() / 50.0 - 1.0).abs() <= 0.01,
                "{ttft}"
            );
            assert!(
                (tpot.parse::<f64>().unwrap() / 10.0 - 1.0).abs() <= 0.01,
                "{tpot}"
            );
        } else {
            assert_eq!((ttft, tpot), ("", ""), "no streamed selection, no value");
        }
    }
}

#[test]
fn the_log_exporter_writes_one_line_per_incident() {
    let clock = ManualClock::new(common::start());
    let out = Shared::default();
    let monitor = Monitor::builder()
        .clock(clock.clone())
        .exporter(LogExporter::new(out.clone()))
        .background(false)
        .build()
        .unwrap();
    for _ in 0..6 {
        for i in 0..100 {
            let s = Selection::new("mistral-large", Duration::from_millis(300)).error(i % 4 == 0);
            monitor.record_selection(&s).unwrap();
        }
        clock.advance(MINUTE);
        monitor.tick();
    }
    let text = out.text();
    assert!(
        // No cache hits and 25% errors: two alerts on one model, one incident, one line.
        text.contains(
            "] INCIDENT OPENED critical model mistral-large: 2 rules: 2 alerts: \
             cache_hit_rate model mistral-large (critical), \
             error_rate model mistral-large (critical)"
        ),
        "{text}"
    );
    assert!(text.starts_with("[2026-11-23T00:0"), "{text}");
    assert_eq!(text.lines().count(), 1, "{text}");
}

#[test]
fn merged_snapshots_equal_one_monitor_fed_everything() {
    let clock = ManualClock::new(common::start());
    let build = || {
        Monitor::builder()
            .clock(clock.clone())
            .background(false)
            .build()
            .unwrap()
    };
    let (all, a, b) = (build(), build(), build());
    for minute in 0..30u64 {
        for i in 0..40u64 {
            let model = ["gpt-4o", "gpt-4o-mini", "claude"][(i % 3) as usize];
            let s = Selection::new(
                model,
                Duration::from_micros(1000 + i * i * 997 + minute * 31),
            )
            .cost_usd(0.0001 * (i % 5) as f64)
            .cache_hit(i % 4 == 0)
            .error(i % 13 == 0)
            .accuracy(if i % 6 == 0 { 0.0 } else { 1.0 })
            .tokens(100 + i, 20 + i);
            all.record_selection(&s).unwrap();
            if (i + minute) % 3 == 0 { &a } else { &b }
                .record_selection(&s)
                .unwrap();
        }
        clock.advance(MINUTE);
        for m in [&all, &a, &b] {
            m.tick();
        }
    }
    let window = Duration::from_secs(3600);
    let mut fleet = a.snapshot(window);
    let wire = serde_json::to_string(&b.snapshot(window)).unwrap();
    assert!(
        wire.len() < 20_000,
        "histograms are compact: {} bytes",
        wire.len()
    );
    let from_b: Snapshot = serde_json::from_str(&wire).unwrap();
    fleet.merge(&from_b).unwrap();
    let merged = fleet.summary();
    let direct = all.summary(window);
    assert_eq!(merged.models, direct.models);
    assert_eq!(merged.overview, direct.overview);
    assert_eq!(fleet, {
        let mut other = b.snapshot(window);
        other.merge(&a.snapshot(window)).unwrap();
        other
    });
}

#[test]
fn subscribers_get_live_snapshots_and_slow_ones_are_not_waited_on() {
    let (clock, monitor) = common::manual();
    let live = monitor.subscribe();
    let slow = monitor.subscribe();
    for step in 0..20 {
        for _ in 0..10 {
            monitor
                .record_selection(&Selection::new("gpt-4o", Duration::from_millis(500)))
                .unwrap();
        }
        clock.advance(Duration::from_secs(5));
        monitor.tick();
        let snap = live.try_recv().expect("one snapshot per update interval");
        assert_eq!(snap.models["gpt-4o"].last_5_minutes.count, (step + 1) * 10);
        assert_eq!(
            snap.models["gpt-4o"].last_minute.p95,
            Duration::from_millis(500)
        );
    }
    assert_eq!(slow.len(), 4, "a slow subscriber holds at most its backlog");
    assert_eq!(monitor.health().live_dropped, 16);
    drop(slow);
    clock.advance(Duration::from_secs(5));
    monitor.tick();
    assert!(live.try_recv().is_ok());
}

#[test]
fn bad_export_settings_name_the_field() {
    let e = Monitor::builder()
        .exporter_with(Failing, {
            let mut s = ExportSettings::default();
            s.attempts = 0;
            s
        })
        .background(false)
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("export.attempts"), "{e}");
}

#[test]
fn health_answers_while_a_synchronous_tick_waits_on_an_exporter() {
    let clock = ManualClock::new(common::start());
    let (entered_tx, entered) = bounded(1);
    let (release, release_rx) = bounded(1);
    let monitor = Monitor::builder()
        .clock(clock.clone())
        .exporter_with(
            Stalling {
                entered: entered_tx,
                release: release_rx,
            },
            {
                let mut s = ExportSettings::default();
                s.timeout = Duration::from_secs(600);
                s
            },
        )
        .background(false)
        .build()
        .unwrap();
    traffic(&monitor, 0);
    clock.advance(3 * MINUTE);
    let ticking = {
        let monitor = monitor.clone();
        std::thread::spawn(move || monitor.tick())
    };
    entered
        .recv_timeout(Duration::from_secs(30))
        .expect("the exporter received the batch");
    // The tick is blocked waiting for delivery; health must not wait with it.
    let h = monitor.health();
    assert_eq!(h.exporters[0].name, "stalling");
    assert_eq!(h.exporters[0].delivered, 0);
    release.send(()).unwrap();
    ticking.join().unwrap();
    assert_eq!(monitor.health().exporters[0].delivered, 1);
}
