//! The reports as a PDF (feature `pdf`): the HTML report's content, laid out on A4
//! pages with `pdf-writer`, the charts drawn by the same `plotters` code through
//! [`backend::PdfBackend`]. Helvetica is one of PDF's standard fonts, so nothing is
//! embedded and no external program runs.

mod backend;

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use plotters::prelude::{IntoDrawingArea, WHITE};

use crate::reports::document::{Block, Chart, Document, Source};
use crate::reports::{Reports, ScheduledReport};
use backend::{BOLD, PdfBackend, REGULAR, encode, text_width};

/// A4 in points.
const PAGE: (f64, f64) = (595.0, 842.0);
const MARGIN: f64 = 40.0;
const WIDTH: f64 = PAGE.0 - 2.0 * MARGIN;
/// Charts are drawn at the HTML report's pixel size, scaled to 80% of the text width
/// and centred, so two fit on a page.
const CHART_PX: (u32, u32) = (560, 320);
const CHART_WIDTH: f64 = 0.8 * WIDTH;
const BODY: f64 = 9.0;
const TABLE: f64 = 7.5;

/// Pages being filled top to bottom.
struct Layout {
    pages: Vec<Content>,
    /// Distance of the cursor from the page's top edge.
    y: f64,
}

impl Layout {
    fn new() -> Self {
        Self {
            pages: vec![Content::new()],
            y: MARGIN,
        }
    }

    fn page(&mut self) -> &mut Content {
        self.pages.last_mut().expect("at least one page")
    }

    /// Starts a new page unless `height` more points fit on this one.
    fn room(&mut self, height: f64) {
        if self.y + height > PAGE.1 - MARGIN && self.y > MARGIN {
            self.pages.push(Content::new());
            self.y = MARGIN;
        }
    }

    /// One line of text at the cursor's baseline + `size`, `x` from the left margin.
    fn text_at(&mut self, x: f64, baseline: f64, size: f64, bold: bool, text: &str) {
        let y = (PAGE.1 - baseline) as f32;
        let c = self.page();
        c.set_fill_gray(0.0);
        c.begin_text();
        c.set_font(if bold { BOLD } else { REGULAR }, size as f32);
        c.next_line((MARGIN + x) as f32, y);
        c.show(Str(&encode(text)));
        c.end_text();
    }

    /// A paragraph wrapped to the text width.
    fn paragraph(&mut self, text: &str, size: f64, bold: bool) {
        for line in wrap(text, WIDTH, size, bold) {
            self.room(size * 1.35);
            self.y += size * 1.35;
            self.text_at(0.0, self.y - size * 0.3, size, bold, &line);
        }
        self.y += size * 0.5;
    }

    /// A section heading, kept on one page with the first `keep` points after it.
    fn heading(&mut self, text: &str, keep: f64) {
        self.room(40.0 + keep);
        self.y += 14.0;
        self.paragraph(text, 13.0, true);
        let y = (PAGE.1 - self.y + 3.0) as f32;
        let c = self.page();
        c.set_stroke_rgb(0.106, 0.165, 0.29).set_line_width(1.2);
        c.move_to(MARGIN as f32, y)
            .line_to((MARGIN + WIDTH) as f32, y)
            .stroke();
        self.y += 4.0;
    }

    fn tiles(&mut self, tiles: &[(String, String)]) {
        let per_row = 4;
        let (w, h) = (WIDTH / per_row as f64, 34.0);
        for row in tiles.chunks(per_row) {
            self.room(h + 4.0);
            for (i, (label, value)) in row.iter().enumerate() {
                let x = i as f64 * w;
                let top = self.y;
                let c = self.page();
                c.set_stroke_gray(0.55).set_line_width(0.6);
                c.rect(
                    (MARGIN + x + 2.0) as f32,
                    (PAGE.1 - top - h) as f32,
                    (w - 4.0) as f32,
                    h as f32,
                )
                .stroke();
                self.text_at(x + 7.0, top + 11.0, 7.5, false, label);
                self.text_at(x + 7.0, top + 27.0, 13.0, true, value);
            }
            self.y += h + 6.0;
        }
    }

