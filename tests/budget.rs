//! Budgets through the public API: projections land within 10% of the realized spend
//! on steady and linearly growing noisy traffic, the run-out date is where the rate
//! says, and each threshold event fires once per period.

mod common;

use common::{Batches, Shared};

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::quiet;
use modelmeter::{BudgetPeriod, Config, ManualClock, Monitor, Selection};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const HOUR: u64 = 3600;

fn monitor(start: SystemTime, config: Config) -> (ManualClock, Monitor, Batches) {
    let clock = ManualClock::new(start);
    let events = Batches::default();
    let m = Monitor::builder()
        .clock(clock.clone())
        .config(config)
        .exporter(events.clone())
        .background(false)
        .build()
        .unwrap();
    (clock, m, events)
}

/// Spends at `rate(hours since start)` dollars per hour for `hours` hours, in 12
/// selections per hour with ±50% noise on each, ticking once per `tick_minutes`.
fn spend(
    clock: &ManualClock,
    m: &Monitor,
    start: SystemTime,
    (from_h, to_h): (u64, u64),
    tick_minutes: u64,
    rng: &mut StdRng,
    rate: impl Fn(f64) -> f64,
) {
    let per_hour = 12;
    for h in from_h..to_h {
        for k in 0..60 / tick_minutes {
            let slot_start = start + Duration::from_secs(h * HOUR + k * tick_minutes * 60);
            let n = per_hour * tick_minutes / 60;
            for i in 0..n.max(1) {
                clock.set(slot_start + Duration::from_secs(i * tick_minutes * 60 / n.max(1)));
                let at = (h as f64) + (k * tick_minutes) as f64 / 60.0;
                let cost = rate(at) / per_hour as f64 * rng.random_range(0.5..1.5);
                m.record_selection(&Selection::new("m", Duration::from_millis(300)).cost_usd(cost))
                    .unwrap();
            }
            clock.set(slot_start + Duration::from_secs(tick_minutes * 60));
            m.tick();
        }
    }
}

fn within(projected: f64, realized: f64, tolerance: f64) {
    let err = (projected - realized).abs() / realized;
    println!(
        "projected {projected:.2}, realized {realized:.2}: {:.2}% off",
        err * 100.0
    );
    assert!(
        err < tolerance,
        "projected {projected:.2} vs realized {realized:.2}: {:.1}% off",
        err * 100.0
    );
}

fn daily(config_limit: f64) -> Config {
    let mut c = quiet();
    c.cost.budget.daily_usd = Some(config_limit);
    c
}

/// Projects the daily budget at 08:00 on day 2 after a day of history, then lets
/// the day finish and compares.
fn daily_projection(rate: impl Fn(f64) -> f64 + Copy, seed: u64) {
    let start = common::start() - Duration::from_secs(24 * HOUR);
    let (clock, m, _) = monitor(start, daily(1e9));
    let mut rng = StdRng::seed_from_u64(seed);
    spend(&clock, &m, start, (0, 32), 5, &mut rng, rate);
    let status = m.budget_status();
    assert_eq!(status.len(), 1);
    assert_eq!(status[0].period, BudgetPeriod::Daily);
    let projected = status[0].projected_usd;
    spend(&clock, &m, start, (32, 48), 5, &mut rng, rate);
    let realized = m
        .summary(Duration::from_secs(16 * HOUR + 8 * HOUR))
        .overview
        .cost_usd;
    within(projected, realized, 0.10);
}

#[test]
fn daily_projection_on_steady_noisy_traffic() {
    for seed in 1..=3 {
        daily_projection(|_| 100.0, seed);
    }
}

#[test]
fn daily_projection_on_linearly_growing_noisy_traffic() {
    for seed in 1..=3 {
        daily_projection(|h| 20.0 + 4.0 * h, seed);
    }
}

/// 2026-11-01 00:00 UTC.
fn november() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_793_491_200)
}

fn monthly_projection(rate: impl Fn(f64) -> f64 + Copy, seed: u64) {
    let start = november();
    let mut c = quiet();
    c.cost.budget.monthly_usd = Some(1e9);
    let (clock, m, _) = monitor(start, c);
    let mut rng = StdRng::seed_from_u64(seed);
    spend(&clock, &m, start, (0, 10 * 24), 60, &mut rng, rate);
    let projected = m.budget_status()[0].projected_usd;
    spend(&clock, &m, start, (10 * 24, 30 * 24), 60, &mut rng, rate);
    // The month is over: the spend since its start is what was realized.
    clock.set(november() + Duration::from_secs(30 * 24 * HOUR - 1));
    let realized = m
        .summary(Duration::from_secs(30 * 24 * HOUR))
        .overview
        .cost_usd;
    within(projected, realized, 0.10);
}

