//! `optimizer` and `reporting`: when heuristics run and which reports are scheduled.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::ms;
use crate::error::ConfigError;

const HOUR: Duration = Duration::from_secs(3600);

/// `optimizer`: the schedule and tolerances of the built-in heuristics.
///
/// Durations are milliseconds in the file, like the rest of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct Optimizer {
    /// Whether the built-in heuristics run. Heuristics added with
    /// [`MonitorBuilder::heuristic`](crate::MonitorBuilder::heuristic) run regardless.
    pub enabled: bool,
    /// How often the heuristics run at a tick (their results go to exporters and the
    /// actuator). Default one hour.
    #[serde(with = "ms")]
    pub interval: Duration,
    /// The window they analyse. Default 24 hours.
    #[serde(with = "ms")]
    pub window: Duration,
    /// After an action of a kind was applied, how long before another of that kind
    /// may be. Default 24 hours.
    #[serde(with = "ms")]
    pub cooldown: Duration,
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
    /// Time to first token, in milliseconds, that streamed selections should stay
    /// under: the slow-response heuristic judges mostly-streamed models on it instead
    /// of their total latency. Default 1000.
    pub time_to_first_token_target: f64,
    /// Share of a model's selections refused for rate limits (HTTP 429) past which it
    /// is a rate-limit hotspot, when also `errorHotspotFactor` times the rest of the
    /// fleet's share. Default 0.01.
    pub rate_limit_share: f64,
}

impl Default for Optimizer {
    fn default() -> Self {
        Self {
            enabled: true,
            interval: HOUR,
            window: 24 * HOUR,
            cooldown: 24 * HOUR,
            min_samples: 200,
            accuracy_tolerance: 0.02,
            satisfaction_tolerance: 0.05,
            slow_share: 0.10,
            error_hotspot_factor: 2.0,
            regression_min_growth: 0.2,
            correlation_min: 0.8,
            time_to_first_token_target: 1000.0,
            rate_limit_share: 0.01,
        }
    }
}

impl Optimizer {
    /// The run interval in nanoseconds (validation bounds it to a year).
    pub(crate) fn interval_nanos(&self) -> u64 {
        self.interval.as_nanos() as u64
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        const YEAR: Duration = Duration::from_secs(366 * 24 * 3600);
        const MINUTE: Duration = Duration::from_secs(60);
        for (field, v, min) in [
            ("interval", self.interval, MINUTE),
            ("window", self.window, MINUTE),
            ("cooldown", self.cooldown, Duration::ZERO),
        ] {
            if v < min || v > YEAR {
                return Err(ConfigError::invalid(
                    &format!("optimizer.{field}"),
                    ms::show(v),
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
            ("rateLimitShare", self.rate_limit_share, 1.0),
            (
                "timeToFirstTokenTarget",
                self.time_to_first_token_target,
                f64::MAX,
            ),
        ] {
            if !(0.0..=hi).contains(&v) {
                return Err(ConfigError::invalid(
                    &format!("optimizer.{field}"),
                    v,
                    "must be a finite number within 0..=1 (growth, timeToFirstTokenTarget: >= 0)",
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
#[non_exhaustive]
pub struct Reporting {
    /// Which periodic reports are built.
    pub schedules: Schedules,
}

/// `reporting.schedules`: the reference file's `hourly`, `daily` and `weekly`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
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
#[non_exhaustive]
pub struct Schedule {
    /// Whether the report is built. Default `false`: a library sends nothing unasked;
    /// the reference file enables all three.
    pub enabled: bool,
}
