//! [`AlertManager`]: the state machine of the lifecycle described in the module above.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::incident::Incidents;
#[cfg(feature = "persist")]
use super::incident::SavedIncidents;
use super::log::Log;
use super::{
    Alert, AlertEvent, AlertEventKind, AlertId, AlertState, Incident, IncidentEvent, ResolvedAlert,
};
use crate::rules::{AlertPolicy, Finding, NoDataPolicy, Scope, Severity, Verdict};

/// Closed alerts kept for `alert_history` and the mean time to resolve.
const HISTORY_CAP: usize = 10_000;
/// Events kept for `recent_alert_events`.
const RECENT_CAP: usize = 1_000;

type Key = (String, Scope);

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Tracked {
    alert: Alert,
    peak: Severity,
    /// The severity the outside world was last told, `None` before the first event.
    notified: Option<Severity>,
    last_notified: SystemTime,
    /// Since when the breach has been gone (pending resolution).
    recovered_since: Option<SystemTime>,
    /// Since when a lower severity than the current one has been observed.
    lower_since: Option<SystemTime>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Silence {
    rule_id: String,
    scope: Scope,
    until: SystemTime,
}

/// Open alerts, silences and history.
#[derive(Debug)]
pub(crate) struct AlertManager {
    next_id: u64,
    open: BTreeMap<Key, Tracked>,
    silences: Vec<Silence>,
    history: Log<ResolvedAlert>,
    recent: Log<AlertEvent>,
    incidents: Incidents,
}

impl Default for AlertManager {
    fn default() -> Self {
        Self {
            next_id: 0,
            open: BTreeMap::new(),
            silences: Vec::new(),
            history: Log::new(HISTORY_CAP),
            recent: Log::new(RECENT_CAP),
            incidents: Incidents::default(),
        }
    }
}

#[cfg(feature = "persist")]
/// The alert state that survives a restart besides the three logs (which a store
/// writes entry by entry): open alerts, silences and open incidents.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SavedAlerts {
    next_id: u64,
    open: Vec<Tracked>,
    silences: Vec<Silence>,
    incidents: SavedIncidents,
}

#[cfg(feature = "persist")]
/// The three logs of the alert state, as a store reads and writes them.
pub(crate) struct AlertLogs<'a> {
    pub history: &'a Log<ResolvedAlert>,
    pub recent: &'a Log<AlertEvent>,
    pub incidents: &'a Log<Incident>,
}

fn elapsed(now: SystemTime, since: SystemTime) -> Duration {
    now.duration_since(since).unwrap_or_default()
}

/// Findings of one rule, one per scope, the worst winning.
fn worst_per_scope(findings: Vec<Finding>) -> HashMap<Scope, Finding> {
    let rank = |v: &Verdict| match v {
        Verdict::Ok | Verdict::Accepted => 0,
        Verdict::NoData => 1,
        Verdict::Breach(Severity::Warning) => 2,
        Verdict::Breach(Severity::Critical) => 3,
    };
    let mut out: HashMap<Scope, Finding> = HashMap::new();
    for f in findings {
        match out.get(&f.scope) {
            Some(have) if rank(&have.verdict) >= rank(&f.verdict) => {}
            _ => {
                out.insert(f.scope.clone(), f);
            }
        }
    }
    out
}

impl AlertManager {
    /// Applies one rule's findings at `now`; appends the resulting events to `out`.
    pub(crate) fn process(
        &mut self,
        rule_id: &str,
        policy: &AlertPolicy,
        findings: Vec<Finding>,
        now: SystemTime,
        out: &mut Vec<AlertEvent>,
    ) {
        self.silences.retain(|s| s.until > now);
        let mut findings = worst_per_scope(findings);
        // Open alerts the rule no longer mentions count as recovered.
        let unmentioned: Vec<Scope> = self
            .open
            .keys()
            .filter(|(r, s)| r == rule_id && !findings.contains_key(s))
            .map(|(_, s)| s.clone())
            .collect();
        for scope in unmentioned {
            findings.insert(scope.clone(), Finding::ok(scope, f64::NAN));
        }
        let mut scopes: Vec<_> = findings.into_values().collect();
        scopes.sort_by(|a, b| a.scope.cmp(&b.scope));
        let start = out.len();
        for finding in scopes {
            self.apply(rule_id, policy, finding, now, out);
        }
        for e in &out[start..] {
            self.recent.push(e.clone());
        }
    }

