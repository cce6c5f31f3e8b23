//! Property tests: summaries agree with a brute-force computation over the same events.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use modelmeter::{ManualClock, Monitor, Selection, Stats};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Ev {
    model: usize,
    /// Seconds after the start.
    at: u64,
    latency_us: u64,
    cost: Option<f64>,
    accuracy: Option<f64>,
    error: bool,
    cache_hit: bool,
    tokens: (u64, u64),
}

fn event(span_secs: u64) -> impl Strategy<Value = Ev> {
    (
        0usize..4,
        0..span_secs,
        prop_oneof![1u64..1_000, 1_000u64..100_000, 100_000u64..60_000_000],
        proptest::option::of(0.0f64..2.0),
        proptest::option::of(0.0f64..=1.0),
        any::<bool>(),
        any::<bool>(),
        (0u64..10_000, 0u64..10_000),
    )
        .prop_map(
            |(model, at, latency_us, cost, accuracy, error, cache_hit, tokens)| Ev {
                model,
                at,
                latency_us,
                cost,
                accuracy,
                error,
                cache_hit,
                tokens,
            },
        )
}

/// Feeds `events` in time order through a manual-clock monitor, ticking every
/// `tick_every` seconds of simulated time.
fn replay(
    events: &mut [Ev],
    tick_every: u64,
    collect: Option<common::Collect>,
) -> (ManualClock, Monitor) {
    events.sort_by_key(|e| e.at);
    let clock = ManualClock::new(common::start());
    let mut b = Monitor::builder().clock(clock.clone()).background(false);
    if let Some(c) = collect {
        b = b.exporter(c);
    }
    let monitor = b.build().unwrap();
    let mut next_tick = tick_every;
    for e in events.iter() {
        while e.at >= next_tick {
            clock.set(common::start() + Duration::from_secs(next_tick));
            monitor.tick();
            next_tick += tick_every;
        }
        clock.set(common::start() + Duration::from_secs(e.at));
        let name = format!("model-{}", e.model);
        let mut s = Selection::new(&name, Duration::from_micros(e.latency_us))
            .error(e.error)
            .cache_hit(e.cache_hit)
            .tokens(e.tokens.0, e.tokens.1);
        if let Some(c) = e.cost {
            s = s.cost_usd(c);
        }
        if let Some(a) = e.accuracy {
            s = s.accuracy(a);
        }
        monitor.record_selection(&s).unwrap();
    }
    (clock, monitor)
}

fn check_against_brute_force(stats: &Stats, evs: &[&Ev]) -> Result<(), TestCaseError> {
    let n = evs.len() as u64;
    prop_assert_eq!(stats.count, n);
    prop_assert_eq!(stats.errors, evs.iter().filter(|e| e.error).count() as u64);
    prop_assert_eq!(
        stats.cache_hits,
        evs.iter().filter(|e| e.cache_hit).count() as u64
    );
    prop_assert_eq!(
        stats.input_tokens,
        evs.iter().map(|e| e.tokens.0).sum::<u64>()
    );
    prop_assert_eq!(
        stats.output_tokens,
        evs.iter().map(|e| e.tokens.1).sum::<u64>()
    );
    let cost: f64 = evs.iter().filter_map(|e| e.cost).sum();
    // Cost is kept in nano-dollars: at most half a nano-dollar of rounding per event.
    prop_assert!(
        (stats.cost_usd - cost).abs() <= 1e-9 * n as f64,
        "{} vs {}",
        stats.cost_usd,
        cost
    );
    let accs: Vec<f64> = evs.iter().filter_map(|e| e.accuracy).collect();
    match stats.mean_accuracy {
        None => prop_assert!(accs.is_empty()),
        Some(m) => prop_assert!((m - accs.iter().sum::<f64>() / accs.len() as f64).abs() < 1e-6),
    }
    let mut lat: Vec<u64> = evs.iter().map(|e| e.latency_us).collect();
    lat.sort_unstable();
    let us = |d: Duration| d.as_micros() as u64;
    prop_assert_eq!(us(stats.latency.min), lat[0]);
    prop_assert_eq!(us(stats.latency.max), *lat.last().unwrap());
    prop_assert_eq!(us(stats.latency.mean), lat.iter().sum::<u64>() / n);
    let l = &stats.latency;
    for (q, got) in [
        (0.5, l.p50),
        (0.75, l.p75),
        (0.9, l.p90),
        (0.95, l.p95),
        (0.99, l.p99),
    ] {
        let rank = ((q * n as f64).ceil() as usize).clamp(1, lat.len());
        let exact = lat[rank - 1];
        let got = us(got);
        // Two significant digits: within 1% of the exact percentile, never below it.
        prop_assert!(
            got >= exact && got - exact <= exact / 100,
            "p{}: {} vs exact {}",
            q * 100.0,
            got,
            exact
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn summaries_match_brute_force(mut events in proptest::collection::vec(event(1800), 1..400)) {
        let (_clock, monitor) = replay(&mut events, 45, None);
        let summary = monitor.summary(Duration::from_secs(3600));
        let all: Vec<&Ev> = events.iter().collect();
        check_against_brute_force(&summary.overview, &all)?;
        let mut by_model: BTreeMap<usize, Vec<&Ev>> = BTreeMap::new();
        for e in &events {
            by_model.entry(e.model).or_default().push(e);
        }
        prop_assert_eq!(summary.models.len(), by_model.len());
        for (m, evs) in by_model {
            check_against_brute_force(&summary.models[&format!("model-{m}")], &evs)?;
        }
        // Flushing moves everything into the store without changing the answer.
        monitor.flush();
        let after = monitor.summary(Duration::from_secs(3600));
        prop_assert_eq!(&after.overview, &summary.overview);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// A 24-hour summary equals the merge of the minute buckets it covers.
    #[test]
    fn day_summary_equals_merge_of_its_minutes(
        mut events in proptest::collection::vec(event(27 * 3600), 50..600)
    ) {
        let collect = common::Collect::default();
        let (clock, monitor) = replay(&mut events, 600, Some(collect.clone()));
        clock.set(common::start() + Duration::from_secs(27 * 3600));
        monitor.tick();
        let summary = monitor.summary(Duration::from_secs(86_400));
        monitor.flush();
        let buckets = collect.0.lock().clone();
        let inside: Vec<_> = buckets.iter().filter(|b| b.start >= summary.start && b.start <= summary.end).collect();
        let count: u64 = inside.iter().map(|b| b.count).sum();
        prop_assert_eq!(summary.overview.count, count);
        prop_assert_eq!(summary.overview.errors, inside.iter().map(|b| b.errors).sum::<u64>());
        let cost: f64 = inside.iter().map(|b| b.cost_usd).sum();
        prop_assert!((summary.overview.cost_usd - cost).abs() < 1e-6);
        if count > 0 {
            let mut merged = inside[0].latency.clone();
            for b in &inside[1..] {
                merged.merge(&b.latency).unwrap();
            }
            let l = &summary.overview.latency;
            for (q, got) in [(0.5, l.p50), (0.9, l.p90), (0.99, l.p99)] {
                let want = merged.quantile(q);
                let bucket = merged.iter().find(|b| b.high == want).unwrap();
                // Same bucket; ours is additionally clamped to the exact maximum.
                prop_assert!(bucket.low <= got && got <= want, "q{}: {:?} vs {:?}", q, got, want);
            }
        }
    }
}
