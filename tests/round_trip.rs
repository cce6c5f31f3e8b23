//! Everything the crate writes reads back with its own types: JSON lines, export
//! batches, live snapshots, health, scoreboard scores.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{Batches, Shared};
use modelmeter::export::{ExportBatch, JsonLine, JsonLinesExporter};
use modelmeter::{
    Clock, Config, ErrorKind, Feedback, Health, LiveSnapshot, ManualClock, Metric, Monitor,
    Selection, ThresholdRule,
};

/// Two hours of traffic that produce every kind of line: minutes, alerts, an
/// incident, a budget event, recommendations and hourly reports.
fn eventful_monitor() -> (ManualClock, Monitor, Shared, Batches) {
    let clock = ManualClock::new(common::start());
    let (lines, batches) = (Shared::default(), Batches::default());
    let mut config = Config::default();
    config.cost.budget.daily_usd = Some(1.0);
    config.reporting.schedules.hourly.enabled = true;
    config.optimizer.min_samples = 20;
    config.optimizer.interval = Duration::from_secs(3600);
    let monitor = Monitor::builder()
        .clock(clock.clone())
        .config(config)
        .rule(
            ThresholdRule::new("slow", Metric::LatencyP95, 100.0, 200.0)
                .min_samples(1)
                .for_duration(Duration::ZERO),
        )
        .exporter(JsonLinesExporter::new(lines.clone()))
        .exporter(batches.clone())
        .background(false)
        .build()
        .unwrap();
    for _minute in 0..130 {
        for (model, ms, err) in [
            ("gpt-4o", 900, 0),
            ("gpt-4o-mini", 300, 3),
            ("claude", 450, 0),
        ] {
            for i in 0..20u64 {
                let mut s = Selection::new(model, Duration::from_millis(ms + i * 7))
                    .cost_usd(0.0009)
                    .error(i < err)
                    .cache_hit(i % 5 == 0)
                    .accuracy(0.96)
                    .tokens(800 + i, 200);
                if i == 0 {
                    s = s.error_kind(ErrorKind::RateLimited).retries(1);
                }
                if i % 2 == 1 {
                    s = s.time_to_first_token(Duration::from_millis(ms / 3));
                }
                monitor.record_selection(&s).unwrap();
            }
        }
        let at = clock.now();
        clock.advance(Duration::from_secs(60));
        monitor.tick();
        // Feedback on the minute just sealed: a delta bucket with a named score.
        monitor
            .record_feedback(&Feedback::new("claude", at).score("helpful", 0.5))
            .unwrap();
    }
    monitor.flush();
    (clock, monitor, lines, batches)
}

#[test]
fn every_json_line_reads_back_as_a_json_line_and_writes_the_same() {
    let (_clock, _monitor, lines, _) = eventful_monitor();
    let mut kinds = BTreeSet::new();
    for line in lines.text().lines() {
        let parsed: JsonLine = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let kind = serde_json::from_str::<serde_json::Value>(line).unwrap()["type"].clone();
        kinds.insert(kind.as_str().unwrap().to_owned());
        let again: serde_json::Value = serde_json::to_value(&parsed).unwrap();
        assert_eq!(
            again,
            serde_json::from_str::<serde_json::Value>(line).unwrap()
        );
    }
    let want = [
        "alert",
        "bucket",
        "budget",
        "incident",
        "recommendation",
        "report",
    ];
    assert_eq!(
        kinds,
        want.iter().map(|s| s.to_string()).collect(),
        "every kind of line"
    );
}

#[test]
fn export_batches_round_trip_exactly() {
    let (_clock, _monitor, _, batches) = eventful_monitor();
    let batches = batches.0.lock().clone();
    assert!(
        batches
            .iter()
            .any(|b| !b.recommendations.is_empty() && !b.reports.is_empty())
    );
    for batch in &batches {
        let json = serde_json::to_string(batch).unwrap();
        let back: ExportBatch = serde_json::from_str(&json).unwrap();
        assert_eq!(&back, batch);
    }
}

#[test]
fn live_snapshots_health_and_scores_round_trip() {
    let (clock, monitor, _, _) = eventful_monitor();
    let live = monitor.subscribe();
    monitor
        .record_selection(&Selection::new("gpt-4o", Duration::from_millis(700)))
        .unwrap();
    clock.advance(Duration::from_secs(60));
    monitor.tick();
    let snapshot = live.try_recv().unwrap();
    let back: LiveSnapshot =
        serde_json::from_str(&serde_json::to_string(&*snapshot).unwrap()).unwrap();
    assert_eq!(back, *snapshot);

    let health = monitor.health();
    let back: Health = serde_json::from_str(&serde_json::to_string(&health).unwrap()).unwrap();
    assert_eq!(back, health);

    let score = monitor.scoreboard().get("gpt-4o").unwrap();
    let back: modelmeter::ModelScore =
        serde_json::from_str(&serde_json::to_string(&score).unwrap()).unwrap();
    assert_eq!(back, score);
}
