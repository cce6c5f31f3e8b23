//! The alert-quality suite: seeded scenarios with known truth, run through the public
//! API with a `ManualClock`, and what the default rules made of them.
//!
//! Shared by `tests/alert_quality.rs` (assertions, at a scale debug builds finish) and
//! `examples/alert_quality.rs` (the published table, full scale, release).
//!
//! ## Measures
//!
//! - **Episode**: one alert that reached `firing` (one `Firing` event). Escalations,
//!   reminders and de-escalations are not new episodes.
//! - **False episode**: an episode of a (rule, scope) where nothing is planted: every
//!   episode on a healthy model, or on a stepped model before its step, and every
//!   anomaly episode in a stationary scenario. The subject of an "on the line" scenario
//!   is neither true nor false for its own rule (the line is ambiguous by design); its
//!   episodes count in `max_episodes_per_day`.
//! - **Max episodes per day**: the most episodes any (rule, scope) started within one
//!   measured UTC day.
//! - **Firing share**: the share of measured ticks at which the planted (rule, scope)
//!   alert was firing.
//! - **Quiet windows**: for every healthy model (and a stepped one before its step),
//!   each 15-minute window of the measured period; the share of them in which any alert
//!   on that model or on the fleet (`Scope::Overall`) was firing at some tick.
//! - **Detection delay**: from the step (or the start of a drift) to the first tick at
//!   which an affected model has a firing alert from any rule.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use modelmeter::{
    AlertEvent, AlertEventKind, Config, ExportBatch, ExportError, Exporter, ManualClock, Monitor,
    Scope, Selection,
};
use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, LogNormal, Poisson};

const DAY_SECS: u64 = 24 * 3600;
const WINDOW_SECS: u64 = 15 * 60;
/// Log-normal spread of latencies.
const SIGMA: f64 = 0.5;

/// How one model behaves: p95 latency, rates, cost per selection.
#[derive(Debug, Clone, Copy)]
pub struct Profile {
    pub p95_ms: f64,
    pub error_rate: f64,
    pub cache_hit_rate: f64,
    pub accuracy: f64,
    pub cost_usd: f64,
}

impl Profile {
    /// Inside every default line: p95 2 s, 2% errors, 90% cache hits, 95% accuracy.
    pub const HEALTHY: Profile = Profile {
        p95_ms: 2000.0,
        error_rate: 0.02,
        cache_hit_rate: 0.90,
        accuracy: 0.95,
        cost_usd: 0.001,
    };
}

/// What happens to a model during the run.
#[derive(Debug, Clone, Copy)]
pub enum Change {
    /// Stationary.
    None,
    /// From `at` on: latency × `latency`, error rate × `errors`, accuracy and cache hit
    /// rate moved by the given points (fractions).
    Step {
        at: Duration,
        latency: f64,
        errors: f64,
        accuracy: f64,
        cache: f64,
    },
    /// Latency grows linearly by `by` (1.0 = +100%) over `over`, from `at`.
    Drift {
        at: Duration,
        over: Duration,
        by: f64,
    },
}

impl Change {
    /// A latency step.
    pub fn latency(at: Duration, factor: f64) -> Self {
        Change::Step {
            at,
            latency: factor,
            errors: 1.0,
            accuracy: 0.0,
            cache: 0.0,
        }
    }

    /// An error-rate step.
    pub fn errors(at: Duration, factor: f64) -> Self {
        Change::Step {
            at,
            latency: 1.0,
            errors: factor,
            accuracy: 0.0,
            cache: 0.0,
        }
    }

    fn start(&self) -> Option<Duration> {
        match *self {
            Change::None => None,
            Change::Step { at, .. } | Change::Drift { at, .. } => Some(at),
        }
    }

    fn apply(&self, p: Profile, t: Duration) -> Profile {
        match *self {
            Change::Step {
                at,
                latency,
                errors,
                accuracy,
                cache,
            } if t >= at => Profile {
                p95_ms: p.p95_ms * latency,
                error_rate: (p.error_rate * errors).min(1.0),
                cache_hit_rate: (p.cache_hit_rate + cache).clamp(0.0, 1.0),
                accuracy: (p.accuracy + accuracy).clamp(0.0, 1.0),
                ..p
            },
            Change::Drift { at, over, by } if t >= at => {
                let f = ((t - at).as_secs_f64() / over.as_secs_f64()).min(1.0);
                Profile {
                    p95_ms: p.p95_ms * (1.0 + by * f),
                    ..p
                }
            }
            _ => p,
        }
    }
}

