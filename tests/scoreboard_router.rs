//! The `scoreboard_router` example's policy, run as a test: traffic leaves a model with
//! a planted error burst and comes back after it recovers.

#[path = "../examples/scoreboard_router/policy.rs"]
#[allow(dead_code)]
mod policy;
#[path = "../examples/scoreboard_router/sim.rs"]
mod sim;

#[test]
fn the_router_leaves_a_failing_model_and_returns_after_it_recovers() {
    for seed in [1, 2, 3] {
        let minutes = sim::run(32, 10, 10..15, seed);
        assert!(
            minutes
                .iter()
                .enumerate()
                .all(|(i, m)| m.minute == i as u64)
        );
        let cheap = |m: u64| minutes[m as usize].share(sim::CHEAP);
        for m in 0..10 {
            assert!(
                cheap(m) > 0.99,
                "seed {seed} minute {m}: before the burst {}",
                cheap(m)
            );
        }
        // The first burst minute already sends most traffic elsewhere; after it only
        // the probes (1 in 20) reach the failing model.
        assert!(cheap(10) < 0.8, "seed {seed}: {}", cheap(10));
        for m in 11..15 {
            assert!(cheap(m) <= 0.06, "seed {seed} minute {m}: {}", cheap(m));
        }
        assert!(
            minutes[14].cheap_alert.is_some(),
            "seed {seed}: the error-rate rule fires"
        );
        // Back once the alert has cleared and the last minute is credibly healthy.
        for m in 28..32 {
            assert!(
                cheap(m) > 0.99,
                "seed {seed} minute {m}: after recovery {}",
                cheap(m)
            );
        }
        // No flapping: the model leaves once and returns once.
        let excluded: Vec<bool> = minutes.iter().map(|m| !m.excluded.is_empty()).collect();
        let switches = excluded.windows(2).filter(|w| w[0] != w[1]).count();
        assert_eq!(switches, 2, "seed {seed}: {excluded:?}");
    }
}
