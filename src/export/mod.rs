//! Handing sealed data to the outside world.
//!
//! Each tick gathers what it produced into an [`ExportBatch`]: the minutes it sealed
//! (each a [`MinuteBucket`]), alert and incident events, budget events,
//! and, when due, recommendations and scheduled reports. The batch is queued for every
//! configured [`Exporter`], each on its own thread.
//!
//! | exporter | writes | feature |
//! |---|---|---|
//! | [`JsonLinesExporter`] | one JSON object per line, read back as [`JsonLine`] | |
//! | [`CsvExporter`] | one row per sealed minute | |
//! | [`DimensionCsvExporter`] | one row per sealed minute of each dimension value | |
//! | [`LogExporter`] | one human line per event | |
//! | [`PrometheusFileExporter`] | a textfile-collector file ([`PrometheusText`] has the families) | |
//! | `MetricsExporter` | the `metrics` facade, whatever recorder the host installed | `metrics` |
//! | `OtlpExporter` | OTLP/HTTP protobuf to a collector | `otlp` |
//!
//! Your own is one method (plus an optional `flush` and `name`):
//!
//! ```
//! use modelmeter::export::{ExportBatch, Exporter};
//! use modelmeter::error::ExportError;
//!
//! struct Stdout;
//! impl Exporter for Stdout {
//!     fn export(&mut self, batch: &ExportBatch) -> Result<(), ExportError> {
//!         for b in &batch.buckets {
//!             println!("{} {} selections, p95 {:?}", b.model, b.count, b.latency.quantile(0.95));
//!         }
//!         Ok(())
//!     }
//! }
//! let monitor = modelmeter::Monitor::builder().exporter(Stdout).background(false).build()?;
//! # Ok::<(), modelmeter::ConfigError>(())
//! ```
//!
//! ## Delivery
//!
//! The tick only enqueues (an `Arc` clone per exporter); it never runs exporter code,
//! so a slow, failing or panicking exporter delays nobody and loses nothing for the
//! others. On its own thread each exporter gets every batch in order with:
//!
//! - **retries**: an `Err` is retried up to `attempts` times in all, with exponential
//!   backoff from `initial_backoff` doubling to at most `max_backoff`;
//! - **timeouts**: a call that takes longer than `timeout` is counted as timed out and
//!   its batch abandoned (not retried). Rust cannot pre-empt a running call, so while
//!   it stalls its queue fills, and then
//! - **drop-oldest**: when the queue (`queue_capacity` batches) is full, the oldest
//!   queued batch is dropped and counted, so memory stays bounded;
//! - **panics** are caught and counted; the exporter carries on with the next batch.
//!
//! With synchronous delivery (the default with `background(false)`), the tick then
//! waits for each exporter to finish the batch, at most its `timeout` per attempt plus
//! backoff, so tests and simulations see every batch delivered when `tick` returns.
//!
//! Each exporter's counters are in [`Health::exporters`](crate::Health::exporters);
//! the knobs are [`ExportSettings`].

mod csv;
mod delivery;
mod json_lines;
mod log;
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
mod metrics;
#[cfg(feature = "otlp")]
#[cfg_attr(docsrs, doc(cfg(feature = "otlp")))]
mod otlp;
mod prometheus;

pub use self::csv::{CsvExporter, DimensionCsvExporter};
pub use self::json_lines::{JsonLine, JsonLinesExporter};
pub use self::log::LogExporter;
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub use self::metrics::MetricsExporter;
pub use crate::config::ExportSettings;
pub use delivery::ExporterHealth;
pub(crate) use delivery::{Delivery, DeliveryProbe};
#[cfg(feature = "otlp")]
#[cfg_attr(docsrs, doc(cfg(feature = "otlp")))]
pub use otlp::{OtlpExporter, Temporality};
pub(crate) use prometheus::{Counts, DimSeries, layout_slots};
pub use prometheus::{
    DURATION_BOUNDS, ExpositionFormat, PrometheusFileExporter, PrometheusText, TPOT_BOUNDS,
    TTFT_BOUNDS,
};

use crate::alerts::IncidentEvent;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::alerts::AlertEvent;
use crate::bucket::MinuteBucket;
use crate::cost::BudgetEvent;
use crate::error::ExportError;
use crate::heuristics::Recommendation;
use crate::reports::ScheduledReport;
use crate::summary::{de_time, ser_time};

/// The version of the serialized export schema: [`ExportBatch`] and the lines of
/// [`JsonLinesExporter`]. Adding a field keeps the version; renaming, removing or
/// changing the meaning of one bumps it.
pub const SCHEMA_VERSION: u32 = 1;

