//! [`CsvExporter`]: one row per minute bucket.

use std::io::Write;

use serde::Serialize;

use super::{ExportBatch, Exporter};
use crate::bucket::MinuteBucket;
use crate::clock::to_unix_nanos;
use crate::error::ExportError;

/// One CSV row; the header is these field names.
#[derive(Serialize)]
struct Row<'a> {
    minute_start_ms: u64,
    model: &'a str,
    count: u64,
    errors: u64,
    cache_hits: u64,
    cost_usd: f64,
    cost_count: u64,
    accuracy_sum: f64,
    accuracy_count: u64,
    satisfaction_sum: f64,
    satisfaction_count: u64,
    complexity_sum: f64,
    complexity_count: u64,
    input_tokens: u64,
    output_tokens: u64,
    latency_sum_ms: f64,
    latency_min_ms: f64,
    latency_p50_ms: f64,
    latency_p95_ms: f64,
    latency_p99_ms: f64,
    latency_max_ms: f64,
}

impl<'a> Row<'a> {
    fn new(b: &'a MinuteBucket) -> Self {
        let h = &b.latency;
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
        let q = |q: f64| ms(h.quantile(q));
        Self {
            minute_start_ms: to_unix_nanos(b.start) / 1_000_000,
            model: &b.model,
            count: b.count,
            errors: b.errors,
            cache_hits: b.cache_hits,
            cost_usd: b.cost_usd,
            cost_count: b.cost_count,
            accuracy_sum: b.accuracy_sum,
            accuracy_count: b.accuracy_count,
            satisfaction_sum: b.satisfaction_sum,
            satisfaction_count: b.satisfaction_count,
            complexity_sum: b.complexity_sum,
            complexity_count: b.complexity_count,
            input_tokens: b.input_tokens,
            output_tokens: b.output_tokens,
            latency_sum_ms: ms(b.latency_sum),
            latency_min_ms: ms(b.latency_min),
            latency_p50_ms: q(0.5),
            latency_p95_ms: q(0.95),
            latency_p99_ms: q(0.99),
            latency_max_ms: ms(b.latency_max),
        }
    }
}

/// Writes one CSV row per minute bucket (the `csv` crate), the header once. Latency
/// columns are in milliseconds: the percentiles within the HDR relative error, the sum,
/// minimum and maximum exact.
///
/// ```
/// use modelmeter::{CsvExporter, Monitor};
///
/// let monitor = Monitor::builder().exporter(CsvExporter::new(std::io::sink())).build()?;
/// # Ok::<(), modelmeter::ConfigError>(())
/// ```
#[derive(Debug)]
pub struct CsvExporter<W: Write + Send + 'static> {
    out: csv::Writer<W>,
}

impl<W: Write + Send + 'static> CsvExporter<W> {
    /// Writes to `out`.
    pub fn new(out: W) -> Self {
        Self {
            out: csv::Writer::from_writer(out),
        }
    }
}

impl<W: Write + Send + 'static> Exporter for CsvExporter<W> {
    fn export(&mut self, batch: &ExportBatch) -> Result<(), ExportError> {
        for b in &batch.buckets {
            self.out.serialize(Row::new(b)).map_err(ExportError::new)?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ExportError> {
        Ok(self.out.flush()?)
    }

    fn name(&self) -> &str {
        "csv"
    }
}
