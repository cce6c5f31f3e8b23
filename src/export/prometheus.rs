//! Prometheus text exposition (format 0.0.4), with the OpenTelemetry GenAI names.
//!
//! [`PrometheusText`] folds each tick's [`ExportBatch`] into cumulative per-model
//! counters and histograms and renders them. The monitor keeps one for
//! [`Monitor::render_prometheus`](crate::Monitor::render_prometheus);
//! [`PrometheusFileExporter`] keeps its own and writes it atomically to a file for
//! node_exporter's textfile collector.
//!
//! Families (all labelled `gen_ai_request_model`):
//!
//! | family | type | meaning |
//! |---|---|---|
//! | `gen_ai_client_operation_duration_seconds` | histogram | latency, GenAI buckets 0.01 s .. 81.92 s |
//! | `gen_ai_client_token_usage` | histogram | tokens per selection, by `gen_ai_token_type` (`input`, `output`); only the `+Inf` bucket, because tokens are summed per minute, not kept per selection |
//! | `modelmeter_selections_total` | counter | selections |
//! | `modelmeter_errors_total` | counter | failed selections |
//! | `modelmeter_cache_hits_total` | counter | cache hits |
//! | `modelmeter_cost_usd_total` | counter | spend in US dollars |
//! | `modelmeter_latency_seconds` | summary | p50, p90, p95, p99 over the last 5 minutes (by `quantile`), like a client library's sliding-window summary; `_sum` and `_count` since start |
//! | `modelmeter_alerts_active` | gauge | 1 per firing alert, by `rule_id`, `scope`, `severity` |
//!
//! Counters cover sealed minutes, so they trail real time by up to a minute plus the
//! seal grace. A histogram bucket counts each HDR bucket whose highest value is at or
//! below its bound: within the HDR relative error (1% by default) of exact.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use super::{ExportBatch, Exporter};
use crate::alerts::{AlertEvent, AlertEventKind};
use crate::bucket::MinuteBucket;
use crate::error::ExportError;
use crate::rules::{Scope, Severity};

/// The OpenTelemetry GenAI duration bucket bounds, in seconds.
pub const DURATION_BOUNDS: [f64; 14] = [
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];
pub(crate) const QUANTILES: [f64; 4] = [0.5, 0.9, 0.95, 0.99];
const RECENT: Duration = Duration::from_secs(300);
/// Models with no sealed minute for this long leave the exposition.
const FORGET_AFTER: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, Default)]
struct ModelSeries {
    le: [u64; DURATION_BOUNDS.len()],
    count: u64,
    latency_sum: f64,
    errors: u64,
    cache_hits: u64,
    cost_usd: f64,
    input_tokens: u64,
    output_tokens: u64,
    /// Sealed minutes of the last 5 minutes: (minute start, [(latency µs, count)]).
    recent: VecDeque<(SystemTime, Vec<(u64, u64)>)>,
    last_seen: Option<SystemTime>,
}

/// Cumulative Prometheus series built from export batches; see the module docs.
#[derive(Debug, Default)]
pub struct PrometheusText {
    models: BTreeMap<String, ModelSeries>,
    alerts: BTreeMap<(String, Scope), Severity>,
    now: Option<SystemTime>,
}

impl PrometheusText {
    /// An empty exposition.
    pub fn new() -> Self {
        Self::default()
    }

    /// Folds one batch in.
    pub fn observe(&mut self, batch: &ExportBatch) {
        self.now = Some(batch.sealed_at);
        for b in &batch.buckets {
            self.observe_bucket(b, batch.sealed_at);
        }
        for e in &batch.alerts {
            self.observe_alert(e);
        }
        let cutoff = batch.sealed_at.checked_sub(FORGET_AFTER);
        self.models.retain(|_, m| {
            m.last_seen
                .zip(cutoff)
                .is_none_or(|(seen, cut)| seen >= cut)
        });
    }

