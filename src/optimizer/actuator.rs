//! [`Actuator`]: the host's hook for applying recommendations automatically.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::error::ActuatorError;
use crate::heuristics::{Recommendation, RecommendationKind};
use crate::summary::{de_time, ser_time};

/// Applies recommendations marked safe ([`Recommendation::auto_apply`]), such as a
/// [`Reroute`](crate::Action::Reroute), to the host's router.
///
/// The monitor calls it at each optimizer run (`optimizer.interval`) on the tick's
/// thread: at most one attempt per [`RecommendationKind`] per run, none for a kind
/// within `optimizer.cooldown` of its last successful application, and never twice
/// for a recommendation id once applied. A failed attempt is retried at the next run.
///
/// It runs with no query lock held, so it may read the monitor (`recommendations`,
/// `applied_actions`, `summary`, ...), but it runs inside a tick: calling
/// [`Monitor::tick`](crate::Monitor::tick) or [`Monitor::flush`](crate::Monitor::flush)
/// from it deadlocks. An actuator that keeps a `Monitor` clone keeps the monitor alive
/// (the last-handle flush never comes); drop it with the router, or call `flush`
/// yourself before shutdown. Heuristics run with no monitor lock held at all. Each call is recorded as an
/// [`AppliedAction`] ([`Monitor::applied_actions`](crate::Monitor::applied_actions)).
///
/// ```
/// use modelmeter::{Action, Actuator, ActuatorError, Recommendation};
///
/// struct Router; // the host's routing table
///
/// impl Actuator for Router {
///     fn apply(&mut self, rec: &Recommendation) -> Result<(), ActuatorError> {
///         match &rec.action {
///             Some(Action::Reroute { from, to, max_complexity, .. }) => {
///                 println!("route complexity < {max_complexity} from {from} to {to}");
///                 Ok(())
///             }
///             _ => Err(ActuatorError::new("unsupported action")),
///         }
///     }
/// }
/// ```
pub trait Actuator: Send + 'static {
    /// Carries out `rec`. An `Err` is recorded and the recommendation is tried again at
    /// the next run.
    fn apply(&mut self, rec: &Recommendation) -> Result<(), ActuatorError>;
}

/// What happened when an action was applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionOutcome {
    /// The actuator returned `Ok`.
    Applied,
    /// The actuator returned an error, or panicked.
    Failed {
        /// What it said.
        error: String,
    },
}

/// One call of the [`Actuator`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppliedAction {
    /// The recommendation's id.
    pub recommendation_id: String,
    /// Its kind (the cooldown is per kind).
    pub kind: RecommendationKind,
    /// The recommendation itself.
    pub recommendation: Recommendation,
    /// When it was applied.
    #[serde(serialize_with = "ser_time", deserialize_with = "de_time")]
    pub at: SystemTime,
    /// Whether it worked.
    pub outcome: ActionOutcome,
}
