//! Configuration: every tunable, with the product's reference defaults.
//!
//! [`Config`] reads the JSON shape teams already keep (`performanceMetrics` and
//! `monitoring`, see `reference-config.json`): unknown keys are ignored, a wrong type or
//! an impossible value is a [`ConfigError`] naming the field. modelmeter's own settings
//! live under `recording`, in the same camelCase style. Durations are whole milliseconds
//! in the file and [`Duration`]s in Rust.
//!
//! ```
//! use modelmeter::Config;
//!
//! let config = Config::from_json_str(r#"{
//!     "performanceMetrics": {
//!         "responseTime": { "target": 1500, "warning": 2500, "critical": 4000, "unit": "milliseconds" }
//!     },
//!     "monitoring": { "updateInterval": 1000 },
//!     "recording": { "maxModels": 200 }
//! }"#).unwrap();
//! assert_eq!(config.performance_metrics.response_time.warning, 2500.0);
//! assert_eq!(config.performance_metrics.error_rate.critical, 0.10); // default kept
//! assert_eq!(config.recording.max_models, 200);
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

mod alerting;
mod dimension;
mod export;
mod metric;
mod optimizer;
pub use alerting::{Alerting, AnomalySettings, Thresholds};
pub use dimension::{DimensionConfig, ScopedBudget};
pub use export::ExportSettings;
pub use metric::Metric;
pub use optimizer::{Optimizer, Reporting, Schedule, Schedules};

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(86_400);

/// The default z-score of credible evidence (`monitoring.alerting.wilsonZ`).
pub(crate) const DEFAULT_Z: f64 = 3.5;

/// Durations as whole milliseconds, the unit of the reference file: serde's `with`
/// module for every `Duration` in the configuration.
pub(crate) mod ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }

    /// A duration as an error message names it: `5000 ms`.
    pub(crate) fn show(d: Duration) -> String {
        format!("{} ms", d.as_millis())
    }
}

/// Everything a [`Monitor`](crate::Monitor) can be tuned with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct Config {
    /// KPI thresholds (`performanceMetrics` in the reference file).
    pub performance_metrics: PerformanceMetrics,
    /// Tick interval, retention and tiers (`monitoring`).
    pub monitoring: Monitoring,
    /// modelmeter's own recording settings (`recording`).
    pub recording: Recording,
    /// Cost analysis settings (`cost`).
    pub cost: Cost,
    /// Default delivery settings of exporters (`export`).
    pub export: ExportSettings,
    /// Heuristic schedule and tolerances (`optimizer`).
    pub optimizer: Optimizer,
    /// Scheduled reports (`reporting`).
    pub reporting: Reporting,
    /// The Prometheus exposition (`prometheus`).
    pub prometheus: Prometheus,
}

/// `prometheus`: what [`Monitor::render_metrics`](crate::Monitor::render_metrics)
/// exposes beyond the default families.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct Prometheus {
    /// Also expose `modelmeter_latency_seconds`, a summary of per-instance 5-minute
    /// quantiles. Off by default: quantiles cannot be aggregated across instances; the
    /// `gen_ai_client_operation_duration_seconds` histogram can.
    pub latency_summary: bool,
}

/// `cost`: how spend is judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct Cost {
    /// The model cost efficiency is measured against (see
    /// [`Stats::cost_efficiency`](crate::Stats::cost_efficiency)); by default the model
    /// with the highest mean cost per selection in the window.
    pub reference_model: Option<String>,
    /// Mean cost per selection, in US dollars, above which a model's spend is flagged
    /// by the high-cost heuristic. Default 0.05.
    pub max_cost_per_selection: f64,
    /// Spending limits (`cost.budget`); none by default.
    pub budget: Budget,
    /// Prices per model (`cost.prices`), each model's list by effective date: a
    /// selection that reports tokens and no cost is priced from them (see
    /// [`Pricing`](crate::Pricing)); a table given to
    /// [`MonitorBuilder::pricing`](crate::MonitorBuilder::pricing) replaces the models
    /// it names. None by default.
    ///
    /// ```json
    /// "cost": { "prices": { "gpt-4o": [
    ///     { "inputPerMillion": 2.5, "outputPerMillion": 10, "cachedInputPerMillion": 1.25 },
    ///     { "inputPerMillion": 2.0, "outputPerMillion": 8, "effectiveFrom": "2027-01-01T00:00:00Z" }
    /// ] } }
    /// ```
    pub prices: BTreeMap<String, Vec<PriceConfig>>,
}

