//! The bodies of the fuzz targets, shared by `cargo fuzz` (`fuzz_targets/`) and by the
//! corpus replay (`tests/fuzz_corpus.rs`), which runs every saved input on stable in CI.
//!
//! Each body asserts an invariant, not only the absence of a panic: what is accepted
//! is counted exactly once, a refused merge changes nothing, and every output line a
//! hostile model id reaches parses back to that id.
#![allow(dead_code)]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use modelmeter::{
    Clock, Config, CsvExporter, ErrorKind, Feedback, JsonLinesExporter, LogExporter, ManualClock,
    Monitor, Selection, Snapshot,
};

/// 2026-11-23 00:00:00 UTC.
fn start() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_795_392_000)
}

fn quiet() -> Config {
    let mut c = Config::default();
    c.monitoring.alerting.enabled = false;
    c
}

fn monitor(clock: &ManualClock, config: Config) -> Monitor {
    Monitor::builder()
        .config(config)
        .clock(clock.clone())
        .background(false)
        .build()
        .expect("the default configuration builds")
}

/// Reads the fuzzer's bytes as values; past the end everything reads as zero.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn u8(&mut self) -> u8 {
        let (first, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        *first
    }

    fn u64(&mut self) -> u64 {
        let n = self.0.len().min(8);
        let mut bytes = [0u8; 8];
        bytes[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        u64::from_le_bytes(bytes)
    }

    /// A float, often one of the values validation must think about.
    fn f64(&mut self) -> f64 {
        match self.u8() % 6 {
            0 => f64::from_bits(self.u64()),
            1 => f64::from(self.u8()) / 255.0,
            2 => f64::from(self.u8()) - 8.0,
            3 => [
                f64::NAN,
                f64::INFINITY,
                f64::NEG_INFINITY,
                -0.0,
                f64::MIN_POSITIVE,
            ][usize::from(self.u8()) % 5],
            4 => f64::from(self.u8()) * 1e4,
            _ => 1.0 + f64::EPSILON,
        }
    }

    fn string(&mut self, len: usize) -> String {
        let n = self.0.len().min(len);
        let s = String::from_utf8_lossy(&self.0[..n]).into_owned();
        self.0 = &self.0[n..];
        s
    }
}

/// `Config::from_json_str`: never panics; what it accepts builds a monitor that ticks,
/// and writes back to a configuration that reads the same.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(config) = Config::from_json_str(text) else {
        return;
    };
    let again = serde_json::to_string(&config).expect("a configuration serializes");
    let back = Config::from_json_str(&again).expect("what was accepted is accepted again");
    assert_eq!(back, config);
    let clock = ManualClock::new(start());
    if let Ok(m) = Monitor::builder()
        .config(config)
        .clock(clock.clone())
        .background(false)
        .build()
    {
        let _ = m.record_selection(&Selection::new("m", Duration::from_millis(5)));
        clock.advance(Duration::from_secs(120));
        m.tick();
    }
}

