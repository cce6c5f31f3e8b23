//! [`AnomalyRule`]: learned per-model baselines (`"thresholds": "auto"`).

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::config::Direction;
use crate::error::ConfigError;
use crate::hdr::{BucketLayout, CompactCounts};

use super::baseline::{Baseline, Profile, Sample};
use super::evidence::{
    Ladder, Say, Side, Tally, TallyRing, credibly_inside, credibly_past, critical_side,
    line_duration, normal_sf,
};
use super::{AlertPolicy, DEFAULT_WINDOW, Finding, Metric, Rule, RuleView, Scope, Severity};

/// Models not seen for this long are forgotten, so models that left do not accumulate;
/// long enough to keep the time-of-day profiles over a quiet weekend day.
const FORGET_AFTER: Duration = Duration::from_secs(3 * 24 * 3600);
/// Trials a baseline needs before it judges anything.
const MIN_BASELINE: f64 = 200.0;
/// Trials an hour-of-day profile needs before it replaces the all-hours one.
const MIN_HOUR_PROFILE: f64 = 1000.0;
/// z-score of the baseline's own uncertainty: the window is compared with the least
/// alarming value the baseline plausibly has.
const BASELINE_Z: f64 = 2.0;
/// The evidence windows beyond the rule's own, tallied from sealed minutes: small
/// lasting shifts (a 3× error rate at 20 selections a minute, a slow drift) and the way
/// back at low volume need more selections than 5 minutes hold.
const LADDER: [Duration; 2] = [Duration::from_secs(30 * 60), Duration::from_secs(2 * 3600)];
/// Minutes a computed baseline bound is reused for.
const BOUND_MINUTES: u64 = 10;
/// Minutes in a week.
const WEEK_MINUTES: f64 = 7.0 * 24.0 * 60.0;

/// Fires when a model's metric leaves its own learned normal, with a stated
/// false-alarm budget.
///
/// ## Method
///
/// **Baseline.** For each model the rule learns the metric's *distribution* from
/// sealed minutes (each minute once, never from overlapping windows, and only once it
/// has left the judged window without being judged anomalous): for latency a
/// histogram of every selection's latency, for rates the counts of events and trials;
/// decayed with a half-life of a day, and kept per UTC hour of the day as well, which
/// replaces the all-hours baseline for that hour once two days (and 1,000 selections)
/// of it are known.
///
/// **Test.** Each evaluation asks whether the model is credibly worse than normal by
/// at least `min_effect` (default 25%), so that high volume does not flag trivial
/// shifts:
///
/// - a latency percentile `q` (p95): are more than `1 − q` (5%) of the selections
///   slower than `(1 + min_effect)` × the baseline's own p95? That is "p95 is credibly
///   25% above normal", counted from the HDR buckets;
/// - a rate: is the count of events credibly above `(1 + min_effect)` × the baseline
///   rate (below `(1 − min_effect)` × for rates where lower is worse)?
///
/// Both are exact binomial tails below `alpha`, against the least alarming value the
/// baseline plausibly has (its 2σ bound); critical when also credibly past
/// `critical_effect` (default +100%, or −50% where lower is worse). The question is put
/// to a ladder of windows, shortest first: the rule's window (default 5 minutes, with
/// the open minute), then 30 minutes and 2 hours of sealed minutes; the first that is
/// decisive (credibly past, or credibly back inside half the minimum effect: a
/// hysteresis band) decides, and a model no window decides about keeps its state. Big shifts are caught by the short
/// window within minutes; small lasting ones (a tripled error rate at 20 selections a
/// minute, a slow drift) by the long ones; and an anomaly neither flaps nor clears on
/// a lucky minute.
///
/// **False-alarm budget.** `alpha` comes from `false_alarms_per_week` (default 0.5
/// per rule and model: the default rule set's two anomaly rules add up to at most one
/// false episode per model per week of stationary traffic). A week holds `W` disjoint
/// windows over the ladder (2,016 of 5 minutes, 336 of 30, 84 of 2 hours);
/// evaluating overlapping windows at every tick finds an excursion about `z²` times
/// more often than testing disjoint ones would (the scan-statistic correction); and
/// the tick tests `m` models at once, a family whose budget is `m` times a model's, so
/// Bonferroni over the family gives each test `alpha = budget / (W · z²)`, with `z` the
/// matching normal quantile (about 3.8 with the defaults). The alert-quality suite
/// measures the result.
///
/// **New normal.** A shift that persists for `accept_after` (default 6 hours) is
/// accepted: the baseline restarts from what the model looked like during the shift,
/// and the alert ends with an [`Accepted`](crate::AlertEventKind::Accepted) event
/// saying so, so no alert fires forever.
///
/// ```
/// use modelmeter::{AnomalyRule, Metric};
/// use std::time::Duration;
///
/// let rule = AnomalyRule::new("p95_anomaly", Metric::LatencyP95)
///     .min_effect(0.25)
///     .false_alarms_per_week(0.5)
///     .accept_after(Duration::from_secs(6 * 3600));
/// ```
#[derive(Debug, Clone)]
pub struct AnomalyRule {
    id: String,
    metric: Metric,
    direction: Direction,
    budget: f64,
    min_effect: f64,
    critical_effect: Option<f64>,
    warmup: u32,
    window: Duration,
    min_samples: u64,
    accept_after: Duration,
    policy: AlertPolicy,
    models: HashMap<String, ModelState, foldhash::fast::RandomState>,
    /// [`Self::alpha`], computed at the first evaluation (settings are fixed by then).
    alpha: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ModelState {
    baseline: Baseline,
    /// Anomalous now, at this severity.
    held: Option<Severity>,
    /// Since when anomalous, and what the model looked like since.
    shift: Option<(SystemTime, Profile, u32)>,
    last_seen: SystemTime,
    /// [`AnomalyRule::normal_bound`] and the minute it was computed at.
    bound: Option<(u64, f64)>,
    /// Sealed minutes still inside the judged window: learned only once they have left
    /// it, and only if no evaluation found the model anomalous meanwhile, so that a
    /// fault never teaches the baseline its own first minutes.
    pending: VecDeque<Pending>,
    /// Tallies of sealed minutes against the current lines, for the ladder.
    ring: TallyRing,
}

/// A sealed minute waiting to be learned.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pending {
    minute: u64,
    n: f64,
    x: f64,
    latency: Option<CompactCounts>,
    /// Judged part of an anomalous window.
    tainted: bool,
}

