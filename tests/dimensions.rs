//! Dimensions through the public API: breakdowns equal the sums of what was recorded,
//! caps fold and count, bad input is refused by name and counted.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{Batches, start};
use modelmeter::{Config, ManualClock, Monitor, RecordError, RejectReason, Selection};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const PROVIDERS: [&str; 3] = ["openai", "anthropic", "azure.ai.openai"];
const OPERATIONS: [&str; 2] = ["chat", "embeddings"];
const TEAMS: [&str; 5] = ["search", "ads", "support", "growth", "infra"];
const FEATURES: [&str; 4] = ["summarize", "classify", "draft", "answer"];
const MODELS: [&str; 3] = ["gpt-4o", "claude-sonnet-4", "gpt-4o-mini"];

/// What one dimension value must add up to.
#[derive(Debug, Default, Clone, PartialEq)]
struct Expected {
    count: u64,
    errors: u64,
    cache_hits: u64,
    cost_nano: u64,
    input_tokens: u64,
    output_tokens: u64,
    fallbacks: u64,
    latencies_us: Vec<u64>,
}

fn monitor(clock: &ManualClock, batches: &Batches) -> Monitor {
    Monitor::builder()
        .clock(clock.clone())
        .background(false)
        .exporter(batches.clone())
        .dimension("team", 100)
        .dimension("feature", 100)
        .build()
        .unwrap()
}

