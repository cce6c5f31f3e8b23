//! [`ThresholdRule`]: fixed warning and critical lines on one metric.

use std::time::Duration;

use crate::config::Direction;
use crate::error::ConfigError;
use crate::summary::Stats;

use super::{AlertPolicy, DEFAULT_WINDOW, Finding, Metric, Rule, RuleView, Scope, Severity};

/// Which scopes a rule judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleScope {
    /// All models together only.
    Overall,
    /// Each model on its own only.
    PerModel,
    /// Both.
    Both,
}

/// Fires when a metric crosses a warning or a critical line.
///
/// ## Method
///
/// Over the rule's window (default 5 minutes, including the open minute), for each
/// scope with at least `min_samples` selections carrying the metric (default 20):
///
/// - **Rates** (error rate, cache hit rate, selection accuracy, satisfaction) are
///   judged on the Wilson score interval of the observed proportion at z-score
///   `wilson_z` (default 1.645, one-sided 95%): a rate where higher is worse breaches a
///   line only when the interval's *lower* bound is beyond it, and one where lower is
///   worse only when the *upper* bound is. Two errors in thirty selections (6.7%
///   observed, lower bound 2.2%) do not breach a 5% line; 20% errors over 500
///   selections (lower bound 17%) breach the 10% critical line.
/// - **Everything else** (latencies, cost, cost efficiency, throughput) is judged on
///   the point value.
///
/// Below `min_samples` the scope reports no data. The alert lifecycle then applies
/// the rule's [`AlertPolicy`]: the breach must hold for `for_duration` (default 2
/// minutes) before it fires.
///
/// ```
/// use modelmeter::{Metric, ThresholdRule, RuleScope};
/// use std::time::Duration;
///
/// // Warn when a model's p95 passes 3 s for two minutes, critical past 5 s.
/// let rule = ThresholdRule::new("gpt4o_p95", Metric::LatencyP95, 3000.0, 5000.0)
///     .scope(RuleScope::PerModel)
///     .for_duration(Duration::from_secs(120));
/// ```
#[derive(Debug, Clone)]
pub struct ThresholdRule {
    id: String,
    metric: Metric,
    direction: Direction,
    target: Option<f64>,
    warning: f64,
    critical: f64,
    window: Duration,
    min_samples: u64,
    wilson_z: f64,
    scope: RuleScope,
    policy: AlertPolicy,
}

impl ThresholdRule {
    /// A rule on `metric` with the given lines, in the metric's units (milliseconds
    /// for latencies), in the metric's default direction, judged per model.
    pub fn new(id: impl Into<String>, metric: Metric, warning: f64, critical: f64) -> Self {
        Self {
            id: id.into(),
            metric,
            direction: metric.default_direction(),
            target: None,
            warning,
            critical,
            window: DEFAULT_WINDOW,
            min_samples: 20,
            wilson_z: 1.645,
            scope: RuleScope::PerModel,
            policy: AlertPolicy::default(),
        }
    }

    /// Which way the metric gets worse (default: the metric's own).
    pub fn direction(mut self, direction: Direction) -> Self {
        self.direction = direction;
        self
    }

    /// Where the metric should be; informational, quoted in messages.
    pub fn target(mut self, target: f64) -> Self {
        self.target = Some(target);
        self
    }

    /// The evaluation window (default 5 minutes).
    pub fn window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// Selections needed before the rule judges a scope (default 20).
    pub fn min_samples(mut self, n: u64) -> Self {
        self.min_samples = n;
        self
    }

    /// The z-score of the Wilson bound on rates (default 1.645); 0 judges the point value.
    pub fn wilson_z(mut self, z: f64) -> Self {
        self.wilson_z = z;
        self
    }

    /// Which scopes to judge (default per model).
    pub fn scope(mut self, scope: RuleScope) -> Self {
        self.scope = scope;
        self
    }