/// One model of a scenario.
#[derive(Debug, Clone)]
pub struct ModelSpec {
    pub name: String,
    pub profile: Profile,
    pub change: Change,
    /// Selections a minute for this model (before the daily cycle).
    pub volume: f64,
}

/// A seeded scenario and what is true in it.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub models: Vec<ModelSpec>,
    pub days: u64,
    /// Measured from the start of this day (earlier days warm the baselines).
    pub measure_from_day: u64,
    /// Fleet volume × (1 + amplitude · sin(2π · hour / 24)).
    pub daily_cycle: f64,
    pub tick_secs: u64,
    /// (rule, scope) alerts that are true for the whole measured period.
    pub planted: Vec<(String, Scope)>,
    /// (rule, scope) alerts neither true nor false (a metric on its line).
    pub ambiguous: Vec<(String, Scope)>,
    pub seed: u64,
    /// Stop this long after the step (the rest of the day adds nothing to a delay).
    pub stop_after_change: Option<Duration>,
}

impl Scenario {
    /// `models` healthy models at `volume` a minute each, for `days` days, measured
    /// from day `measure_from_day`.
    pub fn healthy(
        name: &str,
        models: usize,
        volume: f64,
        days: u64,
        measure_from_day: u64,
    ) -> Self {
        Self {
            name: name.to_owned(),
            models: (0..models)
                .map(|i| ModelSpec {
                    name: format!("model-{i}"),
                    profile: Profile {
                        // One reference model costs 10×: cost efficiency sits near 0.8.
                        cost_usd: if i == 0 { 0.01 } else { 0.001 },
                        ..Profile::HEALTHY
                    },
                    change: Change::None,
                    volume,
                })
                .collect(),
            days,
            measure_from_day,
            daily_cycle: 0.0,
            tick_secs: 5,
            planted: Vec::new(),
            ambiguous: Vec::new(),
            seed: 11,
            stop_after_change: None,
        }
    }

    /// The scope of model `i`.
    pub fn scope(&self, i: usize) -> Scope {
        Scope::model(self.models[i].name.as_str())
    }

    fn measure_from(&self) -> Duration {
        Duration::from_secs(self.measure_from_day * DAY_SECS)
    }

    /// Whether `scope` is quiet (nothing planted, not yet stepped) at `t`.
    fn quiet(&self, scope: &Scope, t: Duration) -> bool {
        let Some(m) = self
            .models
            .iter()
            .find(|m| Scope::model(m.name.as_str()) == *scope)
        else {
            return false;
        };
        let planted = self
            .planted
            .iter()
            .chain(&self.ambiguous)
            .any(|(_, s)| s == scope);
        !planted && m.change.start().is_none_or(|at| t < at)
    }

    /// Whether an episode of `rule` on `scope` starting at `t` is false.
    fn false_episode(&self, rule: &str, scope: &Scope, t: Duration) -> bool {
        let key = |(r, s): &(String, Scope)| r == rule && s == scope;
        if self.planted.iter().any(key) || self.ambiguous.iter().any(key) {
            return false;
        }
        match scope {
            Scope::Overall => self
                .models
                .iter()
                .all(|m| m.change.start().is_none_or(|at| t < at)),
            // Models (the scenarios set no dimensions).
            _ => self.quiet(scope, t),
        }
    }

