//! The alert-quality suite at full scale: seeded scenarios with known truth through the
//! default rules, and a table of what they made of it (false episodes, quiet windows,
//! detection delays). The figures in `BENCHMARKS.md` come from here.
//!
//! Run it with `cargo run --release --example alert_quality [filter]`; a filter runs
//! only the scenarios whose name contains it. The measures are defined in
//! `tests/quality/mod.rs`; `tests/alert_quality.rs` asserts the targets on a smaller
//! run.

#[path = "../tests/quality/mod.rs"]
mod quality;

use std::time::{Duration, Instant};

use quality::{
    Change, Kpi, Outcome, Scenario, cost_efficiency, daily_cycle, stationary, step, steps,
};

fn main() {
    let filter = std::env::args().nth(1).unwrap_or_default();
    let mut scenarios: Vec<Scenario> = Vec::new();
    for volume in [5.0, 60.0, 1000.0] {
        for kpi in Kpi::ALL {
            for place in 0..3 {
                scenarios.push(stationary(kpi, place, volume, 6, 2));
            }
        }
    }
    for volume in [5.0, 60.0] {
        for place in 0..3 {
            scenarios.push(cost_efficiency(place, volume, 2));
        }
    }
    for volume in [5.0, 60.0, 1000.0, 5000.0] {
        let name = "stationary fleet, 7 days";
        scenarios.push(Scenario::healthy(name, 6, volume, 8, 1));
    }
    scenarios.push(daily_cycle(6, 10.0, 40.0, 3));
    for volume in [20.0, 500.0] {
        for (name, change) in steps() {
            let one = format!("{name}, one model");
            scenarios.push(step(&one, change, false, volume, 6));
            scenarios.push(step(&format!("{name}, fleet"), change, true, volume, 6));
        }
    }
    let started = Instant::now();
    println!("{}", Outcome::header());
    for s in scenarios.iter().filter(|s| s.name.contains(&filter)) {
        println!("{}", s.run().row());
    }
    if filter.is_empty() || "spread over seeds".contains(&filter) {
        seeds();
    }
    eprintln!("{} scenarios in {:.1?}", scenarios.len(), started.elapsed());
}

/// The two detection targets over ten seeds each: one seed's delay is one draw.
fn seeds() {
    let at = Duration::from_secs(24 * 3600);
    println!();
    println!("| step on one model (spread over seeds) | selections/min | median | worst of 10 |");
    println!("|---|---|---|---|");
    for (name, change) in [
        ("latency ×3", Change::latency(at, 3.0)),
        ("errors ×10", Change::errors(at, 10.0)),
    ] {
        for volume in [20.0, 500.0] {
            let mut delays: Vec<f64> = (0..10)
                .map(|seed| {
                    let mut s = step(name, change, false, volume, 6);
                    s.seed = 1000 + seed;
                    s.stop_after_change = Some(Duration::from_secs(1800));
                    s.run()
                        .detected
                        .map_or(f64::INFINITY, |d| d.as_secs_f64() / 60.0)
                })
                .collect();
            delays.sort_by(f64::total_cmp);
            println!(
                "| {name} | {volume} | {:.1} min | {:.1} min |",
                (delays[4] + delays[5]) / 2.0,
                delays[9]
            );
        }
    }
}
