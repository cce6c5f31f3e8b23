//! [`JsonLinesExporter`]: one JSON object per line.

use std::io::Write;

use serde::Serialize;

use super::{ExportBatch, Exporter, SCHEMA_VERSION};
use crate::alerts::{AlertEvent, IncidentEvent};
use crate::bucket::MinuteBucket;
use crate::cost::BudgetEvent;
use crate::error::ExportError;
use crate::heuristics::Recommendation;
use crate::reports::ScheduledReport;

/// One line of output, tagged with its `type` and the schema version `v`.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Line<'a> {
    Bucket {
        v: u32,
        #[serde(flatten)]
        bucket: &'a MinuteBucket,
    },
    Alert {
        v: u32,
        #[serde(flatten)]
        alert: &'a AlertEvent,
    },
    Incident {
        v: u32,
        #[serde(flatten)]
        incident: &'a IncidentEvent,
    },
    Recommendation {
        v: u32,
        #[serde(flatten)]
        recommendation: &'a Recommendation,
    },
    Budget {
        v: u32,
        #[serde(flatten)]
        event: &'a BudgetEvent,
    },
    Report {
        v: u32,
        #[serde(flatten)]
        report: &'a ScheduledReport,
    },
}

/// Writes each minute bucket, alert event, incident event, recommendation, budget event
/// and scheduled report as one JSON object per line, with a `type` field (`bucket`,
/// `alert`, `incident`, `recommendation`, `budget`, `report`) and the schema version `v` (see
/// [`ExportBatch`] for the schema). Latency histograms are `[[value_us, count], ...]`.
///
/// ```
/// use modelmeter::{JsonLinesExporter, Monitor};
///
/// let file = std::fs::File::create(std::env::temp_dir().join("modelmeter-doc.jsonl"))?;
/// let monitor = Monitor::builder()
///     .exporter(JsonLinesExporter::new(std::io::BufWriter::new(file)))
///     .background(false)
///     .build()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct JsonLinesExporter<W: Write + Send + 'static> {
    out: W,
}

impl<W: Write + Send + 'static> JsonLinesExporter<W> {
    /// Writes to `out`; wrap files in a `BufWriter`.
    pub fn new(out: W) -> Self {
        Self { out }
    }

    /// The writer back.
    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: Write + Send + 'static> Exporter for JsonLinesExporter<W> {
    fn export(&mut self, batch: &ExportBatch) -> Result<(), ExportError> {
        let v = SCHEMA_VERSION;
        let lines = (batch
            .buckets
            .iter()
            .map(|bucket| Line::Bucket { v, bucket }))
        .chain(batch.alerts.iter().map(|alert| Line::Alert { v, alert }))
        .chain((batch.incidents.iter()).map(|incident| Line::Incident { v, incident }))
        .chain(
            (batch.recommendations.iter())
                .map(|recommendation| Line::Recommendation { v, recommendation }),
        )
        .chain(
            batch
                .budget_events
                .iter()
                .map(|event| Line::Budget { v, event }),
        )
        .chain(
            batch
                .reports
                .iter()
                .map(|report| Line::Report { v, report }),
        );
        for line in lines {
            serde_json::to_writer(&mut self.out, &line)?;
            self.out.write_all(b"\n")?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ExportError> {
        Ok(self.out.flush()?)
    }

    fn name(&self) -> &str {
        "json_lines"
    }
}
