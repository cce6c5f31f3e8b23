//! The rate-limit heuristic: it fires on a planted 429 burst on one model, names where
//! the load could go, and stays quiet on clean traffic, server errors and fleet-wide
//! limits. The seeded scenarios count misses and false alarms (BENCHMARKS.md quotes
//! them): `cargo test --test rate_limit -- --nocapture`.

mod common;

use std::time::Duration;

use modelmeter::{ErrorKind, ManualClock, Monitor, Recommendation, RecommendationKind, Selection};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const MODELS: [&str; 4] = ["gpt-4o", "gpt-4o-mini", "claude-sonnet", "gemini-flash"];

/// What a scenario plants on top of a background 429 share of 0 to 0.5% per model.
#[derive(Debug, Clone, Copy)]
enum Plant {
    /// Nothing.
    Clean,
    /// A burst of 429s on one model: `share` of its selections during `minutes`.
    Burst {
        model: usize,
        share: f64,
        minutes: u64,
    },
    /// Server errors (not 429s) on one model.
    ServerErrors { model: usize, share: f64 },
    /// Every model rate limited alike (a shared key's quota): not one model's problem.
    FleetWide { share: f64 },
}

/// Two hours of traffic; returns the rate-limit recommendations and each model's true
/// 429 share over the window.
fn run(seed: u64, plant: Plant) -> (Vec<Recommendation>, [f64; 4]) {
    let mut rng = StdRng::seed_from_u64(seed);
    let clock = ManualClock::new(common::start());
    let monitor = Monitor::builder()
        .clock(clock.clone())
        .background(false)
        .build()
        .unwrap();
    let background: Vec<f64> = (0..4).map(|_| rng.random_range(0.0..0.005)).collect();
    let (mut limited, mut total) = ([0u64; 4], [0u64; 4]);
    let burst_start = rng.random_range(0..60u64);
    for minute in 0..120u64 {
        for (m, model) in MODELS.iter().enumerate() {
            for _ in 0..rng.random_range(60..140) {
                let mut p429 = background[m];
                let mut p5xx = 0.002;
                match plant {
                    Plant::Burst {
                        model: pm,
                        share,
                        minutes,
                    } if pm == m && (burst_start..burst_start + minutes).contains(&minute) => {
                        p429 = share
                    }
                    Plant::ServerErrors { model: pm, share } if pm == m => p5xx = share,
                    Plant::FleetWide { share } => p429 = share,
                    _ => {}
                }
                let mut s =
                    Selection::new(model, Duration::from_millis(rng.random_range(200..900)));
                if rng.random_bool(p429) {
                    s = s
                        .error_kind(ErrorKind::RateLimited)
                        .retries(rng.random_range(0..3));
                    limited[m] += 1;
                } else if rng.random_bool(p5xx) {
                    s = s.error_kind(ErrorKind::ServerError);
                }
                total[m] += 1;
                monitor.record_selection(&s).unwrap();
            }
        }
        clock.advance(Duration::from_secs(60));
        monitor.tick();
    }
    let recs = monitor
        .recommendations()
        .into_iter()
        .filter(|r| r.kind == RecommendationKind::RateLimitHotspot)
        .collect();
    let shares = std::array::from_fn(|m| limited[m] as f64 / total[m] as f64);
    (recs, shares)
}

#[test]
fn a_planted_burst_fires_with_evidence_and_clean_traffic_stays_quiet() {
    let (recs, shares) = run(
        1,
        Plant::Burst {
            model: 2,
            share: 0.2,
            minutes: 30,
        },
    );
    assert!(shares[2] > 0.04, "{shares:?}");
    assert_eq!(recs.len(), 1, "{recs:?}");
    let r = &recs[0];
    assert_eq!(r.id, "rate_limit_hotspot/claude-sonnet");
    assert!(
        r.description
            .contains("to gemini-flash, gpt-4o, gpt-4o-mini"),
        "{}",
        r.description
    );
    let evidence = |name: &str| r.evidence.iter().find(|e| e.name == name).unwrap().value;
    assert!((evidence("rate_limited_share") - shares[2]).abs() < 1e-9);
    assert!(evidence("retries") > 0.0);
    let (quiet, _) = run(1, Plant::Clean);
    assert!(quiet.is_empty(), "{quiet:?}");
}

#[test]
fn seeded_scenarios_count_misses_and_false_alarms() {
    // Truth is judged over the analysis window: a planted model whose window share is
    // at least twice the 1% floor must be named; nothing else may be. Shares between
    // the floor and twice it are a grey zone and not scored.
    let mut rows = Vec::new();
    let (mut misses, mut false_alarms, mut scored_pos, mut scored_neg) = (0, 0, 0, 0);
    for seed in 0..160u64 {
        let mut rng = StdRng::seed_from_u64(1_000 + seed);
        let model = rng.random_range(0..4);
        let plant = match seed % 4 {
            0 => Plant::Clean,
            1 => Plant::Burst {
                model,
                share: rng.random_range(0.05..0.3),
                minutes: rng.random_range(10..60),
            },
            2 => Plant::ServerErrors {
                model,
                share: rng.random_range(0.05..0.2),
            },
            _ => Plant::FleetWide {
                share: rng.random_range(0.01..0.05),
            },
        };
        let (recs, shares) = run(seed, plant);
        let named: Vec<usize> = recs
            .iter()
            .map(|r| MODELS.iter().position(|m| r.id.ends_with(m)).unwrap())
            .collect();
        for (m, &share) in shares.iter().enumerate() {
            let planted = matches!(plant, Plant::Burst { model: pm, .. } if pm == m);
            let positive = planted && share >= 0.02;
            let negative = !planted || share < 0.01;
            let fired = named.contains(&m);
            if positive {
                scored_pos += 1;
                misses += usize::from(!fired);
            } else if negative {
                scored_neg += 1;
                false_alarms += usize::from(fired);
            }
        }
        rows.push(format!(
            "{seed:>3} {plant:?} shares {shares:.3?} named {named:?}"
        ));
    }
    println!("{}", rows.join("\n"));
    println!(
        "rate-limit heuristic: {scored_pos} planted hotspots, {misses} missed; \
         {scored_neg} clean model-windows, {false_alarms} false alarms"
    );
    assert_eq!(false_alarms, 0);
    assert!(misses <= scored_pos / 20, "{misses} of {scored_pos} missed");
}