/// The `Selection` builder and `record_selection`: every selection is either accepted
/// and counted once, or refused with an error and counted as refused.
pub fn record(data: &[u8]) {
    let clock = ManualClock::new(start());
    let m = monitor(&clock, quiet());
    let mut input = Input(data);
    let (mut accepted, mut refused, mut feedback) = (0u64, 0u64, 0u64);
    while !input.is_empty() {
        match input.u8() % 8 {
            0 => clock.advance(Duration::from_secs(u64::from(input.u8()))),
            1 => m.tick(),
            2 => {
                // Late feedback: hostile ids, times, values and score names.
                let len = usize::from(input.u8() % 16);
                let id = input.string(len);
                let back = Duration::from_secs(u64::from(input.u8()) * 3600);
                let flags = input.u8();
                let mut f = Feedback::new(&id, clock.now() - back);
                if flags & 1 != 0 {
                    f = f.accuracy(input.f64());
                }
                if flags & 2 != 0 {
                    f = f.satisfaction(input.f64());
                }
                let name_len = usize::from(input.u8() % 8);
                let name = input.string(name_len);
                if flags & 4 != 0 {
                    f = f.score(&name, input.f64());
                }
                match m.record_feedback(&f) {
                    Ok(()) => feedback += 1,
                    Err(_) => refused += 1,
                }
            }
            _ => {
                let len = usize::from(input.u8()) + usize::from(input.u8() % 2) * 200;
                let id = input.string(len);
                let shift = input.u8() % 64;
                let latency = Duration::from_nanos(input.u64() >> shift);
                let flags = input.u8();
                let mut s = Selection::new(&id, latency)
                    .cache_hit(flags & 1 != 0)
                    .error(flags & 2 != 0);
                if flags & 4 != 0 {
                    s = s.cost_usd(input.f64());
                }
                if flags & 8 != 0 {
                    s = s.complexity(input.f64());
                }
                if flags & 16 != 0 {
                    s = s.accuracy(input.f64());
                }
                if flags & 32 != 0 {
                    s = s.satisfaction(input.f64());
                }
                if flags & 64 != 0 {
                    s = s.tokens(input.u64() >> 16, input.u64() >> 16);
                }
                if flags & 128 != 0 {
                    let back = Duration::from_secs(u64::from(input.u8()) * 180);
                    let ahead = Duration::from_secs(u64::from(input.u8()));
                    s = s.at(clock.now() - back + ahead);
                }
                let more = input.u8();
                if more & 1 != 0 {
                    s = s.time_to_first_token(Duration::from_nanos(input.u64() >> shift));
                }
                if more & 2 != 0 {
                    s = s.error_kind(ErrorKind::ALL[usize::from(more >> 5) % 7]);
                }
                s = s.retries(u32::from(more & 4)).fallback(more & 8 != 0);
                match m.record_selection(&s) {
                    Ok(()) => accepted += 1,
                    Err(_) => refused += 1,
                }
            }
        }
    }
    // Selections may be dated up to a minute ahead: let the clock pass them, so the
    // summary (which ends now) covers every one.
    clock.advance(Duration::from_secs(120));
    m.flush();
    let health = m.health();
    assert_eq!(health.recorded, accepted);
    assert_eq!(health.rejected_total, refused);
    assert_eq!(health.rejected.values().sum::<u64>(), refused);
    // At most 4096 inputs of 255 s each: 12 days, inside the day tier's 30.
    let summary = m.summary(Duration::from_secs(40 * 86_400));
    assert_eq!(summary.overview.count, accepted);
    assert_eq!(
        summary.models.values().map(|s| s.count).sum::<u64>(),
        accepted
    );
    // Feedback counts no selection, and every accepted one is counted once.
    assert_eq!(summary.overview.feedback_samples, feedback);
    let o = &summary.overview;
    assert_eq!(o.errors_by_kind.values().sum::<u64>(), o.errors);
}

/// `Snapshot` decoding and `merge`: whatever decodes either merges into a monitor's own
/// snapshot, leaving a valid snapshot whose count grew by exactly the other's, or is
/// refused and changes nothing.
pub fn snapshot(data: &[u8]) {
    let Ok(theirs) = serde_json::from_slice::<Snapshot>(data) else {
        return;
    };
    let valid = theirs.validate().is_ok();
    let _ = theirs.summary();
    let clock = ManualClock::new(start());
    let m = monitor(&clock, quiet());
    for (i, model) in ["a", "b"].iter().enumerate() {
        for n in 0..3u64 {
            let latency = Duration::from_millis(10 * (i as u64 + 1) + n);
            m.record_selection(&Selection::new(model, latency).cost_usd(0.01))
                .unwrap();
        }
    }
    clock.advance(Duration::from_secs(120));
    m.tick();
    let mut ours = m.snapshot(Duration::from_secs(3600));
    let before = serde_json::to_string(&ours).unwrap();
    let count = ours.summary().overview.count;
    match ours.merge(&theirs) {
        Ok(()) => {
            assert!(valid, "merge accepted a snapshot that validate refuses");
            ours.validate()
                .expect("a merge of valid snapshots is valid");
            assert_eq!(
                ours.summary().overview.count,
                count + theirs.summary().overview.count
            );
        }
        Err(_) => assert_eq!(serde_json::to_string(&ours).unwrap(), before),
    }
}

