//! Recording, sealing, tiers and queries through the public API.

mod common;

use std::time::Duration;

use modelmeter::{Config, ManualClock, Monitor, OTHER_MODEL, Selection};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn summary_has_every_field() {
    let (clock, monitor) = common::manual();
    let s = |lat| Selection::new("gpt-4o", ms(lat));
    monitor
        .record_selection(
            &s(100)
                .cost_usd(0.01)
                .accuracy(1.0)
                .complexity(0.2)
                .tokens(100, 10),
        )
        .unwrap();
    monitor
        .record_selection(
            &s(300)
                .cost_usd(0.03)
                .accuracy(0.0)
                .error(true)
                .tokens(200, 20),
        )
        .unwrap();
    monitor
        .record_selection(&s(200).cache_hit(true).satisfaction(0.5))
        .unwrap();
    clock.advance(Duration::from_secs(30));
    let summary = monitor.summary(Duration::from_secs(60));
    // The window starts at the start of the minute `now - 60 s` falls in.
    assert_eq!(summary.start, common::start() - Duration::from_secs(60));
    let st = &summary.models["gpt-4o"];
    assert_eq!((st.count, st.errors, st.cache_hits), (3, 1, 1));
    assert!((st.cost_usd - 0.04).abs() < 1e-12);
    assert_eq!(st.mean_cost_usd, Some(0.02));
    assert_eq!(st.mean_accuracy, Some(0.5));
    assert_eq!(st.mean_complexity, Some(0.2));
    assert_eq!(st.mean_satisfaction, Some(0.5));
    assert_eq!((st.input_tokens, st.output_tokens), (300, 30));
    assert_eq!(st.latency.min, ms(100));
    assert_eq!(st.latency.max, ms(300));
    assert_eq!(st.latency.mean, ms(200));
    assert!(
        st.latency.p50 >= ms(200) && st.latency.p50 <= ms(202),
        "{:?}",
        st.latency.p50
    );
    // 3 selections over the 90 s covered.
    assert!((st.throughput_per_sec - 3.0 / 90.0).abs() < 1e-9);
}

#[test]
fn absent_optional_fields_stay_absent() {
    let (_clock, monitor) = common::manual();
    monitor
        .record_selection(&Selection::new("m", ms(5)))
        .unwrap();
    let st = &monitor.summary(Duration::from_secs(60)).models["m"];
    assert_eq!(st.mean_cost_usd, None);
    assert_eq!(st.mean_accuracy, None);
    assert_eq!(st.mean_satisfaction, None);
    assert_eq!(st.mean_complexity, None);
}

#[test]
fn tick_seals_only_finished_minutes_after_grace() {
    let (clock, monitor, collect) = common::with_collector();
    monitor
        .record_selection(&Selection::new("m", ms(5)))
        .unwrap();
    clock.advance(Duration::from_secs(61));
    monitor.tick();
    assert!(
        collect.0.lock().is_empty(),
        "sealed inside the grace period"
    );
    clock.advance(Duration::from_secs(1));
    monitor.tick();
    let buckets = collect.0.lock().clone();
    assert_eq!(buckets.len(), 1);
    assert_eq!(buckets[0].start, common::start());
    assert_eq!(buckets[0].count, 1);
    assert_eq!(buckets[0].latency.count(), 1);
    assert_eq!(monitor.health().sealed_buckets, 1);
    // Sealed data still answers queries.
    assert_eq!(monitor.summary(Duration::from_secs(300)).overview.count, 1);
}

#[test]
fn late_event_merges_into_its_sealed_minute() {
    let (clock, monitor, collect) = common::with_collector();
    monitor
        .record_selection(&Selection::new("m", ms(5)))
        .unwrap();
    clock.advance(Duration::from_secs(180));
    monitor.tick();
    monitor
        .record_selection(&Selection::new("m", ms(7)).at(common::start() + Duration::from_secs(10)))
        .unwrap();
    monitor.tick();
    let buckets = collect.0.lock().clone();
    assert_eq!(
        buckets.len(),
        2,
        "the late event is exported as a delta bucket"
    );
    assert!(buckets.iter().all(|b| b.start == common::start()));
    let s = monitor.summary(Duration::from_secs(600));
    assert_eq!(s.models["m"].count, 2);
    assert_eq!(monitor.health().recorded, 2);
}

#[test]
fn flush_seals_the_open_minute_and_later_events_still_count() {
    let (_clock, monitor, collect) = common::with_collector();
    monitor
        .record_selection(&Selection::new("m", ms(5)))
        .unwrap();
    monitor.flush();
    assert_eq!(collect.0.lock().len(), 1);
    monitor
        .record_selection(&Selection::new("m", ms(5)))
        .unwrap();
    assert_eq!(monitor.summary(Duration::from_secs(60)).overview.count, 2);
    monitor.flush();
    assert_eq!(collect.0.lock().iter().map(|b| b.count).sum::<u64>(), 2);
}

#[test]
fn dropping_the_last_handle_flushes_to_exporters() {
    let (_clock, monitor, collect) = common::with_collector();
    let second = monitor.clone();
    monitor
        .record_selection(&Selection::new("m", ms(5)))
        .unwrap();
    drop(monitor);
    assert!(collect.0.lock().is_empty());
    drop(second);
    assert_eq!(collect.0.lock().len(), 1);
}

