//! [`ModelComparison`]: two models, or a model now against a saved [`Baseline`].

use std::fmt;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::summary::{Stats, Summary, de_time, ser_time};

/// A saved summary to compare against later; serde round-trips it (JSON, say).
///
/// ```
/// use modelmeter::{Baseline, ManualClock, ModelComparison, Monitor, Selection};
/// use std::time::{Duration, SystemTime};
///
/// let clock = ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_392_000));
/// let monitor = Monitor::builder().clock(clock.clone()).background(false).build()?;
/// monitor.record_selection(&Selection::new("gpt-4o", Duration::from_millis(800)))?;
/// let saved = serde_json::to_string(&monitor.baseline("before", Duration::from_secs(3600)))?;
///
/// monitor.record_selection(&Selection::new("gpt-4o", Duration::from_millis(1600)))?;
/// let baseline: Baseline = serde_json::from_str(&saved)?;
/// let cmp = monitor.compare_to_baseline("gpt-4o", &baseline, Duration::from_secs(3600)).unwrap();
/// assert_eq!(cmp.row("count").unwrap().change_pct, Some(100.0));
/// println!("{cmp}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// A label ("before the prompt change").
    pub name: String,
    /// When it was taken.
    #[serde(serialize_with = "ser_time", deserialize_with = "de_time")]
    pub saved_at: SystemTime,
    /// What the window looked like.
    pub summary: Summary,
}

/// One metric side by side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparisonRow {
    /// The metric (`p95_ms`, `error_rate`, ...).
    pub metric: String,
    /// The first side's value.
    pub a: Option<f64>,
    /// The second side's value.
    pub b: Option<f64>,
    /// `(b − a) / |a| × 100`; absent when either side is, or `a` is 0.
    pub change_pct: Option<f64>,
}

/// Two sets of statistics side by side with the change in percent for every metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelComparison {
    /// Label of the first side (the model, or the baseline's name).
    pub a: String,
    /// Label of the second side.
    pub b: String,
    /// Every metric of [`Stats`].
    pub rows: Vec<ComparisonRow>,
}

impl ModelComparison {
    /// Compares `a` (the reference side) with `b`.
    pub fn new(a_label: &str, a: &Stats, b_label: &str, b: &Stats) -> Self {
        type Pick = fn(&Stats) -> Option<f64>;
        let metrics: [(&str, Pick); 17] = [
            ("count", |s| Some(s.count as f64)),
            ("error_rate", |s| Some(s.error_rate)),
            ("cache_hit_rate", |s| Some(s.cache_hit_rate)),
            ("throughput_per_sec", |s| Some(s.throughput_per_sec)),
            ("cost_usd", |s| Some(s.cost_usd)),
            ("mean_cost_usd", |s| s.mean_cost_usd),
            ("cost_efficiency", |s| s.cost_efficiency),
            ("mean_ms", |s| Some(s.latency.mean.as_secs_f64() * 1000.0)),
            ("p50_ms", |s| Some(s.latency.p50.as_secs_f64() * 1000.0)),
            ("p90_ms", |s| Some(s.latency.p90.as_secs_f64() * 1000.0)),
            ("p95_ms", |s| Some(s.latency.p95.as_secs_f64() * 1000.0)),
            ("p99_ms", |s| Some(s.latency.p99.as_secs_f64() * 1000.0)),
            ("max_ms", |s| Some(s.latency.max.as_secs_f64() * 1000.0)),
            ("mean_accuracy", |s| s.mean_accuracy),
            ("mean_satisfaction", |s| s.mean_satisfaction),
            ("mean_complexity", |s| s.mean_complexity),
            ("output_tokens", |s| Some(s.output_tokens as f64)),
        ];
        let rows = metrics
            .iter()
            .map(|(name, f)| {
                let (va, vb) = (f(a), f(b));
                let change_pct = match (va, vb) {
                    (Some(x), Some(y)) if x != 0.0 => Some((y - x) / x.abs() * 100.0),
                    _ => None,
                };
                ComparisonRow {
                    metric: (*name).to_owned(),
                    a: va,
                    b: vb,
                    change_pct,
                }
            })
            .collect();
        Self {
            a: a_label.to_owned(),
            b: b_label.to_owned(),
            rows,
        }
    }

    /// The row of `metric`, if there is one.
    pub fn row(&self, metric: &str) -> Option<&ComparisonRow> {
        self.rows.iter().find(|r| r.metric == metric)
    }
}

impl fmt::Display for ModelComparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cell = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.4}"));
        writeln!(
            f,
            "{:<20} {:>16} {:>16} {:>9}",
            "metric", self.a, self.b, "change"
        )?;
        for r in &self.rows {
            let change = r.change_pct.map_or("-".to_owned(), |c| format!("{c:+.1}%"));
            writeln!(
                f,
                "{:<20} {:>16} {:>16} {:>9}",
                r.metric,
                cell(r.a),
                cell(r.b),
                change
            )?;
        }
        Ok(())
    }
}
