//! Evidence: how many selections say a line is crossed, and how sure that is.
//!
//! Rules here never judge a point estimate of a rate or a quantile. They count: the
//! selections that failed, hit the cache or were slower than a latency line, out of
//! the selections judged, and ask an exact binomial question of the count: would a
//! metric sitting exactly on the line produce a count this far out less often than
//! `alpha`? A p95 line of 3,000 ms allows 5% of selections slower than 3,000 ms; an
//! error-rate line of 5% allows 5% failures: both are the same question.
//!
//! The exact tail matters at low volume: with 25 selections and a 5% line, the normal
//! approximation behind the Wilson score interval calls six slow selections
//! significant at the one-in-2,000 level, where the true chance is one in 800.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::Severity;

/// Where a count puts a metric relative to a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// Credibly beyond the line in the bad direction.
    Past,
    /// Credibly on the good side of the line.
    Inside,
    /// Neither: the evidence does not decide.
    Unsure,
}

/// The one-sided tail probability of the standard normal beyond `z`: `P(Z > z)`.
pub(crate) fn normal_sf(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// The complementary error function (W. J. Cody's rational approximations as in
/// Numerical Recipes' `erfc`, relative error below 1.2e-7 everywhere), enough for
/// significance levels.
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// `ln Γ(x)` for `x > 0` (Lanczos, g = 7, nine coefficients: about 15 digits).
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection keeps the series in its accurate range.
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// `ln P(X = k)` for `X ~ Binomial(n, p)`, `0 < p < 1`.
fn ln_pmf(k: u64, n: u64, p: f64) -> f64 {
    let (k, n) = (k as f64, n as f64);
    ln_gamma(n + 1.0) - ln_gamma(k + 1.0) - ln_gamma(n - k + 1.0)
        + k * p.ln()
        + (n - k) * (1.0 - p).ln()
}

/// Whether `P(X >= k) < alpha` for `X ~ Binomial(n, p)`.
///
/// Sums the tail from `k` outwards and stops as soon as the answer is known, so a
/// count far from the line costs one term and a count near it a few dozen: the
/// question is only ever "below alpha?", never the p-value itself.
pub(crate) fn upper_tail_below(k: u64, n: u64, p: f64, alpha: f64) -> bool {
    if k == 0 || k > n {
        return k > n;
    }
    if p <= 0.0 {
        return true;
    }
    if p >= 1.0 || alpha >= 1.0 {
        return false;
    }
    let (kf, nf) = (k as f64, n as f64);
    let mean = nf * p;
    // At or below the mean the upper tail holds at least about half the mass; within
    // a standard deviation above it, well over 5%.
    if kf <= mean || (alpha < 0.05 && kf <= mean + (mean * (1.0 - p)).sqrt()) {
        return false;
    }
    // The Chernoff bound P(X >= k) <= exp(−n·D(k/n ‖ p)) settles most counts far from
    // the line without the exact sum.
    let a = kf / nf;
    let rest = if a < 1.0 {
        (1.0 - a) * ((1.0 - a) / (1.0 - p)).ln()
    } else {
        0.0
    };
    let kl = a * (a / p).ln() + rest;
    if (-nf * kl).exp() < alpha {
        return true;
    }
    let mut term = ln_pmf(k, n, p).exp();
    let mut sum = 0.0;
    let odds = p / (1.0 - p);
    let mut i = k;
    loop {
        sum += term;
        if sum >= alpha {
            return false;
        }
        if i == n {
            return true;
        }
        let ratio = (n - i) as f64 / (i + 1) as f64 * odds;
        // Terms shrink geometrically past the mode: the rest is at most
        // term·ratio/(1 − ratio).
        if ratio < 1.0 && sum + term * ratio / (1.0 - ratio) < alpha {
            return true;
        }
        term *= ratio;
        i += 1;
    }
}

/// Whether `P(X <= k) < alpha` for `X ~ Binomial(n, p)`.
pub(crate) fn lower_tail_below(k: u64, n: u64, p: f64, alpha: f64) -> bool {
    // X <= k  <=>  n − X >= n − k, and n − X ~ Binomial(n, 1 − p).
    k < n && upper_tail_below(n - k, n, 1.0 - p, alpha)
}

/// Judges `x` events out of `n` trials against a line allowing a share `p0` of them.
///
/// `higher_is_worse`: whether more events is bad (failures, slow selections) or fewer
/// (cache hits, right choices). Past needs the tail beyond `x` under the line below
/// `alpha_past`; inside needs the tail on the other side below `alpha_inside`.
/// Fractional `x` (sums of accuracies in `0..=1`) is rounded: a sum of values in
/// `0..=1` varies no more than a count with the same mean, so this is conservative.
pub(crate) fn judge_count(
    x: f64,
    n: f64,
    p0: f64,
    higher_is_worse: bool,
    (alpha_past, alpha_inside): (f64, f64),
) -> Side {
    if n.is_nan() || n < 1.0 || !x.is_finite() {
        return Side::Unsure;
    }
    if credibly_past(x, n, p0, higher_is_worse, alpha_past) {
        Side::Past
    } else if credibly_inside(x, n, p0, higher_is_worse, alpha_inside) {
        Side::Inside
    } else {
        Side::Unsure
    }
}

/// One window's say about the two lines.
#[derive(Debug)]
pub(crate) struct Say {
    pub warning: Side,
    pub critical: Side,
    /// `"5m"`, `"2h"`: which window spoke, for messages.
    pub window: Duration,
    pub n: f64,
    /// Share of events against the warning line, for messages.
    pub share: f64,
    /// Whether the window's point estimate is beyond the warning line, decisive or not.
    pub leans_past: bool,
}

/// What one window decides, given what the scope held: `Some(severity or none)` when
/// it is decisive, `None` when the next (longer) window must speak.
pub(crate) fn step(held: Option<Severity>, say: &Say) -> Option<Option<Severity>> {
    if say.critical == Side::Past {
        return Some(Some(Severity::Critical));
    }
    if say.warning == Side::Past {
        let keep_critical = held == Some(Severity::Critical) && say.critical != Side::Inside;
        return Some(Some(if keep_critical {
            Severity::Critical
        } else {
            Severity::Warning
        }));
    }
    if say.warning == Side::Inside {
        return Some(None);
    }
    if held == Some(Severity::Critical) && say.critical == Side::Inside {
        return Some(Some(Severity::Warning));
    }
    None
}

/// Reads a ladder of windows, shortest first, to the first decisive one.
///
/// Recent evidence outranks old: a longer window may not clear a scope while a shorter
/// one leans past the line, nor start or raise a breach while a shorter one leans
/// inside. Its verdict then rests on minutes from before the change the shorter window
/// is seeing, and the scope keeps what it held until the recent evidence is decisive.
#[derive(Debug)]
pub(crate) struct Ladder {
    held: Option<Severity>,
    leaned_past: bool,
    leaned_inside: bool,
    /// Whether any window had enough samples to speak.
    pub judged: bool,
    /// The decision and the window that made it, once one is decisive.
    pub found: Option<(Option<Severity>, Say)>,
    done: bool,
}

impl Ladder {
    pub(crate) fn new(held: Option<Severity>) -> Self {
        Self {
            held,
            leaned_past: false,
            leaned_inside: false,
            judged: false,
            found: None,
            done: false,
        }
    }

    /// Considers the next window's say; returns whether the ladder is done.
    pub(crate) fn consider(&mut self, say: Option<Say>) -> bool {
        if self.done {
            return true;
        }
        let Some(say) = say else { return false };
        self.judged = true;
        let Some(decision) = step(self.held, &say) else {
            self.leaned_past |= say.leans_past;
            self.leaned_inside |= !say.leans_past;
            return false;
        };
        let contradicted = match decision {
            None => self.leaned_past,
            Some(s) => self.leaned_inside && self.held.is_none_or(|h| s > h),
        };
        if !contradicted {
            self.found = Some((decision, say));
        }
        self.done = true;
        true
    }

    /// The severity decided, or what was held, and the deciding window.
    pub(crate) fn decision(self) -> (Option<Severity>, Option<Say>) {
        match self.found {
            Some((d, say)) => (d, Some(say)),
            None => (self.held, None),
        }
    }
}

/// A latency line given in `seconds` as a `Duration`, saturating: lines come from
/// settings and learned baselines, and an absurd one must not panic.
pub(crate) fn line_duration(seconds: f64) -> Duration {
    Duration::try_from_secs_f64(seconds.max(0.0)).unwrap_or(Duration::MAX)
}

/// Whether `x` of `n` is credibly past a line allowing the share `p0` (see
/// [`judge_count`]), without asking about the other side.
pub(crate) fn credibly_past(x: f64, n: f64, p0: f64, higher_is_worse: bool, alpha: f64) -> bool {
    let (k, n) = (x.round().max(0.0) as u64, n.round() as u64);
    if higher_is_worse {
        upper_tail_below(k.min(n), n, p0, alpha)
    } else {
        lower_tail_below(k.min(n), n, p0, alpha)
    }
}

/// Whether `x` of `n` is credibly on the good side of a line allowing the share `p0`.
pub(crate) fn credibly_inside(x: f64, n: f64, p0: f64, higher_is_worse: bool, alpha: f64) -> bool {
    credibly_past(x, n, p0, !higher_is_worse, alpha)
}

/// The critical line's side, asked only as far as a decision needs it: whether it is
/// past only matters once the warning line is, and whether it is inside only then or
/// for a scope held critical.
pub(crate) fn critical_side(
    warning: Side,
    held: Option<Severity>,
    past: impl FnOnce() -> bool,
    inside: impl FnOnce() -> bool,
) -> Side {
    if warning == Side::Past && past() {
        Side::Past
    } else if (warning == Side::Past || held == Some(Severity::Critical)) && inside() {
        Side::Inside
    } else {
        Side::Unsure
    }
}

/// What one sealed minute (or window) contributes to a rule: trials and, per line,
/// the events that count against it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Tally {
    pub n: f64,
    /// Events per line: index 0 the warning line, 1 the critical line, 2 the line a
    /// rule with a hysteresis band clears at (unused by the others).
    pub x: [f64; 3],
}

