//! Queries over a window ending now: the finest stored tier for each part of the
//! window, plus the cells still open.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use parking_lot::RwLock;

use crate::bands::{BandStats, Bands};
use crate::clock::from_unix_nanos;
use crate::dimension::{DimTotals, Dimensions};
use crate::hdr::BucketLayout;
use crate::registry::Registry;
use crate::seal::NANOS_PER_MINUTE;
use crate::store::Store;
use crate::summary::{Stats, Summary, WindowAcc};

/// The minutes `from..to` a window of length `window` ending at `now_nanos` reads: from
/// the minute holding `now - window` through the open minute.
pub(crate) fn window_minutes(now_nanos: u64, window: Duration) -> (u64, u64) {
    let window_nanos = u64::try_from(window.as_nanos()).unwrap_or(u64::MAX);
    let from = now_nanos.saturating_sub(window_nanos) / NANOS_PER_MINUTE;
    (from, now_nanos / NANOS_PER_MINUTE + 1)
}

/// Accumulates, for the window of length `window` ending at `now_nanos`, each model
/// with traffic in it: `each(span_start_nanos, model, acc)`. Returns the span's start.
pub(crate) fn collect(
    registry: &Registry,
    store: &RwLock<Store>,
    layout: &BucketLayout,
    now_nanos: u64,
    window: Duration,
    each: impl FnMut(u64, &str, &WindowAcc),
) -> u64 {
    let (from, to) = window_minutes(now_nanos, window);
    collect_range(registry, store, layout, from, to, to - 1, each)
}

/// Spend in US dollars over minutes `from..to`, from the counters alone: a budget
/// check once a minute needs no latency distribution. Coarse buckets at an old edge
/// count whole, as in [`collect_range`].
pub(crate) fn spend(
    registry: &Registry,
    store: &RwLock<Store>,
    (from, to): (u64, u64),
    now_minute: u64,
) -> f64 {
    let store = store.read();
    let plan = store.plan(from, to, now_minute);
    let mut nano_usd = 0u64;
    for slot in registry.slots() {
        if let Some(history) = store.models.get(&slot.name) {
            Store::for_each_planned(history, &plan, |agg| {
                nano_usd = nano_usd.saturating_add(agg.totals.cost.sum);
            });
        }
        slot.peek_open(plan.start, to, |cell| {
            nano_usd = nano_usd.saturating_add(cell.totals.cost.sum);
        });
    }
    nano_usd as f64 / crate::aggregate::COST_SCALE
}

/// As [`collect`], for the minutes `from..to`.
pub(crate) fn collect_range(
    registry: &Registry,
    store: &RwLock<Store>,
    layout: &BucketLayout,
    from: u64,
    to: u64,
    now_minute: u64,
    mut each: impl FnMut(u64, &str, &WindowAcc),
) -> u64 {
    // Holding the read lock while peeking at open cells keeps the sealer out, so no
    // event is seen both open and stored, or neither.
    let store = store.read();
    let plan = store.plan(from, to, now_minute);
    let start_nanos = plan.start.saturating_mul(NANOS_PER_MINUTE);
    let mut acc = WindowAcc::new(layout.len());
    for slot in registry.slots() {
        if let Some(history) = store.models.get(&slot.name) {
            Store::for_each_planned(history, &plan, |agg| acc.add_stored(agg));
        }
        slot.peek_open(plan.start, to, |cell| acc.add_open(cell));
        if acc.totals.count > 0 {
            each(start_nanos, &slot.name, &acc);
        }
        acc.clear();
    }
    start_nanos
}

