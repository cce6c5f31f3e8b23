//! The persistent store through the public API: history of every tier, budgets,
//! alerts and rule state survive a restart; a damaged store is set aside; a store
//! that cannot be opened is a build error. Crash safety under SIGKILL:
//! `tests/persist_crash.rs`.
#![cfg(feature = "persist")]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use modelmeter::{
    AlertEventKind, AnomalyRule, Clock, Config, ConfigError, ErrorKind, ExportBatch, ExportError,
    Exporter, Feedback, ManualClock, Metric, Monitor, MonitorBuilder, Rule, RuleScope, RuleView,
    Selection, ThresholdRule,
};
use parking_lot::Mutex;

const MIN: Duration = Duration::from_secs(60);

/// A fresh directory for one test.
fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("modelmeter-persist-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A manual monitor persisting to `path`.
fn builder(path: &Path, clock: &ManualClock, config: Config) -> MonitorBuilder {
    Monitor::builder()
        .config(config)
        .clock(clock.clone())
        .background(false)
        .persist(path)
}

fn open(path: &Path, clock: &ManualClock, config: Config) -> Monitor {
    builder(path, clock, config).build().unwrap()
}

/// Minutes of traffic over four models, a different mix every minute, ticking at each.
fn traffic(clock: &ManualClock, m: &Monitor, minutes: u64, error_share: u64) {
    for i in 0..minutes {
        for j in 0..(i % 5 + 1) * 3 {
            let model = format!("m{}", (i + j) % 4);
            let latency = Duration::from_millis(10 + (37 * j + i) % 900);
            let mut s = Selection::new(&model, latency)
                .cost_usd(0.001 * j as f64)
                .accuracy((j % 3) as f64 / 2.0)
                .complexity((j % 10) as f64 / 10.0)
                .cache_hit(j % 2 == 0)
                .error(j % 10 < error_share)
                .tokens(100 + j, 20 * i)
                .retries((j % 2) as u32);
            // Streams, failure kinds and late feedback are kept like the rest.
            if j % 3 == 0 {
                s = s.time_to_first_token(latency / 5);
            }
            if j % 10 < error_share && j % 4 == 0 {
                s = s.error_kind(ErrorKind::RateLimited);
            }
            m.record_selection(&s).unwrap();
        }
        let at = clock.now();
        clock.advance(MIN);
        m.tick();
        let judged = format!("m{}", i % 4);
        m.record_feedback(&Feedback::new(&judged, at).score("helpful", (i % 3) as f64 / 2.0))
            .unwrap();
    }
}

#[test]
fn sealed_history_of_every_tier_survives_a_restart() {
    let d = dir("history");
    let path = d.join("store.redb");
    let mut config = common::quiet();
    // Ten minutes of minute buckets: most of three hours is answered by the hour tier.
    config.recording.minute_retention = 10 * MIN;
    let clock = ManualClock::new(common::start());
    let windows = [5 * MIN, 60 * MIN, 180 * MIN, 24 * 60 * MIN];
    let (before, analysis) = {
        let m = open(&path, &clock, config.clone());
        traffic(&clock, &m, 180, 1);
        let h = m.health().persistence.expect("persisting");
        assert_eq!(h.loaded_buckets, 0);
        assert!(h.commits >= 170, "{h:?}");
        let sums = windows.map(|w| m.summary(w));
        let day = &sums[3].overview;
        assert!(day.time_to_first_token.is_some() && day.scores["helpful"].samples > 100);
        assert!(day.errors_by_kind.len() == 2 && day.retries > 0);
        (sums, m.performance_report(Duration::from_secs(3 * 3600)))
    };
    let m = open(&path, &clock, config.clone());
    let h = m.health().persistence.unwrap();
    assert!(h.loaded_buckets > 0, "{h:?}");
    assert_eq!(h.loaded_through, Some(common::start() + 179 * MIN));
    assert_eq!(h.last_error, None);
    for (w, before) in windows.iter().zip(&before) {
        assert_eq!(&m.summary(*w), before, "window {w:?}");
    }
    assert_eq!(
        m.performance_report(Duration::from_secs(3 * 3600)).models,
        analysis.models
    );
    // Recording goes on where it stopped; nothing is counted twice.
    let total = before[3].overview.count;
    traffic(&clock, &m, 3, 0);
    assert_eq!(m.summary(24 * 60 * MIN).overview.count, total + 3 + 6 + 9);
    drop(m);
    let _ = std::fs::remove_dir_all(&d);
}

/// Keeps the budget and alert events it is handed.
#[derive(Clone, Default)]
struct Events(Arc<Mutex<Vec<ExportBatch>>>);

impl Exporter for Events {
    fn export(&mut self, batch: &ExportBatch) -> Result<(), ExportError> {
        self.0.lock().push(batch.clone());
        Ok(())
    }
}

impl Events {
    fn thresholds(&self) -> Vec<f64> {
        let batches = self.0.lock();
        batches
            .iter()
            .flat_map(|b| &b.budget_events)
            .map(|e| e.threshold)
            .collect()
    }

    fn alert_kinds(&self) -> Vec<(AlertEventKind, u64)> {
        let batches = self.0.lock();
        batches
            .iter()
            .flat_map(|b| &b.alerts)
            .map(|e| (e.kind, e.alert_id.get()))
            .collect()
    }
}

fn open_with(path: &Path, clock: &ManualClock, config: Config, events: &Events) -> Monitor {
    builder(path, clock, config)
        .exporter(events.clone())
        .build()
        .unwrap()
}

fn spend(clock: &ManualClock, m: &Monitor, dollars: u32) {
    for _ in 0..dollars {
        m.record_selection(&Selection::new("gpt-4o", Duration::from_millis(300)).cost_usd(1.0))
            .unwrap();
    }
    // Past the seal grace, so the tick seals the minute just spent.
    clock.advance(2 * MIN);
    m.tick();
}

#[test]
fn budget_thresholds_fire_once_per_period_across_a_restart() {
    let d = dir("budget");
    let path = d.join("store.redb");
    let mut config = common::quiet();
    config.cost.budget.daily_usd = Some(100.0);
    let clock = ManualClock::new(common::start() + 8 * 60 * MIN);
    let events = Events::default();
    {
        let m = open_with(&path, &clock, config.clone(), &events);
        spend(&clock, &m, 90);
    }
    assert_eq!(events.thresholds(), [0.85]);
    let events = Events::default();
    let m = open_with(&path, &clock, config.clone(), &events);
    assert!((m.budget_status()[0].spent_usd - 90.0).abs() < 1e-9);
    spend(&clock, &m, 12);
    assert_eq!(
        events.thresholds(),
        [0.95, 1.0],
        "85% fired before the restart: {:?}",
        m.health()
    );
    drop(m);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_scoped_budget_threshold_fires_once_per_period_across_a_restart() {
    let d = dir("scoped_budget");
    let path = d.join("store.redb");
    let config = Config::from_json_str(
        r#"{"monitoring": {"alerting": {"enabled": false}},
            "recording": {"dimensions": [{"key": "team", "maxValues": 10}]},
            "cost": {"budget": {"scoped": [{"dimension": "team", "value": "search", "dailyUsd": 100}]}}}"#,
    )
    .unwrap();
    let clock = ManualClock::new(common::start() + 8 * 60 * MIN);
    let team_spend = |m: &Monitor, dollars: u32| {
        for _ in 0..dollars {
            let s = Selection::new("gpt-4o", Duration::from_millis(300))
                .cost_usd(1.0)
                .attr("team", "search");
            m.record_selection(&s).unwrap();
        }
        clock.advance(2 * MIN);
        m.tick();
    };
    let events = Events::default();
    {
        let m = open_with(&path, &clock, config.clone(), &events);
        team_spend(&m, 90);
    }
    assert_eq!(events.thresholds(), [0.85]);
    // The team's spend is kept across the restart, and what already fired does not
    // fire twice: $6 more makes 96%.
    let events = Events::default();
    let m = open_with(&path, &clock, config, &events);
    team_spend(&m, 6);
    assert_eq!(events.thresholds(), [0.95], "85% fired before the restart");
    drop(m);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn dimension_history_survives_a_restart_and_undeclared_dimensions_are_dropped() {
    let d = dir("dimensions");
    let path = d.join("store.redb");
    let config = |keys: &str| {
        Config::from_json_str(&format!(
            r#"{{"monitoring": {{"alerting": {{"enabled": false}}}},
                "recording": {{"dimensions": [{keys}]}}}}"#
        ))
        .unwrap()
    };
    let declared =
        config(r#"{"key": "team", "maxValues": 3}, {"key": "feature", "maxValues": 10}"#);
    let clock = ManualClock::new(common::start());
    let dims = ["provider", "team", "feature", "requested_model"];
    let windows = [10 * MIN, 90 * MIN, 26 * 60 * MIN];
    let snapshot = |m: &Monitor| {
        windows
            .iter()
            .flat_map(|w| dims.iter().map(|d| m.summary_by(d, *w)))
            .collect::<Vec<_>>()
    };
    let before = {
        let m = open(&path, &clock, declared.clone());
        // 17 hours of minutes: hours and days roll up. The first minute sees all four
        // teams, so the store holds an `__other__` row before the kept `search` one.
        for i in 0..5_000u64 {
            let s = Selection::new(
                ["gpt-4o", "claude"][(i % 2) as usize],
                Duration::from_millis(10 + i % 700),
            )
            .cost_usd(0.01 * (i % 4) as f64)
            .error(i % 9 == 0)
            .tokens(100, 10)
            .provider(["openai", "anthropic"][(i % 2) as usize])
            .attr(
                "team",
                ["search", "ads", "infra", "mobile"][(i % 4) as usize],
            )
            .attr("feature", ["draft", "answer"][(i / 3 % 2) as usize])
            .requested_model("gpt-4o");
            m.record_selection(&s).unwrap();
            if i % 5 == 4 {
                clock.advance(MIN);
                m.tick();
            }
        }
        clock.advance(2 * MIN);
        m.tick();
        let before = snapshot(&m);
        assert!(before[0]["openai"].count > 0 && before[5].contains_key("__other__"));
        before
    };
    let m = open(&path, &clock, declared.clone());
    assert_eq!(snapshot(&m), before);
    // The cap keeps the values kept before the restart: `mobile` stays folded, and
    // `search` (sorted after `__other__` in the store) stays kept.
    for team in ["mobile", "search"] {
        let s = Selection::new("gpt-4o", Duration::from_millis(5)).attr("team", team);
        m.record_selection(&s).unwrap();
    }
    let teams = m.summary_by("team", 10 * MIN);
    assert!(!teams.contains_key("mobile"));
    assert_eq!(teams["search"].count, before[1]["search"].count + 1);
    assert_eq!(teams["__other__"].count, before[1]["__other__"].count + 1);
    assert_eq!(m.health().dimensions["team"].values, 3);
    drop(m);
    // A dimension no longer declared: its history is dropped from the store, and
    // declaring it again does not bring it back.
    drop(open(
        &path,
        &clock,
        config(r#"{"key": "feature", "maxValues": 10}"#),
    ));
    let m = open(&path, &clock, declared);
    assert!(m.summary_by("team", 26 * 60 * MIN).is_empty());
    assert_eq!(m.summary_by("feature", 26 * 60 * MIN), before[10]);
    drop(m);
    let _ = std::fs::remove_dir_all(&d);
}

/// Minutes of 200 selections of one model, `percent` of them failing.
fn busy(clock: &ManualClock, m: &Monitor, minutes: u64, percent: u64) {
    for _ in 0..minutes {
        for j in 0..200 {
            let s = Selection::new("gpt-4o", Duration::from_millis(200)).error(j % 100 < percent);
            m.record_selection(&s).unwrap();
        }
        clock.advance(MIN);
        m.tick();
    }
}

#[test]
fn open_alerts_and_alert_history_survive_a_restart() {
    let d = dir("alerts");
    let path = d.join("store.redb");
    let clock = ManualClock::new(common::start());
    let build = |events: &Events| {
        builder(&path, &clock, common::quiet())
            .exporter(events.clone())
            .rule(
                ThresholdRule::new("errors", Metric::ErrorRate, 0.05, 0.2)
                    .evidence_windows([])
                    .scope(RuleScope::Overall),
            )
            .build()
            .unwrap()
    };
    let events = Events::default();
    let (history, incidents, recent, active) = {
        let m = build(&events);
        // Half the selections fail for 20 minutes, then none for an hour: an alert
        // fires and resolves; then they fail again, and an alert is open at the stop.
        busy(&clock, &m, 20, 50);
        busy(&clock, &m, 60, 0);
        busy(&clock, &m, 20, 50);
        (
            m.alert_history(),
            m.incident_history(),
            m.recent_alert_events(),
            m.active_alerts(),
        )
    };
    assert!(
        !history.is_empty(),
        "an alert resolved before the restart: {:?}",
        events.alert_kinds()
    );
    assert!(!active.is_empty(), "an alert is open at the restart");
    let before = events.alert_kinds();
    let events = Events::default();
    let m = build(&events);
    assert_eq!(m.alert_history(), history);
    assert_eq!(m.incident_history(), incidents);
    assert_eq!(m.recent_alert_events(), recent);
    assert_eq!(m.active_alerts(), active);
    // Still failing: no second `firing` for what is already open. Then healthy: the
    // open alerts resolve under the ids they fired with.
    busy(&clock, &m, 10, 50);
    busy(&clock, &m, 60, 0);
    let after = events.alert_kinds();
    let open_ids: Vec<u64> = active.iter().map(|a| a.id.get()).collect();
    assert!(
        after
            .iter()
            .all(|(k, id)| *k != AlertEventKind::Firing || !open_ids.contains(id)),
        "{after:?}"
    );
    for id in &open_ids {
        assert!(
            after.contains(&(AlertEventKind::Resolved, *id)),
            "alert {id} resolves after the restart: {after:?} (before: {before:?})"
        );
    }
    let fresh: Vec<u64> = after.iter().map(|(_, id)| *id).collect();
    let old_max = before.iter().map(|(_, id)| *id).max().unwrap();
    assert!(
        fresh
            .iter()
            .all(|id| open_ids.contains(id) || *id > old_max),
        "alert ids are never reused: {after:?}"
    );
    drop(m);
    let _ = std::fs::remove_dir_all(&d);
}

/// Counts its evaluations, and keeps the count across restarts.
struct Counting {
    evaluations: Arc<AtomicU64>,
    broken: bool,
}

impl Rule for Counting {
    fn id(&self) -> &str {
        "counting"
    }
    fn evaluate(&mut self, _: &RuleView<'_>) -> Vec<modelmeter::Finding> {
        self.evaluations.fetch_add(1, Ordering::Relaxed);
        Vec::new()
    }
    fn save_state(&self) -> Option<Vec<u8>> {
        Some(
            self.evaluations
                .load(Ordering::Relaxed)
                .to_le_bytes()
                .to_vec(),
        )
    }
    fn restore_state(&mut self, state: &[u8]) -> Result<(), modelmeter::rules::RestoreError> {
        if self.broken {
            return Err("this rule forgot how to read its own state".into());
        }
        let bytes: [u8; 8] = state.try_into()?;
        self.evaluations
            .store(u64::from_le_bytes(bytes), Ordering::Relaxed);
        Ok(())
    }
}

#[test]
fn rules_take_back_their_saved_state() {
    let d = dir("rules");
    let path = d.join("store.redb");
    let clock = ManualClock::new(common::start());
    let build = |broken: bool| {
        let evaluations = Arc::new(AtomicU64::new(0));
        let m = builder(&path, &clock, common::quiet())
            .rule(Counting {
                evaluations: evaluations.clone(),
                broken,
            })
            .build()
            .unwrap();
        (m, evaluations)
    };
    let (m, evaluations) = build(false);
    traffic(&clock, &m, 5, 0);
    let counted = evaluations.load(Ordering::Relaxed);
    assert!(counted >= 5);
    drop(m);
    let (m, evaluations) = build(false);
    // The final flush evaluated once more, and saved that too.
    assert!(evaluations.load(Ordering::Relaxed) > counted);
    assert_eq!(m.health().persistence.unwrap().last_error, None);
    drop(m);
    let (m, evaluations) = build(true);
    assert_eq!(evaluations.load(Ordering::Relaxed), 0);
    let error = m.health().persistence.unwrap().last_error.unwrap();
    assert!(
        error.contains("rule counting") && error.contains("forgot"),
        "{error}"
    );
    drop(m);
    let _ = std::fs::remove_dir_all(&d);
}

/// Three hours of steady p95, then a fault that triples it: whether the anomaly rule
/// fires within 20 minutes of the fault.
fn anomaly_fires_after(learned_before_restart: bool) -> bool {
    let d = dir(&format!("anomaly-{learned_before_restart}"));
    let path = d.join("store.redb");
    let clock = ManualClock::new(common::start());
    let build = || {
        let events = Events::default();
        let m = builder(&path, &clock, common::quiet())
            .exporter(events.clone())
            .rule(AnomalyRule::new("p95_anomaly", Metric::LatencyP95).min_effect(0.5))
            .build()
            .unwrap();
        (m, events)
    };
    let minute = |m: &Monitor, slow: u64| {
        for i in 0..60u64 {
            let ms = (100 + (i * 37) % 100) * slow;
            m.record_selection(&Selection::new("gpt-4o", Duration::from_millis(ms)))
                .unwrap();
        }
        clock.advance(MIN);
        m.tick();
    };
    if learned_before_restart {
        let (m, _) = build();
        (0..180).for_each(|_| minute(&m, 1));
    } else {
        clock.advance(180 * MIN);
    }
    let (m, events) = build();
    (0..20).for_each(|_| minute(&m, 3));
    drop(m);
    let _ = std::fs::remove_dir_all(&d);
    events
        .alert_kinds()
        .iter()
        .any(|(k, _)| *k == AlertEventKind::Firing)
}

#[test]
fn an_anomaly_baseline_survives_a_restart() {
    assert!(
        anomaly_fires_after(true),
        "the restored baseline knows the normal"
    );
    assert!(
        !anomaly_fires_after(false),
        "a fresh rule is still warming up"
    );
}

#[test]
fn a_damaged_store_is_set_aside_and_the_monitor_starts_fresh() {
    let d = dir("damaged");
    let path = d.join("store.redb");
    let clock = ManualClock::new(common::start());
    let garbage: Vec<u8> = (0..20_000u32).map(|i| (i * 7919 % 251) as u8).collect();
    std::fs::write(&path, &garbage).unwrap();
    let m = open(&path, &clock, common::quiet());
    let h = m.health().persistence.unwrap();
    let aside = h.set_aside.clone().expect("set aside");
    assert_eq!(std::fs::read(&aside).unwrap(), garbage, "kept as it was");
    let error = h.last_error.unwrap();
    assert!(
        error.contains("damaged") && error.contains(&*aside.to_string_lossy()),
        "{error}"
    );
    // The fresh store works.
    traffic(&clock, &m, 3, 0);
    drop(m);
    let m = open(&path, &clock, common::quiet());
    assert_eq!(m.summary(60 * MIN).overview.count, 3 + 6 + 9);
    assert_eq!(m.health().persistence.unwrap().set_aside, None);
    drop(m);
    let _ = std::fs::remove_dir_all(&d);
}

/// A store holding 30 minutes of traffic, closed: its directory, path, clock and bytes.
fn written_store(name: &str) -> (PathBuf, PathBuf, ManualClock, Vec<u8>) {
    let d = dir(name);
    let path = d.join("store.redb");
    let clock = ManualClock::new(common::start());
    {
        let m = open(&path, &clock, common::quiet());
        traffic(&clock, &m, 30, 1);
    }
    let whole = std::fs::read(&path).unwrap();
    (d, path, clock, whole)
}

#[test]
fn a_truncated_store_is_set_aside_or_read_whole_never_half() {
    let (d, path, clock, whole) = written_store("truncated");
    let expected = {
        let m = open(&path, &clock, common::quiet());
        m.summary(60 * MIN).overview.count
    };
    let mut set_aside = 0;
    for cut in [whole.len() / 2, whole.len() / 3, 4096, 100, whole.len() - 1] {
        std::fs::write(&path, &whole[..cut]).unwrap();
        let m = open(&path, &clock, common::quiet());
        let h = m.health().persistence.unwrap();
        let count = m.summary(60 * MIN).overview.count;
        match h.set_aside {
            Some(aside) => {
                set_aside += 1;
                assert_eq!(count, 0, "cut at {cut}");
                assert_eq!(std::fs::read(&aside).unwrap().len(), cut);
                std::fs::remove_file(aside).unwrap();
            }
            None => assert_eq!(count, expected, "cut at {cut}: read whole"),
        }
        drop(m);
        std::fs::remove_file(&path).unwrap();
    }
    assert!(set_aside >= 3, "most cuts are detected");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn another_histogram_layout_sets_the_store_aside() {
    let d = dir("layout");
    let path = d.join("store.redb");
    let clock = ManualClock::new(common::start());
    {
        let m = open(&path, &clock, common::quiet());
        traffic(&clock, &m, 2, 0);
    }
    let mut config = common::quiet();
    config.recording.latency_significant_digits = 3;
    let m = open(&path, &clock, config);
    let h = m.health().persistence.unwrap();
    assert!(h.set_aside.is_some());
    assert!(h.last_error.unwrap().contains("histogram layout"));
    drop(m);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_store_that_cannot_be_opened_is_a_build_error() {
    let d = dir("fatal");
    let path = d.join("store.redb");
    let clock = ManualClock::new(common::start());
    let held = open(&path, &clock, common::quiet());
    let second = Monitor::builder()
        .clock(clock.clone())
        .background(false)
        .persist(&path)
        .build();
    match second {
        Err(ConfigError::Persist { path: p, message }) => {
            assert_eq!(p, path.display().to_string());
            assert!(message.contains("holds it"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    drop(held);
    let missing = d.join("no/such/dir/store.redb");
    let e = Monitor::builder()
        .persist(&missing)
        .background(false)
        .build()
        .unwrap_err();
    assert!(
        e.to_string().contains("cannot open the persistent store"),
        "{e}"
    );
    assert!(!path.with_extension("redb.damaged").exists());
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn flipped_bytes_anywhere_are_set_aside_or_harmless_never_a_panic() {
    use rand::{Rng, SeedableRng};
    let (d, path, clock, whole) = written_store("flips");
    let expected = open(&path, &clock, common::quiet()).summary(60 * MIN);
    std::fs::write(&path, &whole).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(17);
    let (mut aside, mut harmless) = (0, 0);
    for _ in 0..150 {
        let mut bytes = whole.clone();
        for _ in 0..rng.random_range(1..8) {
            let i = rng.random_range(0..bytes.len());
            bytes[i] ^= 1 << rng.random_range(0..8);
        }
        std::fs::write(&path, &bytes).unwrap();
        let m = open(&path, &clock, common::quiet());
        let h = m.health().persistence.unwrap();
        match h.set_aside {
            Some(p) => {
                aside += 1;
                assert_eq!(m.summary(60 * MIN).overview.count, 0);
                std::fs::remove_file(p).unwrap();
            }
            None => {
                // The flips fell where nothing is read (free pages, padding): the
                // store reads back exactly.
                harmless += 1;
                let got = m.summary(60 * MIN);
                assert_eq!(got.models, expected.models);
            }
        }
        drop(m);
        std::fs::remove_file(&path).unwrap();
    }
    eprintln!("150 damaged stores: {aside} set aside, {harmless} read back exactly");
    assert!(aside > 0 && harmless > 0);
    let _ = std::fs::remove_dir_all(&d);
}