impl AnomalyRule {
    /// A rule watching `metric` per model, in the metric's default direction. The
    /// metric must be a rate or a latency percentile.
    pub fn new(id: impl Into<String>, metric: Metric) -> Self {
        Self {
            id: id.into(),
            metric,
            direction: metric.default_direction(),
            budget: 0.5,
            min_effect: 0.25,
            critical_effect: None,
            warmup: 12,
            window: DEFAULT_WINDOW,
            min_samples: 20,
            accept_after: Duration::from_secs(6 * 3600),
            policy: AlertPolicy {
                for_duration: Duration::ZERO,
                ..AlertPolicy::default()
            },
            models: HashMap::default(),
            alpha: None,
        }
    }

    /// False episodes allowed per model per week of stationary traffic (default 0.5).
    pub fn false_alarms_per_week(mut self, budget: f64) -> Self {
        self.budget = budget;
        self
    }

    /// The smallest relative change worth an alert (default 0.25: 25%).
    pub fn min_effect(mut self, effect: f64) -> Self {
        self.min_effect = effect;
        self
    }

    /// The relative change that makes it critical (default 1.0, doubled; 0.5, halved,
    /// where lower is worse).
    pub fn critical_effect(mut self, effect: f64) -> Self {
        self.critical_effect = Some(effect);
        self
    }

    fn critical(&self) -> f64 {
        self.critical_effect.unwrap_or(match self.direction {
            Direction::HigherIsWorse => 1.0,
            Direction::LowerIsWorse => 0.5,
        })
    }

    /// Windows' worth of sealed minutes learned before the rule may fire (default 12:
    /// an hour with 5-minute windows).
    pub fn warmup(mut self, windows: u32) -> Self {
        self.warmup = windows;
        self
    }

    /// The window judged (default 5 minutes).
    pub fn window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// Selections a window needs to be judged (default 20).
    pub fn min_samples(mut self, n: u64) -> Self {
        self.min_samples = n;
        self
    }

    /// How long a shift must persist to become the new normal (default 6 hours).
    pub fn accept_after(mut self, d: Duration) -> Self {
        self.accept_after = d;
        self
    }

