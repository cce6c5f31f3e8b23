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

mod common;

use modelmeter::{Monitor, RecordError, Selection};

fn monitor(pricing: Pricing) -> (modelmeter::ManualClock, Monitor) {
    let clock = modelmeter::ManualClock::new(common::start());
    let monitor = Monitor::builder()
        .clock(clock.clone())
        .pricing(pricing)
        .background(false)
        .build()
        .unwrap();
    (clock, monitor)
}

#[test]
fn selections_without_a_cost_are_priced_and_the_rest_counted() {
    let (_clock, monitor) = monitor(sample());
    let ms = Duration::from_millis(500);
    // Priced: gpt-4o, 12,000 input (10,000 cached), 800 output = $0.0255 each.
    for _ in 0..10 {
        let s = Selection::new("gpt-4o", ms)
            .tokens(12_000, 800)
            .cached_input_tokens(10_000);
        monitor.record_selection(&s).unwrap();
    }
    // Reported and priced: keeps $0.03, $0.0045 more than the table's price.
    for _ in 0..4 {
        let s = Selection::new("gpt-4o", ms)
            .tokens(12_000, 800)
            .cached_input_tokens(10_000)
            .cost_usd(0.03);
        monitor.record_selection(&s).unwrap();
    }
    // Unpriced: no price for this model, so no cost, and counted.
    for _ in 0..3 {
        let s = Selection::new("house-model", ms).tokens(1_000, 100);
        monitor.record_selection(&s).unwrap();
    }
    // Without tokens nothing is priced or counted.
    monitor
        .record_selection(&Selection::new("gpt-4o", ms))
        .unwrap();

    let summary = monitor.summary(Duration::from_secs(60));
    let gpt = &summary.models["gpt-4o"];
    assert!(
        (gpt.cost_usd - (10.0 * 0.0255 + 4.0 * 0.03)).abs() < 1e-9,
        "{}",
        gpt.cost_usd
    );
    assert_eq!(gpt.cost_samples, 14);
    let house = &summary.models["house-model"];
    assert_eq!(
        (house.count, house.cost_samples, house.cost_usd),
        (3, 0, 0.0)
    );

    let h = monitor.health().pricing.expect("a price table");
    assert_eq!((h.priced, h.compared, h.unpriced), (10, 4, 3));
    assert!((h.reported_minus_priced_usd - 4.0 * 0.0045).abs() < 1e-9);
    assert_eq!(h.models_without_price, ["house-model"]);
}

#[test]
fn parts_larger_than_their_wholes_are_refused_and_counted() {
    let (_clock, monitor) = monitor(sample());
    let ms = Duration::from_millis(500);
    let e = monitor
        .record_selection(
            &Selection::new("gpt-4o", ms)
                .tokens(100, 10)
                .cached_input_tokens(101),
        )
        .unwrap_err();
    assert!(
        matches!(
            e,
            RecordError::InvalidTokens {
                cached_input: 101,
                input: 100,
                ..
            }
        ),
        "{e}"
    );
    let e = monitor
        .record_selection(
            &Selection::new("o1", ms)
                .tokens(100, 10)
                .reasoning_tokens(11),
        )
        .unwrap_err();
    assert!(
        e.to_string().contains("reasoning tokens 11 of 10 output"),
        "{e}"
    );
    let h = monitor.health();
    assert_eq!(h.rejected[&modelmeter::RejectReason::InvalidTokens], 2);
    assert_eq!(h.recorded, 0);
}

#[test]
fn a_monitor_without_a_table_prices_nothing() {
    let clock = modelmeter::ManualClock::new(common::start());
    let monitor = Monitor::builder()
        .clock(clock)
        .background(false)
        .build()
        .unwrap();
    monitor
        .record_selection(&Selection::new("gpt-4o", Duration::from_millis(5)).tokens(10, 10))
        .unwrap();
    assert_eq!(
        monitor
            .summary(Duration::from_secs(60))
            .overview
            .cost_samples,
        0
    );
    assert!(monitor.health().pricing.is_none());
}

