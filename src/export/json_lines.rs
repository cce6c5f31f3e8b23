//! [`JsonLinesExporter`]: one JSON object per line.

use std::io::Write;

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::{ExportBatch, Exporter, SCHEMA_VERSION};
use crate::alerts::{AlertEvent, IncidentEvent};
use crate::bucket::MinuteBucket;
use crate::cost::BudgetEvent;
use crate::dimension::DimensionBucket;
use crate::error::ExportError;
use crate::heuristics::Recommendation;
use crate::reports::ScheduledReport;

/// One line of [`JsonLinesExporter`] output, tagged with its `type` and the schema
/// version `v`: the exporter writes borrowed values, and a consumer reads lines back
/// as owned ones with the crate's own types.
///
/// ```
/// use modelmeter::export::JsonLine;
///
/// let line = r#"{"type":"alert","v":1,"alert_id":7,"kind":"firing","rule_id":"error_rate",
///   "scope":"overall","severity":"critical","observed":0.2,"threshold":0.1,
///   "message":"error rate 20%","at":1800000000000,"started_at":1799999940000}"#;
/// match serde_json::from_str::<JsonLine>(line)? {
///     JsonLine::Alert { alert, .. } => assert_eq!(alert.alert_id.get(), 7),
///     other => panic!("not an alert: {other:?}"),
/// }
/// # Ok::<(), serde_json::Error>(())
/// ```
// Lines are read and written one at a time, never stored in bulk: boxing the large
// variants would cost an allocation per line for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum JsonLine<'a> {
    /// A sealed minute.
    Bucket {
        /// The schema version.
        v: u32,
        /// The minute.
        #[serde(flatten)]
        bucket: Cow<'a, MinuteBucket>,
    },
    /// A sealed minute of one dimension value ([`DimensionBucket`]).
    Dimension {
        /// The schema version.
        v: u32,
        /// The minute.
        #[serde(flatten)]
        bucket: Cow<'a, DimensionBucket>,
    },
    /// An alert event.
    Alert {
        /// The schema version.
        v: u32,
        /// The event.
        #[serde(flatten)]
        alert: Cow<'a, AlertEvent>,
    },
    /// An incident event.
    Incident {
        /// The schema version.
        v: u32,
        /// The event.
        #[serde(flatten)]
        incident: Cow<'a, IncidentEvent>,
    },
    /// A recommendation.
    Recommendation {
        /// The schema version.
        v: u32,
        /// The recommendation.
        #[serde(flatten)]
        recommendation: Cow<'a, Recommendation>,
    },
    /// A budget threshold crossed.
    Budget {
        /// The schema version.
        v: u32,
        /// The event.
        #[serde(flatten)]
        event: Cow<'a, BudgetEvent>,
    },
    /// A scheduled report.
    Report {
        /// The schema version.
        v: u32,
        /// The report.
        #[serde(flatten)]
        report: Cow<'a, ScheduledReport>,
    },
}

/// Writes each minute bucket, dimension bucket, alert event, incident event,
/// recommendation, budget event and scheduled report as one JSON object per line, with
/// a `type` field (`bucket`, `dimension`, `alert`, `incident`, `recommendation`,
/// `budget`, `report`) and the schema version `v` (see
/// [`ExportBatch`] for the schema); read them back as [`JsonLine`]s. Latency histograms
/// are [`LatencyHistogram`](crate::LatencyHistogram)s.
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
        let lines = (batch.buckets.iter())
            .map(|x| JsonLine::Bucket {
                v,
                bucket: Cow::Borrowed(x),
            })
            .chain(
                (batch.dimension_buckets.iter()).map(|x| JsonLine::Dimension {
                    v,
                    bucket: Cow::Borrowed(x),
                }),
            )
            .chain((batch.alerts.iter()).map(|x| JsonLine::Alert {
                v,
                alert: Cow::Borrowed(x),
            }))
            .chain((batch.incidents.iter()).map(|x| JsonLine::Incident {
                v,
                incident: Cow::Borrowed(x),
            }))
            .chain(
                (batch.recommendations.iter()).map(|x| JsonLine::Recommendation {
                    v,
                    recommendation: Cow::Borrowed(x),
                }),
            )
            .chain((batch.budget_events.iter()).map(|x| JsonLine::Budget {
                v,
                event: Cow::Borrowed(x),
            }))
            .chain((batch.reports.iter()).map(|x| JsonLine::Report {
                v,
                report: Cow::Borrowed(x),
            }));
        for line in lines {
            serde_json::to_writer(&mut self.out, &line).map_err(ExportError::new)?;
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
