//! [`LatencyHistogram`]: the crate's own compact latency distribution.
//!
//! Every sealed minute ([`MinuteBucket::latency`](crate::MinuteBucket::latency)) and
//! every snapshot model ([`SnapshotModel::latency`](crate::SnapshotModel::latency))
//! carries one. Its buckets are exactly those of an `hdrhistogram::Histogram<u64>` with
//! the same bounds (1 µs to 1 h, 2 significant digits by default: every value is known
//! to within 1%), but only the non-empty ones are kept, varint-encoded: a minute of a
//! busy model costs a few hundred bytes where a dense HDR histogram costs 26 KiB.
//!
//! With the `hdrhistogram` feature, [`LatencyHistogram::to_hdr`] converts it without
//! loss.
//!
//! ## Serialized form
//!
//! ```json
//! {"lowest_us": 1, "highest_us": 3600000000, "significant_digits": 2,
//!  "buckets": [[83968, 2], [120832, 1]]}
//! ```
//!
//! Each bucket is `[lowest value in µs, count]`. Reading it back checks the bounds
//! before holding any memory for them (constant time whatever they claim) and maps
//! each value to its bucket, so a hand-written value anywhere in a bucket is accepted.

use std::time::Duration;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

use crate::hdr::{BucketLayout, CompactCounts};

/// A latency distribution in HDR buckets, kept sparse.
///
/// ```
/// use modelmeter::{ManualClock, Monitor, Selection};
/// use std::time::{Duration, SystemTime};
///
/// let clock = ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000));
/// let monitor = Monitor::builder().clock(clock.clone()).background(false).build()?;
/// for ms in [100, 200, 300, 4000] {
///     monitor.record_selection(&Selection::new("gpt-4o", Duration::from_millis(ms)))?;
/// }
/// let snapshot = monitor.snapshot(Duration::from_secs(300));
/// let h = &snapshot.models["gpt-4o"].latency;
/// assert_eq!(h.count(), 4);
/// assert_eq!(h.count_slower_than(Duration::from_secs(1)), 1);
/// // Within 1% (two significant digits) of the exact median, 200 ms.
/// assert!(h.quantile(0.5).abs_diff(Duration::from_millis(200)) <= Duration::from_millis(2));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatencyHistogram {
    layout: BucketLayout,
    counts: CompactCounts,
    total: u64,
}

/// One non-empty bucket of a [`LatencyHistogram`]: every latency from `low` to `high`
/// (both included) counts here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct HistogramBucket {
    /// The lowest latency in the bucket.
    pub low: Duration,
    /// The highest latency in the bucket.
    pub high: Duration,
    /// Selections in the bucket.
    pub count: u64,
}

/// A histogram's bounds and precision, as `hdrhistogram::Histogram::new_with_bounds`
/// takes them: histograms with equal settings have the same buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HistogramSettings {
    /// The lowest discernible latency, µs.
    pub lowest_us: u64,
    /// The highest trackable latency, µs; slower ones count in the last bucket.
    pub highest_us: u64,
    /// Significant decimal digits (2: every value within 1%).
    pub significant_digits: u8,
}

impl std::fmt::Display for HistogramSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} µs to {} µs, {} significant digits",
            self.lowest_us, self.highest_us, self.significant_digits
        )
    }
}

/// Why two histograms or snapshots cannot merge.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MergeError {
    /// The histogram settings differ: their buckets do not line up.
    #[error("histograms use different bounds: {ours} vs {theirs}")]
    LayoutMismatch {
        /// This side's settings.
        ours: HistogramSettings,
        /// The other side's.
        theirs: HistogramSettings,
    },
}

impl LatencyHistogram {
    pub(crate) fn new(layout: &BucketLayout, counts: CompactCounts) -> Self {
        let total = counts.iter().fold(0u64, |t, (_, c)| t.saturating_add(c));
        Self {
            layout: layout.clone(),
            counts,
            total,
        }
    }

    /// An empty histogram with the monitor's default bounds (1 µs to 1 h, 2
    /// significant digits).
    pub fn empty() -> Self {
        let layout = BucketLayout::new(1, 3_600_000_000, 2).expect("the default bounds are valid");
        Self::new(&layout, CompactCounts::default())
    }

    /// Selections counted.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// Whether nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The bounds and precision. Histograms merge only with equal settings.
    pub fn settings(&self) -> HistogramSettings {
        let (lowest_us, highest_us, significant_digits) = self.layout.settings();
        HistogramSettings {
            lowest_us,
            highest_us,
            significant_digits,
        }
    }

    /// Selections in the bucket holding `value` and every bucket above it: those at or
    /// above `value`, to the histogram's resolution.
    pub fn count_at_or_above(&self, value: Duration) -> u64 {
        let index = self.layout.index_of(value);
        self.sum_where(|i| i >= index)
    }

