//! [`ThresholdRule`]: fixed warning and critical lines on one metric.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::bucket::MinuteBucket;
use crate::config::Direction;
use crate::error::ConfigError;
use crate::hdr::BucketLayout;
use crate::summary::{Stats, Summary};

use super::evidence::{
    Ladder, Say, Side, Tally, TallyRing, credibly_inside, credibly_past, critical_side,
    judge_count, line_duration, normal_sf,
};
use super::{AlertPolicy, DEFAULT_WINDOW, Finding, Metric, Rule, RuleView, Scope, Severity};

/// Which scopes a rule judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleScope {
    /// All models together only.
    Overall,
    /// Each model on its own only.
    PerModel,
    /// Both.
    Both,
}

/// Fires when a metric crosses a warning or a critical line, and stays firing until
/// the evidence says it is back.
///
/// ## Method
///
/// Rates (error rate, cache hit rate, selection accuracy, satisfaction) and latency
/// quantiles are judged on **counts**, never on a point estimate: a 5% error line
/// allows 5% failures, and a p95 line of 3,000 ms allows 5% of selections slower
/// than 3,000 ms (counted from the HDR buckets, to their 1% resolution). A window is
/// **credibly past** a line when a metric sitting exactly on the line would produce a
/// count that far out with probability below `Φ(−wilson_z)` (an exact binomial tail;
/// default `wilson_z` 3.5, about 1 in 4,300), and **credibly inside** when the same
/// holds on the other side with `clear_z` (default: `wilson_z`).
///
/// Evidence comes from a ladder of windows, shortest first: the rule's `window`
/// (default 5 minutes, including the open minute), then the `evidence_windows`
/// (default 30 minutes, 2 hours and 6 hours, tallied from sealed minutes as they
/// seal, so long windows cost nothing per tick). A window with fewer than
/// `min_samples` selections carrying the metric (default 20) says nothing.
///
/// - The first window that is decisive about a line decides: credibly past the
///   critical line is critical; credibly past the warning line is a warning (or holds
///   critical when not credibly below critical); credibly inside the warning line
///   clears.
/// - **Hysteresis**: when no window is decisive, the scope keeps what it had. A breach
///   therefore starts on credible evidence and ends only on credible evidence of the
///   opposite, then the policy's `keep_firing_for` runs. A metric that sits on its line
///   rarely starts an episode and holds the one it starts; a metric past its line keeps
///   firing; severity escalates and de-escalates the same way.
/// - Short windows catch large changes quickly; long windows catch small lasting ones,
///   which is what makes low volume workable: at 5 selections a minute a 7.5% error
///   rate is indistinguishable from 5% in 5 minutes, but not in 6 hours.
///
/// Other metrics (mean latency, cost per selection, cost efficiency, throughput) have
/// no count to test: the rule learns their value once per sealed minute and judges the
/// mean of those values over each window of the same ladder, in standard errors of the
/// mean (Student's t at the level of `wilson_z`; a window needs at least 5 minutes),
/// with the same hysteresis.
///
/// The alert lifecycle then applies the rule's [`AlertPolicy`]: the breach must hold
/// for `for_duration` (default 2 minutes) before it fires.
///
/// ```
/// use modelmeter::{Metric, ThresholdRule, RuleScope};
/// use std::time::Duration;
///
/// // Warn when a model's p95 passes 3 s for two minutes, critical past 5 s.
/// let rule = ThresholdRule::new("gpt4o_p95", Metric::LatencyP95, 3000.0, 5000.0)
///     .scope(RuleScope::PerModel)
///     .for_duration(Duration::from_secs(120));
/// ```
#[derive(Debug, Clone)]
pub struct ThresholdRule {
    id: String,
    metric: Metric,
    direction: Direction,
    target: Option<f64>,
    warning: f64,
    critical: f64,
    window: Duration,
    evidence_windows: Vec<Duration>,
    min_samples: u64,
    wilson_z: f64,
    clear_z: Option<f64>,
    scope: RuleScope,
    /// Judge each value of this dimension instead of models or the fleet.
    dimension: Option<String>,
    policy: AlertPolicy,
    scopes: HashMap<Scope, ScopeState, foldhash::fast::RandomState>,
}

