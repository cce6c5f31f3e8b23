//! Measures what 30 days of history cost: 100 models, default retention, a busy router
//! (`PER_MINUTE` selections per model per minute), simulated with a `ManualClock`. Every
//! selection names its provider (one of 5) and carries three declared attributes
//! (`team`, `feature`, `user`) with 100 values each, drawn at random, so every value
//! of every key has traffic in every minute: the most the dimension tiers can hold.
//!
//! Run with `cargo run --release --example retention_memory`; `DIMENSIONS=off` leaves
//! the dimensions out, for the models' share alone. BENCHMARKS.md quotes both.

use std::time::Duration;

use modelmeter::{ManualClock, Monitor, Selection};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, LogNormal};

const MODELS: usize = 100;
const PER_MINUTE: usize = 60;
const DAYS: u64 = 30;
const KEYS: [&str; 3] = ["team", "feature", "user"];
const VALUES: usize = 100;
const PROVIDERS: [&str; 5] = [
    "openai",
    "anthropic",
    "google.gemini",
    "aws.bedrock",
    "mistral_ai",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let start = std::time::UNIX_EPOCH + Duration::from_secs(1_795_392_000);
    let clock = ManualClock::new(start);
    let dimensions = std::env::var("DIMENSIONS").map_or(true, |v| v != "off");
    let mut builder = Monitor::builder().clock(clock.clone()).background(false);
    for key in KEYS {
        builder = builder.dimension(key, VALUES);
    }
    let monitor = builder.build()?;
    let values: Vec<Vec<String>> = KEYS
        .iter()
        .map(|k| (0..VALUES).map(|i| format!("{k}-{i:03}")).collect())
        .collect();
    let names: Vec<String> = (0..MODELS).map(|i| format!("model-{i:03}")).collect();
    let mut rng = StdRng::seed_from_u64(1);
    // Each model has its own median between 200 ms and 3 s, with a realistic spread.
    let dists: Vec<LogNormal<f64>> = (0..MODELS)
        .map(|_| LogNormal::new(rng.random_range(200.0f64..3000.0).ln(), 0.6).unwrap())
        .collect();
    let t = std::time::Instant::now();
    for minute in 0..DAYS * 1440 {
        for name_index in 0..MODELS {
            for _ in 0..PER_MINUTE {
                let ms = dists[name_index].sample(&mut rng);
                let mut sel =
                    Selection::new(&names[name_index], Duration::from_secs_f64(ms / 1000.0))
                        .cost_usd(0.002)
                        .cache_hit(rng.random_bool(0.3))
                        .error(rng.random_bool(0.02))
                        .accuracy(1.0)
                        .tokens(500, 200);
                if dimensions {
                    sel = sel.provider(PROVIDERS[name_index % PROVIDERS.len()]);
                    for (key, values) in KEYS.iter().zip(&values) {
                        sel = sel.attr(key, &values[rng.random_range(0..VALUES)]);
                    }
                }
                monitor.record_selection(&sel)?;
            }
        }
        clock.set(start + Duration::from_secs((minute + 1) * 60 + 3));
        monitor.tick();
    }
    let h = monitor.health();
    let total = DAYS * 1440 * (MODELS * PER_MINUTE) as u64;
    println!("{total} selections over {DAYS} days, {MODELS} models, {PER_MINUTE}/model/minute");
    if dimensions {
        println!(
            "each with a provider (of {}) and {} attributes of {VALUES} values each",
            PROVIDERS.len(),
            KEYS.len()
        );
    }
    println!("simulated in {:.1?}", t.elapsed());
    println!(
        "bytes retained (estimate): {:.1} MiB",
        h.bytes_retained as f64 / (1024.0 * 1024.0)
    );
    let s = monitor.summary(Duration::from_secs(DAYS * 86_400));
    println!(
        "30-day summary covers {} selections, p99 {:?}",
        s.overview.count, s.overview.latency.p99
    );
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        for line in status
            .lines()
            .filter(|l| l.starts_with("VmRSS") || l.starts_with("VmHWM"))
        {
            println!("{line}");
        }
    }
    Ok(())
}
