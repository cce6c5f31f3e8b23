//! Rules: judging window statistics.
//!
//! At every tick the monitor computes a [`Summary`] for each window its rules ask for,
//! hands them to every [`Rule`] in a read-only [`RuleView`], and passes the
//! [`Finding`]s to the alert lifecycle (`alerts`), which decides what is pending,
//! firing, or resolved. A rule only says what it sees now; timing (`for`,
//! `keep_firing_for`, re-notification) belongs to its [`AlertPolicy`].
//!
//! Built in: [`ThresholdRule`] (fixed warning and critical lines, judged on exact
//! binomial evidence over a ladder of windows, with hysteresis) and [`AnomalyRule`]
//! (learned per-model baseline distributions with a false-alarm budget). The default
//! set built from [`Config`] holds one threshold rule per KPI and, with
//! `"thresholds": "auto"`, anomaly rules on p95 latency and error rate.
//!
//! Rules that learn read [`RuleView::sealed`], the minutes sealed at this tick, each
//! once; rules that judge percentile lines count with [`RuleView::count_slower_than`].

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::bucket::MinuteBucket;
use crate::config::Config;
use crate::dimension::DimensionBucket;
use crate::error::ConfigError;
use crate::hdr::BucketLayout;
pub(crate) use crate::query::WindowLatency;
use crate::summary::{Stats, Summary};

mod anomaly;
mod baseline;
mod evidence;
mod metric;
mod threshold;

pub use anomaly::AnomalyRule;
pub use metric::{Metric, wilson_interval};
pub use threshold::{RuleScope, ThresholdRule};

/// The window rules use unless they ask for another: 5 minutes.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(300);

/// How bad a breach is. A critical alert inhibits the warning of the same rule and
/// scope: one alert per (rule, scope) carries the higher severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Severity {
    /// Past the warning line.
    Warning,
    /// Past the critical line.
    Critical,
}

crate::names::serde_names!(Severity { Warning => "warning", Critical => "critical" });

/// What an alert is about: the whole fleet, one model, or one value of a dimension
/// (a provider, a team; see [`crate::dimension`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Scope {
    /// All models together.
    Overall,
    /// One model, by id.
    Model(String),
    /// The selections with one value of one dimension, across models.
    Dimension {
        /// The dimension's key (`provider`, or a declared attribute).
        dimension: String,
        /// The value.
        value: String,
    },
}

impl Scope {
    /// The scope of one model.
    pub fn model(id: impl Into<String>) -> Self {
        Scope::Model(id.into())
    }

    /// One value of one dimension.
    pub fn dimension(dimension: impl Into<String>, value: impl Into<String>) -> Self {
        Scope::Dimension {
            dimension: dimension.into(),
            value: value.into(),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Overall => f.write_str("overall"),
            Scope::Model(m) => write!(f, "model {m}"),
            Scope::Dimension { dimension, value } => write!(f, "{dimension} {value}"),
        }
    }
}

/// A rule's judgement of one scope at one evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "verdict", content = "severity")]
pub enum Verdict {
    /// Within bounds.
    Ok,
    /// Past a line.
    Breach(Severity),
    /// Too little data to judge; the rule's [`NoDataPolicy`] applies.
    NoData,
    /// What was a breach is now the normal (a learned baseline accepted a lasting
    /// shift): an open alert ends at once with an
    /// [`Accepted`](crate::AlertEventKind::Accepted) event.
    Accepted,
}

/// One scope's judgement, with the numbers behind it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// What the finding is about.
    pub scope: Scope,
    /// The judgement.
    pub verdict: Verdict,
    /// The value observed (NaN when there was none).
    pub observed: f64,
    /// The line it was judged against (NaN when none applies).
    pub threshold: f64,
    /// A sentence for humans.
    pub message: String,
}

impl Finding {
    /// A breach of `threshold` by `observed`.
    pub fn breach(
        scope: Scope,
        severity: Severity,
        observed: f64,
        threshold: f64,
        message: impl Into<String>,
    ) -> Self {
        Self {
            scope,
            verdict: Verdict::Breach(severity),
            observed,
            threshold,
            message: message.into(),
        }
    }

    /// Within bounds. Scopes a rule does not mention are treated the same way.
    pub fn ok(scope: Scope, observed: f64) -> Self {
        Self {
            scope,
            verdict: Verdict::Ok,
            observed,
            threshold: f64::NAN,
            message: String::new(),
        }
    }

    /// A lasting shift accepted as the new normal: `observed` is the value now,
    /// `previous` the normal it replaces.
    pub fn accepted(
        scope: Scope,
        observed: f64,
        previous: f64,
        message: impl Into<String>,
    ) -> Self {
        Self {
            scope,
            verdict: Verdict::Accepted,
            observed,
            threshold: previous,
            message: message.into(),
        }
    }

