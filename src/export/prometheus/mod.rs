//! Prometheus exposition: text format 0.0.4 and OpenMetrics 1.0, with the
//! OpenTelemetry GenAI names. See [`PrometheusText`] for the families.

mod dimensions;
mod encode;
mod self_metrics;
mod series;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

pub(crate) use self::dimensions::DimSeries;
use self::encode::{Encoder, Float, HistogramNames, Kind, escape};
pub(crate) use self::series::{Counts, layout_slots};
use self::series::{LE_SLOTS, ModelSeries};
use super::{ExportBatch, Exporter};
use crate::alerts::{AlertEvent, AlertEventKind};
use crate::bucket::MinuteBucket;
use crate::dimension::DimensionBucket;
use crate::error::ExportError;
use crate::health::Health;
use crate::rules::{Scope, Severity};
use crate::tokens::TOKEN_BOUNDS;

/// The OpenTelemetry GenAI duration bucket bounds, in seconds.
pub const DURATION_BOUNDS: [f64; 14] = [
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];
/// The OpenTelemetry GenAI bucket bounds of `gen_ai.server.time_to_first_token`, in
/// seconds.
pub const TTFT_BOUNDS: [f64; 16] = [
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];
/// The OpenTelemetry GenAI bucket bounds of `gen_ai.server.time_per_output_token`, in
/// seconds.
pub const TPOT_BOUNDS: [f64; 13] = [
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5,
];
pub(crate) const QUANTILES: [f64; 4] = [0.5, 0.9, 0.95, 0.99];
const RECENT: Duration = Duration::from_secs(300);
/// Models with no sealed minute for this long leave the exposition.
const FORGET_AFTER: Duration = Duration::from_secs(24 * 3600);
const MODEL: &str = "gen_ai_request_model";

/// Which exposition format to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ExpositionFormat {
    /// The Prometheus text format, version 0.0.4 (`text/plain; version=0.0.4`).
    #[default]
    Text,
    /// OpenMetrics 1.0 text (`application/openmetrics-text; version=1.0.0`): counter
    /// families named without `_total`, units declared, `# EOF` at the end.
    OpenMetrics,
}

impl ExpositionFormat {
    /// The format a scraper's `Accept` header asks for, as Prometheus negotiates it:
    /// OpenMetrics when it is acceptable with a quality at least that of the text
    /// format, the text format otherwise (also without a header, or with one that
    /// names neither).
    ///
    /// ```
    /// use modelmeter::ExpositionFormat;
    ///
    /// let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    /// assert_eq!(ExpositionFormat::negotiate(Some(prometheus)), ExpositionFormat::OpenMetrics);
    /// assert_eq!(ExpositionFormat::negotiate(Some("text/plain")), ExpositionFormat::Text);
    /// assert_eq!(ExpositionFormat::negotiate(None), ExpositionFormat::Text);
    /// ```
    pub fn negotiate(accept: Option<&str>) -> Self {
        let (mut open_metrics, mut text) = (0.0f64, 0.0f64);
        for range in accept.unwrap_or("").split(',') {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or("").to_ascii_lowercase();
            let mut q = 1.0;
            for p in parts {
                if let Some(v) = p.strip_prefix("q=") {
                    q = v.parse().unwrap_or(0.0);
                }
            }
            match media.as_str() {
                "application/openmetrics-text" => open_metrics = open_metrics.max(q),
                "text/plain" | "*/*" | "text/*" => text = text.max(q),
                _ => {}
            }
        }
        if open_metrics > 0.0 && open_metrics >= text {
            Self::OpenMetrics
        } else {
            Self::Text
        }
    }

