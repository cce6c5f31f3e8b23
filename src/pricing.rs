//! Prices: what a selection costs from its tokens, per model, per million tokens, with
//! the dates prices took effect.
//!
//! A [`Pricing`] holds each model's [`Price`]s: input, output, cached input and
//! reasoning tokens, per million. [`Pricing::from_litellm_json`] reads LiteLLM's model
//! price map (`model_prices_and_context_window.json`), so nobody re-types a price list,
//! and [`Pricing::cost_usd`] prices a selection's [`TokenCounts`] as of a moment.
//!
//! Token counts follow the OpenAI usage object: cached input tokens are part of the
//! input tokens (`prompt_tokens_details.cached_tokens` of `prompt_tokens`), and
//! reasoning tokens are part of the output tokens (`completion_tokens_details.
//! reasoning_tokens` of `completion_tokens`). So the cost is
//!
//! ```text
//! (input − cached) × input price + cached × cached-input price
//!   + (output − reasoning) × output price + reasoning × reasoning price
//! ```
//!
//! with the cached-input price defaulting to the input price and the reasoning price
//! to the output price when a model has none.
//!
//! ```
//! use modelmeter::pricing::{Price, Pricing, TokenCounts};
//! use std::time::SystemTime;
//!
//! let pricing = Pricing::new().with_price("gpt-4o", Price::new(2.5, 10.0).cached_input(1.25))?;
//! let tokens = TokenCounts::new(1_000, 200).cached_input(400);
//! // 600 × $2.50/M + 400 × $1.25/M + 200 × $10/M
//! let cost = pricing.cost_usd("gpt-4o", SystemTime::now(), &tokens).unwrap();
//! assert!((cost - 0.004).abs() < 1e-12);
//! assert_eq!(pricing.cost_usd("unknown", SystemTime::now(), &tokens), None);
//! # Ok::<(), modelmeter::pricing::PricingError>(())
//! ```

use std::collections::HashMap;
use std::time::SystemTime;

/// One model's prices in US dollars per million tokens, from `effective_from` on.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Price {
    /// Per million input tokens.
    pub input_per_million: f64,
    /// Per million output tokens.
    pub output_per_million: f64,
    /// Per million cached input tokens; the input price when absent.
    pub cached_input_per_million: Option<f64>,
    /// Per million reasoning tokens; the output price when absent.
    pub reasoning_per_million: Option<f64>,
    /// When the price took effect; always, when absent.
    pub effective_from: Option<SystemTime>,
}

impl Price {
    /// Input and output prices per million tokens, in effect always.
    pub fn new(input_per_million: f64, output_per_million: f64) -> Self {
        Self {
            input_per_million,
            output_per_million,
            cached_input_per_million: None,
            reasoning_per_million: None,
            effective_from: None,
        }
    }

    /// The price per million cached input tokens.
    pub fn cached_input(mut self, per_million: f64) -> Self {
        self.cached_input_per_million = Some(per_million);
        self
    }

    /// The price per million reasoning tokens.
    pub fn reasoning(mut self, per_million: f64) -> Self {
        self.reasoning_per_million = Some(per_million);
        self
    }

    /// The moment the price took effect.
    pub fn effective_from(mut self, at: SystemTime) -> Self {
        self.effective_from = Some(at);
        self
    }

    /// What `tokens` cost at this price, in US dollars (see the [module docs](self)).
    pub fn cost_usd(&self, tokens: &TokenCounts) -> f64 {
        let cached = tokens.cached_input.min(tokens.input);
        let reasoning = tokens.reasoning.min(tokens.output);
        let per = |n: u64, price: f64| n as f64 * price / 1e6;
        per(tokens.input - cached, self.input_per_million)
            + per(
                cached,
                self.cached_input_per_million
                    .unwrap_or(self.input_per_million),
            )
            + per(tokens.output - reasoning, self.output_per_million)
            + per(
                reasoning,
                self.reasoning_per_million
                    .unwrap_or(self.output_per_million),
            )
    }

    /// The first field that is not a finite, non-negative number, with its value.
    fn invalid(&self) -> Option<(&'static str, f64)> {
        [
            ("input_per_million", Some(self.input_per_million)),
            ("output_per_million", Some(self.output_per_million)),
            ("cached_input_per_million", self.cached_input_per_million),
            ("reasoning_per_million", self.reasoning_per_million),
        ]
        .into_iter()
        .find_map(|(field, v)| {
            v.filter(|v| !(v.is_finite() && *v >= 0.0))
                .map(|v| (field, v))
        })
    }
}

