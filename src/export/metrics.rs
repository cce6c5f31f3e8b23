//! [`MetricsExporter`]: the same families through the `metrics` facade.

use metrics::{counter, gauge, histogram};

use super::prometheus::{PrometheusText, QUANTILES};
use super::{ExportBatch, Exporter};
use crate::alerts::AlertEventKind;
use crate::error::ExportError;

/// Emits each batch through the [`metrics`] crate to whatever recorder the host has
/// installed (Prometheus, StatsD, OpenTelemetry bridges), with the names and labels
/// of [`PrometheusText`]:
///
/// - `gen_ai_client_operation_duration_seconds` (histogram): each HDR bucket's value
///   recorded with its count (`record_many`);
/// - `gen_ai_client_token_usage` (histogram, `gen_ai_token_type`): each minute's mean
///   tokens per selection, recorded once per selection (sum and count exact);
/// - `gen_ai_server_time_to_first_token_seconds` and
///   `gen_ai_server_time_per_output_token_seconds` (histograms): as the duration, for
///   streamed selections;
/// - `modelmeter_selections_total`, `modelmeter_errors_total`,
///   `modelmeter_errors_by_type_total` (`error_type`), `modelmeter_retries_total`,
///   `modelmeter_fallbacks_total`, `modelmeter_cache_hits_total`,
///   `modelmeter_cached_input_tokens_total`, `modelmeter_reasoning_tokens_total`
///   (counters);
/// - `modelmeter_cost_usd_total`: a gauge incremented by each minute's spend, because
///   `metrics` counters are integers;
/// - `modelmeter_latency_seconds` (gauge, `quantile`): 5-minute quantiles;
/// - `modelmeter_alerts_active` (gauge, `rule_id`, `scope`, `severity`): 1 while
///   firing, 0 once resolved.
///
/// Requires the `metrics` feature.
#[derive(Debug)]
pub struct MetricsExporter {
    recent: PrometheusText,
    /// The severity each open alert's gauge was last set at, so an escalation or a
    /// resolution also zeroes the gauge of the severity it left.
    alert_severity: std::collections::BTreeMap<(String, String), String>,
}

impl MetricsExporter {
    /// An exporter to the globally installed `metrics` recorder.
    pub fn new() -> Self {
        Self {
            // It emits the recent-quantile gauges, so it keeps recent minutes.
            recent: PrometheusText::new().latency_summary(true),
            alert_severity: std::collections::BTreeMap::new(),
        }
    }
}

impl Default for MetricsExporter {
    fn default() -> Self {
        Self::new()
    }
}

const MODEL: &str = "gen_ai_request_model";

