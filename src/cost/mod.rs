//! Cost analytics: where the money goes, what was saved, and budgets.
//!
//! Cost efficiency follows the definition on
//! [`Stats::cost_efficiency`](crate::Stats::cost_efficiency): the share of spend
//! avoided against sending every selection to the reference model at its observed
//! mean cost per selection. Savings against the reference are the same quantity in
//! dollars; savings from cache hits price each hit at the model's mean cost of a miss.
//!
//! Budgets ([`Budget`](crate::Budget) in the configuration) report a [`BudgetStatus`]
//! and emit a [`BudgetEvent`] when spend crosses 85%, 95% and 100% of the limit, once
//! per period.
//!
//! ## Projection method
//!
//! The spend rate is fitted by least squares over recent complete intervals: the last
//! 24 hours for a daily budget; the last 14 days for a monthly one (the last 24 hours
//! while fewer than 3 days have data). Intervals before the first one with traffic
//! are left out, so a young monitor is not averaged with zeros. If the slope is
//! significant and rising (`t > 3`) the rate is taken as linear in time, otherwise as
//! the mean. A falling trend is not extrapolated: a budget projection should err
//! towards warning early, and a falling hourly rate is most often the evening side of
//! a daily cycle, not a lasting decline. For a monthly budget with fewer than 3 days of
//! history the hourly points give the mean only, for the same reason.
//! The projection is the spend so far plus the integral of that rate (floored at
//! zero) from now to the end of the period; the run-out date is where the integral
//! reaches the remaining budget. On steady or linearly growing traffic the projection
//! lands within 10% of the realized spend (`tests/budget.rs` checks it on seeded
//! noisy traffic).

mod budget;

#[cfg(feature = "persist")]
pub(crate) use budget::SavedBudgets;
pub use budget::{BudgetEvent, BudgetPeriod, BudgetScope, BudgetStatus};

pub(crate) use budget::{BudgetTracker, project};

use serde::{Deserialize, Serialize};

use crate::summary::{Stats, Summary};

/// One dimension's spend over a report's period, by value: spend by team, by
/// feature, by provider, and the fallback rate by requested model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DimensionSpend {
    /// The dimension's key.
    pub dimension: String,
    /// Its values with selections in the period, costliest first.
    pub values: Vec<ValueSpend>,
}

/// One dimension value's spend, in [`DimensionSpend`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ValueSpend {
    /// The value (`__other__` for those past the dimension's cap).
    pub value: String,
    /// Selections.
    pub selections: u64,
    /// Spend in US dollars.
    pub cost_usd: f64,
    /// Share of the spend of the selections that set this dimension (0 when nothing
    /// was spent).
    pub share: f64,
    /// Selections served by another model than requested (or marked as fallbacks).
    pub fallbacks: u64,
    /// `fallbacks / selections`.
    pub fallback_rate: f64,
    /// Failed selections over selections.
    pub error_rate: f64,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Of the input tokens, those served from the provider's prompt cache.
    pub cached_input_tokens: u64,
    /// Of the output tokens, those spent reasoning.
    pub reasoning_tokens: u64,
}

impl DimensionSpend {
    /// From each value's counters.
    pub(crate) fn new(
        dimension: &str,
        values: impl IntoIterator<Item = (String, crate::dimension::DimTotals)>,
    ) -> Self {
        let rows: Vec<_> = values.into_iter().filter(|(_, t)| t.count > 0).collect();
        let total: u64 = rows.iter().map(|(_, t)| t.cost.sum).sum();
        let mut values: Vec<ValueSpend> = rows
            .into_iter()
            .map(|(value, t)| {
                let n = t.count as f64;
                ValueSpend {
                    value,
                    selections: t.count,
                    cost_usd: t.cost.sum as f64 / crate::aggregate::COST_SCALE,
                    share: if total == 0 {
                        0.0
                    } else {
                        t.cost.sum as f64 / total as f64
                    },
                    fallbacks: t.fallbacks,
                    fallback_rate: t.fallbacks as f64 / n,
                    error_rate: t.errors as f64 / n,
                    input_tokens: t.input_tokens,
                    output_tokens: t.output_tokens,
                    cached_input_tokens: t.cached_input_tokens,
                    reasoning_tokens: t.reasoning_tokens,
                }
            })
            .collect();
        values.sort_by(|a, b| {
            b.cost_usd
                .total_cmp(&a.cost_usd)
                .then(b.selections.cmp(&a.selections))
                .then_with(|| a.value.cmp(&b.value))
        });
        Self {
            dimension: dimension.to_owned(),
            values,
        }
    }
}

/// One model's share of the spend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelCost {
    /// The model id.
    pub model: String,
    /// Selections.
    pub selections: u64,
    /// Spend in US dollars.
    pub cost_usd: f64,
    /// Share of the total spend (0 when nothing was spent).
    pub share: f64,
    /// Mean cost per selection that reported a cost.
    pub mean_cost_usd: Option<f64>,
    /// Cost efficiency against the reference model.
    pub cost_efficiency: Option<f64>,
    /// What its cache hits saved, pricing each at the model's mean cost of a miss.
    pub cache_savings_usd: Option<f64>,
}

/// Money saved in the period.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Savings {
    /// The reference model (configured, or the costliest per selection).
    pub reference_model: Option<String>,
    /// Its mean cost per selection.
    pub reference_mean_cost_usd: Option<f64>,
    /// `selections priced × reference mean − spend`: what routing saved against
    /// sending everything to the reference model. Negative if routing cost more.
    pub vs_reference_usd: Option<f64>,
    /// What cache hits saved, summed over models.
    pub from_cache_usd: Option<f64>,
}

fn cache_savings(s: &Stats) -> Option<f64> {
    Some(s.cache_hits as f64 * (s.cache_miss_mean_cost_usd? - s.cache_hit_mean_cost_usd?).max(0.0))
}

/// Per model, costliest first (ties by id).
pub(crate) fn model_costs(summary: &Summary) -> Vec<ModelCost> {
    let total = summary.overview.cost_usd;
    let mut out: Vec<ModelCost> = summary
        .models
        .iter()
        .map(|(model, s)| ModelCost {
            model: model.clone(),
            selections: s.count,
            cost_usd: s.cost_usd,
            share: if total > 0.0 { s.cost_usd / total } else { 0.0 },
            mean_cost_usd: s.mean_cost_usd,
            cost_efficiency: s.cost_efficiency,
            cache_savings_usd: cache_savings(s),
        })
        .collect();
    out.sort_by(|a, b| {
        b.cost_usd
            .total_cmp(&a.cost_usd)
            .then_with(|| a.model.cmp(&b.model))
    });
    out
}

/// Savings against the reference model and from the cache.
pub(crate) fn savings(summary: &Summary, configured: Option<&str>) -> Savings {
    let reference = summary.reference_model(configured);
    let o = &summary.overview;
    let from_cache: Vec<f64> = summary.models.values().filter_map(cache_savings).collect();
    Savings {
        reference_model: reference.map(|r| r.0.to_owned()),
        reference_mean_cost_usd: reference.map(|r| r.1),
        vs_reference_usd: reference.map(|(_, mean)| o.cost_samples as f64 * mean - o.cost_usd),
        from_cache_usd: (!from_cache.is_empty()).then(|| from_cache.iter().sum()),
    }
}
