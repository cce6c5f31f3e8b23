//! [`CsvExporter`]: one row per minute bucket; [`DimensionCsvExporter`]: one row per
//! dimension bucket.

use std::io::Write;

use serde::Serialize;

use super::{ExportBatch, Exporter};
use crate::bucket::{MinuteBucket, TimingDistribution};
use crate::clock::to_unix_nanos;
use crate::dimension::DimensionBucket;
use crate::error::ExportError;
use crate::failure::ErrorKind;

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
    errors_timeout: u64,
    errors_rate_limited: u64,
    errors_server_error: u64,
    errors_bad_request: u64,
    errors_content_filter: u64,
    errors_cancelled: u64,
    errors_other: u64,
    retries: u64,
    fallbacks: u64,
    streaming: u64,
    ttft_count: u64,
    ttft_p50_ms: Option<f64>,
    ttft_p95_ms: Option<f64>,
    ttft_p99_ms: Option<f64>,
    tpot_count: u64,
    tpot_p50_ms: Option<f64>,
    tpot_p95_ms: Option<f64>,
    feedback: u64,
    cached_input_tokens: u64,
    reasoning_tokens: u64,
}

impl<'a> Row<'a> {
    fn new(b: &'a MinuteBucket) -> Self {
        let h = &b.latency;
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
        let q = |q: f64| ms(h.quantile(q));
        let kind = |k: ErrorKind| b.errors_by_kind.get(&k).copied().unwrap_or(0);
        let timing = |d: &Option<TimingDistribution>, q: f64| {
            // Clamped to the exact extremes, as summaries are.
            d.as_ref()
                .map(|d| ms(d.histogram.quantile(q).clamp(d.min, d.max.max(d.min))))
        };
        let (ttft, tpot) = (&b.time_to_first_token, &b.time_per_output_token);
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
            errors_timeout: kind(ErrorKind::Timeout),
            errors_rate_limited: kind(ErrorKind::RateLimited),
            errors_server_error: kind(ErrorKind::ServerError),
            errors_bad_request: kind(ErrorKind::BadRequest),
            errors_content_filter: kind(ErrorKind::ContentFilter),
            errors_cancelled: kind(ErrorKind::Cancelled),
            errors_other: kind(ErrorKind::Other),
            retries: b.retries,
            fallbacks: b.fallbacks,
            streaming: b.streaming,
            ttft_count: ttft.as_ref().map_or(0, |d| d.count),
            ttft_p50_ms: timing(ttft, 0.5),
            ttft_p95_ms: timing(ttft, 0.95),
            ttft_p99_ms: timing(ttft, 0.99),
            tpot_count: tpot.as_ref().map_or(0, |d| d.count),
            tpot_p50_ms: timing(tpot, 0.5),
            tpot_p95_ms: timing(tpot, 0.95),
            feedback: b.feedback,
            cached_input_tokens: b.cached_input_tokens,
            reasoning_tokens: b.reasoning_tokens,
        }
    }
}

/// Writes one CSV row per minute bucket (the `csv` crate), the header once. Latency
/// columns are in milliseconds: the percentiles within the HDR relative error, the sum,
/// minimum and maximum exact. Errors have a column per [`ErrorKind`]; the streaming
/// columns (`ttft_*`: time to first token, `tpot_*`: time per output token) are empty
/// in a minute without streamed selections. Named feedback scores, whose names vary,
/// are in the JSON lines output, not here.
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

/// One row of [`DimensionCsvExporter`]; the header is these field names.
#[derive(Serialize)]
struct DimensionRow<'a> {
    minute_start_ms: u64,
    dimension: &'a str,
    value: &'a str,
    count: u64,
    errors: u64,
    cache_hits: u64,
    cost_usd: f64,
    cost_count: u64,
    input_tokens: u64,
    output_tokens: u64,
    cached_input_tokens: u64,
    reasoning_tokens: u64,
    fallbacks: u64,
    latency_sum_ms: f64,
    latency_min_ms: f64,
    latency_p50_ms: Option<f64>,
    latency_p95_ms: Option<f64>,
    latency_p99_ms: Option<f64>,
    latency_max_ms: f64,
}

impl<'a> DimensionRow<'a> {
    fn new(b: &'a DimensionBucket) -> Self {
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
        let q = |q: f64| b.latency.as_ref().map(|h| ms(h.quantile(q)));
        Self {
            minute_start_ms: to_unix_nanos(b.start) / 1_000_000,
            dimension: &b.dimension,
            value: &b.value,
            count: b.count,
            errors: b.errors,
            cache_hits: b.cache_hits,
            cost_usd: b.cost_usd,
            cost_count: b.cost_count,
            input_tokens: b.input_tokens,
            output_tokens: b.output_tokens,
            cached_input_tokens: b.cached_input_tokens,
            reasoning_tokens: b.reasoning_tokens,
            fallbacks: b.fallbacks,
            latency_sum_ms: ms(b.latency_sum),
            latency_min_ms: ms(b.latency_min),
            latency_p50_ms: q(0.5),
            latency_p95_ms: q(0.95),
            latency_p99_ms: q(0.99),
            latency_max_ms: ms(b.latency_max),
        }
    }
}

/// Writes one CSV row per [`DimensionBucket`]: per minute, each provider, operation,
/// requested model and declared attribute value with its counts, spend, tokens
/// (input, output, cached input, reasoning), fallbacks and latency in milliseconds
/// (the sum, minimum and maximum exact; the percentiles, for providers only, within
/// the HDR relative error). A file of its own beside [`CsvExporter`]'s, since each
/// selection appears once per dimension it set: summing `count` over one
/// `dimension` gives the selections that set it.
///
/// ```
/// use modelmeter::{CsvExporter, DimensionCsvExporter, Monitor};
///
/// let monitor = Monitor::builder()
///     .exporter(CsvExporter::new(std::io::sink()))
///     .exporter(DimensionCsvExporter::new(std::io::sink()))
///     .dimension("team", 100)
///     .build()?;
/// # Ok::<(), modelmeter::ConfigError>(())
/// ```
#[derive(Debug)]
pub struct DimensionCsvExporter<W: Write + Send + 'static> {
    out: csv::Writer<W>,
}

impl<W: Write + Send + 'static> DimensionCsvExporter<W> {
    /// Writes to `out`.
    pub fn new(out: W) -> Self {
        Self {
            out: csv::Writer::from_writer(out),
        }
    }
}

impl<W: Write + Send + 'static> Exporter for DimensionCsvExporter<W> {
    fn export(&mut self, batch: &ExportBatch) -> Result<(), ExportError> {
        for b in &batch.dimension_buckets {
            self.out
                .serialize(DimensionRow::new(b))
                .map_err(ExportError::new)?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ExportError> {
        Ok(self.out.flush()?)
    }

    fn name(&self) -> &str {
        "dimension_csv"
    }
}
