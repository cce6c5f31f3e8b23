//! The simulated day of the `scoreboard_router` example: three models, a router that
//! reads the scoreboard on every request, and an error burst planted on the cheapest
//! model. Shared with `tests/scoreboard_router.rs`.

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::{Duration, UNIX_EPOCH};

use modelmeter::{Config, ManualClock, Metric, Monitor, Selection, Severity, ThresholdRule};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::policy::{Candidate, Limits, Router};

/// A model as the simulation serves it.
struct Profile {
    candidate: Candidate,
    median_ms: f64,
    error_rate: f64,
}

/// What one simulated minute looked like.
#[derive(Debug, Clone)]
pub struct Minute {
    /// Minutes since the start.
    pub minute: u64,
    /// Requests routed to each model.
    pub routed: BTreeMap<&'static str, u64>,
    /// Models the router had excluded at the end of the minute.
    pub excluded: Vec<String>,
    /// The scoreboard's alert on the cheapest model at the end of the minute.
    pub cheap_alert: Option<Severity>,
}

impl Minute {
    /// The share of this minute's requests that went to `model`.
    pub fn share(&self, model: &str) -> f64 {
        let total: u64 = self.routed.values().sum();
        self.routed.get(model).copied().unwrap_or(0) as f64 / total.max(1) as f64
    }
}

/// The cheapest model, the one the burst hits.
pub const CHEAP: &str = "gpt-4o-mini";

/// Runs `minutes` minutes at `per_second` requests per second; `CHEAP` fails 35% of
/// its requests during the minutes in `burst`. One tick per simulated second: the
/// scoreboard's live interval in manual mode.
pub fn run(minutes: u64, per_second: u64, burst: Range<u64>, seed: u64) -> Vec<Minute> {
    let profiles = [
        Profile {
            candidate: Candidate {
                model: CHEAP,
                list_price_usd: 0.0004,
            },
            median_ms: 450.0,
            error_rate: 0.01,
        },
        Profile {
            candidate: Candidate {
                model: "claude-haiku",
                list_price_usd: 0.0012,
            },
            median_ms: 600.0,
            error_rate: 0.01,
        },
        Profile {
            candidate: Candidate {
                model: "gpt-4o",
                list_price_usd: 0.006,
            },
            median_ms: 900.0,
            error_rate: 0.005,
        },
    ];
    // The rules a router should fall back on: health, not cost or cache KPIs.
    let mut config = Config::default();
    config.monitoring.alerting.enabled = false;
    let start = UNIX_EPOCH + Duration::from_secs(1_795_392_000);
    let clock = ManualClock::new(start);
    let monitor = Monitor::builder()
        .config(config)
        .clock(clock.clone())
        .background(false)
        .rule(ThresholdRule::new(
            "error_rate",
            Metric::ErrorRate,
            0.05,
            0.10,
        ))
        .rule(ThresholdRule::new(
            "p95",
            Metric::LatencyP95,
            3_000.0,
            5_000.0,
        ))
        .build()
        .expect("valid configuration");
    let board = monitor.scoreboard();
    let mut router = Router::new(
        profiles.iter().map(|p| p.candidate).collect(),
        Limits {
            p95: Duration::from_millis(2_500),
            error_rate: 0.10,
            min_samples: 30,
        },
    );
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = Vec::new();
    for minute in 0..minutes {
        let mut routed = BTreeMap::new();
        for second in 0..60 {
            let now = start + Duration::from_secs(minute * 60 + second);
            for _ in 0..per_second {
                let model = router.pick(&board);
                *routed.entry(model).or_insert(0) += 1;
                let p = profiles
                    .iter()
                    .find(|p| p.candidate.model == model)
                    .unwrap();
                let failing = model == CHEAP && burst.contains(&minute);
                let error_rate = if failing { 0.35 } else { p.error_rate };
                let spread: f64 = rng.random_range(0.6..1.8);
                let latency = Duration::from_secs_f64(p.median_ms * spread / 1000.0);
                monitor
                    .record_selection(
                        &Selection::new(model, latency)
                            .error(rng.random_bool(error_rate))
                            .cost_usd(p.candidate.list_price_usd)
                            .at(now),
                    )
                    .expect("valid selection");
            }
            clock.set(now + Duration::from_secs(1));
            monitor.tick();
        }
        out.push(Minute {
            minute,
            routed,
            excluded: router.excluded().map(str::to_owned).collect(),
            cheap_alert: board.get(CHEAP).and_then(|s| s.alert),
        });
    }
    out
}