    /// Which way is bad (default: the metric's own).
    pub fn direction(mut self, direction: Direction) -> Self {
        self.direction = direction;
        self
    }

    /// Alert timing (default: `for` zero, otherwise [`AlertPolicy::default`]): the test's
    /// false-alarm budget already demands credible evidence, and waiting on top of it
    /// only delays detection.
    pub fn policy(mut self, policy: AlertPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The significance level of one test, from the budget (see the type's docs).
    fn alpha(&self) -> f64 {
        // Disjoint windows in a week, over the rule's window and the ladder's: longer
        // windows offer fewer independent chances of a false alarm.
        let windows: f64 = std::iter::once(self.window)
            .chain(LADDER)
            .map(|w| WEEK_MINUTES / (w.as_secs_f64() / 60.0).max(1.0))
            .sum();
        let base = (self.budget / windows).clamp(1e-300, 0.5);
        let mut alpha = base;
        // alpha = base / z(alpha)²: a fixed point, reached in a few steps.
        for _ in 0..8 {
            let z = normal_quantile(alpha).max(1.0);
            alpha = base / (z * z);
        }
        alpha
    }

    /// The sample of one sealed minute.
    fn sample<'b>(
        &self,
        b: &'b crate::bucket::MinuteBucket,
        layout: &'b crate::hdr::BucketLayout,
    ) -> Sample<'b> {
        match self.metric {
            Metric::ErrorRate => Sample {
                n: b.count as f64,
                x: b.errors as f64,
                latency: None,
            },
            Metric::CacheHitRate => Sample {
                n: b.count as f64,
                x: b.cache_hits as f64,
                latency: None,
            },
            Metric::SelectionAccuracy => Sample {
                n: b.accuracy_count as f64,
                x: b.accuracy_sum,
                latency: None,
            },
            Metric::Satisfaction => Sample {
                n: b.satisfaction_count as f64,
                x: b.satisfaction_sum,
                latency: None,
            },
            _ => Sample {
                n: b.count as f64,
                x: 0.0,
                latency: Some((b.compact(), layout)),
            },
        }
    }

    /// Queues this tick's sealed minutes; [`Self::mature`] learns them later.
    fn learn(&mut self, view: &RuleView<'_>) {
        let now = view.now();
        for b in view.sealed() {
            let sample = self.sample(b, view.layout);
            if sample.n <= 0.0 {
                continue;
            }
            let lines = self
                .models
                .get(&b.model)
                .and_then(|s| s.bound)
                .map(|(_, bound)| self.lines(bound));
            if !self.models.contains_key(&b.model) {
                let state = ModelState {
                    baseline: Baseline::default(),
                    held: None,
                    shift: None,
                    last_seen: now,
                    bound: None,
                    pending: VecDeque::new(),
                    ring: ladder_ring(),
                };
                self.models.insert(b.model.clone(), state);
            }
            let state = self.models.get_mut(&b.model).expect("inserted above");
            state.last_seen = now;
            let minute = crate::clock::to_unix_nanos(b.start) / 60_000_000_000;
            // Latency minutes are tallied against the lines of the baseline as it is
            // now; before the baseline is warm there are no lines to count against.
            let x = match (self.metric.quantile(), lines) {
                (None, _) => Some([sample.x; 3]),
                (Some(_), Some(lines)) => Some(lines.map(|(us, _)| {
                    let line = view.layout.index_of(line_duration(us / 1e6));
                    b.compact().count_above(line) as f64
                })),
                (Some(_), None) => None,
            };
            if let Some(x) = x {
                state.ring.add(minute, &Tally { n: sample.n, x }, now);
            }
            state.pending.push_back(Pending {
                minute,
                n: sample.n,
                x: sample.x,
                latency: sample.latency.map(|(c, _)| c.clone()),
                tainted: state.held.is_some(),
            });
        }
    }

    /// Learns the queued minutes that have left the judged window: into the baseline,
    /// or, for minutes judged anomalous, into the shift.
    fn mature(&mut self, now_minute: u64, layout: &BucketLayout) {
        let lag = self.window.as_secs().div_ceil(60) + 1;
        for state in self.models.values_mut() {
            while let Some(p) = state.pending.front() {
                if p.minute + lag > now_minute {
                    break;
                }
                let p = state.pending.pop_front().expect("peeked");
                let sample = Sample {
                    n: p.n,
                    x: p.x,
                    latency: p.latency.as_ref().map(|c| (c, layout)),
                };
                match &mut state.shift {
                    Some((_, profile, minutes)) if p.tainted => {
                        profile.add(&sample);
                        *minutes += 1;
                    }
                    _ if p.tainted => {}
                    _ => {
                        state.baseline.learn(p.minute, &sample);
                    }
                }
            }
        }
    }

