//! The optimizer through the public API: every built-in heuristic fires on a planted
//! problem and stays quiet without one; savings match a hand computation; the
//! actuator honours safety and cooldowns; recommendations reach exporters.

mod common;

use common::{Batches, Shared};

use std::sync::Arc;
use std::time::Duration;

use common::{build, drive, quiet};
use modelmeter::{
    Action, ActionOutcome, Actuator, ActuatorError, AnalysisView, Heuristic, LogExporter,
    ManualClock, Monitor, Priority, Recommendation, RecommendationKind, Selection,
};
use parking_lot::Mutex;

const DAY: Duration = Duration::from_secs(86_400);

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

fn ids(recs: &[Recommendation]) -> Vec<String> {
    recs.iter().map(|r| r.id.clone()).collect()
}

fn only(recs: &[Recommendation], kind: RecommendationKind) -> Vec<&Recommendation> {
    recs.iter().filter(|r| r.kind == kind).collect()
}

/// Two models with identical ordinary traffic, plus `third(minute, i)` on every third
/// selection, for one hour at 60 selections a minute.
fn fleet(
    config: modelmeter::Config,
    third: impl Fn(u64, u64) -> Selection<'static>,
) -> (ManualClock, Monitor) {
    let (clock, monitor) = build(config);
    drive(&clock, &monitor, 60, 60, |m, i| match i % 3 {
        0 => Selection::new("alpha", ms(400 + i))
            .cost_usd(0.002)
            .error(i % 60 == 7),
        1 => Selection::new("beta", ms(450 + i))
            .cost_usd(0.002)
            .error(i % 60 == 8),
        _ => third(m, i),
    });
    (clock, monitor)
}

/// Cache targets the fleet meets, so only the planted problem can fire.
fn tolerant() -> modelmeter::Config {
    let mut c = quiet();
    c.performance_metrics.cache_hit_rate.target = 0.0;
    c.performance_metrics.cache_hit_rate.warning = 0.0;
    c.performance_metrics.cache_hit_rate.critical = 0.0;
    c
}

#[test]
fn slow_responses_fire_above_ten_percent_and_not_below() {
    // 20% of gamma's selections take 3 s, over the 2 s target.
    let (_, m) = fleet(tolerant(), |_, i| {
        Selection::new("gamma", if i % 5 == 2 { ms(3000) } else { ms(500) })
    });
    let recs = m.recommendations();
    assert_eq!(ids(&recs), ["slow_responses/gamma"], "{recs:#?}");
    let share = recs[0].evidence_value("share_above_target").unwrap();
    assert!((0.15..=0.25).contains(&share), "{share}");

    // 5% slow: within the allowance.
    let (_, m) = fleet(tolerant(), |_, i| {
        Selection::new("gamma", if i % 20 == 2 { ms(3000) } else { ms(500) })
    });
    assert!(m.recommendations().is_empty());
}

#[test]
fn low_cache_hit_rate_names_the_outlier_with_hand_computed_savings() {
    let mut config = tolerant();
    config.performance_metrics.cache_hit_rate.target = 0.25;
    let (clock, m) = build(config.clone());
    // alpha and beta hit 40% of the time; gamma 5%. Misses cost $0.01 and take
    // 800 ms, hits $0.001 and 40 ms.
    drive(&clock, &m, 60, 60, |_, i| {
        let (model, hit) = match i % 3 {
            0 => ("alpha", i % 5 < 2),
            1 => ("beta", i % 5 < 2),
            _ => ("gamma", i % 20 == 2),
        };
        Selection::new(model, if hit { ms(40) } else { ms(800) })
            .cost_usd(if hit { 0.001 } else { 0.01 })
            .cache_hit(hit)
    });
    let recs = m.recommendations();
    assert_eq!(ids(&recs), ["low_cache_hit_rate/gamma"], "{recs:#?}");
    let s = m.summary(DAY);
    let g = &s.models["gamma"];
    let rest = (s.overview.cache_hits - g.cache_hits) as f64 / (s.overview.count - g.count) as f64;
    let span = s.end.duration_since(s.start).unwrap().as_secs_f64();
    let hand =
        (rest - g.cache_hit_rate) * g.count as f64 * (0.01 - 0.001) * (30.0 * 86_400.0 / span);
    let got = recs[0].savings_usd_per_30d.unwrap();
    assert!((got - hand).abs() < 1e-6 * hand, "{got} vs {hand}");

    // Everyone at 40%: nothing to say.
    let (clock, m) = build(config);
    drive(&clock, &m, 60, 60, |_, i| {
        let model = ["alpha", "beta", "gamma"][(i % 3) as usize];
        Selection::new(model, ms(300)).cache_hit(i % 5 < 2)
    });
    assert!(m.recommendations().is_empty());
}