impl Tally {
    pub(crate) fn add(&mut self, o: &Tally) {
        self.n += o.n;
        for (a, b) in self.x.iter_mut().zip(o.x) {
            *a += b;
        }
    }
}

/// Width of one slot of the ring, in minutes: long windows are known to 5 minutes.
pub(crate) const SLOT_MINUTES: u64 = 5;

/// Per-slot tallies of the last hours of sealed minutes, for windows too long to
/// re-read from the store at every tick. Fixed size: `slots` entries, allocated once.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TallyRing {
    slots: Box<[(u64, Tally)]>,
    pub last_update: Option<SystemTime>,
}

impl TallyRing {
    /// A ring covering `minutes` (rounded up to whole slots, at least one).
    pub(crate) fn new(minutes: u64) -> Self {
        let n = minutes.div_ceil(SLOT_MINUTES).max(1) as usize;
        Self {
            slots: vec![(u64::MAX, Tally::default()); n].into_boxed_slice(),
            last_update: None,
        }
    }

    /// Slots in the ring: a restored ring of another length belongs to other settings.
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Adds the tally of minute `minute` (minutes since the epoch). Minutes older than
    /// the ring reaches are dropped.
    pub(crate) fn add(&mut self, minute: u64, t: &Tally, now: SystemTime) {
        let slot = minute / SLOT_MINUTES;
        let len = self.slots.len() as u64;
        let e = &mut self.slots[(slot % len) as usize];
        if e.0 == slot {
            e.1.add(t);
        } else if e.0 == u64::MAX || e.0 < slot {
            *e = (slot, *t);
        }
        self.last_update = Some(now);
    }