    /// Not enough data to judge.
    pub fn no_data(scope: Scope, message: impl Into<String>) -> Self {
        Self {
            scope,
            verdict: Verdict::NoData,
            observed: f64::NAN,
            threshold: f64::NAN,
            message: message.into(),
        }
    }
}

/// What an alert does when its rule reports [`Verdict::NoData`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoDataPolicy {
    /// Leave the alert as it is (the default): a quiet minute neither fires nor clears.
    #[default]
    KeepState,
    /// Treat it as recovered.
    Resolve,
    /// Announce a `no_data` event once and keep the alert open.
    MarkNoData,
}

/// The timing of a rule's alerts, applied by the alert lifecycle.
///
/// ## Hysteresis
///
/// Timing is the second line of defence against flapping; the first is in the rules.
/// The built-in rules hold a breach until the evidence says it is over:
/// [`ThresholdRule`] starts a breach when a window is *credibly* past the line and
/// ends it only when a window is credibly back inside (a count on the other side of the
/// line that a metric sitting on it would rarely produce); in between, the scope keeps
/// what it had, for severity as for the breach itself. [`AnomalyRule`] holds an
/// anomaly while the window stays past its line at the 5% level. A metric that sits on
/// its line therefore starts at most one episode and keeps it, and a metric past its
/// line keeps firing. Only then does the lifecycle apply `for_duration` (a breach must
/// last this long to fire) and `keep_firing_for` (a recovery must last this long to
/// resolve; also how long a lower severity must hold before an alert de-escalates).
/// A rule of your own that reports its point estimate gets only the second line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertPolicy {
    /// How long a breach must hold before the alert fires; until then it is pending.
    pub for_duration: Duration,
    /// How long a firing alert stays firing after the breach clears. Protects against
    /// flapping: a metric oscillating around its line keeps one alert open.
    pub keep_firing_for: Duration,
    /// How often a firing, unacknowledged alert is announced again.
    pub renotify_interval: Duration,
    /// What [`Verdict::NoData`] does.
    pub no_data: NoDataPolicy,
}

impl Default for AlertPolicy {
    /// `for` 2 minutes, `keep_firing_for` 5 minutes, re-notify hourly, keep state on no
    /// data: the defaults of `monitoring.alerting`.
    fn default() -> Self {
        Self {
            for_duration: Duration::from_secs(120),
            keep_firing_for: Duration::from_secs(300),
            renotify_interval: Duration::from_secs(3600),
            no_data: NoDataPolicy::KeepState,
        }
    }
}

/// The read-only view a rule evaluates: summaries of the windows it asked for, the
/// latency distributions behind them, and the minutes sealed at this tick.
#[derive(Debug)]
pub struct RuleView<'a> {
    pub(crate) now: SystemTime,
    pub(crate) windows: &'a BTreeMap<Duration, Summary>,
    pub(crate) latency: &'a BTreeMap<Duration, WindowLatency>,
    pub(crate) layout: &'a BucketLayout,
    pub(crate) sealed: &'a [MinuteBucket],
    /// `cost.referenceModel`, for cost efficiency.
    pub(crate) reference: Option<&'a str>,
    /// Per (dimension, window) the rules asked for ([`Rule::dimensions`]), each
    /// value's statistics.
    pub(crate) dimensions: &'a DimensionWindows,
    /// The dimension minutes sealed at this tick.
    pub(crate) sealed_dimensions: &'a [DimensionBucket],
}

/// Per (dimension, window), each value's statistics.
pub(crate) type DimensionWindows = BTreeMap<(String, Duration), BTreeMap<String, Stats>>;

impl<'a> RuleView<'a> {
    /// The time of the evaluation.
    pub fn now(&self) -> SystemTime {
        self.now
    }

