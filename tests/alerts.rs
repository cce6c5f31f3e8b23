//! The alert lifecycle, one ManualClock scenario per behaviour, through the public API.

mod common;

use std::sync::Arc;
use std::time::Duration;

use modelmeter::{
    AlertEvent, AlertEventKind, AlertId, AlertState, AnomalyRule, Config, ExportBatch, ExportError,
    Exporter, Finding, ManualClock, Metric, Monitor, NoDataPolicy, Rule, RuleView, Scope,
    Selection, Severity, ThresholdRule,
};
use parking_lot::Mutex;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, LogNormal};

const MINUTE: Duration = Duration::from_secs(60);

/// Keeps every alert event exporters are handed.
#[derive(Clone, Default)]
struct Alerts(Arc<Mutex<Vec<AlertEvent>>>);

impl Exporter for Alerts {
    fn export(&mut self, batch: &ExportBatch) -> Result<(), ExportError> {
        self.0.lock().extend(batch.alerts.iter().cloned());
        Ok(())
    }
}

impl Alerts {
    fn kinds(&self) -> Vec<(AlertEventKind, Severity)> {
        self.0.lock().iter().map(|e| (e.kind, e.severity)).collect()
    }
    fn take(&self) -> Vec<AlertEvent> {
        std::mem::take(&mut *self.0.lock())
    }
}

struct Sim {
    clock: ManualClock,
    monitor: Monitor,
    alerts: Alerts,
}

/// A monitor with only `rules` (the default KPI rules off unless `defaults`).
fn sim(defaults: bool, rules: Vec<Box<dyn Rule>>) -> Sim {
    let clock = ManualClock::new(common::start());
    let alerts = Alerts::default();
    let mut config = Config::default();
    config.monitoring.alerting.enabled = defaults;
    let mut b = Monitor::builder()
        .clock(clock.clone())
        .config(config)
        .exporter(alerts.clone())
        .background(false);
    for r in rules {
        b = b.rule(r);
    }
    Sim {
        clock,
        monitor: b.build().unwrap(),
        alerts,
    }
}

impl Sim {
    /// Records `n` selections of `model` at `ms` each, `errors` of them failed, spread
    /// over the current minute; then moves to the next minute and ticks.
    fn minute(&self, traffic: &[(&str, u64, u64, u64)]) {
        for &(model, n, ms, errors) in traffic {
            for i in 0..n {
                let s = Selection::new(model, Duration::from_millis(ms)).error(i < errors);
                self.monitor.record_selection(&s).unwrap();
            }
        }
        self.clock.advance(MINUTE);
        self.monitor.tick();
    }
}

/// p95 latency per model over the last minute: warning past 3 s, critical past 5 s;
/// judged on that minute alone, so each test sees the lifecycle, not the evidence.
fn p95_rule() -> ThresholdRule {
    ThresholdRule::new("p95", Metric::LatencyP95, 3000.0, 5000.0)
        .window(MINUTE)
        .evidence_windows([])
        .for_duration(2 * MINUTE)
        .keep_firing_for(Duration::ZERO)
}

#[test]
fn a_breach_shorter_than_for_never_fires() {
    let s = sim(false, vec![Box::new(p95_rule())]);
    s.minute(&[("gpt-4o", 500, 800, 0)]);
    s.minute(&[("gpt-4o", 500, 4000, 0)]);
    s.minute(&[("gpt-4o", 500, 4000, 0)]);
    assert_eq!(s.monitor.active_alerts()[0].state, AlertState::Pending);
    for _ in 0..10 {
        s.minute(&[("gpt-4o", 500, 800, 0)]);
    }
    assert!(s.alerts.kinds().is_empty(), "{:?}", s.alerts.kinds());
    assert!(s.monitor.active_alerts().is_empty());
}