    /// Runs the scenario and measures it.
    pub fn run(&self) -> Outcome {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_571_200); // 2026-01-05
        let clock = ManualClock::new(start);
        let events = Events::default();
        let mut config = Config::default();
        config.optimizer.enabled = false;
        let monitor = Monitor::builder()
            .clock(clock.clone())
            .config(config)
            .exporter(events.clone())
            .background(false)
            .build()
            .expect("default config");
        let mut rng = StdRng::seed_from_u64(self.seed);
        let mut out = Outcome::new(self);
        let change = self.models.iter().filter_map(|m| m.change.start()).min();
        let total = match (change, self.stop_after_change) {
            (Some(at), Some(after)) => (at + after).as_secs().min(self.days * DAY_SECS),
            _ => self.days * DAY_SECS,
        };
        let mut firing: HashMap<(String, Scope), bool> = HashMap::new();
        let mut window_alerting: BTreeSet<Scope> = BTreeSet::new();
        let mut t = 0;
        while t < total {
            let now = Duration::from_secs(t);
            let hour = (t % DAY_SECS) as f64 / 3600.0;
            let cycle = 1.0 + self.daily_cycle * (2.0 * std::f64::consts::PI * hour / 24.0).sin();
            for m in &self.models {
                let p = m.change.apply(m.profile, now);
                let mean = m.volume * cycle * self.tick_secs as f64 / 60.0;
                let n = if mean > 0.0 {
                    Poisson::new(mean).map_or(0, |d| d.sample(&mut rng) as u64)
                } else {
                    0
                };
                let median = p.p95_ms / (1.645 * SIGMA).exp();
                let latency = LogNormal::new(median.ln(), SIGMA).expect("finite");
                for _ in 0..n {
                    let ms = latency.sample(&mut rng);
                    let s = Selection::new(&m.name, Duration::from_secs_f64(ms / 1000.0))
                        .error(rng.random_bool(p.error_rate))
                        .cache_hit(rng.random_bool(p.cache_hit_rate))
                        .accuracy(if rng.random_bool(p.accuracy) {
                            1.0
                        } else {
                            0.0
                        })
                        .cost_usd(p.cost_usd);
                    monitor.record_selection(&s).expect("valid selection");
                }
            }
            t += self.tick_secs;
            clock.advance(Duration::from_secs(self.tick_secs));
            monitor.tick();
            let now = Duration::from_secs(t);
            for e in events.take() {
                let at = e.at.duration_since(start).unwrap_or_default();
                if std::env::var("QUALITY_TRACE").is_ok_and(|v| e.rule_id.contains(&v)) {
                    eprintln!(
                        "{:>7.1} min {:?} {:?} {} {}: {}",
                        at.as_secs_f64() / 60.0,
                        e.kind,
                        e.severity,
                        e.rule_id,
                        e.scope,
                        e.message
                    );
                }
                let key = (e.rule_id.clone(), e.scope.clone());
                match e.kind {
                    AlertEventKind::Firing => {
                        out.episode(self, &e, at);
                        firing.insert(key, true);
                    }
                    AlertEventKind::Resolved
                    | AlertEventKind::Accepted
                    | AlertEventKind::NoData => {
                        firing.insert(key, false);
                    }
                    _ => {}
                }
            }
            let measured = now > self.measure_from();
            for ((rule, scope), on) in &firing {
                if !*on {
                    continue;
                }
                window_alerting.insert(scope.clone());
                if measured
                    && out
                        .planted_firing
                        .contains_key(&(rule.clone(), scope.clone()))
                {
                    *out.planted_firing
                        .get_mut(&(rule.clone(), scope.clone()))
                        .unwrap() += 1;
                }
                if out.detected.is_none() {
                    out.detect(self, scope, now);
                }
            }
            if measured {
                out.measured_ticks += 1;
            }
            if t % WINDOW_SECS == 0 {
                // A fleet-wide alert that is planted does not make a model's window loud.
                let overall_planted = self
                    .planted
                    .iter()
                    .chain(&self.ambiguous)
                    .any(|(_, s)| *s == Scope::Overall);
                if measured {
                    for (i, _) in self.models.iter().enumerate() {
                        let scope = self.scope(i);
                        let window_start = now - Duration::from_secs(WINDOW_SECS);
                        if self.quiet(&scope, window_start) && self.quiet(&scope, now) {
                            out.quiet_windows += 1;
                            let fleet =
                                !overall_planted && window_alerting.contains(&Scope::Overall);
                            if window_alerting.contains(&scope) || fleet {
                                out.quiet_windows_alerting += 1;
                            }
                        }
                    }
                }
                window_alerting = firing
                    .iter()
                    .filter(|(_, on)| **on)
                    .map(|((_, s), _)| s.clone())
                    .collect();
            }
        }
        out
    }
}