impl Exporter for MetricsExporter {
    fn export(&mut self, batch: &ExportBatch) -> Result<(), ExportError> {
        self.recent.observe(batch);
        for b in &batch.buckets {
            let model = b.model.clone();
            let d = histogram!("gen_ai_client_operation_duration_seconds", MODEL => model.clone());
            for bucket in &b.latency {
                d.record_many(bucket.high.as_secs_f64(), bucket.count as usize);
            }
            if b.count > 0 {
                for (kind, sum) in [("input", b.input_tokens), ("output", b.output_tokens)] {
                    histogram!("gen_ai_client_token_usage", MODEL => model.clone(), "gen_ai_token_type" => kind)
                        .record_many(sum as f64 / b.count as f64, b.count as usize);
                }
            }
            for (name, n) in [
                (
                    "modelmeter_cached_input_tokens_total",
                    b.cached_input_tokens,
                ),
                ("modelmeter_reasoning_tokens_total", b.reasoning_tokens),
            ] {
                if n > 0 {
                    counter!(name, MODEL => model.clone()).increment(n);
                }
            }
            counter!("modelmeter_selections_total", MODEL => model.clone()).increment(b.count);
            counter!("modelmeter_errors_total", MODEL => model.clone()).increment(b.errors);
            for (kind, n) in &b.errors_by_kind {
                counter!("modelmeter_errors_by_type_total", MODEL => model.clone(), "error_type" => kind.as_str())
                    .increment(*n);
            }
            if b.retries > 0 {
                counter!("modelmeter_retries_total", MODEL => model.clone()).increment(b.retries);
            }
            if b.fallbacks > 0 {
                counter!("modelmeter_fallbacks_total", MODEL => model.clone())
                    .increment(b.fallbacks);
            }
            for (name, timing) in [
                (
                    "gen_ai_server_time_to_first_token_seconds",
                    &b.time_to_first_token,
                ),
                (
                    "gen_ai_server_time_per_output_token_seconds",
                    &b.time_per_output_token,
                ),
            ] {
                if let Some(t) = timing {
                    let h = histogram!(name, MODEL => model.clone());
                    for bucket in &t.histogram {
                        h.record_many(bucket.high.as_secs_f64(), bucket.count as usize);
                    }
                }
            }
            counter!("modelmeter_cache_hits_total", MODEL => model.clone()).increment(b.cache_hits);
            gauge!("modelmeter_cost_usd_total", MODEL => model).increment(b.cost_usd);
        }
        for (model, qs) in self.recent.recent_quantiles_by_model() {
            for (q, v) in QUANTILES.iter().zip(qs) {
                gauge!("modelmeter_latency_seconds", MODEL => model.to_owned(), "quantile" => q.to_string())
                    .set(v);
            }
        }
        for e in &batch.alerts {
            let (rule, scope) = (e.rule_id.clone(), e.scope.to_string());
            let severity = e.severity.to_string();
            let set = |severity: String, v: f64| {
                gauge!(
                    "modelmeter_alerts_active",
                    "rule_id" => rule.clone(),
                    "scope" => scope.clone(),
                    "severity" => severity
                )
                .set(v)
            };
            let ended = matches!(e.kind, AlertEventKind::Resolved | AlertEventKind::Accepted);
            let key = (rule.clone(), scope.clone());
            let before = if ended {
                self.alert_severity.remove(&key)
            } else {
                self.alert_severity.insert(key, severity.clone())
            };
            if let Some(old) = before.filter(|old| *old != severity) {
                set(old, 0.0);
            }
            set(severity, if ended { 0.0 } else { 1.0 });
        }
        Ok(())
    }

    fn name(&self) -> &str {
        "metrics"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::AlertEvent;
    use crate::rules::{Scope, Severity};
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    use std::time::SystemTime;

    fn event(kind: AlertEventKind, severity: Severity) -> AlertEvent {
        AlertEvent {
            alert_id: crate::alerts::AlertId(1),
            kind,
            rule_id: "error_rate".into(),
            scope: Scope::model("m"),
            severity,
            observed: 0.2,
            threshold: 0.1,
            message: String::new(),
            at: SystemTime::UNIX_EPOCH,
            started_at: SystemTime::UNIX_EPOCH,
        }
    }

    /// Each `modelmeter_alerts_active` series by severity, after the events in order.
    fn gauges(events: &[(AlertEventKind, Severity)]) -> Vec<(String, f64)> {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let mut exporter = MetricsExporter::new();
        metrics::with_local_recorder(&recorder, || {
            for &(kind, severity) in events {
                let batch = ExportBatch::new(
                    SystemTime::UNIX_EPOCH,
                    Vec::new(),
                    vec![event(kind, severity)],
                );
                exporter.export(&batch).unwrap();
            }
        });
        let mut out: Vec<_> = snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .filter(|(k, ..)| k.key().name() == "modelmeter_alerts_active")
            .map(|(k, _, _, v)| {
                let severity = k
                    .key()
                    .labels()
                    .find(|l| l.key() == "severity")
                    .unwrap()
                    .value()
                    .to_owned();
                let DebugValue::Gauge(v) = v else {
                    panic!("not a gauge")
                };
                (severity, v.into_inner())
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    #[test]
    fn an_escalated_then_resolved_alert_leaves_no_gauge_at_one() {
        use AlertEventKind::*;
        let g = gauges(&[(Firing, Severity::Warning), (Escalated, Severity::Critical)]);
        assert_eq!(g, [("critical".into(), 1.0), ("warning".into(), 0.0)]);
        let g = gauges(&[
            (Firing, Severity::Warning),
            (Escalated, Severity::Critical),
            (Resolved, Severity::Critical),
        ]);
        assert_eq!(g, [("critical".into(), 0.0), ("warning".into(), 0.0)]);
        let g = gauges(&[
            (Firing, Severity::Critical),
            (Deescalated, Severity::Warning),
        ]);
        assert_eq!(g, [("critical".into(), 0.0), ("warning".into(), 1.0)]);
    }
}