    /// The baseline value the window is compared with: the least alarming value the
    /// baseline plausibly has (the quantile's 2σ bound for latency, in µs; the rate's
    /// Wilson bound for rates).
    fn normal_bound(&self, profile: &Profile) -> Option<f64> {
        let worse = self.direction == Direction::HigherIsWorse;
        match self.metric.quantile() {
            Some(q) => {
                let spread = BASELINE_Z * (q * (1.0 - q) / profile.n.max(1.0)).sqrt();
                let q_bound = if worse { q + spread } else { q - spread };
                profile.quantile_us(q_bound.clamp(0.0, 0.9999))
            }
            None => {
                let p = (profile.x / profile.n.max(1.0)).clamp(0.0, 1.0);
                let (lo, hi) = super::wilson_interval(p, profile.n as u64, BASELINE_Z);
                Some(if worse { hi } else { lo })
            }
        }
    }

    /// The warning, critical and clearing lines against `bound`, each as
    /// `(line, share)`: for latency the line in µs and the share `1 − q` allowed past
    /// it; for rates the rate line twice. The clearing line sits at half the minimum
    /// effect: a hysteresis band, so that a metric hovering at +25% does not flap.
    fn lines(&self, bound: f64) -> [(f64, f64); 3] {
        let factor = |effect: f64| match self.direction {
            Direction::HigherIsWorse => 1.0 + effect,
            Direction::LowerIsWorse => 1.0 - effect,
        };
        let effects = [self.min_effect, self.critical(), self.min_effect / 2.0];
        effects.map(|e| match self.metric.quantile() {
            Some(q) => (bound * factor(e), 1.0 - q),
            None => {
                let rate = (bound * factor(e)).clamp(0.0, 1.0);
                (rate, rate)
            }
        })
    }

    /// What a window of `t` says about the lines: past the warning line, or inside
    /// the clearing line; past the critical line, or inside it.
    fn say(
        &self,
        t: &Tally,
        lines: &[(f64, f64); 3],
        (window, held): (Duration, Option<Severity>),
        alpha: f64,
    ) -> Option<Say> {
        if t.n < self.min_samples as f64 {
            return None;
        }
        let worse = self.direction == Direction::HigherIsWorse;
        let past = |i: usize| credibly_past(t.x[i], t.n, lines[i].1, worse, alpha);
        let inside = |i: usize| credibly_inside(t.x[i], t.n, lines[i].1, worse, alpha);
        let warning = if past(0) {
            Side::Past
        } else if inside(2) {
            Side::Inside
        } else {
            Side::Unsure
        };
        let share = t.x[0] / t.n;
        Some(Say {
            warning,
            critical: critical_side(warning, held, || past(1), || inside(1)),
            window,
            n: t.n,
            share,
            leans_past: if worse {
                share > lines[0].1
            } else {
                share < lines[0].1
            },
        })
    }

    /// The rule's own window as a tally against `lines`.
    fn window_tally(
        &self,
        view: &RuleView<'_>,
        scope: &Scope,
        stats: &crate::summary::Stats,
        lines: &[(f64, f64); 3],
    ) -> Option<Tally> {
        let n = self.metric.samples(stats) as f64;
        let x = match self.metric.quantile() {
            Some(_) => {
                let slower = |us: f64| {
                    let line = line_duration(us / 1e6);
                    view.count_slower_than(self.window, scope, line)
                        .map(|k| k as f64)
                };
                [
                    slower(lines[0].0)?,
                    slower(lines[1].0)?,
                    slower(lines[2].0)?,
                ]
            }
            None => [n * self.metric.value(stats)?; 3],
        };
        Some(Tally { n, x })
    }

