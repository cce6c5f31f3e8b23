//! Snapshots from outside: hostile ones are refused with a named reason, and decoding
//! `N` bytes never holds more than a small multiple of `N`, measured with a counting
//! allocator (this file's only allocator, so the figures are this process's own).

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use modelmeter::{MergeError, Selection, Snapshot, SnapshotError};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        // SAFETY: the caller's contract is System's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Peak bytes held above what was live before, while decoding and validating `json`.
/// Tests in this file run one at a time (see `serial`), so the peak is theirs.
fn decode_peak(json: &str) -> (Result<Snapshot, String>, usize) {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let result = serde_json::from_str::<Snapshot>(json)
        .map_err(|e| e.to_string())
        .and_then(|s| s.validate().map(|()| s).map_err(|e| e.to_string()));
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(base);
    (result, peak)
}

static SERIAL: parking_lot::Mutex<()> = parking_lot::Mutex::new(());

fn model_json(id: &str, count: u64, buckets: &str) -> String {
    format!(
        r#""{id}":{{"count":{count},"errors":0,"cache_hits":0,"cost_nano_usd":0,"cost_count":0,
        "accuracy_micros":0,"accuracy_count":0,"satisfaction_micros":0,"satisfaction_count":0,
        "complexity_micros":0,"complexity_count":0,"input_tokens":0,"output_tokens":0,
        "latency_sum_us":0,"latency_min_us":0,"latency_max_us":0,
        "latency":{{"lowest_us":1,"highest_us":3600000000,"significant_digits":2,"buckets":[{buckets}]}}}}"#
    )
}

fn snapshot_json(models: &str) -> String {
    format!(
        r#"{{"start_ms":1800000000000,"end_ms":1800000300000,"latency_low_micros":1,
        "latency_high_micros":3600000000,"latency_significant_digits":2,"models":{{{models}}}}}"#
    )
}

#[test]
fn decoding_holds_about_six_times_the_input_at_most() {
    let _one = SERIAL.lock();
    // One histogram of 200,000 one-digit buckets: the worst bytes-to-memory shape.
    let buckets = vec!["[1,1]"; 200_000].join(",");
    let many_buckets = snapshot_json(&model_json("m", 200_000, &buckets));
    // 20,000 models with empty histograms.
    let models: Vec<String> = (0..20_000)
        .map(|i| model_json(&format!("m{i}"), 0, ""))
        .collect();
    let many_models = snapshot_json(&models.join(","));
    for (shape, json) in [
        ("many buckets", &many_buckets),
        ("many models", &many_models),
    ] {
        let (result, peak) = decode_peak(json);
        result.unwrap();
        let ratio = peak as f64 / json.len() as f64;
        println!(
            "{shape}: {} bytes of JSON, peak {peak} bytes ({ratio:.2}x)",
            json.len()
        );
        assert!(ratio <= 6.5, "{shape}: {ratio:.2}x");
    }
}

#[test]
fn hostile_bounds_are_refused_before_any_memory_is_held_for_them() {
    let _one = SERIAL.lock();
    // The 56-byte attack: a huge range at 5 significant digits (hdrhistogram's dense
    // counts would take about 46 MiB).
    let json = snapshot_json(&model_json("m", 0, "")).replace(
        r#""latency":{"lowest_us":1,"highest_us":3600000000,"significant_digits":2"#,
        r#""latency":{"lowest_us":1,"highest_us":18446744073709551615,"significant_digits":5"#,
    );
    let (result, peak) = decode_peak(&json);
    assert!(
        result.unwrap_err().contains("buckets"),
        "refused for its size"
    );
    assert!(peak < 64 * 1024, "{peak} bytes");
}

