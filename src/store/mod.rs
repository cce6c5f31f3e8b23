//! Sealed history: minute, hour, day and week tiers per model, with retention.
//!
//! A sealed minute is merged into every tier at once (the minute bucket and the hour,
//! day and week buckets that contain it), so a late minute lands in all of them and a
//! coarse bucket always equals the exact merge of its minutes. Buckets past their tier's
//! retention are dropped at each tick; retention is measured from the newest minute ever
//! sealed, so a clock that steps backwards never deletes anything.
//!
//! ## Memory
//!
//! A bucket costs its counters (~170 bytes) plus 2 to 3 bytes per non-empty latency
//! bucket. With the defaults (minutes for 6 h, hours for 2 days, days for 30 days, weeks
//! for 30 days) a model keeps at most 360 + 192 + 31 + 6 buckets. `BENCHMARKS.md`
//! reports the measured total for 100 busy models.

mod tier;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

pub(crate) use tier::{Plan, Tier, plan};

use crate::aggregate::Aggregate;
use crate::bands::BandStore;
use crate::config::{AggregationLevel, Config};
use crate::dimension::DimStore;

/// One model's buckets, one map per tier, keyed by bucket start minute.
#[derive(Debug, Default)]
pub(crate) struct History {
    pub tiers: Vec<BTreeMap<u64, Aggregate>>,
}

impl History {
    fn is_empty(&self) -> bool {
        self.tiers.iter().all(BTreeMap::is_empty)
    }
}

#[derive(Debug)]
pub(crate) struct Store {
    pub tiers: Vec<Tier>,
    pub models: HashMap<Arc<str>, History>,
    /// The newest minute ever sealed or ticked; retention counts back from here.
    pub newest: u64,
    pub sealed_buckets: u64,
    pub sealed_events: u64,
    /// Counters by complexity band, per model and hour.
    pub bands: BandStore,
    /// Per dimension value, the same tiers (see [`crate::dimension`]).
    pub dims: DimStore,
    /// Bytes held by every stored aggregate, kept current by each change so that
    /// `health()` (read at every scrape) never walks the tiers.
    bytes: usize,
    /// What changed since a persistent store's last commit; `None` without one, so
    /// that a monitor that keeps nothing pays nothing.
    pub journal: Option<Journal>,
}

/// The keys a persistent store must rewrite: each is written with the value it holds
/// at commit time, or deleted if it holds none, so one set serves inserts, merges and
/// removals alike.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    /// (tier index, model, bucket start minute).
    pub buckets: HashSet<(usize, Arc<str>, u64)>,
    /// (model, hour start minute).
    pub bands: HashSet<(Arc<str>, u64)>,
    /// (tier index, dimension index, value, bucket start minute).
    pub dims: HashSet<(usize, usize, Arc<str>, u64)>,
    #[cfg(feature = "persist")]
    /// Buckets a store held for tiers no longer configured, to delete.
    pub orphans: Vec<(AggregationLevel, Arc<str>, u64)>,
    #[cfg(feature = "persist")]
    /// Dimension buckets a store held for tiers or dimensions no longer configured, to
    /// delete: (tier, dimension key, value, start).
    pub dim_orphans: Vec<(AggregationLevel, Arc<str>, Arc<str>, u64)>,
}

#[cfg(feature = "persist")]
impl Journal {
    /// Takes in the keys of a commit that failed, to be written by the next one.
    pub(crate) fn absorb(&mut self, failed: Journal) {
        self.buckets.extend(failed.buckets);
        self.bands.extend(failed.bands);
        self.dims.extend(failed.dims);
        self.orphans.extend(failed.orphans);
        self.dim_orphans.extend(failed.dim_orphans);
    }
}

/// Merges `agg` into the bucket at `start` (creating it); returns the bytes added.
fn merge_into(
    buckets: &mut BTreeMap<u64, Aggregate>,
    start: u64,
    agg: Cow<'_, Aggregate>,
) -> isize {
    use std::collections::btree_map::Entry;
    match buckets.entry(start) {
        Entry::Vacant(v) => entry_bytes(v.insert(agg.into_owned())) as isize,
        Entry::Occupied(mut o) => {
            let before = entry_bytes(o.get()) as isize;
            o.get_mut().merge(&agg);
            entry_bytes(o.get()) as isize - before
        }
    }
}

/// What one stored aggregate costs: itself, its latency counts, and a BTreeMap entry's
/// key and share of node overhead.
fn entry_bytes(a: &Aggregate) -> usize {
    a.footprint() + 8 + 8
}

