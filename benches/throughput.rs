//! Aggregate throughput over threads: 1 and 2 writer threads recording the same
//! 8-model stream, for modelmeter, the floor (one shared struct), the hand-written
//! mutex map, and the ideal (the floor's work on a struct private to each thread, which
//! shows how far two threads can scale on this machine at all).

mod common;

use std::sync::Barrier;
use std::time::{Duration, Instant};

use common::{BATCH, Ev, Floor, MutexMap, events};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use modelmeter::Monitor;

/// Runs `iters * BATCH` events split over `threads` threads, each recording through the
/// recorder `make` builds on that thread; returns the wall time from the common start
/// to the last thread's end.
fn run<R: FnMut(&Ev)>(
    threads: usize,
    iters: u64,
    evs: &[Ev],
    make: &(impl Fn() -> R + Sync),
) -> Duration {
    let barrier = Barrier::new(threads + 1);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut record = make();
                    barrier.wait();
                    for _ in 0..iters.div_ceil(threads as u64) {
                        for e in evs {
                            record(e);
                        }
                    }
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        handles.into_iter().for_each(|h| h.join().unwrap());
        start.elapsed()
    })
}

fn throughput(c: &mut Criterion) {
    let evs = events(BATCH);
    let mut g = c.benchmark_group("throughput");
    g.throughput(Throughput::Elements(BATCH as u64));
    let monitor = Monitor::builder().build().unwrap();
    let floor = Floor::default();
    let map = MutexMap::default();
    for threads in [1, 2] {
        g.bench_function(format!("modelmeter_{threads}_threads"), |b| {
            b.iter_custom(|iters| {
                run(threads, iters, &evs, &|| {
                    |e: &Ev| monitor.record_selection(&e.selection()).unwrap()
                })
            })
        });
        g.bench_function(format!("floor_{threads}_threads"), |b| {
            b.iter_custom(|iters| run(threads, iters, &evs, &|| |e: &Ev| floor.record(e)))
        });
        g.bench_function(format!("mutex_map_{threads}_threads"), |b| {
            b.iter_custom(|iters| run(threads, iters, &evs, &|| |e: &Ev| map.record(e)))
        });
        g.bench_function(format!("ideal_{threads}_threads"), |b| {
            b.iter_custom(|iters| {
                run(threads, iters, &evs, &|| {
                    let own = Floor::default();
                    move |e: &Ev| own.record(e)
                })
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(4));
    targets = throughput
}
criterion_main!(benches);
