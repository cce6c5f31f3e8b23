//! [`Snapshot`]: a window's exact data, portable between processes.
//!
//! A router fleet runs many processes. Each takes `monitor.snapshot(window)`, ships it
//! (serde; histograms as [`LatencyHistogram`]s, their non-empty buckets), and a
//! collector merges them with [`Snapshot::merge`] into one exact fleet view: counts
//! and sums add (fixed-point integers, so merging is exact and associative), latency
//! histograms merge bucket by bucket.
//!
//! ## Snapshots from outside
//!
//! A snapshot read from another process is untrusted input. Decoding one checks each
//! histogram's bounds before holding any memory for them (a layout has at most 2¹⁹
//! buckets, so [`Snapshot::summary`] sums into at most 4 MiB), and
//! [`Snapshot::validate`] (which [`Snapshot::merge`] runs on what it is given) refuses
//! with a [`SnapshotError`] naming the problem: more than [`MAX_SNAPSHOT_MODELS`]
//! models, a model id that breaks the id rules (control characters, empty, too long),
//! a histogram whose bounds differ from the snapshot's or whose count differs from the
//! model's, counters that exceed the selections they count, ratio sums past 1 per
//! selection, or a span that is reversed or longer than [`MAX_SNAPSHOT_SPAN`].
//!
//! Decoding `N` bytes of JSON holds about `6 × N` bytes at most at its peak (the
//! worst shape is one histogram of many one-digit buckets: each 6-byte `[1,1],`
//! becomes a 16-byte pair in a vector that may double: 5.2× measured); many small
//! models cost about 1.1×. `tests/snapshot_limits.rs` measures both with a counting
//! allocator and holds them under 6.5×.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::aggregate::{SumCount, Totals};
use crate::clock::from_unix_nanos;
use crate::hdr::{BucketLayout, CompactCounts};
use crate::histogram::{HistogramSettings, LatencyHistogram, MergeError};
use crate::summary::{Stats, Summary, WindowAcc};

/// One model's exact data over a snapshot's window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotModel {
    /// Selections.
    pub count: u64,
    /// Failed selections.
    pub errors: u64,
    /// Cache hits.
    pub cache_hits: u64,
    /// Spend in nano-dollars, and how many selections reported a cost.
    pub cost_nano_usd: u64,
    /// Selections that reported a cost.
    pub cost_count: u64,
    /// Sum of accuracy × 10⁶, and its count.
    pub accuracy_micros: u64,
    /// Selections that carried an accuracy.
    pub accuracy_count: u64,
    /// Sum of satisfaction × 10⁶.
    pub satisfaction_micros: u64,
    /// Selections that carried a satisfaction.
    pub satisfaction_count: u64,
    /// Sum of complexity × 10⁶.
    pub complexity_micros: u64,
    /// Selections that carried a complexity.
    pub complexity_count: u64,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Of the input tokens, those served from the prompt cache (absent in older
    /// snapshots: 0).
    #[serde(default)]
    pub cached_input_tokens: u64,
    /// Of the output tokens, those spent reasoning (absent in older snapshots: 0).
    #[serde(default)]
    pub reasoning_tokens: u64,
    /// Exact latency sum, minimum and maximum, in microseconds.
    pub latency_sum_us: u64,
    /// Fastest selection, µs.
    pub latency_min_us: u64,
    /// Slowest selection, µs.
    pub latency_max_us: u64,
    /// Cost of the cache hits alone, nano-dollars (absent in older snapshots: 0).
    #[serde(default)]
    pub hit_cost_nano_usd: u64,
    /// Cache hits that reported a cost.
    #[serde(default)]
    pub hit_cost_count: u64,
    /// Latency sum of the cache hits alone, µs.
    #[serde(default)]
    pub hit_latency_sum_us: u64,
    /// Failed selections per kind (absent in older snapshots: every error counts as
    /// [`ErrorKind::Other`](crate::ErrorKind::Other)).
    #[serde(default)]
    pub errors_by_kind: BTreeMap<crate::ErrorKind, u64>,
    /// Retries, summed.
    #[serde(default)]
    pub retries: u64,
    /// Selections that fell back from another model.
    #[serde(default)]
    pub fallbacks: u64,
    /// Streamed selections. (The streaming timings' distributions are not part of a
    /// snapshot.)
    #[serde(default)]
    pub streaming: u64,
    /// Feedback reports added late. (Named scores are not part of a snapshot.)
    #[serde(default)]
    pub feedback: u64,
    /// The latency distribution.
    pub latency: LatencyHistogram,
}

