//! A host-written exporter: keeps per-minute buckets in an in-memory store (a stand-in
//! for a database or a queue) and prints one line per sealed minute.
//!
//! Run with `cargo run --example custom_exporter`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use modelmeter::{ExportBatch, ExportError, Exporter, ManualClock, Monitor, Selection};

/// Rows by (minute, model): selections, errors, p95 in ms.
type Store = Arc<Mutex<BTreeMap<(u64, String), (u64, u64, u128)>>>;

/// The whole exporter: ten lines that turn each batch into rows.
struct MinuteStore(Store);

impl Exporter for MinuteStore {
    fn export(&mut self, batch: &ExportBatch) -> Result<(), ExportError> {
        let mut rows = self
            .0
            .lock()
            .map_err(|_| ExportError::new("store poisoned"))?;
        for b in &batch.buckets {
            let minute = b
                .start
                .duration_since(UNIX_EPOCH)
                .map_err(ExportError::new)?
                .as_secs()
                / 60;
            let p95_ms = b.latency.quantile(0.95).as_millis();
            println!(
                "{minute} {:<12} {:>4} selections, {:>2} errors, p95 {p95_ms} ms",
                b.model, b.count, b.errors
            );
            rows.insert((minute, b.model.clone()), (b.count, b.errors, p95_ms));
        }
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store = Store::default();
    let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_795_392_000));
    let monitor = Monitor::builder()
        .clock(clock.clone())
        .exporter(MinuteStore(store.clone()))
        .background(false)
        .build()?;
    for minute in 0..5u64 {
        for i in 0..120u64 {
            let (model, ms) = if i % 3 == 0 {
                ("gpt-4o", 900 + i * 7)
            } else {
                ("gpt-4o-mini", 250 + i * 3)
            };
            monitor.record_selection(
                &Selection::new(model, Duration::from_millis(ms)).error(i % 17 == minute),
            )?;
        }
        clock.advance(Duration::from_secs(60));
        monitor.tick();
    }
    monitor.flush();
    let rows = store.lock().unwrap();
    let total: u64 = rows.values().map(|r| r.0).sum();
    println!(
        "{} rows stored, {total} selections; exporter health: {:?}",
        rows.len(),
        monitor.health().exporters
    );
    Ok(())
}