#[test]
fn prices_from_the_config_apply_and_a_given_table_overrides_their_models() {
    let json = r#"{ "cost": { "prices": {
        "gpt-4o": [
            { "inputPerMillion": 2.5, "outputPerMillion": 10, "cachedInputPerMillion": 1.25 },
            { "inputPerMillion": 2.0, "outputPerMillion": 8, "effectiveFrom": "2026-11-23T12:00:00Z" }
        ],
        "house-model": [ { "inputPerMillion": 1, "outputPerMillion": 1 } ]
    } } }"#;
    let config = modelmeter::Config::from_json_str(json).unwrap();
    let clock = modelmeter::ManualClock::new(common::start());
    let build = |pricing: Option<Pricing>| {
        let b = Monitor::builder()
            .clock(clock.clone())
            .config(config.clone())
            .background(false);
        match pricing {
            Some(p) => b.pricing(p),
            None => b,
        }
        .build()
        .unwrap()
    };
    let tokens = |m: &'static str| Selection::new(m, Duration::from_millis(9)).tokens(1_000_000, 0);
    let monitor = build(None);
    monitor.record_selection(&tokens("gpt-4o")).unwrap();
    monitor.record_selection(&tokens("house-model")).unwrap();
    let s = monitor.summary(Duration::from_secs(60));
    assert!((s.models["gpt-4o"].cost_usd - 2.5).abs() < 1e-9);
    assert!((s.models["house-model"].cost_usd - 1.0).abs() < 1e-9);
    // The second gpt-4o price takes effect at noon.
    clock.set(common::start() + Duration::from_secs(13 * 3600));
    monitor.record_selection(&tokens("gpt-4o")).unwrap();
    let s = monitor.summary(Duration::from_secs(60));
    assert!((s.models["gpt-4o"].cost_usd - 2.0).abs() < 1e-9);
    clock.set(common::start());
    // A table given to the builder replaces the models it names, and only those.
    let given = Pricing::new()
        .with_price("gpt-4o", Price::new(5.0, 5.0))
        .unwrap();
    let monitor = build(Some(given));
    monitor.record_selection(&tokens("gpt-4o")).unwrap();
    monitor.record_selection(&tokens("house-model")).unwrap();
    let s = monitor.summary(Duration::from_secs(60));
    assert!((s.models["gpt-4o"].cost_usd - 5.0).abs() < 1e-9);
    assert!((s.models["house-model"].cost_usd - 1.0).abs() < 1e-9);
}

#[test]
fn a_bad_configured_price_names_its_model() {
    let json = r#"{ "cost": { "prices": { "gpt-4o": [ { "inputPerMillion": -2, "outputPerMillion": 10 } ] } } }"#;
    let e = modelmeter::Config::from_json_str(json).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("cost.prices.gpt-4o") && text.contains("-2"),
        "{text}"
    );
    let typo = r#"{ "cost": { "prices": { "gpt-4o": [ { "inputPerMilion": 2, "outputPerMillion": 10 } ] } } }"#;
    assert!(
        modelmeter::Config::from_json_str(typo).is_err(),
        "unknown fields are refused"
    );
}

#[test]
fn the_cost_report_names_what_it_could_not_price() {
    let (_clock, monitor) = monitor(sample());
    let ms = Duration::from_millis(50);
    for _ in 0..3 {
        monitor
            .record_selection(&Selection::new("gpt-4o", ms).tokens(1_000, 10))
            .unwrap();
        monitor
            .record_selection(&Selection::new("house-model", ms).tokens(1_000, 10))
            .unwrap();
    }
    let report = monitor.cost_report(Duration::from_secs(3600));
    assert_eq!(report.unpriced.len(), 1);
    assert_eq!(report.unpriced[0].model, "house-model");
    assert_eq!(report.unpriced[0].selections_without_cost, 3);
    assert!(report.to_string().contains("house-model (3 selections)"));
    let tables = report.to_csv().unwrap();
    assert!(
        tables
            .iter()
            .any(|t| t.name == "unpriced" && t.csv.contains("house-model,3"))
    );
    let reports = monitor.reports(Duration::from_secs(3600));
    assert!(reports.to_html().contains("house-model (3 selections)"));
}

#[test]
fn cached_and_reasoning_tokens_reach_summaries_buckets_and_exporters() {
    use modelmeter::{ManualClock, Monitor, Selection};
    let start = std::time::UNIX_EPOCH + Duration::from_secs(1_795_392_000);
    let clock = ManualClock::new(start);
    let batches = std::sync::Arc::new(parking_lot::Mutex::new(Vec::new()));
    #[derive(Clone)]
    struct Keep(std::sync::Arc<parking_lot::Mutex<Vec<modelmeter::MinuteBucket>>>);
    impl modelmeter::Exporter for Keep {
        fn export(&mut self, b: &modelmeter::ExportBatch) -> Result<(), modelmeter::ExportError> {
            self.0.lock().extend(b.buckets.iter().cloned());
            Ok(())
        }
    }
    let monitor = Monitor::builder()
        .clock(clock.clone())
        .background(false)
        .exporter(Keep(batches.clone()))
        .build()
        .unwrap();
    for (cached, reasoning) in [(100, 20), (300, 0), (0, 50)] {
        let s = Selection::new("o1", Duration::from_millis(900))
            .tokens(1000, 200)
            .cached_input_tokens(cached)
            .reasoning_tokens(reasoning);
        monitor.record_selection(&s).unwrap();
    }
    let stats = &monitor.summary(Duration::from_secs(60)).models["o1"];
    assert_eq!((stats.input_tokens, stats.cached_input_tokens), (3000, 400));
    assert_eq!((stats.output_tokens, stats.reasoning_tokens), (600, 70));
    let text = monitor.render_prometheus();
    assert!(
        text.contains("modelmeter_cached_input_tokens_total{gen_ai_request_model=\"o1\"} 400"),
        "{text}"
    );
    assert!(text.contains("modelmeter_reasoning_tokens_total{gen_ai_request_model=\"o1\"} 70"));
    monitor.flush();
    let buckets = batches.lock();
    assert_eq!(
        buckets.iter().map(|b| b.cached_input_tokens).sum::<u64>(),
        400
    );
    assert_eq!(buckets.iter().map(|b| b.reasoning_tokens).sum::<u64>(), 70);
}
