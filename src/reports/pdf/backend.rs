//! A `plotters` drawing backend that writes PDF vector graphics into a page's content
//! stream, so the PDF report draws the very charts the HTML report draws, with the
//! standard Helvetica font (no font file, no external program).

use std::convert::Infallible;

use pdf_writer::{Content, Name, Str};
use plotters::prelude::DrawingBackend;
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind, FontStyle,
    FontTransform,
};

/// The regular and bold fonts' resource names on every page.
pub(crate) const REGULAR: Name<'static> = Name(b"F1");
pub(crate) const BOLD: Name<'static> = Name(b"F2");

/// Helvetica's advance widths (per 1000 em) of the printable ASCII characters, from
/// its Adobe font metrics.
const WIDTHS: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 222, 333, 333, 389, 584, 278, 333, 278,
    278, // ' '..'/'
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584,
    556, // '0'..'?'
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722,
    778, // '@'..'O'
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469,
    556, // 'P'..'_'
    222, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556,
    556, // '`'..'o'
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, // 'p'..'~'
];

/// The WinAnsi (Windows-1252) byte of the characters it adds to Latin-1 in its
/// 0x80–0x9F range, with their Helvetica widths.
const WIN_ANSI_EXTRA: [(char, u8, u16); 16] = [
    ('€', 0x80, 556),
    ('‚', 0x82, 222),
    ('„', 0x84, 333),
    ('…', 0x85, 1000),
    ('‰', 0x89, 1000),
    ('‘', 0x91, 222),
    ('’', 0x92, 222),
    ('“', 0x93, 333),
    ('”', 0x94, 333),
    ('•', 0x95, 350),
    ('–', 0x96, 556),
    ('—', 0x97, 1000),
    ('™', 0x99, 1000),
    ('Œ', 0x8c, 1000),
    ('œ', 0x9c, 944),
    ('Ÿ', 0x9f, 667),
];

/// A character's byte in WinAnsiEncoding (the fonts' declared encoding) and its width;
/// `?` for a character the encoding lacks.
fn glyph(c: char) -> (u8, u16) {
    match c {
        ' '..='~' => (c as u8, WIDTHS[c as usize - 0x20]),
        // Latin-1's upper half is WinAnsi's too; accented letters are about as wide
        // as their base letters, which are mostly 556 or wider capitals.
        '\u{a0}'..='\u{ff}' => (c as u32 as u8, if c.is_uppercase() { 667 } else { 556 }),
        _ => WIN_ANSI_EXTRA
            .iter()
            .find(|e| e.0 == c)
            .map_or((b'?', 556), |e| (e.1, e.2)),
    }
}

/// `text` in the bytes the fonts' WinAnsiEncoding shows.
pub(crate) fn encode(text: &str) -> Vec<u8> {
    text.chars().map(|c| glyph(c).0).collect()
}

/// The width of `text` in Helvetica (bold about 5% wider) at `size` points.
pub(crate) fn text_width(text: &str, size: f64, bold: bool) -> f64 {
    let units: u32 = text.chars().map(|c| u32::from(glyph(c).1)).sum();
    let w = f64::from(units) * size / 1000.0;
    if bold { w * 1.05 } else { w }
}

/// Draws on a `width × height` pixel area whose top-left corner is at `(left, top)`
/// in page points (PDF's origin is bottom-left), one pixel being `scale` points.
pub(crate) struct PdfBackend<'a> {
    content: &'a mut Content,
    size: (u32, u32),
    left: f64,
    top: f64,
    scale: f64,
}

impl<'a> PdfBackend<'a> {
    pub(crate) fn new(
        content: &'a mut Content,
        size: (u32, u32),
        (left, top): (f64, f64),
        scale: f64,
    ) -> Self {
        Self {
            content,
            size,
            left,
            top,
            scale,
        }
    }

    /// A pixel position as page points.
    fn at(&self, (x, y): (f64, f64)) -> (f32, f32) {
        (
            (self.left + x * self.scale) as f32,
            (self.top - y * self.scale) as f32,
        )
    }

    /// The colour on a white page: PDF without transparency groups has no alpha, and
    /// every chart sits on white.
    fn rgb(c: BackendColor) -> (f32, f32, f32) {
        let a = c.alpha.clamp(0.0, 1.0);
        let ch = |v: u8| ((f64::from(v) * a + 255.0 * (1.0 - a)) / 255.0) as f32;
        (ch(c.rgb.0), ch(c.rgb.1), ch(c.rgb.2))
    }

    fn path(&mut self, points: &[BackendCoord]) {
        for (i, &(x, y)) in points.iter().enumerate() {
            let (px, py) = self.at((f64::from(x), f64::from(y)));
            if i == 0 {
                self.content.move_to(px, py);
            } else {
                self.content.line_to(px, py);
            }
        }
    }

    fn stroke_style(&mut self, style: &impl BackendStyle) {
        let (r, g, b) = Self::rgb(style.color());
        self.content.set_stroke_rgb(r, g, b);
        self.content
            .set_line_width((f64::from(style.stroke_width().max(1)) * self.scale * 0.8) as f32);
    }

    fn fill_style(&mut self, color: BackendColor) {
        let (r, g, b) = Self::rgb(color);
        self.content.set_fill_rgb(r, g, b);
    }
}

type Drawn = Result<(), DrawingErrorKind<Infallible>>;

