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
/// - `modelmeter_selections_total`, `modelmeter_errors_total`,
///   `modelmeter_cache_hits_total` (counters);
/// - `modelmeter_cost_usd_total`: a gauge incremented by each minute's spend, because
///   `metrics` counters are integers;
/// - `modelmeter_latency_seconds` (gauge, `quantile`): 5-minute quantiles;
/// - `modelmeter_alerts_active` (gauge, `rule_id`, `scope`, `severity`): 1 while
///   firing, 0 once resolved.
///
/// Requires the `metrics` feature.
#[derive(Debug, Default)]
pub struct MetricsExporter {
    recent: PrometheusText,
}

impl MetricsExporter {
    /// An exporter to the globally installed `metrics` recorder.
    pub fn new() -> Self {
        Self::default()
    }
}

const MODEL: &str = "gen_ai_request_model";

impl Exporter for MetricsExporter {
    fn export(&mut self, batch: &ExportBatch) -> Result<(), ExportError> {
        self.recent.observe(batch);
        for b in &batch.buckets {
            let model = b.model.clone();
            let d = histogram!("gen_ai_client_operation_duration_seconds", MODEL => model.clone());
            for v in b.latency.iter_recorded() {
                d.record_many(
                    v.value_iterated_to() as f64 / 1e6,
                    v.count_at_value() as usize,
                );
            }
            if b.count > 0 {
                for (kind, sum) in [("input", b.input_tokens), ("output", b.output_tokens)] {
                    histogram!("gen_ai_client_token_usage", MODEL => model.clone(), "gen_ai_token_type" => kind)
                        .record_many(sum as f64 / b.count as f64, b.count as usize);
                }
            }
            counter!("modelmeter_selections_total", MODEL => model.clone()).increment(b.count);
            counter!("modelmeter_errors_total", MODEL => model.clone()).increment(b.errors);
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
            let g = gauge!(
                "modelmeter_alerts_active",
                "rule_id" => e.rule_id.clone(),
                "scope" => e.scope.to_string(),
                "severity" => format!("{:?}", e.severity).to_lowercase()
            );
            let ended = matches!(e.kind, AlertEventKind::Resolved | AlertEventKind::Accepted);
            g.set(if ended { 0.0 } else { 1.0 });
        }
        Ok(())
    }

    fn name(&self) -> &str {
        "metrics"
    }
}
