//! [`Recommendation`]: what a heuristic suggests, with the numbers behind it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What kind of change is suggested; the actuator's cooldown is kept per kind.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RecommendationKind {
    /// Too many selections exceed the response-time target.
    SlowResponses,
    /// The cache hits less often than it should.
    LowCacheHitRate,
    /// Selections cost more than the configured bound.
    HighCostPerSelection,
    /// A model fails far more often than the rest.
    ErrorHotspot,
    /// A model is refused for rate limits (HTTP 429) far more often than the rest.
    RateLimitHotspot,
    /// A cheaper model does as well on some complexity band.
    CheaperEquivalent,
    /// Latency or cost is trending up.
    Regression,
    /// Two metrics move together.
    Correlation,
    /// From a custom heuristic.
    Custom(String),
}

impl fmt::Display for RecommendationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Custom(name) => f.write_str(name),
            other => {
                let s = serde_json::to_string(other).map_err(|_| fmt::Error)?;
                f.write_str(s.trim_matches('"'))
            }
        }
    }
}

/// How urgent a recommendation is; lists are ranked by it first.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Worth knowing.
    #[default]
    Low,
    /// Worth doing.
    Medium,
    /// Worth doing soon.
    High,
    /// Costing money or users now.
    Critical,
}

crate::names::serde_names!(Priority { Low => "low", Medium => "medium", High => "high", Critical => "critical" });

/// A coarse scale for impact and effort.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Small.
    #[default]
    Low,
    /// Moderate.
    Medium,
    /// Large.
    High,
}

crate::names::serde_names!(Level { Low => "low", Medium => "medium", High => "high" });

/// One named number behind a recommendation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// What it is (`accuracy_from`, `p95_ms`, ...).
    pub name: String,
    /// Its value.
    pub value: f64,
    /// Its unit (`ms`, `usd`, `ratio`, `count`, ...).
    pub unit: String,
}

/// A concrete change an [`Actuator`](crate::Actuator) can carry out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Action {
    /// Send selections with complexity in `min_complexity..max_complexity` that now go
    /// to `from` to `to` instead.
    Reroute {
        /// The model that gets the traffic now.
        from: String,
        /// The model that should get it.
        to: String,
        /// Lower complexity bound, inclusive.
        min_complexity: f64,
        /// Upper complexity bound, exclusive (1.0 includes 1.0).
        max_complexity: f64,
    },
    /// A host-defined action.
    Custom {
        /// Its name.
        name: String,
    },
}

/// A suggested change, with its evidence and estimated value.
///
/// Built with [`Recommendation::new`] and the chained setters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Recommendation {
    /// `heuristic/subject`: stable across runs on the same data; duplicates are
    /// merged by it.
    pub id: String,
    /// The heuristic that made it.
    pub heuristic: String,
    /// What kind of change.
    pub kind: RecommendationKind,
    /// How urgent.
    pub priority: Priority,
    /// One line.
    pub title: String,
    /// What was seen and what to do.
    pub description: String,
    /// The numbers behind it.
    pub evidence: Vec<Evidence>,
    /// How much it would improve things.
    pub impact: Level,
    /// How much work it is.
    pub effort: Level,
    /// Estimated US dollars saved per 30 days at the observed volume, where it applies.
    pub savings_usd_per_30d: Option<f64>,
    /// Whether an [`Actuator`](crate::Actuator) may apply it without a human.
    pub auto_apply: bool,
    /// The model it is about, if one.
    pub model: Option<String>,
    /// What to change, for an actuator.
    pub action: Option<Action>,
}

impl Recommendation {
    /// A low-priority recommendation with id `heuristic/subject` and no evidence yet.
    pub fn new(heuristic: &str, kind: RecommendationKind, subject: &str) -> Self {
        Self {
            id: format!("{heuristic}/{subject}"),
            heuristic: heuristic.to_owned(),
            kind,
            priority: Priority::Low,
            title: String::new(),
            description: String::new(),
            evidence: Vec::new(),
            impact: Level::Low,
            effort: Level::Low,
            savings_usd_per_30d: None,
            auto_apply: false,
            model: None,
            action: None,
        }
    }

    /// Sets the title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Sets the priority.
    pub fn priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    /// Sets impact and effort.
    pub fn impact_effort(mut self, impact: Level, effort: Level) -> Self {
        self.impact = impact;
        self.effort = effort;
        self
    }

    /// Adds one named number. A NaN or infinite value is left out: JSON cannot carry
    /// it, and a report must read back.
    pub fn evidence(mut self, name: &str, value: f64, unit: &str) -> Self {
        if !value.is_finite() {
            return self;
        }
        self.evidence.push(Evidence {
            name: name.to_owned(),
            value,
            unit: unit.to_owned(),
        });
        self
    }

    /// Sets the estimated savings per 30 days (negative or non-finite values are
    /// ignored: a recommendation that costs money says so in its description).
    pub fn savings(mut self, usd_per_30d: f64) -> Self {
        self.savings_usd_per_30d =
            (usd_per_30d.is_finite() && usd_per_30d >= 0.0).then_some(usd_per_30d);
        self
    }

    /// Sets the model it is about.
    pub fn model(mut self, model: &str) -> Self {
        self.model = Some(model.to_owned());
        self
    }

    /// Attaches an action and marks whether it is safe to apply automatically.
    pub fn action(mut self, action: Action, auto_apply: bool) -> Self {
        self.action = Some(action);
        self.auto_apply = auto_apply;
        self
    }

    /// The value of the evidence named `name`, if present (a non-finite value was
    /// never stored).
    pub fn evidence_value(&self, name: &str) -> Option<f64> {
        self.evidence
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.value)
    }
}

impl fmt::Display for Recommendation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.priority, self.title)?;
        if let Some(s) = self.savings_usd_per_30d.filter(|s| *s >= 0.5) {
            write!(f, " (saves ~${s:.0}/30d)")?;
        }
        Ok(())
    }
}
