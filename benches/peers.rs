//! modelmeter against its peers, single thread: the same seeded 8-model stream
//! (`common::events`) recorded through each contender, `BATCH` events per iteration.
//!
//! | case (ns per event)          | what one event costs                                   |
//! |------------------------------|--------------------------------------------------------|
//! | modelmeter/str_lookup        | `Monitor::record_selection`                            |
//! | modelmeter/model_handle      | `ModelHandle::record_selection`                        |
//! | floor                        | 6 relaxed atomic adds + 1 bucket add, shared           |
//! | mutex_map                    | one `parking_lot::Mutex<HashMap<String, _>>` + HDR     |
//! | metrics/macros_labels        | `metrics` macros with a `model` label per call,        |
//! |                              | into `metrics-exporter-prometheus`'s recorder          |
//! | metrics/handles              | the same recorder, handles registered up front         |
//! | opentelemetry_sdk            | SDK instruments with one `KeyValue` per call           |
//!
//! Every contender records the same facts per event: one selection counted, the error
//! counted when it is one, the cache hit counted when it is one, the latency into a
//! histogram, the cost summed. `sanity` checks each one before anything is timed.
//! Figures and the machine: BENCHMARKS.md, section "Peers".

mod common;

use std::sync::{Arc, Weak};
use std::time::Duration;

use common::{BATCH, Ev, Floor, MODELS, MutexMap, events};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use modelmeter::Monitor;
use opentelemetry::KeyValue;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{
    InstrumentKind, ManualReader, Pipeline, SdkMeterProvider, Temporality,
};
use std::hint::black_box;

// ---------------------------------------------------------------------------------
// metrics + metrics-exporter-prometheus
// ---------------------------------------------------------------------------------

/// The cost is summed in a gauge with `.increment(cost_usd)` (an `f64`, exact US
/// dollars): `metrics` counters are `u64`, and a gauge increment is the crate's only
/// way to sum a fraction without scaling it.
#[inline]
fn metrics_macros(e: &Ev) {
    let model = MODELS[e.model];
    metrics::counter!("peers_macros_selections_total", "model" => model).increment(1);
    if e.error {
        metrics::counter!("peers_macros_errors_total", "model" => model).increment(1);
    }
    if e.cache_hit {
        metrics::counter!("peers_macros_cache_hits_total", "model" => model).increment(1);
    }
    metrics::histogram!("peers_macros_latency_seconds", "model" => model)
        .record(e.latency.as_secs_f64());
    metrics::gauge!("peers_macros_cost_usd", "model" => model).increment(e.cost_usd);
}

/// One model's `metrics` handles, registered once up front.
struct MetricsHandles {
    selections: metrics::Counter,
    errors: metrics::Counter,
    cache_hits: metrics::Counter,
    latency: metrics::Histogram,
    /// Summed with `.increment(cost_usd)`, as in `metrics_macros`.
    cost: metrics::Gauge,
}

impl MetricsHandles {
    fn new(model: &'static str) -> Self {
        Self {
            selections: metrics::counter!("peers_handles_selections_total", "model" => model),
            errors: metrics::counter!("peers_handles_errors_total", "model" => model),
            cache_hits: metrics::counter!("peers_handles_cache_hits_total", "model" => model),
            latency: metrics::histogram!("peers_handles_latency_seconds", "model" => model),
            cost: metrics::gauge!("peers_handles_cost_usd", "model" => model),
        }
    }

    #[inline]
    fn record(&self, e: &Ev) {
        self.selections.increment(1);
        if e.error {
            self.errors.increment(1);
        }
        if e.cache_hit {
            self.cache_hits.increment(1);
        }
        self.latency.record(e.latency.as_secs_f64());
        self.cost.increment(e.cost_usd);
    }
}

/// Installs the Prometheus recorder as the crate documents for a host that serves
/// the scrape itself: `install_recorder`, plus the upkeep the caller then owes
/// (`run_upkeep` at the builder's default 5 s `upkeep_timeout`, on its own thread,
/// as modelmeter's background worker seals every 5 s).
fn install_prometheus() -> metrics_exporter_prometheus::PrometheusHandle {
    let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .expect("no other global recorder in this process");
    let upkeep = handle.clone();
    std::thread::Builder::new()
        .name("prometheus-upkeep".into())
        .spawn(move || {
            loop {
                std::thread::sleep(Duration::from_secs(5));
                upkeep.run_upkeep();
            }
        })
        .unwrap();
    handle
}