#[test]
fn monthly_projection_on_steady_and_growing_noisy_traffic() {
    monthly_projection(|_| 10.0, 7);
    monthly_projection(|h| 2.0 + 0.05 * h, 8);
}

#[test]
fn run_out_date_follows_the_rate() {
    // $100 per hour against a $2,000 day: at 08:00 about $800 is spent, and the rest
    // lasts about 12 hours more.
    let start = common::start() - Duration::from_secs(24 * HOUR);
    let (clock, m, _) = monitor(start, daily(2000.0));
    let mut rng = StdRng::seed_from_u64(3);
    spend(&clock, &m, start, (0, 32), 5, &mut rng, |_| 100.0);
    let s = &m.budget_status()[0];
    let runs_out = s.runs_out_at.expect("runs out today");
    let expected = common::start() + Duration::from_secs(20 * HOUR);
    let off = runs_out
        .duration_since(expected)
        .unwrap_or_else(|e| e.duration());
    assert!(
        off < Duration::from_secs(HOUR),
        "{runs_out:?}, off by {off:?}"
    );
    assert!((s.used - s.spent_usd / 2000.0).abs() < 1e-12);
    assert!(s.projected_used > 1.0);
}

#[test]
fn thresholds_fire_once_each_per_period() {
    let clock = ManualClock::new(common::start());
    let events = Batches::default();
    let log = Shared::default();
    let m = Monitor::builder()
        .clock(clock.clone())
        .config(daily(100.0))
        .exporter(events.clone())
        .exporter(modelmeter::LogExporter::new(log.clone()))
        .background(false)
        .build()
        .unwrap();
    let mut rng = StdRng::seed_from_u64(5);
    // $10 per hour: 85% at about 08:30, 95% at 09:30, 100% at 10:00; then a second day.
    spend(&clock, &m, common::start(), (0, 48), 5, &mut rng, |_| 10.0);
    let ev = events.flat(|b| &b.budget_events);
    let thresholds: Vec<f64> = ev.iter().map(|e| e.threshold).collect();
    assert_eq!(thresholds, [0.85, 0.95, 1.0, 0.85, 0.95, 1.0], "{ev:#?}");
    assert!(ev.iter().all(|e| e.period == BudgetPeriod::Daily));
    assert!(ev[0].spent_usd >= 85.0 && ev[0].spent_usd < 95.0);
    assert!(ev[3].period_start > ev[2].period_start);
    assert!(ev[2].message.contains("100% used"), "{}", ev[2].message);
    let text = String::from_utf8(log.0.lock().clone()).unwrap();
    assert_eq!(text.matches("] BUDGET daily").count(), 6, "{text}");
    assert!(
        text.contains("BUDGET daily 85%: daily budget 85% used"),
        "{text}"
    );
}

