//! The alert lifecycle: what rules' findings become over time.
//!
//! One alert per (rule, scope) at a time. A breach opens it **pending**; once the
//! breach has held for the rule's `for_duration` it is **firing** (a `firing` event).
//! While it fires, a change of severity is an `escalated` or `deescalated` event (a
//! lower severity must hold for `keep_firing_for` first, like recovery), and an
//! unacknowledged alert is announced again (`renotified`) every `renotify_interval`.
//! When the breach has been gone for `keep_firing_for`, the alert is **resolved** (a
//! `resolved` event) and moves to the history. A critical finding inhibits the warning
//! of the same rule and scope: the one alert carries the higher severity.
//!
//! Alerts that belong to one problem form an [`Incident`] (one rule across models, or
//! several rules of one model), announced once `groupWait` after its first alert
//! fires, as Alertmanager's `group_by` and `group_wait` do: see `incident`.
//!
//! Silences ([`Monitor::snooze`](crate::Monitor::snooze)) mute every event of a
//! (rule, scope) until they end; the lifecycle runs on underneath, so an alert still
//! firing when its silence ends is announced then, and one that started and ended
//! inside the silence is never announced but is kept in the history.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::rules::{Scope, Severity};
use crate::summary::{de_time, ser_time};

mod incident;
mod log;
mod manager;

pub use incident::{
    Incident, IncidentAlert, IncidentEvent, IncidentEventKind, IncidentGroup, IncidentId,
};
#[cfg(feature = "persist")]
pub(crate) use log::Log;
pub(crate) use manager::AlertManager;
#[cfg(feature = "persist")]
pub(crate) use manager::SavedAlerts;

/// Where an alert stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// Breaching, but not yet for the rule's `for_duration`.
    Pending,
    /// Breaching long enough; announced.
    Firing,
    /// Was firing; its rule has had no data since (policy `MarkNoData`).
    NoData,
}

crate::names::serde_names!(AlertState { Pending => "pending", Firing => "firing", NoData => "no_data" });

/// A numeric identity: `get`, `From<u64>` (an id read back from JSON, a log line or a
/// chat button) and `Display` as the plain number it serializes as.
macro_rules! numeric_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub(crate) u64);

        impl $name {
            /// The id as a number (as it appears in JSON, logs and CSV).
            pub fn get(self) -> u64 {
                self.0
            }
        }

        impl From<u64> for $name {
            fn from(id: u64) -> Self {
                Self(id)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}
pub(crate) use numeric_id;

numeric_id! {
    /// An alert's identity: unique for the monitor's lifetime (and across restarts with
    /// a persistent store), shared by its events, its history entry and its incident
    /// entry; pass it to [`Monitor::acknowledge`](crate::Monitor::acknowledge).
    AlertId
}

/// An open alert, from [`Monitor::active_alerts`](crate::Monitor::active_alerts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Unique for the monitor's lifetime; pass it to
    /// [`Monitor::acknowledge`](crate::Monitor::acknowledge).
    pub id: AlertId,
    /// The rule that raised it.
    pub rule_id: String,
    /// What it is about.
    pub scope: Scope,
    /// Pending, firing or no data.
    pub state: AlertState,
    /// Current severity.
    pub severity: Severity,
    /// The last value observed.
    pub observed: f64,
    /// The line it was judged against.
    pub threshold: f64,
    /// The rule's last message.
    pub message: String,
    /// When the breach began.
    #[serde(serialize_with = "ser_time", deserialize_with = "de_time")]
    pub started_at: SystemTime,
    /// When it started firing.
    #[serde(
        serialize_with = "crate::alerts::ser_opt_time",
        deserialize_with = "crate::alerts::de_opt_time"
    )]
    pub firing_since: Option<SystemTime>,
    /// Acknowledged: no re-notification until its severity rises.
    pub acknowledged: bool,
}

/// What happened to an alert at a tick; delivered in
/// [`ExportBatch::alerts`](crate::ExportBatch::alerts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AlertEventKind {
    /// Started firing.
    Firing,
    /// Severity rose while firing.
    Escalated,
    /// Severity fell while firing.
    Deescalated,
    /// Still firing; announced again after the re-notify interval.
    Renotified,
    /// Its rule has no data to judge (policy `MarkNoData`).
    NoData,
    /// Cleared.
    Resolved,
    /// Ended because its rule accepted the change as the new normal (an
    /// [`AnomalyRule`](crate::AnomalyRule) whose shift lasted `accept_after`).
    Accepted,
    /// Not an alert: the rule itself panicked `monitoring.alerting.rulePanicLimit`
    /// times in a row and was disabled (see [`Health::rule_panics`](crate::Health)).
    RuleDisabled,
}

crate::names::serde_names!(AlertEventKind { Firing => "firing", Escalated => "escalated", Deescalated => "deescalated", Renotified => "renotified", NoData => "no_data", Resolved => "resolved", Accepted => "accepted", RuleDisabled => "rule_disabled" });

/// One alert announcement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AlertEvent {
    /// The alert's id.
    pub alert_id: AlertId,
    /// What happened.
    pub kind: AlertEventKind,
    /// The rule.
    pub rule_id: String,
    /// The scope.
    pub scope: Scope,
    /// The severity after the event.
    pub severity: Severity,
    /// The value observed.
    pub observed: f64,
    /// The line.
    pub threshold: f64,
    /// The rule's message.
    pub message: String,
    /// When the event happened (the tick's time).
    #[serde(serialize_with = "ser_time", deserialize_with = "de_time")]
    pub at: SystemTime,
    /// When the alert's breach began.
    #[serde(serialize_with = "ser_time", deserialize_with = "de_time")]
    pub started_at: SystemTime,
}

/// A closed alert, from [`Monitor::alert_history`](crate::Monitor::alert_history).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedAlert {
    /// The alert's id.
    pub id: AlertId,
    /// The rule.
    pub rule_id: String,
    /// The scope.
    pub scope: Scope,
    /// The highest severity it reached.
    pub peak_severity: Severity,
    /// When it started firing.
    #[serde(serialize_with = "ser_time", deserialize_with = "de_time")]
    pub started_at: SystemTime,
    /// When it was resolved.
    #[serde(serialize_with = "ser_time", deserialize_with = "de_time")]
    pub resolved_at: SystemTime,
    /// `resolved_at - started_at`.
    #[serde(
        serialize_with = "crate::summary::ser_ms",
        deserialize_with = "crate::summary::de_ms"
    )]
    pub time_to_resolve: Duration,
}

pub(crate) fn ser_opt_time<S: serde::Serializer>(
    t: &Option<SystemTime>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => ser_time(t, s),
        None => s.serialize_none(),
    }
}

pub(crate) fn de_opt_time<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<SystemTime>, D::Error> {
    Ok(Option::<u64>::deserialize(d)?
        .map(|ms| crate::clock::from_unix_nanos(ms.saturating_mul(1_000_000))))
}
