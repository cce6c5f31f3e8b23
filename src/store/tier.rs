use crate::config::AggregationLevel;

/// Minutes in one week; weeks start on Monday 00:00 UTC (1970-01-05 was a Monday,
/// four days after the epoch).
const WEEK: u64 = 7 * 1440;
const WEEK_OFFSET: u64 = 4 * 1440;

/// The geometry of one roll-up tier, in whole minutes since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tier {
    pub level: AggregationLevel,
    /// Bucket length in minutes.
    pub period: u64,
    /// Buckets start at `offset + k * period`.
    offset: u64,
    /// How long buckets are kept, in minutes.
    pub retention: u64,
}

impl Tier {
    pub(crate) fn new(level: AggregationLevel, retention_minutes: u64) -> Self {
        let (period, offset) = match level {
            AggregationLevel::Minute => (1, 0),
            AggregationLevel::Hour => (60, 0),
            AggregationLevel::Day => (1440, 0),
            AggregationLevel::Week => (WEEK, WEEK_OFFSET),
        };
        Self {
            level,
            period,
            offset,
            retention: retention_minutes.max(period),
        }
    }

    /// Start of the bucket holding `minute`.
    pub(crate) fn start_of(&self, minute: u64) -> u64 {
        let shift = (self.period - self.offset % self.period) % self.period;
        ((minute + shift) / self.period * self.period).saturating_sub(shift)
    }

    /// The oldest minute this tier still holds, given the newest minute seen.
    pub(crate) fn horizon(&self, newest: u64) -> u64 {
        newest.saturating_sub(self.retention)
    }

    /// Whether the bucket starting at `start` is still kept.
    pub(crate) fn retains(&self, start: u64, newest: u64) -> bool {
        start + self.period > self.horizon(newest)
    }
}

/// Which tier answers which part of a query window: `(tier index, from, to)` ranges of
/// bucket starts, plus the start the answer really covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    pub ranges: Vec<(usize, u64, u64)>,
    pub start: u64,
}

/// Covers the minutes `from..to` with the coarsest buckets that fit wholly inside the
/// window, falling back to finer tiers at the edges. Where the finest tier that still
/// holds an old edge is coarser than a minute, the window is widened to that bucket's
/// start (reported in `Plan::start`) rather than silently dropping or guessing.
pub(crate) fn plan(tiers: &[Tier], from: u64, to: u64, newest: u64) -> Plan {
    let mut ranges: Vec<(usize, u64, u64)> = Vec::new();
    let mut push = |t: usize, s: u64, e: u64| match ranges.last_mut() {
        Some(last) if last.0 == t && last.2 == s => last.2 = e,
        _ => ranges.push((t, s, e)),
    };
    let mut start = None;
    let mut p = from;
    while p < to {
        let whole = tiers
            .iter()
            .enumerate()
            .rev()
            .find(|(_, t)| t.start_of(p) == p && p + t.period <= to && t.retains(p, newest));
        if let Some((i, t)) = whole {
            push(i, p, p + t.period);
            start.get_or_insert(p);
            p += t.period;
            continue;
        }
        let holding = tiers
            .iter()
            .enumerate()
            .find(|(_, t)| t.retains(t.start_of(p), newest));
        if let Some((i, t)) = holding {
            let s = t.start_of(p);
            push(i, s, s + t.period);
            start.get_or_insert(s);
            p = s + t.period;
            continue;
        }
        // Nothing holds minute `p` any more: jump to the oldest bucket any tier still holds.
        let next = tiers
            .iter()
            .map(|t| t.start_of(t.horizon(newest)).max(t.start_of(p) + t.period))
            .min();
        p = next.unwrap_or(to).max(p + 1);
    }
    Plan {
        ranges,
        start: start.unwrap_or(from),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AggregationLevel::*;

    fn tiers() -> Vec<Tier> {
        vec![
            Tier::new(Minute, 360),
            Tier::new(Hour, 8 * 1440),
            Tier::new(Day, 30 * 1440),
            Tier::new(Week, 31 * 1440),
        ]
    }

    #[test]
    fn weeks_start_on_monday() {
        let w = Tier::new(Week, 100_000);
        // 2026-11-23 00:00 UTC is a Monday.
        let monday = 1_795_392_000 / 60;
        assert_eq!(w.start_of(monday), monday);
        assert_eq!(w.start_of(monday + 3 * 1440 + 17), monday);
        assert_eq!(w.start_of(monday - 1), monday - WEEK);
    }

    #[test]
    fn a_day_uses_hours_and_minute_edges() {
        let t = tiers();
        let now = 1_000_000 * 60 + 37; // minute index, 37 past an hour
        let p = plan(&t, now - 24 * 60, now + 1, now);
        // Left edge older than minute retention: widened to its hour.
        assert_eq!(p.start, t[1].start_of(now - 24 * 60));
        assert_eq!(p.ranges.last().unwrap(), &(0, now - 37, now + 1));
        let covered: u64 = p.ranges.iter().map(|r| r.2 - r.1).sum();
        assert_eq!(covered, now + 1 - p.start);
    }

    #[test]
    fn recent_windows_are_exact_minutes() {
        let t = tiers();
        let now = 5_000_000;
        for w in [1, 5, 15, 60, 360] {
            let p = plan(&t, now + 1 - w, now + 1, now);
            assert_eq!(p.start, now + 1 - w);
            let covered: u64 = p.ranges.iter().map(|r| r.2 - r.1).sum();
            assert_eq!(covered, w);
        }
    }

    #[test]
    fn windows_past_all_retention_start_at_the_oldest_bucket() {
        let t = tiers();
        let now = 100 * 1440 * 7;
        let p = plan(&t, now - 200 * 1440, now + 1, now);
        assert!(p.start >= now - 200 * 1440);
        assert!(p.start <= t[3].horizon(now));
        assert!(!p.ranges.is_empty());
    }
}