    /// The sum over the slots of the last `minutes` up to and including the one holding
    /// `now_minute`.
    pub(crate) fn sum(&self, now_minute: u64, minutes: u64) -> Tally {
        let newest = now_minute / SLOT_MINUTES;
        let count = minutes.div_ceil(SLOT_MINUTES).min(self.slots.len() as u64);
        let oldest = (newest + 1).saturating_sub(count);
        let mut out = Tally::default();
        for (slot, t) in self.slots.iter() {
            if *slot != u64::MAX && *slot >= oldest && *slot <= newest {
                out.add(t);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exact tail by direct summation, for checking.
    fn tail(k: u64, n: u64, p: f64) -> f64 {
        (k..=n).map(|i| ln_pmf(i, n, p).exp()).sum()
    }

    #[test]
    fn ln_gamma_matches_factorials() {
        let mut f = 1.0f64;
        for n in 1..30u32 {
            f *= f64::from(n);
            assert!((ln_gamma(f64::from(n) + 1.0) - f.ln()).abs() < 1e-9, "{n}");
        }
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-12);
    }

    #[test]
    fn normal_tail_matches_tables() {
        assert!((normal_sf(1.645) - 0.05).abs() < 1e-4);
        assert!((normal_sf(3.0) - 0.00135).abs() < 1e-5);
        assert!((normal_sf(-1.96) - 0.975).abs() < 1e-4);
    }

    #[test]
    fn tail_decisions_agree_with_direct_sums() {
        for &(n, p) in &[
            (25u64, 0.05),
            (100, 0.05),
            (300, 0.02),
            (1000, 0.5),
            (7, 0.9),
        ] {
            for k in 0..=n {
                let t = tail(k, n, p);
                for alpha in [1e-6, 1e-4, 0.01, 0.05, 0.5] {
                    // Skip knife-edge cases that rounding may decide either way.
                    if (t - alpha).abs() < 1e-9 * alpha.max(1e-300) + 1e-12 {
                        continue;
                    }
                    assert_eq!(
                        upper_tail_below(k, n, p, alpha),
                        t < alpha,
                        "{k}/{n} p {p} a {alpha}"
                    );
                }
            }
        }
    }

    #[test]
    fn small_samples_are_judged_exactly() {
        // 6 slow of 25 against a 5% line: P = 0.0012, not significant at 1e-3 ...
        assert!(!upper_tail_below(6, 25, 0.05, 1e-3));
        // ... though the score test would say z = 4.3.
        assert!(upper_tail_below(7, 25, 0.05, 1e-3));
    }

    #[test]
    fn counts_are_judged_on_both_sides() {
        let a = (1e-3, 1e-3);
        assert_eq!(judge_count(60.0, 1000.0, 0.05, true, a), Side::Unsure);
        assert_eq!(judge_count(90.0, 1000.0, 0.05, true, a), Side::Past);
        assert_eq!(judge_count(20.0, 1000.0, 0.05, true, a), Side::Inside);
        // Lower is worse: 700 hits of 1000 against an 80% line is past it.
        assert_eq!(judge_count(700.0, 1000.0, 0.8, false, a), Side::Past);
        assert_eq!(judge_count(900.0, 1000.0, 0.8, false, a), Side::Inside);
        assert_eq!(judge_count(0.0, 0.0, 0.8, false, a), Side::Unsure);
    }

    fn say(warning: Side, leans_past: bool) -> Option<Say> {
        Some(Say {
            warning,
            critical: Side::Unsure,
            window: Duration::from_secs(60),
            n: 100.0,
            share: 0.0,
            leans_past,
        })
    }

    #[test]
    fn absurd_lines_saturate() {
        assert_eq!(line_duration(f64::NAN), Duration::ZERO);
        assert_eq!(line_duration(-1.0), Duration::ZERO);
        assert_eq!(line_duration(1e300), Duration::MAX);
        assert_eq!(line_duration(1.5), Duration::from_millis(1500));
    }

    #[test]
    fn old_evidence_does_not_overrule_recent_evidence() {
        // A firing scope whose recent window leans past: the long window's "inside"
        // (minutes from before the change) does not clear it.
        let mut l = Ladder::new(Some(Severity::Warning));
        assert!(!l.consider(say(Side::Unsure, true)));
        assert!(l.consider(say(Side::Inside, false)));
        assert_eq!(l.decision().0, Some(Severity::Warning));
        // Nor does an old breach restart one the recent window leans against.
        let mut l = Ladder::new(None);
        assert!(!l.consider(say(Side::Unsure, false)));
        assert!(l.consider(say(Side::Past, true)));
        assert_eq!(l.decision().0, None);
        // Agreeing evidence decides, and windows without enough samples are skipped.
        let mut l = Ladder::new(None);
        assert!(!l.consider(None));
        assert!(!l.consider(say(Side::Unsure, true)));
        assert!(l.consider(say(Side::Past, true)));
        assert_eq!(l.decision().0, Some(Severity::Warning));
    }

    #[test]
    fn the_ring_sums_recent_slots_and_forgets_old_ones() {
        let now = SystemTime::UNIX_EPOCH;
        let mut r = TallyRing::new(60);
        let one = Tally {
            n: 1.0,
            x: [1.0, 0.0, 0.0],
        };
        for minute in 0..120 {
            r.add(minute, &one, now);
        }
        assert_eq!(r.sum(119, 60).n, 60.0);
        assert_eq!(r.sum(119, 30).n, 30.0);
        // A late minute older than the ring is dropped, not added to a newer slot.
        r.add(3, &one, now);
        assert_eq!(r.sum(119, 60).n, 60.0);
        // Nothing recorded in the last hour of a later time.
        assert_eq!(r.sum(400, 60).n, 0.0);
    }
}