    fn judge(
        &mut self,
        view: &RuleView<'_>,
        model: &str,
        stats: &crate::summary::Stats,
        alpha: f64,
    ) -> Finding {
        let scope = Scope::model(model);
        let now = view.now();
        let samples = self.metric.samples(stats);
        let Some(value) = self
            .metric
            .value(stats)
            .filter(|_| samples >= self.min_samples)
        else {
            return Finding::no_data(scope, "too few samples");
        };
        let Some(state) = self.models.get(model) else {
            return Finding::ok(scope, value);
        };
        let warm_minutes = u64::from(self.warmup) * (self.window.as_secs() / 60).max(1);
        if u64::from(state.baseline.minutes) < warm_minutes || state.baseline.all.n < MIN_BASELINE {
            return Finding::ok(scope, value);
        }
        let now_minute = crate::clock::to_unix_nanos(now) / 60_000_000_000;
        let profile = state.baseline.profile_for(now_minute, MIN_HOUR_PROFILE);
        let cached = match state.bound {
            // The baseline moves slowly: its bound is recomputed every few minutes
            // and at each new hour (whose profile may differ), not at every tick.
            Some((at, b)) if at / 60 == now_minute / 60 && now_minute < at + BOUND_MINUTES => {
                Some(b)
            }
            _ => None,
        };
        let fresh = cached.is_none();
        let bound = cached.or_else(|| self.normal_bound(profile));
        let Some(bound) = bound else {
            return Finding::ok(scope, value);
        };
        let lines = self.lines(bound);
        let Some(t) = self.window_tally(view, &scope, stats, &lines) else {
            return Finding::ok(scope, value);
        };
        let held = state.held;
        // Shortest window first; the first decisive one wins, and a model no window
        // decides about keeps what it had (hysteresis, as in `ThresholdRule`).
        let mut ladder = Ladder::new(held);
        if !ladder.consider(self.say(&t, &lines, (self.window, held), alpha)) {
            for w in LADDER {
                let t = state.ring.sum(now_minute, w.as_secs() / 60);
                if ladder.consider(self.say(&t, &lines, (w, held), alpha)) {
                    break;
                }
            }
        }
        let severity = ladder.decision().0;
        let normal = || self.normal_value(profile);
        let m = self.metric;
        let normal = if severity.is_some() || held.is_some() {
            normal()
        } else {
            f64::NAN
        };
        let state = self.models.get_mut(model).expect("looked up above");
        state.held = severity;
        if fresh {
            state.bound = Some((now_minute, bound));
        }
        if severity.is_some() {
            state.pending.iter_mut().for_each(|p| p.tainted = true);
        }
        match (held, severity) {
            (None, Some(_)) => state.shift = Some((now, Profile::default(), 0)),
            (Some(_), None) => state.shift = None,
            _ => {}
        }
        if let Some((since, profile, minutes)) = &state.shift {
            let lasted = now.duration_since(*since).unwrap_or_default();
            if lasted >= self.accept_after && profile.n >= MIN_BASELINE {
                let message = format!(
                    "{scope}: {} {} for {}h: accepted as the new normal (it was {})",
                    m.label(),
                    m.format(value),
                    lasted.as_secs() / 3600,
                    m.format(normal),
                );
                let (profile, minutes) = (profile.clone(), *minutes);
                state.baseline.reset_to(profile, minutes);
                state.held = None;
                state.shift = None;
                state.bound = None;
                // The ring counted against the old normal's lines.
                state.ring = ladder_ring();
                return Finding::accepted(scope, value, normal, message);
            }
        }
        let Some(severity) = severity else {
            return Finding::ok(scope, value);
        };
        let effect = match severity {
            Severity::Warning => self.min_effect,
            Severity::Critical => self.critical(),
        };
        let message = format!(
            "{scope}: {} {} is credibly {:.0}% {} its normal {}",
            m.label(),
            m.format(value),
            effect * 100.0,
            if self.direction == Direction::HigherIsWorse {
                "above"
            } else {
                "below"
            },
            m.format(normal),
        );
        Finding::breach(scope, severity, value, normal, message)
    }

    /// The baseline's value of the metric, in the metric's units, for messages.
    fn normal_value(&self, profile: &Profile) -> f64 {
        match self.metric.quantile() {
            Some(q) => profile.quantile_us(q).unwrap_or(f64::NAN) / 1000.0,
            None => profile.x / profile.n.max(1.0),
        }
    }
}

/// An empty ring reaching back over the longest window of the ladder.
fn ladder_ring() -> TallyRing {
    TallyRing::new(LADDER[LADDER.len() - 1].as_secs() / 60)
}

