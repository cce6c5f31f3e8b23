//! `monitoring.alerting`: how the default rules judge the KPIs.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Metric, ms};
use crate::error::ConfigError;

const MINUTE: Duration = Duration::from_secs(60);

/// Fixed thresholds only, or learned baselines too (`"thresholds": "auto"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Thresholds {
    /// The `performanceMetrics` thresholds as written.
    Static,
    /// The default, as in the reference file: the static thresholds plus an
    /// [`AnomalyRule`](crate::AnomalyRule) per metric in `anomaly.metrics`, learning
    /// each model's baseline.
    #[default]
    Auto,
}

/// `monitoring.alerting.anomaly`: the learned-baseline rules of `"thresholds": "auto"`.
///
/// See [`AnomalyRule`](crate::AnomalyRule) for the method.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct AnomalySettings {
    /// False episodes allowed per rule and model per week of stationary traffic.
    /// Default 0.5: the two default rules add up to at most one per model per week.
    pub false_alarms_per_week: f64,
    /// The smallest relative change worth an alert. Default 0.25 (25%).
    pub min_effect: f64,
    /// How long a shift must last to be accepted as the new normal. Default 6 hours.
    #[serde(with = "ms")]
    pub accept_after: Duration,
    /// Windows' worth of history learned before the rules may fire. Default 12 (an
    /// hour with 5-minute windows).
    pub warmup_windows: u32,
    /// The metrics watched (rates and latency percentiles). Default p95 latency and
    /// error rate.
    pub metrics: Vec<Metric>,
}

impl Default for AnomalySettings {
    fn default() -> Self {
        Self {
            false_alarms_per_week: 0.5,
            min_effect: 0.25,
            accept_after: 6 * 60 * MINUTE,
            warmup_windows: 12,
            metrics: vec![Metric::LatencyP95, Metric::ErrorRate],
        }
    }
}

/// `monitoring.alerting`: switches and timings of the default rule set.
///
/// Durations are milliseconds in the file, like the rest of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct Alerting {
    /// Whether the default KPI rules run. Rules added with
    /// [`MonitorBuilder::rule`](crate::MonitorBuilder::rule) run regardless.
    pub enabled: bool,
    /// Free text from the reference file (`console`, `webhook`, ...); informational:
    /// delivery goes through the configured exporters.
    pub channels: Vec<String>,
    /// `static` or `auto`. Default `auto`, as in the reference file.
    pub thresholds: Thresholds,
    /// The window each KPI is judged over. Default 5 minutes.
    #[serde(with = "ms")]
    pub evaluation_window: Duration,
    /// Selections a window needs before a rule may judge it. Default 20.
    pub min_samples: u64,
    /// How long a breach must hold before the alert fires. Default 2 minutes.
    #[serde(rename = "for", with = "ms")]
    pub for_duration: Duration,
    /// How long an alert keeps firing after the breach clears, so a flapping metric
    /// does not fire and resolve every tick. Default 5 minutes.
    #[serde(with = "ms")]
    pub keep_firing_for: Duration,
    /// How often a firing, unacknowledged alert is announced again. Default 1 hour.
    #[serde(with = "ms")]
    pub renotify_interval: Duration,
    /// How long an incident collects related alerts before it is announced
    /// (Alertmanager's `group_wait`). Default 3 minutes.
    #[serde(with = "ms")]
    pub group_wait: Duration,
    /// Which latency statistic the response-time KPI judges. Default `latency_p95`.
    pub response_time_metric: Metric,
    /// How credible evidence must be, as a z-score: a rate or percentile line is
    /// crossed (or recrossed on the way back) when a metric sitting exactly on the line
    /// would produce the observed count with probability below `Φ(−wilsonZ)` (exact
    /// binomial). Default 3.5 (about 1 in 4,300): rules judge every tick over
    /// overlapping windows, so a 5% level would start and clear an alert on a metric
    /// that sits on its line a dozen times a day. See
    /// [`ThresholdRule`](crate::ThresholdRule).
    pub wilson_z: f64,
    /// Settings of the learned-baseline rules.
    pub anomaly: AnomalySettings,
    /// Panics in a row after which a rule is disabled (each one skips the rule for
    /// its tick and is counted in `Health::rule_panics`). Default 3.
    pub rule_panic_limit: u32,
}