/// A writer shared between an exporter and the check that reads what it wrote.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Shared {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).expect("outputs are UTF-8")
    }
}

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The Prometheus text, CSV, JSON lines and log outputs of hostile model ids: an id the
/// monitor accepts comes back unchanged from every line that names it, and no id adds
/// or splits a line.
pub fn outputs(data: &[u8]) {
    let ids: Vec<String> = data
        .split(|&b| b == 0xff)
        .take(8)
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .collect();
    let clock = ManualClock::new(start());
    let (csv_out, json_out, log_out) = (Shared::default(), Shared::default(), Shared::default());
    let m = Monitor::builder()
        .config(quiet())
        .clock(clock.clone())
        .background(false)
        .synchronous_export(true)
        .exporter(CsvExporter::new(csv_out.clone()))
        .exporter(JsonLinesExporter::new(json_out.clone()))
        .exporter(LogExporter::new(log_out.clone()))
        .build()
        .unwrap();
    let mut accepted = std::collections::BTreeSet::new();
    for id in &ids {
        if m.record_selection(&Selection::new(id, Duration::from_millis(7)))
            .is_ok()
        {
            accepted.insert(id.clone());
        }
    }
    clock.advance(Duration::from_secs(120));
    m.flush();

    // CSV: one record per sealed bucket, the id in its own field.
    let text = csv_out.text();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let mut seen = std::collections::BTreeSet::new();
    for record in reader.records() {
        let record = record.expect("every CSV record parses");
        seen.insert(record[1].to_owned());
    }
    assert_eq!(seen, accepted, "CSV ids");

    // JSON lines: every line is one JSON value; bucket lines carry the id.
    let mut seen = std::collections::BTreeSet::new();
    for line in json_out.text().lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("every line is JSON");
        if let Some(model) = v.get("model").and_then(|m| m.as_str()) {
            seen.insert(model.to_owned());
        }
    }
    assert_eq!(seen, accepted, "JSON lines ids");

    // The log: one line per bucket, so exactly as many lines as accepted ids.
    let log = log_out.text();
    let bucket_lines = log.lines().filter(|l| l.contains("count=")).count();
    assert!(bucket_lines <= accepted.len(), "log lines: {log:?}");

    // Prometheus text: every sample line parses, and its model labels are the ids.
    let mut seen = std::collections::BTreeSet::new();
    for line in m.render_prometheus().lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let labels = parse_sample(line).unwrap_or_else(|| panic!("bad sample line {line:?}"));
        for (k, v) in labels {
            if k == "gen_ai_request_model" {
                seen.insert(v);
            }
        }
    }
    assert_eq!(seen, accepted, "Prometheus ids");
}

/// Parses `name{k="v",...} value` as the text format defines it; the labels, unescaped.
fn parse_sample(line: &str) -> Option<Vec<(String, String)>> {
    let name_end = line.find(['{', ' '])?;
    let name = &line[..name_end];
    let name_ok = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    if name.is_empty() || !name.chars().all(name_ok) {
        return None;
    }
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(mut body) = rest.strip_prefix('{') {
        loop {
            body = body.strip_prefix(',').unwrap_or(body);
            if let Some(after) = body.strip_prefix('}') {
                rest = after;
                break;
            }
            let eq = body.find("=\"")?;
            let key = body[..eq].to_owned();
            if key.is_empty() || !key.chars().all(name_ok) {
                return None;
            }
            let mut value = String::new();
            let mut chars = body[eq + 2..].char_indices();
            let end = loop {
                let (j, c) = chars.next()?;
                match c {
                    '\\' => match chars.next()?.1 {
                        'n' => value.push('\n'),
                        '\\' => value.push('\\'),
                        '"' => value.push('"'),
                        _ => return None,
                    },
                    '"' => break eq + 2 + j + 1,
                    '\n' => return None,
                    c => value.push(c),
                }
            };
            labels.push((key, value));
            body = &body[end..];
        }
    }
    let value = rest.strip_prefix(' ')?.split(' ').next()?;
    match value {
        "+Inf" | "-Inf" | "NaN" => {}
        v => {
            v.parse::<f64>().ok()?;
        }
    }
    Some(labels)
}