#[test]
fn a_team_budget_fires_each_threshold_once_per_period_with_its_own_projection() {
    use modelmeter::BudgetScope;
    let start = common::start();
    let config = Config::from_json_str(
        r#"{"recording": {"dimensions": [{"key": "team", "maxValues": 10}]},
            "cost": {"budget": {"dailyUsd": 1000, "scoped": [
                {"dimension": "team", "value": "search", "dailyUsd": 10, "monthlyUsd": 100}
            ]}}}"#,
    )
    .unwrap();
    let (clock, m, events) = monitor(start, config);
    // Search spends $1 an hour, ads $2 an hour, in 12 selections an hour each.
    let run = |from_h: u64, to_h: u64| {
        for h in from_h..to_h {
            for i in 0..12u64 {
                clock.set(start + Duration::from_secs(h * HOUR + i * 300));
                for (team, usd) in [("search", 1.0 / 12.0), ("ads", 2.0 / 12.0)] {
                    let s = Selection::new("m", Duration::from_millis(300))
                        .cost_usd(usd)
                        .attr("team", team);
                    m.record_selection(&s).unwrap();
                }
                clock.set(start + Duration::from_secs(h * HOUR + i * 300 + 299));
                m.tick();
            }
        }
    };
    run(0, 12);
    let search = BudgetScope::Dimension {
        dimension: "team".into(),
        value: "search".into(),
    };
    let fired = events.flat(|b| &b.budget_events);
    assert!(fired.iter().all(|e| e.scope == search), "{fired:?}");
    assert_eq!(
        fired.iter().map(|e| e.threshold).collect::<Vec<_>>(),
        [0.85, 0.95, 1.0]
    );
    assert!(fired.iter().all(|e| e.period == BudgetPeriod::Daily));
    assert!(
        fired[0]
            .message
            .starts_with("team=search daily budget 85% used"),
        "{}",
        fired[0].message
    );
    let status = m.budget_status();
    let daily = status
        .iter()
        .find(|s| s.scope == search && s.period == BudgetPeriod::Daily)
        .unwrap();
    assert!((daily.spent_usd - 12.0).abs() < 1e-6, "{daily:?}");
    // A steady $1/h at noon projects about $24 for the day.
    within(daily.projected_usd, 24.0, 0.1);
    let fleet = status
        .iter()
        .find(|s| s.scope == BudgetScope::Fleet)
        .unwrap();
    assert!((fleet.spent_usd - 36.0).abs() < 1e-6);
    // The next day starts afresh: $9 crosses 85% once more, and only that.
    run(24, 33);
    let fired = events.flat(|b| &b.budget_events);
    assert_eq!(
        fired.iter().map(|e| e.threshold).collect::<Vec<_>>(),
        [0.85, 0.95, 1.0, 0.85]
    );
    let monthly = m
        .budget_status()
        .into_iter()
        .find(|s| s.scope == search && s.period == BudgetPeriod::Monthly)
        .unwrap();
    assert!((monthly.spent_usd - 21.0).abs() < 1e-6, "{monthly:?}");
}

#[test]
fn a_scoped_budget_must_name_a_kept_dimension() {
    let err = Monitor::builder()
        .config(
            Config::from_json_str(
                r#"{"cost": {"budget": {"scoped": [{"dimension": "team", "value": "x", "dailyUsd": 1}]}}}"#,
            )
            .unwrap(),
        )
        .build()
        .unwrap_err();
    assert!(
        err.to_string().contains("cost.budget.scoped[0].dimension"),
        "{err}"
    );
    // Declared with the builder, the same configuration builds.
    let config = Config::from_json_str(
        r#"{"cost": {"budget": {"scoped": [{"dimension": "team", "value": "x", "dailyUsd": 1}]}}}"#,
    )
    .unwrap();
    assert!(
        Monitor::builder()
            .config(config)
            .dimension("team", 5)
            .background(false)
            .build()
            .is_ok()
    );
    let err = Config::from_json_str(
        r#"{"cost": {"budget": {"scoped": [{"dimension": "provider", "value": "openai"}]}}}"#,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("cost.budget.scoped[0].dailyUsd"),
        "{err}"
    );
}

#[test]
fn a_budgeted_value_is_kept_even_when_its_dimension_fills_first() {
    use modelmeter::BudgetScope;
    let config = Config::from_json_str(
        r#"{"recording": {"dimensions": [{"key": "team", "maxValues": 1}]},
            "cost": {"budget": {"scoped": [{"dimension": "team", "value": "search", "dailyUsd": 10}]}}}"#,
    )
    .unwrap();
    let (clock, m, _) = monitor(common::start(), config);
    for team in ["ads", "search"] {
        let s = Selection::new("m", Duration::from_millis(300))
            .cost_usd(2.0)
            .attr("team", team);
        m.record_selection(&s).unwrap();
    }
    clock.set(common::start() + Duration::from_secs(120));
    m.tick();
    let search = BudgetScope::Dimension {
        dimension: "team".into(),
        value: "search".into(),
    };
    let status = m
        .budget_status()
        .into_iter()
        .find(|s| s.scope == search)
        .unwrap();
    assert!((status.spent_usd - 2.0).abs() < 1e-9, "{status:?}");
    assert_eq!(
        m.summary_by("team", Duration::from_secs(600))["__other__"].count,
        1
    );
    // One entry per value: a second is refused, naming it.
    let err = Config::from_json_str(
        r#"{"recording": {"dimensions": [{"key": "team", "maxValues": 1}]},
            "cost": {"budget": {"scoped": [{"dimension": "team", "value": "x", "dailyUsd": 1},
                                           {"dimension": "team", "value": "x", "monthlyUsd": 9}]}}}"#,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("cost.budget.scoped[1].value"),
        "{err}"
    );
}
