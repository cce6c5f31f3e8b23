//! The price table through the public API: LiteLLM's price map format, checked against
//! costs worked out by hand.

use std::time::{Duration, SystemTime};

use modelmeter::{Price, Pricing, TokenCounts};

fn sample() -> Pricing {
    let json = include_str!("data/litellm_prices_sample.json");
    Pricing::from_litellm_json(json).unwrap()
}

#[test]
fn the_litellm_sample_loads_its_token_priced_models() {
    let p = sample();
    let mut models: Vec<&str> = p.models().collect();
    models.sort_unstable();
    // `sample_spec` and the per-image model are not token-priced.
    assert_eq!(
        models,
        [
            "claude-3-5-sonnet-20241022",
            "gemini/gemini-2.5-flash",
            "gpt-4o",
            "gpt-4o-mini",
            "o1",
            "text-embedding-3-small"
        ]
    );
    let gpt = p.price_at("gpt-4o", SystemTime::now()).unwrap();
    assert!((gpt.input_per_million - 2.5).abs() < 1e-9);
    assert!((gpt.output_per_million - 10.0).abs() < 1e-9);
    assert!((gpt.cached_input_per_million.unwrap() - 1.25).abs() < 1e-9);
    assert_eq!(gpt.reasoning_per_million, None);
}

#[test]
fn costs_match_hand_computation_cached_tokens_included() {
    let p = sample();
    let now = SystemTime::now();
    let close = |a: f64, b: f64| (a - b).abs() < 1e-12 * b.max(1.0);
    // gpt-4o: 12,000 input of which 10,000 cached, 800 output.
    // 2,000 × $2.50/M + 10,000 × $1.25/M + 800 × $10/M = $0.005 + $0.0125 + $0.008.
    let t = TokenCounts::new(12_000, 800).cached_input(10_000);
    assert!(close(p.cost_usd("gpt-4o", now, &t).unwrap(), 0.0255));
    // claude: 100,000 input, 90,000 read from cache, 1,000 output.
    // 10,000 × $3/M + 90,000 × $0.30/M + 1,000 × $15/M = $0.03 + $0.027 + $0.015.
    let t = TokenCounts::new(100_000, 1_000).cached_input(90_000);
    assert!(close(
        p.cost_usd("claude-3-5-sonnet-20241022", now, &t).unwrap(),
        0.072
    ));
    // o1: 1,000 input, 5,000 output of which 4,000 reasoning, at the output price.
    // 1,000 × $15/M + 5,000 × $60/M = $0.015 + $0.30.
    let t = TokenCounts::new(1_000, 5_000).reasoning(4_000);
    assert!(close(p.cost_usd("o1", now, &t).unwrap(), 0.315));
    // An embedding: input only.
    let t = TokenCounts::new(50_000, 0);
    assert!(close(
        p.cost_usd("text-embedding-3-small", now, &t).unwrap(),
        0.001
    ));
    // No price, no guess.
    assert_eq!(p.cost_usd("dall-e-3", now, &t), None);
    assert_eq!(p.cost_usd("gpt-5", now, &t), None);
}

#[test]
fn a_new_price_takes_over_from_its_date() {
    let cut = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_392_000);
    let p = sample()
        .with_price("gpt-4o", Price::new(2.0, 8.0).effective_from(cut))
        .unwrap();
    let t = TokenCounts::new(1_000_000, 0);
    let before = p
        .cost_usd("gpt-4o", cut - Duration::from_secs(1), &t)
        .unwrap();
    let after = p.cost_usd("gpt-4o", cut, &t).unwrap();
    assert!((before - 2.5).abs() < 1e-9 && (after - 2.0).abs() < 1e-9);
}
