//! What recording costs a router: a simulated request loop doing a fixed amount of CPU
//! work per request, with and without `Monitor::record_selection` after each request.
//!
//! | case (time per request)   | work per request                                     |
//! |---------------------------|------------------------------------------------------|
//! | 1000rps/without, /with    | 1 ms of spin: one core serving 1,000 requests/s      |
//! | 100000rps/without, /with  | 10 µs of spin: one core serving 100,000 requests/s   |
//! | record_only               | `record_selection` alone, for the expected overhead  |
//!
//! The work is a deterministic dependent-multiply spin through `black_box`, its
//! iteration count calibrated at start-up to the target time. Overhead in percent is
//! `(with - without) / without` over the medians of criterion's samples of the same
//! run, printed after the group. Criterion measures the two variants one after the
//! other, so drift in the shared machine's speed lands in the difference; the same
//! comparison is also printed from an interleaved run (`paired`), where it cancels.
//! Figures: BENCHMARKS.md, section "Peers".

mod common;

use std::cell::RefCell;
use std::hint::black_box;
use std::time::{Duration, Instant};

use common::{BATCH, Ev, events};
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use modelmeter::Monitor;

/// Criterion's samples per benchmark; with flat sampling, one routine call each.
const SAMPLES: usize = 60;

/// The request's work: `n` dependent multiply-xor rounds the optimiser cannot fold.
#[inline(never)]
fn spin(n: u64) -> u64 {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for i in 0..n {
        x = black_box((x.rotate_left(5) ^ i).wrapping_mul(0x2545_F491_4F6C_DD1D));
    }
    x
}

/// Spin iterations that take `target`, from the fastest of a few timed runs.
fn calibrate(target: Duration) -> u64 {
    const PROBE: u64 = 2_000_000;
    spin(PROBE);
    let best = (0..7)
        .map(|_| {
            let t = Instant::now();
            black_box(spin(black_box(PROBE)));
            t.elapsed()
        })
        .min()
        .unwrap();
    (target.as_secs_f64() / best.as_secs_f64() * PROBE as f64).round() as u64
}

/// Per-request times of each routine call, so the medians can be compared after the
/// group; criterion's last `SAMPLES` calls of a benchmark are its samples.
#[derive(Default)]
struct Log(RefCell<Vec<f64>>);

impl Log {
    fn push(&self, elapsed: Duration, iters: u64) {
        self.0
            .borrow_mut()
            .push(elapsed.as_nanos() as f64 / iters as f64);
    }

    fn median(&self) -> f64 {
        let v = self.0.borrow();
        let mut s: Vec<f64> = v[v.len().saturating_sub(SAMPLES)..].to_vec();
        s.sort_by(f64::total_cmp);
        let m = s.len() / 2;
        if s.len() % 2 == 0 {
            (s[m - 1] + s[m]) / 2.0
        } else {
            s[m]
        }
    }
}

/// `iters` requests of `work` spin rounds each, recording each through `record`.
fn requests(iters: u64, work: u64, evs: &[Ev], record: impl Fn(&Ev), log: &Log) -> Duration {
    let start = Instant::now();
    for i in 0..iters {
        black_box(spin(black_box(work)));
        record(&evs[i as usize % BATCH]);
    }
    let elapsed = start.elapsed();
    log.push(elapsed, iters);
    elapsed
}

/// The same comparison with the two variants interleaved, so that drift in the
/// machine's speed (other tenants, frequency) falls on both alike: `ROUNDS` rounds of
/// one block without and one block with (order alternating), each block `block`
/// requests. Returns the median per-request time without, the median of the paired
/// per-request differences, and a 95% interval for that median (order statistics).
fn paired(work: u64, block: u64, evs: &[Ev], record: impl Fn(&Ev) + Copy) -> (f64, f64, f64, f64) {
    const ROUNDS: usize = 300;
    let log = Log::default();
    let skip = |e: &Ev| {
        black_box(e);
    };
    let mut without = Vec::with_capacity(ROUNDS);
    let mut diff = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        let (a, b) = if round % 2 == 0 {
            let a = requests(block, work, evs, skip, &log);
            (a, requests(block, work, evs, record, &log))
        } else {
            let b = requests(block, work, evs, record, &log);
            (requests(block, work, evs, skip, &log), b)
        };
        let per = |d: Duration| d.as_nanos() as f64 / block as f64;
        without.push(per(a));
        diff.push(per(b) - per(a));
    }
    without.sort_by(f64::total_cmp);
    diff.sort_by(f64::total_cmp);
    let n = ROUNDS as f64;
    let half = 1.96 * n.sqrt() / 2.0;
    let lo = ((n / 2.0 - half).floor() as usize).min(ROUNDS - 1);
    let hi = ((n / 2.0 + half).ceil() as usize).min(ROUNDS - 1);
    (without[ROUNDS / 2], diff[ROUNDS / 2], diff[lo], diff[hi])
}

fn overhead(c: &mut Criterion) {
    let evs = events(BATCH);
    // As benches/record.rs: the production set-up, system clock, background worker.
    let monitor = Monitor::builder().build().unwrap();
    let record = |e: &Ev| monitor.record_selection(black_box(&e.selection())).unwrap();
    let skip = |e: &Ev| {
        black_box(e);
    };

    let mut g = c.benchmark_group("overhead");
    g.sampling_mode(SamplingMode::Flat);
    g.sample_size(SAMPLES);
    g.throughput(Throughput::Elements(1));

    let only = Log::default();
    g.bench_function("record_only", |b| {
        b.iter_custom(|iters| requests(iters, 0, &evs, record, &only))
    });
    let record_ns = only.median();

    let mut report = Vec::new();
    for (rate, target) in [
        (1_000, Duration::from_millis(1)),
        (100_000, Duration::from_micros(10)),
    ] {
        let work = calibrate(target);
        let (without, with) = (Log::default(), Log::default());
        g.bench_function(format!("{rate}rps/without"), |b| {
            b.iter_custom(|iters| requests(iters, work, &evs, skip, &without))
        });
        g.bench_function(format!("{rate}rps/with"), |b| {
            b.iter_custom(|iters| requests(iters, work, &evs, record, &with))
        });
        // About 10 ms per block.
        let block = (Duration::from_millis(10).as_nanos() / target.as_nanos()) as u64;
        let pair = paired(work, block, &evs, record);
        report.push((rate, work, without.median(), with.median(), pair));
    }
    g.finish();
    assert!(monitor.health().recorded > 0);

    println!("\nrecord_selection alone: {record_ns:.1} ns per request (median)");
    for (rate, work, without, with, (base, d, lo, hi)) in report {
        println!(
            "overhead at {rate} requests/s/core ({work} spin rounds):\n  \
             criterion: without {:.3} µs, with {:.3} µs per request (medians): \
             {:+.1} ns, {:+.3}%\n  \
             interleaved: without {:.3} µs, paired difference {:+.1} ns \
             (95% interval {:+.1} to {:+.1} ns), {:+.3}% ({:+.3}% to {:+.3}%)\n  \
             expected from record_only: {:.3}%",
            without / 1e3,
            with / 1e3,
            with - without,
            (with - without) / without * 100.0,
            base / 1e3,
            d,
            lo,
            hi,
            d / base * 100.0,
            lo / base * 100.0,
            hi / base * 100.0,
            record_ns / without * 100.0,
        );
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1));
    targets = overhead
}
criterion_main!(benches);