#[test]
fn a_breach_longer_than_for_fires_exactly_once_and_resolves() {
    let s = sim(false, vec![Box::new(p95_rule())]);
    for _ in 0..30 {
        s.minute(&[("gpt-4o", 500, 4000, 0)]);
    }
    assert_eq!(
        s.alerts.kinds(),
        [(AlertEventKind::Firing, Severity::Warning)]
    );
    let e = s.alerts.0.lock()[0].clone();
    assert_eq!(e.scope, Scope::model("gpt-4o"));
    assert_eq!(e.rule_id, "p95");
    assert_eq!(e.threshold, 3000.0);
    s.minute(&[("gpt-4o", 500, 800, 0)]);
    assert_eq!(
        s.alerts.kinds(),
        [
            (AlertEventKind::Firing, Severity::Warning),
            (AlertEventKind::Resolved, Severity::Warning)
        ]
    );
    let history = s.monitor.alert_history();
    assert_eq!(history.len(), 1);
    // Breach seen at ticks 1..=30; pending from tick 1, firing from tick 3, resolved at 31.
    assert_eq!(history[0].time_to_resolve, 28 * MINUTE);
    assert_eq!(s.monitor.mean_time_to_resolve()["p95"], 28 * MINUTE);
}

#[test]
fn an_oscillating_metric_notifies_at_most_once_per_renotify_interval() {
    let rule = ThresholdRule::new("errors", Metric::ErrorRate, 0.5, 0.9)
        .window(MINUTE)
        .min_samples(1)
        .wilson_z(0.0)
        .for_duration(Duration::ZERO)
        .keep_firing_for(3 * MINUTE)
        .renotify_every(30 * MINUTE);
    let s = sim(false, vec![Box::new(rule)]);
    for i in 0..120 {
        let errors = if i % 2 == 0 { 40 } else { 0 };
        s.minute(&[("gpt-4o", 40, 500, errors)]);
    }
    let kinds = s.alerts.kinds();
    // One firing, then one reminder per 30 minutes over two hours: at most 1 + 4.
    assert_eq!(kinds[0].0, AlertEventKind::Firing);
    assert!(kinds.len() <= 5, "{kinds:?}");
    assert!(
        kinds.iter().all(|k| k.0 != AlertEventKind::Resolved),
        "{kinds:?}"
    );
}

#[test]
fn a_snoozed_scope_stays_silent_and_resumes_after() {
    let rule = p95_rule().for_duration(Duration::ZERO);
    let s = sim(false, vec![Box::new(rule)]);
    s.monitor
        .snooze("p95", Scope::model("gpt-4o"), common::start() + 10 * MINUTE);
    for _ in 0..8 {
        s.minute(&[("gpt-4o", 50, 4000, 0), ("claude", 50, 4000, 0)]);
    }
    // Only the unsnoozed model was announced.
    let events = s.alerts.take();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].scope, Scope::model("claude"));
    for _ in 0..4 {
        s.minute(&[("gpt-4o", 50, 4000, 0), ("claude", 50, 4000, 0)]);
    }
    let events = s.alerts.take();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].scope, Scope::model("gpt-4o"));
    assert_eq!(events[0].kind, AlertEventKind::Firing);
    assert_eq!(events[0].at, common::start() + 10 * MINUTE);
}

#[test]
fn escalation_then_recovery_emits_exactly_those_events() {
    let s = sim(false, vec![Box::new(p95_rule())]);
    for _ in 0..5 {
        s.minute(&[("gpt-4o", 500, 4000, 0)]);
    }
    for _ in 0..5 {
        s.minute(&[("gpt-4o", 500, 6000, 0)]);
    }
    for _ in 0..5 {
        s.minute(&[("gpt-4o", 500, 500, 0)]);
    }
    assert_eq!(
        s.alerts.kinds(),
        [
            (AlertEventKind::Firing, Severity::Warning),
            (AlertEventKind::Escalated, Severity::Critical),
            (AlertEventKind::Resolved, Severity::Critical),
        ]
    );
    assert_eq!(
        s.monitor.alert_history()[0].peak_severity,
        Severity::Critical
    );
}

#[test]
fn per_model_scope_fires_for_the_bad_model_only() {
    // The default rules: error rate 2% / 5% / 10%, per model, Wilson-judged.
    let s = sim(true, vec![]);
    for _ in 0..10 {
        s.minute(&[("good", 100, 400, 1), ("bad", 100, 400, 20)]);
    }
    let events = s.alerts.take();
    let error_alerts: Vec<_> = events
        .iter()
        .filter(|e| e.rule_id == "error_rate")
        .collect();
    assert_eq!(error_alerts.len(), 1, "{events:?}");
    assert_eq!(error_alerts[0].scope, Scope::model("bad"));
    assert_eq!(error_alerts[0].severity, Severity::Critical);
    // Caught within minutes: pending at the first tick, firing after `for` (2 min).
    assert!(error_alerts[0].at <= common::start() + 4 * MINUTE);
}