/// Sum of the values of every series of `name` in a Prometheus text rendering.
fn prom_sum(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with('{'))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum()
}

// ---------------------------------------------------------------------------------
// opentelemetry_sdk
// ---------------------------------------------------------------------------------

/// A `ManualReader` the bench can still collect from after the provider owns it
/// (the pattern of the SDK's own `benches/metric.rs`). Nothing leaves the process.
#[derive(Debug, Clone)]
struct SharedReader(Arc<ManualReader>);

impl MetricReader for SharedReader {
    fn register_pipeline(&self, pipeline: Weak<Pipeline>) {
        self.0.register_pipeline(pipeline)
    }
    fn collect(&self, rm: &mut ResourceMetrics) -> OTelSdkResult {
        self.0.collect(rm)
    }
    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }
    fn temporality(&self, kind: InstrumentKind) -> Temporality {
        self.0.temporality(kind)
    }
}

/// The instruments, created once up front as the OpenTelemetry docs ask.
struct Otel {
    selections: opentelemetry::metrics::Counter<u64>,
    errors: opentelemetry::metrics::Counter<u64>,
    cache_hits: opentelemetry::metrics::Counter<u64>,
    latency: opentelemetry::metrics::Histogram<f64>,
    /// An `f64` counter of US dollars: OpenTelemetry counters take fractions.
    cost: opentelemetry::metrics::Counter<f64>,
}

impl Otel {
    fn new(provider: &SdkMeterProvider) -> Self {
        let meter = provider.meter("peers");
        Self {
            selections: meter.u64_counter("peers.selections").build(),
            errors: meter.u64_counter("peers.errors").build(),
            cache_hits: meter.u64_counter("peers.cache_hits").build(),
            // Seconds, with the boundaries the semantic conventions advise for
            // request durations (the SDK's default ones are meant for milliseconds).
            latency: meter
                .f64_histogram("peers.latency")
                .with_unit("s")
                .with_boundaries(vec![
                    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
                ])
                .build(),
            cost: meter.f64_counter("peers.cost").with_unit("USD").build(),
        }
    }

    #[inline]
    fn record(&self, e: &Ev) {
        let attrs = [KeyValue::new("model", MODELS[e.model])];
        self.selections.add(1, &attrs);
        if e.error {
            self.errors.add(1, &attrs);
        }
        if e.cache_hit {
            self.cache_hits.add(1, &attrs);
        }
        self.latency.record(e.latency.as_secs_f64(), &attrs);
        self.cost.add(e.cost_usd, &attrs);
    }
}

/// (sum over the data points of each sum metric, count of the histogram) by name.
fn otel_totals(reader: &SharedReader, name: &str) -> f64 {
    let mut rm = ResourceMetrics::default();
    reader.collect(&mut rm).unwrap();
    let mut total = 0.0;
    for sm in rm.scope_metrics() {
        for m in sm.metrics().filter(|m| m.name() == name) {
            total += match m.data() {
                AggregatedMetrics::U64(MetricData::Sum(s)) => {
                    s.data_points().map(|p| p.value() as f64).sum::<f64>()
                }
                AggregatedMetrics::F64(MetricData::Sum(s)) => {
                    s.data_points().map(|p| p.value()).sum::<f64>()
                }
                AggregatedMetrics::F64(MetricData::Histogram(h)) => {
                    h.data_points().map(|p| p.count() as f64).sum::<f64>()
                }
                other => panic!("unexpected data for {name}: {other:?}"),
            };
        }
    }
    total
}

// ---------------------------------------------------------------------------------

/// The facts one pass over `evs` must leave in every contender.
struct Expected {
    selections: f64,
    errors: f64,
    cache_hits: f64,
    cost: f64,
}

