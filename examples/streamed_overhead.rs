//! What a streamed selection costs over a plain one, measured in pairs: batches of the
//! same 1,024 selections, plain and streamed (time to first token, so a derived time
//! per output token, an error kind on the failures, a retry on one in eight), recorded
//! alternately into one production-configured monitor; the best batch of each kind
//! over many rounds. On a shared machine the minimum of many short, interleaved runs
//! filters out the interference that makes two separate criterion runs disagree by
//! more than the difference sought. `cargo run --release --example streamed_overhead
//! [rounds]`; BENCHMARKS.md quotes it.

use std::hint::black_box;
use std::time::{Duration, Instant};

use modelmeter::{ErrorKind, Monitor, Selection};

const MODELS: [&str; 8] = [
    "gpt-4o",
    "gpt-4o-mini",
    "claude-3-5-sonnet",
    "claude-3-haiku",
    "gemini-1.5-pro",
    "gemini-1.5-flash",
    "llama-3.1-70b",
    "mistral-large",
];

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map_or(400, |a| a.parse().expect("rounds"));
    let monitor = Monitor::builder().build().expect("monitor");
    let plain: Vec<Selection<'static>> = (0..1024u64)
        .map(|i| {
            Selection::new(
                MODELS[(i % 8) as usize],
                Duration::from_micros(1000 + (i * 7919) % 900_000),
            )
            .cost_usd(0.001)
            .cache_hit(i % 3 == 0)
            .error(i % 50 == 0)
            .accuracy(1.0)
            .tokens(100 + i % 700, 20 + i % 300)
        })
        .collect();
    let streamed: Vec<Selection<'static>> = plain
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let s = s
                .time_to_first_token(s.latency() / 4)
                .retries(u32::from(i % 8 == 0));
            match s.failure() {
                Some(_) => s.error_kind(ErrorKind::ALL[i % 7]),
                None => s,
            }
        })
        .collect();
    let batch = |sels: &[Selection<'static>]| {
        let t = Instant::now();
        for s in sels {
            monitor.record_selection(black_box(s)).expect("valid");
        }
        t.elapsed()
    };
    // Warm-up: every model's cells exist, with their streaming parts.
    for _ in 0..200 {
        batch(&plain);
        batch(&streamed);
    }
    let (mut best_plain, mut best_streamed) = (Duration::MAX, Duration::MAX);
    for round in 0..rounds {
        // Alternate which goes first, so neither always follows the other.
        let (p, s) = if round % 2 == 0 {
            let p = batch(&plain);
            (p, batch(&streamed))
        } else {
            let s = batch(&streamed);
            (batch(&plain), s)
        };
        best_plain = best_plain.min(p);
        best_streamed = best_streamed.min(s);
    }
    let per = |d: Duration| d.as_nanos() as f64 / plain.len() as f64;
    println!(
        "best of {rounds} interleaved batches of {}: plain {:.1} ns, streamed {:.1} ns per selection: +{:.1} ns ({:.2}x)",
        plain.len(),
        per(best_plain),
        per(best_streamed),
        per(best_streamed) - per(best_plain),
        per(best_streamed) / per(best_plain)
    );
}
