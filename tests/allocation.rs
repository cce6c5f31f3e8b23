//! The hot path allocates nothing once a model's cells exist: counted with a global
//! allocator that tallies allocations made by the current thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Duration;

use modelmeter::{ErrorKind, ManualClock, Monitor, Selection};

struct Counting;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.with(|a| a.set(a.get() + 1));
        // SAFETY: forwards the caller's contract unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> u64 {
    let before = ALLOCS.with(Cell::get);
    f();
    ALLOCS.with(Cell::get) - before
}

/// Allocations made by `record` over `minutes` minutes of `per_minute` events, sealed
/// as they go: only the ticks, not counted, may allocate.
fn steady_state_allocations(
    clock: &ManualClock,
    monitor: &Monitor,
    minutes: u64,
    per_minute: u64,
    record: impl Fn(u64),
) -> u64 {
    let mut during_records = 0;
    for minute in 0..minutes {
        during_records += allocations_during(|| {
            for i in 0..per_minute {
                record(minute * per_minute + i);
            }
        });
        clock.advance(Duration::from_secs(60));
        monitor.tick();
    }
    during_records
}

#[test]
fn recording_allocates_nothing_after_warm_up() {
    let clock = ManualClock::new(std::time::UNIX_EPOCH + Duration::from_secs(1_795_392_000));
    let monitor = Monitor::builder()
        .clock(clock.clone())
        .background(false)
        .build()
        .unwrap();
    let models = ["gpt-4o", "gpt-4o-mini", "claude", "haiku"];
    let handle = monitor.model("handle");
    let record = |i: u64| {
        let latency = Duration::from_micros(50 + i * 37 % 900_000);
        fn fill(s: Selection<'_>, i: u64) -> Selection<'_> {
            let s = s
                .cost_usd(0.002)
                .cache_hit(i % 3 == 0)
                .accuracy(1.0)
                .tokens(100, 20)
                .retries((i % 3) as u32);
            // Streamed selections and failure kinds too: their timings live in parts
            // of the cells allocated once, like the latency counts.
            match i % 4 {
                0 => s.time_to_first_token(s.latency() / 3),
                1 => s.error_kind(ErrorKind::ALL[(i % 7) as usize]),
                _ => s,
            }
        }
        let sel = fill(Selection::new(models[(i % 4) as usize], latency), i);
        monitor.record_selection(&sel).unwrap();
        handle
            .record_selection(&fill(handle.selection(latency), i))
            .unwrap();
    };
    // Warm-up: first events and the first minute rollover for every model.
    for i in 0..100 {
        record(i);
    }
    clock.advance(Duration::from_secs(30));
    for i in 0..100 {
        record(i);
    }
    clock.advance(Duration::from_secs(40));
    for i in 0..100 {
        record(i);
    }
    monitor.tick();
    assert_eq!(
        steady_state_allocations(&clock, &monitor, 180, 500, record),
        0,
        "record_selection allocated after warm-up"
    );
    // And a rejected event allocates nothing either.
    let bad = allocations_during(|| {
        let _ =
            monitor.record_selection(&Selection::new("gpt-4o", Duration::ZERO).cost_usd(f64::NAN));
    });
    assert_eq!(bad, 0);
}

#[test]
fn recording_dimensions_allocates_nothing_after_each_values_first_event() {
    let clock = ManualClock::new(std::time::UNIX_EPOCH + Duration::from_secs(1_795_392_000));
    let monitor = Monitor::builder()
        .clock(clock.clone())
        .background(false)
        .dimension("team", 100)
        .dimension("feature", 100)
        .build()
        .unwrap();
    let models = [
        "gpt-4o",
        "gpt-4o-mini",
        "claude-3-5-sonnet-20241022",
        "haiku",
    ];
    let providers = ["openai", "azure.ai.openai", "anthropic", "aws.bedrock"];
    let teams: Vec<String> = (0..40).map(|i| format!("team-{i}")).collect();
    let features = [
        "summarize",
        "classify",
        "a-feature-name-longer-than-16-bytes",
    ];
    let team_handles: Vec<_> = teams
        .iter()
        .map(|t| monitor.dimension_value("team", t).unwrap())
        .collect();
    let feature_handles: Vec<_> = features
        .iter()
        .map(|f| monitor.dimension_value("feature", f).unwrap())
        .collect();
    let record = |i: u64| {
        let m = (i % 4) as usize;
        let s = Selection::new(models[m], Duration::from_micros(50 + i * 37 % 900_000))
            .cost_usd(0.002)
            .tokens(100, 20);
        // Text, with a provider per model but one shared by two, and a requested model
        // longer than 16 bytes; and the same through handles.
        let text = s
            .provider(providers[m / 2 * 2 + (i % 2) as usize])
            .requested_model(models[2])
            .attr("team", &teams[(i % 40) as usize])
            .attr("feature", features[(i / 40 % 3) as usize]);
        monitor.record_selection(&text).unwrap();
        let handled = s
            .value(&team_handles[(i % 40) as usize])
            .value(&feature_handles[(i / 7 % 3) as usize])
            .operation("chat");
        monitor.record_selection(&handled).unwrap();
    };
    // Warm-up: every value's first event, and the first minutes' cells.
    for minute in 0..3 {
        for i in 0..2_000 {
            record(minute * 2_000 + i);
        }
        clock.advance(Duration::from_secs(60));
        monitor.tick();
    }
    assert_eq!(
        steady_state_allocations(&clock, &monitor, 60, 2_000, record),
        0,
        "recording with dimensions allocated after warm-up"
    );
}
