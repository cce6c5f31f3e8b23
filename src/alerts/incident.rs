//! Incidents: alerts that belong to one problem, announced once.
//!
//! A fleet-wide cache drop fires one cache alert per model; a failing model fires its
//! error-rate and latency alerts together. People want one notification for each, as
//! Alertmanager's `group_by` and `group_wait` give them. Every firing alert joins an
//! open incident that shares its rule (one metric across models) or its scope
//! (several metrics of one model), or opens a new one. An incident is announced
//! (`opened`) `groupWait` after its first alert fired (default 3 minutes), with every
//! alert that joined meanwhile; alerts that join later, or a severity that rises, are
//! one `updated` event per tick; when its last alert ends, it is `resolved`.
//!
//! An incident's kind is set by its second alert: same rule, it groups by rule from
//! then on; same scope, by scope. Until then either may join.

use super::log::Log;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::{AlertEvent, AlertEventKind, AlertId};
use crate::rules::{Scope, Severity};
use crate::summary::{de_time, ser_time};

/// Resolved incidents kept for `incident_history`.
const HISTORY_CAP: usize = 1_000;

/// What the alerts of an incident have in common.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentGroup {
    /// A single alert so far.
    Single,
    /// One rule (metric) across scopes: a fleet-wide problem.
    Rule(String),
    /// Several rules on one scope: one model in trouble.
    Scope(Scope),
}

/// One alert of an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentAlert {
    /// The alert's id.
    pub alert_id: AlertId,
    /// Its rule.
    pub rule_id: String,
    /// Its scope.
    pub scope: Scope,
    /// Its current (or last) severity.
    pub severity: Severity,
    /// When it started firing.
    #[serde(serialize_with = "ser_time", deserialize_with = "de_time")]
    pub firing_since: SystemTime,
    /// When it ended, if it has.
    #[serde(
        serialize_with = "super::ser_opt_time",
        deserialize_with = "super::de_opt_time"
    )]
    pub ended_at: Option<SystemTime>,
}

super::numeric_id! {
    /// An incident's identity, as [`AlertId`] is an alert's: unique for the monitor's
    /// lifetime (and across restarts with a persistent store).
    IncidentId
}

/// Alerts grouped into one problem, from
/// [`Monitor::incidents`](crate::Monitor::incidents).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// Its identity.
    pub id: IncidentId,
    /// A line for humans: `cache_hit_rate on 8 models`, `model gpt-4o: 2 rules`.
    pub title: String,
    /// What its alerts share.
    pub group: IncidentGroup,
    /// Its alerts, in the order they fired.
    pub alerts: Vec<IncidentAlert>,
    /// The highest severity any of its alerts has now.
    pub severity: Severity,
    /// The highest severity it reached.
    pub peak_severity: Severity,
    /// When its first alert fired.
    #[serde(serialize_with = "ser_time", deserialize_with = "de_time")]
    pub started_at: SystemTime,
    /// When its last alert ended.
    #[serde(
        serialize_with = "super::ser_opt_time",
        deserialize_with = "super::de_opt_time"
    )]
    pub resolved_at: Option<SystemTime>,
}

/// What happened to an incident at a tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentEventKind {
    /// Announced, `groupWait` after its first alert, with every alert so far.
    Opened,
    /// Alerts joined or its severity rose after it was announced.
    Updated,
    /// Its last alert ended.
    Resolved,
}

crate::names::serde_names!(IncidentEventKind { Opened => "opened", Updated => "updated", Resolved => "resolved" });

/// One incident notification, in [`ExportBatch::incidents`](crate::ExportBatch::incidents).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentEvent {
    /// What happened.
    pub kind: IncidentEventKind,
    /// The incident after it happened.
    pub incident: Incident,
    /// The tick's time.
    #[serde(serialize_with = "ser_time", deserialize_with = "de_time")]
    pub at: SystemTime,
}

impl IncidentAlert {
    /// The alert that `e` announced firing.
    fn of(e: &AlertEvent) -> Self {
        Self {
            alert_id: e.alert_id,
            rule_id: e.rule_id.clone(),
            scope: e.scope.clone(),
            severity: e.severity,
            firing_since: e.at,
            ended_at: None,
        }
    }
}

impl Incident {
    /// How long it lasted, once resolved.
    pub fn time_to_resolve(&self) -> Option<Duration> {
        self.resolved_at
            .map(|r| r.duration_since(self.started_at).unwrap_or_default())
    }