#[test]
fn two_errors_in_thirty_page_nobody() {
    let s = sim(true, vec![]);
    s.minute(&[("gpt-4o", 15, 400, 1)]);
    s.minute(&[("gpt-4o", 15, 400, 1)]);
    for _ in 0..10 {
        s.minute(&[("gpt-4o", 3, 400, 0)]);
    }
    assert!(
        s.alerts.take().iter().all(|e| e.rule_id != "error_rate"),
        "6.7% over 30 selections is not credible evidence against a 5% line"
    );
}

#[test]
fn min_samples_blocks_a_lone_slow_request() {
    let s = sim(true, vec![]);
    for _ in 0..10 {
        s.minute(&[("gpt-4o", 1, 30_000, 0)]);
    }
    assert!(s.alerts.take().is_empty());
    assert!(s.monitor.active_alerts().is_empty());
}

#[test]
fn acknowledged_alerts_are_not_renotified_until_they_escalate() {
    let rule = p95_rule()
        .for_duration(Duration::ZERO)
        .renotify_every(5 * MINUTE);
    let s = sim(false, vec![Box::new(rule)]);
    s.minute(&[("gpt-4o", 50, 4000, 0)]);
    let id = s.monitor.active_alerts()[0].id;
    assert!(s.monitor.acknowledge(id));
    assert!(!s.monitor.acknowledge(AlertId::from(id.get() + 100)));
    for _ in 0..20 {
        s.minute(&[("gpt-4o", 50, 4000, 0)]);
    }
    assert_eq!(s.alerts.kinds().len(), 1);
    s.minute(&[("gpt-4o", 50, 6000, 0)]);
    assert_eq!(
        s.alerts.kinds().last().unwrap().0,
        AlertEventKind::Escalated
    );
    assert!(!s.monitor.active_alerts()[0].acknowledged);
}

#[test]
fn unacknowledged_alerts_are_renotified_on_the_interval() {
    let rule = p95_rule()
        .for_duration(Duration::ZERO)
        .renotify_every(5 * MINUTE);
    let s = sim(false, vec![Box::new(rule)]);
    for _ in 0..21 {
        s.minute(&[("gpt-4o", 50, 4000, 0)]);
    }
    let kinds: Vec<_> = s.alerts.kinds().into_iter().map(|k| k.0).collect();
    use AlertEventKind::*;
    assert_eq!(
        kinds,
        [Firing, Renotified, Renotified, Renotified, Renotified]
    );
}

#[test]
fn no_data_policies() {
    let mark = p95_rule()
        .for_duration(Duration::ZERO)
        .no_data(NoDataPolicy::MarkNoData);
    let s = sim(false, vec![Box::new(mark)]);
    s.minute(&[("gpt-4o", 50, 4000, 0)]);
    s.minute(&[("gpt-4o", 5, 4000, 0)]); // below min_samples: no data
    s.minute(&[("gpt-4o", 5, 4000, 0)]);
    use AlertEventKind::*;
    let kinds: Vec<_> = s.alerts.kinds().into_iter().map(|k| k.0).collect();
    assert_eq!(kinds, [Firing, NoData]);
    assert_eq!(s.monitor.active_alerts()[0].state, AlertState::NoData);

    let keep = p95_rule().for_duration(Duration::ZERO);
    let s = sim(false, vec![Box::new(keep)]);
    s.minute(&[("gpt-4o", 50, 4000, 0)]);
    for _ in 0..5 {
        s.minute(&[("gpt-4o", 5, 4000, 0)]);
    }
    assert_eq!(s.alerts.kinds().len(), 1);
    assert_eq!(s.monitor.active_alerts()[0].state, AlertState::Firing);

    let resolve = p95_rule()
        .for_duration(Duration::ZERO)
        .no_data(NoDataPolicy::Resolve);
    let s = sim(false, vec![Box::new(resolve)]);
    s.minute(&[("gpt-4o", 50, 4000, 0)]);
    s.minute(&[("gpt-4o", 5, 4000, 0)]);
    let kinds: Vec<_> = s.alerts.kinds().into_iter().map(|k| k.0).collect();
    assert_eq!(kinds, [Firing, Resolved]);
}

/// A host's own rule: a model whose traffic share passes 80%.
struct Dominant;