/// A selection's tokens, as its usage object reports them: cached input tokens are
/// part of `input`, reasoning tokens part of `output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct TokenCounts {
    /// Input (prompt) tokens, cached ones included.
    pub input: u64,
    /// Output (completion) tokens, reasoning ones included.
    pub output: u64,
    /// The input tokens served from the provider's prompt cache.
    pub cached_input: u64,
    /// The output tokens spent on reasoning.
    pub reasoning: u64,
}

impl TokenCounts {
    /// Input and output tokens, none cached and none reasoning.
    pub fn new(input: u64, output: u64) -> Self {
        Self {
            input,
            output,
            ..Self::default()
        }
    }

    /// The cached input tokens (counted within `input`; more than `input` counts as
    /// `input`).
    pub fn cached_input(mut self, n: u64) -> Self {
        self.cached_input = n;
        self
    }

    /// The reasoning tokens (counted within `output`; more than `output` counts as
    /// `output`).
    pub fn reasoning(mut self, n: u64) -> Self {
        self.reasoning = n;
        self
    }
}

/// Why a price table could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PricingError {
    /// The text is not JSON, or not a JSON object of models.
    #[error("the price map is not a JSON object of models: {message}")]
    Json {
        /// The parser's reason.
        message: String,
    },
    /// A price is negative, infinite or NaN.
    #[error("model {model:?}: {field} must be a finite number >= 0, got {value}")]
    InvalidPrice {
        /// The model.
        model: String,
        /// The field.
        field: &'static str,
        /// The value given.
        value: f64,
    },
    /// Two prices of a model take effect at the same moment.
    #[error("model {model:?} has two prices taking effect at the same moment")]
    DuplicateEffectiveDate {
        /// The model.
        model: String,
    },
}

/// Each model's prices over time; see the [module docs](self).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pricing {
    /// Per model, its prices by effective date, oldest first (always-in-effect first).
    models: HashMap<String, Vec<Price>, foldhash::fast::RandomState>,
}

impl Pricing {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// The table with `price` for `model`, beside the model's prices from other dates.
    ///
    /// # Errors
    ///
    /// [`PricingError::InvalidPrice`] naming a negative or non-finite field,
    /// [`PricingError::DuplicateEffectiveDate`] when the model already has a price
    /// from that moment.
    pub fn with_price(mut self, model: &str, price: Price) -> Result<Self, PricingError> {
        if let Some((field, value)) = price.invalid() {
            return Err(PricingError::InvalidPrice {
                model: model.to_owned(),
                field,
                value,
            });
        }
        let prices = self.models.entry(model.to_owned()).or_default();
        if prices
            .iter()
            .any(|p| p.effective_from == price.effective_from)
        {
            return Err(PricingError::DuplicateEffectiveDate {
                model: model.to_owned(),
            });
        }
        prices.push(price);
        prices.sort_by_key(|p| p.effective_from);
        Ok(self)
    }

