//! What a selection's dimensions cost on the hot path, building the selection and
//! recording it, measured in one run (see BENCHMARKS.md, "Dimensions on the hot path").
//!
//! Three kinds of batch of 1,024 selections, each built inside the timed loop as a
//! host builds it per request: without dimensions; with a provider and two attributes
//! (`team`, `feature`) set as text; and with the same values set through
//! `DimensionValue` handles made once. The batches are interleaved (the order rotates),
//! and the best batch of each kind over N rounds (the argument, default 3,000) is
//! kept: on a shared machine the minimum of many short interleaved runs filters out the
//! interference that makes two separate criterion runs disagree by more than the
//! difference sought. Beside it, the median over the rounds of what each kind's batch
//! added to the plain batch of the same round. As in `benches/record.rs`, the plain selections go to a monitor
//! of their own, and the other two to one with the dimensions declared (each model
//! served by one provider, as in most deployments).
//!
//! `cargo run --release --example dimension_cost [rounds]`; with `KIND=plain` (or `text`,
//! `handles`), that kind alone, untimed, for callgrind's instruction counts.
use modelmeter::{Monitor, Selection};
use std::hint::black_box;
use std::time::{Duration, Instant};

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
const PROVIDERS: [&str; 3] = ["openai", "anthropic", "google.gemini"];
const TEAMS: [&str; 8] = [
    "search", "ads", "support", "growth", "infra", "billing", "mobile", "data",
];
const FEATURES: [&str; 4] = ["summarize", "classify", "draft", "answer"];

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map_or(3_000, |a| a.parse().unwrap());
    let plain_monitor = Monitor::builder().build().unwrap();
    let monitor = Monitor::builder()
        .dimension("team", 100)
        .dimension("feature", 100)
        .build()
        .unwrap();
    let handle = |k, v| monitor.dimension_value(k, v).unwrap();
    let providers: Vec<_> = PROVIDERS.iter().map(|p| handle("provider", p)).collect();
    let teams: Vec<_> = TEAMS.iter().map(|t| handle("team", t)).collect();
    let features: Vec<_> = FEATURES.iter().map(|f| handle("feature", f)).collect();
    // A fixed stream: model, latency and outcome vary as in `benches/common`.
    let events: Vec<(usize, Duration, bool)> = (0..1024u64)
        .map(|i| {
            let x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40;
            let latency = Duration::from_micros(200 + x % 900_000);
            ((x % 8) as usize, latency, x % 50 == 0)
        })
        .collect();
    let base = |&(model, latency, error): &(usize, Duration, bool)| {
        Selection::new(MODELS[model], latency)
            .cost_usd(0.001)
            .cache_hit(latency.as_micros() % 3 == 0)
            .error(error)
            .accuracy(0.9)
            .tokens(100, 20)
    };
    let kinds: [(&str, &dyn Fn() -> Duration); 3] = [
        ("plain", &|| {
            let t = Instant::now();
            for e in &events {
                plain_monitor.record_selection(black_box(&base(e))).unwrap();
            }
            t.elapsed()
        }),
        ("text", &|| {
            let t = Instant::now();
            for (i, e) in events.iter().enumerate() {
                let s = base(e)
                    .provider(PROVIDERS[e.0 % 3])
                    .attr("team", TEAMS[i % 8])
                    .attr("feature", FEATURES[i / 8 % 4]);
                monitor.record_selection(black_box(&s)).unwrap();
            }
            t.elapsed()
        }),
        ("handles", &|| {
            let t = Instant::now();
            for (i, e) in events.iter().enumerate() {
                let s = base(e)
                    .value(&providers[e.0 % 3])
                    .value(&teams[i % 8])
                    .value(&features[i / 8 % 4]);
                monitor.record_selection(black_box(&s)).unwrap();
            }
            t.elapsed()
        }),
    ];
    // `KIND=plain|text|handles`: that kind's batches alone, untimed, for instruction
    // counts (`valgrind --tool=callgrind`, two round counts, the difference).
    if let Ok(kind) = std::env::var("KIND") {
        let (_, run) = kinds
            .iter()
            .find(|(name, _)| *name == kind)
            .expect("KIND is plain, text or handles");
        (0..rounds).for_each(|_| {
            run();
        });
        return;
    }
    for _ in 0..200 {
        kinds.iter().for_each(|(_, run)| {
            run();
        });
    }
    // Every batch is kept: the best of each kind, and the median of each round's
    // difference from the plain batch of the same round (which interference in one
    // round mostly cancels).
    let mut times: [Vec<Duration>; 3] = Default::default();
    for round in 0..rounds {
        for k in 0..3 {
            let k = (k + round) % 3;
            times[k].push(kinds[k].1());
        }
    }
    let per = |d: Duration| d.as_nanos() as f64 / events.len() as f64;
    let best = |k: usize| per(*times[k].iter().min().expect("a round"));
    let median_added = |k: usize| {
        let mut added: Vec<f64> = (0..rounds)
            .map(|r| per(times[k][r]) - per(times[0][r]))
            .collect();
        added.sort_by(f64::total_cmp);
        added[rounds / 2]
    };
    let plain = best(0);
    println!(
        "{rounds} interleaved rounds of batches of {}, built and recorded:",
        events.len()
    );
    println!("  kind     best batch          added  ratio   median added in a round");
    for (k, (name, _)) in kinds.iter().enumerate() {
        let ns = best(k);
        println!(
            "  {name:<8} {ns:6.1} ns/selection  {:+5.1} ns  {:.2}x  {:+5.1} ns",
            ns - plain,
            ns / plain,
            median_added(k),
        );
    }
}