/// Per model, the non-empty latency buckets of minutes `from..to` as
/// `(lowest µs, highest µs, count)`, for pictures of the distribution.
pub(crate) fn latency_buckets(
    (registry, store, layout): (&Registry, &RwLock<Store>, &BucketLayout),
    (from, to): (u64, u64),
    now_minute: u64,
) -> BTreeMap<String, Vec<(u64, u64, u64)>> {
    let mut out = BTreeMap::new();
    collect_range(
        registry,
        store,
        layout,
        from,
        to,
        now_minute,
        |_, name, acc| {
            let buckets = acc
                .buckets()
                .map(|(i, c)| (layout.lowest_value(i), layout.highest_value(i), c))
                .collect();
            out.insert(name.to_owned(), buckets);
        },
    );
    out
}

/// Summaries of the `count` complete intervals of `step_minutes` each that end at or
/// before minute `end` (intervals aligned to multiples of the step since the epoch:
/// hours, UTC days), oldest first; an interval without traffic is an empty summary.
pub(crate) fn series(
    registry: &Registry,
    store: &RwLock<Store>,
    layout: &BucketLayout,
    (end, now_minute): (u64, u64),
    step_minutes: u64,
    count: u64,
    reference_model: Option<&str>,
) -> Vec<Summary> {
    let step = step_minutes.max(1);
    let last = end / step * step;
    (1..=count)
        .rev()
        .filter_map(|k| {
            let from = last.checked_sub(k * step)?;
            let s = range_summary(
                registry,
                store,
                layout,
                (from, from + step),
                now_minute,
                reference_model,
            );
            // Only a coarser tier still held this interval, so the answer spans more
            // than it: unknown, shown as empty rather than as the whole bucket.
            let start = from_unix_nanos(from.saturating_mul(NANOS_PER_MINUTE));
            Some(if s.start < start {
                Summary {
                    start,
                    overview: Default::default(),
                    models: BTreeMap::new(),
                    ..s
                }
            } else {
                s
            })
        })
        .collect()
}

/// The summary of minutes `from..to` (`to` at most the current minute + 1).
pub(crate) fn range_summary(
    registry: &Registry,
    store: &RwLock<Store>,
    layout: &BucketLayout,
    (from, to): (u64, u64),
    now_minute: u64,
    reference_model: Option<&str>,
) -> Summary {
    let end_nanos = to.saturating_mul(NANOS_PER_MINUTE);
    let window = Duration::from_secs((to - from) * 60);
    let ctx = (registry, store, layout);
    build(
        ctx,
        (from, to, now_minute),
        end_nanos,
        window,
        reference_model,
        None,
    )
}

/// Summarizes minutes `from..to`, with rates over the span up to `end_nanos`.
fn build(
    (registry, store, layout): (&Registry, &RwLock<Store>, &BucketLayout),
    (from, to, now_minute): (u64, u64, u64),
    end_nanos: u64,
    window: Duration,
    reference_model: Option<&str>,
    mut latency: Option<&mut WindowLatency>,
) -> Summary {
    let mut models = BTreeMap::new();
    let mut overall = WindowAcc::new(layout.len());
    let mut scratch: Vec<(usize, u64)> = Vec::new();
    let span = |start: u64| Duration::from_nanos(end_nanos.saturating_sub(start));
    let start_nanos = collect_range(
        registry,
        store,
        layout,
        from,
        to,
        now_minute,
        |start, name, acc| match latency.as_deref_mut() {
            // Rules need the buckets themselves: one scan of the dense array serves
            // the percentiles, the fleet's merge and the tail counts.
            Some(l) => {
                scratch.clear();
                scratch.extend(acc.buckets());
                overall.merge_counters(acc);
                overall.add_buckets(scratch.iter().copied());
                let stats = acc.stats_over(layout, span(start), scratch.iter().copied());
                models.insert(name.to_owned(), stats);
                l.models
                    .insert(name.to_owned(), Tail::new(scratch.as_slice().to_vec()));
            }
            None => {
                overall.merge(acc);
                models.insert(name.to_owned(), acc.stats(layout, span(start)));
            }
        },
    );
    if let Some(l) = latency {
        l.overall = Tail::new(overall.buckets().collect());
    }
    let mut summary = Summary {
        window,
        start: from_unix_nanos(start_nanos),
        end: from_unix_nanos(end_nanos),
        overview: overall.stats(layout, span(start_nanos)),
        models,
    };
    summary.rate_cost_efficiency(reference_model);
    summary
}