    /// The whole alert timing at once.
    pub fn policy(mut self, policy: AlertPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// How long a breach must hold before firing (default 2 minutes).
    pub fn for_duration(mut self, d: Duration) -> Self {
        self.policy.for_duration = d;
        self
    }

    /// How long an alert keeps firing after recovery (default 5 minutes).
    pub fn keep_firing_for(mut self, d: Duration) -> Self {
        self.policy.keep_firing_for = d;
        self
    }

    /// How often a firing alert is announced again (default 1 hour).
    pub fn renotify_every(mut self, d: Duration) -> Self {
        self.policy.renotify_interval = d;
        self
    }

    /// What no data does (default keep state).
    pub fn no_data(mut self, policy: super::NoDataPolicy) -> Self {
        self.policy.no_data = policy;
        self
    }

    /// Whether `v` is beyond `line` in the bad direction.
    fn beyond(&self, v: f64, line: f64) -> bool {
        match self.direction {
            Direction::HigherIsWorse => v > line,
            Direction::LowerIsWorse => v < line,
        }
    }

    fn judge(&self, scope: Scope, stats: &Stats) -> Finding {
        let samples = self.metric.samples(stats);
        let Some(value) = self.metric.value(stats) else {
            return Finding::no_data(scope, format!("no {}", self.metric.label()));
        };
        if samples < self.min_samples {
            return Finding::no_data(
                scope,
                format!("{samples} samples, {} needed", self.min_samples),
            );
        }
        // The value that must be beyond the line: the point value, or for rates the
        // Wilson bound nearest to the line (the most charitable plausible rate).
        let judged = if self.metric.is_rate() && self.wilson_z > 0.0 {
            let (lo, hi) = super::wilson_interval(value, samples, self.wilson_z);
            match self.direction {
                Direction::HigherIsWorse => lo,
                Direction::LowerIsWorse => hi,
            }
        } else {
            value
        };
        let severity = if self.beyond(judged, self.critical) {
            Severity::Critical
        } else if self.beyond(judged, self.warning) {
            Severity::Warning
        } else {
            return Finding::ok(scope, value);
        };
        let line = match severity {
            Severity::Critical => self.critical,
            Severity::Warning => self.warning,
        };
        let m = self.metric;
        let target = self
            .target
            .map(|t| format!(", target {}", m.format(t)))
            .unwrap_or_default();
        let message = format!(
            "{scope}: {} {} over {} selections is past the {severity:?} line {}{target}",
            m.label(),
            m.format(value),
            samples,
            m.format(line),
        );
        Finding::breach(scope, severity, value, line, message)
    }
}

impl Rule for ThresholdRule {
    fn id(&self) -> &str {
        &self.id
    }

    fn windows(&self) -> Vec<Duration> {
        vec![self.window]
    }

    fn policy(&self) -> AlertPolicy {
        self.policy
    }

    fn evaluate(&mut self, view: &RuleView<'_>) -> Vec<Finding> {
        let mut out = Vec::new();
        if matches!(self.scope, RuleScope::Overall | RuleScope::Both) {
            if let Some(s) = view.overall(self.window).filter(|s| s.count > 0) {
                out.push(self.judge(Scope::Overall, s));
            }
        }
        if matches!(self.scope, RuleScope::PerModel | RuleScope::Both) {
            for (model, s) in view.models(self.window) {
                out.push(self.judge(Scope::model(model), s));
            }
        }
        out
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let field = |f: &str| format!("rules.{}.{f}", self.id);
        for (name, v) in [("warning", self.warning), ("critical", self.critical)] {
            if !v.is_finite() {
                return Err(ConfigError::invalid(&field(name), v, "must be finite"));
            }
        }
        let ordered = match self.direction {
            Direction::HigherIsWorse => self.warning <= self.critical,
            Direction::LowerIsWorse => self.warning >= self.critical,
        };
        if !ordered {
            return Err(ConfigError::invalid(
                &field("warning"),
                format!("{} (critical {})", self.warning, self.critical),
                "warning must not be beyond critical in the direction that is worse",
            ));
        }
        if self.window < Duration::from_secs(60) {
            return Err(ConfigError::invalid(
                &field("window"),
                format!("{:?}", self.window),
                "must be at least one minute",
            ));
        }
        if !self.wilson_z.is_finite() || self.wilson_z < 0.0 {
            return Err(ConfigError::invalid(
                &field("wilson_z"),
                self.wilson_z,
                "must be finite and >= 0",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Verdict;

    fn stats(count: u64, errors: u64) -> Stats {
        Stats {
            count,
            errors,
            error_rate: errors as f64 / count as f64,
            ..Stats::default()
        }
    }

    #[test]
    fn rates_need_credible_breaches() {
        let r = ThresholdRule::new("e", Metric::ErrorRate, 0.05, 0.10);
        let quiet = r.judge(Scope::Overall, &stats(30, 2));
        assert_eq!(quiet.verdict, Verdict::Ok);
        let loud = r.judge(Scope::Overall, &stats(500, 100));
        assert_eq!(loud.verdict, Verdict::Breach(Severity::Critical));
        let few = r.judge(Scope::Overall, &stats(10, 10));
        assert_eq!(few.verdict, Verdict::NoData);
    }

    #[test]
    fn wrong_order_is_a_config_error() {
        let r = ThresholdRule::new("lat", Metric::LatencyP95, 5000.0, 3000.0);
        let e = r.validate().unwrap_err();
        assert!(e.to_string().contains("rules.lat.warning"), "{e}");
        let r = ThresholdRule::new("acc", Metric::SelectionAccuracy, 0.9, f64::NAN);
        assert!(r.validate().is_err());
    }
}
