//! The OTLP exporter against an OTLP/HTTP receiver on loopback that decodes every
//! request with the same `opentelemetry-proto` types: every data point checked against
//! what was recorded, units and attributes per the GenAI semantic conventions, and
//! nothing lost or duplicated across a receiver's refusals.
#![cfg(all(feature = "otlp", feature = "http"))]

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use modelmeter::{
    Config, DURATION_BOUNDS, ErrorKind, ExportSettings, ManualClock, Monitor, OtlpExporter,
    Selection, TPOT_BOUNDS, TTFT_BOUNDS, Temporality,
};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{AggregationTemporality, metric, number_data_point};
use parking_lot::Mutex;
use prost::Message;

/// A receiver that refuses the first `refuse` requests with 503, then accepts and keeps
/// every request it decodes.
struct Receiver {
    url: String,
    accepted: Arc<Mutex<Vec<ExportMetricsServiceRequest>>>,
    seen: Arc<AtomicUsize>,
    server: Arc<tiny_http::Server>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Receiver {
    fn start(refuse: usize) -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let url = format!("http://{}", server.server_addr().to_ip().unwrap());
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::new(AtomicUsize::new(0));
        let thread = {
            let (server, accepted, seen) = (server.clone(), accepted.clone(), seen.clone());
            std::thread::spawn(move || {
                while let Ok(mut req) = server.recv() {
                    assert_eq!(req.url(), "/v1/metrics");
                    let header = |name: &'static str| {
                        req.headers()
                            .iter()
                            .find(|h| h.field.equiv(name))
                            .map(|h| h.value.as_str().to_owned())
                    };
                    assert_eq!(
                        header("Content-Type").as_deref(),
                        Some("application/x-protobuf")
                    );
                    let gzip = header("Content-Encoding").as_deref() == Some("gzip");
                    let mut body = Vec::new();
                    req.as_reader().read_to_end(&mut body).unwrap();
                    if gzip {
                        let mut plain = Vec::new();
                        flate2::read::GzDecoder::new(&body[..])
                            .read_to_end(&mut plain)
                            .unwrap();
                        body = plain;
                    }
                    let n = seen.fetch_add(1, Ordering::SeqCst);
                    if n < refuse {
                        let _ = req.respond(tiny_http::Response::empty(503));
                        continue;
                    }
                    accepted
                        .lock()
                        .push(ExportMetricsServiceRequest::decode(&body[..]).unwrap());
                    let _ = req.respond(tiny_http::Response::empty(200));
                }
            })
        };
        Self {
            url,
            accepted,
            seen,
            server,
            thread: Some(thread),
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn monitor(exporter: OtlpExporter) -> (ManualClock, Monitor) {
    let mut config = Config::default();
    config.monitoring.alerting.enabled = false;
    let clock = ManualClock::new(common::start());
    let mut settings = ExportSettings::default();
    settings.attempts = 5;
    settings.initial_backoff = Duration::from_millis(1);
    settings.max_backoff = Duration::from_millis(2);
    let monitor = Monitor::builder()
        .config(config)
        .clock(clock.clone())
        .exporter_with(exporter, settings)
        .synchronous_export(true)
        .background(false)
        .build()
        .unwrap();
    (clock, monitor)
}

/// Latencies well inside the GenAI buckets, so their bucket is known exactly.
const LATENCIES_MS: [u64; 5] = [5, 15, 300, 3_000, 100_000];

/// Three minutes of traffic on two models; returns what was sent, per model.
fn drive(clock: &ManualClock, monitor: &Monitor) -> BTreeMap<&'static str, Sent> {
    let mut sent: BTreeMap<&str, Sent> = BTreeMap::new();
    for _minute in 0..3 {
        for i in 0..200u64 {
            let model = if i % 3 == 0 { "gpt-4o" } else { "gpt-4o-mini" };
            let ms = LATENCIES_MS[(i % 5) as usize];
            let mut s = Selection::new(model, Duration::from_millis(ms))
                .error(i % 7 == 0)
                .cache_hit(i % 4 == 0)
                .cost_usd(0.002);
            if i % 14 == 0 {
                s = s.error_kind(ErrorKind::RateLimited);
            }
            let with_tokens = i % 2 == 0;
            if with_tokens {
                s = s
                    .tokens(1_000 + i, 20)
                    .cached_input_tokens(i)
                    .reasoning_tokens(i % 3);
            }
            // 4 ms and 700 ms: well inside TTFT buckets 0.005 and 0.75.
            let ttft = match i % 5 {
                1 => Some(4),
                3 => Some(700),
                _ => None,
            };
            if let Some(t) = ttft {
                s = s.time_to_first_token(Duration::from_millis(t));
            }
            monitor.record_selection(&s).unwrap();
            let e = sent.entry(model).or_default();
            e.rate_limited += u64::from(i % 14 == 0);
            e.other_errors += u64::from(i % 7 == 0 && i % 14 != 0);
            if let Some(t) = ttft {
                e.ttft_buckets[TTFT_BOUNDS.partition_point(|&b| t as f64 / 1000.0 > b)] += 1;
                e.tpot_count += u64::from(with_tokens);
            }
            e.count += 1;
            e.errors += u64::from(i % 7 == 0);
            e.cache_hits += u64::from(i % 4 == 0);
            e.latency_us += ms * 1_000;
            e.buckets[DURATION_BOUNDS.partition_point(|&b| ms as f64 / 1000.0 > b)] += 1;
            if with_tokens {
                e.input_tokens += 1_000 + i;
                e.token_selections += 1;
                e.cached_input_tokens += i;
                e.reasoning_tokens += i % 3;
            }
        }
        clock.advance(Duration::from_secs(60));
        monitor.tick();
    }
    sent
}

#[derive(Debug, Default, PartialEq)]
struct Sent {
    count: u64,
    errors: u64,
    cache_hits: u64,
    latency_us: u64,
    buckets: [u64; 15],
    input_tokens: u64,
    token_selections: u64,
    cached_input_tokens: u64,
    reasoning_tokens: u64,
    rate_limited: u64,
    other_errors: u64,
    ttft_buckets: [u64; 17],
    tpot_count: u64,
}

/// A data point's model and its start and end, in nanoseconds since the epoch.
type Window = (String, u64, u64);

fn string(kvs: &[KeyValue], key: &str) -> Option<String> {
    kvs.iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match &kv.value.as_ref()?.value {
            Some(any_value::Value::StringValue(s)) => Some(s.clone()),
            _ => None,
        })
}