/// Records `minutes` of random traffic, one selection every few seconds, ticking each
/// minute but leaving the last one open; returns the expected sums per (dimension, value).
fn drive(
    clock: &ManualClock,
    monitor: &Monitor,
    minutes: u64,
) -> BTreeMap<(&'static str, String), Expected> {
    let mut rng = StdRng::seed_from_u64(14);
    let mut expected: BTreeMap<(&'static str, String), Expected> = BTreeMap::new();
    for minute in 0..minutes {
        let minute_start = modelmeter::Clock::now(clock);
        for i in 0..12u64 {
            clock.set(minute_start + Duration::from_secs(i * 5));
            let model = MODELS[rng.random_range(0..3)];
            let latency_us = rng.random_range(50_000..4_000_000u64);
            let cost_nano = rng.random_range(0..50_000_000u64);
            let (input, output) = (rng.random_range(0..4000u64), rng.random_range(0..900u64));
            let error = rng.random_bool(0.05);
            let cache_hit = rng.random_bool(0.3);
            let mut s = Selection::new(model, Duration::from_micros(latency_us))
                .cost_usd(cost_nano as f64 / 1e9)
                .tokens(input, output)
                .error(error)
                .cache_hit(cache_hit);
            let mut dims: Vec<(&'static str, &'static str)> = Vec::new();
            if rng.random_bool(0.9) {
                let p = PROVIDERS[rng.random_range(0..3)];
                s = s.provider(p);
                dims.push(("provider", p));
            }
            if rng.random_bool(0.5) {
                let o = OPERATIONS[rng.random_range(0..2)];
                s = s.operation(o);
                dims.push(("operation", o));
            }
            let mut fallback = false;
            if rng.random_bool(0.4) {
                let r = MODELS[rng.random_range(0..3)];
                s = s.requested_model(r);
                dims.push(("requested_model", r));
                fallback = r != model;
            }
            if rng.random_bool(0.8) {
                let t = TEAMS[rng.random_range(0..5)];
                s = s.attr("team", t);
                dims.push(("team", t));
            }
            if rng.random_bool(0.6) {
                let f = FEATURES[rng.random_range(0..4)];
                s = s.attr("feature", f);
                dims.push(("feature", f));
            }
            monitor.record_selection(&s).unwrap();
            for (dim, value) in dims {
                let e = expected.entry((dim, value.to_owned())).or_default();
                e.count += 1;
                e.errors += u64::from(error);
                e.cache_hits += u64::from(cache_hit);
                e.cost_nano += cost_nano;
                e.input_tokens += input;
                e.output_tokens += output;
                e.fallbacks += u64::from(fallback);
                e.latencies_us.push(latency_us);
            }
        }
        clock.set(minute_start + Duration::from_secs(60));
        if minute + 1 < minutes {
            monitor.tick();
        }
    }
    expected
}

fn check(
    monitor: &Monitor,
    expected: &BTreeMap<(&'static str, String), Expected>,
    window: Duration,
) {
    for dim in [
        "provider",
        "operation",
        "requested_model",
        "team",
        "feature",
    ] {
        let got = monitor.summary_by(dim, window);
        let want: BTreeMap<&str, &Expected> = expected
            .iter()
            .filter(|((d, _), _)| *d == dim)
            .map(|((_, v), e)| (v.as_str(), e))
            .collect();
        assert_eq!(
            got.keys().map(String::as_str).collect::<Vec<_>>(),
            want.keys().copied().collect::<Vec<_>>(),
            "{dim}"
        );
        for (value, e) in want {
            let s = &got[value];
            let at = format!("{dim}={value}");
            assert_eq!(s.count, e.count, "{at}");
            assert_eq!(s.errors, e.errors, "{at}");
            assert_eq!(s.cache_hits, e.cache_hits, "{at}");
            assert_eq!((s.cost_usd * 1e9).round() as u64, e.cost_nano, "{at}");
            assert_eq!(s.input_tokens, e.input_tokens, "{at}");
            assert_eq!(s.output_tokens, e.output_tokens, "{at}");
            assert_eq!(s.fallbacks, e.fallbacks, "{at}");
            let min = *e.latencies_us.iter().min().unwrap();
            let max = *e.latencies_us.iter().max().unwrap();
            let mean = e.latencies_us.iter().sum::<u64>() / e.count;
            assert_eq!(s.latency.min, Duration::from_micros(min), "{at}");
            assert_eq!(s.latency.max, Duration::from_micros(max), "{at}");
            assert_eq!(s.latency.mean, Duration::from_micros(mean), "{at}");
            if dim == "provider" {
                assert!(!s.latency_percentiles_absent);
                let mut sorted = e.latencies_us.clone();
                sorted.sort_unstable();
                for (q, got) in [
                    (0.5, s.latency.p50),
                    (0.95, s.latency.p95),
                    (0.99, s.latency.p99),
                ] {
                    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
                    let exact = sorted[rank - 1] as f64;
                    let got = got.as_micros() as f64;
                    assert!(
                        (got - exact).abs() <= exact * 0.01 + 1.0,
                        "{at} p{q}: {got} vs {exact}"
                    );
                }
            } else {
                assert!(s.latency_percentiles_absent, "{at}");
                assert_eq!(s.latency.p50, Duration::ZERO, "{at}");
            }
        }
    }
}

#[test]
fn breakdowns_equal_the_sums_recorded_open_sealed_and_rolled_up() {
    let clock = ManualClock::new(start());
    let batches = Batches::default();
    let monitor = monitor(&clock, &batches);
    // Three and a half hours: whole hours come from the hour tier, the edges from
    // minutes, the last minute is still open.
    let expected = drive(&clock, &monitor, 210);
    let all = Duration::from_secs(6 * 3600);
    check(&monitor, &expected, all);
    monitor.flush();
    check(&monitor, &expected, all);
    // A window served from whole hours plus minutes, well inside the minute tier's
    // retention but past an hour boundary, agrees with itself after sealing.
    let hours = monitor.summary_by("team", Duration::from_secs(3 * 3600));
    assert!(hours.values().map(|s| s.count).sum::<u64>() > 0);
    // The exporters got every dimension bucket once: summing them gives the totals.
    let mut exported: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
    for b in batches.flat(|b| &b.dimension_buckets) {
        let e = exported
            .entry((b.dimension.clone(), b.value.clone()))
            .or_default();
        e.0 += b.count;
        e.1 += (b.cost_usd * 1e9).round() as u64;
        assert_eq!(b.latency.is_some(), b.dimension == "provider");
        if let Some(h) = &b.latency {
            assert_eq!(h.count(), b.count);
        }
    }
    let want: BTreeMap<(String, String), (u64, u64)> = expected
        .iter()
        .map(|((d, v), e)| ((d.to_string(), v.clone()), (e.count, e.cost_nano)))
        .collect();
    assert_eq!(exported, want);
    // "model" is the model breakdown itself.
    assert_eq!(
        monitor.summary_by("model", all),
        monitor.summary(all).models
    );
    assert!(monitor.summary_by("tenant", all).is_empty());
}

#[test]
fn caps_fold_the_101st_value_into_other_and_count_it() {
    let clock = ManualClock::new(start());
    let monitor = Monitor::builder()
        .clock(clock.clone())
        .background(false)
        .dimension("user", 100)
        .build()
        .unwrap();
    let names: Vec<String> = (0..103).map(|i| format!("user-{i}")).collect();
    for name in &names {
        let s = Selection::new("gpt-4o", Duration::from_millis(100)).attr("user", name);
        monitor.record_selection(&s).unwrap();
    }
    // A kept value stays kept; a folded one keeps being folded and counted.
    for name in [&names[0], &names[101]] {
        let s = Selection::new("gpt-4o", Duration::from_millis(100)).attr("user", name);
        monitor.record_selection(&s).unwrap();
    }
    let by_user = monitor.summary_by("user", Duration::from_secs(60));
    assert_eq!(by_user.len(), 101);
    assert_eq!(by_user["user-0"].count, 2);
    assert_eq!(by_user["__other__"].count, 4);
    assert!(!by_user.contains_key("user-100"));
    let h = monitor.health();
    let user = &h.dimensions["user"];
    assert_eq!((user.values, user.max_values), (100, 100));
    assert_eq!(user.overflowed_selections, 4);
    assert_eq!(user.overflowed_values, 3);
    assert_eq!(h.dimensions["provider"].max_values, 64);
    assert_eq!(h.dimensions["provider"].values, 0);
}

#[test]
fn bad_dimension_input_is_refused_by_name_and_counted() {
    let clock = ManualClock::new(start());
    let monitor = Monitor::builder()
        .clock(clock.clone())
        .background(false)
        .dimension("team", 10)
        .build()
        .unwrap();
    let ms = Duration::from_millis(100);
    let base = || Selection::new("gpt-4o", ms);
    let long = "x".repeat(129);
    let cases: Vec<(Selection<'_>, RecordError, RejectReason)> = vec![
        (
            base().attr("tenant", "acme"),
            RecordError::UndeclaredDimension {
                key: "tenant".into(),
            },
            RejectReason::UndeclaredDimension,
        ),
        (
            base().attr("team", ""),
            RecordError::EmptyDimensionValue { key: "team".into() },
            RejectReason::EmptyDimensionValue,
        ),
        (
            base().provider(&long),
            RecordError::DimensionValueTooLong {
                key: "provider".into(),
                len: 129,
                max: 128,
            },
            RejectReason::DimensionValueTooLong,
        ),
        (
            base().attr("team", "__other__"),
            RecordError::ReservedDimensionValue { key: "team".into() },
            RejectReason::ReservedDimensionValue,
        ),
        (
            base().operation("chat\u{0}"),
            RecordError::ControlCharInDimensionValue {
                key: "operation".into(),
                value: "chat\u{0}".into(),
                at: 4,
            },
            RejectReason::ControlCharInDimensionValue,
        ),
        (
            base()
                .attr("a", "1")
                .attr("b", "1")
                .attr("c", "1")
                .attr("d", "1")
                .attr("e", "1"),
            RecordError::TooManyAttributes { max: 4 },
            RejectReason::TooManyAttributes,
        ),
    ];
    for (s, err, _) in &cases {
        monitor
            .record_selection(&base().attr("team", "ok"))
            .unwrap();
        assert_eq!(monitor.record_selection(s).as_ref(), Err(err));
        // The message names the key.
        if let RecordError::UndeclaredDimension { .. } = err {
            assert!(err.to_string().contains("\"tenant\""));
        }
    }
    // Refused twice, still refused: the per-thread cache never learns a bad value.
    assert!(monitor.record_selection(&base().attr("team", "")).is_err());
    // A bad model id refuses the selection before any of its values is kept.
    let bad_model = Selection::new("a\nb", ms).attr("team", "never-kept");
    assert!(matches!(
        monitor.record_selection(&bad_model),
        Err(RecordError::ControlCharInModelId { .. })
    ));
    let h = monitor.health();
    assert_eq!(h.dimensions["team"].values, 1, "only \"ok\" was kept");
    for (_, _, reason) in &cases {
        let want = if *reason == RejectReason::EmptyDimensionValue {
            2
        } else {
            1
        };
        assert_eq!(h.rejected[reason], want, "{reason}");
    }
    assert_eq!(h.recorded, cases.len() as u64);
    let teams = monitor.summary_by("team", Duration::from_secs(60));
    assert_eq!(teams.len(), 1);
    assert_eq!(teams["ok"].count, cases.len() as u64);
}

#[test]
fn a_selection_served_by_another_model_than_requested_is_a_fallback() {
    let (_clock, monitor) = common::manual();
    let ms = Duration::from_millis(300);
    for served in ["gpt-4o", "gpt-4o", "gpt-4o-mini"] {
        let s = Selection::new(served, ms).requested_model("gpt-4o");
        monitor.record_selection(&s).unwrap();
    }
    let w = Duration::from_secs(60);
    let requested = monitor.summary_by("requested_model", w);
    assert_eq!(requested["gpt-4o"].count, 3);
    assert_eq!(requested["gpt-4o"].fallbacks, 1);
    let models = monitor.summary(w).models;
    assert_eq!(models["gpt-4o-mini"].fallbacks, 1);
    assert_eq!(models["gpt-4o"].fallbacks, 0);
}

#[test]
fn dimensions_come_from_the_configuration_too() {
    let config = Config::from_json_str(
        r#"{"recording": {"dimensions": [{"key": "feature", "maxValues": 2}, {"key": "provider", "maxValues": 1}]}}"#,
    )
    .unwrap();
    let (_clock, monitor) = common::build(config);
    let ms = Duration::from_millis(300);
    for p in ["openai", "anthropic"] {
        let s = Selection::new("m", ms).provider(p).attr("feature", "draft");
        monitor.record_selection(&s).unwrap();
    }
    let by = monitor.summary_by("provider", Duration::from_secs(60));
    assert_eq!(by["openai"].count, 1);
    assert_eq!(by["__other__"].count, 1);
    let bad = Config::from_json_str(
        r#"{"recording": {"dimensions": [{"key": "Team", "maxValues": 2}]}}"#,
    )
    .map_err(|e| e.to_string())
    .and_then(|c| {
        Monitor::builder()
            .config(c)
            .background(false)
            .build()
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    assert!(bad.unwrap_err().contains("recording.dimensions[0].key"));
}

#[test]
fn json_lines_and_csv_carry_the_dimension_buckets() {
    use modelmeter::export::JsonLine;
    use modelmeter::{DimensionCsvExporter, JsonLinesExporter};
    let (json, csv) = (common::Shared::default(), common::Shared::default());
    let clock = ManualClock::new(start());
    let monitor = Monitor::builder()
        .clock(clock.clone())
        .background(false)
        .dimension("team", 100)
        .dimension("feature", 100)
        .exporter(JsonLinesExporter::new(json.clone()))
        .exporter(DimensionCsvExporter::new(csv.clone()))
        .build()
        .unwrap();
    let expected = drive(&clock, &monitor, 5);
    monitor.flush();
    let want: BTreeMap<(String, String), u64> = expected
        .iter()
        .map(|((d, v), e)| ((d.to_string(), v.clone()), e.count))
        .collect();
    let mut from_json: BTreeMap<(String, String), u64> = BTreeMap::new();
    for line in json.text().lines() {
        if let JsonLine::Dimension { bucket, .. } = serde_json::from_str(line).unwrap() {
            *from_json
                .entry((bucket.dimension.clone(), bucket.value.clone()))
                .or_default() += bucket.count;
        }
    }
    assert_eq!(from_json, want);
    let text = csv.text();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (dim, value, count, p50) = (
        col("dimension"),
        col("value"),
        col("count"),
        col("latency_p50_ms"),
    );
    let mut from_csv: BTreeMap<(String, String), u64> = BTreeMap::new();
    for row in reader.records() {
        let row = row.unwrap();
        *from_csv
            .entry((row[dim].to_owned(), row[value].to_owned()))
            .or_default() += row[count].parse::<u64>().unwrap();
        // Percentiles for providers only.
        assert_eq!(row[p50].is_empty(), &row[dim] != "provider", "{row:?}");
    }
    assert_eq!(from_csv, want);
}

#[test]
fn threads_racing_on_new_values_lose_no_count_and_keep_the_cap() {
    let clock = ManualClock::new(start());
    let monitor = Monitor::builder()
        .clock(clock.clone())
        .background(false)
        .dimension("user", 10)
        .build()
        .unwrap();
    const THREADS: u64 = 4;
    const EACH: u64 = 20_000;
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let monitor = monitor.clone();
            scope.spawn(move || {
                for i in 0..EACH {
                    // 40 users, each first seen by a different thread at about the
                    // same time; a seal runs now and then in the middle.
                    let user = format!("user-{}", (i + t * 7) % 40);
                    let s = Selection::new("m", Duration::from_millis(1 + i % 50))
                        .provider(["a", "b", "c"][(i % 3) as usize])
                        .attr("user", &user);
                    monitor.record_selection(&s).unwrap();
                    if t == 0 && i % 5000 == 0 {
                        monitor.tick();
                    }
                }
            });
        }
    });
    monitor.flush();
    let w = Duration::from_secs(600);
    let users = monitor.summary_by("user", w);
    assert_eq!(users.values().map(|s| s.count).sum::<u64>(), THREADS * EACH);
    assert_eq!(users.len(), 11, "10 kept and __other__");
    let h = monitor.health();
    assert_eq!(h.dimensions["user"].values, 10);
    assert_eq!(
        h.dimensions["user"].overflowed_selections,
        users["__other__"].count
    );
    let providers = monitor.summary_by("provider", w);
    assert_eq!(
        providers.values().map(|s| s.count).sum::<u64>(),
        THREADS * EACH
    );
}

#[test]
fn the_cost_report_breaks_spend_down_by_dimension_with_fallback_rates() {
    let clock = ManualClock::new(start());
    let batches = Batches::default();
    let monitor = monitor(&clock, &batches);
    let expected = drive(&clock, &monitor, 30);
    let reports = monitor.reports(Duration::from_secs(3600));
    let by = &reports.cost.by_dimension;
    let dims: Vec<&str> = by.iter().map(|d| d.dimension.as_str()).collect();
    assert_eq!(
        dims,
        [
            "provider",
            "operation",
            "requested_model",
            "team",
            "feature"
        ]
    );
    for d in by {
        let total: f64 = d.values.iter().map(|v| v.share).sum();
        assert!(
            (total - 1.0).abs() < 1e-9,
            "{}: shares sum to {total}",
            d.dimension
        );
        assert!(d.values.windows(2).all(|w| w[0].cost_usd >= w[1].cost_usd));
        for v in &d.values {
            let e = &expected[&(
                [
                    "provider",
                    "operation",
                    "requested_model",
                    "team",
                    "feature",
                ]
                .into_iter()
                .find(|k| *k == d.dimension)
                .unwrap(),
                v.value.clone(),
            )];
            assert_eq!(v.selections, e.count);
            assert_eq!((v.cost_usd * 1e9).round() as u64, e.cost_nano);
            assert_eq!(v.fallbacks, e.fallbacks);
            assert!((v.fallback_rate - e.fallbacks as f64 / e.count as f64).abs() < 1e-12);
            assert_eq!(v.input_tokens, e.input_tokens);
        }
    }
    let requested = by
        .iter()
        .find(|d| d.dimension == "requested_model")
        .unwrap();
    assert!(requested.values.iter().any(|v| v.fallback_rate > 0.0));
    // Every rendering carries it.
    let text = reports.cost.to_string();
    assert!(text.contains("spend by team:"), "{text}");
    let tables = reports.cost.to_csv().unwrap();
    let table = tables.iter().find(|t| t.name == "by_dimension").unwrap();
    let rows = table.csv.lines().count() - 1;
    assert_eq!(rows, by.iter().map(|d| d.values.len()).sum::<usize>());
    assert!(
        table
            .csv
            .starts_with("dimension,value,selections,cost_usd,share,"),
        "{}",
        table.csv
    );
    #[cfg(feature = "html")]
    assert!(reports.to_html().contains("Spend by feature"));
}

#[test]
fn a_rule_per_provider_fires_for_the_failing_provider_only_and_resolves() {
    use modelmeter::{AlertEventKind, Metric, Scope, Severity, ThresholdRule};
    let clock = ManualClock::new(start());
    let batches = Batches::default();
    let rule = ThresholdRule::new("provider_errors", Metric::ErrorRate, 0.05, 0.10)
        .per_dimension("provider");
    let monitor = Monitor::builder()
        .clock(clock.clone())
        .background(false)
        .rule(rule)
        .exporter(batches.clone())
        .build()
        .unwrap();
    // Both providers serve all three models; "flaky" fails one in five, "steady" one in
    // a hundred, so every model's error rate sits near 10%, on the line, while the
    // providers differ clearly.
    let run = |minutes: u64, flaky_fails: u64| {
        for _ in 0..minutes {
            let minute_start = modelmeter::Clock::now(&clock);
            for i in 0..100u64 {
                clock.set(minute_start + Duration::from_millis(i * 590));
                let (provider, error) = if i % 2 == 0 {
                    ("flaky", flaky_fails > 0 && (i / 2) % flaky_fails == 0)
                } else {
                    ("steady", (i / 2) % 100 == 7)
                };
                let s = Selection::new(MODELS[(i % 3) as usize], Duration::from_millis(200))
                    .provider(provider)
                    .error(error);
                monitor.record_selection(&s).unwrap();
            }
            clock.set(minute_start + Duration::from_secs(60));
            monitor.tick();
        }
    };
    run(15, 5);
    let events = |batches: &Batches| -> Vec<_> {
        batches
            .flat(|b| &b.alerts)
            .into_iter()
            .filter(|e| e.rule_id == "provider_errors")
            .collect()
    };
    let fired = events(&batches);
    assert!(!fired.is_empty(), "nothing fired");
    assert!(
        fired
            .iter()
            .all(|e| e.scope == Scope::dimension("provider", "flaky")),
        "{fired:?}"
    );
    assert!(
        fired
            .iter()
            .any(|e| e.kind == AlertEventKind::Firing && e.severity == Severity::Critical)
    );
    assert!(
        monitor
            .active_alerts()
            .iter()
            .any(|a| a.scope == Scope::dimension("provider", "flaky"))
    );
    // The provider recovers: the alert resolves, and "steady" never fired.
    run(60, 0);
    let all = events(&batches);
    assert!(
        all.iter().any(|e| e.kind == AlertEventKind::Resolved),
        "{all:?}"
    );
    assert!(
        all.iter()
            .all(|e| e.scope == Scope::dimension("provider", "flaky"))
    );
    assert!(
        !monitor
            .active_alerts()
            .iter()
            .any(|a| a.rule_id == "provider_errors")
    );
}

#[test]
fn a_rule_per_dimension_judges_rates_only() {
    use modelmeter::{Metric, ThresholdRule};
    let rule = ThresholdRule::new("team_latency", Metric::LatencyP95, 3000.0, 5000.0)
        .per_dimension("team");
    let err = Monitor::builder()
        .rule(rule)
        .background(false)
        .build()
        .unwrap_err();
    assert!(
        err.to_string().contains("rules.team_latency.per_dimension"),
        "{err}"
    );
}

#[test]
fn handles_record_what_text_records() {
    let clock = ManualClock::new(start());
    let build = || {
        Monitor::builder()
            .clock(clock.clone())
            .background(false)
            .dimension("team", 100)
            .dimension("feature", 2)
            .build()
            .unwrap()
    };
    let (by_text, by_handle) = (build(), build());
    let handle = |k, v| by_handle.dimension_value(k, v).unwrap();
    let providers: Vec<_> = PROVIDERS.iter().map(|p| handle("provider", p)).collect();
    let operations: Vec<_> = OPERATIONS.iter().map(|o| handle("operation", o)).collect();
    let teams: Vec<_> = TEAMS.iter().map(|t| handle("team", t)).collect();
    let features: Vec<_> = FEATURES.iter().map(|f| handle("feature", f)).collect();
    let requested: Vec<_> = MODELS
        .iter()
        .map(|m| handle("requested_model", m))
        .collect();
    // Past the cap of 2, the handle is `__other__`'s and says so.
    assert!(!features[1].is_folded() && features[2].is_folded());
    assert_eq!(
        (features[2].key(), features[2].value()),
        ("feature", "draft")
    );
    // The text monitor keeps the features in the order the handles took them.
    for (f, handle) in FEATURES.iter().zip(&features) {
        let s = Selection::new(MODELS[0], Duration::from_millis(5));
        by_text.record_selection(&s.attr("feature", f)).unwrap();
        by_handle.record_selection(&s.value(handle)).unwrap();
    }
    let mut rng = StdRng::seed_from_u64(14);
    for i in 0..2_000u64 {
        let (p, o, t, f, m, r) = (
            rng.random_range(0..3),
            rng.random_range(0..2),
            rng.random_range(0..5),
            rng.random_range(0..4),
            rng.random_range(0..3),
            rng.random_range(0..3),
        );
        let base = Selection::new(MODELS[m], Duration::from_millis(50 + i % 900))
            .error(i % 7 == 0)
            .cost_usd(0.001 * (1 + i % 5) as f64);
        let text = base
            .provider(PROVIDERS[p])
            .operation(OPERATIONS[o])
            .attr("team", TEAMS[t])
            .attr("feature", FEATURES[f])
            .requested_model(MODELS[r]);
        // Mixed as a host may: some values as handles, one as text.
        let handled = base
            .value(&providers[p])
            .value(&operations[o])
            .attr("team", TEAMS[t])
            .value(&features[f])
            .value(&requested[r]);
        let handled = if i % 2 == 0 {
            handled.value(&teams[t])
        } else {
            handled
        };
        by_text.record_selection(&text).unwrap();
        by_handle.record_selection(&handled).unwrap();
    }
    let w = Duration::from_secs(60);
    for dim in [
        "provider",
        "operation",
        "team",
        "feature",
        "requested_model",
        "model",
    ] {
        assert_eq!(
            by_text.summary_by(dim, w),
            by_handle.summary_by(dim, w),
            "{dim}"
        );
        by_text.tick();
        by_handle.tick();
    }
    clock.advance(Duration::from_secs(120));
    by_text.tick();
    by_handle.tick();
    for dim in ["provider", "team", "feature", "requested_model"] {
        assert_eq!(
            by_text.summary_by(dim, w * 5),
            by_handle.summary_by(dim, w * 5)
        );
    }
    let folded = |m: &Monitor| m.health().dimensions["feature"].overflowed_selections;
    assert!(folded(&by_text) > 0);
    assert_eq!(folded(&by_text), folded(&by_handle));
    assert!(by_handle.summary_by("requested_model", w * 5)["gpt-4o"].fallbacks > 0);
}

#[test]
fn handles_refuse_bad_values_at_once_and_other_monitors_at_recording() {
    let (_clock, monitor) = common::manual();
    let err = |k, v| monitor.dimension_value(k, v).unwrap_err();
    assert_eq!(
        err("team", "search"),
        RecordError::UndeclaredDimension { key: "team".into() }
    );
    assert_eq!(
        err("provider", ""),
        RecordError::EmptyDimensionValue {
            key: "provider".into()
        }
    );
    assert_eq!(
        err("operation", "__other__"),
        RecordError::ReservedDimensionValue {
            key: "operation".into()
        }
    );
    let (_clock, other) = common::manual();
    let theirs = other.dimension_value("provider", "openai").unwrap();
    let ours = monitor.dimension_value("operation", "chat").unwrap();
    let s = Selection::new("gpt-4o", Duration::from_millis(10)).value(&theirs);
    assert_eq!(
        monitor.record_selection(&s),
        Err(RecordError::ForeignDimensionValue {
            key: "provider".into()
        })
    );
    // Mixed with one of ours, still refused: its provider id means nothing here.
    let s = s.value(&ours);
    assert!(matches!(
        monitor.record_selection(&s),
        Err(RecordError::ForeignDimensionValue { .. })
    ));
    let h = monitor.health();
    assert_eq!(h.rejected[&RejectReason::ForeignDimensionValue], 2);
    assert_eq!(h.recorded, 0);
    let s = Selection::new("gpt-4o", Duration::from_millis(10)).value(&ours);
    monitor.record_selection(&s).unwrap();
    // A handle wins over text for the same dimension, set before or after it.
    let s = s.operation("embeddings");
    monitor.record_selection(&s).unwrap();
    let s = Selection::new("gpt-4o", Duration::from_millis(10))
        .operation("embeddings")
        .value(&ours);
    monitor.record_selection(&s).unwrap();
    let ops = monitor.summary_by("operation", Duration::from_secs(60));
    assert_eq!(ops["chat"].count, 3);
    assert!(!ops.contains_key("embeddings"));
    // A requested-model handle wins over text too, for the fallback as well: served by
    // the model it names, the selection did not fall back.
    let asked = monitor
        .dimension_value("requested_model", "gpt-4o")
        .unwrap();
    let s = Selection::new("gpt-4o", Duration::from_millis(10))
        .value(&asked)
        .requested_model("gpt-4o-mini");
    monitor.record_selection(&s).unwrap();
    let requested = monitor.summary_by("requested_model", Duration::from_secs(60));
    assert_eq!(requested["gpt-4o"].count, 1);
    assert_eq!(requested["gpt-4o"].fallbacks, 0);
    assert!(!requested.contains_key("gpt-4o-mini"));
}
