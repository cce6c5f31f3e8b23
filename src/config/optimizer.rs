//! `optimizer` and `reporting`: when heuristics run and which reports are scheduled.

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

const HOUR_MS: u64 = 3_600_000;

/// `optimizer`: the schedule and tolerances of the built-in heuristics.
///
/// Durations are in milliseconds, like the rest of the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Optimizer {
    /// Whether the built-in heuristics run. Heuristics added with
    /// [`MonitorBuilder::heuristic`](crate::MonitorBuilder::heuristic) run regardless.
    pub enabled: bool,
    /// How often the heuristics run at a tick (their results go to exporters and the
    /// actuator). Default one hour.
    pub interval: u64,
    /// The window they analyse. Default 24 hours.
    pub window: u64,
    /// After an action of a kind was applied, how long before another of that kind
    /// may be. Default 24 hours.
    pub cooldown: u64,
    /// Fewest selections a model (or a model in a complexity band) needs before a
    /// heuristic judges it. Default 200.
    pub min_samples: u64,
    /// Largest accuracy drop a cheaper model may show and still count as
    /// equivalent. Default 0.02.
    pub accuracy_tolerance: f64,
    /// Largest satisfaction drop, when both models report satisfaction. Default 0.05.
    pub satisfaction_tolerance: f64,
    /// Share of selections above the response-time target past which responses are
    /// "slow". Default 0.10.
    pub slow_share: f64,
    /// How many times the rest of the fleet's error rate makes a model an error
    /// hotspot. Default 2.
    pub error_hotspot_factor: f64,
    /// Smallest growth over the window, as a fraction of the starting level, that a
    /// significant trend must also show to be reported as a regression. Default 0.2.
    pub regression_min_growth: f64,
    /// Smallest |Pearson r| reported as a correlation. Default 0.8.
    pub correlation_min: f64,
}

impl Default for Optimizer {
    fn default() -> Self {
        Self {
            enabled: true,
            interval: HOUR_MS,
            window: 24 * HOUR_MS,
            cooldown: 24 * HOUR_MS,
            min_samples: 200,
            accuracy_tolerance: 0.02,
            satisfaction_tolerance: 0.05,
            slow_share: 0.10,
            error_hotspot_factor: 2.0,
            regression_min_growth: 0.2,
            correlation_min: 0.8,
        }
    }
}

impl Optimizer {
    /// The run interval in nanoseconds (validation bounds it to a year).
    pub(crate) fn interval_nanos(&self) -> u64 {
        self.interval * 1_000_000
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        const YEAR_MS: u64 = 366 * 24 * HOUR_MS;
        for (field, v, min) in [
            ("interval", self.interval, 60_000),
            ("window", self.window, 60_000),
            ("cooldown", self.cooldown, 0),
        ] {
            if v < min || v > YEAR_MS {
                return Err(ConfigError::invalid(
                    &format!("optimizer.{field}"),
                    v,
                    "must be between one minute (60000 ms; cooldown: 0) and one year",
                ));
            }
        }
        for (field, v, hi) in [
            ("accuracyTolerance", self.accuracy_tolerance, 1.0),
            ("satisfactionTolerance", self.satisfaction_tolerance, 1.0),
            ("slowShare", self.slow_share, 1.0),
            ("regressionMinGrowth", self.regression_min_growth, f64::MAX),
            ("correlationMin", self.correlation_min, 1.0),
        ] {
            if !(0.0..=hi).contains(&v) {
                return Err(ConfigError::invalid(
                    &format!("optimizer.{field}"),
                    v,
                    "must be a finite number within 0..=1 (growth: >= 0)",
                ));
            }
        }
        if !(self.error_hotspot_factor >= 1.0 && self.error_hotspot_factor.is_finite()) {
            return Err(ConfigError::invalid(
                "optimizer.errorHotspotFactor",
                self.error_hotspot_factor,
                "must be a finite number >= 1",
            ));
        }
        Ok(())
    }
}

/// `reporting`: scheduled reports (the reference file's `reporting` section).
///
/// A report is built at the first tick after its boundary. If ticks are further apart
/// than a schedule's period (a host ticking by hand every 3 hours), only the latest
/// period's report is sent.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Reporting {
    /// Which periodic reports are built.
    pub schedules: Schedules,
}

/// `reporting.schedules`: the reference file's `hourly`, `daily` and `weekly`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Schedules {
    /// Every hour on the hour (UTC), over the past hour.
    pub hourly: Schedule,
    /// Every UTC midnight, over the past day.
    pub daily: Schedule,
    /// Every Monday 00:00 UTC, over the past week.
    pub weekly: Schedule,
}

/// One schedule. Only `enabled` is read; `recipients`, `metrics` and `format` of the
/// reference file are informational (delivery goes through the exporters, and every
/// report carries all sections).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Schedule {
    /// Whether the report is built. Default `false`: a library sends nothing unasked;
    /// the reference file enables all three.
    pub enabled: bool,
}
