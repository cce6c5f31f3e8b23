//! Handing sealed data to the outside world.
//!
//! Each tick gathers what it produced into an [`ExportBatch`] and hands it to every
//! configured [`Exporter`]. An exporter that returns an error or panics is counted in
//! [`Health`](crate::Health) and does not stop the others.

use std::time::SystemTime;

use serde::Serialize;

use crate::alerts::AlertEvent;
use crate::bucket::MinuteBucket;
use crate::error::ExportError;
use crate::summary::ser_time;

/// What one tick produced.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ExportBatch {
    /// When the tick ran.
    #[serde(serialize_with = "ser_time")]
    pub sealed_at: SystemTime,
    /// The minute buckets sealed at this tick, one per model and minute.
    pub buckets: Vec<MinuteBucket>,
    /// Alert events of this tick: firing, escalated, resolved, ...
    pub alerts: Vec<AlertEvent>,
}

impl ExportBatch {
    pub(crate) fn new(
        sealed_at: SystemTime,
        buckets: Vec<MinuteBucket>,
        alerts: Vec<AlertEvent>,
    ) -> Self {
        Self {
            sealed_at,
            buckets,
            alerts,
        }
    }

    /// Whether the batch carries nothing.
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty() && self.alerts.is_empty()
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

    /// A name for health reports; defaults to the type's name.
    fn name(&self) -> &str {
        std::any::type_name::<Self>()
    }
}

impl<E: Exporter + ?Sized> Exporter for Box<E> {
    fn export(&mut self, batch: &ExportBatch) -> Result<(), ExportError> {
        (**self).export(batch)
    }
    fn name(&self) -> &str {
        (**self).name()
    }
}