/// What one tick produced.
///
/// ## Schema (version [`SCHEMA_VERSION`])
///
/// Serialized with serde (JSON shown): `{"schema_version": 1, "sealed_at": <epoch ms>,
/// "buckets": [MinuteBucket...], "alerts": [AlertEvent...]}`. A [`MinuteBucket`]
/// holds `model`, `start` (epoch ms), counters, sums with their counts, tokens,
/// `latency_sum` (ms) and `latency` as `[[value_us, count], ...]`. An
/// [`AlertEvent`] holds `alert_id`, `kind`, `rule_id`, `scope` (`"overall"` or
/// `{"model": id}`), `severity`, `observed`, `threshold`, `message`, `at` and
/// `started_at` (epoch ms). Then `recommendations` ([`Recommendation`]), `reports`
/// ([`ScheduledReport`]) and `budget_events` ([`BudgetEvent`]), each usually empty;
/// these fields were added in 0.1 without a version bump, as the rule above allows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ExportBatch {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// When the tick ran.
    #[serde(serialize_with = "ser_time", deserialize_with = "de_time")]
    pub sealed_at: SystemTime,
    /// The minute buckets sealed at this tick, one per model and minute.
    pub buckets: Vec<MinuteBucket>,
    /// Alert events of this tick: firing, escalated, resolved, ...
    pub alerts: Vec<AlertEvent>,
    /// The optimizer's ranked recommendations, at the ticks where it ran
    /// (`optimizer.interval`, hourly by default); empty otherwise.
    pub recommendations: Vec<Recommendation>,
    /// Scheduled reports (`reporting.schedules`) due at this tick.
    pub reports: Vec<ScheduledReport>,
    /// Budget thresholds (85%, 95%, 100%) crossed at this tick.
    pub budget_events: Vec<BudgetEvent>,
    /// Incident notifications of this tick: one per group of related alerts (see
    /// [`Incident`](crate::Incident)), for channels that page people.
    pub incidents: Vec<IncidentEvent>,
    /// The dimension buckets sealed at this tick: one per dimension value with
    /// selections and minute (provider, operation, requested model, declared
    /// attributes; see [`crate::dimension`]).
    #[serde(default)]
    pub dimension_buckets: Vec<crate::dimension::DimensionBucket>,
}

impl ExportBatch {
    pub(crate) fn new(
        sealed_at: SystemTime,
        buckets: Vec<MinuteBucket>,
        alerts: Vec<AlertEvent>,
    ) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            sealed_at,
            buckets,
            alerts,
            recommendations: Vec::new(),
            reports: Vec::new(),
            budget_events: Vec::new(),
            incidents: Vec::new(),
            dimension_buckets: Vec::new(),
        }
    }

    /// Whether the batch carries nothing.
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
            && self.dimension_buckets.is_empty()
            && self.alerts.is_empty()
            && self.recommendations.is_empty()
            && self.reports.is_empty()
            && self.budget_events.is_empty()
            && self.incidents.is_empty()
    }
}

/// A destination for sealed buckets: implement it to ship modelmeter's data anywhere.
///
/// ```
/// use modelmeter::{ExportBatch, ExportError, Exporter};
///
/// struct PrintCounts;
///
/// impl Exporter for PrintCounts {
///     fn export(&mut self, batch: &ExportBatch) -> Result<(), ExportError> {
///         for b in &batch.buckets {
///             println!("{} {}", b.model, b.count);
///         }
///         Ok(())
///     }
/// }
/// ```
pub trait Exporter: Send + 'static {
    /// Delivers one batch. An `Err` is counted in `Health` with its message.
    fn export(&mut self, batch: &ExportBatch) -> Result<(), ExportError>;

    /// Called by [`Monitor::flush`](crate::Monitor::flush) after every queued batch
    /// was handed over: push out anything buffered.
    fn flush(&mut self) -> Result<(), ExportError> {
        Ok(())
    }

    /// Called once when the monitor shuts down, after the last batch; by default
    /// [`flush`](Self::flush).
    fn shutdown(&mut self) -> Result<(), ExportError> {
        self.flush()
    }

    /// A name for health reports and the worker thread; defaults to the type's name.
    fn name(&self) -> &str {
        std::any::type_name::<Self>()
    }
}

impl<E: Exporter + ?Sized> Exporter for Box<E> {
    fn export(&mut self, batch: &ExportBatch) -> Result<(), ExportError> {
        (**self).export(batch)
    }
    fn flush(&mut self) -> Result<(), ExportError> {
        (**self).flush()
    }
    fn shutdown(&mut self) -> Result<(), ExportError> {
        (**self).shutdown()
    }
    fn name(&self) -> &str {
        (**self).name()
    }
}
