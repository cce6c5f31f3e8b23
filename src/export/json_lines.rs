//! [`JsonLinesExporter`]: one JSON object per line.

use std::io::Write;

use serde::Serialize;

use super::{ExportBatch, Exporter, SCHEMA_VERSION};
use crate::alerts::AlertEvent;
use crate::bucket::MinuteBucket;
use crate::error::ExportError;

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
}

/// Writes each minute bucket and alert event as one JSON object per line, with a
/// `type` field (`bucket`, `alert`) and the schema version `v` (see
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
        for bucket in &batch.buckets {
            serde_json::to_writer(&mut self.out, &Line::Bucket { v, bucket })?;
            self.out.write_all(b"\n")?;
        }
        for alert in &batch.alerts {
            serde_json::to_writer(&mut self.out, &Line::Alert { v, alert })?;
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
