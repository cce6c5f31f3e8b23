//! Rendering the Prometheus exposition for 100 models: modelmeter's own encoder against
//! the `prometheus-client` crate's OpenMetrics encoder, given the same numbers, in the
//! same run.
//!
//! | case | what |
//! |---|---|
//! | exposition/prometheus_client_100_models | `prometheus_client::encoding::text::encode` of a `Collector` holding the numbers ready (duration and token histograms, 4 counters per model) |
//! | exposition/encode_100_models | `PrometheusText::render_as(OpenMetrics)`: the same families from sealed minutes |
//! | exposition/live_text_100_models | `Monitor::render_metrics(Text)`: plus the open minute, health and self-metrics |
//! | exposition/live_openmetrics_100_models | the same in OpenMetrics |

use std::time::{Duration, SystemTime};

use criterion::{Criterion, criterion_group, criterion_main};
use modelmeter::{
    Config, DURATION_BOUNDS, ExportBatch, ExportError, Exporter, ExpositionFormat, ManualClock,
    Monitor, PrometheusText, Selection, TOKEN_BOUNDS,
};
use parking_lot::Mutex;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use std::sync::Arc;

const MODELS: usize = 100;

#[derive(Clone, Default)]
struct Keep(Arc<Mutex<Vec<ExportBatch>>>);

impl Exporter for Keep {
    fn export(&mut self, batch: &ExportBatch) -> Result<(), ExportError> {
        self.0.lock().push(batch.clone());
        Ok(())
    }
}

/// A monitor with two sealed minutes and an open one for each of `MODELS` models.
fn filled() -> (Monitor, Keep) {
    let mut config = Config::default();
    config.monitoring.alerting.enabled = false;
    let clock = ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_392_000));
    let keep = Keep::default();
    let monitor = Monitor::builder()
        .config(config)
        .clock(clock.clone())
        .exporter(keep.clone())
        .synchronous_export(true)
        .background(false)
        .build()
        .unwrap();
    for minute in 0..3u64 {
        for m in 0..MODELS {
            let name = format!("provider-{}/model-{m}", m % 7);
            for k in 0..100u64 {
                let s = Selection::new(
                    &name,
                    Duration::from_millis(20 + (k * 37 + m as u64) % 4000),
                )
                .cost_usd(0.001)
                .error(k % 50 == 0)
                .cache_hit(k % 3 == 0)
                .tokens(100 + k * 40, 10 + k * 5);
                monitor.record_selection(&s).unwrap();
            }
        }
        if minute < 2 {
            clock.advance(Duration::from_secs(60));
            monitor.tick();
        }
    }
    (monitor, keep)
}

/// The numbers `prometheus-client` is handed, per model.
#[derive(Debug)]
struct Model {
    name: String,
    duration: Vec<(f64, u64)>,
    duration_sum: f64,
    count: u64,
    tokens: [(Vec<(f64, u64)>, f64); 2],
    counters: [u64; 3],
    cost: f64,
}

#[derive(Debug)]
struct Models(Vec<Model>);

impl Collector for Models {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut e = encoder.encode_descriptor(
            "gen_ai_client_operation_duration_seconds",
            "Duration of GenAI operations (selections), in seconds.",
            None,
            MetricType::Histogram,
        )?;
        for m in &self.0 {
            let labels = [("gen_ai_request_model", m.name.as_str())];
            e.encode_family(&labels)?
                .encode_histogram::<prometheus_client::encoding::NoLabelSet>(
                    m.duration_sum,
                    m.count,
                    &m.duration,
                    None,
                )?;
        }
        let mut e = encoder.encode_descriptor(
            "gen_ai_client_token_usage",
            "Tokens used per GenAI operation, by token type.",
            None,
            MetricType::Histogram,
        )?;
        for m in &self.0 {
            for (kind, (buckets, sum)) in ["input", "output"].iter().zip(&m.tokens) {
                let labels = [
                    ("gen_ai_request_model", m.name.as_str()),
                    ("gen_ai_token_type", kind),
                ];
                e.encode_family(&labels)?
                    .encode_histogram::<prometheus_client::encoding::NoLabelSet>(
                        *sum, m.count, buckets, None,
                    )?;
            }
        }
        for (i, (name, help)) in [
            ("modelmeter_selections", "Selections recorded."),
            ("modelmeter_errors", "Selections that failed."),
            ("modelmeter_cache_hits", "Selections served from cache."),
        ]
        .into_iter()
        .enumerate()
        {
            let mut e = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for m in &self.0 {
                let labels = [("gen_ai_request_model", m.name.as_str())];
                let c = prometheus_client::metrics::counter::ConstCounter::new(m.counters[i]);
                c.encode(e.encode_family(&labels)?)?;
            }
        }
        let mut e = encoder.encode_descriptor(
            "modelmeter_cost_usd",
            "Spend in US dollars.",
            None,
            MetricType::Counter,
        )?;
        for m in &self.0 {
            let labels = [("gen_ai_request_model", m.name.as_str())];
            let c = prometheus_client::metrics::counter::ConstCounter::new(m.cost);
            c.encode(e.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

fn models() -> Models {
    Models(
        (0..MODELS)
            .map(|m| Model {
                name: format!("provider-{}/model-{m}", m % 7),
                duration: DURATION_BOUNDS
                    .iter()
                    .enumerate()
                    .map(|(i, b)| (*b, 10 * i as u64))
                    .collect(),
                duration_sum: 123.456,
                count: 300,
                tokens: [0, 1].map(|_| {
                    (
                        TOKEN_BOUNDS
                            .iter()
                            .enumerate()
                            .map(|(i, b)| (*b as f64, 20 * i as u64))
                            .collect(),
                        98_765.0,
                    )
                }),
                counters: [300, 6, 100],
                cost: 0.3,
            })
            .collect(),
    )
}

fn exposition(c: &mut Criterion) {
    let mut g = c.benchmark_group("exposition");
    let mut registry = Registry::default();
    registry.register_collector(Box::new(models()));
    g.bench_function("prometheus_client_100_models", |b| {
        b.iter(|| {
            let mut out = String::with_capacity(1 << 20);
            prometheus_client::encoding::text::encode(&mut out, &registry).unwrap();
            out
        })
    });
    let (monitor, keep) = filled();
    let mut sealed = PrometheusText::new();
    for batch in keep.0.lock().iter() {
        sealed.observe(batch);
    }
    g.bench_function("encode_100_models", |b| {
        b.iter(|| sealed.render_as(ExpositionFormat::OpenMetrics))
    });
    g.bench_function("live_text_100_models", |b| {
        b.iter(|| monitor.render_metrics(ExpositionFormat::Text))
    });
    g.bench_function("live_openmetrics_100_models", |b| {
        b.iter(|| monitor.render_metrics(ExpositionFormat::OpenMetrics))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(4));
    targets = exposition
}
criterion_main!(benches);
