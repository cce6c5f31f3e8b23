use crate::error::ConfigError;

/// The most buckets a layout may have. A query sums into one dense `u64` array of
/// this many (4 MiB at most), and each writer shard keeps a dense `u32` array per model,
/// so bounds from a configuration or from a decoded snapshot cannot ask for more. The
/// default layout has 3,328; 4 significant digits over 1 µs to 1 h have 311,296.
pub(crate) const MAX_BUCKETS: usize = 1 << 19;

/// The bucket geometry of an `hdrhistogram::Histogram` with given bounds, computed the
/// same way `hdrhistogram` does, so that bucket indices can be exchanged with it.
///
/// Values are in microseconds. Values above the highest trackable value saturate into the
/// last bucket, as `Histogram::saturating_record` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketLayout {
    low: u64,
    high: u64,
    sigfig: u8,
    unit_magnitude: u32,
    sub_bucket_half_count_magnitude: u32,
    sub_bucket_half_count: u32,
    sub_bucket_mask: u64,
    leading_zero_count_base: u32,
    len: usize,
    last_index: usize,
}

impl BucketLayout {
    /// The layout of `hdrhistogram::Histogram::new_with_bounds(low, high, sigfig)`,
    /// accepting exactly the bounds `hdrhistogram` accepts (a test checks both agree).
    ///
    /// Constant time and no allocation whatever the bounds, so decoding a histogram from
    /// outside can check them before it holds any memory.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Histogram`] when `hdrhistogram` would refuse these bounds.
    pub fn new(low: u64, high: u64, sigfig: u8) -> Result<Self, ConfigError> {
        let refuse = |reason: &str| ConfigError::Histogram {
            low,
            high,
            sigfig,
            reason: reason.to_owned(),
        };
        if low < 1 {
            return Err(refuse("the lowest discernible value must be at least 1"));
        }
        if low > u64::MAX / 2 {
            return Err(refuse("the lowest discernible value is too large"));
        }
        if high < 2 * low {
            return Err(refuse(
                "the highest value must be at least twice the lowest",
            ));
        }
        if sigfig > 5 {
            return Err(refuse("at most 5 significant digits"));
        }
        let largest = 2 * 10_u32.pow(u32::from(sigfig));
        let unit_magnitude = 63 - low.leading_zeros();
        let sub_bucket_count_magnitude = 32 - (largest - 1).leading_zeros();
        if unit_magnitude + sub_bucket_count_magnitude > 63 {
            return Err(refuse(
                "these significant digits cannot be represented beyond the lowest value",
            ));
        }
        let sub_bucket_half_count_magnitude = sub_bucket_count_magnitude - 1;
        let sub_bucket_count = 1_u32 << sub_bucket_count_magnitude;
        // As hdrhistogram's `buckets_to_cover` and `num_bins`.
        let mut smallest_untrackable = u64::from(sub_bucket_count) << unit_magnitude;
        let mut buckets_needed = 1usize;
        while smallest_untrackable <= high {
            if smallest_untrackable > u64::MAX / 2 {
                buckets_needed += 1;
                break;
            }
            smallest_untrackable <<= 1;
            buckets_needed += 1;
        }
        let len = (buckets_needed + 1) * (sub_bucket_count as usize / 2);
        if len > MAX_BUCKETS {
            return Err(refuse(&format!(
                "these bounds need {len} buckets, more than the {MAX_BUCKETS} allowed"
            )));
        }
        Ok(Self {
            low,
            high,
            sigfig,
            unit_magnitude,
            sub_bucket_half_count_magnitude,
            sub_bucket_half_count: sub_bucket_count / 2,
            sub_bucket_mask: (u64::from(sub_bucket_count) - 1) << unit_magnitude,
            leading_zero_count_base: 64 - unit_magnitude - sub_bucket_count_magnitude,
            len,
            last_index: len - 1,
        })
    }

    /// The bounds and precision this layout was built from: (lowest µs, highest µs,
    /// significant digits).
    pub fn settings(&self) -> (u64, u64, u8) {
        (self.low, self.high, self.sigfig)
    }

    /// Number of buckets.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Highest trackable value (µs).
    #[cfg(test)]
    pub fn high(&self) -> u64 {
        self.high
    }

