//! `export`: how each exporter's batches are delivered.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::ms;
use crate::error::ConfigError;

/// How one exporter's batches are delivered (`export` in [`Config`](crate::Config);
/// durations are milliseconds in the file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct ExportSettings {
    /// Batches queued before the oldest is dropped. Default 16: batches are produced
    /// about once a minute and hold a few hundred bytes per model and minute, so a
    /// stalled exporter holds little.
    pub queue_capacity: usize,
    /// Calls per batch, the first included. Default 3.
    pub attempts: u32,
    /// Wait before the first retry. Default 100 ms.
    #[serde(with = "ms")]
    pub initial_backoff: Duration,
    /// Longest wait between retries. Default 5 s.
    #[serde(with = "ms")]
    pub max_backoff: Duration,
    /// Longest an export call may take before its batch is abandoned. Default 10 s.
    #[serde(with = "ms")]
    pub timeout: Duration,
    /// How long `flush()` and dropping the monitor wait for queues to drain. Default 5 s.
    #[serde(with = "ms")]
    pub flush_timeout: Duration,
}

impl Default for ExportSettings {
    fn default() -> Self {
        Self {
            queue_capacity: 16,
            attempts: 3,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
            flush_timeout: Duration::from_secs(5),
        }
    }
}

impl ExportSettings {
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let bad = |field: &str, v: String, why: &str| {
            Err(ConfigError::invalid(&format!("export.{field}"), v, why))
        };
        if self.queue_capacity == 0 {
            return bad("queueCapacity", "0".into(), "must be at least 1");
        }
        if self.attempts == 0 {
            return bad("attempts", "0".into(), "must be at least 1");
        }
        if self.timeout.is_zero() {
            return bad("timeout", ms::show(self.timeout), "must be positive");
        }
        if self.max_backoff < self.initial_backoff {
            return bad(
                "maxBackoff",
                ms::show(self.max_backoff),
                "must be >= initialBackoff",
            );
        }
        Ok(())
    }
}