impl Default for Cost {
    fn default() -> Self {
        Self {
            reference_model: None,
            max_cost_per_selection: 0.05,
            budget: Budget::default(),
            prices: BTreeMap::new(),
        }
    }
}

/// One price of `cost.prices`, in US dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct PriceConfig {
    /// Per million input tokens.
    pub input_per_million: f64,
    /// Per million output tokens.
    pub output_per_million: f64,
    /// Per million cached input tokens; the input price when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_input_per_million: Option<f64>,
    /// Per million reasoning tokens; the output price when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_per_million: Option<f64>,
    /// When the price took effect (RFC 3339); always, when absent.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_rfc3339",
        deserialize_with = "de_rfc3339"
    )]
    pub effective_from: Option<std::time::SystemTime>,
}

fn ser_rfc3339<S: serde::Serializer>(
    t: &Option<std::time::SystemTime>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&crate::calendar::rfc3339_time(*t)),
        None => s.serialize_none(),
    }
}

fn de_rfc3339<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<std::time::SystemTime>, D::Error> {
    let Some(text) = Option::<String>::deserialize(d)? else {
        return Ok(None);
    };
    let ms = crate::calendar::parse_rfc3339(&text).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "{text:?} is not a UTC time such as \"2027-01-01T00:00:00Z\""
        ))
    })?;
    Ok(Some(crate::clock::from_unix_nanos(ms * 1_000_000)))
}

impl From<PriceConfig> for crate::pricing::Price {
    fn from(p: PriceConfig) -> Self {
        let mut price = Self::new(p.input_per_million, p.output_per_million);
        price.cached_input_per_million = p.cached_input_per_million;
        price.reasoning_per_million = p.reasoning_per_million;
        price.effective_from = p.effective_from;
        price
    }
}

/// `cost.budget`: optional spending limits in US dollars, per UTC day and per UTC
/// calendar month.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct Budget {
    /// Limit per UTC day.
    pub daily_usd: Option<f64>,
    /// Limit per UTC calendar month. With it set, day buckets are kept for at least
    /// 31 days whatever `monitoring.retentionPeriod` says, so the month's spend is
    /// always read whole.
    pub monthly_usd: Option<f64>,
    /// Budgets of one dimension value each (a team, an API key, a feature), with the
    /// same projections and 85/95/100% events as the fleet's.
    pub scoped: Vec<ScopedBudget>,
}

impl Budget {
    /// Whether any budget, fleet or scoped, is monthly: day buckets must then cover a
    /// whole month.
    pub(crate) fn any_monthly(&self) -> bool {
        self.monthly_usd.is_some() || self.scoped.iter().any(|b| b.monthly_usd.is_some())
    }
}