    /// The prices of LiteLLM's model price map (`model_prices_and_context_window.json`):
    /// per model, `input_cost_per_token`, `output_cost_per_token`,
    /// `cache_read_input_token_cost` and `output_cost_per_reasoning_token` (US dollars
    /// per token) become prices per million tokens in effect always. Entries without
    /// both per-token prices (images, audio, the `sample_spec` entry) are skipped.
    ///
    /// # Errors
    ///
    /// [`PricingError::Json`] for text that is not a JSON object,
    /// [`PricingError::InvalidPrice`] for a negative or non-numeric price.
    pub fn from_litellm_json(json: &str) -> Result<Self, PricingError> {
        let map: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(json).map_err(|e| PricingError::Json {
                message: e.to_string(),
            })?;
        let mut pricing = Self::new();
        for (model, entry) in &map {
            if model == "sample_spec" {
                continue;
            }
            let per_million = |key: &'static str| -> Result<Option<f64>, PricingError> {
                match entry.get(key) {
                    None | Some(serde_json::Value::Null) => Ok(None),
                    Some(v) => v.as_f64().map(|p| Some(p * 1e6)).ok_or_else(|| {
                        PricingError::InvalidPrice {
                            model: model.clone(),
                            field: key,
                            value: f64::NAN,
                        }
                    }),
                }
            };
            let (Some(input), Some(output)) = (
                per_million("input_cost_per_token")?,
                per_million("output_cost_per_token")?,
            ) else {
                continue;
            };
            let mut price = Price::new(input, output);
            price.cached_input_per_million = per_million("cache_read_input_token_cost")?;
            price.reasoning_per_million = per_million("output_cost_per_reasoning_token")?;
            pricing = pricing.with_price(model, price)?;
        }
        Ok(pricing)
    }

    /// `self` with every model of `other` taking `other`'s prices.
    pub(crate) fn overridden_by(mut self, other: Pricing) -> Self {
        self.models.extend(other.models);
        self
    }

    /// The price of `model` in effect at `at`: the latest that took effect at or
    /// before it.
    pub fn price_at(&self, model: &str, at: SystemTime) -> Option<&Price> {
        let prices = self.models.get(model)?;
        let effective = prices.partition_point(|p| p.effective_from.is_none_or(|t| t <= at));
        effective.checked_sub(1).map(|i| &prices[i])
    }

    /// What `tokens` of `model` cost at `at`, in US dollars; `None` when the model has
    /// no price in effect then (never guessed).
    pub fn cost_usd(&self, model: &str, at: SystemTime, tokens: &TokenCounts) -> Option<f64> {
        self.price_at(model, at).map(|p| p.cost_usd(tokens))
    }

    /// The models priced, in no particular order.
    pub fn models(&self) -> impl Iterator<Item = &str> {
        self.models.keys().map(String::as_str)
    }

    /// Models priced.
    pub fn len(&self) -> usize {
        self.models.len()
    }

    /// Whether no model is priced.
    pub fn is_empty(&self) -> bool {
        self.models.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn cached_and_reasoning_tokens_are_parts_of_input_and_output() {
        let p = Price::new(3.0, 15.0).cached_input(0.3).reasoning(20.0);
        let t = TokenCounts::new(10_000, 2_000)
            .cached_input(8_000)
            .reasoning(500);
        // 2,000 × 3 + 8,000 × 0.3 + 1,500 × 15 + 500 × 20, per million.
        let want = (2_000.0 * 3.0 + 8_000.0 * 0.3 + 1_500.0 * 15.0 + 500.0 * 20.0) / 1e6;
        assert!((p.cost_usd(&t) - want).abs() < 1e-15);
        // Without the optional prices, cached input costs as input, reasoning as output.
        let plain = Price::new(3.0, 15.0);
        assert!((plain.cost_usd(&t) - (10_000.0 * 3.0 + 2_000.0 * 15.0) / 1e6).abs() < 1e-15);
        // Counts past their whole are capped at it.
        let over = TokenCounts::new(10, 10).cached_input(50).reasoning(50);
        assert!((p.cost_usd(&over) - (10.0 * 0.3 + 10.0 * 20.0) / 1e6).abs() < 1e-15);
    }

    #[test]
    fn the_price_in_effect_is_the_latest_before_the_moment() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let day = Duration::from_secs(86_400);
        let pricing = Pricing::new()
            .with_price("m", Price::new(2.0, 8.0).effective_from(t0 + day))
            .unwrap()
            .with_price("m", Price::new(1.0, 4.0).effective_from(t0))
            .unwrap();
        assert_eq!(pricing.price_at("m", t0 - day), None, "not priced before");
        assert_eq!(pricing.price_at("m", t0).unwrap().input_per_million, 1.0);
        assert_eq!(
            pricing.price_at("m", t0 + day).unwrap().input_per_million,
            2.0
        );
        assert_eq!(
            pricing
                .price_at("m", t0 + day * 9)
                .unwrap()
                .input_per_million,
            2.0
        );
        let always = pricing
            .clone()
            .with_price("m", Price::new(0.5, 0.5))
            .unwrap();
        assert_eq!(
            always.price_at("m", t0 - day).unwrap().input_per_million,
            0.5
        );
    }

    #[test]
    fn bad_prices_are_refused_by_name() {
        let e = Pricing::new()
            .with_price("m", Price::new(-1.0, 1.0))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "model \"m\": input_per_million must be a finite number >= 0, got -1"
        );
        let e = Pricing::new()
            .with_price("m", Price::new(1.0, 1.0).cached_input(f64::NAN))
            .unwrap_err();
        assert!(matches!(
            e,
            PricingError::InvalidPrice {
                field: "cached_input_per_million",
                ..
            }
        ));
        let twice = Pricing::new()
            .with_price("m", Price::new(1.0, 1.0))
            .unwrap();
        assert!(matches!(
            twice.with_price("m", Price::new(2.0, 2.0)),
            Err(PricingError::DuplicateEffectiveDate { .. })
        ));
        assert!(matches!(
            Pricing::from_litellm_json("[1]"),
            Err(PricingError::Json { .. })
        ));
        let e = Pricing::from_litellm_json(
            r#"{"m": {"input_cost_per_token": "cheap", "output_cost_per_token": 1e-6}}"#,
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                PricingError::InvalidPrice {
                    field: "input_cost_per_token",
                    ..
                }
            ),
            "{e}"
        );
    }
}