#[test]
fn the_fleet_below_its_cache_target_is_reported_once() {
    let (_, m) = fleet(quiet(), |_, _| {
        Selection::new("gamma", ms(400)).cost_usd(0.002)
    });
    let recs = m.recommendations();
    assert_eq!(ids(&recs), ["low_cache_hit_rate/fleet"]);
    assert_eq!(recs[0].priority, Priority::Low);
}

#[test]
fn high_cost_per_selection_fires_above_the_bound() {
    let (_, m) = fleet(tolerant(), |_, _| {
        Selection::new("gamma", ms(400)).cost_usd(0.08)
    });
    let recs = m.recommendations();
    let high = only(&recs, RecommendationKind::HighCostPerSelection);
    assert_eq!(high.len(), 1, "{recs:#?}");
    assert_eq!(high[0].model.as_deref(), Some("gamma"));
    assert_eq!(high[0].evidence_value("mean_cost_usd"), Some(0.08));

    let (_, m) = fleet(tolerant(), |_, _| {
        Selection::new("gamma", ms(400)).cost_usd(0.01)
    });
    assert!(m.recommendations().is_empty());
}

#[test]
fn error_hotspot_needs_a_real_excess_and_enough_samples() {
    let (_, m) = fleet(tolerant(), |_, i| {
        Selection::new("gamma", ms(400)).error(i % 20 < 3)
    });
    let recs = m.recommendations();
    assert_eq!(ids(&recs), ["error_hotspot/gamma"], "{recs:#?}");
    assert_eq!(recs[0].priority, Priority::Critical); // 15% is past the 10% line
    assert!(recs[0].evidence_value("rest_of_fleet_rate").unwrap() < 0.02);

    // Same rate as the others: silent.
    let (_, m) = fleet(tolerant(), |_, i| {
        Selection::new("gamma", ms(400)).error(i % 60 == 9)
    });
    assert!(m.recommendations().is_empty());

    // Half its selections fail, but there are only 60 of them.
    let (_, m) = fleet(tolerant(), |minute, i| {
        let model = if minute == 0 { "gamma" } else { "alpha" };
        Selection::new(model, ms(400)).error(minute == 0 && i % 2 == 0)
    });
    assert!(m.recommendations().is_empty());
}

/// `big` and `small` serve easy tasks (complexity 0.05, 0.15, 0.25); `small` is 10×
/// cheaper with accuracy `small_accuracy` against `big`'s 0.97.
fn bands_scenario(small_accuracy: f64) -> Monitor {
    let (clock, m) = build(tolerant());
    drive(&clock, &m, 60, 60, |minute, i| {
        let n = minute * 60 + i;
        let complexity = [0.05, 0.15, 0.25][(n % 3) as usize];
        let big = n % 2 == 0;
        let k = (n / 2 % 100) as f64 / 100.0;
        let correct = k < if big { 0.97 } else { small_accuracy };
        Selection::new(if big { "big" } else { "small" }, ms(500))
            .cost_usd(if big { 0.01 } else { 0.001 })
            .complexity(complexity)
            .accuracy(if correct { 1.0 } else { 0.0 })
            .satisfaction(0.9)
    });
    m
}