impl Default for Alerting {
    fn default() -> Self {
        Self {
            enabled: true,
            channels: Vec::new(),
            thresholds: Thresholds::Auto,
            evaluation_window: 5 * MINUTE,
            min_samples: 20,
            for_duration: 2 * MINUTE,
            keep_firing_for: 5 * MINUTE,
            renotify_interval: 60 * MINUTE,
            group_wait: 3 * MINUTE,
            response_time_metric: Metric::LatencyP95,
            wilson_z: super::DEFAULT_Z,
            anomaly: AnomalySettings::default(),
            rule_panic_limit: 3,
        }
    }
}

impl Alerting {
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let field = |f: &str| format!("monitoring.alerting.{f}");
        if self.evaluation_window < MINUTE {
            return Err(ConfigError::invalid(
                &field("evaluationWindow"),
                ms::show(self.evaluation_window),
                "must be at least one minute (60000 ms)",
            ));
        }
        if self.rule_panic_limit == 0 {
            return Err(ConfigError::invalid(
                &field("rulePanicLimit"),
                0,
                "must be at least 1",
            ));
        }
        if self.min_samples == 0 {
            return Err(ConfigError::invalid(
                &field("minSamples"),
                0,
                "must be at least 1",
            ));
        }
        if self.group_wait > 60 * MINUTE {
            return Err(ConfigError::invalid(
                &field("groupWait"),
                ms::show(self.group_wait),
                "must be at most an hour (3600000 ms): an incident announced later is news nobody can act on",
            ));
        }
        if self.renotify_interval.is_zero() {
            return Err(ConfigError::invalid(
                &field("renotifyInterval"),
                "0 ms",
                "must be positive",
            ));
        }
        if !self.wilson_z.is_finite() || self.wilson_z < 0.0 {
            return Err(ConfigError::invalid(
                &field("wilsonZ"),
                self.wilson_z,
                "must be a finite number >= 0",
            ));
        }
        let a = &self.anomaly;
        if !a.false_alarms_per_week.is_finite() || a.false_alarms_per_week <= 0.0 {
            return Err(ConfigError::invalid(
                &field("anomaly.falseAlarmsPerWeek"),
                a.false_alarms_per_week,
                "must be a finite number > 0",
            ));
        }
        if !a.min_effect.is_finite() || !(0.0..1.0).contains(&a.min_effect) {
            return Err(ConfigError::invalid(
                &field("anomaly.minEffect"),
                a.min_effect,
                "must be within 0..1",
            ));
        }
        if a.accept_after < self.evaluation_window {
            return Err(ConfigError::invalid(
                &field("anomaly.acceptAfter"),
                ms::show(a.accept_after),
                "must be at least the evaluation window",
            ));
        }
        if let Some(m) = a
            .metrics
            .iter()
            .find(|m| !(m.is_rate() || m.quantile().is_some()))
        {
            return Err(ConfigError::invalid(
                &field("anomaly.metrics"),
                m,
                "anomaly rules judge rates and latency percentiles",
            ));
        }
        if self.anomaly.warmup_windows < 2 {
            return Err(ConfigError::invalid(
                &field("anomaly.warmupWindows"),
                self.anomaly.warmup_windows,
                "must be at least 2: a baseline needs a spread",
            ));
        }
        if !self.response_time_metric.is_latency() {
            return Err(ConfigError::invalid(
                &field("responseTimeMetric"),
                self.response_time_metric,
                "must be a latency metric (mean_latency, latency_p50 ... latency_p99)",
            ));
        }
        Ok(())
    }
}
