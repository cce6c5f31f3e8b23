//! The reports as one self-contained HTML page (feature `html`): inline SVG charts
//! drawn by `plotters`, inline CSS, no script and no network, readable when printed.

use std::fmt::Write as _;

use plotters::prelude::{IntoDrawingArea, SVGBackend, WHITE};

use crate::reports::document::{Block, Chart, Document, Source};
use crate::reports::{Reports, ScheduledReport};

/// Chart size in CSS pixels; the SVG scales to the column it sits in.
const CHART_SIZE: (u32, u32) = (560, 320);

const STYLE: &str = r#"
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #111; margin: 0 auto; padding: 24px; max-width: 1180px; background: #fff; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 28px 0 10px; border-bottom: 2px solid #1b2a4a; padding-bottom: 3px; }
.subtitle { color: #444; margin: 0 0 18px; }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(130px, 1fr)); gap: 10px; }
.tile { border: 1px solid #999; border-radius: 6px; padding: 8px 10px; }
.tile .label { font-size: 12px; color: #444; }
.tile .value { font-size: 20px; font-weight: 600; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 14px; }
figure.chart { margin: 0; border: 1px solid #ccc; border-radius: 6px; padding: 6px; break-inside: avoid; }
figure.chart svg { width: 100%; height: auto; display: block; }
figcaption { font-size: 12px; color: #333; padding: 4px 4px 0; }
.chart-error { color: #a00; padding: 20px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 14px; font-variant-numeric: tabular-nums; break-inside: auto; }
th, td { border: 1px solid #bbb; padding: 3px 6px; text-align: left; }
td.n { text-align: right; white-space: nowrap; }
th { background: #e8e8e8; }
@media print { body { padding: 0; max-width: none; } h2 { break-after: avoid; } tr { break-inside: avoid; } }
"#;

/// Escapes text for HTML content and attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Whether a cell reads as a number (right-aligned): digits with a unit or sign.
fn numeric(cell: &str) -> bool {
    let t = cell.trim_start_matches(['$', '+', '-']);
    t.starts_with(|c: char| c.is_ascii_digit()) && !cell.contains(':')
}

/// One chart as inline SVG, or the drawing error in its place.
fn svg(chart: &Chart, src: &Source<'_>) -> String {
    let mut buf = String::new();
    let drawn = {
        let root = SVGBackend::with_string(&mut buf, CHART_SIZE).into_drawing_area();
        root.fill(&WHITE)
            .map_err(|e| format!("{e:?}"))
            .and_then(|()| chart.draw(&root, src))
            .and_then(|()| root.present().map_err(|e| format!("{e:?}")))
    };
    match drawn {
        Ok(()) => buf,
        Err(e) => format!(
            r#"<div class="chart-error">chart unavailable: {}</div>"#,
            escape(&e)
        ),
    }
}

fn render(doc: &Document, src: &Source<'_>) -> String {
    let mut h = String::with_capacity(256 * 1024);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"modelmeter {}\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>{}</h1>\n<p class=\"subtitle\">{}</p>\n",
        env!("CARGO_PKG_VERSION"),
        escape(&doc.title),
        escape(&doc.title),
        escape(&doc.subtitle)
    );
    for block in &doc.blocks {
        match block {
            Block::Heading(t) => {
                let _ = writeln!(h, "<h2>{}</h2>", escape(t));
            }
            Block::Text(t) => {
                let _ = writeln!(h, "<p>{}</p>", escape(t));
            }
            Block::Tiles(tiles) => {
                h.push_str("<div class=\"tiles\">\n");
                for (label, value) in tiles {
                    let _ = writeln!(
                        h,
                        "<div class=\"tile\"><div class=\"label\">{}</div><div class=\"value\">{}</div></div>",
                        escape(label),
                        escape(value)
                    );
                }
                h.push_str("</div>\n");
            }
            Block::Table(head, rows) => {
                h.push_str("<table>\n<thead><tr>");
                for c in head {
                    let _ = write!(h, "<th>{}</th>", escape(c));
                }
                h.push_str("</tr></thead>\n<tbody>\n");
                for row in rows {
                    h.push_str("<tr>");
                    for c in row {
                        let class = if numeric(c) { " class=\"n\"" } else { "" };
                        let _ = write!(h, "<td{class}>{}</td>", escape(c));
                    }
                    h.push_str("</tr>\n");
                }
                h.push_str("</tbody>\n</table>\n");
            }
            Block::Charts(charts) => {
                h.push_str("<div class=\"charts\">\n");
                for (chart, caption) in charts {
                    let _ = write!(
                        h,
                        "<figure class=\"chart\" data-chart=\"{}\">\n{}\n<figcaption>{}</figcaption>\n</figure>\n",
                        chart.name(),
                        svg(chart, src),
                        escape(caption)
                    );
                }
                h.push_str("</div>\n");
            }
        }
    }
    h.push_str("</body>\n</html>\n");
    h
}

impl Reports {
    /// Both reports as one self-contained HTML page (feature `html`): headline tiles,
    /// charts (p50/p95/p99 per model, latency distributions, selections and error rate,
    /// cache hit rate, spend by model, budget burn, alerts on a timeline), the model
    /// table with the change against the previous period, costs, alerts and the
    /// recommendations with their evidence. Inline SVG and CSS only: no script, no
    /// network, readable printed.
    ///
    /// ```
    /// use modelmeter::{Monitor, Selection};
    /// use std::time::Duration;
    ///
    /// let monitor = Monitor::builder().background(false).build()?;
    /// monitor.record_selection(&Selection::new("gpt-4o", Duration::from_millis(640)).cost_usd(0.002))?;
    /// let html = monitor.reports(Duration::from_secs(3600)).to_html();
    /// assert!(html.starts_with("<!DOCTYPE html>"));
    /// assert!(html.contains("data-chart=\"latency-distribution\""));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_html(&self) -> String {
        let (doc, src) = self.document();
        render(&doc, &src)
    }
}

impl ScheduledReport {
    /// The scheduled reports as one self-contained HTML page; see
    /// [`Reports::to_html`].
    pub fn to_html(&self) -> String {
        let (doc, src) = self.document();
        render(&doc, &src)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