/// Per model, its statistics per complexity band over minutes `from..to`: the hours of
/// the band store that overlap the range, plus the open cells in it.
pub(crate) fn bands(
    registry: &Registry,
    store: &RwLock<Store>,
    (from, to): (u64, u64),
) -> BTreeMap<String, Vec<BandStats>> {
    let store = store.read();
    let mut out = BTreeMap::new();
    for slot in registry.slots() {
        let mut acc = Bands::default();
        store.bands.add_to(&slot.name, from, to, &mut acc);
        slot.peek_open(from, to, |cell| {
            if cell.totals.complexity.count > 0 {
                acc.merge(&cell.bands);
            }
        });
        if !acc.is_empty() {
            out.insert(slot.name.to_string(), acc.stats());
        }
    }
    out
}

/// The latency distributions of one window, per model and overall, for rules that
/// count selections past a latency line.
#[derive(Debug, Default)]
pub(crate) struct WindowLatency {
    pub overall: Tail,
    pub models: HashMap<String, Tail, foldhash::fast::RandomState>,
}

/// One latency distribution as its non-empty buckets, each with the count at and
/// above it, so that "how many slower than" is a binary search.
#[derive(Debug, Default)]
pub(crate) struct Tail {
    /// `(bucket index, count in this bucket and above)`, in index order.
    at_or_above: Vec<(usize, u64)>,
}

impl Tail {
    /// From the non-empty `(index, count)` buckets in index order.
    fn new(mut buckets: Vec<(usize, u64)>) -> Self {
        let mut sum = 0;
        for (_, c) in buckets.iter_mut().rev() {
            sum += *c;
            *c = sum;
        }
        Self {
            at_or_above: buckets,
        }
    }

    /// The count in buckets above `index`.
    pub(crate) fn count_above(&self, index: usize) -> u64 {
        let first = self.at_or_above.partition_point(|&(i, _)| i <= index);
        self.at_or_above.get(first).map_or(0, |&(_, c)| c)
    }
}

/// As [`summary`], also keeping each model's latency distribution.
pub(crate) fn summary_with_latency(
    ctx: (&Registry, &RwLock<Store>, &BucketLayout),
    now_nanos: u64,
    window: Duration,
    reference_model: Option<&str>,
) -> (Summary, WindowLatency) {
    let (from, to) = window_minutes(now_nanos, window);
    let mut latency = WindowLatency::default();
    let summary = build(
        ctx,
        (from, to, to - 1),
        now_nanos,
        window,
        reference_model,
        Some(&mut latency),
    );
    (summary, latency)
}

/// Summarizes the window of length `window` ending at `now_nanos`.
pub(crate) fn summary(
    registry: &Registry,
    store: &RwLock<Store>,
    layout: &BucketLayout,
    now_nanos: u64,
    window: Duration,
    reference_model: Option<&str>,
) -> Summary {
    let (from, to) = window_minutes(now_nanos, window);
    let ctx = (registry, store, layout);
    build(
        ctx,
        (from, to, to - 1),
        now_nanos,
        window,
        reference_model,
        None,
    )
}

/// One dimension value's counters over a range, and its latency distribution when the
/// dimension keeps one.
pub(crate) struct ValueAcc {
    pub totals: DimTotals,
    pub latency: Option<WindowAcc>,
}