#[test]
fn cheaper_equivalent_merges_bands_and_prices_the_move() {
    let m = bands_scenario(0.96);
    let recs = m.recommendations();
    assert_eq!(
        ids(&recs),
        ["cheaper_equivalent/big->small@0.0"],
        "{recs:#?}"
    );
    let r = &recs[0];
    assert_eq!(r.title, "Route complexity < 0.3 traffic from big to small");
    assert!(r.auto_apply);
    assert_eq!(
        r.action,
        Some(Action::Reroute {
            from: "big".into(),
            to: "small".into(),
            min_complexity: 0.0,
            max_complexity: 0.3
        })
    );
    // Hand computation: 1800 selections of big moved, $0.009 saved on each, over a
    // 24-hour window scaled to 30 days.
    let s = m.summary(DAY);
    let span = s.end.duration_since(s.start).unwrap().as_secs_f64();
    let hand = 1800.0 * 0.009 * 30.0 * 86_400.0 / span;
    let got = r.savings_usd_per_30d.unwrap();
    assert!((got - hand).abs() < 1e-6 * hand, "{got} vs {hand}");
    assert_eq!(r.evidence_value("selections_moved"), Some(1800.0));

    // Five points less accurate: not an equivalent.
    assert!(bands_scenario(0.92).recommendations().is_empty());
}

#[test]
fn regression_needs_a_significant_and_material_rise() {
    // gamma's latency grows 10% per hour for 12 hours; alpha stays flat with noise.
    let run = |growth: f64| {
        let (clock, m) = build(tolerant());
        drive(&clock, &m, 12 * 60, 4, |minute, i| {
            let hour = (minute / 60) as f64;
            let jitter = ((minute * 7 + i * 13) % 11) as f64 * 5.0;
            let model = if i % 2 == 0 { "alpha" } else { "gamma" };
            let base = if model == "gamma" {
                600.0 * (1.0 + growth).powf(hour)
            } else {
                600.0
            };
            Selection::new(model, Duration::from_secs_f64((base + jitter) / 1000.0))
        });
        m.recommendations()
    };
    let recs = run(0.10);
    let reg = only(&recs, RecommendationKind::Regression);
    assert!(
        reg.iter().any(|r| r.id == "regression/gamma/p95_latency"),
        "{recs:#?}"
    );
    assert!(reg.iter().all(|r| r.model.as_deref() != Some("alpha")));
    let growth = reg
        .iter()
        .find(|r| r.id == "regression/gamma/p95_latency")
        .unwrap();
    assert!(growth.evidence_value("growth").unwrap() > 1.0);

    // Flat: nothing. A real but tiny drift (0.5% per hour): nothing either.
    assert!(only(&run(0.0), RecommendationKind::Regression).is_empty());
    assert!(only(&run(0.005), RecommendationKind::Regression).is_empty());
}

#[test]
fn correlation_reports_latency_and_errors_moving_together() {
    let run = |coupled: bool| {
        let (clock, m) = build(tolerant());
        drive(&clock, &m, 12 * 60, 6, |minute, i| {
            let hour = minute / 60;
            // A load level per hour, in a scrambled order so there is no trend.
            let load = hour * 5 % 12;
            let model = if i % 2 == 0 { "alpha" } else { "gamma" };
            let slow = model == "gamma" && i % 12 < load;
            let error = if coupled {
                slow
            } else {
                model == "gamma" && i % 12 == 1
            };
            Selection::new(model, if slow { ms(2000) } else { ms(300) }).error(error)
        });
        m.recommendations()
    };
    let recs = run(true);
    let corr = only(&recs, RecommendationKind::Correlation);
    assert_eq!(corr.len(), 1, "{recs:#?}");
    assert_eq!(corr[0].id, "correlation/gamma/latency~error_rate");
    assert!(corr[0].evidence_value("r").unwrap() > 0.9);
    assert!(only(&run(false), RecommendationKind::Correlation).is_empty());
}

#[test]
fn recommendations_are_stable_and_ranked() {
    let (_, m) = fleet(quiet(), |_, i| {
        Selection::new("gamma", if i % 4 == 0 { ms(4000) } else { ms(400) })
            .error(i % 10 < 2)
            .cost_usd(0.002)
    });
    let a = m.recommendations();
    let b = m.recommendations();
    assert_eq!(a, b);
    assert!(a.windows(2).all(|w| w[0].priority >= w[1].priority));
    assert_eq!(a[0].id, "error_hotspot/gamma");
}

/// An actuator that records what it was asked to apply and can be told to fail.
#[derive(Clone, Default)]
struct Recorder {
    applied: Arc<Mutex<Vec<String>>>,
    fail: Arc<Mutex<bool>>,
}

