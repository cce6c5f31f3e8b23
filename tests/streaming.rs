//! Streaming timings and failure kinds through the public API.

mod common;

use std::time::Duration;

use modelmeter::{ErrorKind, RecordError, RejectReason, Selection};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Exact percentile of sorted values, with hdrhistogram's rank.
fn exact(sorted: &[u64], q: f64) -> u64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[test]
fn time_to_first_token_percentiles_are_within_one_percent() {
    let (clock, monitor, collect) = common::with_collector();
    let mut ttfts = Vec::new();
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    for i in 0..20_000u64 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        // Log-uniform from 50 µs to 20 s.
        let ttft_us = (50.0 * (400_000f64).powf((rng % 1_000_000) as f64 / 1e6)) as u64;
        ttfts.push(ttft_us);
        let s = Selection::new("gpt-4o", Duration::from_micros(ttft_us * 3))
            .time_to_first_token(Duration::from_micros(ttft_us))
            .tokens(500, 100);
        monitor.record_selection(&s).unwrap();
        if i % 5_000 == 4_999 {
            clock.advance(Duration::from_secs(60));
            monitor.tick();
        }
    }
    monitor
        .record_selection(&Selection::new("gpt-4o", ms(10)))
        .unwrap();
    ttfts.sort_unstable();
    let stats = &monitor.summary(Duration::from_secs(3600)).models["gpt-4o"];
    let t = stats.time_to_first_token.expect("streamed selections");
    assert_eq!(stats.streaming, 20_000);
    assert_eq!(stats.time_to_first_token_samples, 20_000);
    assert_eq!(stats.time_per_output_token_samples, 20_000);
    for (q, got) in [(0.5, t.p50), (0.9, t.p90), (0.95, t.p95), (0.99, t.p99)] {
        let want = exact(&ttfts, q) as f64;
        let got = got.as_micros() as f64;
        assert!((got / want - 1.0).abs() <= 0.01, "q{q}: {got} vs {want}");
    }
    assert_eq!(t.min.as_micros() as u64, ttfts[0]);
    assert_eq!(t.max.as_micros() as u64, *ttfts.last().unwrap());
    assert_eq!(
        t.mean.as_micros() as u64,
        ttfts.iter().sum::<u64>() / ttfts.len() as u64
    );
    // The exporters' buckets carry the same counts.
    monitor.flush();
    let buckets = collect.0.lock();
    let n: u64 = buckets
        .iter()
        .filter_map(|b| b.time_to_first_token.as_ref())
        .map(|d| d.histogram.count())
        .sum();
    assert_eq!(n, 20_000);
}

#[test]
fn time_per_output_token_equals_hand_computation() {
    let (clock, monitor) = common::manual();
    // (latency ms, ttft ms, output tokens): per token after the first.
    let cases = [
        (2_400, 400, 201),
        (1_000, 100, 10),
        (900, 300, 1),
        (500, 500, 50),
    ];
    for (lat, ttft, out) in cases {
        monitor
            .record_selection(
                &Selection::new("m", ms(lat))
                    .time_to_first_token(ms(ttft))
                    .tokens(10, out),
            )
            .unwrap();
    }
    clock.advance(Duration::from_secs(30));
    let s = &monitor.summary(Duration::from_secs(60)).models["m"];
    let tpot = s.time_per_output_token.unwrap();
    // 2000/200 = 10 ms, 900/9 = 100 ms, none for 1 token, 0/49 = 0 ms.
    assert_eq!(tpot.min, ms(0));
    assert_eq!(tpot.max, ms(100));
    assert_eq!(tpot.mean, Duration::from_micros((10_000 + 100_000) / 3));
    assert_eq!(s.time_to_first_token.unwrap().max, ms(500));
}

#[test]
fn a_first_token_after_the_end_is_refused_and_counted() {
    let (_, monitor) = common::manual();
    let e = monitor
        .record_selection(&Selection::new("m", ms(100)).time_to_first_token(ms(101)))
        .unwrap_err();
    assert_eq!(
        e,
        RecordError::TimeToFirstTokenAfterEnd {
            ttft: ms(101),
            latency: ms(100)
        }
    );
    assert!(e.to_string().contains("101 ms"), "{e}");
    assert_eq!(
        monitor.health().rejected[&RejectReason::InvalidTimeToFirstToken],
        1
    );
    assert!(monitor.summary(Duration::from_secs(60)).models.is_empty());
}

