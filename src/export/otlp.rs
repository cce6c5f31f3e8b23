//! [`OtlpExporter`]: sealed minutes as OTLP metrics over HTTP, for the OpenTelemetry
//! Collector (feature `otlp`).
//!
//! Each tick's sealed minutes become one `ExportMetricsServiceRequest` (the official
//! `opentelemetry-proto` types, protobuf over HTTP, uncompressed unless
//! [`gzip`](OtlpExporter::gzip) is on), posted to the Collector's `/v1/metrics`.
//! Retries, timeouts, the queue and drop-oldest come from the delivery worker every
//! exporter runs on ([`ExportSettings`](crate::ExportSettings)): a request the receiver
//! refuses (a non-2xx status, a connection error) fails the export and is sent again,
//! whole, so a receiver that answers `503` and then `200` accepts each minute once.
//!
//! ## Instruments
//!
//! | name | type | unit | attributes |
//! |---|---|---|---|
//! | `gen_ai.client.operation.duration` | histogram | `s` | `gen_ai.request.model` |
//! | `gen_ai.client.token_usage` | histogram | `{token}` | `gen_ai.request.model`, `gen_ai.token.type` (`input`, `output`) |
//! | `modelmeter.selections` | monotonic sum | `{selection}` | `gen_ai.request.model` |
//! | `gen_ai.server.time_to_first_token` | histogram | `s` | `gen_ai.request.model`; streamed selections only |
//! | `gen_ai.server.time_per_output_token` | histogram | `s` | `gen_ai.request.model`; streamed selections with more than one output token |
//! | `modelmeter.errors` | monotonic sum | `{selection}` | `gen_ai.request.model`, `error.type` (the [`ErrorKind`](crate::ErrorKind) name; `_OTHER` for `Other`) |
//! | `modelmeter.cache_hits` | monotonic sum | `{selection}` | `gen_ai.request.model` |
//! | `modelmeter.cost` | monotonic sum | `USD` | `gen_ai.request.model` |
//! | `modelmeter.cached_input_tokens`, `modelmeter.reasoning_tokens` | monotonic sum | `{token}` | `gen_ai.request.model`; models that reported tokens |
//!
//! Delta duration points carry the exact fastest and slowest latency (`min`, `max`).
//! The histograms use explicit buckets with the GenAI semantic conventions' advised
//! bounds (0.01 s to 81.92 s doubling; 1 to 67,108,864 tokens by fours), as the
//! OpenTelemetry SDK does with that advice. Counts and sums are exact; what is lost is
//! the resolution inside a bucket (the monitor keeps 1% HDR buckets; a Collector
//! backend gets 14). Exponential histograms would keep more, at the cost of a second
//! bucketing scheme for backends that do not support them; explicit buckets are what
//! Prometheus-style backends behind a Collector aggregate.
//!
//! Errors carry `error.type`: the selection's [`ErrorKind`](crate::ErrorKind), or
//! `_OTHER` (the conventions' value for an unclassified failure) for
//! [`ErrorKind::Other`](crate::ErrorKind::Other); a model without errors sends one
//! `_OTHER` point of 0. The streaming histograms use the conventions' advised bounds
//! ([`TTFT_BOUNDS`](crate::TTFT_BOUNDS), [`TPOT_BOUNDS`](crate::TPOT_BOUNDS)).
//! `gen_ai.provider.name` and `gen_ai.operation.name` are sent once selections carry
//! them.
//!
//! ## Temporality
//!
//! [`Temporality::Delta`] (the default): each data point is one sealed minute, from its
//! start to its end. A minute sealed again for late events (see
//! [`MinuteBucket`](crate::MinuteBucket)) sends a second delta for the same minute; the
//! sum of all points is exact. [`Temporality::Cumulative`]: running totals per model
//! from the first minute this exporter sent for it, each point ending at the end of
//! the minute it adds.

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Histogram, HistogramDataPoint, Metric, NumberDataPoint,
    ResourceMetrics, ScopeMetrics, Sum, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;

use super::prometheus::Counts;
use super::prometheus::{TPOT_BOUNDS, TTFT_BOUNDS};
use super::{DURATION_BOUNDS, ExportBatch, Exporter};
use crate::clock::to_unix_nanos;
use crate::error::ExportError;
use crate::failure::ErrorKind;
use crate::tokens::TOKEN_BOUNDS;

/// How data points relate to each other over time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Temporality {
    /// Each point covers one sealed minute.
    #[default]
    Delta,
    /// Each point covers everything since the first minute sent for its model.
    Cumulative,
}