    /// The `Content-Type` of a response in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Text => "text/plain; version=0.0.4; charset=utf-8",
            Self::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// Cumulative Prometheus series built from export batches, rendered in either
/// [`ExpositionFormat`].
///
/// The monitor keeps one for [`Monitor::render_metrics`](crate::Monitor::render_metrics),
/// which also adds the minute still open and the monitor's own health;
/// [`PrometheusFileExporter`] keeps its own from sealed minutes and writes it to a file
/// for node_exporter's textfile collector.
///
/// ## Families
///
/// Per model (label `gen_ai_request_model`):
///
/// | family | type | meaning |
/// |---|---|---|
/// | `gen_ai_client_operation_duration_seconds` | histogram | latency; GenAI buckets 0.01 s .. 81.92 s |
/// | `gen_ai_client_token_usage` | histogram | tokens per selection by `gen_ai_token_type` (`input`, `output`); GenAI buckets 1, 4, 16, .. 67,108,864; selections that reported tokens |
/// | `gen_ai_server_time_to_first_token_seconds` | histogram | time to first token of streamed selections; GenAI buckets 0.001 s .. 10 s ([`TTFT_BOUNDS`]) |
/// | `gen_ai_server_time_per_output_token_seconds` | histogram | time per output token after the first; GenAI buckets 0.01 s .. 2.5 s ([`TPOT_BOUNDS`]) |
/// | `modelmeter_selections_total` | counter | selections |
/// | `modelmeter_errors_total` | counter | failed selections |
/// | `modelmeter_errors_by_type_total` | counter | failed selections by `error_type` (OpenTelemetry's `error.type`: `timeout`, `rate_limited`, `server_error`, `bad_request`, `content_filter`, `cancelled`, `other`); only kinds that occurred; they sum to `modelmeter_errors_total` |
/// | `modelmeter_retries_total` | counter | retries before the recorded outcomes |
/// | `modelmeter_fallbacks_total` | counter | selections that fell back from another model |
/// | `modelmeter_cache_hits_total` | counter | cache hits |
/// | `modelmeter_cost_usd_total` | counter | spend in US dollars |
/// | `modelmeter_cached_input_tokens_total` | counter | input tokens served from the provider's prompt cache |
/// | `modelmeter_reasoning_tokens_total` | counter | output tokens spent reasoning |
/// | `modelmeter_latency_seconds` | summary | opt-in (`prometheus.latencySummary`): p50, p90, p95, p99 of the last 5 sealed minutes; **per instance only**: quantiles cannot be summed or averaged across instances, use the histogram for a fleet |
///
/// Per dimension (provider, operation, requested model, each declared attribute; the
/// label is the dimension's key, its values bounded by the dimension's cap):
/// `modelmeter_<key>_selections_total`, `_errors_total`, `_cache_hits_total`,
/// `_fallbacks_total`, `_cost_usd_total` and `_tokens_total` (by `type`: `input`,
/// `output`, `cached_input`, `reasoning`), and for providers the histogram
/// `modelmeter_provider_duration_seconds` (the GenAI duration buckets).
///
/// Fleet-wide and per rule:
///
/// | family | type | meaning |
/// |---|---|---|
/// | `modelmeter_alerts_active` | gauge | 1 per firing alert, by `rule_id`, `scope`, `severity` |
///
/// The monitor's own health ([`Monitor::render_metrics`](crate::Monitor::render_metrics)
/// only; the same facts as [`Health`]):
///
/// | family | type | meaning |
/// |---|---|---|
/// | `modelmeter_recorded_total` | counter | selections accepted |
/// | `modelmeter_rejected_total` | counter | selections refused, by `reason` |
/// | `modelmeter_models` | gauge | model ids tracked |
/// | `modelmeter_overflow_selections_total` | counter | selections folded into `__other__` past `maxModels` |
/// | `modelmeter_overflow_models` | gauge | distinct model ids folded into `__other__` (exact up to 65,536) |
/// | `modelmeter_bytes_retained` | gauge | bytes held by open cells and stored buckets |
/// | `modelmeter_tick_duration_seconds` | summary | time spent in ticks (`_sum`, `_count`) |
/// | `modelmeter_exporter_batches_total` | counter | by `exporter` and `outcome` (`delivered`, `failed`, `dropped`, `panicked`, `timed_out`) |
/// | `modelmeter_exporter_retries_total` | counter | by `exporter` |
/// | `modelmeter_exporter_queued` | gauge | batches waiting, by `exporter` |
/// | `modelmeter_live_dropped_total` | counter | live snapshots a slow subscriber missed |
/// | `modelmeter_heuristic_panics_total` | counter | heuristic runs that panicked |
/// | `modelmeter_rule_panics_total` | counter | rule calls that panicked, by `rule_id` |
/// | `modelmeter_rules_disabled` | gauge | rules disabled for panicking too often in a row |
/// | `modelmeter_clock_panics_total` | counter | clock reads that panicked |
/// | `modelmeter_worker_up` | gauge | 1 while the background worker runs (absent without one) |
///
/// ## What is current, and what aggregates
///
/// In [`Monitor::render_metrics`](crate::Monitor::render_metrics) the counters and
/// histograms include the minute still open, read under the same lock the sealer
/// takes: they grow with every selection and never step back or count a selection twice
/// when its minute is sealed, so `rate()` over a minute is smooth. Counters and
/// histogram buckets sum exactly across instances (`sum by (le) (rate(..._bucket[1m]))`
/// is the fleet's distribution); the summary's quantiles do not. A histogram bucket
/// counts each HDR bucket whose highest value is at or below its bound: within the HDR
/// relative error (1% by default) of exact.
#[derive(Debug, Default)]
pub struct PrometheusText {
    models: BTreeMap<String, ModelSeries>,
    /// Per (dimension, value), the counters of the sealed dimension buckets.
    dims: DimSeries,
    alerts: BTreeMap<(String, Scope), Severity>,
    now: Option<SystemTime>,
    latency_summary: bool,
}

impl PrometheusText {
    /// An empty exposition, without the latency summary.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether to render the per-instance `modelmeter_latency_seconds` summary.
    pub fn latency_summary(mut self, on: bool) -> Self {
        self.latency_summary = on;
        self
    }

