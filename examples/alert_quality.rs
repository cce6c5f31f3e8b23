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

use std::time::Instant;

use quality::{Kpi, Outcome, Scenario, daily_cycle, stationary, step, steps};

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
    for volume in [5.0, 60.0, 1000.0] {
        scenarios.push(Scenario::healthy(
            "stationary fleet, 7 days",
            6,
            volume,
            8,
            1,
        ));
    }
    scenarios.push(daily_cycle(6, 10.0, 40.0, 3));
    for volume in [20.0, 500.0] {
        for (name, change) in steps() {
            scenarios.push(step(
                &format!("{name}, one model"),
                change,
                false,
                volume,
                6,
            ));
            scenarios.push(step(&format!("{name}, fleet"), change, true, volume, 6));
        }
    }
    let started = Instant::now();
    println!("{}", Outcome::header());
    for s in scenarios.iter().filter(|s| s.name.contains(&filter)) {
        println!("{}", s.run().row());
    }
    eprintln!("{} scenarios in {:.1?}", scenarios.len(), started.elapsed());
}
