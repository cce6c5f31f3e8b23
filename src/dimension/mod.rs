//! Dimensions: who and what a selection was for, beside the model that served it.
//!
//! Three dimensions are built in: [`PROVIDER`] (`gen_ai.provider.name`, set with
//! [`Selection::provider`](crate::Selection::provider)), [`OPERATION`] (chat,
//! embeddings, ...) and [`REQUESTED_MODEL`] (the model the router asked for; a
//! selection served by another one counts as a fallback). Up to [`MAX_ATTRIBUTES`]
//! more are the host's own keys (`team`, `api_key`, `feature`, ...), declared with
//! [`MonitorBuilder::dimension`](crate::MonitorBuilder::dimension) or
//! `recording.dimensions` and set with [`Selection::attr`](crate::Selection::attr).
//!
//! Each dimension keeps at most its cap of distinct values; later values share
//! [`OTHER_VALUE`], and every selection folded there is counted in
//! [`Health::dimensions`](crate::Health::dimensions). A key that was not declared, an
//! empty value, one longer than [`MAX_VALUE_LEN`] bytes, one with a control character,
//! or `__other__` itself is refused with a [`RecordError`] that names it.
//!
//! ## What is kept per value
//!
//! Count, errors, cache hits, spend, tokens (input, output, cached input, reasoning),
//! fallbacks, and the exact minimum, mean and maximum latency, per minute, rolled up
//! into hours, days and weeks like the models. Latency distributions (and so
//! percentiles) are kept per model and per provider only: with 100 values for each of
//! 3 attribute keys, distributions would triple the store (`BENCHMARKS.md`, Memory).
//!
//! ## On the hot path
//!
//! A selection's dimension values are resolved to small integer ids through a
//! per-thread cache keyed by each value's content (attribute keys too), so a value
//! seen before costs one probe and no shared write. A [`DimensionValue`] handle, made
//! once with [`Monitor::dimension_value`](crate::Monitor::dimension_value), carries
//! its id and spares even that: a provider and two attributes cost about 9 ns as
//! handles and 18 ns as text by the best batch (`BENCHMARKS.md`). The counters go
//! into the model's open cell, under the shard lock `record_selection` already holds,
//! keyed by the combination in a table of its own (`combos`); the sealer splits each combination into its dimensions
//! once a minute. While every selection in a cell came from one provider, the cell's
//! own latency histogram is that provider's, so recording writes no second one.

mod bucket;
mod cell;
mod combos;
mod handle;
mod local;
mod store;
mod tags;
mod values;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub use bucket::DimensionBucket;
pub(crate) use cell::{DimCell, DimTotals};
pub use handle::DimensionValue;
pub(crate) use store::{DimAgg, DimStore};
pub(crate) use tags::Tags;
use values::Values;

use crate::config::Recording;
use crate::error::RecordError;

/// The provider dimension (OpenTelemetry's `gen_ai.provider.name`).
pub const PROVIDER: &str = "provider";
/// The operation dimension (`chat`, `embeddings`, `completion`, ...).
pub const OPERATION: &str = "operation";
/// The requested-model dimension: the model the router asked for.
pub const REQUESTED_MODEL: &str = "requested_model";
/// The built-in dimensions, which exist without being declared.
pub const BUILT_IN: [&str; 3] = [PROVIDER, OPERATION, REQUESTED_MODEL];
/// Attribute keys a monitor may declare.
pub const MAX_ATTRIBUTES: usize = 4;
/// Longest dimension key, in bytes.
pub const MAX_KEY_LEN: usize = 64;
/// Longest dimension value, in bytes.
pub const MAX_VALUE_LEN: usize = 128;
/// Largest cap a dimension may declare.
pub const MAX_VALUES_CAP: usize = 10_000;
/// Distinct providers kept unless `provider` is declared with another cap.
pub const DEFAULT_PROVIDER_VALUES: usize = 64;
/// Distinct operations kept unless `operation` is declared with another cap.
pub const DEFAULT_OPERATION_VALUES: usize = 32;
/// The value that collects a dimension's values past its cap.
pub const OTHER_VALUE: &str = "__other__";