    fn accepts(&self, e: &AlertEvent) -> bool {
        let first = &self.alerts[0];
        match &self.group {
            IncidentGroup::Single => first.rule_id == e.rule_id || first.scope == e.scope,
            IncidentGroup::Rule(r) => *r == e.rule_id,
            IncidentGroup::Scope(s) => *s == e.scope,
        }
    }

    fn join(&mut self, e: &AlertEvent) {
        if self.group == IncidentGroup::Single {
            let first = &self.alerts[0];
            self.group = if first.rule_id == e.rule_id {
                IncidentGroup::Rule(e.rule_id.clone())
            } else {
                IncidentGroup::Scope(e.scope.clone())
            };
        }
        // An alert that fires again replaces its ended predecessor: a long incident
        // keeps one entry per (rule, scope), however often one of them flaps.
        let again = self
            .alerts
            .iter()
            .position(|a| a.rule_id == e.rule_id && a.scope == e.scope);
        match again {
            Some(i) => self.alerts[i] = IncidentAlert::of(e),
            None => self.alerts.push(IncidentAlert::of(e)),
        }
        self.refresh();
    }

    /// Recomputes severity and title after a change.
    fn refresh(&mut self) {
        let open = || self.alerts.iter().filter(|a| a.ended_at.is_none());
        self.severity = open().map(|a| a.severity).max().unwrap_or(self.severity);
        self.peak_severity = self.peak_severity.max(self.severity);
        let n = self.alerts.len();
        self.title = match &self.group {
            IncidentGroup::Single => format!("{} {}", self.alerts[0].rule_id, self.alerts[0].scope),
            IncidentGroup::Rule(r) => format!("{r} on {n} scopes"),
            IncidentGroup::Scope(s) => format!("{s}: {n} rules"),
        };
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Tracked {
    incident: Incident,
    announced: bool,
    /// Announced severity, to tell an escalation worth an update.
    told: Severity,
    changed: bool,
}

/// The grouping state: open incidents and the history.
#[derive(Debug)]
pub(crate) struct Incidents {
    next_id: u64,
    open: Vec<Tracked>,
    history: Log<Incident>,
}

impl Default for Incidents {
    fn default() -> Self {
        Self {
            next_id: 0,
            open: Vec::new(),
            history: Log::new(HISTORY_CAP),
        }
    }
}

#[cfg(feature = "persist")]
/// Open incidents as a store keeps them (the history is a log of its own).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SavedIncidents {
    next_id: u64,
    open: Vec<Tracked>,
}

impl Incidents {
    /// Marks alert `id` ended at `at`; the alert lifecycle calls it for every alert it
    /// closes, announced or silenced (a silenced alert sends no event, and must still
    /// leave its incident).
    pub(crate) fn alert_ended(&mut self, id: AlertId, at: SystemTime) {
        if let Some((t, a)) = self.find(id) {
            if t.incident.alerts[a].ended_at.is_none() {
                t.incident.alerts[a].ended_at = Some(at);
                t.incident.refresh();
            }
        }
    }

    /// Groups one tick's alert events; returns the incident events of the tick.
    pub(crate) fn observe(
        &mut self,
        events: &[AlertEvent],
        group_wait: Duration,
        now: SystemTime,
    ) -> Vec<IncidentEvent> {
        let mut out = Vec::new();
        for e in events {
            match e.kind {
                AlertEventKind::Firing => self.fire(e),
                AlertEventKind::Escalated | AlertEventKind::Deescalated => {
                    if let Some((t, a)) = self.find(e.alert_id) {
                        t.incident.alerts[a].severity = e.severity;
                        t.incident.refresh();
                        t.changed |= t.announced && t.incident.severity > t.told;
                    }
                }
                AlertEventKind::Resolved | AlertEventKind::Accepted => {
                    self.alert_ended(e.alert_id, e.at)
                }
                AlertEventKind::Renotified
                | AlertEventKind::NoData
                | AlertEventKind::RuleDisabled => {}
            }
        }
        let mut i = 0;
        while i < self.open.len() {
            let t = &mut self.open[i];
            let over = t.incident.alerts.iter().all(|a| a.ended_at.is_some());
            let due = now
                .duration_since(t.incident.started_at)
                .unwrap_or_default()
                >= group_wait;
            if over {
                let mut t = self.open.swap_remove(i);
                t.incident.resolved_at = Some(now);
                if t.announced {
                    out.push(event(IncidentEventKind::Resolved, &t.incident, now));
                }
                self.history.push(t.incident);
                continue;
            }
            if !t.announced && due {
                t.announced = true;
                t.changed = false;
                t.told = t.incident.severity;
                out.push(event(IncidentEventKind::Opened, &t.incident, now));
            } else if t.changed {
                t.changed = false;
                t.told = t.incident.severity;
                out.push(event(IncidentEventKind::Updated, &t.incident, now));
            }
            i += 1;
        }
        out
    }