/// Keeps every alert event.
#[derive(Clone, Default)]
struct Events(Arc<Mutex<Vec<AlertEvent>>>);

impl Exporter for Events {
    fn export(&mut self, batch: &ExportBatch) -> Result<(), ExportError> {
        self.0.lock().extend(batch.alerts.iter().cloned());
        Ok(())
    }
}

impl Events {
    fn take(&self) -> Vec<AlertEvent> {
        std::mem::take(&mut *self.0.lock())
    }
}

/// What a scenario measured.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub name: String,
    pub volume: f64,
    pub models: usize,
    pub days: u64,
    /// Measured days.
    pub measured_days: u64,
    /// Episodes per (rule, scope, day), all days.
    pub episodes: BTreeMap<(String, Scope, u64), u32>,
    /// False episodes in the measured period, by rule.
    pub false_episodes: BTreeMap<String, u32>,
    /// Measured ticks with the planted alert firing, per planted (rule, scope).
    pub planted_firing: BTreeMap<(String, Scope), u64>,
    pub measured_ticks: u64,
    pub quiet_windows: u64,
    pub quiet_windows_alerting: u64,
    /// Detection delay, where something was stepped and caught.
    pub detected: Option<Duration>,
    /// When the step or drift began, if any.
    pub change_at: Option<Duration>,
    measure_from_day: u64,
}

impl Outcome {
    fn new(s: &Scenario) -> Self {
        Self {
            name: s.name.clone(),
            volume: s.models.first().map_or(0.0, |m| m.volume),
            models: s.models.len(),
            days: s.days,
            measured_days: s.days - s.measure_from_day,
            episodes: BTreeMap::new(),
            false_episodes: BTreeMap::new(),
            planted_firing: s.planted.iter().map(|k| (k.clone(), 0)).collect(),
            measured_ticks: 0,
            quiet_windows: 0,
            quiet_windows_alerting: 0,
            detected: None,
            change_at: s.models.iter().filter_map(|m| m.change.start()).min(),
            measure_from_day: s.measure_from_day,
        }
    }

    fn episode(&mut self, s: &Scenario, e: &AlertEvent, at: Duration) {
        let day = at.as_secs().saturating_sub(1) / DAY_SECS;
        *self
            .episodes
            .entry((e.rule_id.clone(), e.scope.clone(), day))
            .or_default() += 1;
        if day >= self.measure_from_day && s.false_episode(&e.rule_id, &e.scope, at) {
            *self.false_episodes.entry(e.rule_id.clone()).or_default() += 1;
        }
    }

    fn detect(&mut self, s: &Scenario, scope: &Scope, now: Duration) {
        let affected = s.models.iter().any(|m| {
            Scope::model(m.name.as_str()) == *scope && m.change.start().is_some_and(|at| now > at)
        });
        if affected {
            self.detected = self.change_at.map(|at| now - at);
        }
    }

    /// False episodes per model and measured day, all rules.
    pub fn false_per_model_day(&self) -> f64 {
        let total: u32 = self.false_episodes.values().sum();
        total as f64 / (self.models as f64 * self.measured_days.max(1) as f64)
    }

    /// False episodes of the anomaly rules per model and week.
    pub fn anomaly_false_per_model_week(&self) -> f64 {
        let total: u32 = self
            .false_episodes
            .iter()
            .filter(|(r, _)| r.starts_with("anomaly"))
            .map(|(_, n)| n)
            .sum();
        total as f64 * 7.0 / (self.models as f64 * self.measured_days.max(1) as f64)
    }

    /// The most episodes one (rule, scope) started in one measured day.
    pub fn max_episodes_per_day(&self) -> u32 {
        self.episodes
            .iter()
            .filter(|((_, _, day), _)| *day >= self.measure_from_day)
            .map(|(_, n)| *n)
            .max()
            .unwrap_or(0)
    }