    /// Selections slower than `line`, to the histogram's resolution: the bucket that
    /// holds `line` itself (values within 1% of it with 2 significant digits) does not
    /// count as slower.
    pub fn count_slower_than(&self, line: Duration) -> u64 {
        let index = self.layout.index_of(line);
        self.sum_where(|i| i > index)
    }

    fn sum_where(&self, keep: impl Fn(usize) -> bool) -> u64 {
        self.counts
            .iter()
            .filter(|&(i, _)| keep(i))
            .fold(0, |t, (_, c)| t.saturating_add(c))
    }

    /// The latency at quantile `q` (0 to 1) as `hdrhistogram` reports it: the highest
    /// value of the bucket holding the `ceil(q × count)`-th selection. Zero when empty.
    pub fn quantile(&self, q: f64) -> Duration {
        if self.total == 0 {
            return Duration::ZERO;
        }
        let rank = crate::summary::rank(q.clamp(0.0, 1.0), self.total);
        let mut seen = 0u64;
        let mut last = 0;
        for (i, c) in self.counts.iter() {
            seen = seen.saturating_add(c);
            last = i;
            if seen >= rank {
                break;
            }
        }
        Duration::from_micros(self.layout.highest_value(last))
    }

    /// The non-empty buckets, fastest first.
    pub fn iter(&self) -> HistogramIter<'_> {
        HistogramIter {
            layout: &self.layout,
            inner: self.counts.iter(),
        }
    }

    /// Adds `other`'s counts into `self`, bucket by bucket (exact).
    ///
    /// # Errors
    ///
    /// [`MergeError::LayoutMismatch`] when the settings differ; `self` is unchanged.
    pub fn merge(&mut self, other: &LatencyHistogram) -> Result<(), MergeError> {
        if self.layout != other.layout {
            return Err(MergeError::LayoutMismatch {
                ours: self.settings(),
                theirs: other.settings(),
            });
        }
        self.counts.merge(&other.counts);
        self.total = self.total.saturating_add(other.total);
        Ok(())
    }

    /// The same distribution as an `hdrhistogram::Histogram<u64>` in microseconds, with
    /// the same bounds: each bucket's lowest value is recorded, which lands in the very
    /// same bucket, so nothing is lost.
    #[cfg(feature = "hdrhistogram")]
    #[cfg_attr(docsrs, doc(cfg(feature = "hdrhistogram")))]
    pub fn to_hdr(&self) -> hdrhistogram::Histogram<u64> {
        let mut h = self.layout.empty_histogram();
        for (i, c) in self.counts.iter() {
            h.saturating_record_n(self.layout.lowest_value(i), c);
        }
        h
    }

    pub(crate) fn compact(&self) -> &CompactCounts {
        &self.counts
    }

    pub(crate) fn layout(&self) -> &BucketLayout {
        &self.layout
    }
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::empty()
    }
}

/// The buckets of a [`LatencyHistogram`], from [`LatencyHistogram::iter`].
#[derive(Debug)]
pub struct HistogramIter<'a> {
    layout: &'a BucketLayout,
    inner: crate::hdr::CompactIter<'a>,
}

impl Iterator for HistogramIter<'_> {
    type Item = HistogramBucket;

    fn next(&mut self) -> Option<HistogramBucket> {
        let (i, count) = self.inner.next()?;
        Some(HistogramBucket {
            low: Duration::from_micros(self.layout.lowest_value(i)),
            high: Duration::from_micros(self.layout.highest_value(i)),
            count,
        })
    }
}

impl<'a> IntoIterator for &'a LatencyHistogram {
    type Item = HistogramBucket;
    type IntoIter = HistogramIter<'a>;

    fn into_iter(self) -> HistogramIter<'a> {
        self.iter()
    }
}

#[derive(Serialize, Deserialize)]
struct Wire {
    #[serde(flatten)]
    settings: HistogramSettings,
    buckets: Vec<(u64, u64)>,
}