impl Rule for Dominant {
    fn id(&self) -> &str {
        "dominant_model"
    }
    fn evaluate(&mut self, view: &RuleView<'_>) -> Vec<Finding> {
        let w = Duration::from_secs(300);
        let Some(total) = view.overall(w).map(|s| s.count as f64) else {
            return vec![];
        };
        view.models(w)
            .filter(|(_, s)| s.count as f64 / total > 0.8)
            .map(|(m, s)| {
                let share = s.count as f64 / total;
                Finding::breach(Scope::model(m), Severity::Warning, share, 0.8, "dominant")
            })
            .collect()
    }
}

#[test]
fn default_thresholds_and_a_custom_rule_reach_the_exporter() {
    let s = sim(true, vec![Box::new(Dominant)]);
    for _ in 0..6 {
        s.minute(&[("gpt-4o", 200, 6500, 0), ("gpt-4o-mini", 10, 300, 0)]);
    }
    let events = s.alerts.take();
    let fired = |rule: &str, model: &str| {
        events.iter().any(|e| {
            e.rule_id == rule && e.scope == Scope::model(model) && e.kind == AlertEventKind::Firing
        })
    };
    assert!(fired("response_time", "gpt-4o"), "{events:#?}");
    assert!(!fired("response_time", "gpt-4o-mini"));
    assert!(fired("dominant_model", "gpt-4o"));
    let rt = events
        .iter()
        .find(|e| e.rule_id == "response_time")
        .unwrap();
    assert_eq!(rt.severity, Severity::Critical);
    assert!(rt.message.contains("p95 latency"), "{}", rt.message);
    // Queryable as well as exported.
    assert_eq!(s.monitor.recent_alert_events(), events);
    assert!(
        s.monitor
            .active_alerts()
            .iter()
            .any(|a| a.rule_id == "dominant_model")
    );
}

#[test]
fn duplicate_rule_ids_are_refused() {
    let e = Monitor::builder()
        .background(false)
        .rule(p95_rule())
        .rule(p95_rule())
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("p95"), "{e}");
    let e = Monitor::builder()
        .background(false)
        .rule(ThresholdRule::new("x", Metric::ErrorRate, 0.2, 0.1))
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("rules.x.warning"), "{e}");
}

/// Steady traffic with realistic variance: 4 models, 100 selections a minute each,
/// log-normal latencies. Returns the fraction of 5-minute windows after warm-up in
/// which an anomaly alert was firing, and the simulation.
fn steady_day(hours: u64, step_at: Option<u64>) -> (f64, Sim, Vec<u64>) {
    let rule = AnomalyRule::new("p95_anomaly", Metric::LatencyP95).warmup(12);
    let s = sim(false, vec![Box::new(rule)]);
    let mut rng = StdRng::seed_from_u64(7);
    let models = ["a", "b", "c", "d"];
    let dists: Vec<_> = [400.0f64, 900.0, 1500.0, 250.0]
        .iter()
        .map(|m| LogNormal::new(m.ln(), 0.6).unwrap())
        .collect();
    let mut firing_windows = 0u64;
    let mut judged_windows = 0u64;
    let mut fired_at = Vec::new();
    for minute in 0..hours * 60 {
        let factor = match step_at {
            Some(at) if minute >= at => 3.0,
            _ => 1.0,
        };
        for (i, m) in models.iter().enumerate() {
            let scale = if i == 0 { factor } else { 1.0 };
            for _ in 0..100 {
                let ms = dists[i].sample(&mut rng) * scale;
                let sel = Selection::new(m, Duration::from_secs_f64(ms / 1000.0));
                s.monitor.record_selection(&sel).unwrap();
            }
        }
        s.clock.advance(MINUTE);
        s.monitor.tick();
        for e in s.alerts.take() {
            if e.kind == AlertEventKind::Firing {
                fired_at.push(minute + 1);
            }
        }
        // One judgement per model per 5-minute window, after an hour of warm-up.
        if minute >= 60 && minute % 5 == 0 {
            let active = s.monitor.active_alerts();
            for m in models {
                judged_windows += 1;
                let scope = Scope::model(m);
                if active
                    .iter()
                    .any(|a| a.scope == scope && a.state == AlertState::Firing)
                {
                    firing_windows += 1;
                }
            }
        }
    }
    (firing_windows as f64 / judged_windows as f64, s, fired_at)
}

