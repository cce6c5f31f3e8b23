//! `tracing` spans with GenAI fields become selections when they close.
#![cfg(feature = "tracing")]

mod common;

use std::time::Duration;

use modelmeter::{ManualClock, Monitor, RejectReason, TracingLayer};
use tracing::field::Empty;
use tracing_subscriber::layer::SubscriberExt;

fn with_layer(
    layer: impl FnOnce(TracingLayer) -> TracingLayer,
    f: impl FnOnce(&ManualClock),
) -> Monitor {
    let (clock, monitor) = common::manual();
    let subscriber = tracing_subscriber::registry().with(layer(
        TracingLayer::new(monitor.clone()).clock(clock.clone()),
    ));
    tracing::subscriber::with_default(subscriber, || f(&clock));
    monitor
}

fn stats(monitor: &Monitor, model: &str) -> modelmeter::Stats {
    monitor
        .summary(Duration::from_secs(60))
        .models
        .get(model)
        .cloned()
        .unwrap_or_default()
}

#[test]
fn a_genai_span_is_one_selection_with_every_field() {
    let monitor = with_layer(
        |l| l,
        |clock| {
            let span = tracing::info_span!(
                "chat",
                gen_ai.request.model = "gpt-4o",
                gen_ai.response.model = Empty,
                gen_ai.usage.input_tokens = 1200u64,
                gen_ai.usage.output_tokens = Empty,
                modelmeter.cost_usd = 0.0125,
                modelmeter.cache_hit = false,
                modelmeter.accuracy = 0.9,
                error.type = Empty,
            );
            clock.advance(Duration::from_millis(300));
            {
                let _busy = span.enter();
                clock.advance(Duration::from_millis(500));
            }
            clock.advance(Duration::from_millis(40)); // idle counts too
            span.record("gen_ai.response.model", "gpt-4o-2024-08-06");
            span.record("gen_ai.usage.output_tokens", 350);
        },
    );
    assert_eq!(
        stats(&monitor, "gpt-4o").count,
        0,
        "the model that answered counts"
    );
    let s = stats(&monitor, "gpt-4o-2024-08-06");
    assert_eq!(s.count, 1);
    assert_eq!(s.latency.max, Duration::from_millis(840));
    assert_eq!((s.input_tokens, s.output_tokens), (1200, 350));
    assert_eq!(s.cost_usd, 0.0125);
    assert_eq!(s.mean_accuracy, Some(0.9));
    assert_eq!((s.errors, s.cache_hits), (0, 0));
}

#[test]
fn failures_are_errors_and_a_model_can_be_recorded_later() {
    let monitor = with_layer(
        |l| l,
        |clock| {
            let span =
                tracing::info_span!("call", gen_ai.request.model = Empty, error.type = Empty);
            span.record("gen_ai.request.model", "claude-haiku");
            clock.advance(Duration::from_millis(120));
            span.record("error.type", "timeout");
            drop(span);
            let span = tracing::info_span!(
                "call",
                gen_ai.request.model = "claude-haiku",
                otel.status_code = "ERROR"
            );
            drop(span);
            let span = tracing::info_span!("call", gen_ai.request.model = %"claude-haiku", modelmeter.cache_hit = true);
            drop(span);
        },
    );
    let s = stats(&monitor, "claude-haiku");
    assert_eq!((s.count, s.errors, s.cache_hits), (3, 2, 1));
}

#[test]
fn spans_without_a_model_and_outside_the_filters_are_ignored() {
    let monitor = with_layer(
        |l| l.span_names(["chat"]).targets(["tracing_layer"]),
        |_| {
            // An agent span around the call: no model, no selection.
            let agent = tracing::info_span!("agent", task = "summarise");
            let _a = agent.enter();
            drop(tracing::info_span!("chat", gen_ai.request.model = "kept"));
            drop(tracing::info_span!(
                "embed",
                gen_ai.request.model = "other-name"
            ));
            drop(
                tracing::info_span!(target: "elsewhere", "chat", gen_ai.request.model = "other-target"),
            );
            // Declared but never set: closes without a model.
            drop(tracing::info_span!("chat", gen_ai.request.model = Empty));
        },
    );
    let s = monitor.summary(Duration::from_secs(60));
    assert_eq!(s.models.keys().collect::<Vec<_>>(), ["kept"]);
    assert_eq!(monitor.health().rejected_total, 0);
}

#[test]
fn out_of_range_fields_are_refused_and_counted() {
    let monitor = with_layer(
        |l| l,
        |_| {
            drop(tracing::info_span!(
                "chat",
                gen_ai.request.model = "m",
                modelmeter.cost_usd = -1.0
            ));
            drop(tracing::info_span!(
                "chat",
                gen_ai.request.model = "m",
                modelmeter.accuracy = 7
            ));
        },
    );
    let h = monitor.health();
    assert_eq!(h.rejected[&RejectReason::InvalidCost], 1);
    assert_eq!(h.rejected[&RejectReason::InvalidAccuracy], 1);
    assert_eq!(stats(&monitor, "m").count, 0);
}

#[test]
fn a_span_cloned_across_tasks_counts_once_when_the_last_handle_closes() {
    let monitor = with_layer(
        |l| l,
        |clock| {
            let span = tracing::info_span!("chat", gen_ai.request.model = "m");
            let other = span.clone();
            clock.advance(Duration::from_millis(100));
            drop(span);
            clock.advance(Duration::from_millis(100));
            drop(other);
        },
    );
    let s = stats(&monitor, "m");
    assert_eq!((s.count, s.latency.max), (1, Duration::from_millis(200)));
}