impl Store {
    pub(crate) fn new(config: &Config) -> Self {
        let minutes = |d: Duration| (d.as_millis() as u64).div_ceil(60_000);
        let history = minutes(config.monitoring.retention_period);
        let mut levels = config.monitoring.aggregation_levels.clone();
        levels.sort();
        levels.dedup();
        let tiers = levels
            .into_iter()
            .map(|level| {
                let retention = match level {
                    AggregationLevel::Minute => minutes(config.recording.minute_retention),
                    AggregationLevel::Hour => minutes(config.recording.hour_retention),
                    // A monthly budget reads the whole month from day buckets.
                    AggregationLevel::Day if config.cost.budget.any_monthly() => {
                        history.max(31 * 1440)
                    }
                    AggregationLevel::Day | AggregationLevel::Week => history,
                };
                Tier::new(level, retention)
            })
            .collect();
        Self {
            bands: BandStore::new(minutes(config.recording.hour_retention)),
            tiers,
            models: HashMap::new(),
            dims: DimStore::default(),
            newest: 0,
            sealed_buckets: 0,
            sealed_events: 0,
            bytes: 0,
            journal: None,
        }
    }

    #[cfg(feature = "persist")]
    /// Puts back one bucket a persistent store held, in the tier of `level`; `false`
    /// when no tier of that level is configured any more.
    pub(crate) fn restore(
        &mut self,
        level: AggregationLevel,
        model: &Arc<str>,
        start: u64,
        agg: Aggregate,
    ) -> bool {
        let Some(tier) = self.tiers.iter().position(|t| t.level == level) else {
            return false;
        };
        let n = self.tiers.len();
        let history = self.models.entry(model.clone()).or_insert_with(|| History {
            tiers: (0..n).map(|_| BTreeMap::new()).collect(),
        });
        let added = merge_into(&mut history.tiers[tier], start, Cow::Owned(agg));
        self.bytes = self.bytes.saturating_add_signed(added);
        if tier == 0 {
            self.newest = self.newest.max(start);
        }
        true
    }

    #[cfg(feature = "persist")]
    /// The bucket of tier `tier` starting at `start`, if held.
    pub(crate) fn bucket(&self, tier: usize, model: &str, start: u64) -> Option<&Aggregate> {
        self.models.get(model)?.tiers.get(tier)?.get(&start)
    }

    /// Merges one sealed minute of one model into every tier.
    pub(crate) fn insert(&mut self, model: &Arc<str>, minute: u64, agg: Aggregate) {
        self.sealed_buckets += 1;
        self.sealed_events += agg.totals.count;
        self.newest = self.newest.max(minute);
        let n = self.tiers.len();
        let history = self.models.entry(model.clone()).or_insert_with(|| History {
            tiers: (0..n).map(|_| BTreeMap::new()).collect(),
        });
        if let Some(j) = &mut self.journal {
            for (i, tier) in self.tiers.iter().enumerate() {
                j.buckets.insert((i, model.clone(), tier.start_of(minute)));
            }
            j.bands.insert((model.clone(), minute / 60 * 60));
        }
        let mut added = 0isize;
        for (tier, buckets) in self.tiers.iter().zip(history.tiers.iter_mut()).skip(1) {
            added += merge_into(buckets, tier.start_of(minute), Cow::Borrowed(&agg));
        }
        added += merge_into(&mut history.tiers[0], minute, Cow::Owned(agg));
        self.bytes = self.bytes.saturating_add_signed(added);
    }

    /// Drops buckets past retention; returns the models left with no history at all.
    pub(crate) fn prune(&mut self, now_minute: u64) -> Vec<Arc<str>> {
        self.newest = self.newest.max(now_minute);
        let newest = self.newest;
        let mut journal = self.journal.as_mut();
        self.bands.prune(newest, |model, hour| {
            if let Some(j) = journal.as_deref_mut() {
                j.bands.insert((model.clone(), hour));
            }
        });
        self.dims.prune(&self.tiers, newest, journal.as_deref_mut());
        let mut emptied = Vec::new();
        for (name, history) in &mut self.models {
            for (i, (tier, buckets)) in self.tiers.iter().zip(history.tiers.iter_mut()).enumerate()
            {
                while let Some(entry) = buckets.first_entry() {
                    if tier.retains(*entry.key(), newest) {
                        break;
                    }
                    if let Some(j) = journal.as_deref_mut() {
                        j.buckets.insert((i, name.clone(), *entry.key()));
                    }
                    self.bytes = self.bytes.saturating_sub(entry_bytes(entry.get()));
                    entry.remove();
                }
            }
            if history.is_empty() {
                emptied.push(name.clone());
            }
        }
        emptied
    }