/// What the rule remembers of one scope.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ScopeState {
    /// Tallies of sealed minutes, for the evidence windows.
    ring: TallyRing,
    /// The severity the scope is held at; `None` when inside.
    held: Option<Severity>,
}

/// The default long evidence windows.
const EVIDENCE_WINDOWS: [Duration; 3] = [
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(6 * 3600),
];

/// The longest evidence window accepted: the ring is sized for it.
const MAX_EVIDENCE_WINDOW: Duration = Duration::from_secs(24 * 3600);

impl ThresholdRule {
    /// A rule on `metric` with the given lines, in the metric's units (milliseconds
    /// for latencies), in the metric's default direction, judged per model.
    pub fn new(id: impl Into<String>, metric: Metric, warning: f64, critical: f64) -> Self {
        Self {
            id: id.into(),
            metric,
            direction: metric.default_direction(),
            target: None,
            warning,
            critical,
            window: DEFAULT_WINDOW,
            evidence_windows: EVIDENCE_WINDOWS.to_vec(),
            min_samples: 20,
            wilson_z: crate::config::DEFAULT_Z,
            clear_z: None,
            scope: RuleScope::PerModel,
            dimension: None,
            policy: AlertPolicy::default(),
            scopes: HashMap::default(),
        }
    }

    /// Which way the metric gets worse (default: the metric's own).
    pub fn direction(mut self, direction: Direction) -> Self {
        self.direction = direction;
        self
    }

    /// Where the metric should be; informational, quoted in messages.
    pub fn target(mut self, target: f64) -> Self {
        self.target = Some(target);
        self
    }

    /// The shortest evidence window, read at every tick with the open minute
    /// (default 5 minutes).
    pub fn window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// The longer evidence windows, tallied from sealed minutes (default 30 minutes,
    /// 2 hours and 6 hours; each at most 24 hours, known to 5 minutes). Empty judges
    /// the rule's `window` alone.
    pub fn evidence_windows(mut self, windows: impl IntoIterator<Item = Duration>) -> Self {
        self.evidence_windows = windows.into_iter().collect();
        self.evidence_windows.sort();
        self
    }

    /// Selections a window needs before it counts as evidence (default 20).
    pub fn min_samples(mut self, n: u64) -> Self {
        self.min_samples = n;
        self
    }

    /// How credible a breach must be to start: the count must be further from the
    /// line than a metric on the line produces with probability `Φ(−z)` (default 3.5).
    /// 0 judges the point value.
    pub fn wilson_z(mut self, z: f64) -> Self {
        self.wilson_z = z;
        self
    }

    /// How credible the way back must be to clear (default: the same as `wilson_z`).
    pub fn clear_z(mut self, z: f64) -> Self {
        self.clear_z = Some(z);
        self
    }

    /// Which scopes to judge (default per model).
    pub fn scope(mut self, scope: RuleScope) -> Self {
        self.scope = scope;
        self
    }

    /// Judges each value of `dimension` (`"provider"`, or a declared attribute such as
    /// `"team"`) on its own, across models, instead of the models or the fleet: the
    /// error rate per provider, the cache hit rate per team. Alerts carry
    /// [`Scope::Dimension`]. Dimension values keep counts, not latency tails, so only
    /// [`Metric::ErrorRate`] and [`Metric::CacheHitRate`] can be judged this way
    /// ([`validate`](Rule::validate) refuses the others).
    ///
    /// ```
    /// use modelmeter::{Metric, Monitor, ThresholdRule};
    ///
    /// let rule = ThresholdRule::new("provider_errors", Metric::ErrorRate, 0.05, 0.10)
    ///     .per_dimension("provider");
    /// let monitor = Monitor::builder().rule(rule).background(false).build()?;
    /// # Ok::<(), modelmeter::ConfigError>(())
    /// ```
    pub fn per_dimension(mut self, dimension: impl Into<String>) -> Self {
        self.dimension = Some(dimension.into());
        self
    }