/// Most models a snapshot may hold: the largest `recording.maxModels` (1,000,000) and
/// the overflow slot.
pub const MAX_SNAPSHOT_MODELS: usize = 1_000_001;

/// Longest span a snapshot may cover.
pub const MAX_SNAPSHOT_SPAN: Duration = Duration::from_secs(400 * 86_400);

/// Why a snapshot was refused: by [`Snapshot::validate`] or [`Snapshot::merge`].
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SnapshotError {
    /// More models than [`MAX_SNAPSHOT_MODELS`].
    #[error("the snapshot holds {count} models, at most {max} are accepted")]
    TooManyModels {
        /// Models in the snapshot.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// The histogram settings are not ones a monitor accepts.
    #[error("the snapshot's histogram settings are refused: {reason}")]
    Settings {
        /// Why.
        reason: String,
    },
    /// The span is reversed or longer than [`MAX_SNAPSHOT_SPAN`].
    #[error("the snapshot's span {start_ms}..{end_ms} ms is reversed or longer than 400 days")]
    Span {
        /// Its start, ms since the epoch.
        start_ms: u64,
        /// Its end.
        end_ms: u64,
    },
    /// A model id breaks the id rules.
    #[error("model id {id:?} in the snapshot is refused: {reason}")]
    ModelId {
        /// The id (escaped in the message).
        id: String,
        /// The rule it breaks.
        reason: String,
    },
    /// A model's numbers contradict each other.
    #[error("model {model:?} in the snapshot is inconsistent: {what}")]
    Inconsistent {
        /// The model id.
        model: String,
        /// What does not add up.
        what: String,
    },
    /// The two snapshots' histograms cannot merge.
    #[error(transparent)]
    Merge(#[from] MergeError),
}

/// A window's data from one or more processes; from
/// [`Monitor::snapshot`](crate::Monitor::snapshot).
///
/// ```
/// use modelmeter::{ManualClock, Monitor, Selection, Snapshot};
/// use std::time::{Duration, SystemTime};
///
/// let clock = ManualClock::new(SystemTime::now());
/// let a = Monitor::builder().clock(clock.clone()).background(false).build()?;
/// let b = Monitor::builder().clock(clock.clone()).background(false).build()?;
/// a.record_selection(&Selection::new("gpt-4o", Duration::from_millis(800)))?;
/// b.record_selection(&Selection::new("gpt-4o", Duration::from_millis(1200)))?;
/// let mut fleet = a.snapshot(Duration::from_secs(300));
/// let wire = serde_json::to_string(&b.snapshot(Duration::from_secs(300)))?;
/// fleet.merge(&serde_json::from_str::<Snapshot>(&wire)?)?;
/// assert_eq!(fleet.summary().models["gpt-4o"].count, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Earliest start of the merged windows, ms since the epoch.
    pub start_ms: u64,
    /// Latest end, ms since the epoch.
    pub end_ms: u64,
    /// Histogram bounds and precision: snapshots merge only with equal ones.
    pub latency_low_micros: u64,
    /// Highest trackable latency, µs.
    pub latency_high_micros: u64,
    /// Significant digits.
    pub latency_significant_digits: u8,
    /// Per model, by id.
    pub models: BTreeMap<String, SnapshotModel>,
}

impl Snapshot {
    pub(crate) fn new(layout_settings: (u64, u64, u8), start: u64, end: u64) -> Self {
        Self {
            start_ms: start / 1_000_000,
            end_ms: end / 1_000_000,
            latency_low_micros: layout_settings.0,
            latency_high_micros: layout_settings.1,
            latency_significant_digits: layout_settings.2,
            models: BTreeMap::new(),
        }
    }

    pub(crate) fn add(&mut self, name: &str, acc: &WindowAcc, layout: &BucketLayout) {
        let latency = LatencyHistogram::new(layout, CompactCounts::from_sorted(acc.buckets()));
        self.models
            .insert(name.to_owned(), SnapshotModel::new(&acc.totals, latency));
    }

    fn layout_settings(&self) -> HistogramSettings {
        HistogramSettings {
            lowest_us: self.latency_low_micros,
            highest_us: self.latency_high_micros,
            significant_digits: self.latency_significant_digits,
        }
    }

    /// Checks a snapshot from outside; see the [module docs](self) for the rules.
    ///
    /// # Errors
    ///
    /// The first problem found, as a [`SnapshotError`].
    pub fn validate(&self) -> Result<(), SnapshotError> {
        let span = Duration::from_millis(self.end_ms.saturating_sub(self.start_ms));
        if self.start_ms > self.end_ms || span > MAX_SNAPSHOT_SPAN {
            return Err(SnapshotError::Span {
                start_ms: self.start_ms,
                end_ms: self.end_ms,
            });
        }
        let s = self.layout_settings();
        BucketLayout::new(s.lowest_us, s.highest_us, s.significant_digits).map_err(|e| {
            SnapshotError::Settings {
                reason: e.to_string(),
            }
        })?;
        if self.models.len() > MAX_SNAPSHOT_MODELS {
            return Err(SnapshotError::TooManyModels {
                count: self.models.len(),
                max: MAX_SNAPSHOT_MODELS,
            });
        }
        for (id, m) in &self.models {
            check_id(id)?;
            m.check(s).map_err(|what| SnapshotError::Inconsistent {
                model: id.clone(),
                what,
            })?;
        }
        Ok(())
    }

    /// Adds `other` into `self`: counts and sums add, histograms merge, the span widens.
    ///
    /// # Errors
    ///
    /// [`MergeError::LayoutMismatch`] (as [`SnapshotError::Merge`]) when the histogram
    /// settings differ, or whatever [`validate`](Self::validate) finds wrong with
    /// `other`; `self` is then unchanged.
    pub fn merge(&mut self, other: &Snapshot) -> Result<(), SnapshotError> {
        if self.layout_settings() != other.layout_settings() {
            return Err(MergeError::LayoutMismatch {
                ours: self.layout_settings(),
                theirs: other.layout_settings(),
            }
            .into());
        }
        other.validate()?;
        // Checked before anything changes, so a refused merge leaves `self` as it was.
        let (start_ms, end_ms) = (
            self.start_ms.min(other.start_ms),
            self.end_ms.max(other.end_ms),
        );
        if Duration::from_millis(end_ms.saturating_sub(start_ms)) > MAX_SNAPSHOT_SPAN {
            return Err(SnapshotError::Span { start_ms, end_ms });
        }
        for (name, o) in &other.models {
            let ours = self.models.get(name).map_or(0, |m| m.count);
            if ours.checked_add(o.count).is_none() {
                return Err(SnapshotError::Inconsistent {
                    model: name.clone(),
                    what: format!("counts {ours} and {} overflow when merged", o.count),
                });
            }
        }
        for (name, o) in &other.models {
            let Some(mut m) = self.models.remove(name) else {
                self.models.insert(name.clone(), o.clone());
                continue;
            };
            if let Err(e) = m.latency.merge(&o.latency) {
                // Only `self`'s own histograms can differ from its settings now (its
                // fields are public); what merged before stays merged.
                self.models.insert(name.clone(), m);
                return Err(e.into());
            }
            // Through `Totals`, so every counter merges the way the monitor merges it.
            let mut t = m.totals();
            t.merge(&o.totals());
            self.models
                .insert(name.clone(), SnapshotModel::new(&t, m.latency));
        }
        (self.start_ms, self.end_ms) = (start_ms, end_ms);
        Ok(())
    }

    /// The merged data as a [`Summary`], with the same statistics a single monitor
    /// gives (throughput over the merged span).
    pub fn summary(&self) -> Summary {
        let (low, high, digits) = (
            self.latency_low_micros,
            self.latency_high_micros,
            self.latency_significant_digits,
        );
        // Public fields can hold anything: bounds no layout accepts fall back to the
        // defaults, and every histogram is placed by value below.
        let layout = BucketLayout::new(low, high, digits)
            .unwrap_or_else(|_| LatencyHistogram::empty().layout().clone());
        let span = Duration::from_millis(self.end_ms.saturating_sub(self.start_ms));
        let mut overall = WindowAcc::new(layout.len());
        let mut acc = WindowAcc::new(layout.len());
        let mut models: BTreeMap<String, Stats> = BTreeMap::new();
        for (name, m) in &self.models {
            acc.totals = m.totals();
            if m.latency.layout() == &layout {
                acc.add_buckets(m.latency.compact().iter());
            } else {
                // A histogram whose own bounds disagree with the snapshot's: place each
                // bucket by value rather than trust its indices.
                for b in &m.latency {
                    acc.add_buckets(std::iter::once((layout.index_of(b.low), b.count)));
                }
            }
            overall.merge(&acc);
            models.insert(name.clone(), acc.stats(&layout, span));
            acc.clear();
        }
        let mut s = Summary {
            window: span,
            start: from_unix_nanos(self.start_ms * 1_000_000),
            end: from_unix_nanos(self.end_ms * 1_000_000),
            overview: overall.stats(&layout, span),
            models,
        };
        s.rate_cost_efficiency(None);
        s
    }

    /// When the merged span begins.
    pub fn start(&self) -> SystemTime {
        from_unix_nanos(self.start_ms * 1_000_000)
    }

    /// When it ends.
    pub fn end(&self) -> SystemTime {
        from_unix_nanos(self.end_ms.saturating_mul(1_000_000))
    }
}

impl SnapshotModel {
    fn new(t: &Totals, latency: LatencyHistogram) -> Self {
        Self {
            count: t.count,
            errors: t.errors,
            cache_hits: t.cache_hits,
            cost_nano_usd: t.cost.sum,
            cost_count: t.cost.count,
            accuracy_micros: t.accuracy.sum,
            accuracy_count: t.accuracy.count,
            satisfaction_micros: t.satisfaction.sum,
            satisfaction_count: t.satisfaction.count,
            complexity_micros: t.complexity.sum,
            complexity_count: t.complexity.count,
            input_tokens: t.input_tokens,
            output_tokens: t.output_tokens,
            cached_input_tokens: t.cached_input_tokens,
            reasoning_tokens: t.reasoning_tokens,
            latency_sum_us: t.latency_sum_us,
            latency_min_us: t.latency_min_us,
            latency_max_us: t.latency_max_us,
            hit_cost_nano_usd: t.hit_cost.sum,
            hit_cost_count: t.hit_cost.count,
            hit_latency_sum_us: t.hit_latency_sum_us,
            errors_by_kind: t.error_kinds.to_map(),
            retries: t.retries,
            fallbacks: t.fallbacks,
            streaming: t.streaming,
            feedback: t.feedback,
            latency,
        }
    }

    /// What contradicts itself in this model's numbers, if anything.
    fn check(&self, settings: HistogramSettings) -> Result<(), String> {
        if self.latency.settings() != settings {
            return Err(format!(
                "its histogram has bounds {}, the snapshot {settings}",
                self.latency.settings()
            ));
        }
        if self.latency.count() != self.count {
            return Err(format!(
                "its histogram counts {} selections, the model {}",
                self.latency.count(),
                self.count
            ));
        }
        for (name, n) in [
            ("errors", self.errors),
            ("cache_hits", self.cache_hits),
            ("cost_count", self.cost_count),
            ("complexity_count", self.complexity_count),
            ("fallbacks", self.fallbacks),
            ("streaming", self.streaming),
        ] {
            if n > self.count {
                return Err(format!("{name} {n} exceeds count {}", self.count));
            }
        }
        // Late feedback adds accuracy and satisfaction without a selection.
        let judged = self.count.saturating_add(self.feedback);
        for (name, n) in [
            ("accuracy_count", self.accuracy_count),
            ("satisfaction_count", self.satisfaction_count),
        ] {
            if n > judged {
                return Err(format!(
                    "{name} {n} exceeds count {} plus feedback {}",
                    self.count, self.feedback
                ));
            }
        }
        if self.hit_cost_count > self.cache_hits.min(self.cost_count) {
            return Err(format!(
                "hit_cost_count {} exceeds cache_hits or cost_count",
                self.hit_cost_count
            ));
        }
        for (name, sum, n) in [
            ("accuracy_micros", self.accuracy_micros, self.accuracy_count),
            (
                "satisfaction_micros",
                self.satisfaction_micros,
                self.satisfaction_count,
            ),
            (
                "complexity_micros",
                self.complexity_micros,
                self.complexity_count,
            ),
        ] {
            if u128::from(sum) > u128::from(n) * 1_000_000 {
                return Err(format!("{name} {sum} is more than 1 per selection ({n})"));
            }
        }
        if self.count > 0 && self.latency_min_us > self.latency_max_us {
            return Err(format!(
                "latency_min_us {} exceeds latency_max_us {}",
                self.latency_min_us, self.latency_max_us
            ));
        }
        let by_kind = self
            .errors_by_kind
            .values()
            .fold(0u64, |a, &b| a.saturating_add(b));
        if by_kind > self.errors {
            return Err(format!(
                "errors_by_kind sums to {by_kind}, more than the {} errors",
                self.errors
            ));
        }
        Ok(())
    }

    fn totals(&self) -> Totals {
        let sc = |sum, count| SumCount { sum, count };
        Totals {
            count: self.count,
            errors: self.errors,
            cache_hits: self.cache_hits,
            cost: sc(self.cost_nano_usd, self.cost_count),
            latency_sum_us: self.latency_sum_us,
            latency_min_us: self.latency_min_us,
            latency_max_us: self.latency_max_us,
            complexity: sc(self.complexity_micros, self.complexity_count),
            accuracy: sc(self.accuracy_micros, self.accuracy_count),
            satisfaction: sc(self.satisfaction_micros, self.satisfaction_count),
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            cached_input_tokens: self.cached_input_tokens,
            reasoning_tokens: self.reasoning_tokens,
            hit_cost: sc(self.hit_cost_nano_usd, self.hit_cost_count),
            hit_latency_sum_us: self.hit_latency_sum_us,
            error_kinds: {
                let mut k = crate::failure::KindCounts::default();
                for (kind, n) in &self.errors_by_kind {
                    k.0[kind.slot()] = *n;
                }
                let listed: u64 = k.0.iter().fold(0, |a, &b| a.saturating_add(b));
                let other = crate::ErrorKind::Other.slot();
                k.0[other] = k.0[other].saturating_add(self.errors.saturating_sub(listed));
                k
            },
            retries: self.retries,
            fallbacks: self.fallbacks,
            streaming: self.streaming,
            feedback: self.feedback,
        }
    }
}

/// The id rules of `Selection`, except that the overflow slot's own id is expected.
fn check_id(id: &str) -> Result<(), SnapshotError> {
    let refuse = |e: crate::RecordError| SnapshotError::ModelId {
        id: id.to_owned(),
        reason: e.to_string(),
    };
    crate::Selection::new(id, Duration::ZERO)
        .check_model()
        .map_err(refuse)?;
    if id != crate::OTHER_MODEL {
        crate::selection::check_new_model_id(id).map_err(refuse)?;
    }
    Ok(())
}