impl Cost {
    fn validate(&self) -> Result<(), ConfigError> {
        let positive = |field: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(ConfigError::invalid(
                    field,
                    v,
                    "must be a finite number > 0",
                ))
            }
        };
        positive("cost.maxCostPerSelection", self.max_cost_per_selection)?;
        if let Some(v) = self.budget.daily_usd {
            positive("cost.budget.dailyUsd", v)?;
        }
        if let Some(v) = self.budget.monthly_usd {
            positive("cost.budget.monthlyUsd", v)?;
        }
        for (i, b) in self.budget.scoped.iter().enumerate() {
            let field = |f: &str| format!("cost.budget.scoped[{i}].{f}");
            if b.daily_usd.is_none() && b.monthly_usd.is_none() {
                return Err(ConfigError::invalid(
                    &field("dailyUsd"),
                    "null",
                    "a scoped budget needs dailyUsd, monthlyUsd or both",
                ));
            }
            if let Some(v) = b.daily_usd {
                positive(&field("dailyUsd"), v)?;
            }
            if let Some(v) = b.monthly_usd {
                positive(&field("monthlyUsd"), v)?;
            }
            let same = |o: &ScopedBudget| o.dimension == b.dimension && o.value == b.value;
            if self.budget.scoped[..i].iter().any(same) {
                return Err(ConfigError::invalid(
                    &field("value"),
                    format!("{}={}", b.dimension, b.value),
                    "has a budget already; give one entry both limits",
                ));
            }
            if b.value.is_empty() || b.value.len() > crate::dimension::MAX_VALUE_LEN {
                return Err(ConfigError::invalid(
                    &field("value"),
                    format!("{:?}", b.value),
                    "must be 1 to 128 bytes",
                ));
            }
        }
        self.pricing().map(|_| ())
    }

    /// `cost.prices` as a price table.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] naming `cost.prices.<model>` and the bad value.
    pub fn pricing(&self) -> Result<crate::pricing::Pricing, ConfigError> {
        let mut table = crate::pricing::Pricing::new();
        for (model, prices) in &self.prices {
            for p in prices {
                table = table.with_price(model, (*p).into()).map_err(|e| {
                    let value = match &e {
                        crate::pricing::PricingError::InvalidPrice { value, .. } => {
                            value.to_string()
                        }
                        _ => format!("{p:?}"),
                    };
                    ConfigError::invalid(&format!("cost.prices.{model}"), value, &e.to_string())
                })?;
            }
        }
        Ok(table)
    }
}