fn refused(edit: impl Fn(&mut Snapshot)) -> SnapshotError {
    let (_clock, monitor) = common::manual();
    for ms in [100, 200, 300] {
        monitor
            .record_selection(&Selection::new("gpt-4o", Duration::from_millis(ms)).error(ms == 200))
            .unwrap();
    }
    let mut good = monitor.snapshot(Duration::from_secs(300));
    good.validate().unwrap();
    let mut bad = good.clone();
    edit(&mut bad);
    let err = bad.validate().unwrap_err();
    let before = good.clone();
    assert_eq!(good.merge(&bad).unwrap_err(), err, "merge refuses it too");
    assert_eq!(good, before, "and changes nothing");
    err
}

#[test]
fn inconsistent_snapshots_are_refused_with_the_reason() {
    let _one = SERIAL.lock();
    let m = |s: &mut Snapshot| s.models.get_mut("gpt-4o").unwrap().clone();
    type Edit = Box<dyn Fn(&mut Snapshot)>;
    let cases: Vec<(Edit, &str)> = vec![
        (
            Box::new(|s| s.models.get_mut("gpt-4o").unwrap().errors = 4),
            "errors 4 exceeds count 3",
        ),
        (
            Box::new(|s| s.models.get_mut("gpt-4o").unwrap().count = 5),
            "histogram counts 3 selections, the model 5",
        ),
        (
            Box::new(|s| {
                let x = s.models.get_mut("gpt-4o").unwrap();
                x.accuracy_count = 1;
                x.accuracy_micros = 2_000_000;
            }),
            "more than 1 per selection",
        ),
        (
            Box::new(move |s| {
                let x = m(s);
                s.models.insert("bad\nid".into(), x);
            }),
            "control character",
        ),
        (Box::new(|s| s.end_ms = s.start_ms - 1), "reversed"),
    ];
    for (edit, want) in cases {
        let err = refused(edit);
        assert!(err.to_string().contains(want), "{err} lacks {want:?}");
    }
}

#[test]
fn snapshots_of_other_bounds_do_not_merge() {
    let _one = SERIAL.lock();
    let (_clock, monitor) = common::manual();
    monitor
        .record_selection(&Selection::new("gpt-4o", Duration::from_millis(100)))
        .unwrap();
    let mut a = monitor.snapshot(Duration::from_secs(60));
    let mut b = a.clone();
    b.latency_significant_digits = 3;
    // Its models' histograms no longer match what it claims...
    assert!(matches!(
        b.validate(),
        Err(SnapshotError::Inconsistent { .. })
    ));
    // ...and its claim does not match ours.
    let before = a.clone();
    assert!(matches!(
        a.merge(&b),
        Err(SnapshotError::Merge(MergeError::LayoutMismatch { .. }))
    ));
    assert_eq!(a, before);
}

/// Found by the `snapshot` fuzz target: two valid snapshots far apart merged into one
/// whose span `validate` refuses, so the merge result could not be sent on.
#[test]
fn a_merge_never_makes_a_snapshot_validate_refuses() {
    let _one = SERIAL.lock();
    let (_clock, monitor) = common::manual();
    monitor
        .record_selection(&Selection::new("gpt-4o", Duration::from_millis(100)))
        .unwrap();
    let mut ours = monitor.snapshot(Duration::from_secs(60));
    let mut far = ours.clone();
    let far_off = 401 * 86_400_000;
    far.start_ms += far_off;
    far.end_ms += far_off;
    far.validate().unwrap();
    let before = ours.clone();
    assert!(matches!(ours.merge(&far), Err(SnapshotError::Span { .. })));
    assert_eq!(ours, before, "a refused merge changes nothing");

    // Counts that would overflow when added are refused the same way.
    let mut huge = ours.clone();
    let m = huge.models.get_mut("gpt-4o").unwrap();
    let json = serde_json::to_string(&*m)
        .unwrap()
        .replace(r#""count":1,"#, &format!(r#""count":{},"#, u64::MAX));
    let json = json.replace(",1]]}", &format!(",{}]]}}", u64::MAX));
    *m = serde_json::from_str(&json).unwrap();
    m.latency_sum_us = u64::MAX;
    huge.validate().unwrap();
    let err = ours.merge(&huge).unwrap_err();
    assert!(err.to_string().contains("overflow"), "{err}");
    assert_eq!(ours, before);
}
