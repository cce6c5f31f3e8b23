//! Single-thread cost of one `record_selection`, against the floor.
//!
//! | case (ns per event)          | see BENCHMARKS.md for the figures and the machine |
//! |------------------------------|---------------------------------------------------|
//! | record/floor                 | 6 relaxed atomic adds + 1 bucket add, shared      |
//! | record/str_lookup            | `Monitor::record_selection`                       |
//! | record/model_handle          | `ModelHandle::record_selection`                   |
//! | record/str_lookup_streamed   | the same, with time to first token, error kind, retries |
//! | record/str_lookup_priced     | the same selections without a cost, priced from a `Pricing` |
//! | record/str_lookup_dimensions | the same, with a provider and two attributes (`team`, `feature`) |
//! | record/str_lookup_dimension_values | the same values, set through `DimensionValue` handles |
//! | record/dimensions_overhead   | what the text values add, timed against `str_lookup` batch by batch |
//! | record/dimension_values_overhead | what the handles add, the same way            |

mod common;

use common::{BATCH, Ev, Floor, MODELS, events};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use modelmeter::Monitor;
use std::hint::black_box;

fn record(c: &mut Criterion) {
    let evs: Vec<Ev> = events(BATCH);
    let mut g = c.benchmark_group("record");
    g.throughput(Throughput::Elements(BATCH as u64));

    let floor = Floor::default();
    g.bench_function("floor", |b| {
        b.iter(|| {
            for e in &evs {
                floor.record(black_box(e));
            }
        })
    });

    // The production set-up: system clock, background worker sealing every 5 s.
    let monitor = Monitor::builder().build().unwrap();
    g.bench_function("str_lookup", |b| {
        b.iter(|| {
            for e in &evs {
                monitor.record_selection(black_box(&e.selection())).unwrap();
            }
        })
    });

    // Issue 15's budget: a streamed selection with an error kind costs at most 10 ns
    // more than `str_lookup`, read off the same run.
    g.bench_function("str_lookup_streamed", |b| {
        b.iter(|| {
            for e in &evs {
                monitor.record_selection(black_box(&e.streamed())).unwrap();
            }
        })
    });

    // Pricing's cost: the same selections without their cost, priced from a table of
    // all eight models (cached input tokens a tenth of the input), on a monitor of
    // its own; `str_lookup` of the same run is the baseline.
    let mut table = modelmeter::Pricing::new();
    for (i, m) in MODELS.iter().enumerate() {
        let price = modelmeter::Price::new(1.0 + i as f64, 4.0 + i as f64).cached_input(0.5);
        table = table.with_price(m, price).unwrap();
    }
    let priced = Monitor::builder().pricing(table).build().unwrap();
    g.bench_function("str_lookup_priced", |b| {
        b.iter(|| {
            for e in &evs {
                let s = modelmeter::Selection::new(MODELS[e.model], e.latency)
                    .cache_hit(e.cache_hit)
                    .error(e.error)
                    .accuracy(e.accuracy)
                    .tokens(e.input_tokens, e.output_tokens)
                    .cached_input_tokens(e.input_tokens / 10);
                priced.record_selection(black_box(&s)).unwrap();
            }
        })
    });

    // Issue 14's budget: a selection with a provider and two attributes costs at most
    // 15 ns more than `str_lookup`, read off the same run. Each model has its
    // provider; teams and features vary, 32 combinations per model.
    const PROVIDERS: [&str; 3] = ["openai", "anthropic", "google.gemini"];
    const TEAMS: [&str; 8] = [
        "search", "ads", "support", "growth", "infra", "billing", "mobile", "data",
    ];
    const FEATURES: [&str; 4] = ["summarize", "classify", "draft", "answer"];
    let dimensioned = Monitor::builder()
        .dimension("team", 100)
        .dimension("feature", 100)
        .build()
        .unwrap();
    let text_batch = || {
        for (i, e) in evs.iter().enumerate() {
            let s = e
                .selection()
                .provider(PROVIDERS[e.model % 3])
                .attr("team", TEAMS[i % 8])
                .attr("feature", FEATURES[i / 8 % 4]);
            dimensioned.record_selection(black_box(&s)).unwrap();
        }
    };
    g.bench_function("str_lookup_dimensions", |b| b.iter(text_batch));

    // The same selections with their values set through `DimensionValue` handles made
    // once, as a host keeps them: no value is looked up by its text.
    let handle = |k, v| dimensioned.dimension_value(k, v).unwrap();
    let providers: Vec<_> = PROVIDERS.iter().map(|p| handle("provider", p)).collect();
    let teams: Vec<_> = TEAMS.iter().map(|t| handle("team", t)).collect();
    let features: Vec<_> = FEATURES.iter().map(|f| handle("feature", f)).collect();
    let values_batch = || {
        for (i, e) in evs.iter().enumerate() {
            let s = e
                .selection()
                .value(&providers[e.model % 3])
                .value(&teams[i % 8])
                .value(&features[i / 8 % 4]);
            dimensioned.record_selection(black_box(&s)).unwrap();
        }
    };
    g.bench_function("str_lookup_dimension_values", |b| b.iter(values_batch));

    // Issue 14's budget read off one measurement: each sample times batches of plain
    // selections (`str_lookup`'s) and batches with dimensions back to back, the order
    // alternating, and counts only the difference of their totals. Two benchmarks run
    // one after the other, seconds apart, drift on a shared machine by more than the
    // 15 ns sought; two batches a few microseconds apart do not. Per selection: the time / 1,024.
    let plain_batch = || {
        for e in &evs {
            monitor.record_selection(black_box(&e.selection())).unwrap();
        }
    };
    let overhead = |with: &dyn Fn(), iters: u64| {
        let time = |f: &dyn Fn()| {
            let t = std::time::Instant::now();
            f();
            t.elapsed()
        };
        // The two totals, subtracted once: a pause of the machine lands in either
        // batch alike and cancels out on average. Subtracting pair by pair, clamped
        // at zero, had kept every pause in a batch with dimensions and dropped every
        // one in a plain batch, and so read high whenever the machine was busy.
        let (mut plain, mut dims) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
        for k in 0..iters {
            if k % 2 == 0 {
                plain += time(&plain_batch);
                dims += time(with);
            } else {
                dims += time(with);
                plain += time(&plain_batch);
            }
        }
        // Criterion refuses a sample of zero: one whose plain batches took longer in
        // all (the machine paused in them) counts 1 ns, a bias of less than a
        // thousandth of a sample.
        dims.saturating_sub(plain)
            .max(std::time::Duration::from_nanos(1))
    };
    g.bench_function("dimensions_overhead", |b| {
        b.iter_custom(|iters| overhead(&text_batch, iters))
    });
    g.bench_function("dimension_values_overhead", |b| {
        b.iter_custom(|iters| overhead(&values_batch, iters))
    });

    let handles: Vec<_> = MODELS.iter().map(|m| monitor.model(m)).collect();
    g.bench_function("model_handle", |b| {
        b.iter(|| {
            for e in &evs {
                handles[e.model]
                    .record_selection(black_box(&e.selection()))
                    .unwrap();
            }
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(std::time::Duration::from_secs(4));
    targets = record
}
criterion_main!(benches);
