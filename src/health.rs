//! [`Health`]: how the monitor itself is doing.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

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
    /// Per rule id, for rules that panicked: how often, the last message, and whether
    /// the rule was disabled (`monitoring.alerting.rulePanicLimit` panics in a row).
    pub rule_panics: BTreeMap<String, RulePanics>,
    /// Clock reads that panicked (answered with the last tick's time).
    pub clock_panics: u64,
    /// Ticks that panicked outside any rule, heuristic or exporter; the worker
    /// survives them and ticks again.
    pub tick_panics: u64,
    /// Whether the background worker is running: `None` without one
    /// (`background(false)`).
    pub worker_alive: Option<bool>,
    /// When the last tick completed, by the monitor's clock; `None` before the first.
    #[serde(
        serialize_with = "crate::alerts::ser_opt_time",
        deserialize_with = "crate::alerts::de_opt_time"
    )]
    pub last_tick: Option<std::time::SystemTime>,
    /// The persistent store (`MonitorBuilder::persist`, feature `persist`); `None`
    /// without one.
    pub persistence: Option<PersistenceHealth>,
    /// What the price table (`MonitorBuilder::pricing`) did; `None` without one.
    #[serde(default)]
    pub pricing: Option<PricingHealth>,
    /// Per dimension (`provider`, `operation`, `requested_model` and each declared
    /// attribute), the values kept and what its cap folded into `__other__`.
    #[serde(default)]
    pub dimensions: BTreeMap<String, DimensionHealth>,
}

/// One dimension's cardinality, in [`Health::dimensions`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DimensionHealth {
    /// Distinct values kept.
    pub values: usize,
    /// The cap on kept values.
    pub max_values: usize,
    /// Selections whose value came past the cap and was folded into `__other__`.
    pub overflowed_selections: u64,
    /// Estimated distinct values folded into `__other__` (within about 1% up to
    /// 100,000).
    pub overflowed_values: u64,
}

/// What the price table did, in [`Health::pricing`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PricingHealth {
    /// Selections that reported tokens and no cost, priced from the table.
    pub priced: u64,
    /// Selections that reported tokens and no cost, for a model (or a time) the table
    /// has no price for: recorded without a cost, never guessed.
    pub unpriced: u64,
    /// Selections that reported both a cost and tokens of a priced model: they keep
    /// the reported cost.
    pub compared: u64,
    /// Over the compared selections, the reported cost minus the table's price, in US
    /// dollars (positive: the provider billed more than the table says).
    pub reported_minus_priced_usd: f64,
    /// Models the monitor tracks that have no price now, by id.
    pub models_without_price: Vec<String>,
}

/// How the persistent store is doing, in [`Health::persistence`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PersistenceHealth {
    /// The store's file.
    pub path: PathBuf,
    /// Buckets (of every tier) loaded when the monitor was built.
    pub loaded_buckets: u64,
    /// Start of the newest minute bucket loaded; `None` when none was.
    #[serde(
        serialize_with = "crate::alerts::ser_opt_time",
        deserialize_with = "crate::alerts::de_opt_time"
    )]
    pub loaded_through: Option<SystemTime>,
    /// Transactions committed since start.
    pub commits: u64,
    /// Commits that failed; what they held is written again at the next commit.
    pub commit_failures: u64,
    /// Time spent committing, all together (also counted in `Health::tick_time`).
    #[serde(
        serialize_with = "crate::summary::ser_ms",
        deserialize_with = "crate::summary::de_ms"
    )]
    pub commit_time: Duration,
    /// Where a damaged store found at start was moved before starting fresh.
    pub set_aside: Option<PathBuf>,
    /// The last problem: a damaged store, a failed commit, a rule that could not take
    /// its saved state back.
    pub last_error: Option<String>,
}

impl PersistenceHealth {
    #[cfg(feature = "persist")]
    pub(crate) fn new(path: PathBuf) -> Self {
        Self {
            path,
            loaded_buckets: 0,
            loaded_through: None,
            commits: 0,
            commit_failures: 0,
            commit_time: Duration::ZERO,
            set_aside: None,
            last_error: None,
        }
    }
}

/// One rule's panics, in [`Health::rule_panics`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RulePanics {
    /// Panics caught (in `windows`, `policy` or `evaluate`).
    pub panics: u64,
    /// Whether the rule was disabled for panicking too often in a row.
    pub disabled: bool,
    /// The last panic's message.
    pub last_message: String,
}