    fn fire(&mut self, e: &AlertEvent) {
        if let Some(t) = self
            .open
            .iter_mut()
            .filter(|t| t.incident.accepts(e))
            .min_by_key(|t| t.incident.started_at)
        {
            t.incident.join(e);
            t.changed |= t.announced;
            return;
        }
        self.next_id += 1;
        let mut incident = Incident {
            id: IncidentId(self.next_id),
            title: String::new(),
            group: IncidentGroup::Single,
            alerts: Vec::new(),
            severity: e.severity,
            peak_severity: e.severity,
            started_at: e.at,
            resolved_at: None,
        };
        incident.alerts.push(IncidentAlert::of(e));
        incident.refresh();
        self.open.push(Tracked {
            told: incident.severity,
            incident,
            announced: false,
            changed: false,
        });
    }

    fn find(&mut self, alert_id: AlertId) -> Option<(&mut Tracked, usize)> {
        self.open.iter_mut().find_map(|t| {
            let a = t
                .incident
                .alerts
                .iter()
                .position(|a| a.alert_id == alert_id)?;
            Some((t, a))
        })
    }

    pub(crate) fn open(&self) -> Vec<Incident> {
        let mut v: Vec<_> = self.open.iter().map(|t| t.incident.clone()).collect();
        v.sort_by_key(|i| i.id);
        v
    }

    #[cfg(feature = "persist")]
    pub(crate) fn saved(&self) -> SavedIncidents {
        SavedIncidents {
            next_id: self.next_id,
            open: self.open.clone(),
        }
    }

    #[cfg(feature = "persist")]
    pub(crate) fn log(&self) -> &Log<Incident> {
        &self.history
    }

    #[cfg(feature = "persist")]
    pub(crate) fn restore(saved: SavedIncidents, history: Vec<(u64, Incident)>) -> Self {
        Self {
            next_id: saved.next_id,
            open: saved.open,
            history: Log::restore(HISTORY_CAP, history),
        }
    }

    pub(crate) fn history(&self) -> Vec<Incident> {
        self.history.iter().cloned().collect()
    }