#[test]
fn error_kinds_sum_to_the_error_count_in_every_tier() {
    let (clock, monitor, collect) = common::with_collector();
    let kinds = ErrorKind::ALL;
    let mut want = std::collections::BTreeMap::new();
    for minute in 0..150u64 {
        for i in 0..40u64 {
            let s = Selection::new("m", ms(20 + i)).retries((i % 3) as u32);
            let s = match (minute * 40 + i) % 9 {
                0..=6 => {
                    let k = kinds[((minute + i) % 7) as usize];
                    *want.entry(k).or_insert(0u64) += 1;
                    s.error_kind(k)
                }
                7 => {
                    *want.entry(ErrorKind::Other).or_insert(0u64) += 1;
                    s.error(true).fallback(true)
                }
                _ => s.error_kind(ErrorKind::Timeout).error(false),
            };
            monitor.record_selection(&s).unwrap();
        }
        clock.advance(Duration::from_secs(60));
        monitor.tick();
    }
    let total: u64 = want.values().sum();
    // 150 minutes: answered from minutes, or hours with minute edges.
    for window in [3_600, 9_000, 86_400] {
        let s = &monitor.summary(Duration::from_secs(window)).models["m"];
        assert_eq!(s.errors_by_kind.values().sum::<u64>(), s.errors);
        if window >= 9_000 {
            assert_eq!(s.errors_by_kind, want);
            assert_eq!(s.errors, total);
            // (minute * 40 + i) % 9 == 7 for 666 of the 6,000.
            assert_eq!(s.fallbacks, 666);
            // Per minute, 13 selections retried once and 13 twice.
            assert_eq!(s.retries, 150 * (13 + 13 * 2));
            let rate = s.error_rate_of(ErrorKind::RateLimited);
            assert_eq!(rate, want[&ErrorKind::RateLimited] as f64 / 6_000.0);
        }
    }
    monitor.flush();
    let buckets = collect.0.lock();
    for b in buckets.iter() {
        assert_eq!(b.errors_by_kind.values().sum::<u64>(), b.errors);
    }
    let by_kind = |k| -> u64 {
        buckets
            .iter()
            .map(|b| b.errors_by_kind.get(&k).copied().unwrap_or(0))
            .sum()
    };
    assert_eq!(
        by_kind(ErrorKind::ContentFilter),
        want[&ErrorKind::ContentFilter]
    );
}

#[test]
fn a_rule_judges_time_to_first_token() {
    use modelmeter::{AlertState, Metric, Monitor, Scope, ThresholdRule};
    let run = |ttft_ms: u64| {
        let clock = modelmeter::ManualClock::new(common::start());
        let monitor = Monitor::builder()
            .clock(clock.clone())
            .rule(
                ThresholdRule::new("ttft", Metric::TimeToFirstTokenP95, 800.0, 2_000.0)
                    .min_samples(10)
                    .for_duration(Duration::ZERO),
            )
            .background(false)
            .build()
            .unwrap();
        // A point metric is judged on at least 5 sealed minutes.
        for _ in 0..8 {
            for i in 0..50 {
                let s = Selection::new("gpt-4o", ms(4_000))
                    .time_to_first_token(ms(ttft_ms + i))
                    .tokens(100, 300);
                monitor.record_selection(&s).unwrap();
                // Unstreamed traffic on another model: no value, no alert.
                monitor
                    .record_selection(&Selection::new("embed", ms(30)))
                    .unwrap();
            }
            clock.advance(Duration::from_secs(60));
            monitor.tick();
        }
        // The default rules judge latency and caching too; only the new rule counts.
        let mut alerts = monitor.active_alerts();
        alerts.retain(|a| a.rule_id == "ttft");
        alerts
    };
    let quiet = run(300);
    assert!(quiet.is_empty(), "{quiet:?}");
    let loud = run(1_200);
    assert_eq!(loud.len(), 1, "{loud:?}");
    assert_eq!(loud[0].scope, Scope::Model("gpt-4o".into()));
    assert_eq!(loud[0].state, AlertState::Firing);
    assert!(
        loud[0].message.contains("time to first token"),
        "{}",
        loud[0].message
    );
}