    /// The whole alert timing at once.
    pub fn policy(mut self, policy: AlertPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// How long a breach must hold before firing (default 2 minutes).
    pub fn for_duration(mut self, d: Duration) -> Self {
        self.policy.for_duration = d;
        self
    }

    /// How long an alert keeps firing after recovery (default 5 minutes).
    pub fn keep_firing_for(mut self, d: Duration) -> Self {
        self.policy.keep_firing_for = d;
        self
    }

    /// How often a firing alert is announced again (default 1 hour).
    pub fn renotify_every(mut self, d: Duration) -> Self {
        self.policy.renotify_interval = d;
        self
    }

    /// What no data does (default keep state).
    pub fn no_data(mut self, policy: super::NoDataPolicy) -> Self {
        self.policy.no_data = policy;
        self
    }

    /// Whether the metric is judged on counts (rates and latency quantiles).
    fn counted(&self) -> bool {
        self.metric.is_rate() || self.metric.quantile().is_some()
    }

    fn judges(&self, scope: &Scope) -> bool {
        match (scope, &self.dimension) {
            (Scope::Dimension { dimension, .. }, Some(d)) => dimension == d,
            (_, Some(_)) | (Scope::Dimension { .. }, None) => false,
            (Scope::Overall, None) => matches!(self.scope, RuleScope::Overall | RuleScope::Both),
            (Scope::Model(_), None) => {
                matches!(self.scope, RuleScope::PerModel | RuleScope::Both)
            }
        }
    }

    /// The tally of one sealed minute of a dimension value (a rate metric).
    fn dimension_tally(&self, b: &crate::dimension::DimensionBucket) -> Tally {
        let x = match self.metric {
            Metric::CacheHitRate => b.cache_hits,
            _ => b.errors,
        };
        Tally {
            n: b.count as f64,
            x: [x as f64; 3],
        }
    }

    /// The share of events a metric exactly on `line` produces.
    fn p0(&self, line: f64) -> f64 {
        self.metric.quantile().map_or(line, |q| 1.0 - q)
    }

    fn alphas(&self) -> (f64, f64) {
        let z = self.wilson_z;
        (normal_sf(z), normal_sf(self.clear_z.unwrap_or(z)))
    }

    /// The tally of one sealed minute.
    fn bucket_tally(&self, b: &MinuteBucket, layout: &BucketLayout) -> Tally {
        let slower = |ms: f64| {
            let line = layout.index_of(line_duration(ms / 1000.0));
            b.compact().count_above(line) as f64
        };
        let (n, x) = match self.metric {
            Metric::ErrorRate => (b.count, [b.errors as f64; 3]),
            Metric::CacheHitRate => (b.count, [b.cache_hits as f64; 3]),
            Metric::SelectionAccuracy => (b.accuracy_count, [b.accuracy_sum; 3]),
            Metric::Satisfaction => (b.satisfaction_count, [b.satisfaction_sum; 3]),
            _ => (b.count, [slower(self.warning), slower(self.critical), 0.0]),
        };
        Tally { n: n as f64, x }
    }

    /// The tally of the rule's window for `scope`.
    fn window_tally(&self, view: &RuleView<'_>, scope: &Scope, stats: &Stats) -> Tally {
        let samples = self.metric.samples(stats) as f64;
        let mean = self.metric.value(stats).unwrap_or(0.0);
        let slower = |line: f64| {
            let line = line_duration(line / 1000.0);
            view.count_slower_than(self.window, scope, line)
                .unwrap_or(0) as f64
        };
        let x = if self.metric.is_rate() {
            [samples * mean; 3]
        } else {
            [slower(self.warning), slower(self.critical), 0.0]
        };
        Tally { n: samples, x }
    }

    fn say(&self, t: &Tally, window: Duration, held: Option<Severity>) -> Option<Say> {
        if t.n < self.min_samples as f64 || t.n < 1.0 {
            return None;
        }
        let worse = self.direction == Direction::HigherIsWorse;
        let (a_past, a_inside) = self.alphas();
        let share = t.x[0] / t.n;
        let p0 = self.p0(self.warning);
        let warning = judge_count(t.x[0], t.n, p0, worse, (a_past, a_inside));
        let pc = self.p0(self.critical);
        let critical = critical_side(
            warning,
            held,
            || credibly_past(t.x[1], t.n, pc, worse, a_past),
            || credibly_inside(t.x[1], t.n, pc, worse, a_inside),
        );
        Some(Say {
            warning,
            critical,
            window,
            n: t.n,
            share,
            leans_past: if worse { share > p0 } else { share < p0 },
        })
    }

    /// The judgement of a metric without counts, from its per-minute values over the
    /// last `window`: the mean against the line, in standard errors of the mean.
    fn say_minutes(&self, t: &Tally, window: Duration) -> Option<Say> {
        if t.n < MIN_MINUTES {
            return None;
        }
        let k = t.n;
        let mean = t.x[0] / k;
        let var = ((t.x[1] / k - mean * mean) * k / (k - 1.0)).max(0.0);
        let se = (var / k).sqrt();
        // The spread is estimated from the same few minutes: Student's t, not z.
        let df = k - 1.0;
        let (z_past, z_inside) = (
            student_t(self.wilson_z, df),
            student_t(self.clear_z.unwrap_or(self.wilson_z), df),
        );
        let side = |line: f64| {
            let d = match self.direction {
                Direction::HigherIsWorse => mean - line,
                Direction::LowerIsWorse => line - mean,
            };
            // Identical minutes (se 0) are judged on their value alone.
            let zs = if se > 0.0 {
                d / se
            } else {
                d.signum() * f64::INFINITY
            };
            if d > 0.0 && zs > z_past {
                Side::Past
            } else if d < 0.0 && -zs > z_inside {
                Side::Inside
            } else {
                Side::Unsure
            }
        };
        let leans_past = match self.direction {
            Direction::HigherIsWorse => mean > self.warning,
            Direction::LowerIsWorse => mean < self.warning,
        };
        Some(Say {
            warning: side(self.warning),
            critical: side(self.critical),
            window,
            n: k,
            share: mean,
            leans_past,
        })
    }

    fn judge(&mut self, view: &RuleView<'_>, scope: Scope, stats: &Stats) -> Finding {
        let Some(value) = self.metric.value(stats) else {
            return Finding::no_data(scope, format!("no {}", self.metric.label()));
        };
        let samples = self.metric.samples(stats);
        let held = self.scopes.get(&scope).and_then(|s| s.held);
        // Windows are read shortest first and only until one decides: a healthy
        // scope with traffic usually settles on the first.
        let mut ladder = Ladder::new(held);
        let mut consider = |say: Option<Say>| ladder.consider(say);
        if self.counted() {
            let t = self.window_tally(view, &scope, stats);
            if !consider(self.say(&t, self.window, held)) {
                if let Some(state) = self.scopes.get(&scope) {
                    let now_minute = crate::clock::to_unix_nanos(view.now()) / 60_000_000_000;
                    for &w in &self.evidence_windows {
                        let t = state.ring.sum(now_minute, w.as_secs() / 60);
                        if consider(self.say(&t, w, held)) {
                            break;
                        }
                    }
                }
            }
        } else if let Some(state) = self.scopes.get(&scope) {
            let now_minute = crate::clock::to_unix_nanos(view.now()) / 60_000_000_000;
            for &w in std::iter::once(&self.window).chain(&self.evidence_windows) {
                let t = state.ring.sum(now_minute, w.as_secs() / 60);
                if consider(self.say_minutes(&t, w)) {
                    break;
                }
            }
        }
        // No window has enough samples: the policy's no-data handling applies, and the
        // scope keeps what it held for when evidence returns.
        if !ladder.judged {
            return Finding::no_data(
                scope,
                format!("{samples} samples, {} needed", self.min_samples),
            );
        }
        let (decided, by) = ladder.decision();
        // Looked up before inserting: most scopes exist, and a key costs an allocation.
        match self.scopes.get_mut(&scope) {
            Some(state) => state.held = decided,
            None => {
                let minutes = self.ring_minutes();
                self.state(scope.clone(), minutes).held = decided;
            }
        }
        let Some(severity) = decided else {
            return Finding::ok(scope, value);
        };
        let line = match severity {
            Severity::Critical => self.critical,
            Severity::Warning => self.warning,
        };
        let m = self.metric;
        let target = self
            .target
            .map(|t| format!(", target {}", m.format(t)))
            .unwrap_or_default();
        let evidence = match &by {
            Some(say) if self.counted() => {
                let share = match m.quantile() {
                    Some(q) => format!(
                        "{} slower than {} where the line allows {}",
                        Metric::ErrorRate.format(say.share),
                        m.format(self.warning),
                        Metric::ErrorRate.format(1.0 - q)
                    ),
                    None => m.format(say.share),
                };
                format!(
                    "{share} over the last {} ({} selections)",
                    human(say.window),
                    say.n as u64
                )
            }
            Some(say) => format!(
                "{} on average over the {} minutes of the last {}",
                m.format(say.share),
                say.n as u64,
                human(say.window)
            ),
            None => format!("{} now, not yet credibly back inside", m.format(value)),
        };
        let message = format!(
            "{scope}: {} is past the {} line {}: {evidence}{target}",
            m.label(),
            severity,
            m.format(line),
        );
        Finding::breach(scope, severity, value, line, message)
    }

    /// Adds this tick's sealed minutes to the rings of the scopes they belong to.
    fn learn(&mut self, view: &RuleView<'_>) {
        if let Some(dimension) = self.dimension.clone() {
            let (now, minutes) = (view.now(), self.ring_minutes());
            for b in view.sealed_dimensions() {
                if b.dimension == dimension && !self.evidence_windows.is_empty() {
                    let minute = crate::clock::to_unix_nanos(b.start) / 60_000_000_000;
                    let t = self.dimension_tally(b);
                    let scope = Scope::dimension(&b.dimension, &b.value);
                    self.state(scope, minutes).ring.add(minute, &t, now);
                }
            }
            return;
        }
        if view.sealed().is_empty() {
            return;
        }
        if !self.counted() {
            return self.learn_points(view);
        }
        if self.evidence_windows.is_empty() {
            return;
        }
        let now = view.now();
        let minutes = self.ring_minutes();
        let mut overall: Vec<(u64, Tally)> = Vec::new();
        for b in view.sealed() {
            let minute = minute_of(b);
            let t = self.bucket_tally(b, view.layout);
            if self.judges(&Scope::Overall) {
                match overall.iter_mut().find(|(m, _)| *m == minute) {
                    Some((_, sum)) => sum.add(&t),
                    None => overall.push((minute, t)),
                }
            }
            let scope = Scope::model(b.model.as_str());
            if self.judges(&scope) {
                self.state(scope, minutes).ring.add(minute, &t, now);
            }
        }
        for (minute, t) in overall {
            self.state(Scope::Overall, minutes)
                .ring
                .add(minute, &t, now);
        }
    }

    /// Point metrics learn one value per sealed minute and scope (`n` 1, `x` the value
    /// and its square), so that a window's mean comes with its standard error.
    fn learn_points(&mut self, view: &RuleView<'_>) {
        let now = view.now();
        let minutes = self.ring_minutes();
        // Buckets grouped by minute, then model (late minutes bring a second bucket).
        let mut minutes_seen: BTreeMap<u64, BTreeMap<&str, Vec<&MinuteBucket>>> = BTreeMap::new();
        for b in view.sealed() {
            minutes_seen
                .entry(minute_of(b))
                .or_default()
                .entry(b.model.as_str())
                .or_default()
                .push(b);
        }
        for (minute, by_model) in minutes_seen {
            let models: BTreeMap<String, Stats> = by_model
                .iter()
                .map(|(m, bs)| ((*m).to_owned(), minute_stats(bs.iter().copied())))
                .collect();
            let all = by_model.values().flatten().copied();
            let mut summary = Summary {
                window: Duration::from_secs(60),
                start: now,
                end: now,
                overview: minute_stats(all),
                models,
            };
            summary.rate_cost_efficiency(view.reference);
            let overall = std::iter::once((Scope::Overall, &summary.overview));
            let models = summary
                .models
                .iter()
                .map(|(m, s)| (Scope::model(m.as_str()), s));
            for (scope, stats) in overall.chain(models) {
                let value = self.metric.value(stats).filter(|v| v.is_finite());
                if let (Some(v), true) = (value, self.judges(&scope)) {
                    let t = Tally {
                        n: 1.0,
                        x: [v, v * v, 0.0],
                    };
                    self.state(scope, minutes).ring.add(minute, &t, now);
                }
            }
        }
    }

    /// Minutes the ring must reach back.
    fn ring_minutes(&self) -> u64 {
        let longest = self.evidence_windows.iter().chain([&self.window]).max();
        longest.map_or(1, |w| (w.as_secs() / 60).max(1))
    }

    fn state(&mut self, scope: Scope, minutes: u64) -> &mut ScopeState {
        self.scopes.entry(scope).or_insert_with(|| ScopeState {
            ring: TallyRing::new(minutes),
            held: None,
        })
    }
}

/// Sealed minutes a point metric needs in a window before the window says anything.
const MIN_MINUTES: f64 = 5.0;

/// The Student-t quantile with `df` degrees of freedom at the tail probability of the
/// normal quantile `z` (Cornish-Fisher expansion, three terms: within a few percent
/// from 4 degrees of freedom up, and `z` itself as `df` grows).
fn student_t(z: f64, df: f64) -> f64 {
    let (z3, z5) = (z.powi(3), z.powi(5));
    z + (z3 + z) / (4.0 * df) + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * df * df)
}