    /// Mean time from an incident's first alert to its last alert's end.
    pub(crate) fn mean_time_to_resolve(&self) -> Option<Duration> {
        let n = u32::try_from(self.history.len()).ok().filter(|n| *n > 0)?;
        let sum: Duration = self
            .history
            .iter()
            .filter_map(Incident::time_to_resolve)
            .sum();
        Some(sum / n)
    }
}

fn event(kind: IncidentEventKind, incident: &Incident, at: SystemTime) -> IncidentEvent {
    IncidentEvent {
        kind,
        incident: incident.clone(),
        at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    fn t0() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
    }

    fn alert(id: u64, kind: AlertEventKind, rule: &str, model: &str, at: SystemTime) -> AlertEvent {
        AlertEvent {
            alert_id: AlertId(id),
            kind,
            rule_id: rule.to_owned(),
            scope: Scope::model(model),
            severity: Severity::Warning,
            observed: 0.0,
            threshold: 0.0,
            message: String::new(),
            at,
            started_at: at,
        }
    }

    fn kinds(events: &[IncidentEvent]) -> Vec<IncidentEventKind> {
        events.iter().map(|e| e.kind).collect()
    }

    #[test]
    fn a_fleet_wide_drop_is_one_incident() {
        let mut g = Incidents::default();
        let fired: Vec<_> = (0..8)
            .map(|i| {
                alert(
                    i + 1,
                    AlertEventKind::Firing,
                    "cache_hit_rate",
                    &format!("m{i}"),
                    t0(),
                )
            })
            .collect();
        assert!(g.observe(&fired[..5], 3 * MIN, t0()).is_empty());
        assert!(g.observe(&fired[5..], 3 * MIN, t0() + MIN).is_empty());
        let opened = g.observe(&[], 3 * MIN, t0() + 3 * MIN);
        assert_eq!(kinds(&opened), [IncidentEventKind::Opened]);
        let incident = &opened[0].incident;
        assert_eq!(incident.alerts.len(), 8);
        assert_eq!(incident.group, IncidentGroup::Rule("cache_hit_rate".into()));
        assert_eq!(incident.title, "cache_hit_rate on 8 scopes");
        let resolved: Vec<_> = (0..8)
            .map(|i| {
                alert(
                    i + 1,
                    AlertEventKind::Resolved,
                    "cache_hit_rate",
                    &format!("m{i}"),
                    t0() + 30 * MIN,
                )
            })
            .collect();
        let done = g.observe(&resolved, 3 * MIN, t0() + 30 * MIN);
        assert_eq!(kinds(&done), [IncidentEventKind::Resolved]);
        assert_eq!(g.mean_time_to_resolve(), Some(30 * MIN));
        assert!(g.open().is_empty());
    }

    #[test]
    fn two_metrics_of_one_model_are_one_incident() {
        let mut g = Incidents::default();
        g.observe(
            &[alert(1, AlertEventKind::Firing, "error_rate", "a", t0())],
            3 * MIN,
            t0(),
        );
        g.observe(
            &[alert(
                2,
                AlertEventKind::Firing,
                "response_time",
                "a",
                t0() + MIN,
            )],
            3 * MIN,
            t0() + MIN,
        );
        let open = g.open();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].group, IncidentGroup::Scope(Scope::model("a")));
        // A third alert on another model and another rule starts its own.
        g.observe(
            &[alert(
                3,
                AlertEventKind::Firing,
                "cache_hit_rate",
                "b",
                t0() + MIN,
            )],
            3 * MIN,
            t0() + MIN,
        );
        assert_eq!(g.open().len(), 2);
    }

    #[test]
    fn unrelated_alerts_apart_are_two_incidents_and_late_joiners_update() {
        let mut g = Incidents::default();
        g.observe(
            &[alert(1, AlertEventKind::Firing, "error_rate", "a", t0())],
            3 * MIN,
            t0(),
        );
        let e = g.observe(&[], 3 * MIN, t0() + 3 * MIN);
        assert_eq!(kinds(&e), [IncidentEventKind::Opened]);
        let late = alert(
            2,
            AlertEventKind::Firing,
            "error_rate",
            "b",
            t0() + 10 * MIN,
        );
        let e = g.observe(&[late], 3 * MIN, t0() + 10 * MIN);
        assert_eq!(kinds(&e), [IncidentEventKind::Updated]);
        assert_eq!(e[0].incident.alerts.len(), 2);
        let other = alert(
            3,
            AlertEventKind::Firing,
            "cache_hit_rate",
            "c",
            t0() + 30 * MIN,
        );
        g.observe(&[other], 3 * MIN, t0() + 30 * MIN);
        assert_eq!(g.open().len(), 2);
    }

    #[test]
    fn an_alert_ended_inside_a_silence_still_closes_its_incident() {
        let mut g = Incidents::default();
        g.observe(
            &[alert(1, AlertEventKind::Firing, "error_rate", "a", t0())],
            3 * MIN,
            t0(),
        );
        g.observe(&[], 3 * MIN, t0() + 3 * MIN);
        // No event: the alert ended while silenced; the lifecycle says so directly.
        g.alert_ended(AlertId(1), t0() + 20 * MIN);
        let e = g.observe(&[], 3 * MIN, t0() + 20 * MIN);
        assert_eq!(kinds(&e), [IncidentEventKind::Resolved]);
        assert!(g.open().is_empty());
    }

    #[test]
    fn an_alert_firing_again_replaces_its_entry() {
        let mut g = Incidents::default();
        let fire = |id, at| alert(id, AlertEventKind::Firing, "error_rate", "a", at);
        g.observe(
            &[
                fire(1, t0()),
                alert(2, AlertEventKind::Firing, "error_rate", "b", t0()),
            ],
            3 * MIN,
            t0(),
        );
        for k in 0..5u64 {
            let at = t0() + MIN * (10 + k as u32);
            g.observe(
                &[alert(
                    1 + 10 * k,
                    AlertEventKind::Resolved,
                    "error_rate",
                    "a",
                    at,
                )],
                3 * MIN,
                at,
            );
            g.observe(&[fire(11 + 10 * k, at)], 3 * MIN, at);
        }
        assert_eq!(g.open()[0].alerts.len(), 2);
    }

    #[test]
    fn an_incident_over_before_group_wait_is_never_announced() {
        let mut g = Incidents::default();
        g.observe(
            &[alert(1, AlertEventKind::Firing, "error_rate", "a", t0())],
            3 * MIN,
            t0(),
        );
        let e = g.observe(
            &[alert(
                1,
                AlertEventKind::Resolved,
                "error_rate",
                "a",
                t0() + MIN,
            )],
            3 * MIN,
            t0() + MIN,
        );
        assert!(e.is_empty());
        assert_eq!(g.history().len(), 1);
    }
}
