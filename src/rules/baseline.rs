//! Baselines: what one model's metric normally looks like, learned from sealed minutes.
//!
//! A baseline is a *distribution*, not a statistic of windows: for latency, a decayed
//! histogram of every selection's latency (log buckets 10% wide); for rates, decayed
//! counts of events and trials. It is kept twice over: once for all hours (half-life
//! one day) and once per UTC hour of the day (each new day keeps 70% of the old days'
//! weight), so that a model that is slower every afternoon is judged against its
//! afternoons once two days of history exist.
//!
//! ## Memory
//!
//! A rate baseline is 26 pairs of numbers. A latency baseline holds up to 26
//! histograms of 240 `f32` (about 1 KiB each, allocated when first used): at most
//! 25 KiB per model and latency rule.

use serde::{Deserialize, Serialize};

use crate::hdr::{BucketLayout, CompactCounts};

/// Log buckets: bucket `i` holds latencies in `[1.1^i, 1.1^(i+1))` microseconds.
const LOG_BASE: f64 = 1.1;
/// Enough buckets for an hour (`1.1^240` µs is about 2.4 hours).
const LOG_BUCKETS: usize = 240;
/// Per learned minute, the all-hours profile keeps this share of its weight: a
/// half-life of one day.
const MINUTE_DECAY: f64 = 0.999_518_8;
/// The weight an hour-of-day profile keeps when a new day starts filling it.
const DAY_DECAY: f64 = 0.7;

/// Decayed trials, events and (for latency) the latency histogram.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Profile {
    pub n: f64,
    pub x: f64,
    hist: Option<Box<[f32]>>,
    /// The UTC day last learned into it (hour-of-day profiles).
    day: u64,
    /// Distinct days learned into it.
    pub days: u32,
}

impl Profile {
    fn scale(&mut self, f: f64) {
        self.n *= f;
        self.x *= f;
        if let Some(h) = &mut self.hist {
            h.iter_mut().for_each(|c| *c *= f as f32);
        }
    }

    pub(crate) fn add(&mut self, sample: &Sample<'_>) {
        self.n += sample.n;
        self.x += sample.x;
        if let Some((counts, layout)) = sample.latency {
            let hist = self
                .hist
                .get_or_insert_with(|| vec![0.0; LOG_BUCKETS].into_boxed_slice());
            for (index, count) in counts.iter() {
                let us = layout.lowest_value(index).max(1);
                let i = ((us as f64).ln() / LOG_BASE.ln()) as usize;
                hist[i.min(LOG_BUCKETS - 1)] += count as f32;
            }
        }
    }

    /// The latency (µs) below which a share `q` of the profile's selections fell,
    /// interpolated within its log bucket; `None` without a histogram.
    pub(crate) fn quantile_us(&self, q: f64) -> Option<f64> {
        let hist = self.hist.as_ref()?;
        let total: f64 = hist.iter().map(|&c| f64::from(c)).sum();
        if total <= 0.0 {
            return None;
        }
        let want = q.clamp(0.0, 1.0) * total;
        let mut seen = 0.0;
        for (i, &c) in hist.iter().enumerate() {
            let c = f64::from(c);
            if c > 0.0 && seen + c >= want {
                let f = ((want - seen) / c).clamp(0.0, 1.0);
                return Some(LOG_BASE.powf(i as f64 + f));
            }
            seen += c;
        }
        Some(LOG_BASE.powi(LOG_BUCKETS as i32))
    }
}

/// One sealed minute, as a baseline learns it.
pub(crate) struct Sample<'a> {
    pub n: f64,
    pub x: f64,
    /// The latency buckets learned, and their layout (latency rules only).
    pub latency: Option<(&'a CompactCounts, &'a BucketLayout)>,
}

/// A model's learned normal: all hours, and each UTC hour of the day.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Baseline {
    pub all: Profile,
    hours: Vec<Profile>,
    /// Minutes learned.
    pub minutes: u32,
}

impl Baseline {
    /// Learns one minute that started at `minute` (minutes since the epoch).
    pub(crate) fn learn(&mut self, minute: u64, sample: &Sample<'_>) {
        self.all.scale(MINUTE_DECAY);
        self.all.add(sample);
        self.minutes = self.minutes.saturating_add(1);
        if self.hours.is_empty() {
            self.hours = vec![Profile::default(); 24];
        }
        let (day, hour) = (minute / 1440, (minute / 60 % 24) as usize);
        let h = &mut self.hours[hour];
        if h.days == 0 || h.day != day {
            if h.days > 0 {
                h.scale(DAY_DECAY);
            }
            h.day = day;
            h.days += 1;
        }
        h.add(sample);
    }

    /// The profile to judge the minute `minute` against: its hour of the day once two
    /// days of that hour (and at least `min_n` trials) are known, else all hours.
    pub(crate) fn profile_for(&self, minute: u64, min_n: f64) -> &Profile {
        let hour = (minute / 60 % 24) as usize;
        match self.hours.get(hour) {
            Some(h) if h.days >= 2 && h.n >= min_n => h,
            _ => &self.all,
        }
    }

    /// Starts over from `profile` (a shift accepted as the new normal).
    pub(crate) fn reset_to(&mut self, profile: Profile, minutes: u32) {
        *self = Baseline {
            all: Profile {
                day: 0,
                days: 0,
                ..profile
            },
            hours: Vec::new(),
            minutes,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_within_ten_percent_buckets() {
        let mut p = Profile::default();
        let mut hist = vec![0.0f32; LOG_BUCKETS];
        // 100 selections around 1 ms (bucket of 1000 µs), 100 around 10 ms.
        let b1 = ((1000f64).ln() / LOG_BASE.ln()) as usize;
        let b2 = ((10_000f64).ln() / LOG_BASE.ln()) as usize;
        hist[b1] = 100.0;
        hist[b2] = 100.0;
        p.hist = Some(hist.into_boxed_slice());
        let p25 = p.quantile_us(0.25).unwrap();
        let p95 = p.quantile_us(0.95).unwrap();
        assert!((800.0..1200.0).contains(&p25), "{p25}");
        assert!((8_000.0..12_000.0).contains(&p95), "{p95}");
    }

    #[test]
    fn hour_profiles_need_two_days() {
        let mut b = Baseline::default();
        let s = Sample {
            n: 10.0,
            x: 1.0,
            latency: None,
        };
        for minute in 0..(26 * 60) {
            b.learn(minute, &s);
        }
        // Hour 0 has been seen on days 0 and 1; hour 5 only on day 0.
        assert!(std::ptr::eq(b.profile_for(10, 100.0), &b.hours[0]));
        assert!(
            std::ptr::eq(b.profile_for(10, 5000.0), &b.all),
            "too few trials"
        );
        assert!(std::ptr::eq(b.profile_for(5 * 60, 100.0), &b.all));
        // The day-decayed hour profile: 70% of day 0's 600 trials, plus day 1's 600.
        assert!((b.hours[0].n - 1020.0).abs() < 1e-6, "{}", b.hours[0].n);
    }
}