    /// Folds one batch in.
    pub fn observe(&mut self, batch: &ExportBatch) {
        self.observe_sealed(&batch.buckets, batch.sealed_at);
        self.observe_dimensions(&batch.dimension_buckets, batch.sealed_at);
        self.observe_alerts(&batch.alerts);
    }

    /// Folds sealed minutes in; the monitor calls this under the store's write lock,
    /// so a render never sees a minute both open and sealed.
    pub(crate) fn observe_sealed(&mut self, buckets: &[MinuteBucket], at: SystemTime) {
        self.now = Some(at);
        for b in buckets {
            self.observe_bucket(b, at);
        }
        let cutoff = at.checked_sub(FORGET_AFTER);
        self.models.retain(|_, m| {
            m.last_seen
                .zip(cutoff)
                .is_none_or(|(seen, cut)| seen >= cut)
        });
    }

    /// Folds sealed dimension minutes in, under the same lock as
    /// [`PrometheusText::observe_sealed`].
    pub(crate) fn observe_dimensions(&mut self, buckets: &[DimensionBucket], at: SystemTime) {
        for b in buckets {
            self.dims
                .entry((b.dimension.clone(), b.value.clone()))
                .or_default()
                .add_bucket(b, at);
        }
        let cutoff = at.checked_sub(FORGET_AFTER);
        self.dims.retain(|_, d| {
            d.last_seen
                .zip(cutoff)
                .is_none_or(|(seen, cut)| seen >= cut)
        });
    }

    fn observe_bucket(&mut self, b: &MinuteBucket, now: SystemTime) {
        let m = self.models.entry(b.model.clone()).or_default();
        let recent: Vec<(u64, u64)> = b
            .latency
            .iter()
            .map(|v| (v.high.as_micros() as u64, v.count))
            .collect();
        m.counts.add_bucket(b, &recent);
        // Only the opt-in quantile summary reads recent minutes: without it they would
        // hold every model's last 6 minutes of buckets for nothing.
        if self.latency_summary {
            m.recent.push_back((b.start, recent));
        }
        let cutoff = now.checked_sub(RECENT + Duration::from_secs(60));
        while m
            .recent
            .front()
            .zip(cutoff)
            .is_some_and(|((start, _), cut)| *start < cut)
        {
            m.recent.pop_front();
        }
        m.last_seen = Some(now);
    }

    pub(crate) fn observe_alerts(&mut self, events: &[AlertEvent]) {
        for e in events {
            let key = (e.rule_id.clone(), e.scope.clone());
            match e.kind {
                AlertEventKind::Resolved | AlertEventKind::Accepted => {
                    self.alerts.remove(&key);
                }
                _ => {
                    self.alerts.insert(key, e.severity);
                }
            }
        }
    }

    /// The text exposition, format 0.0.4.
    pub fn render(&self) -> String {
        self.render_as(ExpositionFormat::Text)
    }

    /// The exposition in `format`.
    pub fn render_as(&self, format: ExpositionFormat) -> String {
        let mut out = String::with_capacity(256 + self.models.len() * 4096);
        let mut e = Encoder::new(&mut out, format);
        self.write_models(&mut e, &BTreeMap::new());
        dimensions::write(&mut e, &self.dims, &BTreeMap::new());
        self.write_alerts(&mut e);
        e.finish();
        out
    }