    fn apply(
        &mut self,
        rule_id: &str,
        policy: &AlertPolicy,
        f: Finding,
        now: SystemTime,
        out: &mut Vec<AlertEvent>,
    ) {
        use AlertEventKind::{Accepted, Resolved};
        let key = (rule_id.to_owned(), f.scope.clone());
        let silenced = self
            .silences
            .iter()
            .any(|s| s.rule_id == rule_id && s.scope == f.scope);
        match f.verdict {
            Verdict::Breach(severity) => {
                let next_id = &mut self.next_id;
                let t = self.open.entry(key).or_insert_with(|| {
                    *next_id += 1;
                    Tracked::new(AlertId(*next_id), rule_id, &f, severity, now)
                });
                t.breach(severity, &f, policy, now);
                if !silenced {
                    t.announce(policy, now, out);
                }
            }
            Verdict::Ok => {
                self.end(key, f.observed, policy, now, silenced, Resolved, out);
            }
            Verdict::Accepted => {
                let Some(t) = self.open.get_mut(&key) else {
                    return;
                };
                t.alert.message.clone_from(&f.message);
                t.alert.threshold = f.threshold;
                let policy = AlertPolicy {
                    keep_firing_for: Duration::ZERO,
                    ..*policy
                };
                self.end(key, f.observed, &policy, now, silenced, Accepted, out);
            }
            Verdict::NoData => match policy.no_data {
                NoDataPolicy::KeepState => {}
                NoDataPolicy::Resolve => {
                    self.end(key, f.observed, policy, now, silenced, Resolved, out);
                }
                NoDataPolicy::MarkNoData => {
                    let Some(t) = self.open.get_mut(&key) else {
                        return;
                    };
                    if t.alert.state == AlertState::Pending {
                        self.open.remove(&key);
                    } else if t.alert.state == AlertState::Firing {
                        t.alert.state = AlertState::NoData;
                        if !silenced && t.notified.is_some() {
                            out.push(t.event(AlertEventKind::NoData, now));
                        }
                    }
                }
            },
        }
    }

    /// The breach is gone: drops a pending alert, ends a firing one with an event of
    /// `kind` once `keep_firing_for` has passed.
    #[allow(clippy::too_many_arguments)]
    fn end(
        &mut self,
        key: Key,
        observed: f64,
        policy: &AlertPolicy,
        now: SystemTime,
        silenced: bool,
        kind: AlertEventKind,
        out: &mut Vec<AlertEvent>,
    ) {
        let Some(t) = self.open.get_mut(&key) else {
            return;
        };
        if t.alert.state == AlertState::Pending {
            self.open.remove(&key);
            return;
        }
        let since = *t.recovered_since.get_or_insert(now);
        if elapsed(now, since) < policy.keep_firing_for {
            return;
        }
        let mut t = self.open.remove(&key).expect("looked up above");
        // Told directly, not through an event: a silenced alert sends none.
        self.incidents.alert_ended(t.alert.id, now);
        let started_at = t.alert.firing_since.unwrap_or(t.alert.started_at);
        t.alert.observed = observed;
        if kind == AlertEventKind::Resolved {
            t.alert.message = format!(
                "{}: {} resolved after {}",
                t.alert.scope,
                t.alert.rule_id,
                crate::names::duration(elapsed(now, started_at))
            );
        }
        if !silenced && t.notified.is_some() {
            out.push(t.event(kind, now));
        }
        self.history.push(ResolvedAlert {
            id: t.alert.id,
            rule_id: t.alert.rule_id,
            scope: t.alert.scope,
            peak_severity: t.peak,
            started_at,
            resolved_at: now,
            time_to_resolve: elapsed(now, started_at),
        });
    }