/// Sends sealed minutes to an OTLP/HTTP receiver (an OpenTelemetry Collector); see the
/// module docs for the instruments, temporality and what is exact.
///
/// ```no_run
/// use modelmeter::{Monitor, OtlpExporter};
///
/// let monitor = Monitor::builder()
///     .exporter(
///         OtlpExporter::new("http://otel-collector:4318")
///             .service_name("model-router")
///             .resource_attribute("deployment.environment", "production"),
///     )
///     .build()?;
/// # Ok::<(), modelmeter::ConfigError>(())
/// ```
pub struct OtlpExporter {
    url: String,
    agent: ureq::Agent,
    resource: Vec<KeyValue>,
    temporality: Temporality,
    gzip: bool,
    /// Running totals per model and when each began, for cumulative temporality.
    totals: BTreeMap<String, (u64, Counts)>,
}

impl std::fmt::Debug for OtlpExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtlpExporter")
            .field("url", &self.url)
            .field("temporality", &self.temporality)
            .field("gzip", &self.gzip)
            .finish_non_exhaustive()
    }
}

fn attr(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..Default::default()
    }
}

impl OtlpExporter {
    /// An exporter to `endpoint_url`: the metrics URL itself
    /// (`http://collector:4318/v1/metrics`), or a base URL without a path, to which
    /// `/v1/metrics` is added as `OTEL_EXPORTER_OTLP_ENDPOINT` is treated.
    ///
    /// `service.name` is `OTEL_SERVICE_NAME` when set, else `unknown_service`, as the
    /// OpenTelemetry SDK defaults it.
    pub fn new(endpoint_url: impl Into<String>) -> Self {
        let mut url: String = endpoint_url.into();
        let after_scheme = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
        if !after_scheme.trim_end_matches('/').contains('/') {
            url = format!("{}/v1/metrics", url.trim_end_matches('/'));
        }
        let service = std::env::var("OTEL_SERVICE_NAME")
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "unknown_service".to_owned());
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build();
        Self {
            url,
            agent: config.into(),
            resource: vec![
                attr("service.name", &service),
                attr("telemetry.sdk.name", "modelmeter"),
                attr("telemetry.sdk.language", "rust"),
                attr("telemetry.sdk.version", env!("CARGO_PKG_VERSION")),
            ],
            temporality: Temporality::Delta,
            gzip: false,
            totals: BTreeMap::new(),
        }
    }

    /// Sets `service.name`.
    pub fn service_name(self, name: &str) -> Self {
        self.resource_attribute("service.name", name)
    }

    /// Adds (or replaces) a resource attribute: `host.name`, `deployment.environment`,
    /// `service.instance.id`, ...
    pub fn resource_attribute(mut self, key: &str, value: &str) -> Self {
        self.resource.retain(|kv| kv.key != key);
        self.resource.push(attr(key, value));
        self
    }

    /// Delta (default) or cumulative data points.
    pub fn temporality(mut self, temporality: Temporality) -> Self {
        self.temporality = temporality;
        self
    }

    /// Compresses request bodies with gzip (`Content-Encoding: gzip`). Off by default.
    pub fn gzip(mut self, on: bool) -> Self {
        self.gzip = on;
        self
    }

    /// The request for one batch; `None` when it holds no sealed minute.
    fn request(&mut self, batch: &ExportBatch) -> Option<ExportMetricsServiceRequest> {
        if batch.buckets.is_empty() {
            return None;
        }
        let mut m = Instruments::default();
        for b in &batch.buckets {
            let values: Vec<(u64, u64)> = b
                .latency
                .iter()
                .map(|v| (v.high.as_micros() as u64, v.count))
                .collect();
            let mut counts = Counts::default();
            counts.add_bucket(b, &values);
            let start = to_unix_nanos(b.start);
            let end = start + 60_000_000_000;
            let (start, counts) = match self.temporality {
                Temporality::Delta => (start, counts),
                Temporality::Cumulative => {
                    let (since, total) = self
                        .totals
                        .entry(b.model.clone())
                        .or_insert_with(|| (start, Counts::default()));
                    total.merge(&counts);
                    (*since, total.clone())
                }
            };
            let min_max = (self.temporality == Temporality::Delta && b.count > 0)
                .then_some((b.latency_min.as_secs_f64(), b.latency_max.as_secs_f64()));
            m.add(&b.model, start, end, &counts, min_max);
        }
        let temporality = match self.temporality {
            Temporality::Delta => AggregationTemporality::Delta,
            Temporality::Cumulative => AggregationTemporality::Cumulative,
        } as i32;
        Some(ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(Resource {
                    attributes: self.resource.clone(),
                    ..Default::default()
                }),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(InstrumentationScope {
                        name: "modelmeter".into(),
                        version: env!("CARGO_PKG_VERSION").into(),
                        ..Default::default()
                    }),
                    metrics: m.into_metrics(temporality),
                    ..Default::default()
                }],
                ..Default::default()
            }],
        })
    }

    fn post(&self, body: Vec<u8>) -> Result<(), ExportError> {
        let mut req = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/x-protobuf");
        let body = if self.gzip {
            use std::io::Write;
            let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            z.write_all(&body)?;
            req = req.header("Content-Encoding", "gzip");
            z.finish()?
        } else {
            body
        };
        let response = req
            .send(&body[..])
            .map_err(|e| ExportError::new(format!("OTLP request to {} failed: {e}", self.url)))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(ExportError::new(format!(
                "OTLP receiver {} answered {status}",
                self.url
            )))
        }
    }
}

