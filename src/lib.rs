//! # modelmeter
//!
//! Performance, cost and quality metrics for applications that route requests between
//! AI models. The host calls [`Monitor::record_selection`] once per routed request;
//! modelmeter keeps per-model, per-minute aggregates with HDR latency histograms, rolls
//! them up into hours, days and weeks, and answers [`Monitor::summary`] queries.
//!
//! ```
//! use modelmeter::{ManualClock, Monitor, Selection};
//! use std::time::{Duration, SystemTime};
//!
//! let clock = ManualClock::new(SystemTime::now());
//! let monitor = Monitor::builder().clock(clock.clone()).background(false).build()?;
//! for ms in [120, 340, 95, 2100] {
//!     monitor.record_selection(
//!         &Selection::new("gpt-4o", Duration::from_millis(ms)).cost_usd(0.004).cache_hit(ms < 100),
//!     )?;
//! }
//! clock.advance(Duration::from_secs(60));
//! monitor.tick();
//! let s = monitor.summary(Duration::from_secs(3600));
//! assert_eq!(s.models["gpt-4o"].count, 4);
//! assert_eq!(s.models["gpt-4o"].cache_hit_rate, 0.25);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## The path of an event
//!
//! Each stage is a module, and data flows one way:
//!
//! 1. [`selection`](Selection): the host's report of one request, with its
//!    [`failure`](ErrorKind) kind and, for a streamed answer, its time to first token
//!    (`stream` derives the time per output token); [`feedback`](Feedback) that
//!    arrives later enters here too, for the minute its selection was counted in;
//! 2. `registry`: model id to slot, lock-free, capped at `maxModels`;
//! 3. `accumulate`: per-thread shards of the open minute, dense HDR-compatible buckets;
//! 4. `seal`: finished minutes become stored buckets at each tick;
//! 5. `store`: minute, hour, day and week tiers with retention;
//! 6. `query`: [`Summary`] over any window, from the finest tier covering each part;
//! 7. `rules`: every [`Rule`] judges the windows it asks for ([`ThresholdRule`],
//!    [`AnomalyRule`], or your own);
//! 8. `alerts`: findings become pending, firing and resolved [`Alert`]s, grouped into
//!    [`Incident`]s;
//! 9. `export`: each tick's sealed buckets and alert events go to every [`Exporter`].

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

mod accumulate;
mod aggregate;
pub mod alerts;
mod bands;
mod bucket;
mod builder;
mod calendar;
pub mod clock;
pub mod config;
pub mod cost;
pub mod dimension;
pub mod error;
pub mod export;
pub mod failure;
pub mod feedback;
mod global;
mod hdr;
pub mod health;
pub mod heuristics;
pub mod histogram;
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub mod http;
mod isolate;
pub mod live;
mod monitor;
mod names;
pub mod optimizer;
#[cfg(feature = "persist")]
#[cfg_attr(docsrs, doc(cfg(feature = "persist")))]
pub mod persist;
pub mod pricing;
mod query;
mod registry;
pub mod reports;
pub mod rules;
pub mod scoreboard;
mod seal;
pub mod selection;
pub mod snapshot;
mod store;
mod stream;
pub mod summary;
mod sync;
mod tokens;
#[cfg(feature = "tracing")]
#[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
pub mod tracing_layer;
mod worker;

/// The README's examples, compiled and run as doctests (they include the `metrics`
/// bridge, so they run with `--all-features`, as the README's test command does).
#[cfg(all(doctest, feature = "metrics"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub use alerts::{
    Alert, AlertEvent, AlertEventKind, AlertId, AlertState, Incident, IncidentAlert, IncidentEvent,
    IncidentEventKind, IncidentGroup, IncidentId, ResolvedAlert,
};
pub use bands::{BANDS, BandStats};
pub use bucket::{MinuteBucket, ScoreSum, TimingDistribution};
pub use builder::MonitorBuilder;
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{
    AggregationLevel, Alerting, AnomalySettings, Budget, Config, Cost, DimensionConfig, Direction,
    Kpi, Monitoring, Optimizer, PerformanceMetrics, PriceConfig, Prometheus, Recording, Reporting,
    Schedule, Schedules, ScopedBudget, Thresholds,
};
pub use cost::{
    BudgetEvent, BudgetPeriod, BudgetScope, BudgetStatus, DimensionSpend, ModelCost, Savings,
    ValueSpend,
};
pub use dimension::{DimensionBucket, DimensionValue};
pub use error::{
    ActuatorError, ConfigError, ExportError, RecordError, RejectReason, ReportError, SetGlobalError,
};
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub use export::MetricsExporter;
pub use export::{
    CsvExporter, DURATION_BOUNDS, DimensionCsvExporter, ExportBatch, ExportSettings, Exporter,
    ExporterHealth, ExpositionFormat, JsonLinesExporter, LogExporter, PrometheusFileExporter,
    PrometheusText, SCHEMA_VERSION, TPOT_BOUNDS, TTFT_BOUNDS,
};
#[cfg(feature = "otlp")]
#[cfg_attr(docsrs, doc(cfg(feature = "otlp")))]
pub use export::{OtlpExporter, Temporality};
pub use failure::ErrorKind;
pub use feedback::Feedback;
pub use global::{global, record_selection, set_global};
pub use health::{DimensionHealth, Health, PersistenceHealth, PricingHealth, RulePanics};
pub use heuristics::{
    Action, AnalysisView, CheaperEquivalent, Correlation, ErrorHotspot, Evidence, Heuristic,
    HighCostPerSelection, Level, LowCacheHitRate, Priority, RateLimitHotspot, Recommendation,
    RecommendationKind, Regression, SlowResponses, default_heuristics,
};
pub use histogram::{HistogramSettings, LatencyHistogram, MergeError};
pub use live::{LiveModel, LiveReceiver, LiveSnapshot, LiveStats};
pub use monitor::{ModelHandle, Monitor};
pub use optimizer::{ActionOutcome, Actuator, AppliedAction};
pub use pricing::{Price, Pricing, TokenCounts};
pub use registry::OTHER_MODEL;
pub use reports::{
    Baseline, Bottleneck, ComparisonRow, CostReport, CsvTable, HealthScore, KpiScore,
    ModelComparison, PerformanceReport, ReportAlerts, ReportPeriod, ReportSchedule, Reports,
    ScheduledReport, Trend, TrendPoint, UnpricedModel,
};
pub use rules::{
    AlertPolicy, AnomalyRule, DEFAULT_WINDOW, Finding, Metric, NoDataPolicy, Rule, RuleScope,
    RuleView, Scope, Severity, ThresholdRule, Verdict, default_rules, wilson_interval,
};
pub use scoreboard::{ModelScore, Score, Scoreboard};
pub use selection::{MAX_COST_USD, MAX_MODEL_ID_LEN, Selection};
pub use snapshot::{
    MAX_SNAPSHOT_MODELS, MAX_SNAPSHOT_SPAN, Snapshot, SnapshotError, SnapshotModel,
};
pub use summary::{LatencyStats, ScoreStats, Stats, Summary};
pub use tokens::{TOKEN_BOUNDS, TokenUsage};
#[cfg(feature = "tracing")]
#[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
pub use tracing_layer::TracingLayer;