    fn table(&mut self, head: &[String], rows: &[Vec<String>]) {
        let n = head.len().max(1);
        // Columns get the width their longest cell asks for, shrunk to fit.
        let mut want = vec![0.0f64; n];
        for (i, cell) in head.iter().enumerate() {
            want[i] = want[i].max(text_width(cell, TABLE, true));
        }
        for row in rows {
            for (i, cell) in row.iter().enumerate().take(n) {
                want[i] = want[i].max(text_width(cell, TABLE, false));
            }
        }
        let pad = 6.0;
        let total: f64 = want.iter().map(|w| w + pad).sum();
        let shrink = (WIDTH / total).min(1.0);
        let widths: Vec<f64> = want.iter().map(|w| (w + pad) * shrink).collect();
        let line = TABLE * 1.6;
        let draw_row = |l: &mut Self, cells: &[String], bold: bool| {
            l.room(line);
            let mut x = 0.0;
            let base = l.y + TABLE * 1.15;
            for (cell, w) in cells.iter().zip(&widths) {
                let text = fit(cell, w - pad, TABLE, bold);
                l.text_at(x + pad / 2.0, base, TABLE, bold, &text);
                x += w;
            }
            l.y += line;
            let y = (PAGE.1 - l.y + 1.5) as f32;
            let c = l.page();
            c.set_stroke_gray(if bold { 0.3 } else { 0.8 })
                .set_line_width(0.4);
            c.move_to(MARGIN as f32, y)
                .line_to((MARGIN + WIDTH) as f32, y)
                .stroke();
        };
        draw_row(self, head, true);
        for row in rows {
            if self.y + line > PAGE.1 - MARGIN {
                self.room(line);
                draw_row(self, head, true);
            }
            draw_row(self, row, false);
        }
        self.y += 6.0;
    }

    fn chart(&mut self, chart: &Chart, caption: &str, src: &Source<'_>) {
        let scale = CHART_WIDTH / f64::from(CHART_PX.0);
        let h = chart_height();
        self.room(h + 24.0);
        let top = PAGE.1 - self.y;
        let drawn = {
            let page = self.pages.last_mut().expect("at least one page");
            let backend = PdfBackend::new(
                page,
                CHART_PX,
                (MARGIN + (WIDTH - CHART_WIDTH) / 2.0, top),
                scale,
            );
            let root = backend.into_drawing_area();
            root.fill(&WHITE)
                .map_err(|e| format!("{e:?}"))
                .and_then(|()| chart.draw(&root, src))
        };
        self.y += h + 4.0;
        if let Err(e) = drawn {
            self.paragraph(&format!("chart unavailable: {e}"), BODY, false);
        }
        self.paragraph(caption, 7.5, false);
        self.y += 6.0;
    }
}

/// A chart's height on the page, in points.
fn chart_height() -> f64 {
    f64::from(CHART_PX.1) * CHART_WIDTH / f64::from(CHART_PX.0)
}