impl Actuator for Recorder {
    fn apply(&mut self, rec: &Recommendation) -> Result<(), ActuatorError> {
        if *self.fail.lock() {
            return Err(ActuatorError::new("router refused"));
        }
        self.applied.lock().push(rec.id.clone());
        Ok(())
    }
}

#[test]
fn the_actuator_applies_safe_actions_once_per_kind_per_cooldown() {
    let recorder = Recorder::default();
    *recorder.fail.lock() = true;
    let clock = ManualClock::new(common::start());
    let mut config = tolerant();
    config.optimizer.cooldown = Duration::from_secs(2 * 3600);
    let m = Monitor::builder()
        .clock(clock.clone())
        .config(config)
        .actuator(recorder.clone())
        .background(false)
        .build()
        .unwrap();
    // Two cheaper-equivalent pairs (big->small on easy tasks, huge->medium on hard
    // ones) and an error hotspot, which is not safe to apply.
    drive(&clock, &m, 59, 60, |_, i| {
        let (model, cost, c) = match i % 5 {
            0 => ("big", 0.01, 0.1),
            1 => ("small", 0.001, 0.1),
            2 => ("huge", 0.02, 0.9),
            3 => ("medium", 0.002, 0.9),
            _ => ("flaky", 0.002, 0.5),
        };
        Selection::new(model, ms(500))
            .cost_usd(cost)
            .complexity(c)
            .accuracy(1.0)
            .error(model == "flaky" && i % 3 == 0)
    });
    assert!(
        m.applied_actions().is_empty(),
        "nothing runs before the hour"
    );
    // 01:00: the first optimizer run; the actuator fails and it is recorded.
    drive(&clock, &m, 1, 0, |_, _| unreachable!());
    let log = m.applied_actions();
    assert_eq!(log.len(), 1, "{log:#?}");
    assert!(
        matches!(&log[0].outcome, ActionOutcome::Failed { error } if error == "router refused")
    );
    // 02:00: it works now; only one action of the kind, the cooldown holds the other.
    *recorder.fail.lock() = false;
    drive(&clock, &m, 60, 0, |_, _| unreachable!());
    assert_eq!(recorder.applied.lock().len(), 1);
    // 03:00: still cooling down (2 hours here).
    drive(&clock, &m, 60, 0, |_, _| unreachable!());
    assert_eq!(recorder.applied.lock().len(), 1);
    // 04:00: the cooldown is over, the second pair is applied; the first is never
    // applied twice.
    drive(&clock, &m, 60, 0, |_, _| unreachable!());
    let applied = recorder.applied.lock().clone();
    assert_eq!(applied.len(), 2, "{applied:?}");
    assert_ne!(applied[0], applied[1]);
    assert!(
        applied
            .iter()
            .all(|id| id.starts_with("cheaper_equivalent/"))
    );
    assert!(
        m.applied_actions()
            .iter()
            .all(|a| a.kind == RecommendationKind::CheaperEquivalent)
    );
}

#[test]
fn recommendations_reach_exporters_hourly_and_the_log() {
    let batches = Batches::default();
    let log = Shared::default();
    let clock = ManualClock::new(common::start());
    let m = Monitor::builder()
        .clock(clock.clone())
        .config(tolerant())
        .exporter(batches.clone())
        .exporter(LogExporter::new(log.clone()))
        .background(false)
        .build()
        .unwrap();
    drive(&clock, &m, 120, 30, |_, i| {
        Selection::new(if i % 2 == 0 { "alpha" } else { "gamma" }, ms(300))
            .error(i % 2 == 1 && i % 6 == 1)
    });
    let with_recs: Vec<_> = batches
        .0
        .lock()
        .iter()
        .filter(|b| !b.recommendations.is_empty())
        .map(|b| b.sealed_at)
        .collect();
    assert_eq!(with_recs.len(), 2, "once per hour");
    let text = String::from_utf8(log.0.lock().clone()).unwrap();
    assert!(
        text.contains("RECOMMEND critical error_hotspot/gamma: gamma: error rate 33.3%"),
        "{text}"
    );
}

struct Panicky;

impl Heuristic for Panicky {
    fn id(&self) -> &str {
        "panicky"
    }
    fn analyze(&self, _: &AnalysisView<'_>) -> Vec<Recommendation> {
        panic!("a bug in a custom heuristic")
    }
}