impl Serialize for LatencyHistogram {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Wire {
            settings: self.settings(),
            buckets: self
                .counts
                .iter()
                .map(|(i, c)| (self.layout.lowest_value(i), c))
                .collect(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for LatencyHistogram {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = Wire::deserialize(d)?;
        let s = w.settings;
        let layout = BucketLayout::new(s.lowest_us, s.highest_us, s.significant_digits)
            .map_err(D::Error::custom)?;
        let mut pairs: Vec<(usize, u64)> = w
            .buckets
            .into_iter()
            .map(|(v, c)| (layout.index(v), c))
            .collect();
        pairs.sort_unstable_by_key(|&(i, _)| i);
        pairs.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                kept.1 = kept.1.saturating_add(later.1);
            }
            same
        });
        Ok(Self::new(&layout, CompactCounts::from_sorted(pairs)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hist(values_us: &[u64]) -> LatencyHistogram {
        let layout = BucketLayout::new(1, 3_600_000_000, 2).unwrap();
        let mut dense = std::collections::BTreeMap::<usize, u64>::new();
        for &v in values_us {
            *dense.entry(layout.index(v)).or_default() += 1;
        }
        LatencyHistogram::new(&layout, CompactCounts::from_sorted(dense))
    }

    #[test]
    fn serde_round_trips_and_reads_any_value_of_a_bucket() {
        let h = hist(&[100, 100, 250_000, 3_000_000]);
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(serde_json::from_str::<LatencyHistogram>(&json).unwrap(), h);
        let by_hand = r#"{"lowest_us":1,"highest_us":3600000000,"significant_digits":2,
            "buckets":[[3000001,1],[250100,1],[100,2]]}"#;
        assert_eq!(
            serde_json::from_str::<LatencyHistogram>(by_hand).unwrap(),
            h
        );
    }

    #[test]
    fn bounds_from_outside_are_checked_before_any_allocation() {
        let hostile = r#"{"lowest_us":1,"highest_us":18446744073709551615,"significant_digits":9,"buckets":[]}"#;
        let err = serde_json::from_str::<LatencyHistogram>(hostile).unwrap_err();
        assert!(err.to_string().contains("significant digits"), "{err}");
    }

    #[test]
    fn merge_refuses_other_bounds() {
        let mut a = hist(&[100]);
        let layout = BucketLayout::new(1, 60_000_000, 3).unwrap();
        let b = LatencyHistogram::new(&layout, CompactCounts::default());
        let err = a.merge(&b).unwrap_err();
        let MergeError::LayoutMismatch { theirs, .. } = &err;
        assert_eq!(theirs.significant_digits, 3);
        assert_eq!(
            err.to_string(),
            "histograms use different bounds: 1 µs to 3600000000 µs, 2 significant digits \
             vs 1 µs to 60000000 µs, 3 significant digits"
        );
        assert_eq!(a.count(), 1);
    }

    #[test]
    fn counts_at_or_above_and_slower_than_differ_by_the_bucket_of_the_line() {
        let h = hist(&[1_000, 2_000, 2_000, 3_000]);
        assert_eq!(h.count_at_or_above(Duration::from_millis(2)), 3);
        assert_eq!(h.count_slower_than(Duration::from_millis(2)), 1);
        assert_eq!(h.count_slower_than(Duration::from_secs(7200)), 0);
    }

    #[cfg(feature = "hdrhistogram")]
    #[test]
    fn to_hdr_keeps_every_bucket() {
        let h = hist(&[7, 100, 100, 250_000, 3_000_000, 3_600_000_000]);
        let hdr = h.to_hdr();
        assert_eq!(hdr.len(), h.count());
        let theirs: Vec<(u64, u64)> = hdr
            .iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect();
        let ours: Vec<(u64, u64)> = h
            .iter()
            .map(|b| (b.high.as_micros() as u64, b.count))
            .collect();
        assert_eq!(ours, theirs);
    }

    proptest! {
        #[test]
        fn quantiles_and_buckets_match_hdrhistogram(
            values in proptest::collection::vec(1u64..=3_600_000_000, 1..300),
            q in 0.0f64..=1.0,
        ) {
            let h = hist(&values);
            let mut reference = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 2).unwrap();
            for &v in &values {
                reference.saturating_record(v);
            }
            prop_assert_eq!(h.count(), reference.len());
            prop_assert_eq!(
                h.quantile(q),
                Duration::from_micros(reference.highest_equivalent(reference.value_at_quantile(q)))
            );
            let ours: Vec<(u64, u64)> = h.iter().map(|b| (b.high.as_micros() as u64, b.count)).collect();
            let theirs: Vec<(u64, u64)> = reference
                .iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_at_value()))
                .collect();
            prop_assert_eq!(ours, theirs);
        }

        #[test]
        fn merge_is_exact_and_associative(
            a in proptest::collection::vec(1u64..100_000_000, 0..50),
            b in proptest::collection::vec(1u64..100_000_000, 0..50),
            c in proptest::collection::vec(1u64..100_000_000, 0..50),
        ) {
            let mut left = hist(&a);
            left.merge(&hist(&b)).unwrap();
            left.merge(&hist(&c)).unwrap();
            let mut bc = hist(&b);
            bc.merge(&hist(&c)).unwrap();
            let mut right = hist(&a);
            right.merge(&bc).unwrap();
            prop_assert_eq!(&left, &right);
            let all: Vec<u64> = a.iter().chain(&b).chain(&c).copied().collect();
            prop_assert_eq!(left, hist(&all));
        }
    }
}