/// Dimension index of the provider.
pub(crate) const PROVIDER_DIM: usize = 0;
/// Dimension index of the operation.
pub(crate) const OPERATION_DIM: usize = 1;
/// Dimension index of the requested model.
pub(crate) const REQUESTED_DIM: usize = 2;
/// Dimensions a combination packs: the built-ins and the attributes.
const DIMS: usize = BUILT_IN.len() + MAX_ATTRIBUTES;
const _: () = assert!(DIMS <= 8, "a Combo holds 8 ids");
/// One selection's dimension values as ids, in dimension order (0: not set, 1:
/// [`OTHER_VALUE`], 2 and up: a kept value): eight `u16`s packed in one `u128`, so
/// that comparing and hashing a combination on the hot path is a word operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(crate) struct Combo(u128);

impl Combo {
    /// The value id of dimension `dim`, 0 when the selection did not set it.
    #[inline]
    pub(crate) fn id(self, dim: usize) -> u16 {
        let half = if dim < 4 { self.0 } else { self.0 >> 64 };
        (half as u64 >> (16 * (dim % 4))) as u16
    }

    /// The combination with dimension `dim` set to `id`. On the two 64-bit halves:
    /// a shift of a `u128` by a runtime amount takes about 25 instructions, and the
    /// lookup of text values sets dimensions known only at runtime.
    #[inline]
    pub(crate) fn with(self, dim: usize, id: u16) -> Self {
        let shift = 16 * (dim % 4);
        let (lo, hi) = (self.0 as u64, (self.0 >> 64) as u64);
        let set = |half: u64| half & !(0xffff << shift) | u64::from(id) << shift;
        let (lo, hi) = if dim < 4 {
            (set(lo), hi)
        } else {
            (lo, set(hi))
        };
        Self(u128::from(hi) << 64 | u128::from(lo))
    }

    /// A well-mixed 64-bit hash, for the open cell's table.
    #[inline]
    pub(crate) fn hash(self) -> u64 {
        let m = u128::from(self.0 as u64 ^ 0x243f_6a88_85a3_08d3)
            * u128::from((self.0 >> 64) as u64 ^ 0x1319_8a2e_0370_7344);
        (m as u64) ^ (m >> 64) as u64
    }

    /// The set dimensions and their value ids.
    pub(crate) fn ids(self) -> impl Iterator<Item = (usize, u16)> {
        (0..DIMS)
            .map(move |d| (d, self.id(d)))
            .filter(|(_, id)| *id != 0)
    }
}

/// The monitor's dimensions: names, caps and the values seen, with their ids.
#[derive(Debug)]
pub(crate) struct Dimensions {
    /// Tells thread-local caches apart across monitors.
    id: u64,
    keys: Vec<Arc<str>>,
    values: Vec<Values>,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl Dimensions {
    pub(crate) fn new(recording: &Recording) -> Self {
        let cap = |key: &str, default: usize| {
            recording
                .dimensions
                .iter()
                .find(|d| d.key == key)
                .map_or(default, |d| d.max_values)
        };
        let mut keys: Vec<Arc<str>> = BUILT_IN.iter().map(|k| Arc::from(*k)).collect();
        let mut values = vec![
            Values::new(cap(PROVIDER, DEFAULT_PROVIDER_VALUES)),
            Values::new(cap(OPERATION, DEFAULT_OPERATION_VALUES)),
            Values::new(cap(
                REQUESTED_MODEL,
                recording.max_models.min(MAX_VALUES_CAP),
            )),
        ];
        for d in &recording.dimensions {
            if !BUILT_IN.contains(&d.key.as_str()) {
                keys.push(d.key.as_str().into());
                values.push(Values::new(d.max_values));
            }
        }
        Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            keys,
            values,
        }
    }

    /// The dimension index of `key`, built-in or declared.
    pub(crate) fn index(&self, key: &str) -> Option<usize> {
        self.keys.iter().position(|k| &**k == key)
    }

    /// Takes an id for `value` of `dimension` now, counting no selection: for a
    /// scoped budget, so that its value is kept even if the cap fills before it is
    /// first recorded, and for history restored from a store, so that values kept
    /// before a restart stay kept. `__other__` is no value to keep.
    pub(crate) fn reserve(&self, dimension: &str, value: &str) {
        if let Some(dim) = self.index(dimension).filter(|_| value != OTHER_VALUE) {
            self.values[dim].intern(value);
        }
    }

    /// Every dimension's key, in index order.
    pub(crate) fn keys(&self) -> &[Arc<str>] {
        &self.keys
    }

    /// Whether dimension `dim` keeps a latency distribution per value.
    pub(crate) fn keeps_latency(dim: usize) -> bool {
        dim == PROVIDER_DIM
    }

