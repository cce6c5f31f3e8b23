//! Writing families in the Prometheus text format 0.0.4 or in OpenMetrics 1.0.
//!
//! The two differ only in framing: OpenMetrics names a counter family without its
//! `_total` suffix, may declare a unit, and ends with `# EOF`. Samples are identical, so
//! one writer serves both.

use std::borrow::Cow;
use std::fmt::{Display, Write as _};

use super::ExpositionFormat;

/// A family's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Counter,
    Gauge,
    Histogram,
    Summary,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
            Kind::Summary => "summary",
        }
    }
}

/// Appends families to a `String`.
pub(crate) struct Encoder<'a> {
    out: &'a mut String,
    format: ExpositionFormat,
}

impl<'a> Encoder<'a> {
    pub(crate) fn new(out: &'a mut String, format: ExpositionFormat) -> Self {
        Self { out, format }
    }

    /// The `# HELP` and `# TYPE` lines of a family whose samples are named `name`
    /// (counters: with `_total`).
    pub(crate) fn family(&mut self, name: &str, kind: Kind, help: &str) {
        let w = &mut *self.out;
        match self.format {
            ExpositionFormat::Text => {
                let _ = writeln!(w, "# HELP {name} {help}");
                let _ = writeln!(w, "# TYPE {name} {}", kind.as_str());
            }
            ExpositionFormat::OpenMetrics => {
                let family = match kind {
                    Kind::Counter => name.strip_suffix("_total").unwrap_or(name),
                    _ => name,
                };
                let _ = writeln!(w, "# TYPE {family} {}", kind.as_str());
                if family.ends_with("_seconds") {
                    let _ = writeln!(w, "# UNIT {family} seconds");
                }
                let _ = writeln!(w, "# HELP {family} {help}");
            }
        }
    }

    /// One sample: `name{labels} value`, label values already escaped (see
    /// [`escape`]): a model id is escaped once per render, not once per sample.
    pub(crate) fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Value) {
        let w = &mut *self.out;
        w.push_str(name);
        w.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                w.push(',');
            }
            w.push_str(k);
            w.push_str("=\"");
            w.push_str(v);
            w.push('"');
        }
        w.push_str("} ");
        value.write(w);
        w.push('\n');
    }

    /// One series of a classic histogram: cumulative `_bucket`s over `les` (the bounds,
    /// rendered) from the per-bucket `counts`, then `+Inf` (`total`), `_sum`, `_count`.
    /// `names` are the family's sample names (see [`HistogramNames`]).
    pub(crate) fn histogram(
        &mut self,
        names: &HistogramNames,
        labels: &[(&str, &str)],
        les: &[String],
        counts: &[u64],
        total: u64,
        sum: impl Value,
    ) {
        let mut with_le: Vec<(&str, &str)> = Vec::with_capacity(labels.len() + 1);
        with_le.extend_from_slice(labels);
        with_le.push(("le", ""));
        let last = with_le.len() - 1;
        let mut cumulative = 0;
        for (le, n) in les.iter().zip(counts) {
            cumulative += n;
            with_le[last].1 = le;
            self.sample(&names.bucket, &with_le, cumulative);
        }
        with_le[last].1 = "+Inf";
        self.sample(&names.bucket, &with_le, total);
        self.sample(&names.sum, labels, sum);
        self.sample(&names.count, labels, total);
    }

    /// A sample without labels.
    pub(crate) fn bare(&mut self, name: &str, value: impl Value) {
        let w = &mut *self.out;
        w.push_str(name);
        w.push(' ');
        value.write(w);
        w.push('\n');
    }

    /// Ends the exposition (`# EOF` in OpenMetrics).
    pub(crate) fn finish(self) {
        if self.format == ExpositionFormat::OpenMetrics {
            self.out.push_str("# EOF\n");
        }
    }
}

/// The sample names of a histogram family, built once per render.
pub(crate) struct HistogramNames {
    bucket: String,
    sum: String,
    count: String,
}

impl HistogramNames {
    pub(crate) fn new(family: &str) -> Self {
        Self {
            bucket: format!("{family}_bucket"),
            sum: format!("{family}_sum"),
            count: format!("{family}_count"),
        }
    }
}

/// A label value escaped as both formats require: `\`, `"` and newline; borrowed when
/// nothing needs escaping, as for almost every id.
pub(crate) fn escape(s: &str) -> Cow<'_, str> {
    if !s.bytes().any(|b| matches!(b, b'\\' | b'"' | b'\n')) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A sample value, written without the formatting machinery.
pub(crate) trait Value {
    fn write(self, out: &mut String);
}

impl Value for u64 {
    fn write(self, out: &mut String) {
        out.push_str(itoa::Buffer::new().format(self));
    }
}

impl Value for usize {
    fn write(self, out: &mut String) {
        out.push_str(itoa::Buffer::new().format(self));
    }
}

impl Value for Float {
    fn write(self, out: &mut String) {
        let _ = write!(out, "{self}");
    }
}

/// A sample value: integers as integers, floats in Go's notation for the specials.
pub(crate) struct Float(pub f64);

impl Display for Float {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let v = self.0;
        if v.is_nan() {
            f.write_str("NaN")
        } else if v.is_infinite() {
            f.write_str(if v > 0.0 { "+Inf" } else { "-Inf" })
        } else {
            write!(f, "{v}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd é"), "a\\\"b\\\\c\\nd é");
        assert!(matches!(escape("gpt-4o"), Cow::Borrowed(_)));
        let mut s = String::new();
        Encoder::new(&mut s, ExpositionFormat::Text).sample(
            "x",
            &[("m", &escape("q\"")), ("t", "in")],
            3u64,
        );
        assert_eq!(s, "x{m=\"q\\\"\",t=\"in\"} 3\n");
    }

    #[test]
    fn open_metrics_names_counter_families_without_total_and_ends_with_eof() {
        let mut s = String::new();
        let mut e = Encoder::new(&mut s, ExpositionFormat::OpenMetrics);
        e.family("a_total", Kind::Counter, "A.");
        e.sample("a_total", &[("m", "x")], 3u64);
        e.family("b_seconds", Kind::Histogram, "B.");
        e.finish();
        assert_eq!(
            s,
            "# TYPE a counter\n# HELP a A.\na_total{m=\"x\"} 3\n\
             # TYPE b_seconds histogram\n# UNIT b_seconds seconds\n# HELP b_seconds B.\n# EOF\n"
        );
        let mut t = String::new();
        let mut e = Encoder::new(&mut t, ExpositionFormat::Text);
        e.family("a_total", Kind::Counter, "A.");
        e.finish();
        assert_eq!(t, "# HELP a_total A.\n# TYPE a_total counter\n");
    }

    #[test]
    fn floats_use_the_exposition_spelling() {
        assert_eq!(Float(f64::NAN).to_string(), "NaN");
        assert_eq!(Float(f64::INFINITY).to_string(), "+Inf");
        assert_eq!(Float(0.25).to_string(), "0.25");
        assert_eq!(Float(3.0).to_string(), "3");
    }
}