    /// The summary of the window of length `window` ending now, if the rule asked for
    /// it in [`Rule::windows`].
    pub fn window(&self, window: Duration) -> Option<&'a Summary> {
        self.windows.get(&window)
    }

    /// All models together over `window`.
    pub fn overall(&self, window: Duration) -> Option<&'a Stats> {
        self.window(window).map(|s| &s.overview)
    }

    /// Each model with traffic in `window`, by id.
    pub fn models(&self, window: Duration) -> impl Iterator<Item = (&'a str, &'a Stats)> + 'a {
        self.window(window)
            .into_iter()
            .flat_map(|s| s.models.iter().map(|(k, v)| (k.as_str(), v)))
    }

    /// Selections of `scope` slower than `line` over `window` (a window the rule asked
    /// for in [`Rule::windows`]), to the HDR resolution: the bucket holding `line`
    /// (values within 1% of it by default) does not count as slower. `None` when the
    /// window was not asked for or the scope had no traffic in it.
    ///
    /// This is how a rule judges a percentile line on evidence: "p95 under 3 s" allows
    /// 5% of selections slower than 3 s, and the count says how many were.
    pub fn count_slower_than(
        &self,
        window: Duration,
        scope: &Scope,
        line: Duration,
    ) -> Option<u64> {
        let w = self.latency.get(&window)?;
        let counts = match scope {
            Scope::Overall => &w.overall,
            Scope::Model(m) => w.models.get(m)?,
            // No tail counts are kept per dimension value.
            Scope::Dimension { .. } => return None,
        };
        Some(counts.count_above(self.layout.index_of(line)))
    }

    /// The minutes sealed at this tick, one bucket per model and minute (the same
    /// buckets exporters receive). Rules that learn from history read these: each
    /// minute is seen once, unlike the overlapping windows judged at every tick.
    pub fn sealed(&self) -> &'a [MinuteBucket] {
        self.sealed
    }

    /// The statistics of `scope` over `window`, if it had traffic.
    pub fn stats(&self, window: Duration, scope: &Scope) -> Option<&'a Stats> {
        if let Scope::Dimension { dimension, value } = scope {
            return self
                .dimensions
                .get(&(dimension.clone(), window))?
                .get(value);
        }
        let summary = self.window(window)?;
        match scope {
            Scope::Overall => Some(&summary.overview),
            Scope::Model(m) => summary.models.get(m),
            Scope::Dimension { .. } => None,
        }
    }

    /// Each value of `dimension` with traffic in `window`, if the rule asked for the
    /// dimension in [`Rule::dimensions`] and for the window in [`Rule::windows`]:
    /// statistics as [`Monitor::summary_by`](crate::Monitor::summary_by) gives them.
    pub fn dimension(
        &self,
        dimension: &str,
        window: Duration,
    ) -> impl Iterator<Item = (&'a str, &'a Stats)> + 'a {
        self.dimensions
            .get(&(dimension.to_owned(), window))
            .into_iter()
            .flat_map(|m| m.iter().map(|(k, v)| (k.as_str(), v)))
    }

    /// The dimension minutes sealed at this tick (the buckets exporters receive).
    pub fn sealed_dimensions(&self) -> &'a [DimensionBucket] {
        self.sealed_dimensions
    }
}

/// A judgement over window statistics; implement it for rules of your own.
///
/// ```
/// use modelmeter::{Finding, Rule, RuleView, Scope, Severity};
/// use std::time::Duration;
///
/// /// Pages when any model serves fewer than 1 in 3 selections from cache.
/// struct ColdCache;
///
/// impl Rule for ColdCache {
///     fn id(&self) -> &str { "cold_cache" }
///     fn evaluate(&mut self, view: &RuleView<'_>) -> Vec<Finding> {
///         view.models(Duration::from_secs(300))
///             .filter(|(_, s)| s.count >= 50 && s.cache_hit_rate < 1.0 / 3.0)
///             .map(|(m, s)| Finding::breach(Scope::model(m), Severity::Warning,
///                 s.cache_hit_rate, 1.0 / 3.0, format!("{m}: cache is cold")))
///             .collect()
///     }
/// }
/// ```
pub trait Rule: Send + Sync + 'static {
    /// A stable id: alerts are keyed by (rule id, scope).
    fn id(&self) -> &str;

    /// The windows [`evaluate`](Self::evaluate) reads; by default [`DEFAULT_WINDOW`].
    fn windows(&self) -> Vec<Duration> {
        vec![DEFAULT_WINDOW]
    }

    /// The dimensions [`evaluate`](Self::evaluate) reads through
    /// [`RuleView::dimension`], each over every window of
    /// [`windows`](Self::windows); by default none.
    fn dimensions(&self) -> Vec<String> {
        Vec::new()
    }

    /// The timing of this rule's alerts.
    fn policy(&self) -> AlertPolicy {
        AlertPolicy::default()
    }

    /// Judges the current windows. Return breaches, and optionally `Ok` or `NoData`
    /// findings; a scope with an open alert that is not mentioned counts as `Ok`.
    /// Several findings for one scope count as the worst of them.
    fn evaluate(&mut self, view: &RuleView<'_>) -> Vec<Finding>;

    /// Checks the rule's settings; called by
    /// [`MonitorBuilder::build`](crate::MonitorBuilder::build).
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the bad setting.
    fn validate(&self) -> Result<(), ConfigError> {
        Ok(())
    }

    /// What the rule has learned that should survive a restart (a baseline, the
    /// evidence of long windows), in a format of the rule's own; `None`, the default,
    /// keeps nothing.
    ///
    /// A monitor with a persistent store (`MonitorBuilder::persist`, feature
    /// `persist`) calls it every 10 minutes of ticks that sealed minutes, at every
    /// flush and when it is dropped, and writes the bytes in the same transaction as
    /// the sealed minutes. The built-in rules keep their baselines and evidence rings.
    fn save_state(&self) -> Option<Vec<u8>> {
        None
    }

    /// Takes back what [`save_state`](Self::save_state) returned before a restart;
    /// called once, when the monitor is built, before the first evaluation.
    ///
    /// # Errors
    ///
    /// Any error: the rule then starts fresh, and the error is reported in
    /// `Health::persistence`.
    fn restore_state(&mut self, state: &[u8]) -> Result<(), RestoreError> {
        let _ = state;
        Ok(())
    }
}

