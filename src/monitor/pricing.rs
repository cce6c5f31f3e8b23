//! Pricing on the record path: a selection that reports tokens and no cost is priced
//! from the [`Pricing`] table; one that reports both keeps its cost, and the difference
//! from the table's price is counted. Counts live in per-thread lanes, as the reject
//! counters do, so pricing adds no shared cache line to the hot path.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use crossbeam_utils::CachePadded;

use crate::accumulate::thread_lane;
use crate::aggregate::{COST_SCALE, Event, fixed};
use crate::health::PricingHealth;
use crate::pricing::Pricing;
use crate::selection::{MAX_COST_USD, Selection};

const LANES: usize = 16;
const PRICED: usize = 0;
const UNPRICED: usize = 1;
const COMPARED: usize = 2;
/// Reported minus priced, in cost units (nano-USD), two's complement.
const DIFFERENCE: usize = 3;

/// The price table and what it did.
pub(crate) struct Priced {
    table: Pricing,
    lanes: Box<[CachePadded<[AtomicU64; 4]>]>,
}

impl Priced {
    pub(crate) fn new(table: Pricing) -> Self {
        Self {
            table,
            lanes: (0..LANES)
                .map(|_| CachePadded::new(Default::default()))
                .collect(),
        }
    }

    /// Prices `event` of selection `s` in `minute` when it reported tokens and no
    /// cost; compares when it reported both.
    pub(crate) fn apply(&self, s: &Selection<'_>, minute: u64, event: &mut Event) {
        if !s.tokens_reported {
            return;
        }
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(minute * 60);
        let lane = &self.lanes[thread_lane() % LANES];
        let priced = self.table.cost_usd(s.model, at, &s.token_counts());
        match (s.cost_usd, priced) {
            (None, Some(usd)) => {
                event.cost = (fixed(usd.min(MAX_COST_USD), COST_SCALE), 1);
                lane[PRICED].fetch_add(1, Ordering::Relaxed);
            }
            (None, None) => {
                lane[UNPRICED].fetch_add(1, Ordering::Relaxed);
            }
            (Some(_), Some(usd)) => {
                let priced = fixed(usd.min(MAX_COST_USD), COST_SCALE);
                let difference = event.cost.0.wrapping_sub(priced);
                lane[COMPARED].fetch_add(1, Ordering::Relaxed);
                lane[DIFFERENCE].fetch_add(difference, Ordering::Relaxed);
            }
            (Some(_), None) => {}
        }
    }

    /// The price table.
    pub(crate) fn table(&self) -> &Pricing {
        &self.table
    }

    /// The counts, and which of `models` have no price at `now`.
    pub(crate) fn health<'a>(
        &self,
        models: impl Iterator<Item = &'a str>,
        now: SystemTime,
    ) -> PricingHealth {
        let sum = |k: usize| {
            self.lanes.iter().fold(0u64, |acc, lane| {
                acc.wrapping_add(lane[k].load(Ordering::Relaxed))
            })
        };
        let mut models_without_price: Vec<String> = models
            .filter(|m| *m != crate::registry::OTHER_MODEL && self.table.price_at(m, now).is_none())
            .map(str::to_owned)
            .collect();
        models_without_price.sort_unstable();
        PricingHealth {
            priced: sum(PRICED),
            unpriced: sum(UNPRICED),
            compared: sum(COMPARED),
            reported_minus_priced_usd: sum(DIFFERENCE) as i64 as f64 / COST_SCALE,
            models_without_price,
        }
    }
}
