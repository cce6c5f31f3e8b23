//! The Prometheus exposition: hostile model ids, counts, and `promtool check metrics`.

mod common;

use std::process::Command;
use std::time::Duration;

use modelmeter::{Monitor, PrometheusFileExporter, Selection};

fn hostile_ids() -> Vec<String> {
    vec![
        "gpt-4o".into(),
        "quote\"model".into(),
        "back\\slash\\".into(),
        "new\nline".into(),
        "ünïcødé-模型-🚀".into(),
        "\\\"\n".repeat(85) + "x", // 256 bytes, the longest id accepted
        "{brace}=,le=\"1\"".into(),
        "__other__".into(),
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
                let s = Selection::new(&id, Duration::from_millis(5 + i * i * 13 + minute / 2))
                    .cost_usd(0.002)
                    .error(i % 3 == 0)
                    .cache_hit(i % 2 == 0)
                    .tokens(100, 50);
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
    assert_eq!(text.lines().count(), file.lines().count());
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
    assert!(text.contains(r#"gen_ai_request_model="new\nline""#));
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
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/promtool.sh");
    let found = Command::new("sh").arg(script).output();
    let promtool = match found {
        Ok(o) if o.status.success() => String::from_utf8(o.stdout).unwrap().trim().to_owned(),
        Ok(o) => {
            eprintln!(
                "SKIPPED: promtool unavailable: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            );
            return;
        }
        Err(e) => {
            eprintln!("SKIPPED: cannot run {script}: {e}");
            return;
        }
    };
    let text = monitor.render_prometheus();
    let mut child = Command::new(&promtool)
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
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_file(path);
}
