//! Writing families in the Prometheus text format 0.0.4 or in OpenMetrics 1.0.
//!
//! The two differ only in framing: OpenMetrics names a counter family without its
//! `_total` suffix, may declare a unit, and ends with `# EOF`. Samples are identical, so
//! one writer serves both.

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

    /// One sample: `name{labels} value`. `labels` is already rendered (see [`Labels`]).
    pub(crate) fn sample(&mut self, name: &str, labels: &dyn Display, value: impl Display) {
        let _ = writeln!(self.out, "{name}{{{labels}}} {value}");
    }

    /// A sample without labels.
    pub(crate) fn bare(&mut self, name: &str, value: impl Display) {
        let _ = writeln!(self.out, "{name} {value}");
    }

    /// Ends the exposition (`# EOF` in OpenMetrics).
    pub(crate) fn finish(self) {
        if self.format == ExpositionFormat::OpenMetrics {
            self.out.push_str("# EOF\n");
        }
    }
}

/// A label set: pairs of name and (unescaped) value, optionally followed by one more
/// pair rendered verbatim (`le="0.5"`, `quantile="0.95"`).
pub(crate) struct Labels<'a>(pub &'a [(&'a str, &'a str)]);

impl Display for Labels<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_char(',')?;
            }
            write!(f, "{k}=\"{}\"", Escaped(v))?;
        }
        Ok(())
    }
}

/// A label value escaped as both formats require: `\`, `"` and newline.
pub(crate) struct Escaped<'a>(pub &'a str);

impl Display for Escaped<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.0;
        let mut start = 0;
        for (i, c) in s.char_indices() {
            let esc = match c {
                '\\' => "\\\\",
                '"' => "\\\"",
                '\n' => "\\n",
                _ => continue,
            };
            f.write_str(&s[start..i])?;
            f.write_str(esc)?;
            start = i + 1;
        }
        f.write_str(&s[start..])
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
        assert_eq!(Escaped("a\"b\\c\nd é").to_string(), "a\\\"b\\\\c\\nd é");
        assert_eq!(
            Labels(&[("m", "x\"y"), ("t", "in")]).to_string(),
            "m=\"x\\\"y\",t=\"in\""
        );
    }

    #[test]
    fn open_metrics_names_counter_families_without_total_and_ends_with_eof() {
        let mut s = String::new();
        let mut e = Encoder::new(&mut s, ExpositionFormat::OpenMetrics);
        e.family("a_total", Kind::Counter, "A.");
        e.sample("a_total", &Labels(&[("m", "x")]), 3);
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
