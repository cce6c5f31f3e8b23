//! [`LogExporter`]: alert lines for a console.

use std::io::Write;

use super::{ExportBatch, Exporter};
use crate::clock::to_unix_nanos;
use crate::error::ExportError;

/// Writes one human-readable line per alert event, for a console or a log file:
///
/// ```text
/// [2026-11-23T10:42Z] FIRING critical error_rate model mistral-large: error rate 12.0% ...
/// ```
///
/// ```
/// use modelmeter::{LogExporter, Monitor};
///
/// let monitor = Monitor::builder().exporter(LogExporter::new(std::io::stderr())).build()?;
/// # Ok::<(), modelmeter::ConfigError>(())
/// ```
#[derive(Debug)]
pub struct LogExporter<W: Write + Send + 'static> {
    out: W,
}

impl<W: Write + Send + 'static> LogExporter<W> {
    /// Writes to `out`.
    pub fn new(out: W) -> Self {
        Self { out }
    }
}

impl<W: Write + Send + 'static> Exporter for LogExporter<W> {
    fn export(&mut self, batch: &ExportBatch) -> Result<(), ExportError> {
        for e in &batch.alerts {
            let kind = format!("{:?}", e.kind).to_uppercase();
            let severity = format!("{:?}", e.severity).to_lowercase();
            writeln!(
                self.out,
                "[{}] {kind} {severity} {} {}: {}",
                utc_minute(to_unix_nanos(e.at) / 1_000_000_000),
                e.rule_id,
                e.scope,
                e.message
            )?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ExportError> {
        Ok(self.out.flush()?)
    }

    fn name(&self) -> &str {
        "log"
    }
}

/// `YYYY-MM-DDTHH:MMZ` for Unix seconds (civil-from-days, proleptic Gregorian).
fn utc_minute(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let (h, m) = (secs % 86_400 / 3600, secs % 3600 / 60);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}Z")
}

#[cfg(test)]
mod tests {
    #[test]
    fn civil_dates() {
        assert_eq!(super::utc_minute(0), "1970-01-01T00:00Z");
        assert_eq!(super::utc_minute(1_795_392_000 + 3660), "2026-11-23T01:01Z");
        assert_eq!(super::utc_minute(951_782_400), "2000-02-29T00:00Z");
    }
}