/// Per value of dimension `dim`, its counters over minutes `from..to`: the stored
/// tiers plus the open cells' combinations; with `latency`, the distribution too (for
/// the dimensions that keep one). Returns the span's start minute as well.
pub(crate) fn dimension_values(
    (registry, store, layout): (&Registry, &RwLock<Store>, &BucketLayout),
    dims: &Dimensions,
    dim: usize,
    (from, to, now_minute): (u64, u64, u64),
    latency: bool,
) -> (u64, HashMap<std::sync::Arc<str>, ValueAcc>) {
    let keeps = latency && Dimensions::keeps_latency(dim);
    let new = || ValueAcc {
        totals: DimTotals::default(),
        latency: keeps.then(|| WindowAcc::new(layout.len())),
    };
    let mut values: HashMap<std::sync::Arc<str>, ValueAcc> = HashMap::new();
    // Read under the lock, as `collect_range` does: each event open or stored, once.
    let store = store.read();
    let plan = store.plan(from, to, now_minute);
    store.dims.for_each_planned(dim, &plan, |value, agg| {
        let acc = values.entry(value.clone()).or_insert_with(new);
        acc.totals.merge(&agg.totals);
        if let Some(l) = &mut acc.latency {
            l.add_buckets(agg.latency.iter());
        }
    });
    for slot in registry.slots() {
        slot.peek_open(plan.start, to, |cell| {
            let Some(d) = cell.dims() else {
                return;
            };
            for (combo, totals) in d.combos() {
                let id = combo.id(dim);
                if id != 0 {
                    let acc = values.entry(dims.value(dim, id)).or_insert_with(new);
                    acc.totals.merge(totals);
                }
            }
            if keeps {
                for (id, buckets) in cell.provider_latency() {
                    if let Some(l) = values
                        .get_mut(&dims.value(dim, id))
                        .and_then(|a| a.latency.as_mut())
                    {
                        l.add_buckets(buckets);
                    }
                }
            }
        });
    }
    (plan.start, values)
}

/// Per value of dimension `dim`, its statistics over the window of length `window`
/// ending at `now_nanos`.
pub(crate) fn summary_by(
    ctx: (&Registry, &RwLock<Store>, &BucketLayout),
    dims: &Dimensions,
    dim: usize,
    now_nanos: u64,
    window: Duration,
) -> BTreeMap<String, Stats> {
    let (from, to) = window_minutes(now_nanos, window);
    let (start, values) = dimension_values(ctx, dims, dim, (from, to, to - 1), true);
    let span = Duration::from_nanos(now_nanos.saturating_sub(start * NANOS_PER_MINUTE));
    let keeps = Dimensions::keeps_latency(dim);
    values
        .into_iter()
        .map(|(value, acc)| {
            let mut w = acc.latency.unwrap_or_else(|| WindowAcc::new(0));
            w.totals = acc.totals.to_totals();
            let mut stats = w.stats(ctx.2, span);
            if !keeps {
                stats.drop_latency_percentiles();
            }
            (value.to_string(), stats)
        })
        .collect()
}

/// One dimension value's counters over minutes `from..to`: its stored buckets plus
/// the open cells' combinations that carry it. Coarse buckets at an old edge count
/// whole, as in [`collect_range`]; the second value is the start the answer really
/// covers.
pub(crate) fn dimension_totals(
    (registry, store): (&Registry, &RwLock<Store>),
    dims: &Dimensions,
    (dim, value): (usize, &str),
    (from, to): (u64, u64),
    now_minute: u64,
) -> (DimTotals, u64) {
    let mut t = DimTotals::default();
    let store = store.read();
    let plan = store.plan(from, to, now_minute);
    store
        .dims
        .for_each_planned_value((dim, value), &plan, |agg| t.merge(&agg.totals));
    if let Some(id) = dims.id_of(dim, value) {
        for slot in registry.slots() {
            slot.peek_open(plan.start, to, |cell| {
                let combos = cell.dims().map(|d| d.combos());
                for (combo, totals) in combos.into_iter().flatten() {
                    if combo.id(dim) == id {
                        t.merge(totals);
                    }
                }
            });
        }
    }
    (t, plan.start)
}