    pub(crate) fn snooze(&mut self, rule_id: &str, scope: Scope, until: SystemTime) {
        self.silences.push(Silence {
            rule_id: rule_id.to_owned(),
            scope,
            until,
        });
    }

    /// The event announcing that rule `rule_id` was disabled for panicking `panics`
    /// times in a row; it opens no alert.
    pub(crate) fn rule_disabled(
        &mut self,
        rule_id: &str,
        panics: u32,
        message: &str,
        at: SystemTime,
    ) -> AlertEvent {
        self.next_id += 1;
        AlertEvent {
            alert_id: AlertId(self.next_id),
            kind: AlertEventKind::RuleDisabled,
            rule_id: rule_id.to_owned(),
            scope: Scope::Overall,
            severity: Severity::Critical,
            observed: f64::from(panics),
            threshold: f64::from(panics),
            message: format!("rule {rule_id} disabled after {panics} panics in a row: {message}"),
            at,
            started_at: at,
        }
    }

    pub(crate) fn acknowledge(&mut self, id: AlertId) -> bool {
        self.open
            .values_mut()
            .find(|t| t.alert.id == id)
            .map(|t| t.alert.acknowledged = true)
            .is_some()
    }

    /// The highest severity of the firing alerts scoped to each model.
    pub(crate) fn firing_by_model(&self) -> BTreeMap<&str, Severity> {
        let mut out = BTreeMap::new();
        for t in self.open.values() {
            let a = &t.alert;
            if let (AlertState::Firing, Scope::Model(m)) = (a.state, &a.scope) {
                let s = out.entry(m.as_str()).or_insert(a.severity);
                *s = (*s).max(a.severity);
            }
        }
        out
    }

    #[cfg(feature = "persist")]
    /// What a store keeps of this state besides the logs.
    pub(crate) fn saved(&self) -> SavedAlerts {
        SavedAlerts {
            next_id: self.next_id,
            open: self.open.values().cloned().collect(),
            silences: self.silences.clone(),
            incidents: self.incidents.saved(),
        }
    }

    #[cfg(feature = "persist")]
    /// The logs a store writes entry by entry.
    pub(crate) fn logs(&self) -> AlertLogs<'_> {
        AlertLogs {
            history: &self.history,
            recent: &self.recent,
            incidents: self.incidents.log(),
        }
    }

    #[cfg(feature = "persist")]
    /// The state a store saved, with its logs' entries (sequence number, entry).
    pub(crate) fn restore(
        saved: SavedAlerts,
        history: Vec<(u64, ResolvedAlert)>,
        recent: Vec<(u64, AlertEvent)>,
        incidents: Vec<(u64, Incident)>,
    ) -> Self {
        Self {
            next_id: saved.next_id,
            open: saved
                .open
                .into_iter()
                .map(|t| ((t.alert.rule_id.clone(), t.alert.scope.clone()), t))
                .collect(),
            silences: saved.silences,
            history: Log::restore(HISTORY_CAP, history),
            recent: Log::restore(RECENT_CAP, recent),
            incidents: Incidents::restore(saved.incidents, incidents),
        }
    }

    pub(crate) fn active(&self) -> Vec<Alert> {
        self.open.values().map(|t| t.alert.clone()).collect()
    }

    pub(crate) fn history(&self) -> Vec<ResolvedAlert> {
        self.history.iter().cloned().collect()
    }

    pub(crate) fn recent(&self) -> Vec<AlertEvent> {
        self.recent.iter().cloned().collect()
    }

    /// Groups a tick's alert events (every rule's) into incidents.
    pub(crate) fn group(
        &mut self,
        events: &[AlertEvent],
        group_wait: Duration,
        now: SystemTime,
    ) -> Vec<IncidentEvent> {
        self.incidents.observe(events, group_wait, now)
    }

    pub(crate) fn incidents(&self) -> Vec<Incident> {
        self.incidents.open()
    }

    pub(crate) fn incident_history(&self) -> Vec<Incident> {
        self.incidents.history()
    }

    pub(crate) fn mean_time_to_resolve_incidents(&self) -> Option<Duration> {
        self.incidents.mean_time_to_resolve()
    }

    pub(crate) fn mean_time_to_resolve(&self) -> BTreeMap<String, Duration> {
        let mut sums: BTreeMap<String, (Duration, u32)> = BTreeMap::new();
        for r in self.history.iter() {
            let e = sums.entry(r.rule_id.clone()).or_default();
            e.0 += r.time_to_resolve;
            e.1 += 1;
        }
        sums.into_iter().map(|(k, (sum, n))| (k, sum / n)).collect()
    }
}