fn minute_of(b: &MinuteBucket) -> u64 {
    crate::clock::to_unix_nanos(b.start) / 60_000_000_000
}

/// What the point metrics read, for the selections of `buckets` (one minute).
fn minute_stats<'b>(buckets: impl Iterator<Item = &'b MinuteBucket>) -> Stats {
    let mut s = Stats::default();
    let (mut latency_us, mut accuracy, mut satisfaction) = (0u128, 0.0, 0.0);
    let (mut ttft, mut tpot) = (Vec::new(), Vec::new());
    for b in buckets {
        ttft.extend(b.time_to_first_token.as_ref());
        tpot.extend(b.time_per_output_token.as_ref());
        s.streaming += b.streaming;
        s.count += b.count;
        s.errors += b.errors;
        s.cache_hits += b.cache_hits;
        s.cost_usd += b.cost_usd;
        s.cost_samples += b.cost_count;
        s.accuracy_samples += b.accuracy_count;
        s.satisfaction_samples += b.satisfaction_count;
        accuracy += b.accuracy_sum;
        satisfaction += b.satisfaction_sum;
        latency_us += b.latency_sum.as_micros();
    }
    if s.count == 0 {
        return s;
    }
    let n = s.count as f64;
    let mean = |sum: f64, k: u64| (k > 0).then(|| sum / k as f64);
    s.error_rate = s.errors as f64 / n;
    s.cache_hit_rate = s.cache_hits as f64 / n;
    s.throughput_per_sec = n / 60.0;
    s.mean_cost_usd = mean(s.cost_usd, s.cost_samples);
    s.mean_accuracy = mean(accuracy, s.accuracy_samples);
    s.mean_satisfaction = mean(satisfaction, s.satisfaction_samples);
    s.latency.mean = Duration::from_micros((latency_us / u128::from(s.count)) as u64);
    s.time_to_first_token = timing_stats(&ttft);
    s.time_per_output_token = timing_stats(&tpot);
    s.time_to_first_token_samples = ttft.iter().map(|d| d.count).sum();
    s.time_per_output_token_samples = tpot.iter().map(|d| d.count).sum();
    s
}