/// Says one thing about every model, to show custom heuristics run beside the rest.
struct Census;

impl Heuristic for Census {
    fn id(&self) -> &str {
        "census"
    }
    fn analyze(&self, view: &AnalysisView<'_>) -> Vec<Recommendation> {
        view.summary
            .models
            .keys()
            .map(|m| Recommendation::new(self.id(), RecommendationKind::Custom("census".into()), m))
            .collect()
    }
}

#[test]
fn custom_heuristics_run_and_a_panicking_one_is_skipped() {
    let clock = ManualClock::new(common::start());
    let m = Monitor::builder()
        .clock(clock.clone())
        .config(tolerant())
        .heuristic(Panicky)
        .heuristic(Census)
        .background(false)
        .build()
        .unwrap();
    drive(&clock, &m, 2, 10, |_, _| Selection::new("alpha", ms(300)));
    assert_eq!(ids(&m.recommendations()), ["census/alpha"]);
    assert_eq!(m.health().heuristic_panics, 1);
}

/// An actuator that reads the monitor back while it applies: no lock is held.
struct Curious(Arc<Mutex<Option<Monitor>>>);

impl Actuator for Curious {
    fn apply(&mut self, _: &Recommendation) -> Result<(), ActuatorError> {
        let m = self.0.lock().clone().expect("set before the first run");
        let _ = m.applied_actions();
        let _ = m.recommendations();
        let _ = m.health();
        Ok(())
    }
}

/// An hour of a big and a small model equally good on easy tasks: the optimizer's
/// first run (at 01:00) recommends moving traffic to the small one, a safe action.
fn big_and_small_for_an_hour(clock: &ManualClock, m: &Monitor) {
    drive(clock, m, 60, 60, |_, i| {
        let big = i % 2 == 0;
        Selection::new(if big { "big" } else { "small" }, ms(500))
            .cost_usd(if big { 0.01 } else { 0.001 })
            .complexity(0.1)
            .accuracy(1.0)
    });
}

#[test]
fn an_actuator_may_query_the_monitor_it_serves() {
    let slot = Arc::new(Mutex::new(None));
    let clock = ManualClock::new(common::start());
    let m = Monitor::builder()
        .clock(clock.clone())
        .config(tolerant())
        .actuator(Curious(slot.clone()))
        .background(false)
        .build()
        .unwrap();
    *slot.lock() = Some(m.clone());
    big_and_small_for_an_hour(&clock, &m);
    assert_eq!(m.applied_actions().len(), 1);
    assert_eq!(m.applied_actions()[0].outcome, ActionOutcome::Applied);
    slot.lock().take();
}

struct PanickingActuator;

impl Actuator for PanickingActuator {
    fn apply(&mut self, _: &Recommendation) -> Result<(), ActuatorError> {
        panic!("actuator bug")
    }
}

#[test]
fn a_panicking_actuator_is_recorded_as_failed_and_the_monitor_goes_on() {
    let clock = ManualClock::new(common::start());
    let m = Monitor::builder()
        .clock(clock.clone())
        .config(tolerant())
        .actuator(PanickingActuator)
        .background(false)
        .build()
        .unwrap();
    big_and_small_for_an_hour(&clock, &m);
    let log = m.applied_actions();
    assert_eq!(log.len(), 1);
    assert!(
        matches!(&log[0].outcome, ActionOutcome::Failed { error } if error == "actuator panicked")
    );
    assert_eq!(m.health().ticks, 60);
    assert_eq!(m.summary(Duration::from_secs(7200)).overview.count, 3600);
}

#[test]
fn non_finite_evidence_is_left_out_so_reports_read_back() {
    let r = Recommendation::new("h", RecommendationKind::Custom("x".into()), "s")
        .evidence("nan", f64::NAN, "")
        .evidence("inf", f64::INFINITY, "")
        .evidence("ok", 1.5, "");
    assert_eq!(r.evidence.len(), 1);
    let back: Recommendation = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
    assert_eq!(back, r);
}

#[test]
fn optimizer_settings_out_of_range_name_the_field() {
    let err = modelmeter::Config::from_json_str(r#"{"optimizer":{"interval":288230376151711744}}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("optimizer.interval"), "{err}");
}
