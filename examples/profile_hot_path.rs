// Profiling aid for the hot path (see BENCHMARKS.md): records a fixed stream in a loop.
// `MODE=manual` uses a ManualClock, `MODE=handle` records through ModelHandles;
// `STREAMED=1` records streamed selections (time to first token, error kinds, retries);
// `DIMS=1` adds a provider and two attributes (`team`, `feature`) to every selection;
// `HANDLES=1` sets them through `DimensionValue` handles instead of text.
// `MODE=pair` measures what streaming adds: batches of the 1,024 selections, plain and
// streamed, recorded alternately (which goes first alternates too), best batch of each
// over N rounds (the argument, default 2,000); with `DIMS=1` it measures what the
// dimensions add, against the same selections without them. On a shared machine the minimum of many
// short interleaved runs filters out the interference that makes two separate criterion
// runs disagree by more than the difference sought.
use modelmeter::{ErrorKind, ManualClock, Monitor, Selection};
use std::time::Duration;
fn main() {
    let mode = std::env::var("MODE").unwrap_or_default();
    let n: u64 = std::env::args()
        .nth(1)
        .map_or(if mode == "pair" { 2_000 } else { 30_000_000 }, |a| {
            a.parse().unwrap()
        });
    let b = Monitor::builder();
    let b = if mode == "manual" {
        b.clock(ManualClock::new(std::time::SystemTime::now()))
    } else {
        b
    };
    let dims = std::env::var_os("DIMS").is_some();
    let handles_on = std::env::var_os("HANDLES").is_some();
    let b = if dims {
        b.dimension("team", 100).dimension("feature", 100)
    } else {
        b
    };
    let monitor = b.build().unwrap();
    let models = [
        "gpt-4o",
        "gpt-4o-mini",
        "claude-3-5-sonnet",
        "claude-3-haiku",
        "gemini-1.5-pro",
        "gemini-1.5-flash",
        "llama-3.1-70b",
        "mistral-large",
    ];
    let handles: Vec<_> = models.iter().map(|m| monitor.model(m)).collect();
    let bare: Vec<Selection<'static>> = (0..1024u64)
        .map(|i| {
            Selection::new(
                models[(i % 8) as usize],
                Duration::from_micros(1000 + (i * 7919) % 900_000),
            )
            .cost_usd(0.001)
            .cache_hit(i % 3 == 0)
            .error(i % 50 == 0)
            .accuracy(1.0)
            .tokens(100, 20)
        })
        .collect();
    let plain: Vec<Selection<'static>> = bare
        .iter()
        .map(|&s| {
            if !dims {
                return s;
            }
            const TEAMS: [&str; 8] = [
                "search", "ads", "support", "growth", "infra", "billing", "mobile", "data",
            ];
            const FEATURES: [&str; 4] = ["summarize", "classify", "draft", "answer"];
            let i = s.latency().as_micros() as usize;
            let provider = ["openai", "anthropic", "google.gemini"][s.model().len() % 3];
            if handles_on {
                // Leaked: this aid's selections are `'static`.
                let handle = |k, v| &*Box::leak(Box::new(monitor.dimension_value(k, v).unwrap()));
                return s
                    .value(handle("provider", provider))
                    .value(handle("team", TEAMS[i % 8]))
                    .value(handle("feature", FEATURES[i / 8 % 4]));
            }
            s.provider(provider)
                .attr("team", TEAMS[i % 8])
                .attr("feature", FEATURES[i / 8 % 4])
        })
        .collect();
    // As `benches/common`'s `Ev::streamed`: first token after a quarter of the
    // latency, an error kind on the failures, a retry on one in eight.
    let streamed: Vec<Selection<'static>> = plain
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let s = s
                .time_to_first_token(s.latency() / 4)
                .retries(u32::from(i % 8 == 0));
            match s.failure() {
                Some(_) => s.error_kind(ErrorKind::RateLimited),
                None => s,
            }
        })
        .collect();
    if mode == "pair" && dims {
        return pair(
            &monitor,
            &bare,
            &plain,
            "dimensions",
            n.min(1_000_000) as usize,
        );
    }
    if mode == "pair" {
        return pair(
            &monitor,
            &plain,
            &streamed,
            "streamed",
            n.min(1_000_000) as usize,
        );
    }
    let sels = if std::env::var_os("STREAMED").is_some() {
        &streamed
    } else {
        &plain
    };
    let t = std::time::Instant::now();
    for i in 0..n as usize {
        let s = &sels[i & 1023];
        match mode.as_str() {
            "handle" => handles[i & 7]
                .record_selection(std::hint::black_box(s))
                .unwrap(),
            "bare" => {
                std::hint::black_box(s);
            }
            _ => monitor.record_selection(std::hint::black_box(s)).unwrap(),
        }
    }
    eprintln!(
        "{mode}: {:.1} ns/event",
        t.elapsed().as_nanos() as f64 / n as f64
    );
}

/// Best batch of each kind over `rounds` interleaved rounds, after a warm-up.
fn pair(
    monitor: &Monitor,
    plain: &[Selection<'static>],
    streamed: &[Selection<'static>],
    name: &str,
    rounds: usize,
) {
    let batch = |sels: &[Selection<'static>]| {
        let t = std::time::Instant::now();
        for s in sels {
            monitor.record_selection(std::hint::black_box(s)).unwrap();
        }
        t.elapsed()
    };
    for _ in 0..200 {
        batch(plain);
        batch(streamed);
    }
    let (mut best_plain, mut best_streamed) = (Duration::MAX, Duration::MAX);
    for round in 0..rounds {
        let (p, s) = if round % 2 == 0 {
            let p = batch(plain);
            (p, batch(streamed))
        } else {
            let s = batch(streamed);
            (batch(plain), s)
        };
        best_plain = best_plain.min(p);
        best_streamed = best_streamed.min(s);
    }
    let per = |d: Duration| d.as_nanos() as f64 / plain.len() as f64;
    println!(
        "best of {rounds} interleaved batches of {}: plain {:.1} ns, {name} {:.1} ns per selection: +{:.1} ns ({:.2}x)",
        plain.len(),
        per(best_plain),
        per(best_streamed),
        per(best_streamed) - per(best_plain),
        per(best_streamed) / per(best_plain)
    );
}