/// The `z` with `P(Z > z) = alpha`, by bisection (called once per evaluation).
fn normal_quantile(alpha: f64) -> f64 {
    let (mut lo, mut hi) = (-10.0f64, 40.0f64);
    for _ in 0..80 {
        let mid = 0.5 * (lo + hi);
        if normal_sf(mid) > alpha {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

impl Rule for AnomalyRule {
    fn id(&self) -> &str {
        &self.id
    }

    fn windows(&self) -> Vec<Duration> {
        vec![self.window]
    }

    fn policy(&self) -> AlertPolicy {
        self.policy
    }

    fn evaluate(&mut self, view: &RuleView<'_>) -> Vec<Finding> {
        self.learn(view);
        let now = view.now();
        let alpha = match self.alpha {
            Some(a) => a,
            None => *self.alpha.insert(self.alpha()),
        };
        let mut out = Vec::new();
        for (model, stats) in view.models(self.window) {
            out.push(self.judge(view, model, stats, alpha));
        }
        self.mature(
            crate::clock::to_unix_nanos(now) / 60_000_000_000,
            view.layout,
        );
        self.models
            .retain(|_, s| now.duration_since(s.last_seen).unwrap_or_default() < FORGET_AFTER);
        out
    }

    fn save_state(&self) -> Option<Vec<u8>> {
        let models: Vec<(&String, &ModelState)> = self.models.iter().collect();
        serde_json::to_vec(&models).ok()
    }

    fn restore_state(&mut self, state: &[u8]) -> Result<(), super::RestoreError> {
        let models: Vec<(String, ModelState)> = serde_json::from_slice(state)?;
        let ring = ladder_ring().len();
        if let Some((model, _)) = models.iter().find(|(_, s)| s.ring.len() != ring) {
            return Err(format!("{model}: the saved ring has another length").into());
        }
        self.models = models.into_iter().collect();
        Ok(())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let field = |f: &str| format!("rules.{}.{f}", self.id);
        if !(self.metric.is_rate() || self.metric.quantile().is_some()) {
            return Err(ConfigError::invalid(
                &field("metric"),
                self.metric,
                "anomaly rules judge rates and latency percentiles",
            ));
        }
        if !(self.budget.is_finite() && self.budget > 0.0) {
            return Err(ConfigError::invalid(
                &field("false_alarms_per_week"),
                self.budget,
                "must be a finite number > 0",
            ));
        }
        let upper = if self.direction == Direction::LowerIsWorse {
            1.0
        } else {
            f64::MAX
        };
        for (name, e) in [
            ("min_effect", self.min_effect),
            ("critical_effect", self.critical()),
        ] {
            if !(e.is_finite() && e >= 0.0 && e < upper) {
                return Err(ConfigError::invalid(
                    &field(name),
                    e,
                    "must be finite, >= 0 (and < 1 where lower is worse)",
                ));
            }
        }
        if self.critical() < self.min_effect {
            return Err(ConfigError::invalid(
                &field("critical_effect"),
                self.critical(),
                "must be at least min_effect",
            ));
        }
        if self.warmup < 2 {
            return Err(ConfigError::invalid(
                &field("warmup"),
                self.warmup,
                "must be >= 2",
            ));
        }
        if self.accept_after < self.window {
            return Err(ConfigError::invalid(
                &field("accept_after"),
                crate::names::duration(self.accept_after),
                "must be at least the window",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alpha_spends_the_budget_over_a_week_of_scanned_windows() {
        let r = AnomalyRule::new("a", Metric::LatencyP95);
        let a = r.alpha();
        let z = normal_quantile(a);
        // 2,016 + 336 + 84 windows a week, 0.5 false episodes: 2.1e-4 before the scan
        // correction.
        assert!((a * 2436.0 * z * z - 0.5).abs() < 1e-6, "{a} {z}");
        assert!((3.5..4.5).contains(&z), "{z}");
    }

    #[test]
    fn only_rates_and_percentiles_are_accepted() {
        assert!(
            AnomalyRule::new("t", Metric::Throughput)
                .validate()
                .is_err()
        );
        assert!(AnomalyRule::new("e", Metric::ErrorRate).validate().is_ok());
        let e = AnomalyRule::new("c", Metric::CacheHitRate)
            .min_effect(1.5)
            .validate()
            .unwrap_err();
        assert!(e.to_string().contains("min_effect"), "{e}");
    }
}