#[test]
fn the_anomaly_rule_stays_quiet_on_noise() {
    let (rate, _, fired) = steady_day(24, None);
    assert!(
        rate < 0.05,
        "false alarms in {:.1}% of windows",
        rate * 100.0
    );
    eprintln!(
        "anomaly false-alarm rate: {:.2}% of windows, {} firings in 24 h",
        rate * 100.0,
        fired.len()
    );
}

#[test]
fn the_anomaly_rule_catches_a_3x_latency_step() {
    let step = 180;
    let (_, s, fired) = steady_day(4, Some(step));
    let first = fired
        .iter()
        .find(|&&m| m > step)
        .expect("the step was caught");
    // No `for` delay: the window is credibly past 1.25× its normal p95 within a minute
    // or two of a 3× step.
    assert!(
        *first <= step + 4,
        "caught at minute {first}, step at {step}"
    );
    let active = s.monitor.active_alerts();
    assert!(active.iter().any(|a| a.scope == Scope::model("a")));
    assert!(
        active.iter().all(|a| a.scope == Scope::model("a")),
        "{active:?}"
    );
}

/// Records `n` selections of `model` a minute for `minutes`, `slow` of them at `slow_ms`
/// and the rest at 400 ms.
fn slow_minutes(s: &Sim, model: &str, minutes: u64, n: u64, slow: u64, slow_ms: u64) {
    for _ in 0..minutes {
        for i in 0..n {
            let ms = if i < slow { slow_ms } else { 400 };
            let sel = Selection::new(model, Duration::from_millis(ms));
            s.monitor.record_selection(&sel).unwrap();
        }
        s.clock.advance(MINUTE);
        s.monitor.tick();
    }
}

#[test]
fn a_p95_line_is_judged_on_the_count_of_slow_selections() {
    // Two slow selections in twenty put the point p95 at 4 s, but 10% slow out of 20
    // is no evidence against a line that allows 5%.
    let rule =
        ThresholdRule::new("p95", Metric::LatencyP95, 3000.0, 5000.0).for_duration(Duration::ZERO);
    let s = sim(false, vec![Box::new(rule)]);
    slow_minutes(&s, "gpt-4o", 1, 20, 2, 4000);
    assert!(s.monitor.summary(5 * MINUTE).models["gpt-4o"].latency.p95 > Duration::from_secs(3));
    assert!(s.alerts.take().is_empty());
    // A third of 600 selections slow is: it fires at once (for = 0).
    slow_minutes(&s, "gpt-4o", 1, 600, 200, 4000);
    assert_eq!(
        s.alerts.kinds(),
        [(AlertEventKind::Firing, Severity::Warning)]
    );
}

#[test]
fn a_breach_ends_only_when_the_evidence_says_so() {
    let rule = ThresholdRule::new("p95", Metric::LatencyP95, 3000.0, 5000.0)
        .for_duration(Duration::ZERO)
        .keep_firing_for(Duration::ZERO);
    let s = sim(false, vec![Box::new(rule)]);
    slow_minutes(&s, "gpt-4o", 10, 100, 30, 4000);
    assert_eq!(s.alerts.take().len(), 1);
    // 6% slow sits just past the 5% line: not credibly inside, so it keeps firing for
    // hours, where a point estimate would clear and re-fire minute after minute.
    slow_minutes(&s, "gpt-4o", 240, 100, 6, 4000);
    let kinds: Vec<_> = s.alerts.take().into_iter().map(|e| e.kind).collect();
    assert!(
        kinds.iter().all(|k| *k == AlertEventKind::Renotified),
        "{kinds:?}"
    );
    assert_eq!(s.monitor.active_alerts()[0].state, AlertState::Firing);
    // Clearly back: resolved.
    slow_minutes(&s, "gpt-4o", 30, 100, 0, 4000);
    let kinds: Vec<_> = s.alerts.kinds().into_iter().map(|k| k.0).collect();
    assert_eq!(kinds, [AlertEventKind::Resolved]);
}