/// Why a rule could not take back its saved state (see [`Rule::restore_state`]).
pub type RestoreError = Box<dyn std::error::Error + Send + Sync>;

impl<R: Rule + ?Sized> Rule for Box<R> {
    fn id(&self) -> &str {
        (**self).id()
    }
    fn windows(&self) -> Vec<Duration> {
        (**self).windows()
    }
    fn dimensions(&self) -> Vec<String> {
        (**self).dimensions()
    }
    fn policy(&self) -> AlertPolicy {
        (**self).policy()
    }
    fn evaluate(&mut self, view: &RuleView<'_>) -> Vec<Finding> {
        (**self).evaluate(view)
    }
    fn validate(&self) -> Result<(), ConfigError> {
        (**self).validate()
    }
    fn save_state(&self) -> Option<Vec<u8>> {
        (**self).save_state()
    }
    fn restore_state(&mut self, state: &[u8]) -> Result<(), RestoreError> {
        (**self).restore_state(state)
    }
}

/// The default rule set for `config`: one [`ThresholdRule`] per KPI of
/// `performanceMetrics` and, with `"thresholds": "auto"`, one [`AnomalyRule`] per
/// metric of `alerting.anomaly.metrics`. Empty when `alerting.enabled` is false.
///
/// Response time, error rate, cache hit rate and selection accuracy are judged per
/// model; cost efficiency, a fleet-wide measure, overall.
pub fn default_rules(config: &Config) -> Vec<Box<dyn Rule>> {
    let a = &config.monitoring.alerting;
    if !a.enabled {
        return Vec::new();
    }
    let k = &config.performance_metrics;
    let policy = AlertPolicy {
        for_duration: a.for_duration,
        keep_firing_for: a.keep_firing_for,
        renotify_interval: a.renotify_interval,
        no_data: NoDataPolicy::KeepState,
    };
    let rule = |id: &str, metric: Metric, kpi: &crate::config::Kpi, scope: RuleScope| {
        ThresholdRule::new(id, metric, kpi.warning, kpi.critical)
            .target(kpi.target)
            .window(a.evaluation_window)
            .min_samples(a.min_samples)
            .wilson_z(a.wilson_z)
            .policy(policy)
            .scope(scope)
    };
    let mut rules: Vec<Box<dyn Rule>> = vec![
        Box::new(rule(
            "response_time",
            a.response_time_metric,
            &k.response_time,
            RuleScope::PerModel,
        )),
        Box::new(rule(
            "selection_accuracy",
            Metric::SelectionAccuracy,
            &k.selection_accuracy,
            RuleScope::PerModel,
        )),
        Box::new(rule(
            "cache_hit_rate",
            Metric::CacheHitRate,
            &k.cache_hit_rate,
            RuleScope::PerModel,
        )),
        Box::new(rule(
            "cost_efficiency",
            Metric::CostEfficiency,
            &k.cost_efficiency,
            RuleScope::Overall,
        )),
        Box::new(rule(
            "error_rate",
            Metric::ErrorRate,
            &k.error_rate,
            RuleScope::PerModel,
        )),
    ];
    if a.thresholds == crate::config::Thresholds::Auto {
        for &metric in &a.anomaly.metrics {
            let id = format!("anomaly_{}", metric_id(metric));
            rules.push(Box::new(
                AnomalyRule::new(id, metric)
                    .false_alarms_per_week(a.anomaly.false_alarms_per_week)
                    .min_effect(a.anomaly.min_effect)
                    .accept_after(a.anomaly.accept_after)
                    .warmup(a.anomaly.warmup_windows)
                    .window(a.evaluation_window)
                    .min_samples(a.min_samples)
                    .policy(AlertPolicy {
                        for_duration: Duration::ZERO,
                        ..policy
                    }),
            ));
        }
    }
    rules
}

/// The metric's serde name, for rule ids.
fn metric_id(metric: Metric) -> String {
    metric.name().to_owned()
}