    /// The lowest firing share among the planted alerts, if any.
    pub fn planted_firing_share(&self) -> Option<f64> {
        self.planted_firing
            .values()
            .map(|n| *n as f64 / self.measured_ticks.max(1) as f64)
            .min_by(f64::total_cmp)
    }

    /// The share of quiet 15-minute windows with an alert firing.
    pub fn quiet_alerting_share(&self) -> f64 {
        self.quiet_windows_alerting as f64 / self.quiet_windows.max(1) as f64
    }

    /// The table's header, markdown.
    pub fn header() -> &'static str {
        "| scenario | selections/min | models × days | false episodes per model-day | anomaly false per model-week | max episodes of a (rule, model) in a day | planted alert firing | quiet 15-min windows alerting | detection delay |\n|---|---|---|---|---|---|---|---|---|"
    }

    /// One markdown row.
    pub fn row(&self) -> String {
        let share = self
            .planted_firing_share()
            .map_or("—".to_owned(), |s| format!("{:.1}%", s * 100.0));
        let detection = match (self.change_at, self.detected) {
            (None, _) => "—".to_owned(),
            (Some(_), None) => "missed".to_owned(),
            (Some(_), Some(d)) => format!("{:.1} min", d.as_secs_f64() / 60.0),
        };
        format!(
            "| {} | {} | {} × {} | {:.3} | {:.2} | {} | {} | {:.2}% | {} |",
            self.name,
            self.volume,
            self.models,
            self.measured_days,
            self.false_per_model_day(),
            self.anomaly_false_per_model_week(),
            self.max_episodes_per_day(),
            share,
            self.quiet_alerting_share() * 100.0,
            detection
        )
    }
}

/// The default lines' "inside", "on" and "past" values, per metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kpi {
    ResponseTime,
    ErrorRate,
    CacheHitRate,
    SelectionAccuracy,
}

impl Kpi {
    pub const ALL: [Kpi; 4] = [
        Kpi::ResponseTime,
        Kpi::ErrorRate,
        Kpi::CacheHitRate,
        Kpi::SelectionAccuracy,
    ];

    fn rule(self) -> &'static str {
        match self {
            Kpi::ResponseTime => "response_time",
            Kpi::ErrorRate => "error_rate",
            Kpi::CacheHitRate => "cache_hit_rate",
            Kpi::SelectionAccuracy => "selection_accuracy",
        }
    }

    /// The profile with this KPI at `where_` (0 inside, 1 on the warning line, 2 past it).
    fn at(self, where_: usize, p: Profile) -> Profile {
        let pick = |v: [f64; 3]| v[where_];
        match self {
            Kpi::ResponseTime => Profile {
                p95_ms: pick([2000.0, 3000.0, 3750.0]),
                ..p
            },
            Kpi::ErrorRate => Profile {
                error_rate: pick([0.02, 0.05, 0.075]),
                ..p
            },
            Kpi::CacheHitRate => Profile {
                cache_hit_rate: pick([0.90, 0.80, 0.75]),
                ..p
            },
            Kpi::SelectionAccuracy => Profile {
                accuracy: pick([0.95, 0.90, 0.875]),
                ..p
            },
        }
    }
}

/// Where a stationary subject sits.
pub const PLACES: [&str; 3] = ["inside", "on", "past"];

/// A stationary scenario: model 0 has `kpi` inside, on or past its warning line
/// (`place` 0, 1, 2), the others are healthy; `days` days, the first one warm-up.
pub fn stationary(kpi: Kpi, place: usize, volume: f64, models: usize, days: u64) -> Scenario {
    let name = format!("{} {}", kpi.rule(), PLACES[place]);
    let mut s = Scenario::healthy(&name, models, volume, days, 1);
    s.models[0].profile = kpi.at(place, s.models[0].profile);
    let key = (kpi.rule().to_owned(), s.scope(0));
    match place {
        2 => s.planted.push(key),
        1 => s.ambiguous.push(key),
        _ => {}
    }
    s.seed = 1 + volume as u64 * 31 + place as u64 * 7 + kpi as u64;
    s
}