#[test]
fn background_worker_stops_and_flushes_on_drop() {
    let collect = common::Collect::default();
    let mut config = Config::default();
    config.monitoring.update_interval = Duration::from_millis(10);
    let monitor = Monitor::builder()
        .config(config)
        .exporter(collect.clone())
        .build()
        .unwrap();
    for _ in 0..100 {
        monitor
            .record_selection(&Selection::new("m", ms(5)))
            .unwrap();
    }
    drop(monitor);
    assert_eq!(collect.0.lock().iter().map(|b| b.count).sum::<u64>(), 100);
}

#[test]
fn model_cap_overflows_into_other() {
    let clock = ManualClock::new(common::start());
    let mut config = Config::default();
    config.recording.max_models = 3;
    let monitor = Monitor::builder()
        .clock(clock)
        .config(config)
        .background(false)
        .build()
        .unwrap();
    for i in 0..10 {
        monitor
            .record_selection(&Selection::new(&format!("m{i}"), ms(5)))
            .unwrap();
    }
    let h = monitor.health();
    assert_eq!(h.models_tracked, 3);
    assert_eq!(h.overflowed_selections, 7);
    let s = monitor.summary(Duration::from_secs(60));
    assert_eq!(s.models[OTHER_MODEL].count, 7);
    assert_eq!(s.overview.count, 10);
    assert_eq!(monitor.model("m9").model(), OTHER_MODEL);
}

#[test]
fn model_handle_records_without_lookup() {
    let (_clock, monitor) = common::manual();
    let h = monitor.model("gpt-4o");
    h.record_selection(&h.selection(ms(5)).cost_usd(0.5))
        .unwrap();
    h.record_selection(&Selection::new("gpt-4o", ms(7)))
        .unwrap();
    assert!(
        h.record_selection(&h.selection(ms(5)).cost_usd(-1.0))
            .is_err()
    );
    // A selection for another model is refused, not silently re-labelled.
    let wrong = h.record_selection(&Selection::new("claude", ms(5)));
    assert_eq!(
        wrong,
        Err(modelmeter::RecordError::ModelMismatch {
            handle: "gpt-4o".into(),
            selection: "claude".into()
        })
    );
    let s = monitor.summary(Duration::from_secs(60));
    assert_eq!(s.models["gpt-4o"].count, 2);
    assert!(!s.models.contains_key("claude"));
    assert_eq!(
        monitor.health().rejected[&modelmeter::RejectReason::ModelMismatch],
        1
    );
}

#[test]
fn clock_going_backwards_loses_nothing() {
    let (clock, monitor) = common::manual();
    clock.advance(Duration::from_secs(600));
    monitor
        .record_selection(&Selection::new("m", ms(5)))
        .unwrap();
    monitor.tick();
    clock.set(common::start());
    monitor
        .record_selection(&Selection::new("m", ms(5)))
        .unwrap();
    monitor.tick();
    clock.advance(Duration::from_secs(1200));
    monitor.tick();
    assert_eq!(monitor.summary(Duration::from_secs(3600)).overview.count, 2);
    assert_eq!(monitor.health().recorded, 2);
}

#[test]
fn tiers_answer_long_windows_and_idle_models_are_evicted() {
    let (clock, monitor) = common::manual();
    // Two days of one event per minute.
    for _ in 0..2 * 1440 {
        monitor
            .record_selection(&Selection::new("old", ms(10)))
            .unwrap();
        clock.advance(Duration::from_secs(60));
        monitor.tick();
    }
    let day = monitor.summary(Duration::from_secs(86_400));
    // 24 h ending mid-minute covers 1440 whole minutes plus the current, empty one.
    assert_eq!(day.models["old"].count, 1440);
    let week = monitor.summary(Duration::from_secs(7 * 86_400));
    assert_eq!(week.models["old"].count, 2 * 1440);
    assert_eq!(monitor.health().models_tracked, 1);
    // Idle past every tier's retention (30 days): evicted, bookkeeping and all.
    clock.advance(Duration::from_secs(40 * 86_400));
    monitor.tick();
    assert_eq!(monitor.health().models_tracked, 0);
    assert!(
        monitor
            .summary(Duration::from_secs(60 * 86_400))
            .models
            .is_empty()
    );
    // A new event for it is recorded normally.
    monitor
        .record_selection(&Selection::new("old", ms(10)))
        .unwrap();
    assert_eq!(
        monitor.summary(Duration::from_secs(60)).models["old"].count,
        1
    );
}

#[test]
fn disabled_monitoring_records_nothing() {
    let mut config = Config::default();
    config.monitoring.enabled = false;
    let monitor = Monitor::builder()
        .config(config)
        .background(false)
        .build()
        .unwrap();
    monitor
        .record_selection(&Selection::new("m", ms(5)))
        .unwrap();
    assert_eq!(monitor.health().recorded, 0);
}

#[test]
fn summary_serializes_to_json() {
    let (_clock, monitor) = common::manual();
    monitor
        .record_selection(&Selection::new("m", ms(5)).cost_usd(0.1))
        .unwrap();
    let json = serde_json::to_value(monitor.summary(Duration::from_secs(60))).unwrap();
    assert_eq!(json["models"]["m"]["count"], 1);
    assert_eq!(json["models"]["m"]["latency"]["p50"], 5.0);
    assert_eq!(
        json["models"]["m"]["mean_accuracy"],
        serde_json::Value::Null
    );
    let health = serde_json::to_value(monitor.health()).unwrap();
    assert_eq!(health["rejected"]["invalid_cost"], 0);
}