    /// The monitor's live exposition: sealed series plus `open` (counts of the cells
    /// still open, by model, and by dimension value), then the monitor's own `health`.
    pub(crate) fn render_live(
        &self,
        format: ExpositionFormat,
        (open, open_dims): (&BTreeMap<String, Counts>, &DimSeries),
        health: &Health,
    ) -> String {
        let mut out = String::with_capacity(4096 + (self.models.len() + open.len()) * 4096);
        let mut e = Encoder::new(&mut out, format);
        self.write_models(&mut e, open);
        dimensions::write(&mut e, &self.dims, open_dims);
        self.write_alerts(&mut e);
        self_metrics::write(&mut e, health);
        e.finish();
        out
    }

    /// Every model's counts: sealed plus open, by model id.
    fn merged<'a>(&'a self, open: &'a BTreeMap<String, Counts>) -> Vec<(&'a str, Counts)> {
        let mut names: Vec<&str> = self.models.keys().map(String::as_str).collect();
        names.extend(
            open.keys()
                .map(String::as_str)
                .filter(|k| !self.models.contains_key(*k)),
        );
        names.sort_unstable();
        names
            .into_iter()
            .map(|name| {
                let mut c = self
                    .models
                    .get(name)
                    .map(|m| m.counts.clone())
                    .unwrap_or_default();
                if let Some(o) = open.get(name) {
                    c.merge(o);
                }
                (name, c)
            })
            .collect()
    }