    /// The id of `value` of dimension `dim`, if it was ever recorded (values past the
    /// cap have `__other__`'s).
    pub(crate) fn id_of(&self, dim: usize, value: &str) -> Option<u16> {
        self.values[dim].find(value)
    }

    /// The value behind an id of dimension `dim`.
    pub(crate) fn value(&self, dim: usize, id: u16) -> Arc<str> {
        self.values[dim].name(id)
    }

    /// The ids of the dimension values of a selection that set some
    /// ([`Tags::is_empty`] is false: the caller tests that, in the code a selection
    /// without dimensions runs).
    #[inline(always)]
    pub(crate) fn resolve(&self, tags: &Tags<'_>, model: &str) -> Result<Combo, RecordError> {
        debug_assert!(!tags.is_empty());
        // Handles of this monitor alone, none folded: the ids are the combination.
        if !tags.strings & tags.handles_only_of(self.id) {
            return Ok(tags.handles);
        }
        // Text alone, each value seen before by this thread: one probe per value.
        if tags.marks == 0 {
            let combo = local::lookup(self.id, tags);
            if combo != Combo::default() {
                return Ok(combo);
            }
        }
        self.resolve_set(tags, model)
    }

    /// [`Dimensions::resolve`] past its fast paths: handles mixed with text, values
    /// this thread has not seen, and errors.
    #[inline(never)]
    fn resolve_set(&self, tags: &Tags<'_>, model: &str) -> Result<Combo, RecordError> {
        if tags.marks != 0 {
            return self.resolve_handles(tags, model);
        }
        self.resolve_slow(tags, model)
    }

    /// [`Dimensions::resolve`] for a selection with handles, and text values maybe.
    #[inline]
    fn resolve_handles(&self, tags: &Tags<'_>, model: &str) -> Result<Combo, RecordError> {
        if tags.foreign_to(self.id) {
            let key = tags.last.map_or("", |v| &v.key);
            return Err(RecordError::ForeignDimensionValue {
                key: key.to_owned(),
            });
        }
        let combo = if tags.strings {
            // A handle wins over text set for the same dimension.
            let text = self.resolve(&tags.without_handles(), model)?;
            tags.handles
                .ids()
                .fold(text, |combo, (dim, id)| combo.with(dim, id))
        } else {
            tags.handles
        };
        // Counted once the selection is accepted, as text values are.
        if tags.folded() {
            self.count_folded(tags.handles);
        }
        Ok(combo)
    }

    #[cold]
    fn count_folded(&self, handles: Combo) {
        for (dim, id) in handles.ids() {
            if id == values::OTHER_ID {
                self.values[dim].count_folded();
            }
        }
    }

    /// A handle for `value` of dimension `key`, taking an id for the value now (or
    /// `__other__`'s, past the cap).
    pub(crate) fn handle(&self, key: &str, value: &str) -> Result<DimensionValue, RecordError> {
        let dim = self
            .index(key)
            .ok_or_else(|| RecordError::UndeclaredDimension {
                key: key.to_owned(),
            })?;
        check_value(key, value)?;
        let id = self.values[dim].intern(value);
        Ok(DimensionValue {
            mark: self.id << 1 | u64::from(id == values::OTHER_ID),
            dim,
            id,
            bits: Combo::default().with(dim, id).0,
            keep: !Combo::default().with(dim, u16::MAX).0,
            key: self.keys[dim].clone(),
            value: value.into(),
        })
    }

    #[cold]
    #[inline(never)]
    fn resolve_slow(&self, tags: &Tags<'_>, model: &str) -> Result<Combo, RecordError> {
        if tags.too_many {
            return Err(RecordError::TooManyAttributes {
                max: MAX_ATTRIBUTES,
            });
        }
        // Everything is checked before any id is taken, so a refused selection leaves
        // no value behind and counts no overflow: the model id too, whose rules the
        // registry would check only later.
        if model != crate::registry::OTHER_MODEL {
            crate::selection::check_new_model_id(model)?;
        }
        let mut found = [None; DIMS];
        for (dim, value) in tags.built_in() {
            check_value(&self.keys[dim], value)?;
            found[dim] = Some(value);
        }
        for (key, value) in tags.attributes() {
            let dim = self
                .index(key)
                .filter(|d| *d >= BUILT_IN.len())
                .ok_or_else(|| RecordError::UndeclaredDimension {
                    key: (*key).to_owned(),
                })?;
            check_value(key, value)?;
            found[dim] = Some(value);
        }
        let mut combo = Combo::default();
        for (dim, value) in found.iter().enumerate() {
            if let Some(value) = value {
                let (id, overflow) = self.values[dim].id(value);
                // Overflowing values are not cached: there may be unboundedly many of
                // them, and each selection must be counted.
                if !overflow {
                    local::insert(self.id, dim, value, id, || self.values[dim].name(id));
                }
                if dim >= BUILT_IN.len() {
                    let key = &self.keys[dim];
                    local::insert(self.id, local::KEY, key, dim as u16, || key.clone());
                }
                combo = combo.with(dim, id);
            }
        }
        Ok(combo)
    }