    pub(crate) fn forget(&mut self, model: &str) {
        let mut journal = self.journal.as_mut();
        if let Some((name, history)) = self.models.remove_entry(model) {
            let gone: usize = history
                .tiers
                .iter()
                .flat_map(|t| t.values())
                .map(entry_bytes)
                .sum();
            self.bytes = self.bytes.saturating_sub(gone);
            if let Some(j) = journal.as_deref_mut() {
                for (i, tier) in history.tiers.iter().enumerate() {
                    j.buckets
                        .extend(tier.keys().map(|start| (i, name.clone(), *start)));
                }
            }
        }
        self.bands.forget(model, |model, hour| {
            if let Some(j) = journal.as_deref_mut() {
                j.bands.insert((model.clone(), hour));
            }
        });
    }

    /// Which buckets answer the window of minutes `from..to`.
    pub(crate) fn plan(&self, from: u64, to: u64, now_minute: u64) -> Plan {
        plan(&self.tiers, from, to, now_minute.max(self.newest))
    }

    /// Calls `f` with every bucket of `history` that `plan` selects.
    pub(crate) fn for_each_planned(history: &History, plan: &Plan, mut f: impl FnMut(&Aggregate)) {
        for &(tier, from, to) in &plan.ranges {
            history.tiers[tier]
                .range(from..to)
                .for_each(|(_, agg)| f(agg));
        }
    }

    /// Approximate bytes held by all buckets.
    pub(crate) fn footprint(&self) -> usize {
        self.bytes + self.bands.footprint() + self.dims.footprint()
    }

    /// The same count as `footprint`, by walking every tier: what the running count
    /// must always equal.
    #[cfg(test)]
    fn walked_footprint(&self) -> usize {
        self.models
            .values()
            .flat_map(|h| h.tiers.iter())
            .flat_map(|t| t.values())
            .map(entry_bytes)
            .sum::<usize>()
            + self.bands.footprint()
            + self.dims.footprint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::Totals;

    fn agg(count: u64) -> Aggregate {
        Aggregate {
            totals: Totals {
                count,
                ..Totals::default()
            },
            ..Aggregate::default()
        }
    }

    #[test]
    fn minutes_roll_up_into_every_tier_and_late_minutes_merge() {
        let mut s = Store::new(&Config::default());
        let m: Arc<str> = "m".into();
        let base = 30_000_000;
        for i in 0..120 {
            s.insert(&m, base + i, agg(1));
        }
        s.insert(&m, base + 5, agg(10));
        let h = &s.models[&m];
        assert_eq!(h.tiers[0].len(), 120);
        assert_eq!(h.tiers[0][&(base + 5)].totals.count, 11);
        let hour_total: u64 = h.tiers[1].values().map(|a| a.totals.count).sum();
        assert_eq!(hour_total, 130);
        assert_eq!(
            h.tiers[3].values().map(|a| a.totals.count).sum::<u64>(),
            130
        );
        assert_eq!(s.sealed_events, 130);
    }

    #[test]
    fn retention_drops_old_buckets_and_reports_empty_models() {
        let mut s = Store::new(&Config::default());
        let m: Arc<str> = "m".into();
        s.insert(&m, 1_000_000, agg(1));
        assert!(s.prune(1_000_000 + 10).is_empty());
        assert_eq!(s.models[&m].tiers[0].len(), 1);
        s.prune(1_000_000 + 7 * 60);
        assert!(s.models[&m].tiers[0].is_empty());
        assert_eq!(s.models[&m].tiers[1].len(), 1);
        let emptied = s.prune(1_000_000 + 40 * 1440);
        assert_eq!(emptied, vec![m]);
    }

    #[test]
    fn clock_going_backwards_deletes_nothing() {
        let mut s = Store::new(&Config::default());
        let m: Arc<str> = "m".into();
        s.insert(&m, 2_000_000, agg(1));
        s.prune(0);
        assert_eq!(s.models[&m].tiers[0].len(), 1);
    }

    #[test]
    fn the_running_byte_count_equals_a_walk_of_every_tier() {
        let mut s = Store::new(&Config::default());
        let (a, b): (Arc<str>, Arc<str>) = ("a".into(), "b".into());
        let mut rng = 7u64;
        for minute in 0..3_000u64 {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let mut agg = agg(1 + rng % 50);
            agg.latency = crate::hdr::CompactCounts::from_sorted(
                (0..(rng >> 60) as usize).map(|i| (i * 7, 1)),
            );
            s.insert(if rng % 3 == 0 { &b } else { &a }, minute, agg.clone());
            if rng % 11 == 0 {
                s.insert(&a, minute.saturating_sub(rng % 30), agg); // a late minute
            }
            s.prune(minute);
            if minute == 2_000 {
                s.forget("b");
            }
            assert_eq!(s.footprint(), s.walked_footprint(), "minute {minute}");
        }
        assert!(s.footprint() > 0);
    }
}