impl DrawingBackend for PdfBackend<'_> {
    type ErrorType = Infallible;

    fn get_size(&self) -> (u32, u32) {
        self.size
    }

    fn ensure_prepared(&mut self) -> Drawn {
        Ok(())
    }

    fn present(&mut self) -> Drawn {
        Ok(())
    }

    fn draw_pixel(&mut self, (x, y): BackendCoord, color: BackendColor) -> Drawn {
        if color.alpha > 0.0 {
            self.fill_style(color);
            let (px, py) = self.at((f64::from(x), f64::from(y) + 1.0));
            let s = self.scale as f32;
            self.content.rect(px, py, s, s).fill_nonzero();
        }
        Ok(())
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Drawn {
        self.draw_path([from, to], style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        (x0, y0): BackendCoord,
        (x1, y1): BackendCoord,
        style: &S,
        fill: bool,
    ) -> Drawn {
        if style.color().alpha == 0.0 {
            return Ok(());
        }
        let (ax, ay) = self.at((f64::from(x0), f64::from(y1)));
        let (bx, by) = self.at((f64::from(x1), f64::from(y0)));
        if fill {
            self.fill_style(style.color());
            self.content.rect(ax, ay, bx - ax, by - ay).fill_nonzero();
        } else {
            self.stroke_style(style);
            self.content.rect(ax, ay, bx - ax, by - ay).stroke();
        }
        Ok(())
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Drawn {
        if style.color().alpha == 0.0 {
            return Ok(());
        }
        let points: Vec<BackendCoord> = path.into_iter().collect();
        if points.len() < 2 {
            return Ok(());
        }
        self.stroke_style(style);
        self.path(&points);
        self.content.stroke();
        Ok(())
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        (cx, cy): BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Drawn {
        if style.color().alpha == 0.0 {
            return Ok(());
        }
        // Four cubic arcs; the control points' distance is the usual 0.5523 radius.
        let r = f64::from(radius);
        let k = 0.552_284_8 * r;
        let (cx, cy) = (f64::from(cx), f64::from(cy));
        let p = |x: f64, y: f64| self.at((cx + x, cy + y));
        let start = p(r, 0.0);
        let arcs = [
            [p(r, k), p(k, r), p(0.0, r)],
            [p(-k, r), p(-r, k), p(-r, 0.0)],
            [p(-r, -k), p(-k, -r), p(0.0, -r)],
            [p(k, -r), p(r, -k), p(r, 0.0)],
        ];
        if fill {
            self.fill_style(style.color());
        } else {
            self.stroke_style(style);
        }
        self.content.move_to(start.0, start.1);
        for [a, b, c] in arcs {
            self.content.cubic_to(a.0, a.1, b.0, b.1, c.0, c.1);
        }
        self.content.close_path();
        if fill {
            self.content.fill_nonzero();
        } else {
            self.content.stroke();
        }
        Ok(())
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Drawn {
        if style.color().alpha == 0.0 {
            return Ok(());
        }
        let points: Vec<BackendCoord> = vert.into_iter().collect();
        if points.len() < 3 {
            return Ok(());
        }
        self.fill_style(style.color());
        self.path(&points);
        self.content.close_path().fill_nonzero();
        Ok(())
    }

    fn draw_text<TStyle: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &TStyle,
        (x, y): BackendCoord,
    ) -> Drawn {
        if style.color().alpha == 0.0 {
            return Ok(());
        }
        // As plotters' SVG backend: the font size is the style's size / 1.24, and the
        // anchor moves the text along its own direction, then the whole rotates.
        let size = style.size() / 1.24;
        let bold = matches!(style.style(), FontStyle::Bold);
        let width = text_width(text, size, bold);
        let dx = match style.anchor().h_pos {
            HPos::Left => 0.0,
            HPos::Center => -width / 2.0,
            HPos::Right => -width,
        };
        let dy = match style.anchor().v_pos {
            VPos::Top => 0.76 * size,
            VPos::Center => 0.26 * size,
            VPos::Bottom => -0.26 * size,
        };
        // Clockwise angle on the screen (y down), as plotters' transform means it.
        let (sin, cos) = match style.transform() {
            FontTransform::None => (0.0, 1.0),
            FontTransform::Rotate90 => (1.0, 0.0),
            FontTransform::Rotate180 => (0.0, -1.0),
            FontTransform::Rotate270 => (-1.0, 0.0),
        };
        // The baseline's start in pixels: the anchor offset along the text's direction
        // `(cos, sin)` and its downward normal `(-sin, cos)`.
        let bx = f64::from(x) + dx * cos - dy * sin;
        let by = f64::from(y) + dx * sin + dy * cos;
        let (px, py) = self.at((bx, by));
        let s = self.scale;
        self.fill_style(style.color());
        self.content.begin_text();
        self.content
            .set_font(if bold { BOLD } else { REGULAR }, (size * s) as f32);
        // Page space has y up: the text's x axis is (cos, −sin), its up axis (sin, cos).
        self.content
            .set_text_matrix([cos as f32, -sin as f32, sin as f32, cos as f32, px, py]);
        self.content.show(Str(&encode(text)));
        self.content.end_text();
        Ok(())
    }

    fn estimate_text_size<TStyle: BackendTextStyle>(
        &self,
        text: &str,
        style: &TStyle,
    ) -> Result<(u32, u32), DrawingErrorKind<Infallible>> {
        let size = style.size() / 1.24;
        let bold = matches!(style.style(), FontStyle::Bold);
        Ok((
            text_width(text, size, bold).ceil() as u32,
            (size * 1.2).ceil() as u32,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_follow_helvetica() {
        assert_eq!(text_width("0", 10.0, false), 5.56);
        assert_eq!(text_width("Ww", 1000.0, false), 944.0 + 722.0);
        assert_eq!(encode("p95 — 3µs r² ✓"), b"p95 \x97 3\xb5s r\xb2 ?");
        assert_eq!(text_width("—", 1000.0, false), 1000.0);
    }
}