/// `text` split into lines no wider than `width`; a word longer than a line is cut.
fn wrap(text: &str, width: f64, size: f64, bold: bool) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    let words = text
        .split_whitespace()
        .flat_map(|w| split_long(w, width, size, bold));
    for word in words {
        let word = word.as_str();
        let candidate = if line.is_empty() {
            word.to_owned()
        } else {
            format!("{line} {word}")
        };
        if text_width(&candidate, size, bold) > width && !line.is_empty() {
            lines.push(std::mem::replace(&mut line, word.to_owned()));
        } else {
            line = candidate;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// `word` in pieces no wider than `width` (itself when it fits).
fn split_long(word: &str, width: f64, size: f64, bold: bool) -> Vec<String> {
    let mut pieces = vec![String::new()];
    for c in word.chars() {
        let last = pieces.last_mut().expect("one piece");
        last.push(c);
        if text_width(last, size, bold) > width && last.chars().count() > 1 {
            last.pop();
            pieces.push(c.to_string());
        }
    }
    pieces
}

/// `text` cut with an ellipsis to fit `width`.
fn fit(text: &str, width: f64, size: f64, bold: bool) -> String {
    if text_width(text, size, bold) <= width {
        return text.to_owned();
    }
    let mut out: String = text.to_owned();
    while !out.is_empty() && text_width(&format!("{out}..."), size, bold) > width {
        out.pop();
    }
    format!("{out}...")
}

fn render(doc: &Document, src: &Source<'_>) -> Vec<u8> {
    let mut l = Layout::new();
    l.paragraph(&doc.title, 20.0, true);
    l.paragraph(&doc.subtitle, BODY, false);
    for (i, block) in doc.blocks.iter().enumerate() {
        match block {
            Block::Heading(t) => {
                let keep = match doc.blocks.get(i + 1) {
                    Some(Block::Charts(_)) => chart_height() + 24.0,
                    _ => 60.0,
                };
                l.heading(t, keep);
            }
            Block::Text(t) => l.paragraph(t, BODY, false),
            Block::Tiles(t) => l.tiles(t),
            Block::Table(head, rows) => l.table(head, rows),
            Block::Charts(charts) => {
                for (chart, caption) in charts {
                    l.chart(chart, caption, src);
                }
            }
        }
    }
    write(doc, l.pages)
}

/// The document's pages as a PDF file.
fn write(doc: &Document, pages: Vec<Content>) -> Vec<u8> {
    let mut pdf = Pdf::new();
    let mut next = 0;
    let mut id = || {
        next += 1;
        Ref::new(next)
    };
    let (catalog, tree, regular, bold, info) = (id(), id(), id(), id(), id());
    let page_ids: Vec<(Ref, Ref)> = pages.iter().map(|_| (id(), id())).collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_ids.iter().map(|p| p.0))
        .count(page_ids.len() as i32);
    for (&(page_id, content_id), content) in page_ids.iter().zip(pages) {
        let mut page = pdf.page(page_id);
        page.media_box(Rect::new(0.0, 0.0, PAGE.0 as f32, PAGE.1 as f32));
        page.parent(tree);
        page.contents(content_id);
        let mut resources = page.resources();
        let mut fonts = resources.fonts();
        fonts.pair(REGULAR, regular);
        fonts.pair(BOLD, bold);
        fonts.finish();
        resources.finish();
        page.finish();
        pdf.stream(content_id, &content.finish());
    }
    for (id, name) in [(regular, &b"Helvetica"[..]), (bold, b"Helvetica-Bold")] {
        pdf.type1_font(id)
            .base_font(Name(name))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    pdf.document_info(info)
        .title(TextStr(&doc.title))
        .subject(TextStr(&doc.subtitle))
        .producer(TextStr(concat!("modelmeter ", env!("CARGO_PKG_VERSION"))));
    pdf.finish()
}

impl Reports {
    /// Both reports as a PDF (feature `pdf`): the content of [`to_html`](Self::to_html)
    /// on A4 pages, the same charts as vector graphics, in the standard Helvetica font.
    /// Nothing external runs and nothing is embedded.
    ///
    /// ```
    /// use modelmeter::{Monitor, Selection};
    /// use std::time::Duration;
    ///
    /// let monitor = Monitor::builder().background(false).build()?;
    /// monitor.record_selection(&Selection::new("gpt-4o", Duration::from_millis(640)))?;
    /// let pdf = monitor.reports(Duration::from_secs(3600)).to_pdf();
    /// assert!(pdf.starts_with(b"%PDF-"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_pdf(&self) -> Vec<u8> {
        let (doc, src) = self.document();
        render(&doc, &src)
    }
}

impl ScheduledReport {
    /// The scheduled reports as a PDF; see [`Reports::to_pdf`].
    pub fn to_pdf(&self) -> Vec<u8> {
        let (doc, src) = self.document();
        render(&doc, &src)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_and_fitting_respect_the_width() {
        let lines = wrap(
            "the quick brown fox jumps over the lazy dog",
            60.0,
            9.0,
            false,
        );
        assert!(lines.len() > 2);
        assert!(lines.iter().all(|l| text_width(l, 9.0, false) <= 60.0));
        assert_eq!(
            lines.join(" "),
            "the quick brown fox jumps over the lazy dog"
        );
        let cut = fit("claude-3-5-sonnet-20241022", 40.0, 7.5, false);
        assert!(cut.ends_with("...") && text_width(&cut, 7.5, false) <= 40.0);
    }
}
