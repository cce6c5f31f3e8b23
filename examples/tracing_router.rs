//! A small router instrumented with `tracing` only: each model call is a span with the
//! OpenTelemetry GenAI fields, as agent frameworks emit them. `TracingLayer` turns the
//! spans into selections; the router never calls `record_selection`.
//!
//! Run with `cargo run --example tracing_router --features tracing`.

use std::time::Duration;

use modelmeter::{Monitor, TracingLayer};
use tracing::field::Empty;
use tracing_subscriber::layer::SubscriberExt;

/// A model call as a framework would instrument it: the span opens before the request,
/// the response fields are recorded when they arrive, and it closes when the call ends.
fn call_model(model: &str, prompt_tokens: u64, attempt: u64) -> Result<String, &'static str> {
    let span = tracing::info_span!(
        "chat",
        gen_ai.operation.name = "chat",
        gen_ai.request.model = model,
        gen_ai.response.model = Empty,
        gen_ai.usage.input_tokens = prompt_tokens,
        gen_ai.usage.output_tokens = Empty,
        error.type = Empty,
        modelmeter.cost_usd = Empty,
    );
    let _in_call = span.enter();
    // The "network call": a few milliseconds, failing now and then.
    std::thread::sleep(Duration::from_millis(2 + attempt % 5));
    if attempt % 17 == 0 {
        span.record("error.type", "rate_limited");
        return Err("429");
    }
    let output = 40 + attempt % 200;
    span.record("gen_ai.response.model", model);
    span.record("gen_ai.usage.output_tokens", output);
    let price = if model == "gpt-4o" { 10e-6 } else { 0.6e-6 };
    span.record(
        "modelmeter.cost_usd",
        price * (prompt_tokens + output) as f64,
    );
    Ok(format!("{output} tokens"))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let monitor = Monitor::builder().background(false).build()?;
    let subscriber = tracing_subscriber::registry().with(TracingLayer::new(monitor.clone()));
    tracing::subscriber::set_global_default(subscriber)?;

    // The router: short prompts go to the small model; a failure falls back to the big one.
    for attempt in 1..=300u64 {
        let prompt = 100 + (attempt * 37) % 3000;
        let model = if prompt < 1500 {
            "gpt-4o-mini"
        } else {
            "gpt-4o"
        };
        let agent = tracing::info_span!("agent_step", attempt); // no model: not a selection
        let _step = agent.enter();
        if call_model(model, prompt, attempt).is_err() {
            let _ = call_model("gpt-4o", prompt, attempt + 1);
        }
    }

    let summary = monitor.summary(Duration::from_secs(3600));
    println!(
        "{:<12} {:>6} {:>7} {:>9} {:>10}",
        "model", "calls", "errors", "p95", "cost"
    );
    for (model, s) in &summary.models {
        println!(
            "{model:<12} {:>6} {:>7} {:>7.1}ms {:>9.4}$",
            s.count,
            s.errors,
            s.latency.p95.as_secs_f64() * 1e3,
            s.cost_usd
        );
    }
    Ok(())
}
