//! The counters of one dimension combination, and an open cell's combinations.

use std::collections::HashMap;

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

/// An open cell's counters by dimension combination, and its latency counts by
/// provider. Both keep their memory when the cell is reused, so recording a
/// combination or provider seen in an earlier minute allocates nothing.
#[derive(Debug)]
pub(crate) struct DimCell {
    pub combos: HashMap<Combo, DimTotals, foldhash::fast::FixedState>,
    /// Latency counts per provider id; entries stay (emptied) across minutes.
    providers: Vec<(u16, Dense<u32>)>,
    buckets: usize,
}

impl DimCell {
    pub(crate) fn new(buckets: usize) -> Self {
        Self {
            combos: HashMap::default(),
            providers: Vec::new(),
            buckets,
        }
    }

    #[inline]
    pub(crate) fn add(&mut self, combo: Combo, e: &Event) {
        self.combos.entry(combo).or_default().add(e);
        let provider = combo.id(PROVIDER_DIM);
        if provider != 0 {
            let i = match self.providers.iter().position(|(p, _)| *p == provider) {
                Some(i) => i,
                None => {
                    self.providers.push((provider, Dense::new(self.buckets)));
                    self.providers.len() - 1
                }
            };
            self.providers[i].1.add(e.bucket, 1);
        }
    }

    /// The latency buckets of each provider with selections in this cell.
    pub(crate) fn provider_latency(
        &self,
    ) -> impl Iterator<Item = (u16, impl Iterator<Item = (usize, u64)> + '_)> + '_ {
        self.providers.iter().map(|(p, d)| (*p, d.buckets()))
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.combos.is_empty()
    }

    pub(crate) fn clear(&mut self) {
        self.combos.clear();
        self.providers.iter_mut().for_each(|(_, d)| d.clear());
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.combos.capacity() * (std::mem::size_of::<(Combo, DimTotals)>() + 1)
            + self
                .providers
                .iter()
                .map(|(_, d)| d.heap_bytes() + std::mem::size_of::<(u16, Dense<u32>)>())
                .sum::<usize>()
    }
}