#[test]
fn scoreboard_and_live_snapshots_carry_time_to_first_token() {
    let (clock, monitor) = common::manual();
    let live = monitor.subscribe();
    for i in 0..100 {
        let s = Selection::new("gpt-4o", ms(2_000)).time_to_first_token(ms(200 + i));
        monitor.record_selection(&s).unwrap();
    }
    monitor
        .record_selection(&Selection::new("embed", ms(20)))
        .unwrap();
    clock.advance(Duration::from_secs(30));
    monitor.tick();
    let board = monitor.scoreboard();
    let p95 = board
        .get("gpt-4o")
        .unwrap()
        .last_1m
        .time_to_first_token_p95
        .unwrap();
    assert!((p95.as_secs_f64() / 0.295 - 1.0).abs() <= 0.01, "{p95:?}");
    assert_eq!(
        board.get("embed").unwrap().last_1m.time_to_first_token_p95,
        None
    );
    let snapshot = live.try_recv().unwrap();
    let l = snapshot.models["gpt-4o"]
        .last_minute
        .time_to_first_token_p95
        .unwrap();
    assert_eq!(l, p95);
}

#[test]
fn the_slow_response_heuristic_judges_streams_on_their_first_token() {
    let (clock, monitor) = common::manual();
    for i in 0..300u64 {
        // Long answers that start fast: 6 s in all, first token after 300 ms.
        let fast_start = Selection::new("writer", ms(6_000 + i))
            .time_to_first_token(ms(300 + i % 50))
            .tokens(500, 1_500);
        monitor.record_selection(&fast_start).unwrap();
        // Streams that keep the user waiting 2.5 s for the first token.
        let slow_start = Selection::new("thinker", ms(4_000 + i))
            .time_to_first_token(ms(2_500 + i))
            .tokens(500, 300);
        monitor.record_selection(&slow_start).unwrap();
        // Not streamed, and slow in total: judged on total latency as before.
        let batch = Selection::new("batch", ms(6_000 + i));
        monitor.record_selection(&batch).unwrap();
    }
    clock.advance(Duration::from_secs(60));
    monitor.tick();
    let slow: Vec<_> = monitor
        .recommendations()
        .into_iter()
        .filter(|r| r.heuristic == "slow_responses")
        .collect();
    let ids: Vec<&str> = slow.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(ids.contains(&"slow_responses/thinker") && ids.contains(&"slow_responses/batch"));
    let thinker = slow.iter().find(|r| r.id.ends_with("thinker")).unwrap();
    assert!(thinker.title.contains("first token"), "{}", thinker.title);
    assert!(
        thinker
            .evidence
            .iter()
            .any(|e| e.name == "time_to_first_token_p95_ms" && e.value > 2_500.0)
    );
}

#[test]
fn extreme_and_withdrawn_first_tokens_stay_consistent() {
    let (clock, monitor) = common::manual();
    // A first token at the far end of `Duration`: saturated like the latency, never
    // wrapped into a small value.
    let huge = Selection::new("m", Duration::MAX)
        .time_to_first_token(Duration::from_secs(18_446_744_073_710));
    monitor.record_selection(&huge).unwrap();
    // `streaming(false)` withdraws a time to first token set before it.
    let withdrawn = Selection::new("m", ms(900))
        .time_to_first_token(ms(100))
        .streaming(false);
    assert!(!withdrawn.is_streaming());
    monitor.record_selection(&withdrawn).unwrap();
    clock.advance(Duration::from_secs(30));
    let s = &monitor.summary(Duration::from_secs(60)).models["m"];
    assert_eq!((s.streaming, s.time_to_first_token_samples), (1, 1));
    let t = s.time_to_first_token.unwrap();
    assert!(t.min >= Duration::from_secs(18_446_744_073_709), "{t:?}");
}