/// Totals per model from every accepted data point, checking names, units and
/// attributes on the way; and the (model, window start) of every duration point.
fn received(
    requests: &[ExportMetricsServiceRequest],
    temporality: AggregationTemporality,
) -> (BTreeMap<String, Sent>, Vec<Window>) {
    let mut got: BTreeMap<String, Sent> = BTreeMap::new();
    let mut windows = Vec::new();
    for r in requests {
        let rm = &r.resource_metrics[0];
        let resource = &rm.resource.as_ref().unwrap().attributes;
        assert_eq!(
            string(resource, "service.name").as_deref(),
            Some("model-router")
        );
        assert_eq!(string(resource, "host.name").as_deref(), Some("test-host"));
        let scope = &rm.scope_metrics[0];
        assert_eq!(scope.scope.as_ref().unwrap().name, "modelmeter");
        for m in &scope.metrics {
            match (m.name.as_str(), m.data.as_ref().unwrap()) {
                ("gen_ai.client.operation.duration", metric::Data::Histogram(h)) => {
                    assert_eq!(m.unit, "s");
                    assert_eq!(h.aggregation_temporality, temporality as i32);
                    for p in &h.data_points {
                        let model = string(&p.attributes, "gen_ai.request.model").unwrap();
                        assert_eq!(p.explicit_bounds, DURATION_BOUNDS.to_vec());
                        assert_eq!(p.bucket_counts.iter().sum::<u64>(), p.count);
                        assert!(p.time_unix_nano - p.start_time_unix_nano >= 60_000_000_000);
                        windows.push((model.clone(), p.start_time_unix_nano, p.time_unix_nano));
                        if temporality == AggregationTemporality::Delta {
                            // Every minute holds the whole cycle of latencies: exact min and max.
                            assert_eq!(p.min, Some(0.005));
                            assert_eq!(p.max, Some(100.0));
                        }
                        let e = got.entry(model).or_default();
                        add_or_set(&mut e.count, p.count, temporality);
                        add_or_set(
                            &mut e.latency_us,
                            (p.sum.unwrap() * 1e6).round() as u64,
                            temporality,
                        );
                        for (slot, n) in e.buckets.iter_mut().zip(&p.bucket_counts) {
                            add_or_set(slot, *n, temporality);
                        }
                    }
                }
                (
                    name @ ("gen_ai.server.time_to_first_token"
                    | "gen_ai.server.time_per_output_token"),
                    metric::Data::Histogram(h),
                ) => {
                    assert_eq!(m.unit, "s");
                    let ttft = name.ends_with("first_token");
                    for p in &h.data_points {
                        let model = string(&p.attributes, "gen_ai.request.model").unwrap();
                        assert_eq!(p.bucket_counts.iter().sum::<u64>(), p.count);
                        let e = got.entry(model).or_default();
                        if ttft {
                            assert_eq!(p.explicit_bounds, TTFT_BOUNDS.to_vec());
                            for (slot, n) in e.ttft_buckets.iter_mut().zip(&p.bucket_counts) {
                                add_or_set(slot, *n, temporality);
                            }
                        } else {
                            assert_eq!(p.explicit_bounds, TPOT_BOUNDS.to_vec());
                            add_or_set(&mut e.tpot_count, p.count, temporality);
                        }
                    }
                }
                ("gen_ai.client.token_usage", metric::Data::Histogram(h)) => {
                    assert_eq!(m.unit, "{token}");
                    for p in &h.data_points {
                        let model = string(&p.attributes, "gen_ai.request.model").unwrap();
                        let kind = string(&p.attributes, "gen_ai.token.type").unwrap();
                        assert_eq!(p.explicit_bounds.len(), 14);
                        assert_eq!(p.bucket_counts.iter().sum::<u64>(), p.count);
                        if kind == "input" {
                            let e = got.entry(model).or_default();
                            add_or_set(&mut e.input_tokens, p.sum.unwrap() as u64, temporality);
                            add_or_set(&mut e.token_selections, p.count, temporality);
                        } else {
                            assert_eq!(kind, "output");
                        }
                    }
                }
                (
                    name
                    @ ("modelmeter.errors" | "modelmeter.cache_hits" | "modelmeter.selections"),
                    metric::Data::Sum(s),
                ) => {
                    assert!(s.is_monotonic);
                    assert_eq!(m.unit, "{selection}");
                    for p in &s.data_points {
                        let model = string(&p.attributes, "gen_ai.request.model").unwrap();
                        let Some(number_data_point::Value::AsInt(v)) = p.value else {
                            panic!("{name}: not an int")
                        };
                        let e = got.entry(model).or_default();
                        match name {
                            "modelmeter.errors" => {
                                // One point per error type: cumulative totals are
                                // per type, so sum the latest of each.
                                match string(&p.attributes, "error.type").as_deref() {
                                    Some("_OTHER") => {
                                        add_or_set(&mut e.other_errors, v as u64, temporality)
                                    }
                                    Some("rate_limited") => {
                                        add_or_set(&mut e.rate_limited, v as u64, temporality)
                                    }
                                    t => panic!("unexpected error.type {t:?}"),
                                }
                                e.errors = e.other_errors + e.rate_limited;
                            }
                            "modelmeter.cache_hits" => {
                                add_or_set(&mut e.cache_hits, v as u64, temporality)
                            }
                            _ => {}
                        }
                    }
                }
                (
                    name @ ("modelmeter.cached_input_tokens" | "modelmeter.reasoning_tokens"),
                    metric::Data::Sum(s),
                ) => {
                    assert!(s.is_monotonic);
                    assert_eq!(m.unit, "{token}");
                    for p in &s.data_points {
                        let model = string(&p.attributes, "gen_ai.request.model").unwrap();
                        let Some(number_data_point::Value::AsInt(v)) = p.value else {
                            panic!("{name}: not an int")
                        };
                        let e = got.entry(model).or_default();
                        let slot = if name.contains("cached") {
                            &mut e.cached_input_tokens
                        } else {
                            &mut e.reasoning_tokens
                        };
                        add_or_set(slot, v as u64, temporality);
                    }
                }
                ("modelmeter.cost", metric::Data::Sum(s)) => {
                    assert_eq!(m.unit, "USD");
                    assert!(s.is_monotonic);
                }
                (name, _) => panic!("unexpected instrument {name}"),
            }
        }
    }
    (got, windows)
}

