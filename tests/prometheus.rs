//! The Prometheus exposition: hostile model ids, counts, and `promtool check metrics`.

mod common;

use std::process::Command;
use std::time::Duration;

use modelmeter::{ErrorKind, ExpositionFormat, Monitor, PrometheusFileExporter, Selection};

fn hostile_ids() -> Vec<String> {
    vec![
        "gpt-4o".into(),
        "quote\"model".into(),
        "back\\slash\\".into(),
        "ünïcødé-模型-🚀".into(),
        "\\\"".repeat(128), // 256 bytes, the longest id accepted
        "{brace}=,le=\"1\"".into(),
    ]
}

/// A monitor fed hostile ids, writing its exposition to a file named after `test`
/// (tests run in parallel in one process).
fn filled(test: &str) -> (Monitor, std::path::PathBuf) {
    let (clock, _) = common::manual();
    let path = std::env::temp_dir().join(format!("modelmeter-{}-{test}.prom", std::process::id()));
    let monitor = Monitor::builder()
        .clock(clock.clone())
        .exporter(PrometheusFileExporter::new(&path))
        .background(false)
        .dimension("team", 100)
        .build()
        .unwrap();
    // A 10 KB id is refused at the door (and counted), so it cannot reach the output.
    let huge = "long-".repeat(2048);
    assert!(
        monitor
            .record_selection(&Selection::new(&huge, Duration::from_millis(1)))
            .is_err()
    );
    for minute in 0..6u64 {
        for id in hostile_ids() {
            for i in 0..30u64 {
                let latency = Duration::from_millis(5 + i * i * 13 + minute / 2);
                let mut s = Selection::new(&id, latency)
                    .cost_usd(0.002)
                    .error(i % 3 == 0)
                    .cache_hit(i % 2 == 0)
                    .tokens(100, 50);
                if i % 3 == 0 {
                    s = s.error_kind(ErrorKind::ALL[(i % 7) as usize]);
                }
                if i % 4 == 0 {
                    s = s.time_to_first_token(latency / 4).retries(1);
                }
                // Dimension values as hostile as the ids, as labels of their own families.
                let ids = hostile_ids();
                let team = &ids[(i % 6) as usize][..ids[(i % 6) as usize].len().min(128)];
                s = s
                    .provider(["openai", "anthropic"][(i % 2) as usize])
                    .attr("team", team);
                monitor.record_selection(&s).unwrap();
            }
        }
        clock.advance(Duration::from_secs(60));
        monitor.tick();
    }
    monitor.flush();
    (monitor, path)
}