impl Expected {
    fn of(evs: &[Ev]) -> Self {
        Self {
            selections: evs.len() as f64,
            errors: evs.iter().filter(|e| e.error).count() as f64,
            cache_hits: evs.iter().filter(|e| e.cache_hit).count() as f64,
            cost: evs.iter().map(|e| e.cost_usd).sum(),
        }
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

fn peers(c: &mut Criterion) {
    let evs: Vec<Ev> = events(BATCH);
    let want = Expected::of(&evs);
    assert!(want.errors > 0.0 && want.cache_hits > 0.0);

    // Set-up of every contender, each checked with one untimed pass over the stream.

    // As benches/record.rs: the production set-up, system clock, background worker
    // sealing every 5 s.
    let monitor = Monitor::builder().build().unwrap();
    let handles: Vec<_> = MODELS.iter().map(|m| monitor.model(m)).collect();
    for e in &evs {
        monitor.record_selection(&e.selection()).unwrap();
    }
    assert_eq!(monitor.health().recorded, BATCH as u64);
    for e in &evs {
        handles[e.model].record_selection(&e.selection()).unwrap();
    }
    assert_eq!(monitor.health().recorded, 2 * BATCH as u64);
    monitor.flush();
    let s = monitor.summary(Duration::from_secs(3600)).overview;
    assert_eq!(s.count as f64, 2.0 * want.selections, "{s:?}");
    assert_eq!(s.errors as f64, 2.0 * want.errors, "{s:?}");
    assert_eq!(s.cache_hits as f64, 2.0 * want.cache_hits, "{s:?}");
    // Stored in nano-dollars: at most 1e-9 off per event.
    assert!(
        (s.cost_usd - 2.0 * want.cost).abs() < 1e-9 * s.count as f64,
        "{s:?}"
    );

    let floor = Floor::default();
    evs.iter().for_each(|e| floor.record(e));
    assert_eq!(floor.count(), BATCH as u64);

    let map = MutexMap::default();
    evs.iter().for_each(|e| map.record(e));
    assert_eq!(map.count(), BATCH as u64);

    let prom = install_prometheus();
    let metric_handles: Vec<_> = MODELS.iter().map(|m| MetricsHandles::new(m)).collect();
    for e in &evs {
        metrics_macros(e);
        metric_handles[e.model].record(e);
    }
    let text = prom.render();
    for kind in ["macros", "handles"] {
        let n = |s: &str| prom_sum(&text, &format!("peers_{kind}_{s}"));
        assert_eq!(n("selections_total"), want.selections, "{text}");
        assert_eq!(n("errors_total"), want.errors, "{text}");
        assert_eq!(n("cache_hits_total"), want.cache_hits, "{text}");
        assert_eq!(n("latency_seconds_count"), want.selections, "{text}");
        assert!(close(n("cost_usd"), want.cost), "{text}");
    }

    let reader = SharedReader(Arc::new(ManualReader::builder().build()));
    let provider = SdkMeterProvider::builder()
        .with_reader(reader.clone())
        .build();
    opentelemetry::global::set_meter_provider(provider.clone());
    let otel = Otel::new(&provider);
    evs.iter().for_each(|e| otel.record(e));
    assert_eq!(otel_totals(&reader, "peers.selections"), want.selections);
    assert_eq!(otel_totals(&reader, "peers.errors"), want.errors);
    assert_eq!(otel_totals(&reader, "peers.cache_hits"), want.cache_hits);
    assert_eq!(otel_totals(&reader, "peers.latency"), want.selections);
    assert!(close(otel_totals(&reader, "peers.cost"), want.cost));

    // The timed part.
    let mut g = c.benchmark_group("peers");
    g.throughput(Throughput::Elements(BATCH as u64));

    g.bench_function("modelmeter/str_lookup", |b| {
        b.iter(|| {
            for e in &evs {
                monitor.record_selection(black_box(&e.selection())).unwrap();
            }
        })
    });
    g.bench_function("modelmeter/model_handle", |b| {
        b.iter(|| {
            for e in &evs {
                handles[e.model]
                    .record_selection(black_box(&e.selection()))
                    .unwrap();
            }
        })
    });
    g.bench_function("floor", |b| {
        b.iter(|| {
            for e in &evs {
                floor.record(black_box(e));
            }
        })
    });
    g.bench_function("mutex_map", |b| {
        b.iter(|| {
            for e in &evs {
                map.record(black_box(e));
            }
        })
    });
    g.bench_function("metrics/macros_labels", |b| {
        b.iter(|| {
            for e in &evs {
                metrics_macros(black_box(e));
            }
        })
    });
    g.bench_function("metrics/handles", |b| {
        b.iter(|| {
            for e in &evs {
                let e = black_box(e);
                metric_handles[e.model].record(e);
            }
        })
    });
    g.bench_function("opentelemetry_sdk", |b| {
        b.iter(|| {
            for e in &evs {
                otel.record(black_box(e));
            }
        })
    });
    g.finish();

    // Still recording after the timed loops (nothing was dropped or disabled).
    assert!(map.count() > BATCH as u64 && floor.count() > BATCH as u64);
    assert!(prom_sum(&prom.render(), "peers_macros_selections_total") > want.selections);
    assert!(otel_totals(&reader, "peers.selections") > want.selections);
    provider.shutdown().unwrap();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    targets = peers
}
criterion_main!(benches);