/// The p95 and mean of one minute's timing distributions (a late minute has two), for
/// the point metrics that read them.
fn timing_stats(parts: &[&crate::bucket::TimingDistribution]) -> Option<crate::LatencyStats> {
    let (first, rest) = parts.split_first()?;
    let mut h = first.histogram.clone();
    let (mut min, mut max, mut sum, mut n) = (first.min, first.max, first.sum, first.count);
    for d in rest {
        h.merge(&d.histogram).ok()?;
        (min, max) = (min.min(d.min), max.max(d.max));
        sum += d.sum;
        n += d.count;
    }
    let p95 = h.quantile(0.95).max(min).min(max);
    Some(crate::LatencyStats {
        min,
        max,
        mean: sum / u32::try_from(n.max(1)).unwrap_or(u32::MAX),
        p95,
        ..Default::default()
    })
}

/// `5m`, `2h`, `90s`.
fn human(d: Duration) -> String {
    let s = d.as_secs();
    if s % 3600 == 0 && s > 0 {
        format!("{}h", s / 3600)
    } else if s % 60 == 0 && s > 0 {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

impl Rule for ThresholdRule {
    fn id(&self) -> &str {
        &self.id
    }

    fn windows(&self) -> Vec<Duration> {
        vec![self.window]
    }

    fn policy(&self) -> AlertPolicy {
        self.policy
    }

    fn dimensions(&self) -> Vec<String> {
        self.dimension.iter().cloned().collect()
    }

    fn evaluate(&mut self, view: &RuleView<'_>) -> Vec<Finding> {
        self.learn(view);
        let mut out = Vec::new();
        if let Some(d) = &self.dimension {
            let values: Vec<_> = view.dimension(d, self.window).collect();
            let d = d.clone();
            for (value, s) in values {
                out.push(self.judge(view, Scope::dimension(&d, value), s));
            }
        }
        if self.judges(&Scope::Overall) {
            if let Some(s) = view.overall(self.window).filter(|s| s.count > 0) {
                out.push(self.judge(view, Scope::Overall, s));
            }
        }
        if self.dimension.is_none() && matches!(self.scope, RuleScope::PerModel | RuleScope::Both) {
            for (model, s) in view.models(self.window) {
                out.push(self.judge(view, Scope::model(model), s));
            }
        }
        // Scopes quiet for longer than the longest window have nothing left to say.
        let now = view.now();
        let keep = Duration::from_secs(self.ring_minutes() * 60);
        self.scopes.retain(|scope, s| {
            let recent = s
                .ring
                .last_update
                .is_some_and(|t| now.duration_since(t).unwrap_or_default() < keep);
            recent || out.iter().any(|f| &f.scope == scope)
        });
        out
    }

    fn save_state(&self) -> Option<Vec<u8>> {
        let scopes: Vec<(&Scope, &ScopeState)> = self.scopes.iter().collect();
        serde_json::to_vec(&scopes).ok()
    }

    fn restore_state(&mut self, state: &[u8]) -> Result<(), super::RestoreError> {
        let scopes: Vec<(Scope, ScopeState)> = serde_json::from_slice(state)?;
        let ring = TallyRing::new(self.ring_minutes()).len();
        if let Some((scope, _)) = scopes.iter().find(|(_, s)| s.ring.len() != ring) {
            return Err(format!("{scope}: the saved ring has another length").into());
        }
        self.scopes = scopes.into_iter().collect();
        Ok(())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let field = |f: &str| format!("rules.{}.{f}", self.id);
        for (name, v) in [("warning", self.warning), ("critical", self.critical)] {
            if !v.is_finite() {
                return Err(ConfigError::invalid(&field(name), v, "must be finite"));
            }
            if self.metric.is_rate() && !(0.0..=1.0).contains(&v) {
                return Err(ConfigError::invalid(
                    &field(name),
                    v,
                    "a rate's line must be within 0..=1",
                ));
            }
        }
        let ordered = match self.direction {
            Direction::HigherIsWorse => self.warning <= self.critical,
            Direction::LowerIsWorse => self.warning >= self.critical,
        };
        if !ordered {
            return Err(ConfigError::invalid(
                &field("warning"),
                format!("{} (critical {})", self.warning, self.critical),
                "warning must not be beyond critical in the direction that is worse",
            ));
        }
        if self.window < Duration::from_secs(60) {
            return Err(ConfigError::invalid(
                &field("window"),
                crate::names::duration(self.window),
                "must be at least one minute",
            ));
        }
        if let Some(w) = self
            .evidence_windows
            .iter()
            .find(|w| **w < Duration::from_secs(60) || **w > MAX_EVIDENCE_WINDOW)
        {
            return Err(ConfigError::invalid(
                &field("evidence_windows"),
                crate::names::duration(*w),
                "each must be between one minute and 24 hours",
            ));
        }
        if let Some(d) = &self.dimension {
            if !matches!(self.metric, Metric::ErrorRate | Metric::CacheHitRate) {
                return Err(ConfigError::invalid(
                    &field("per_dimension"),
                    d,
                    "only errorRate and cacheHitRate can be judged per dimension value",
                ));
            }
        }
        for (name, z) in [("wilson_z", Some(self.wilson_z)), ("clear_z", self.clear_z)] {
            if let Some(z) = z.filter(|z| !z.is_finite() || *z < 0.0) {
                return Err(ConfigError::invalid(
                    &field(name),
                    z,
                    "must be finite and >= 0",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hdr::BucketLayout;
    use crate::rules::Verdict;
    use std::collections::BTreeMap;
    use std::time::SystemTime;

    fn stats(count: u64, errors: u64) -> Stats {
        Stats {
            count,
            errors,
            error_rate: errors as f64 / count as f64,
            ..Stats::default()
        }
    }

    /// Judges one window of `stats` for the overall scope.
    fn judge(r: &mut ThresholdRule, s: Stats) -> Finding {
        let layout = BucketLayout::new(1, 3_600_000_000, 2).unwrap();
        let summary = crate::summary::Summary {
            window: DEFAULT_WINDOW,
            start: SystemTime::UNIX_EPOCH,
            end: SystemTime::UNIX_EPOCH,
            overview: s,
            models: BTreeMap::new(),
        };
        let windows = BTreeMap::from([(DEFAULT_WINDOW, summary)]);
        let latency = BTreeMap::new();
        let dimensions = BTreeMap::new();
        let view = RuleView {
            now: SystemTime::UNIX_EPOCH,
            windows: &windows,
            latency: &latency,
            layout: &layout,
            sealed: &[],
            reference: None,
            dimensions: &dimensions,
            sealed_dimensions: &[],
        };
        let stats = view.overall(DEFAULT_WINDOW).unwrap();
        r.judge(&view, Scope::Overall, stats)
    }

    #[test]
    fn rates_need_credible_breaches_and_credible_recoveries() {
        let mut r =
            ThresholdRule::new("e", Metric::ErrorRate, 0.05, 0.10).scope(RuleScope::Overall);
        assert_eq!(judge(&mut r, stats(30, 2)).verdict, Verdict::Ok);
        assert_eq!(judge(&mut r, stats(10, 10)).verdict, Verdict::NoData);
        let loud = judge(&mut r, stats(500, 100));
        assert_eq!(loud.verdict, Verdict::Breach(Severity::Critical));
        assert!(loud.message.contains("5m"), "{}", loud.message);
        // 8% of 500 is neither credibly past 10% nor credibly below it: held critical.
        assert_eq!(
            judge(&mut r, stats(500, 40)).verdict,
            Verdict::Breach(Severity::Critical)
        );
        // 6% is credibly below 10% but not below 5%: de-escalates to a warning.
        assert_eq!(
            judge(&mut r, stats(2000, 120)).verdict,
            Verdict::Breach(Severity::Warning)
        );
        // 5.5%: undecided, held.
        assert_eq!(
            judge(&mut r, stats(500, 27)).verdict,
            Verdict::Breach(Severity::Warning)
        );
        // 1% of 1000 is credibly inside: cleared.
        assert_eq!(judge(&mut r, stats(1000, 10)).verdict, Verdict::Ok);
        // And once clear, 5.5% does not start anything.
        assert_eq!(judge(&mut r, stats(500, 27)).verdict, Verdict::Ok);
    }

    #[test]
    fn student_t_quantiles_match_tables() {
        // t(0.975) for 4, 10 and 30 degrees of freedom: 2.776, 2.228, 2.042.
        for (df, t) in [(4.0, 2.776), (10.0, 2.228), (30.0, 2.042)] {
            let got = student_t(1.96, df);
            assert!((got - t).abs() / t < 0.03, "{df}: {got}");
        }
    }

    #[test]
    fn wrong_settings_are_config_errors() {
        let r = ThresholdRule::new("lat", Metric::LatencyP95, 5000.0, 3000.0);
        let e = r.validate().unwrap_err();
        assert!(e.to_string().contains("rules.lat.warning"), "{e}");
        let r = ThresholdRule::new("acc", Metric::SelectionAccuracy, 0.9, f64::NAN);
        assert!(r.validate().is_err());
        let r = ThresholdRule::new("err", Metric::ErrorRate, 5.0, 10.0);
        assert!(r.validate().unwrap_err().to_string().contains("0..=1"));
        let r = ThresholdRule::new("w", Metric::ErrorRate, 0.05, 0.1)
            .evidence_windows([Duration::from_secs(30 * 3600)]);
        assert!(
            r.validate()
                .unwrap_err()
                .to_string()
                .contains("evidence_windows")
        );
    }
}
