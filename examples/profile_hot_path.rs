// Profiling aid for the hot path (see BENCHMARKS.md): records a fixed stream in a loop.
// `MODE=manual` uses a ManualClock, `MODE=handle` records through ModelHandles;
// `STREAMED=1` records streamed selections (time to first token, error kinds, retries).
use modelmeter::{ErrorKind, ManualClock, Monitor, Selection};
use std::time::Duration;
fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .map_or(30_000_000, |a| a.parse().unwrap());
    let mode = std::env::var("MODE").unwrap_or_default();
    let b = Monitor::builder();
    let b = if mode == "manual" {
        b.clock(ManualClock::new(std::time::SystemTime::now()))
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
    let sels: Vec<Selection<'static>> = (0..1024u64)
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
        .map(|s| {
            if std::env::var_os("STREAMED").is_none() {
                return s;
            }
            let s = s.time_to_first_token(s.latency() / 4).retries(1);
            match s.failure() {
                Some(_) => s.error_kind(ErrorKind::RateLimited),
                None => s,
            }
        })
        .collect();
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
