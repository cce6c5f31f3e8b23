//! [`LogExporter`]: alert, budget and recommendation lines for a console.

use std::io::Write;

use super::{ExportBatch, Exporter};
use crate::calendar::utc_minute;
use crate::clock::to_unix_nanos;
use crate::error::ExportError;

/// Writes one human-readable line per alert event, budget event, recommendation and
/// scheduled report, for a console or a log file:
///
/// ```text
/// [2026-11-23T10:42Z] FIRING critical error_rate model mistral-large: error rate 12.0% ...
/// [2026-11-23T18:03Z] BUDGET daily 85%: Daily budget 85% used: $4250.10 of $5000.00, ...
/// [2026-11-24T00:00Z] RECOMMEND high cheaper_equivalent/gpt-4o->gpt-4o-mini@0.0: Route ... (saves ~$412/30d)
/// [2026-11-24T00:00Z] REPORT daily: 1003512 selections, $3310.22, health 71/100
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
        let stamp = utc_minute(to_unix_nanos(batch.sealed_at) / 1_000_000_000);
        for e in &batch.budget_events {
            writeln!(
                self.out,
                "[{stamp}] BUDGET {:?} {:.0}%: {}",
                e.period,
                e.threshold * 100.0,
                e.message
            )?;
        }
        for r in &batch.recommendations {
            writeln!(
                self.out,
                "[{stamp}] RECOMMEND {} {}: {}{}",
                format!("{:?}", r.priority).to_lowercase(),
                r.id,
                r.title,
                r.savings_usd_per_30d
                    .map_or(String::new(), |s| format!(" (saves ~${s:.0}/30d)"))
            )?;
        }
        for r in &batch.reports {
            let p = &r.performance;
            writeln!(
                self.out,
                "[{stamp}] REPORT {}: {} selections, ${:.2}, health {}",
                format!("{:?}", r.schedule).to_lowercase(),
                p.overview.count,
                r.cost.spend_usd,
                p.health
                    .score
                    .map_or("-".to_owned(), |s| format!("{s:.0}/100"))
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