impl Config {
    /// Parses and validates a configuration in the reference JSON shape.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Parse`] for malformed JSON or a wrong type, with the field's dotted
    /// path; [`ConfigError::Invalid`] for a value out of range.
    pub fn from_json_str(json: &str) -> Result<Self, ConfigError> {
        let de = &mut serde_json::Deserializer::from_str(json);
        let config: Config = serde_path_to_error::deserialize(de).map_err(|e| {
            let field = e.path().to_string();
            ConfigError::Parse {
                field: if field == "." {
                    "(root)".to_owned()
                } else {
                    field
                },
                message: e.inner().to_string(),
            }
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Reads, parses and validates a configuration file.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Io`] when the file cannot be read, otherwise as
    /// [`from_json_str`](Self::from_json_str).
    pub fn from_json_file(path: impl AsRef<std::path::Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Self::from_json_str(&text)
    }

    /// Checks every value; [`MonitorBuilder::build`](crate::MonitorBuilder::build) calls it.
    ///
    /// # Errors
    ///
    /// The first [`ConfigError::Invalid`] found, naming its field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.performance_metrics.validate()?;
        self.monitoring.validate()?;
        self.export.validate()?;
        self.cost.validate()?;
        self.optimizer.validate()?;
        self.recording.validate()
    }

    /// Whether `key` is a built-in dimension or a declared one.
    pub(crate) fn keeps_dimension(&self, key: &str) -> bool {
        crate::dimension::BUILT_IN.contains(&key)
            || self.recording.dimensions.iter().any(|d| d.key == key)
    }

    /// Checks that every scoped budget names a dimension the monitor keeps: a built-in
    /// one or one declared (in the configuration or with
    /// [`MonitorBuilder::dimension`](crate::MonitorBuilder::dimension), merged in before
    /// this runs at build).
    pub(crate) fn check_budget_dimensions(&self) -> Result<(), ConfigError> {
        for (i, b) in self.cost.budget.scoped.iter().enumerate() {
            let known = crate::dimension::BUILT_IN.contains(&b.dimension.as_str())
                || self
                    .recording
                    .dimensions
                    .iter()
                    .any(|d| d.key == b.dimension);
            if !known {
                return Err(ConfigError::invalid(
                    &format!("cost.budget.scoped[{i}].dimension"),
                    format!("{:?}", b.dimension),
                    "is neither a built-in dimension nor a declared one",
                ));
            }
        }
        Ok(())
    }
}

/// Which way a KPI gets worse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Larger values are worse (latency, error rate).
    HigherIsWorse,
    /// Smaller values are worse (accuracy, cache hit rate).
    LowerIsWorse,
}

/// One KPI's thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Kpi {
    /// Where the KPI should be.
    pub target: f64,
    /// Past this, a warning.
    pub warning: f64,
    /// Past this, critical.
    pub critical: f64,
    /// Free text from the file (`milliseconds`, `ratio`); informational.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

impl Kpi {
    fn new(target: f64, warning: f64, critical: f64, unit: &str) -> Self {
        Self {
            target,
            warning,
            critical,
            unit: Some(unit.to_owned()),
        }
    }

    fn validate(&self, name: &str, direction: Direction, ratio: bool) -> Result<(), ConfigError> {
        for (field, v) in [
            ("target", self.target),
            ("warning", self.warning),
            ("critical", self.critical),
        ] {
            let path = format!("performanceMetrics.{name}.{field}");
            if !v.is_finite() || v < 0.0 {
                return Err(ConfigError::invalid(
                    &path,
                    v,
                    "must be a finite number >= 0",
                ));
            }
            if ratio && v > 1.0 {
                return Err(ConfigError::invalid(
                    &path,
                    v,
                    "must be a ratio within 0..=1",
                ));
            }
        }
        let ordered = match direction {
            Direction::HigherIsWorse => {
                self.target <= self.warning && self.warning <= self.critical
            }
            Direction::LowerIsWorse => self.target >= self.warning && self.warning >= self.critical,
        };
        if !ordered {
            let expect = match direction {
                Direction::HigherIsWorse => {
                    "higher is worse here: need target <= warning <= critical"
                }
                Direction::LowerIsWorse => {
                    "lower is worse here: need target >= warning >= critical"
                }
            };
            return Err(ConfigError::invalid(
                &format!("performanceMetrics.{name}.warning"),
                format!(
                    "{} (target {}, critical {})",
                    self.warning, self.target, self.critical
                ),
                expect,
            ));
        }
        Ok(())
    }
}

/// The five product KPIs (`performanceMetrics`). An unknown KPI name is an error: a
/// misspelt KPI would otherwise silently keep its default thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
#[non_exhaustive]
pub struct PerformanceMetrics {
    /// Response time in milliseconds; higher is worse. Default 2000 / 3000 / 5000.
    pub response_time: Kpi,
    /// Share of selections that picked the right model; lower is worse. Default 0.95 / 0.90 / 0.85.
    pub selection_accuracy: Kpi,
    /// Share of selections served from cache; lower is worse. Default 0.90 / 0.80 / 0.70.
    pub cache_hit_rate: Kpi,
    /// Share of spend avoided against the reference model; lower is worse. Default 0.80 / 0.70 / 0.60.
    pub cost_efficiency: Kpi,
    /// Share of failed selections; higher is worse. Default 0.02 / 0.05 / 0.10.
    pub error_rate: Kpi,
}

impl Default for PerformanceMetrics {
    fn default() -> Self {
        Self {
            response_time: Kpi::new(2000.0, 3000.0, 5000.0, "milliseconds"),
            selection_accuracy: Kpi::new(0.95, 0.90, 0.85, "ratio"),
            cache_hit_rate: Kpi::new(0.90, 0.80, 0.70, "ratio"),
            cost_efficiency: Kpi::new(0.80, 0.70, 0.60, "ratio"),
            error_rate: Kpi::new(0.02, 0.05, 0.10, "ratio"),
        }
    }
}

impl PerformanceMetrics {
    fn validate(&self) -> Result<(), ConfigError> {
        use Direction::*;
        self.response_time
            .validate("responseTime", HigherIsWorse, false)?;
        self.selection_accuracy
            .validate("selectionAccuracy", LowerIsWorse, true)?;
        self.cache_hit_rate
            .validate("cacheHitRate", LowerIsWorse, true)?;
        self.cost_efficiency
            .validate("costEfficiency", LowerIsWorse, true)?;
        self.error_rate.validate("errorRate", HigherIsWorse, true)
    }
}

/// A roll-up tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AggregationLevel {
    /// One bucket per minute; always kept, sealing produces it.
    Minute,
    /// One bucket per hour.
    Hour,
    /// One bucket per UTC day.
    Day,
    /// One bucket per ISO week (Monday 00:00 UTC).
    Week,
}

/// `monitoring`: how often the monitor works and how long it remembers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct Monitoring {
    /// Whether recording is on at all; when false, `record_selection` is a no-op.
    pub enabled: bool,
    /// Background tick interval. Default 5 s.
    #[serde(with = "ms")]
    pub update_interval: Duration,
    /// How often the worker refreshes the [scoreboard](crate::scoreboard) between
    /// ticks, and how often the HTTP endpoint's live dashboard (`/api/v1/live`) sends
    /// a snapshot; both read the open minute, so they need no tick. Default 1 s.
    #[serde(with = "ms")]
    pub live_interval: Duration,
    /// How far back history reaches: the retention of the day and week tiers.
    /// Default 30 days.
    #[serde(with = "ms")]
    pub retention_period: Duration,
    /// Which tiers to keep. `minute` is required. Default all four.
    pub aggregation_levels: Vec<AggregationLevel>,
    /// The default KPI rules (`alerting`).
    pub alerting: Alerting,
}

impl Default for Monitoring {
    fn default() -> Self {
        Self {
            enabled: true,
            update_interval: Duration::from_secs(5),
            live_interval: Duration::from_secs(1),
            retention_period: 30 * DAY,
            aggregation_levels: vec![
                AggregationLevel::Minute,
                AggregationLevel::Hour,
                AggregationLevel::Day,
                AggregationLevel::Week,
            ],
            alerting: Alerting::default(),
        }
    }
}

impl Monitoring {
    fn validate(&self) -> Result<(), ConfigError> {
        for (key, d) in [
            ("monitoring.updateInterval", self.update_interval),
            ("monitoring.liveInterval", self.live_interval),
        ] {
            if d < Duration::from_millis(1) || d > HOUR {
                return Err(ConfigError::invalid(
                    key,
                    ms::show(d),
                    "must be between 1 and 3600000 milliseconds",
                ));
            }
        }
        if self.retention_period < HOUR {
            return Err(ConfigError::invalid(
                "monitoring.retentionPeriod",
                ms::show(self.retention_period),
                "must be at least one hour (3600000 ms)",
            ));
        }
        let levels = &self.aggregation_levels;
        if !levels.contains(&AggregationLevel::Minute) {
            return Err(ConfigError::invalid(
                "monitoring.aggregationLevels",
                serde_json::to_string(levels).unwrap_or_default(),
                "must include \"minute\": sealing produces minute buckets",
            ));
        }
        self.alerting.validate()
    }
}

/// `recording`: modelmeter's own settings for the hot path and the tiers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct Recording {
    /// Distinct model ids tracked before new ids go to the `__other__` slot. Default 1000.
    pub max_models: usize,
    /// Lowest latency the histograms discern, in microseconds. Default 1.
    pub latency_low_micros: u64,
    /// Highest latency tracked, in microseconds; longer ones saturate. Default one hour.
    pub latency_high_micros: u64,
    /// Significant decimal digits of latency (0 to 5). Default 2 (1% relative error).
    ///
    /// Memory grows tenfold per digit: each open minute of a model holds one 4-byte
    /// counter per bucket in every writer shard that recorded it. Over the default
    /// range (1 µs to 1 h) that is 3,328 buckets (13 KiB) at 2 digits, 23,552 (92 KiB)
    /// at 3 and 311,296 (1.2 MiB) at 4; 5 digits exceed the 2¹⁹-bucket cap there and
    /// are refused. Sealed buckets stay sparse whatever the precision.
    pub latency_significant_digits: u8,
    /// How long after a minute ends the tick waits before sealing it, so that events
    /// stamped just before the edge arrive first. Default 2 s.
    #[serde(with = "ms")]
    pub seal_grace: Duration,
    /// How long minute buckets are kept; also how late an event with an explicit time
    /// may arrive. Default 6 hours.
    #[serde(with = "ms")]
    pub minute_retention: Duration,
    /// How long hour buckets are kept. Default 2 days: 24-hour windows are served from
    /// hours, longer ones from days.
    #[serde(with = "ms")]
    pub hour_retention: Duration,
    /// Writer shards per model; 0 picks the number of CPUs (rounded up to a power of
    /// two, at most 64). Default 0.
    pub shards: usize,
    /// Keys selections are broken down by beside the model, each with its cap on
    /// distinct values (see [`crate::dimension`]). Default: none declared; `provider`,
    /// `operation` and `requested_model` exist anyway with their default caps.
    pub dimensions: Vec<DimensionConfig>,
}

impl Default for Recording {
    fn default() -> Self {
        Self {
            max_models: 1000,
            latency_low_micros: 1,
            latency_high_micros: 3_600_000_000,
            latency_significant_digits: 2,
            seal_grace: Duration::from_secs(2),
            minute_retention: 6 * HOUR,
            hour_retention: 2 * DAY,
            shards: 0,
            dimensions: Vec::new(),
        }
    }
}

impl Recording {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.max_models == 0 || self.max_models > 1_000_000 {
            return Err(ConfigError::invalid(
                "recording.maxModels",
                self.max_models,
                "must be 1..=1000000",
            ));
        }
        crate::hdr::BucketLayout::new(
            self.latency_low_micros,
            self.latency_high_micros,
            self.latency_significant_digits,
        )?;
        if self.seal_grace >= MINUTE {
            return Err(ConfigError::invalid(
                "recording.sealGrace",
                ms::show(self.seal_grace),
                "must be below 60000 ms",
            ));
        }
        if self.minute_retention < 2 * MINUTE {
            return Err(ConfigError::invalid(
                "recording.minuteRetention",
                ms::show(self.minute_retention),
                "must be at least two minutes (120000 ms)",
            ));
        }
        if self.hour_retention < self.minute_retention {
            return Err(ConfigError::invalid(
                "recording.hourRetention",
                ms::show(self.hour_retention),
                "must be at least recording.minuteRetention",
            ));
        }
        if self.shards > 1024 {
            return Err(ConfigError::invalid(
                "recording.shards",
                self.shards,
                "must be 0 (auto) or 1..=1024",
            ));
        }
        dimension::validate(&self.dimensions)
    }

    /// The number of writer shards in effect (a power of two).
    pub fn effective_shards(&self) -> usize {
        let n = if self.shards == 0 {
            std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .min(64)
        } else {
            self.shards
        };
        n.next_power_of_two()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REFERENCE: &str = include_str!("../../tests/data/reference-config.json");

    #[test]
    fn reference_file_loads_as_is() {
        let c = Config::from_json_str(REFERENCE).unwrap();
        assert_eq!(c.performance_metrics, PerformanceMetrics::default());
        assert_eq!(c.monitoring.update_interval, Duration::from_secs(5));
        assert_eq!(c.monitoring.retention_period, 30 * DAY);
        // And writes milliseconds back.
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["monitoring"]["updateInterval"], 5000);
        assert_eq!(json["monitoring"]["alerting"]["for"], 120_000);
        assert_eq!(c.monitoring.aggregation_levels.len(), 4);
    }

    #[test]
    fn default_equals_reference() {
        let mut c = Config::from_json_str(REFERENCE).unwrap();
        assert_eq!(c.performance_metrics, Config::default().performance_metrics);
        // Channels are informational; everything else is the default.
        assert_eq!(
            c.monitoring.alerting.channels,
            ["console", "webhook", "dashboard"]
        );
        c.monitoring.alerting.channels.clear();
        assert_eq!(c.monitoring, Config::default().monitoring);
    }

    #[test]
    fn wrong_type_names_the_field() {
        let err = Config::from_json_str(r#"{"monitoring":{"updateInterval":"fast"}}"#).unwrap_err();
        match err {
            ConfigError::Parse { field, message } => {
                assert_eq!(field, "monitoring.updateInterval");
                assert!(message.contains("fast"), "{message}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn bad_values_name_the_field_and_value() {
        let cases = [
            (
                r#"{"monitoring":{"updateInterval":0}}"#,
                "monitoring.updateInterval",
            ),
            (
                r#"{"monitoring":{"aggregationLevels":["hour"]}}"#,
                "monitoring.aggregationLevels",
            ),
            (
                r#"{"performanceMetrics":{"errorRate":{"target":0.02,"warning":0.2,"critical":0.1}}}"#,
                "performanceMetrics.errorRate.warning",
            ),
            (
                r#"{"performanceMetrics":{"cacheHitRate":{"target":0.9,"warning":0.95,"critical":0.7}}}"#,
                "performanceMetrics.cacheHitRate.warning",
            ),
            (
                r#"{"performanceMetrics":{"selectionAccuracy":{"target":1.5,"warning":0.9,"critical":0.8}}}"#,
                "performanceMetrics.selectionAccuracy.target",
            ),
            (r#"{"recording":{"maxModels":0}}"#, "recording.maxModels"),
            (
                r#"{"recording":{"sealGrace":60000}}"#,
                "recording.sealGrace",
            ),
        ];
        for (json, field) in cases {
            match Config::from_json_str(json) {
                Err(ConfigError::Invalid { field: f, .. }) => assert_eq!(f, field, "{json}"),
                other => panic!("{json}: {other:?}"),
            }
        }
    }

    #[test]
    fn alerting_errors_name_the_field() {
        let parse = [
            (
                r#"{"performanceMetrics":{"latency":{"target":1,"warning":2,"critical":3}}}"#,
                "performanceMetrics",
            ),
            (
                r#"{"monitoring":{"alerting":{"evaluationWindow":-300000}}}"#,
                "monitoring.alerting.evaluationWindow",
            ),
            (
                r#"{"monitoring":{"alerting":{"thresholds":"magic"}}}"#,
                "monitoring.alerting.thresholds",
            ),
        ];
        for (json, field) in parse {
            match Config::from_json_str(json) {
                Err(ConfigError::Parse { field: f, message }) => {
                    assert!(f.starts_with(field), "{json}: {f}: {message}")
                }
                other => panic!("{json}: {other:?}"),
            }
        }
        let invalid = [
            (
                r#"{"monitoring":{"alerting":{"evaluationWindow":1000}}}"#,
                "monitoring.alerting.evaluationWindow",
            ),
            (
                r#"{"monitoring":{"alerting":{"minSamples":0}}}"#,
                "monitoring.alerting.minSamples",
            ),
            (
                r#"{"monitoring":{"alerting":{"anomaly":{"falseAlarmsPerWeek":0}}}}"#,
                "monitoring.alerting.anomaly.falseAlarmsPerWeek",
            ),
            (
                r#"{"monitoring":{"alerting":{"responseTimeMetric":"error_rate"}}}"#,
                "monitoring.alerting.responseTimeMetric",
            ),
            (
                r#"{"performanceMetrics":{"responseTime":{"target":2000,"warning":6000,"critical":5000}}}"#,
                "performanceMetrics.responseTime.warning",
            ),
        ];
        for (json, field) in invalid {
            match Config::from_json_str(json) {
                Err(ConfigError::Invalid { field: f, .. }) => assert_eq!(f, field, "{json}"),
                other => panic!("{json}: {other:?}"),
            }
        }
    }

    #[test]
    fn unknown_level_is_a_parse_error() {
        let err =
            Config::from_json_str(r#"{"monitoring":{"aggregationLevels":["minute","year"]}}"#);
        assert!(
            matches!(err, Err(ConfigError::Parse { field, .. }) if field.starts_with("monitoring.aggregationLevels"))
        );
    }

    #[test]
    fn histogram_bounds_are_checked() {
        let err = Config::from_json_str(r#"{"recording":{"latencyLowMicros":0}}"#);
        assert!(matches!(err, Err(ConfigError::Histogram { low: 0, .. })));
    }
}
