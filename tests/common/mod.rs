//! Shared set-up for the integration tests: a manual clock at a fixed minute and a
//! monitor that ticks only when told to.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use modelmeter::{ExportBatch, ExportError, Exporter, ManualClock, MinuteBucket, Monitor};
use parking_lot::Mutex;

/// 2026-11-23 00:00:00 UTC, a Monday.
pub fn start() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_795_392_000)
}

pub fn manual() -> (ManualClock, Monitor) {
    let clock = ManualClock::new(start());
    let monitor = Monitor::builder()
        .clock(clock.clone())
        .background(false)
        .build()
        .unwrap();
    (clock, monitor)
}

/// An exporter that keeps every bucket it is handed.
#[derive(Clone, Default)]
pub struct Collect(pub Arc<Mutex<Vec<MinuteBucket>>>);

impl Exporter for Collect {
    fn export(&mut self, batch: &ExportBatch) -> Result<(), ExportError> {
        self.0.lock().extend(batch.buckets.iter().cloned());
        Ok(())
    }
}

pub fn with_collector() -> (ManualClock, Monitor, Collect) {
    let clock = ManualClock::new(start());
    let collect = Collect::default();
    let monitor = Monitor::builder()
        .clock(clock.clone())
        .exporter(collect.clone())
        .background(false)
        .build()
        .unwrap();
    (clock, monitor, collect)
}