fn add_or_set(slot: &mut u64, v: u64, temporality: AggregationTemporality) {
    match temporality {
        AggregationTemporality::Cumulative => *slot = v,
        _ => *slot += v,
    }
}

fn exporter(url: &str) -> OtlpExporter {
    OtlpExporter::new(url)
        .service_name("model-router")
        .resource_attribute("host.name", "test-host")
}

fn check(sent: &BTreeMap<&str, Sent>, got: &BTreeMap<String, Sent>) {
    assert_eq!(got.len(), sent.len());
    for (model, s) in sent {
        assert_eq!(&got[*model], s, "{model}");
    }
}

#[test]
fn every_data_point_matches_what_was_recorded() {
    let receiver = Receiver::start(0);
    let (clock, monitor) = monitor(exporter(&receiver.url));
    let sent = drive(&clock, &monitor);
    monitor.flush();
    let accepted = receiver.accepted.lock().clone();
    assert_eq!(
        accepted.len(),
        3,
        "one request per tick that sealed a minute"
    );
    let (got, windows) = received(&accepted, AggregationTemporality::Delta);
    check(&sent, &got);
    // Each point is one sealed minute, start to end, once per model.
    assert_eq!(windows.len(), 6);
    let t0 = common::start()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    for (_, from, to) in &windows {
        assert_eq!((from - t0) % 60_000_000_000, 0);
        assert_eq!(to - from, 60_000_000_000);
    }
}

