//! The counters of one dimension combination, and an open cell's combinations.

use super::combos::{Combos, Slot};
use super::{Combo, PROVIDER_DIM};
use crate::aggregate::{Event, SumCount, Totals};
use crate::stream::Dense;

/// Exact counters of the selections with one dimension value (or one combination, in
/// an open cell): what a value keeps, minute by minute, in every tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DimTotals {
    pub count: u64,
    pub errors: u64,
    pub cache_hits: u64,
    pub cost: SumCount,
    pub latency_sum_us: u64,
    pub latency_min_us: u64,
    pub latency_max_us: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cached_input_tokens: u64,
    pub reasoning_tokens: u64,
    pub fallbacks: u64,
}

impl Default for DimTotals {
    fn default() -> Self {
        Self {
            count: 0,
            errors: 0,
            cache_hits: 0,
            cost: SumCount::default(),
            latency_sum_us: 0,
            latency_min_us: u64::MAX,
            latency_max_us: 0,
            input_tokens: 0,
            output_tokens: 0,
            cached_input_tokens: 0,
            reasoning_tokens: 0,
            fallbacks: 0,
        }
    }
}

impl DimTotals {
    #[inline]
    pub(crate) fn add(&mut self, e: &Event) {
        self.count += 1;
        self.errors += u64::from(e.error);
        self.cache_hits += u64::from(e.cache_hit);
        self.cost.add(e.cost);
        self.latency_sum_us = self.latency_sum_us.saturating_add(e.latency_us);
        self.latency_min_us = self.latency_min_us.min(e.latency_us);
        self.latency_max_us = self.latency_max_us.max(e.latency_us);
        self.input_tokens = self.input_tokens.saturating_add(e.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(e.output_tokens);
        self.cached_input_tokens = self
            .cached_input_tokens
            .saturating_add(e.cached_input_tokens);
        self.reasoning_tokens = self.reasoning_tokens.saturating_add(e.reasoning_tokens);
        self.fallbacks += u64::from(e.marks.fallback());
    }

    pub(crate) fn merge(&mut self, o: &DimTotals) {
        self.count = self.count.saturating_add(o.count);
        self.errors = self.errors.saturating_add(o.errors);
        self.cache_hits = self.cache_hits.saturating_add(o.cache_hits);
        self.cost.merge(&o.cost);
        self.latency_sum_us = self.latency_sum_us.saturating_add(o.latency_sum_us);
        self.latency_min_us = self.latency_min_us.min(o.latency_min_us);
        self.latency_max_us = self.latency_max_us.max(o.latency_max_us);
        self.input_tokens = self.input_tokens.saturating_add(o.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(o.output_tokens);
        self.cached_input_tokens = self
            .cached_input_tokens
            .saturating_add(o.cached_input_tokens);
        self.reasoning_tokens = self.reasoning_tokens.saturating_add(o.reasoning_tokens);
        self.fallbacks = self.fallbacks.saturating_add(o.fallbacks);
    }

    /// The same counts as the model counters hold them, for the shared `Stats` code;
    /// what a value does not keep (accuracy, complexity, ...) is absent there.
    pub(crate) fn to_totals(self) -> Totals {
        Totals {
            count: self.count,
            errors: self.errors,
            cache_hits: self.cache_hits,
            cost: self.cost,
            latency_sum_us: self.latency_sum_us,
            latency_min_us: self.latency_min_us,
            latency_max_us: self.latency_max_us,
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            cached_input_tokens: self.cached_input_tokens,
            reasoning_tokens: self.reasoning_tokens,
            fallbacks: self.fallbacks,
            ..Totals::default()
        }
    }
}

/// One combination's counters in an open cell, with the index of its provider's
/// latency counts once the cell needs them.
///
/// 128 bytes, aligned to 64: two cache lines, where an entry at any 16-byte boundary
/// would straddle three half the time.
#[derive(Debug)]
#[repr(align(64))]
struct Entry {
    combo: Combo,
    /// Index in [`DimCell::providers`]; [`UNSET`] until the cell is mixed.
    dense: u16,
    totals: DimTotals,
}

const UNSET: u16 = u16::MAX;

impl Default for Entry {
    fn default() -> Self {
        Self {
            combo: Combo::default(),
            dense: UNSET,
            totals: DimTotals::default(),
        }
    }
}

impl Slot for Entry {
    fn combo(&self) -> Combo {
        self.combo
    }

    fn set_combo(&mut self, combo: Combo) {
        self.combo = combo;
    }
}

/// Whose latency the cell's own histogram holds. While every selection in the cell
/// came from one provider, the cell's histogram is that provider's, and recording
/// writes no second one; the first selection from elsewhere copies it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sole {
    /// No selection with dimensions yet.
    Fresh,
    /// Every selection so far came from this provider.
    Only(u16),
    /// Providers keep their own counts.
    Mixed,
}

/// An open cell's counters by dimension combination, and its latency counts by
/// provider. Both keep their memory when the cell is reused, so recording a
/// combination or provider seen in an earlier minute allocates nothing.
#[derive(Debug)]
pub(crate) struct DimCell {
    combos: Combos<Entry>,
    sole: Sole,
    /// Latency counts per provider id, once the cell is mixed; entries stay (emptied)
    /// across minutes.
    providers: Vec<(u16, Dense<u32>)>,
    buckets: usize,
}

impl DimCell {
    pub(crate) fn new(buckets: usize) -> Self {
        Self {
            combos: Combos::new(),
            sole: Sole::Fresh,
            providers: Vec::new(),
            buckets,
        }
    }