#[test]
fn counts_and_buckets_are_exact_for_every_id() {
    let (monitor, path) = filled("counts");
    let text = monitor.render_prometheus();
    let file = std::fs::read_to_string(&path).unwrap();
    let differing: Vec<_> = text
        .lines()
        .zip(file.lines())
        .filter(|(a, b)| a != b)
        .take(2)
        .collect();
    assert!(
        differing.is_empty(),
        "file exporter disagrees: {differing:?}"
    );
    // The monitor's exposition is the file's, then its own health families.
    assert!(text.starts_with(&file), "the file is not a prefix");
    assert!(text[file.len()..].starts_with("# HELP modelmeter_recorded_total "));
    let selections: Vec<_> = text
        .lines()
        .filter(|l| l.starts_with("modelmeter_selections_total{"))
        .collect();
    assert_eq!(selections.len(), hostile_ids().len());
    assert!(
        selections.iter().all(|l| l.ends_with(" 180")),
        "{selections:?}"
    );
    assert!(text.contains(r#"gen_ai_request_model="quote\"model""#));
    assert!(text.contains(r#"gen_ai_request_model="back\\slash\\""#));
    // Latencies 5 ms .. 11.3 s: the 0.01 s bucket holds those at or below 10 ms
    // (i = 0 at every minute), +Inf holds all.
    let line = |prefix: &str| {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix}"))
            .rsplit(' ')
            .next()
            .unwrap()
            .to_owned()
    };
    let b = r#"gen_ai_client_operation_duration_seconds_bucket{gen_ai_request_model="gpt-4o","#;
    assert_eq!(line(&format!("{b}le=\"0.01\"}}")), "6");
    assert_eq!(line(&format!("{b}le=\"+Inf\"}}")), "180");
    assert_eq!(
        line(r#"modelmeter_errors_total{gen_ai_request_model="gpt-4o"}"#),
        "60"
    );
    assert!(text.contains("# HELP modelmeter_alerts_active "));
    // The dimension families: each provider had half of the 6 × 6 × 30 selections.
    assert_eq!(
        line(r#"modelmeter_provider_selections_total{provider="openai"}"#),
        "540"
    );
    assert_eq!(
        line(r#"modelmeter_provider_duration_seconds_bucket{provider="openai",le="+Inf"}"#),
        "540"
    );
    assert_eq!(
        line(r#"modelmeter_team_selections_total{team="gpt-4o"}"#),
        "180"
    );
    assert_eq!(
        line(r#"modelmeter_team_tokens_total{team="gpt-4o",type="input"}"#),
        "18000"
    );
    assert!(text.contains(r#"modelmeter_team_selections_total{team="quote\"model"}"#));
    // Every sample line is `name{labels} value` or `name value`, on one line.
    for l in text.lines().filter(|l| !l.starts_with('#')) {
        let value = l.rsplit(' ').next().unwrap();
        assert!(
            value.parse::<f64>().is_ok() || value == "NaN" || value == "+Inf",
            "{l}"
        );
    }
    let _ = std::fs::remove_file(path);
}

#[test]
fn promtool_accepts_the_exposition() {
    let (monitor, path) = filled("promtool");
    let Some(promtool) = common::real_tool("promtool.sh", &[]) else {
        return;
    };
    for format in [ExpositionFormat::Text, ExpositionFormat::OpenMetrics] {
        check_with_promtool(&promtool, &monitor.render_metrics(format), format);
    }
    let _ = std::fs::remove_file(path);
}

fn check_with_promtool(promtool: &str, text: &str, format: ExpositionFormat) {
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if format == ExpositionFormat::Text {
        assert!(
            out.status.success(),
            "promtool check metrics failed on {format:?}:\n{report}"
        );
        return;
    }
    // promtool parses the 0.0.4 text format. OpenMetrics names a counter family without
    // `_total` (`# TYPE modelmeter_selections counter`, then `modelmeter_selections_total`
    // samples), which that parser reads as a second family without help: a lint finding
    // (exit 3), not a parse error (exit 1). Everything else must pass; the strict
    // OpenMetrics parser is a real Prometheus server's, in tests/prometheus_fleet.rs.
    assert_eq!(out.status.code(), Some(3), "{report}");
    for finding in report.lines().filter(|l| !l.trim().is_empty()) {
        let family = finding
            .strip_suffix("_total no help text")
            .unwrap_or_else(|| panic!("unexpected promtool finding: {finding}"));
        assert!(
            text.contains(&format!("# TYPE {family} counter\n")),
            "{finding}"
        );
    }
}

/// Sample lines by series (`name{labels}`), values parsed.
fn samples(text: &str) -> std::collections::BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap();
            let v = match value {
                "+Inf" => f64::INFINITY,
                "NaN" => f64::NAN,
                v => v.parse().unwrap(),
            };
            (series.to_owned(), v)
        })
        .collect()
}

fn cumulative(series: &str) -> bool {
    let name = series.split('{').next().unwrap();
    ["_total", "_bucket", "_sum", "_count"]
        .iter()
        .any(|s| name.ends_with(s))
}

#[test]
fn scrapes_include_the_open_minute_and_never_step_back() {
    use rand::{Rng, SeedableRng};
    let (clock, monitor) = common::manual();
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let mut previous = samples(&monitor.render_prometheus());
    let mut recorded = std::collections::BTreeMap::<&str, u64>::new();
    for step in 0..600u64 {
        for _ in 0..rng.random_range(0..40) {
            let model = ["a", "b", "quote\"c"][rng.random_range(0..3)];
            let mut s = Selection::new(
                model,
                Duration::from_micros(rng.random_range(1..20_000_000)),
            )
            .cost_usd(rng.random_range(0.0..0.01))
            .error(rng.random_bool(0.1))
            .cache_hit(rng.random_bool(0.3));
            if rng.random_bool(0.7) {
                s = s.tokens(rng.random_range(0..100_000), rng.random_range(0..5_000));
            }
            if rng.random_bool(0.5) {
                s = s.time_to_first_token(s.latency() / rng.random_range(1..10));
            }
            if rng.random_bool(0.1) {
                s = s.error_kind(ErrorKind::ALL[rng.random_range(0..7)]);
            }
            monitor.record_selection(&s).unwrap();
            *recorded.entry(model).or_default() += 1;
        }
        clock.advance(Duration::from_millis(rng.random_range(100..3_000)));
        if step % 3 == 0 {
            monitor.tick();
        }
        let format = if step % 2 == 0 {
            ExpositionFormat::Text
        } else {
            ExpositionFormat::OpenMetrics
        };
        let now = samples(&monitor.render_metrics(format));
        for (series, v) in &now {
            if cumulative(series) {
                let before = previous.get(series).copied().unwrap_or(0.0);
                assert!(
                    *v >= before,
                    "step {step}: {series} went from {before} to {v}"
                );
            }
        }
        for (model, n) in &recorded {
            let label = model.replace('"', "\\\"");
            let key = format!("modelmeter_selections_total{{gen_ai_request_model=\"{label}\"}}");
            assert_eq!(
                now[&key], *n as f64,
                "step {step}: every selection counted, open or sealed"
            );
        }
        previous = now;
    }
}

#[test]
fn a_one_minute_rate_of_steady_traffic_is_within_five_percent() {
    // 1 s scrapes of 20 selections per second; Prometheus' rate() over [1m] is the
    // increase between the first and last sample in the window, extrapolated.
    let (clock, monitor) = common::manual();
    let mut scrapes = Vec::new();
    for second in 0..300u64 {
        for _ in 0..20 {
            monitor
                .record_selection(&Selection::new("a", Duration::from_millis(100)))
                .unwrap();
        }
        clock.advance(Duration::from_secs(1));
        if second % 5 == 4 {
            monitor.tick(); // the production worker's 5 s cadence
        }
        let s = samples(&monitor.render_prometheus());
        scrapes.push(s[r#"modelmeter_selections_total{gen_ai_request_model="a"}"#]);
    }
    for end in 60..scrapes.len() {
        let rate = (scrapes[end] - scrapes[end - 60]) / 60.0;
        assert!((rate - 20.0).abs() <= 1.0, "second {end}: rate {rate}");
    }
}

#[test]
fn token_usage_has_the_genai_buckets_for_selections_that_reported_tokens() {
    let (_clock, monitor) = common::manual();
    for (input, output) in [(0, 1), (3, 4), (5, 16), (70_000_000, 17)] {
        monitor
            .record_selection(&Selection::new("a", Duration::from_millis(10)).tokens(input, output))
            .unwrap();
    }
    monitor
        .record_selection(&Selection::new("a", Duration::from_millis(10)))
        .unwrap();
    let s = samples(&monitor.render_prometheus());
    let get = |kind: &str, le: &str| {
        s[&format!(
            "gen_ai_client_token_usage_bucket{{gen_ai_request_model=\"a\",gen_ai_token_type=\"{kind}\",le=\"{le}\"}}"
        )]
    };
    assert_eq!(get("input", "1"), 1.0);
    assert_eq!(get("input", "4"), 2.0);
    assert_eq!(get("input", "16"), 3.0);
    assert_eq!(get("input", "67108864"), 3.0);
    assert_eq!(
        get("input", "+Inf"),
        4.0,
        "only selections that reported tokens"
    );
    assert_eq!(get("output", "1"), 1.0);
    assert_eq!(get("output", "16"), 3.0);
    assert_eq!(get("output", "64"), 4.0);
    let sum =
        r#"gen_ai_client_token_usage_sum{gen_ai_request_model="a",gen_ai_token_type="input"}"#;
    assert_eq!(s[sum], 70_000_008.0);
    assert_eq!(
        s[r#"modelmeter_selections_total{gen_ai_request_model="a"}"#],
        5.0
    );
}

#[test]
fn streaming_timings_and_error_types_have_their_genai_series() {
    let (clock, monitor) = common::manual();
    // (latency ms, ttft ms, output tokens)
    for (lat, ttft, out) in [(1_000, 3, 101), (2_000, 401, 18), (500, 19, 1)] {
        let s = Selection::new("a", Duration::from_millis(lat))
            .time_to_first_token(Duration::from_millis(ttft))
            .tokens(10, out);
        monitor.record_selection(&s).unwrap();
    }
    for kind in [
        ErrorKind::RateLimited,
        ErrorKind::RateLimited,
        ErrorKind::Timeout,
    ] {
        monitor
            .record_selection(&Selection::new("a", Duration::from_millis(5)).error_kind(kind))
            .unwrap();
    }
    monitor
        .record_selection(&Selection::new("a", Duration::from_millis(5)).error(true))
        .unwrap();
    let check = |s: &std::collections::BTreeMap<String, f64>| {
        let ttft = |le: &str| {
            s[&format!(
                "gen_ai_server_time_to_first_token_seconds_bucket{{gen_ai_request_model=\"a\",le=\"{le}\"}}"
            )]
        };
        assert_eq!(
            (ttft("0.001"), ttft("0.005"), ttft("0.02")),
            (0.0, 1.0, 2.0)
        );
        assert_eq!((ttft("0.25"), ttft("0.5"), ttft("+Inf")), (2.0, 3.0, 3.0));
        let tpot = |le: &str| {
            s[&format!(
                "gen_ai_server_time_per_output_token_seconds_bucket{{gen_ai_request_model=\"a\",le=\"{le}\"}}"
            )]
        };
        // 997/100 = 9.97 ms and 1599/17 = 94 ms; one token has none.
        assert_eq!((tpot("0.01"), tpot("0.1"), tpot("+Inf")), (1.0, 2.0, 2.0));
        let by_type = |t: &str| {
            s.get(&format!(
                "modelmeter_errors_by_type_total{{gen_ai_request_model=\"a\",error_type=\"{t}\"}}"
            ))
            .copied()
        };
        assert_eq!(by_type("rate_limited"), Some(2.0));
        assert_eq!(by_type("timeout"), Some(1.0));
        assert_eq!(by_type("other"), Some(1.0));
        assert_eq!(by_type("content_filter"), None, "only kinds that occurred");
        assert_eq!(
            s[r#"modelmeter_errors_total{gen_ai_request_model="a"}"#],
            4.0
        );
    };
    // The same numbers while the minute is open and after it is sealed.
    check(&samples(&monitor.render_prometheus()));
    clock.advance(Duration::from_secs(120));
    monitor.tick();
    check(&samples(&monitor.render_prometheus()));
}

#[test]
fn self_metrics_report_health() {
    let (_clock, monitor) = common::manual();
    monitor
        .record_selection(&Selection::new("a", Duration::from_millis(10)))
        .unwrap();
    assert!(
        monitor
            .record_selection(&Selection::new("a", Duration::from_millis(10)).cost_usd(-1.0))
            .is_err()
    );
    monitor.tick();
    let s = samples(&monitor.render_prometheus());
    assert_eq!(s["modelmeter_recorded_total"], 1.0);
    assert_eq!(
        s[r#"modelmeter_rejected_total{reason="invalid_cost"}"#],
        1.0
    );
    assert_eq!(s["modelmeter_models"], 1.0);
    assert_eq!(s["modelmeter_tick_duration_seconds_count"], 1.0);
    assert!(s["modelmeter_bytes_retained"] > 0.0);
}