impl Tracked {
    fn new(id: AlertId, rule_id: &str, f: &Finding, severity: Severity, now: SystemTime) -> Self {
        Self {
            alert: Alert {
                id,
                rule_id: rule_id.to_owned(),
                scope: f.scope.clone(),
                state: AlertState::Pending,
                severity,
                observed: f.observed,
                threshold: f.threshold,
                message: f.message.clone(),
                started_at: now,
                firing_since: None,
                acknowledged: false,
            },
            peak: severity,
            notified: None,
            last_notified: now,
            recovered_since: None,
            lower_since: None,
        }
    }

    /// Updates the state for a breach of `severity` observed at `now`.
    fn breach(&mut self, severity: Severity, f: &Finding, policy: &AlertPolicy, now: SystemTime) {
        let a = &mut self.alert;
        a.observed = f.observed;
        self.recovered_since = None;
        match a.state {
            AlertState::Pending => {
                a.severity = a.severity.max(severity);
                if elapsed(now, a.started_at) >= policy.for_duration {
                    a.state = AlertState::Firing;
                    a.firing_since = Some(now);
                    a.severity = severity;
                }
            }
            AlertState::Firing | AlertState::NoData => {
                a.state = AlertState::Firing;
                if severity >= a.severity {
                    a.severity = severity;
                    self.lower_since = None;
                } else {
                    let since = *self.lower_since.get_or_insert(now);
                    if elapsed(now, since) >= policy.keep_firing_for {
                        a.severity = severity;
                        self.lower_since = None;
                    }
                }
            }
        }
        // The line and message follow the finding only when it speaks for the
        // alert's severity (not while a de-escalation waits out keep_firing_for).
        if a.severity == severity {
            a.threshold = f.threshold;
            a.message.clone_from(&f.message);
        }
        self.peak = self.peak.max(a.severity);
    }

    /// Emits what the outside world has not been told yet about a firing alert.
    fn announce(&mut self, policy: &AlertPolicy, now: SystemTime, out: &mut Vec<AlertEvent>) {
        if self.alert.state != AlertState::Firing {
            return;
        }
        let severity = self.alert.severity;
        let kind = match self.notified {
            None => AlertEventKind::Firing,
            Some(told) if severity > told => {
                self.alert.acknowledged = false;
                AlertEventKind::Escalated
            }
            Some(told) if severity < told => AlertEventKind::Deescalated,
            Some(_)
                if !self.alert.acknowledged
                    && elapsed(now, self.last_notified) >= policy.renotify_interval =>
            {
                AlertEventKind::Renotified
            }
            Some(_) => return,
        };
        self.notified = Some(severity);
        self.last_notified = now;
        out.push(self.event(kind, now));
    }

    fn event(&self, kind: AlertEventKind, at: SystemTime) -> AlertEvent {
        let a = &self.alert;
        AlertEvent {
            alert_id: a.id,
            kind,
            rule_id: a.rule_id.clone(),
            scope: a.scope.clone(),
            severity: a.severity,
            observed: a.observed,
            threshold: a.threshold,
            message: a.message.clone(),
            at,
            started_at: a.started_at,
        }
    }
}