impl Exporter for OtlpExporter {
    fn export(&mut self, batch: &ExportBatch) -> Result<(), ExportError> {
        match self.request(batch) {
            Some(request) => self.post(request.encode_to_vec()),
            None => Ok(()),
        }
    }

    fn name(&self) -> &str {
        "otlp"
    }
}

/// The data points of one request, by instrument.
#[derive(Default)]
struct Instruments {
    duration: Vec<HistogramDataPoint>,
    tokens: Vec<HistogramDataPoint>,
    ttft: Vec<HistogramDataPoint>,
    tpot: Vec<HistogramDataPoint>,
    selections: Vec<NumberDataPoint>,
    errors: Vec<NumberDataPoint>,
    cache_hits: Vec<NumberDataPoint>,
    cost: Vec<NumberDataPoint>,
    cached_input_tokens: Vec<NumberDataPoint>,
    reasoning_tokens: Vec<NumberDataPoint>,
}

const MODEL: &str = "gen_ai.request.model";

impl Instruments {
    /// Adds one model's points; `min_max` is the exact fastest and slowest latency of
    /// a delta point (a cumulative point leaves them out, as the SDK may).
    fn add(&mut self, model: &str, start: u64, end: u64, c: &Counts, min_max: Option<(f64, f64)>) {
        let model_attr = vec![attr(MODEL, model)];
        let histogram =
            |attributes: Vec<KeyValue>, bounds: Vec<f64>, counts: Vec<u64>, count, sum| {
                HistogramDataPoint {
                    attributes,
                    start_time_unix_nano: start,
                    time_unix_nano: end,
                    count,
                    sum: Some(sum),
                    bucket_counts: counts,
                    explicit_bounds: bounds,
                    ..Default::default()
                }
            };
        let mut duration = histogram(
            model_attr.clone(),
            DURATION_BOUNDS.to_vec(),
            c.le.to_vec(),
            c.count,
            c.latency_sum_us as f64 / 1e6,
        );
        (duration.min, duration.max) = (min_max.map(|m| m.0), min_max.map(|m| m.1));
        self.duration.push(duration);
        let token_count = c.tokens.count();
        if token_count > 0 {
            for (kind, buckets, sum) in [
                ("input", &c.tokens.input, c.input_tokens),
                ("output", &c.tokens.output, c.output_tokens),
            ] {
                self.tokens.push(histogram(
                    vec![attr(MODEL, model), attr("gen_ai.token.type", kind)],
                    TOKEN_BOUNDS.iter().map(|&b| b as f64).collect(),
                    buckets.to_vec(),
                    token_count,
                    sum as f64,
                ));
            }
        }
        for (points, bounds, le, count, sum_us) in [
            (
                &mut self.ttft,
                &TTFT_BOUNDS[..],
                &c.ttft.le[..],
                c.ttft.count,
                c.ttft.sum_us,
            ),
            (
                &mut self.tpot,
                &TPOT_BOUNDS[..],
                &c.tpot.le[..],
                c.tpot.count,
                c.tpot.sum_us,
            ),
        ] {
            if count > 0 {
                let attributes = model_attr.clone();
                let sum = sum_us as f64 / 1e6;
                points.push(histogram(
                    attributes,
                    bounds.to_vec(),
                    le.to_vec(),
                    count,
                    sum,
                ));
            }
        }
        let point = |attributes: Vec<KeyValue>, value| NumberDataPoint {
            attributes,
            start_time_unix_nano: start,
            time_unix_nano: end,
            value: Some(value),
            ..Default::default()
        };
        let int = |v: u64| number_data_point::Value::AsInt(i64::try_from(v).unwrap_or(i64::MAX));
        self.selections
            .push(point(model_attr.clone(), int(c.count)));
        let error_type = |kind: ErrorKind| match kind {
            ErrorKind::Other => "_OTHER",
            k => k.as_str(),
        };
        let mut any = false;
        for (kind, &n) in ErrorKind::ALL.iter().zip(&c.errors_by_kind) {
            if n > 0 {
                any = true;
                let a = vec![attr(MODEL, model), attr("error.type", error_type(*kind))];
                self.errors.push(point(a, int(n)));
            }
        }
        if !any {
            let a = vec![attr(MODEL, model), attr("error.type", "_OTHER")];
            self.errors.push(point(a, int(0)));
        }
        self.cache_hits
            .push(point(model_attr.clone(), int(c.cache_hits)));
        // Parts of the input and output tokens, sent for models that reported tokens.
        if token_count > 0 {
            self.cached_input_tokens
                .push(point(model_attr.clone(), int(c.cached_input_tokens)));
            self.reasoning_tokens
                .push(point(model_attr.clone(), int(c.reasoning_tokens)));
        }
        self.cost.push(point(
            model_attr,
            number_data_point::Value::AsDouble(c.cost_usd()),
        ));
    }

