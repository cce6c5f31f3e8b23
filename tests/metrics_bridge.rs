//! The `metrics` bridge, checked with metrics-util's debugging recorder.
#![cfg(feature = "metrics")]

mod common;

use std::time::Duration;

use metrics_util::MetricKind;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use modelmeter::{ErrorKind, MetricsExporter, Monitor, Selection};

#[test]
fn the_bridge_emits_the_same_families_with_exact_counts() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::set_global_recorder(recorder).unwrap();
    let (clock, _) = common::manual();
    let monitor = Monitor::builder()
        .clock(clock.clone())
        .exporter(MetricsExporter::new())
        .background(false)
        .build()
        .unwrap();
    for _ in 0..3 {
        for i in 0..40u64 {
            let mut s = Selection::new("gpt-4o", Duration::from_millis(100 + i * 10))
                .error(i % 10 == 0)
                .cost_usd(0.01)
                .tokens(200, 50)
                .cached_input_tokens(150)
                .reasoning_tokens(i % 2 * 10);
            if i % 20 == 0 {
                s = s.error_kind(ErrorKind::Timeout);
            }
            if i % 4 == 0 {
                s = s.time_to_first_token(Duration::from_millis(40));
            }
            monitor.record_selection(&s).unwrap();
        }
        clock.advance(Duration::from_secs(60));
        monitor.tick();
    }
    monitor.flush();
    let mut selections = 0;
    let mut errors = 0;
    let mut durations = 0;
    let mut cost = 0.0;
    let mut input_tokens = 0.0;
    let mut timeouts = 0;
    let mut ttfts = 0;
    let (mut cached, mut reasoning) = (0, 0);
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let name = key.key().name().to_owned();
        if let Some(model) = key
            .key()
            .labels()
            .find(|l| l.key() == "gen_ai_request_model")
        {
            assert_eq!(model.value(), "gpt-4o");
        }
        match (key.kind(), name.as_str(), value) {
            (MetricKind::Counter, "modelmeter_selections_total", DebugValue::Counter(n)) => {
                selections += n
            }
            (MetricKind::Counter, "modelmeter_errors_total", DebugValue::Counter(n)) => errors += n,
            (MetricKind::Counter, "modelmeter_errors_by_type_total", DebugValue::Counter(n))
                if key.key().labels().any(|l| l.value() == "timeout") =>
            {
                timeouts += n
            }
            (
                MetricKind::Histogram,
                "gen_ai_server_time_to_first_token_seconds",
                DebugValue::Histogram(v),
            ) => {
                ttfts += v.len();
                assert!(v.iter().all(|s| (0.039..0.041).contains(&s.into_inner())));
            }
            (
                MetricKind::Histogram,
                "gen_ai_client_operation_duration_seconds",
                DebugValue::Histogram(v),
            ) => {
                durations += v.len();
                assert!(v.iter().all(|s| (0.09..0.5).contains(&s.into_inner())));
            }
            (MetricKind::Histogram, "gen_ai_client_token_usage", DebugValue::Histogram(v))
                if key.key().labels().any(|l| l.value() == "input") =>
            {
                input_tokens += v.iter().map(|s| s.into_inner()).sum::<f64>();
            }
            (
                MetricKind::Counter,
                "modelmeter_cached_input_tokens_total",
                DebugValue::Counter(n),
            ) => cached += n,
            (MetricKind::Counter, "modelmeter_reasoning_tokens_total", DebugValue::Counter(n)) => {
                reasoning += n
            }
            (MetricKind::Gauge, "modelmeter_cost_usd_total", DebugValue::Gauge(g)) => {
                cost += g.into_inner()
            }
            _ => {}
        }
    }
    assert_eq!(selections, 120);
    assert_eq!(errors, 12);
    assert_eq!((timeouts, ttfts), (6, 30));
    assert_eq!(durations, 120);
    assert!((cost - 1.2).abs() < 1e-9, "{cost}");
    assert!((input_tokens - 24_000.0).abs() < 1e-6, "{input_tokens}");
    assert_eq!((cached, reasoning), (120 * 150, 60 * 10));
}