/// A step at the start of day 2 (after a day of warm-up), on model 0 or on every model;
/// measured on day 2 until `after` past the step.
pub fn step(name: &str, change: Change, fleet: bool, volume: f64, models: usize) -> Scenario {
    let mut s = Scenario::healthy(name, models, volume, 2, 1);
    for (i, m) in s.models.iter_mut().enumerate() {
        if fleet || i == 0 {
            m.profile.p95_ms = 1500.0;
            m.profile.error_rate = 0.01;
            m.change = change;
        }
    }
    s.seed = 5 + volume as u64;
    s.stop_after_change = Some(Duration::from_secs(
        if matches!(change, Change::Drift { .. }) {
            8 * 3600
        } else {
            3 * 3600
        },
    ));
    s
}

/// The step scenarios' changes, at the start of day 2.
pub fn steps() -> Vec<(&'static str, Change)> {
    let at = Duration::from_secs(DAY_SECS);
    vec![
        ("latency ×2", Change::latency(at, 2.0)),
        ("latency ×3", Change::latency(at, 3.0)),
        ("errors ×3", Change::errors(at, 3.0)),
        ("errors ×10", Change::errors(at, 10.0)),
        (
            "accuracy −20 pts",
            Change::Step {
                at,
                latency: 1.0,
                errors: 1.0,
                accuracy: -0.20,
                cache: 0.0,
            },
        ),
        (
            "cache −40 pts",
            Change::Step {
                at,
                latency: 1.0,
                errors: 1.0,
                accuracy: 0.0,
                cache: -0.40,
            },
        ),
        (
            "latency drift +100%/6h",
            Change::Drift {
                at,
                over: Duration::from_secs(6 * 3600),
                by: 1.0,
            },
        ),
    ]
}

/// A fleet with a daily volume cycle: `models` models between `low` and `high`
/// selections a minute (mean volumes spread evenly), amplitude 0.8, `days` days, the
/// first one warm-up.
pub fn daily_cycle(models: usize, low: f64, high: f64, days: u64) -> Scenario {
    let name = format!("daily volume cycle, {low}–{high}/min");
    let mut s = Scenario::healthy(&name, models, low, days, 1);
    for (i, m) in s.models.iter_mut().enumerate() {
        m.volume = low + (high - low) * i as f64 / (models.max(2) - 1) as f64;
    }
    s.daily_cycle = 0.8;
    s.seed = 99;
    s
}

/// Every stationary case in one fleet: for each KPI, one model inside, one on and one
/// past its warning line (12 models), at `volume` a minute each, `days` days (the first
/// one warm-up). Cheaper than twelve runs, and the rules see a mixed fleet.
pub fn stationary_fleet(volume: f64, days: u64) -> Scenario {
    let mut s = Scenario::healthy(
        "stationary inside, on and past every line",
        12,
        volume,
        days,
        1,
    );
    for (i, kpi) in Kpi::ALL.iter().enumerate() {
        for (place, name) in PLACES.iter().enumerate() {
            let m = i * 3 + place;
            s.models[m].profile = kpi.at(place, s.models[m].profile);
            s.models[m].name = format!("{} {name}", kpi.rule());
            let key = (kpi.rule().to_owned(), s.scope(m));
            match place {
                2 => s.planted.push(key),
                1 => s.ambiguous.push(key),
                _ => {}
            }
        }
    }
    s.seed = 3 + volume as u64;
    s
}

/// Cost efficiency (fleet scope) inside, on or past its 0.70 warning line: one
/// reference model at $0.01 a selection and five cheaper ones, priced so that the
/// fleet saves 80%, 70% or 65% against the reference.
pub fn cost_efficiency(place: usize, volume: f64, days: u64) -> Scenario {
    let name = format!("cost_efficiency {}", PLACES[place]);
    let mut s = Scenario::healthy(&name, 6, volume, days, 1);
    // efficiency = 1 − (0.01 + 5c) / (6 × 0.01)
    let cheap = [0.0004, 0.0016, 0.0022][place];
    for m in s.models.iter_mut().skip(1) {
        m.profile.cost_usd = cheap;
    }
    let key = ("cost_efficiency".to_owned(), Scope::Overall);
    match place {
        2 => s.planted.push(key),
        1 => s.ambiguous.push(key),
        _ => {}
    }
    s.seed = 17 + place as u64;
    s
}