    fn write_models(&self, e: &mut Encoder<'_>, open: &BTreeMap<String, Counts>) {
        let merged = self.merged(open);
        // Each id escaped once, not once per sample: (raw id, escaped id, counts).
        let escaped: Vec<_> = merged.iter().map(|(m, _)| escape(m)).collect();
        let models: Vec<(&str, &str, &Counts)> = merged
            .iter()
            .zip(&escaped)
            .map(|((raw, c), esc)| (*raw, &**esc, c))
            .collect();
        const DURATION: &str = "gen_ai_client_operation_duration_seconds";
        e.family(
            DURATION,
            Kind::Histogram,
            "Duration of GenAI operations (selections), in seconds.",
        );
        let (names, les) = (
            HistogramNames::new(DURATION),
            DURATION_BOUNDS.map(|b| b.to_string()),
        );
        for &(_, model, c) in &models {
            debug_assert_eq!(c.le.iter().sum::<u64>(), c.count);
            let sum = Float(c.latency_sum_us as f64 / 1e6);
            e.histogram(
                &names,
                &[(MODEL, model)],
                &les,
                &c.le[..LE_SLOTS - 1],
                c.count,
                sum,
            );
        }
        const TOKENS: &str = "gen_ai_client_token_usage";
        e.family(
            TOKENS,
            Kind::Histogram,
            "Tokens used per GenAI operation, by token type.",
        );
        let (names, les) = (
            HistogramNames::new(TOKENS),
            TOKEN_BOUNDS.map(|b| b.to_string()),
        );
        for &(_, model, c) in &models {
            let total = c.tokens.count();
            for (kind, buckets, sum) in [
                ("input", &c.tokens.input, c.input_tokens),
                ("output", &c.tokens.output, c.output_tokens),
            ] {
                let labels = [(MODEL, model), ("gen_ai_token_type", kind)];
                e.histogram(&names, &labels, &les, &buckets[..], total, sum);
            }
        }
        for (name, help, bounds, get) in [
            (
                "gen_ai_server_time_to_first_token_seconds",
                "Time to the first token of streamed GenAI operations, in seconds.",
                &TTFT_BOUNDS[..],
                (|c: &Counts| (&c.ttft.le[..], c.ttft.count, c.ttft.sum_us))
                    as fn(&Counts) -> (&[u64], u64, u64),
            ),
            (
                "gen_ai_server_time_per_output_token_seconds",
                "Time per output token after the first, of streamed GenAI operations, in seconds.",
                &TPOT_BOUNDS[..],
                |c: &Counts| (&c.tpot.le[..], c.tpot.count, c.tpot.sum_us),
            ),
        ] {
            e.family(name, Kind::Histogram, help);
            let names = HistogramNames::new(name);
            let les: Vec<String> = bounds.iter().map(f64::to_string).collect();
            for &(_, model, c) in &models {
                let (le, count, sum_us) = get(c);
                if count > 0 {
                    let sum = Float(sum_us as f64 / 1e6);
                    e.histogram(
                        &names,
                        &[(MODEL, model)],
                        &les,
                        &le[..le.len() - 1],
                        count,
                        sum,
                    );
                }
            }
        }
        const BY_TYPE: &str = "modelmeter_errors_by_type_total";
        e.family(
            BY_TYPE,
            Kind::Counter,
            "Selections that failed, by error type.",
        );
        for &(_, model, c) in &models {
            for (kind, &n) in crate::ErrorKind::ALL.iter().zip(&c.errors_by_kind) {
                if n > 0 {
                    e.sample(BY_TYPE, &[(MODEL, model), ("error_type", kind.as_str())], n);
                }
            }
        }
        type Counter = (&'static str, &'static str, fn(&Counts) -> u64);
        let counters: [Counter; 7] = [
            ("modelmeter_selections_total", "Selections recorded.", |c| {
                c.count
            }),
            ("modelmeter_errors_total", "Selections that failed.", |c| {
                c.errors
            }),
            (
                "modelmeter_cache_hits_total",
                "Selections served from cache.",
                |c| c.cache_hits,
            ),
            (
                "modelmeter_retries_total",
                "Retries before the recorded outcomes.",
                |c| c.retries,
            ),
            (
                "modelmeter_fallbacks_total",
                "Selections that fell back from another model.",
                |c| c.fallbacks,
            ),
            (
                "modelmeter_cached_input_tokens_total",
                "Input tokens served from the provider's prompt cache.",
                |c| c.cached_input_tokens,
            ),
            (
                "modelmeter_reasoning_tokens_total",
                "Output tokens spent reasoning.",
                |c| c.reasoning_tokens,
            ),
        ];
        for (name, help, value) in counters {
            e.family(name, Kind::Counter, help);
            for &(_, model, c) in &models {
                e.sample(name, &[(MODEL, model)], value(c));
            }
        }
        e.family(
            "modelmeter_cost_usd_total",
            Kind::Counter,
            "Spend in US dollars.",
        );
        for &(_, model, c) in &models {
            e.sample(
                "modelmeter_cost_usd_total",
                &[(MODEL, model)],
                Float(c.cost_usd()),
            );
        }
        if self.latency_summary {
            const QUANTILE: &str = "modelmeter_latency_seconds";
            e.family(
                QUANTILE,
                Kind::Summary,
                "Latency quantiles over the last 5 sealed minutes (per instance: do not aggregate), sum and count since start, in seconds.",
            );
            let quantiles = QUANTILES.map(|q| q.to_string());
            for &(raw, model, c) in &models {
                let qs = self
                    .models
                    .get(raw)
                    .map_or([f64::NAN; 4], |m| self.recent_quantiles(m));
                for (q, v) in quantiles.iter().zip(qs) {
                    let l = [(MODEL, model), ("quantile", q.as_str())];
                    e.sample(QUANTILE, &l, Float(v));
                }
                let l = [(MODEL, model)];
                let sum = Float(c.latency_sum_us as f64 / 1e6);
                e.sample("modelmeter_latency_seconds_sum", &l, sum);
                e.sample("modelmeter_latency_seconds_count", &l, c.count);
            }
        }
    }

    fn write_alerts(&self, e: &mut Encoder<'_>) {
        const ALERTS: &str = "modelmeter_alerts_active";
        e.family(ALERTS, Kind::Gauge, "Firing alerts, 1 per rule and scope.");
        for ((rule, scope), severity) in &self.alerts {
            let scope = scope.to_string();
            let severity = match severity {
                Severity::Warning => "warning",
                Severity::Critical => "critical",
            };
            let l = [
                ("rule_id", &*escape(rule)),
                ("scope", &*escape(&scope)),
                ("severity", severity),
            ];
            e.sample(ALERTS, &l, 1u64);
        }
    }

    /// Each model's 5-minute quantiles (p50, p90, p95, p99), in seconds.
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    pub(crate) fn recent_quantiles_by_model(&self) -> impl Iterator<Item = (&str, [f64; 4])> {
        self.models
            .iter()
            .map(|(k, m)| (k.as_str(), self.recent_quantiles(m)))
    }

