//! [`Health`]: how the monitor itself is doing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::RejectReason;
use crate::export::ExporterHealth;

/// The monitor's own counters, from [`Monitor::health`](crate::Monitor::health).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Health {
    /// Selections accepted (sealed and still open).
    pub recorded: u64,
    /// Selections refused, by reason; every reason is present, zero or not.
    pub rejected: BTreeMap<RejectReason, u64>,
    /// Sum of `rejected`.
    pub rejected_total: u64,
    /// Selections whose model id arrived after the `maxModels` cap and were counted
    /// under `__other__`.
    pub overflowed_selections: u64,
    /// Distinct model ids folded into `__other__` past the cap: a linear-counting
    /// estimate, within 1% up to about 100,000 ids.
    pub overflowed_models: u64,
    /// Minute buckets sealed since start (a late minute counts again).
    pub sealed_buckets: u64,
    /// Model ids tracked (`__other__` excluded).
    pub models_tracked: usize,
    /// Estimated bytes held by open cells and stored buckets.
    pub bytes_retained: usize,
    /// Ticks run.
    pub ticks: u64,
    /// Time spent in ticks, all together.
    #[serde(
        serialize_with = "crate::summary::ser_ms",
        deserialize_with = "crate::summary::de_ms"
    )]
    pub tick_time: std::time::Duration,
    /// Calls to the global [`record_selection`](crate::record_selection) made while no
    /// global monitor was set (process-wide).
    pub global_noop: u64,
    /// Batches that failed every attempt, panicked or timed out, over all exporters.
    pub export_failures: u64,
    /// Per exporter: delivered, retried, failed, dropped, panicked, timed out, queued,
    /// last error.
    pub exporters: Vec<ExporterHealth>,
    /// Live snapshots not delivered because a subscriber was behind.
    pub live_dropped: u64,
    /// Heuristic runs that panicked and were skipped.
    pub heuristic_panics: u64,
}