    /// Per dimension: key, values kept, cap, selections folded into `__other__`, and
    /// the estimated distinct values folded there.
    pub(crate) fn health(&self) -> impl Iterator<Item = (&str, usize, usize, u64, u64)> + '_ {
        self.keys.iter().zip(&self.values).map(|(k, v)| {
            let (kept, cap, selections, distinct) = v.health();
            (&**k, kept, cap, selections, distinct)
        })
    }
}

/// The rules a dimension value must follow, checked when a combination is first seen.
fn check_value(key: &str, value: &str) -> Result<(), RecordError> {
    let key = || key.to_owned();
    if value.is_empty() {
        return Err(RecordError::EmptyDimensionValue { key: key() });
    }
    if value.len() > MAX_VALUE_LEN {
        return Err(RecordError::DimensionValueTooLong {
            key: key(),
            len: value.len(),
            max: MAX_VALUE_LEN,
        });
    }
    if value == OTHER_VALUE {
        return Err(RecordError::ReservedDimensionValue { key: key() });
    }
    if let Some((at, _)) = value.char_indices().find(|(_, c)| c.is_control()) {
        return Err(RecordError::ControlCharInDimensionValue {
            key: key(),
            value: value.to_owned(),
            at,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DimensionConfig;
    use crate::selection::Selection;
    use std::time::Duration;

    fn dims(cap: usize) -> Dimensions {
        Dimensions::new(&Recording {
            dimensions: vec![DimensionConfig::new("team", cap)],
            ..Recording::default()
        })
    }

    fn sel() -> Selection<'static> {
        Selection::new("m", Duration::from_millis(1))
    }

    #[test]
    fn cached_lookups_agree_with_the_slow_path_whatever_the_order_of_the_keys() {
        let d = Dimensions::new(&Recording {
            dimensions: vec![
                DimensionConfig::new("team", 10),
                DimensionConfig::new("feature", 10),
                DimensionConfig::new("a-key-longer-than-sixteen-bytes", 10),
                DimensionConfig::new("user", 10),
            ],
            ..Recording::default()
        });
        let (team, feature) = (d.index("team").unwrap(), d.index("feature").unwrap());
        let long = d.index("a-key-longer-than-sixteen-bytes").unwrap();
        let user = d.index("user").unwrap();
        let resolve = |s: Selection<'_>| d.resolve(&s.tags, "m").unwrap();
        let name = |c: Combo, dim: usize| d.value(dim, c.id(dim));
        for _ in 0..3 {
            // The first round takes the slow path; the others hit the cache.
            let a = resolve(sel().attr("team", "a").attr("feature", "x").provider("p"));
            let b = resolve(sel().attr("feature", "x").provider("p").attr("team", "a"));
            assert_eq!(a, b);
            let twice = resolve(sel().attr("team", "a").attr("team", "b"));
            assert_eq!(&*name(twice, team), "b", "the last value of a repeated key");
            let c = resolve(
                sel()
                    .attr("a-key-longer-than-sixteen-bytes", "v")
                    .attr("team", "c"),
            );
            assert_eq!((&*name(c, long), &*name(c, team)), ("v", "c"));
            assert_eq!(c.id(feature), 0);
            // All four places, and a key repeated in the last one.
            let all = resolve(
                sel()
                    .attr("user", "u")
                    .attr("a-key-longer-than-sixteen-bytes", "w")
                    .attr("feature", "y")
                    .attr("team", "d"),
            );
            let names = [user, long, feature, team].map(|dim| name(all, dim));
            assert_eq!(names.each_ref().map(|n| &**n), ["u", "w", "y", "d"]);
            let last = resolve(
                sel()
                    .attr("team", "a")
                    .attr("feature", "x")
                    .attr("user", "u")
                    .attr("team", "e"),
            );
            assert_eq!(&*name(last, team), "e", "the last value of a repeated key");
            assert_eq!((&*name(last, feature), &*name(last, user)), ("x", "u"));
        }
    }

    #[test]
    fn a_combination_sets_each_place_alone() {
        let mut combo = Combo::default();
        for dim in 0..DIMS {
            combo = combo.with(dim, 0x1111 * (dim as u16 + 1));
        }
        for dim in 0..DIMS {
            assert_eq!(combo.id(dim), 0x1111 * (dim as u16 + 1));
            let changed = combo.with(dim, 0xabcd);
            for other in 0..DIMS {
                let want = if other == dim {
                    0xabcd
                } else {
                    combo.id(other)
                };
                assert_eq!(changed.id(other), want, "set {dim}, read {other}");
            }
        }
        assert_eq!(combo.ids().count(), DIMS);
    }

    #[test]
    fn combinations_resolve_to_stable_ids_and_fold_past_the_cap() {
        let d = dims(2);
        let a = d
            .resolve(&sel().provider("openai").attr("team", "a").tags, "m")
            .unwrap();
        let again = d
            .resolve(&sel().attr("team", "a").provider("openai").tags, "m")
            .unwrap();
        assert_eq!(a, again);
        assert_eq!(&*d.value(PROVIDER_DIM, a.id(PROVIDER_DIM)), "openai");
        let team = d.index("team").unwrap();
        assert_eq!(&*d.value(team, a.id(team)), "a");
        d.resolve(&sel().attr("team", "b").tags, "m").unwrap();
        let c = d.resolve(&sel().attr("team", "c").tags, "m").unwrap();
        assert_eq!(&*d.value(team, c.id(team)), OTHER_VALUE);
        d.resolve(&sel().attr("team", "c").tags, "m").unwrap();
        let (_, kept, cap, folded, _) = d.health().nth(team).unwrap();
        assert_eq!((kept, cap, folded), (2, 2, 2));
        assert!(sel().tags.is_empty());
    }

    #[test]
    fn a_folded_handle_is_counted_only_when_its_selection_is_accepted() {
        let d = dims(1);
        d.handle("team", "a").unwrap();
        let b = d.handle("team", "b").unwrap();
        assert!(b.is_folded());
        let folded = || d.health().nth(3).unwrap().3;
        assert_eq!(folded(), 0, "making a handle is no selection");
        let refused = sel().value(&b).provider("");
        assert!(d.resolve(&refused.tags, "m").is_err());
        assert_eq!(folded(), 0);
        d.resolve(&sel().value(&b).provider("openai").tags, "m")
            .unwrap();
        d.resolve(&sel().value(&b).tags, "m").unwrap();
        assert_eq!(folded(), 2);
    }

    #[test]
    fn bad_input_is_refused_by_name() {
        let d = dims(10);
        let err = |s: Selection<'_>| d.resolve(&s.tags, "m").unwrap_err();
        assert_eq!(
            err(sel().attr("tenant", "x")),
            RecordError::UndeclaredDimension {
                key: "tenant".into()
            }
        );
        assert_eq!(
            err(sel().attr("provider", "x")),
            RecordError::UndeclaredDimension {
                key: "provider".into()
            }
        );
        assert_eq!(
            err(sel().provider("")),
            RecordError::EmptyDimensionValue {
                key: "provider".into()
            }
        );
        let long = "x".repeat(MAX_VALUE_LEN + 1);
        assert_eq!(
            err(sel().attr("team", &long)),
            RecordError::DimensionValueTooLong {
                key: "team".into(),
                len: 129,
                max: 128
            }
        );
        assert!(d.resolve(&sel().attr("team", &long[1..]).tags, "m").is_ok());
        assert_eq!(
            err(sel().operation(OTHER_VALUE)),
            RecordError::ReservedDimensionValue {
                key: "operation".into()
            }
        );
        assert!(matches!(
            err(sel().attr("team", "a\nb")),
            RecordError::ControlCharInDimensionValue { at: 1, .. }
        ));
        let five = sel()
            .attr("a", "1")
            .attr("b", "1")
            .attr("c", "1")
            .attr("d", "1")
            .attr("e", "1");
        assert_eq!(err(five), RecordError::TooManyAttributes { max: 4 });
        // Nothing refused took a value.
        let team = d.index("team").unwrap();
        assert_eq!(d.health().nth(team).unwrap().1, 1);
    }
}