    /// Adds a selection with dimensions; `counts` is the cell's latency histogram
    /// without it, and `before` the cell's selections before it.
    #[inline]
    pub(crate) fn add(&mut self, combo: Combo, e: &Event, counts: &Dense<u32>, before: u64) {
        let entry = self.combos.entry(combo);
        entry.totals.add(e);
        let provider = combo.id(PROVIDER_DIM);
        match self.sole {
            Sole::Only(p) if p == provider => {}
            Sole::Mixed if provider == 0 => {}
            Sole::Mixed if entry.dense != UNSET => {
                self.providers[usize::from(entry.dense)].1.add(e.bucket, 1);
            }
            _ => mix(
                &mut self.sole,
                &mut self.providers,
                self.buckets,
                &mut entry.dense,
                provider,
                e.bucket,
                counts,
                before,
            ),
        }
    }

    /// A selection without dimensions is coming into the cell, whose histogram
    /// `counts` is without it: the histogram stops being one provider's.
    #[inline]
    pub(crate) fn add_plain(&mut self, counts: &Dense<u32>) {
        if let Sole::Only(p) = self.sole {
            self.sole = Sole::Mixed;
            let i = dense_index(&mut self.providers, self.buckets, p);
            self.providers[usize::from(i)].1.add_dense(counts);
        }
    }

    /// Each combination with selections in this cell, and its counters.
    pub(crate) fn combos(&self) -> impl Iterator<Item = (Combo, &DimTotals)> + '_ {
        self.combos.iter().map(|e| (e.combo, &e.totals))
    }

    /// The latency counts of each provider with selections in this cell; `counts` is
    /// the cell's own histogram.
    pub(crate) fn provider_latency<'c>(
        &'c self,
        counts: &'c Dense<u32>,
    ) -> impl Iterator<Item = (u16, impl Iterator<Item = (usize, u64)> + 'c)> + 'c {
        let only = match self.sole {
            Sole::Only(p) => Some((p, counts)),
            Sole::Fresh | Sole::Mixed => None,
        };
        let mixed = match self.sole {
            Sole::Mixed => &self.providers[..],
            Sole::Fresh | Sole::Only(_) => &[],
        };
        only.into_iter()
            .chain(mixed.iter().map(|(p, d)| (*p, d)))
            .filter(|(_, d)| !d.is_clear())
            .map(|(p, d)| (p, d.buckets()))
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.combos.is_empty()
    }

    pub(crate) fn clear(&mut self) {
        // The table keeps its memory when cleared. The providers are emptied, not
        // removed, so that they allocate nothing next minute.
        self.combos.clear();
        self.sole = Sole::Fresh;
        self.providers.iter_mut().for_each(|(_, d)| d.clear());
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.combos.heap_bytes()
            + self
                .providers
                .iter()
                .map(|(_, d)| d.heap_bytes() + std::mem::size_of::<(u16, Dense<u32>)>())
                .sum::<usize>()
    }
}

/// The rest of [`DimCell::add`] when the cell's histogram is not (or stops being)
/// this selection's provider's alone.
#[cold]
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn mix(
    sole: &mut Sole,
    providers: &mut Vec<(u16, Dense<u32>)>,
    buckets: usize,
    dense: &mut u16,
    provider: u16,
    bucket: usize,
    counts: &Dense<u32>,
    before: u64,
) {
    match *sole {
        Sole::Fresh if before == 0 && provider != 0 => {
            *sole = Sole::Only(provider);
            return;
        }
        Sole::Fresh | Sole::Mixed => {}
        Sole::Only(p) => {
            let i = dense_index(providers, buckets, p);
            providers[usize::from(i)].1.add_dense(counts);
        }
    }
    *sole = Sole::Mixed;
    if provider != 0 {
        if *dense == UNSET {
            *dense = dense_index(providers, buckets, provider);
        }
        providers[usize::from(*dense)].1.add(bucket, 1);
    }
}

/// The index of `provider`'s latency counts, added if the cell has none yet.
fn dense_index(providers: &mut Vec<(u16, Dense<u32>)>, buckets: usize, provider: u16) -> u16 {
    let i = match providers.iter().position(|(p, _)| *p == provider) {
        Some(i) => i,
        None => {
            providers.push((provider, Dense::new(buckets)));
            providers.len() - 1
        }
    };
    // A cell holds at most the provider cap (`MAX_VALUES_CAP`) of them.
    u16::try_from(i).expect("providers are capped below u16::MAX")
}

const _: () = assert!(std::mem::size_of::<Entry>() == 128);
