//! Sealed dimension history: per (dimension, value), the model store's tiers.
//!
//! A sealed minute is merged into every tier at once, as the model store does, so an
//! hour always equals the exact merge of its minutes; buckets past a tier's retention
//! are dropped at each tick. A bucket costs its counters (112 bytes) and, for
//! providers, 2 to 3 bytes per non-empty latency bucket.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::DimTotals;
use crate::hdr::CompactCounts;
use crate::store::{Journal, Plan, Tier};

/// One dimension value's sealed bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct DimAgg {
    pub totals: DimTotals,
    /// The latency distribution; empty for dimensions that keep none.
    pub latency: CompactCounts,
}

impl DimAgg {
    pub(crate) fn merge(&mut self, o: &DimAgg) {
        self.totals.merge(&o.totals);
        self.latency.merge(&o.latency);
    }

    /// What one stored bucket costs: itself, its latency counts, and a BTreeMap
    /// entry's key and share of node overhead.
    fn bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.latency.heap_bytes() + 16
    }
}

/// One value's buckets, one map per tier, keyed by bucket start minute.
type Series = Vec<BTreeMap<u64, DimAgg>>;

/// Every dimension value's tiers, keyed by (dimension index, value).
#[derive(Debug, Default)]
pub(crate) struct DimStore {
    pub series: HashMap<(usize, Arc<str>), Series>,
    bytes: usize,
}

impl DimStore {
    /// Merges one sealed minute of one value into every tier, noting the buckets it
    /// changed in `journal`.
    pub(crate) fn insert(
        &mut self,
        tiers: &[Tier],
        key: (usize, Arc<str>),
        minute: u64,
        agg: DimAgg,
        journal: Option<&mut Journal>,
    ) {
        if let Some(j) = journal {
            for (i, tier) in tiers.iter().enumerate() {
                j.dims
                    .insert((i, key.0, key.1.clone(), tier.start_of(minute)));
            }
        }
        for (i, tier) in tiers.iter().enumerate() {
            self.merge(tiers.len(), (i, key.clone()), tier.start_of(minute), &agg);
        }
    }

    /// Merges `agg` into one bucket, creating it (and the value's series of `tiers`
    /// tiers) if needed, and keeps the byte count.
    fn merge(
        &mut self,
        tiers: usize,
        (tier, key): (usize, (usize, Arc<str>)),
        start: u64,
        agg: &DimAgg,
    ) {
        let buckets = self
            .series
            .entry(key)
            .or_insert_with(|| vec![BTreeMap::new(); tiers]);
        let bucket = buckets[tier].entry(start).or_default();
        let before = if bucket.totals.count == 0 {
            0
        } else {
            bucket.bytes()
        };
        bucket.merge(agg);
        self.bytes = (self.bytes + bucket.bytes()).saturating_sub(before);
    }

    /// Puts back one bucket a persistent store held, in tier `tier`.
    #[cfg(feature = "persist")]
    pub(crate) fn restore(
        &mut self,
        tiers: usize,
        (tier, key): (usize, (usize, Arc<str>)),
        start: u64,
        agg: DimAgg,
    ) {
        self.merge(tiers, (tier, key), start, &agg);
    }

    /// The bucket of `value` of dimension `dim` in tier `tier` starting at `start`.
    #[cfg(feature = "persist")]
    pub(crate) fn bucket(
        &self,
        tier: usize,
        dim: usize,
        value: &Arc<str>,
        start: u64,
    ) -> Option<&DimAgg> {
        // The key's own `Arc`, cloned: a lookup by `&str` would copy the value into a
        // new one, for every changed bucket at every commit.
        self.series
            .get(&(dim, value.clone()))?
            .get(tier)?
            .get(&start)
    }

    /// Drops buckets past retention, and values left with none, noting them in
    /// `journal`.
    pub(crate) fn prune(&mut self, tiers: &[Tier], newest: u64, mut journal: Option<&mut Journal>) {
        let bytes = &mut self.bytes;
        self.series.retain(|(dim, value), series| {
            for (i, (tier, buckets)) in tiers.iter().zip(series.iter_mut()).enumerate() {
                while let Some(entry) = buckets.first_entry() {
                    if tier.retains(*entry.key(), newest) {
                        break;
                    }
                    if let Some(j) = journal.as_deref_mut() {
                        j.dims.insert((i, *dim, value.clone(), *entry.key()));
                    }
                    *bytes = bytes.saturating_sub(entry.get().bytes());
                    entry.remove();
                }
            }
            series.iter().any(|b| !b.is_empty())
        });
    }

    /// Calls `f` with each value of dimension `dim` and each of its buckets that `plan`
    /// selects.
    pub(crate) fn for_each_planned(
        &self,
        dim: usize,
        plan: &Plan,
        mut f: impl FnMut(&Arc<str>, &DimAgg),
    ) {
        for ((d, value), series) in &self.series {
            if *d != dim {
                continue;
            }
            for &(tier, from, to) in &plan.ranges {
                series[tier]
                    .range(from..to)
                    .for_each(|(_, agg)| f(value, agg));
            }
        }
    }

    /// Calls `f` with each bucket of one value that `plan` selects.
    pub(crate) fn for_each_planned_value(
        &self,
        (dim, value): (usize, &str),
        plan: &Plan,
        mut f: impl FnMut(&DimAgg),
    ) {
        let Some(series) = self.series.get(&(dim, Arc::from(value))) else {
            return;
        };
        for &(tier, from, to) in &plan.ranges {
            series[tier].range(from..to).for_each(|(_, agg)| f(agg));
        }
    }

    /// Approximate bytes held.
    pub(crate) fn footprint(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AggregationLevel;

    fn agg(count: u64) -> DimAgg {
        DimAgg {
            totals: DimTotals {
                count,
                ..DimTotals::default()
            },
            latency: CompactCounts::from_sorted([(3, count)]),
        }
    }

    #[test]
    fn minutes_roll_up_and_expire_by_tier() {
        let tiers = [
            Tier::new(AggregationLevel::Minute, 10),
            Tier::new(AggregationLevel::Hour, 600),
        ];
        let mut s = DimStore::default();
        let key = (3, Arc::<str>::from("search"));
        let mut journal = Journal::default();
        s.insert(&tiers, key.clone(), 61, agg(2), Some(&mut journal));
        s.insert(&tiers, key.clone(), 62, agg(3), Some(&mut journal));
        s.insert(&tiers, key.clone(), 62, agg(1), None);
        // Minutes 61 and 62, and their hour.
        assert_eq!(journal.dims.len(), 3);
        let series = &s.series[&key];
        assert_eq!(series[0][&62].totals.count, 4);
        assert_eq!(series[1][&60].totals.count, 6);
        assert_eq!(series[1][&60].latency.iter().collect::<Vec<_>>(), [(3, 6)]);
        let walked: usize = series
            .iter()
            .flat_map(|t| t.values())
            .map(DimAgg::bytes)
            .sum();
        assert_eq!(s.footprint(), walked);
        s.prune(&tiers, 100, Some(&mut journal));
        assert!(s.series[&key][0].is_empty());
        assert_eq!(s.series[&key][1][&60].totals.count, 6);
        s.prune(&tiers, 60 + 600 + 60, None);
        assert!(s.series.is_empty());
        assert_eq!(s.footprint(), 0);
    }
}