#[test]
fn a_receiver_that_answers_503_then_200_gets_each_minute_exactly_once() {
    let receiver = Receiver::start(2);
    let (clock, monitor) = monitor(exporter(&receiver.url).gzip(true));
    let sent = drive(&clock, &monitor);
    monitor.flush();
    assert_eq!(
        receiver.seen.load(Ordering::SeqCst),
        5,
        "two refusals, then three requests"
    );
    let accepted = receiver.accepted.lock().clone();
    let (got, windows) = received(&accepted, AggregationTemporality::Delta);
    check(&sent, &got);
    let mut keys: Vec<_> = windows
        .iter()
        .map(|(m, from, _)| (m.clone(), *from))
        .collect();
    keys.sort();
    let before = keys.len();
    keys.dedup();
    assert_eq!(keys.len(), before, "a minute arrived twice");
    assert_eq!(monitor.health().exporters[0].retried, 2);
}

#[test]
fn cumulative_points_carry_running_totals() {
    let receiver = Receiver::start(0);
    let (clock, monitor) = monitor(exporter(&receiver.url).temporality(Temporality::Cumulative));
    let sent = drive(&clock, &monitor);
    monitor.flush();
    let accepted = receiver.accepted.lock().clone();
    let (got, windows) = received(&accepted, AggregationTemporality::Cumulative);
    check(&sent, &got);
    // Every point of a model starts at the same time: the exporter's start.
    let starts: std::collections::BTreeSet<_> = windows
        .iter()
        .map(|(m, from, _)| (m.clone(), *from))
        .collect();
    assert_eq!(starts.len(), 2, "{starts:?}");
}

#[test]
fn a_receiver_that_is_down_fails_the_export_and_health_says_so() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (clock, monitor) = monitor(exporter(&format!("http://127.0.0.1:{port}")));
    monitor
        .record_selection(&Selection::new("a", Duration::from_millis(5)))
        .unwrap();
    clock.advance(Duration::from_secs(63)); // past the minute and the seal grace
    monitor.tick();
    let h = &monitor.health().exporters[0];
    assert_eq!((h.name.as_str(), h.failed), ("otlp", 1), "{h:?}");
    assert!(
        h.last_error.as_deref().unwrap().contains(&port.to_string()),
        "{h:?}"
    );
}