    /// The index of the bucket holding `d`, in the layout's microseconds.
    #[inline]
    pub fn index_of(&self, d: std::time::Duration) -> usize {
        self.index(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
    }

    /// The bucket a value falls in; values past [`high`](Self::high) saturate.
    #[inline]
    pub fn index(&self, value: u64) -> usize {
        let value = value.min(self.high);
        let bucket = self.leading_zero_count_base - (value | self.sub_bucket_mask).leading_zeros();
        let sub_bucket = (value >> (bucket + self.unit_magnitude)) as usize;
        let base = ((bucket as usize) + 1) << self.sub_bucket_half_count_magnitude;
        (base + sub_bucket - self.sub_bucket_half_count as usize).min(self.last_index)
    }

    fn bucket_and_sub(&self, index: usize) -> (u32, u64) {
        let mut bucket = (index >> self.sub_bucket_half_count_magnitude) as i64 - 1;
        let mut sub = (index as u64 & u64::from(self.sub_bucket_half_count - 1))
            + u64::from(self.sub_bucket_half_count);
        if bucket < 0 {
            sub -= u64::from(self.sub_bucket_half_count);
            bucket = 0;
        }
        (bucket as u32, sub)
    }

    /// The lowest value that falls in bucket `index`.
    #[inline]
    pub fn lowest_value(&self, index: usize) -> u64 {
        let (bucket, sub) = self.bucket_and_sub(index);
        sub << (bucket + self.unit_magnitude)
    }

    /// The highest value that falls in bucket `index`.
    #[inline]
    pub fn highest_value(&self, index: usize) -> u64 {
        let (bucket, _) = self.bucket_and_sub(index);
        self.lowest_value(index) + (1_u64 << (bucket + self.unit_magnitude)) - 1
    }

    /// An empty `hdrhistogram::Histogram` with this layout's bounds.
    #[cfg(any(test, feature = "hdrhistogram"))]
    pub fn empty_histogram(&self) -> hdrhistogram::Histogram<u64> {
        hdrhistogram::Histogram::new_with_bounds(self.low, self.high, self.sigfig)
            .expect("bounds were validated when the layout was built")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The figures `Recording::latency_significant_digits` documents.
    #[test]
    fn bucket_counts_per_precision_over_the_default_range() {
        let len = |d| BucketLayout::new(1, 3_600_000_000, d).map(|l| l.len());
        assert_eq!(len(2).unwrap(), 3_328);
        assert_eq!(len(3).unwrap(), 23_552);
        assert_eq!(len(4).unwrap(), 311_296);
        assert!(len(5).is_err());
    }

    fn default_layout() -> BucketLayout {
        BucketLayout::new(1, 3_600_000_000, 2).unwrap()
    }

    #[test]
    fn default_layout_has_the_documented_size() {
        assert_eq!(default_layout().len(), 3328);
    }

    #[test]
    fn bad_bounds_are_refused_like_hdrhistogram_does() {
        assert!(matches!(
            BucketLayout::new(0, 10, 2),
            Err(ConfigError::Histogram { low: 0, .. })
        ));
        assert!(BucketLayout::new(1, 1, 2).is_err());
        assert!(BucketLayout::new(1, 100, 6).is_err());
    }

    #[test]
    fn saturates_at_high() {
        let l = default_layout();
        assert_eq!(l.index(u64::MAX), l.index(l.high()));
    }

    proptest! {
        #[test]
        fn accepts_and_sizes_exactly_as_hdrhistogram(
            low in prop_oneof![0u64..70, any::<u64>()],
            high in prop_oneof![0u64..10_000, any::<u64>()],
            sigfig in 0u8..7,
        ) {
            let ours = BucketLayout::new(low, high, sigfig);
            // hdrhistogram allocates its dense counts: only ask it about layouts under
            // our own cap (which it does not have).
            let too_big = matches!(&ours, Err(ConfigError::Histogram { reason, .. }) if reason.contains("buckets"));
            prop_assume!(!too_big);
            let theirs = hdrhistogram::Histogram::<u64>::new_with_bounds(low, high, sigfig);
            prop_assert_eq!(ours.is_ok(), theirs.is_ok());
            if let (Ok(o), Ok(t)) = (ours, theirs) {
                prop_assert_eq!(o.len(), t.distinct_values());
            }
        }

        #[test]
        fn index_matches_hdrhistogram(
            low_pow in 0u32..6, sigfig in 1u8..4, value in 0u64..5_000_000_000u64
        ) {
            let low = 1u64 << low_pow;
            let l = BucketLayout::new(low, 3_600_000_000, sigfig).unwrap();
            let mut h = l.empty_histogram();
            let v = value.min(l.high());
            h.record(v).unwrap();
            let i = l.index(v);
            prop_assert_eq!(l.lowest_value(i), h.lowest_equivalent(v));
            prop_assert_eq!(l.highest_value(i), h.highest_equivalent(v));
            // Recording the bucket's lowest value lands in the same hdrhistogram bucket.
            prop_assert!(h.equivalent(l.lowest_value(i), v));
        }
    }
}