    /// Quantiles of the minutes sealed in the 5 minutes before the last batch; NaN
    /// without any.
    fn recent_quantiles(&self, m: &ModelSeries) -> [f64; 4] {
        let cutoff = self.now.and_then(|n| n.checked_sub(RECENT));
        let mut values: Vec<(u64, u64)> = m
            .recent
            .iter()
            .filter(|(start, _)| cutoff.is_none_or(|c| *start >= c))
            .flat_map(|(_, v)| v.iter().copied())
            .collect();
        values.sort_unstable();
        let total: u64 = values.iter().map(|v| v.1).sum();
        let mut out = [f64::NAN; 4];
        if total == 0 {
            return out;
        }
        let (mut seen, mut k) = (0, 0);
        for (value, n) in values {
            seen += n;
            while k < 4 && seen >= crate::summary::rank(QUANTILES[k], total) {
                out[k] = value as f64 / 1e6;
                k += 1;
            }
        }
        out
    }
}

/// Writes the Prometheus exposition to a file after every batch, atomically (a
/// temporary file in the same directory, then a rename), for node_exporter's textfile
/// collector.
///
/// ```no_run
/// use modelmeter::{Monitor, PrometheusFileExporter};
///
/// let monitor = Monitor::builder()
///     .exporter(PrometheusFileExporter::new("/var/lib/node_exporter/modelmeter.prom"))
///     .build()?;
/// # Ok::<(), modelmeter::ConfigError>(())
/// ```
#[derive(Debug)]
pub struct PrometheusFileExporter {
    path: PathBuf,
    text: PrometheusText,
}

impl PrometheusFileExporter {
    /// Writes to `path` (its directory must exist).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            text: PrometheusText::new(),
        }
    }
}

impl PrometheusFileExporter {
    /// Whether to also write the per-instance `modelmeter_latency_seconds` summary.
    pub fn latency_summary(mut self, on: bool) -> Self {
        self.text = std::mem::take(&mut self.text).latency_summary(on);
        self
    }
}

impl Exporter for PrometheusFileExporter {
    fn export(&mut self, batch: &ExportBatch) -> Result<(), ExportError> {
        self.text.observe(batch);
        let mut tmp = self.path.clone().into_os_string();
        tmp.push(".tmp");
        std::fs::write(&tmp, self.text.render())?;
        std::fs::rename(&tmp, &self.path)?;
        Ok(())
    }

    fn name(&self) -> &str {
        "prometheus_file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_exposition_has_every_header() {
        let text = PrometheusText::new().render();
        for family in [
            "gen_ai_client_operation_duration_seconds",
            "gen_ai_client_token_usage",
            "modelmeter_selections_total",
            "modelmeter_alerts_active",
        ] {
            assert!(text.contains(&format!("# TYPE {family} ")), "{family}");
        }
        assert!(
            !text.contains("modelmeter_latency_seconds"),
            "the summary is opt-in"
        );
        let text = PrometheusText::new().latency_summary(true).render();
        assert!(text.contains("# TYPE modelmeter_latency_seconds summary"));
    }

    #[test]
    fn recent_minutes_are_kept_only_for_the_quantile_summary() {
        use crate::aggregate::Aggregate;
        use crate::hdr::{BucketLayout, CompactCounts};
        let layout = BucketLayout::new(1, 3_600_000_000, 2).unwrap();
        let mut agg = Aggregate::default();
        agg.totals.count = 3;
        agg.latency = CompactCounts::from_sorted([(10, 1), (500, 2)]);
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let bucket = MinuteBucket::new("m", at, &agg, Default::default(), &layout);
        for summary in [false, true] {
            let mut text = PrometheusText::new().latency_summary(summary);
            text.observe_sealed(std::slice::from_ref(&bucket), at);
            assert_eq!(text.models["m"].recent.len(), usize::from(summary));
        }
    }

    #[test]
    fn accept_headers_choose_the_format() {
        use ExpositionFormat::*;
        let cases = [
            ("application/openmetrics-text; version=1.0.0", OpenMetrics),
            (
                "text/plain;version=0.0.4;q=0.9,application/openmetrics-text;q=0.5",
                Text,
            ),
            ("application/openmetrics-text;q=0", Text),
            ("application/json", Text),
            ("", Text),
            ("garbage;;q=abc,,", Text),
        ];
        for (accept, want) in cases {
            assert_eq!(ExpositionFormat::negotiate(Some(accept)), want, "{accept}");
        }
    }
}