#[test]
fn a_lasting_shift_is_accepted_as_the_new_normal() {
    let rule = AnomalyRule::new("p95_anomaly", Metric::LatencyP95)
        .accept_after(Duration::from_secs(3600))
        .policy(modelmeter::AlertPolicy {
            for_duration: Duration::ZERO,
            keep_firing_for: Duration::ZERO,
            ..Default::default()
        });
    let s = sim(false, vec![Box::new(rule)]);
    let mut rng = StdRng::seed_from_u64(3);
    let normal = LogNormal::new(400f64.ln(), 0.4).unwrap();
    let mut run = |minutes: u64, factor: f64| {
        for _ in 0..minutes {
            for _ in 0..60 {
                let ms = normal.sample(&mut rng) * factor;
                let sel = Selection::new("gpt-4o", Duration::from_secs_f64(ms / 1000.0));
                s.monitor.record_selection(&sel).unwrap();
            }
            s.clock.advance(MINUTE);
            s.monitor.tick();
        }
    };
    run(120, 1.0);
    assert!(s.alerts.take().is_empty());
    run(150, 3.0);
    let events = s.alerts.take();
    let kinds: Vec<_> = events.iter().map(|e| e.kind).collect();
    // Fires (and escalates: 3x is past the critical +100%), then ends accepted.
    assert_eq!(kinds.first(), Some(&AlertEventKind::Firing), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&AlertEventKind::Accepted), "{kinds:?}");
    assert!(!kinds.contains(&AlertEventKind::Resolved), "{kinds:?}");
    let last = events.last().unwrap();
    assert!(last.message.contains("new normal"), "{}", last.message);
    // The new normal stays quiet.
    run(60, 3.0);
    assert!(s.alerts.take().is_empty());
    assert!(s.monitor.active_alerts().is_empty());
}

#[test]
fn a_fleet_wide_cache_drop_is_one_incident_not_eight_alerts() {
    let clock = ManualClock::new(common::start());
    let batches = common::Batches::default();
    let log = common::Shared::default();
    let mut config = Config::default();
    config.monitoring.alerting.enabled = false;
    let rule = ThresholdRule::new("cache", Metric::CacheHitRate, 0.8, 0.7)
        .window(MINUTE)
        .evidence_windows([])
        .for_duration(Duration::ZERO)
        .keep_firing_for(Duration::ZERO);
    let monitor = Monitor::builder()
        .clock(clock.clone())
        .config(config)
        .rule(rule)
        .exporter(batches.clone())
        .exporter(modelmeter::LogExporter::new(log.clone()))
        .background(false)
        .build()
        .unwrap();
    let models: Vec<String> = (0..8).map(|i| format!("model-{i}")).collect();
    let minute = |hit_every: u64| {
        for m in &models {
            for i in 0..500u64 {
                let s = Selection::new(m, Duration::from_millis(300)).cache_hit(i % 10 < hit_every);
                monitor.record_selection(&s).unwrap();
            }
        }
        clock.advance(MINUTE);
        monitor.tick();
    };
    for _ in 0..5 {
        minute(9); // 90% hits
    }
    for _ in 0..20 {
        minute(4); // 40% hits, everywhere at once
    }
    assert_eq!(monitor.incidents().len(), 1);
    for _ in 0..5 {
        minute(9);
    }
    let alerts = batches.flat(|b| &b.alerts);
    assert_eq!(
        alerts
            .iter()
            .filter(|e| e.kind == AlertEventKind::Firing)
            .count(),
        8
    );
    let incidents = batches.flat(|b| &b.incidents);
    let kinds: Vec<_> = incidents.iter().map(|e| e.kind).collect();
    use modelmeter::IncidentEventKind::{Opened, Resolved};
    assert_eq!(kinds, [Opened, Resolved], "{incidents:?}");
    assert_eq!(incidents[0].incident.alerts.len(), 8);
    assert_eq!(
        incidents[0].incident.group,
        modelmeter::IncidentGroup::Rule("cache".into())
    );
    assert!(monitor.incidents().is_empty());
    assert_eq!(monitor.incident_history().len(), 1);
    assert!(monitor.mean_time_to_resolve_incidents().is_some());
    // The log tells it once, opening and resolving, not eight times each.
    let text = log.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].contains("INCIDENT OPENED critical cache on 8 scopes: 8 alerts"),
        "{text}"
    );
    assert!(lines[1].contains("INCIDENT RESOLVED"), "{text}");
    // And the performance report lists it.
    let report = monitor.performance_report(Duration::from_secs(3600));
    assert_eq!(report.alerts.incidents.len(), 1);
    assert!(report.to_string().contains("incidents: 1"), "{report}");
}