    fn observe_bucket(&mut self, b: &MinuteBucket, now: SystemTime) {
        let m = self.models.entry(b.model.clone()).or_default();
        let mut recent = Vec::new();
        for v in b.latency.iter_recorded() {
            let (value, n) = (v.value_iterated_to(), v.count_at_value());
            let secs = value as f64 / 1e6;
            for (slot, bound) in m.le.iter_mut().zip(DURATION_BOUNDS) {
                if secs <= bound {
                    *slot += n;
                }
            }
            recent.push((value, n));
        }
        m.count += b.count;
        m.latency_sum += b.latency_sum.as_secs_f64();
        m.errors += b.errors;
        m.cache_hits += b.cache_hits;
        m.cost_usd += b.cost_usd;
        m.input_tokens += b.input_tokens;
        m.output_tokens += b.output_tokens;
        m.recent.push_back((b.start, recent));
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

    fn observe_alert(&mut self, e: &AlertEvent) {
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

    /// The text exposition, format 0.0.4.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(256 + self.models.len() * 2048);
        let w = &mut out;
        const DURATION: &str = "gen_ai_client_operation_duration_seconds";
        header(
            w,
            DURATION,
            "histogram",
            "Duration of GenAI operations (selections), in seconds.",
        );
        for (model, m) in &self.models {
            let l = Label::model(model);
            for (bound, n) in DURATION_BOUNDS.iter().zip(m.le) {
                let _ = writeln!(w, "{DURATION}_bucket{{{l},le=\"{bound}\"}} {n}");
            }
            let _ = writeln!(w, "{DURATION}_bucket{{{l},le=\"+Inf\"}} {}", m.count);
            let _ = writeln!(w, "{DURATION}_sum{{{l}}} {}", float(m.latency_sum));
            let _ = writeln!(w, "{DURATION}_count{{{l}}} {}", m.count);
        }
        const TOKENS: &str = "gen_ai_client_token_usage";
        header(
            w,
            TOKENS,
            "histogram",
            "Tokens used per GenAI operation, by token type.",
        );
        for (model, m) in &self.models {
            let l = Label::model(model);
            for (kind, sum) in [("input", m.input_tokens), ("output", m.output_tokens)] {
                let _ = writeln!(
                    w,
                    "{TOKENS}_bucket{{{l},gen_ai_token_type=\"{kind}\",le=\"+Inf\"}} {}",
                    m.count
                );
                let _ = writeln!(w, "{TOKENS}_sum{{{l},gen_ai_token_type=\"{kind}\"}} {sum}");
                let _ = writeln!(
                    w,
                    "{TOKENS}_count{{{l},gen_ai_token_type=\"{kind}\"}} {}",
                    m.count
                );
            }
        }
        type Counter = (&'static str, &'static str, fn(&ModelSeries) -> f64);
        let counters: [Counter; 4] = [
            ("modelmeter_selections_total", "Selections recorded.", |m| {
                m.count as f64
            }),
            ("modelmeter_errors_total", "Selections that failed.", |m| {
                m.errors as f64
            }),
            (
                "modelmeter_cache_hits_total",
                "Selections served from cache.",
                |m| m.cache_hits as f64,
            ),
            ("modelmeter_cost_usd_total", "Spend in US dollars.", |m| {
                m.cost_usd
            }),
        ];
        for (name, help, value) in counters {
            header(w, name, "counter", help);
            for (model, m) in &self.models {
                let _ = writeln!(w, "{name}{{{}}} {}", Label::model(model), float(value(m)));
            }
        }
        const QUANTILE: &str = "modelmeter_latency_seconds";
        header(
            w,
            QUANTILE,
            "summary",
            "Latency: quantiles over the last 5 minutes, sum and count since start, in seconds.",
        );
        for (model, m) in &self.models {
            let l = Label::model(model);
            for (q, v) in QUANTILES.iter().zip(self.recent_quantiles(m)) {
                let _ = writeln!(w, "{QUANTILE}{{{l},quantile=\"{q}\"}} {}", float(v));
            }
            let _ = writeln!(w, "{QUANTILE}_sum{{{l}}} {}", float(m.latency_sum));
            let _ = writeln!(w, "{QUANTILE}_count{{{l}}} {}", m.count);
        }
        const ALERTS: &str = "modelmeter_alerts_active";
        header(w, ALERTS, "gauge", "Firing alerts, 1 per rule and scope.");
        for ((rule, scope), severity) in &self.alerts {
            let scope = scope.to_string();
            let severity = match severity {
                Severity::Warning => "warning",
                Severity::Critical => "critical",
            };
            let _ = writeln!(
                w,
                "{ALERTS}{{rule_id=\"{}\",scope=\"{}\",severity=\"{severity}\"}} 1",
                Escaped(rule),
                Escaped(&scope)
            );
        }
        out
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

fn header(w: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(w, "# HELP {name} {help}");
    let _ = writeln!(w, "# TYPE {name} {kind}");
}

fn float(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{v}")
    }
}

/// A label value escaped as the text format requires: `\` `"` and newline.
struct Escaped<'a>(&'a str);

impl std::fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for c in self.0.chars() {
            match c {
                '\\' => f.write_str("\\\\")?,
                '"' => f.write_str("\\\"")?,
                '\n' => f.write_str("\\n")?,
                c => f.write_char(c)?,
            }
        }
        Ok(())
    }
}

struct Label<'a>(&'a str);

impl<'a> Label<'a> {
    fn model(model: &'a str) -> Self {
        Label(model)
    }
}

impl std::fmt::Display for Label<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "gen_ai_request_model=\"{}\"", Escaped(self.0))
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
    fn label_values_are_escaped() {
        assert_eq!(Escaped("a\"b\\c\nd é").to_string(), "a\\\"b\\\\c\\nd é");
    }

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
    }
}
