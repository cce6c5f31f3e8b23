//! [`LogExporter`]: alert, budget and recommendation lines for a console.

use std::io::Write;

use super::{ExportBatch, Exporter};
use crate::alerts::{AlertEventKind, IncidentEventKind};
use crate::calendar::rfc3339;
use crate::clock::to_unix_nanos;
use crate::error::ExportError;

/// Writes one human-readable line per incident notification, budget event,
/// recommendation and scheduled report, for a console or a log file. Alerts reach the
/// log through their [`Incident`](crate::Incident): one line when it opens (with its
/// alerts), when it changes and when it resolves, however many alerts it holds; an
/// alert's own line appears only for what an incident does not say (escalation,
/// de-escalation, reminders, no data, an accepted new normal):
///
/// ```text
/// [2026-11-23T10:45Z] INCIDENT OPENED critical error_rate model mistral-large: 1 alert: error_rate model mistral-large (critical)
/// [2026-11-23T14:03Z] INCIDENT OPENED warning cache_hit_rate on 8 scopes: 8 alerts: cache_hit_rate model gpt-4o (warning), ...
/// [2026-11-23T15:10Z] INCIDENT RESOLVED warning cache_hit_rate on 8 scopes after 1h7m
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
        for e in &batch.incidents {
            let i = &e.incident;
            let at = rfc3339(to_unix_nanos(e.at) / 1_000_000_000);
            let kind = e.kind.as_str().to_uppercase();
            let severity = i.severity;
            if e.kind == IncidentEventKind::Resolved {
                let d = i.time_to_resolve().unwrap_or_default().as_secs();
                let lasted = format!("{}h{}m", d / 3600, d / 60 % 60);
                writeln!(
                    self.out,
                    "[{at}] INCIDENT {kind} {severity} {} after {lasted}",
                    i.title
                )?;
                continue;
            }
            let alerts: Vec<String> = i
                .alerts
                .iter()
                .filter(|a| a.ended_at.is_none())
                .map(|a| format!("{} {} ({})", a.rule_id, a.scope, a.severity))
                .collect();
            writeln!(
                self.out,
                "[{at}] INCIDENT {kind} {severity} {}: {} alert{}: {}",
                i.title,
                alerts.len(),
                if alerts.len() == 1 { "" } else { "s" },
                alerts.join(", ")
            )?;
        }
        // Firing and resolution are told by the incidents above.
        for e in batch
            .alerts
            .iter()
            .filter(|e| !matches!(e.kind, AlertEventKind::Firing | AlertEventKind::Resolved))
        {
            let kind = e.kind.as_str().to_uppercase();
            let severity = e.severity;
            // Rule messages usually open with their scope; the line already names it.
            let scope = e.scope.to_string();
            let message = e
                .message
                .strip_prefix(scope.as_str())
                .and_then(|m| m.strip_prefix(": "))
                .unwrap_or(&e.message);
            writeln!(
                self.out,
                "[{}] {kind} {severity} {} {scope}: {message}",
                rfc3339(to_unix_nanos(e.at) / 1_000_000_000),
                e.rule_id,
            )?;
        }
        let stamp = rfc3339(to_unix_nanos(batch.sealed_at) / 1_000_000_000);
        for e in &batch.budget_events {
            writeln!(
                self.out,
                "[{stamp}] BUDGET {} {:.0}%: {}",
                e.period,
                e.threshold * 100.0,
                e.message
            )?;
        }
        for r in &batch.recommendations {
            writeln!(
                self.out,
                "[{stamp}] RECOMMEND {} {}: {}{}",
                r.priority,
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
                r.schedule,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::AlertEvent;
    use crate::rules::{Scope, Severity};
    use std::time::SystemTime;

    #[test]
    fn an_alert_line_names_its_scope_once() {
        let scope = Scope::model("gpt-4o");
        let event = |message: String| AlertEvent {
            alert_id: crate::alerts::AlertId(1),
            kind: AlertEventKind::Escalated,
            rule_id: "error_rate".into(),
            scope: scope.clone(),
            severity: Severity::Critical,
            observed: 0.2,
            threshold: 0.1,
            message,
            at: SystemTime::UNIX_EPOCH,
            started_at: SystemTime::UNIX_EPOCH,
        };
        let mut log = LogExporter::new(Vec::new());
        let alerts = vec![
            event(format!("{scope}: error rate is past the critical line")),
            event("a custom rule's own words".into()),
        ];
        log.export(&ExportBatch::new(
            SystemTime::UNIX_EPOCH,
            Vec::new(),
            alerts,
        ))
        .unwrap();
        let text = String::from_utf8(log.out).unwrap();
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(
            lines[0].ends_with(
                "ESCALATED critical error_rate model gpt-4o: error rate is past the critical line"
            ),
            "{text}"
        );
        assert_eq!(lines[0].matches("gpt-4o").count(), 1, "{text}");
        assert!(
            lines[1].ends_with("model gpt-4o: a custom rule's own words"),
            "{text}"
        );
    }

    #[test]
    fn kinds_read_as_their_serde_names_and_times_carry_seconds() {
        let at = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_795_392_065);
        let event = AlertEvent {
            alert_id: crate::alerts::AlertId(1),
            kind: AlertEventKind::NoData,
            rule_id: "error_rate".into(),
            scope: Scope::model("GPT-4o"),
            severity: Severity::Warning,
            observed: 0.0,
            threshold: 0.1,
            message: "no data".into(),
            at,
            started_at: at,
        };
        let mut log = LogExporter::new(Vec::new());
        log.export(&ExportBatch::new(at, Vec::new(), vec![event]))
            .unwrap();
        let text = String::from_utf8(log.out).unwrap();
        assert_eq!(
            text.trim_end(),
            "[2026-11-23T00:01:05Z] NO_DATA warning error_rate model GPT-4o: no data"
        );
    }
}