    fn into_metrics(self, temporality: i32) -> Vec<Metric> {
        let histogram = |name: &str, description: &str, unit: &str, data_points| Metric {
            name: name.into(),
            description: description.into(),
            unit: unit.into(),
            data: Some(metric::Data::Histogram(Histogram {
                data_points,
                aggregation_temporality: temporality,
            })),
            ..Default::default()
        };
        let sum = |name: &str, description: &str, unit: &str, data_points| Metric {
            name: name.into(),
            description: description.into(),
            unit: unit.into(),
            data: Some(metric::Data::Sum(Sum {
                data_points,
                aggregation_temporality: temporality,
                is_monotonic: true,
            })),
            ..Default::default()
        };
        let mut out = vec![histogram(
            "gen_ai.client.operation.duration",
            "GenAI operation duration.",
            "s",
            self.duration,
        )];
        if !self.tokens.is_empty() {
            out.push(histogram(
                "gen_ai.client.token_usage",
                "Number of input and output tokens used.",
                "{token}",
                self.tokens,
            ));
        }
        for (name, description, points) in [
            (
                "gen_ai.server.time_to_first_token",
                "Time to generate the first token of streamed answers.",
                self.ttft,
            ),
            (
                "gen_ai.server.time_per_output_token",
                "Time per output token generated after the first.",
                self.tpot,
            ),
        ] {
            if !points.is_empty() {
                out.push(histogram(name, description, "s", points));
            }
        }
        out.push(sum(
            "modelmeter.selections",
            "Selections recorded.",
            "{selection}",
            self.selections,
        ));
        out.push(sum(
            "modelmeter.errors",
            "Selections that failed.",
            "{selection}",
            self.errors,
        ));
        out.push(sum(
            "modelmeter.cache_hits",
            "Selections served from cache.",
            "{selection}",
            self.cache_hits,
        ));
        out.push(sum("modelmeter.cost", "Spend.", "USD", self.cost));
        for (name, description, points) in [
            (
                "modelmeter.cached_input_tokens",
                "Input tokens served from the provider's prompt cache.",
                self.cached_input_tokens,
            ),
            (
                "modelmeter.reasoning_tokens",
                "Output tokens spent reasoning.",
                self.reasoning_tokens,
            ),
        ] {
            if !points.is_empty() {
                out.push(sum(name, description, "{token}", points));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_base_url_gets_the_metrics_path() {
        for (given, url) in [
            ("http://c:4318", "http://c:4318/v1/metrics"),
            ("http://c:4318/", "http://c:4318/v1/metrics"),
            ("http://c:4318/custom/path", "http://c:4318/custom/path"),
            ("http://c:4318/v1/metrics", "http://c:4318/v1/metrics"),
        ] {
            assert_eq!(OtlpExporter::new(given).url, url);
        }
    }

    #[test]
    fn resource_attributes_replace_by_key() {
        let e = OtlpExporter::new("http://c:4318")
            .service_name("router")
            .resource_attribute("host.name", "h1");
        let names: Vec<_> = e
            .resource
            .iter()
            .filter(|kv| kv.key == "service.name")
            .collect();
        assert_eq!(names.len(), 1);
        assert_eq!(
            names[0].value.as_ref().unwrap().value,
            Some(any_value::Value::StringValue("router".into()))
        );
    }
}
