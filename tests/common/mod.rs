//! Shared set-up for the integration tests: a manual clock at a fixed minute and a
//! monitor that ticks only when told to.
#![allow(dead_code)]

pub mod http;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use modelmeter::{Clock, ExportBatch, ExportError, Exporter, ManualClock, MinuteBucket, Monitor};
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

/// The default configuration with the alert rules off, so ticks in long simulations
/// cost little.
pub fn quiet() -> modelmeter::Config {
    let mut c = modelmeter::Config::default();
    c.monitoring.alerting.enabled = false;
    c
}

pub fn build(config: modelmeter::Config) -> (ManualClock, Monitor) {
    let clock = ManualClock::new(start());
    let monitor = Monitor::builder()
        .clock(clock.clone())
        .config(config)
        .background(false)
        .build()
        .unwrap();
    (clock, monitor)
}

/// Runs `minutes` simulated minutes from the clock's current time: `per_minute`
/// selections from `f(minute, i)` spread over each minute, then a tick just after it.
pub fn drive(
    clock: &ManualClock,
    monitor: &Monitor,
    minutes: u64,
    per_minute: u64,
    mut f: impl FnMut(u64, u64) -> modelmeter::Selection<'static>,
) {
    for m in 0..minutes {
        let minute_start = clock.now();
        for i in 0..per_minute {
            clock.set(minute_start + Duration::from_millis(i * 59_000 / per_minute.max(1)));
            monitor.record_selection(&f(m, i)).unwrap();
        }
        clock.set(minute_start + Duration::from_secs(60));
        monitor.tick();
    }
}

/// A writer that keeps what it is given, shared between the test and an exporter.
#[derive(Clone, Default)]
pub struct Shared(pub Arc<Mutex<Vec<u8>>>);

impl Shared {
    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().clone()).unwrap()
    }
}

impl std::io::Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// An exporter that keeps every batch it is handed.
#[derive(Clone, Default)]
pub struct Batches(pub Arc<Mutex<Vec<ExportBatch>>>);

impl Exporter for Batches {
    fn export(&mut self, batch: &ExportBatch) -> Result<(), ExportError> {
        self.0.lock().push(batch.clone());
        Ok(())
    }
}

impl Batches {
    /// One field's items over every batch so far, in order.
    pub fn flat<T: Clone>(&self, field: impl Fn(&ExportBatch) -> &[T]) -> Vec<T> {
        self.0
            .lock()
            .iter()
            .flat_map(|b| field(b).to_vec())
            .collect()
    }
}

/// The path a `scripts/` installer prints for a real tool (Prometheus, Chromium,
/// pdftoppm), installing it if needed; `None` (the test is skipped) only when the tool
/// is unavailable and `MODELMETER_SKIP_REAL_SERVERS` is set, otherwise a panic naming
/// the reason.
pub fn real_tool(script: &str, args: &[&str]) -> Option<String> {
    let path = format!("{}/scripts/{script}", env!("CARGO_MANIFEST_DIR"));
    let found = std::process::Command::new("sh")
        .arg(&path)
        .args(args)
        .output();
    match found {
        Ok(o) if o.status.success() => Some(String::from_utf8(o.stdout).unwrap().trim().to_owned()),
        other => {
            let why = match other {
                Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_owned(),
                Err(e) => format!("cannot run {path}: {e}"),
            };
            if std::env::var_os("MODELMETER_SKIP_REAL_SERVERS").is_some() {
                eprintln!("SKIPPED (MODELMETER_SKIP_REAL_SERVERS): {script}: {why}");
                return None;
            }
            panic!("{script} failed: {why} (set MODELMETER_SKIP_REAL_SERVERS=1 to skip)");
        }
    }
}

/// The marks in a chart's SVG that only data draws: markers (circles), areas
/// (polygons), lines through three or more points, and rectangles beyond the four
/// that an empty chart has (background, legend box, legend swatches).
pub fn data_marks(svg: &str) -> usize {
    let long_lines = svg
        .split("<polyline")
        .skip(1)
        .filter(|p| {
            p.split("points=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .is_some_and(|pts| pts.split_whitespace().count() >= 3)
        })
        .count();
    svg.matches("<circle").count()
        + svg.matches("<polygon").count()
        + long_lines
        + svg.matches("<rect").count().saturating_sub(4)
}
