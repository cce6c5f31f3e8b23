//! The crate's error types. Each variant carries the offending value, so a message says
//! what to fix.

use std::fmt;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

/// Why a report could not be rendered
/// ([`PerformanceReport::to_csv`](crate::PerformanceReport::to_csv), `to_json`, ...).
/// The report's own types always serialize; these name what failed if a writer does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// Writing JSON failed.
    #[error("cannot write the report as JSON: {0}")]
    Json(String),
    /// Writing one CSV table failed.
    #[error("cannot write the {table} CSV table: {reason}")]
    Csv {
        /// The table (`models`, `trend`, ...).
        table: String,
        /// The writer's reason.
        reason: String,
    },
}

/// Why [`record_selection`](crate::Monitor::record_selection) refused an event.
///
/// A refused event changes nothing but the matching counter in
/// [`Health::rejected`](crate::Health::rejected); events around it are kept.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The cost was NaN, infinite, negative or above [`MAX_COST_USD`](crate::MAX_COST_USD).
    #[error("cost_usd must be a number of dollars within 0..=1000000, got {value}")]
    InvalidCost {
        /// The value given.
        value: f64,
    },
    /// The task complexity was outside `0..=1` (or NaN).
    #[error("complexity must be within 0..=1, got {value}")]
    InvalidComplexity {
        /// The value given.
        value: f64,
    },
    /// The selection accuracy was outside `0..=1` (or NaN).
    #[error("accuracy must be within 0..=1, got {value}")]
    InvalidAccuracy {
        /// The value given.
        value: f64,
    },
    /// The user satisfaction was outside `0..=1` (or NaN).
    #[error("satisfaction must be within 0..=1, got {value}")]
    InvalidSatisfaction {
        /// The value given.
        value: f64,
    },
    /// The model id was empty.
    #[error("model id must not be empty")]
    EmptyModelId,
    /// The model id was longer than the limit.
    #[error("model id is {len} bytes long, the limit is {max}")]
    ModelIdTooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },
    /// The model id was `__other__`, the id of the slot that collects ids past the
    /// cardinality cap: the host's own traffic must not merge with it.
    #[error("model id \"__other__\" is reserved for ids past the maxModels cap")]
    ReservedModelId,
    /// The model id holds a control character (a newline, NUL, ...), which would
    /// forge lines in the log and CSV outputs.
    #[error("model id {id:?} has a control character at byte {at}")]
    ControlCharInModelId {
        /// The id, as given.
        id: String,
        /// The byte offset of the first control character.
        at: usize,
    },
    /// A selection for one model was passed to another model's
    /// [`ModelHandle`](crate::ModelHandle).
    #[error("a ModelHandle for {handle:?} was given a selection for {selection:?}")]
    ModelMismatch {
        /// The handle's model id.
        handle: String,
        /// The selection's model id.
        selection: String,
    },
    /// The explicit event time lies before the oldest retained minute.
    #[error(
        "event time {} is older than the oldest retained minute {}",
        crate::calendar::rfc3339_time(*.at),
        crate::calendar::rfc3339_time(*.oldest)
    )]
    TooOld {
        /// The event time given.
        at: SystemTime,
        /// The oldest time still accepted.
        oldest: SystemTime,
    },
    /// The explicit event time lies more than a minute in the future.
    #[error(
        "event time {} is later than {}, one minute past now",
        crate::calendar::rfc3339_time(*.at),
        crate::calendar::rfc3339_time(*.latest)
    )]
    InFuture {
        /// The event time given.
        at: SystemTime,
        /// The latest time accepted.
        latest: SystemTime,
    },
    /// The time to first token was longer than the whole selection's latency.
    #[error(
        "time_to_first_token {} ms is longer than the latency {} ms",
        .ttft.as_secs_f64() * 1000.0,
        .latency.as_secs_f64() * 1000.0
    )]
    TimeToFirstTokenAfterEnd {
        /// The time to first token given.
        ttft: Duration,
        /// The selection's latency.
        latency: Duration,
    },
    /// More cached input tokens than input tokens, or more reasoning tokens than output
    /// tokens: the parts are counted within their wholes.
    #[error(
        "cached input tokens {cached_input} of {input} input, reasoning tokens {reasoning} of {output} output: a part exceeds its whole"
    )]
    InvalidTokens {
        /// Input tokens.
        input: u64,
        /// Cached input tokens given.
        cached_input: u64,
        /// Output tokens.
        output: u64,
        /// Reasoning tokens given.
        reasoning: u64,
    },
    /// An attribute key the monitor did not declare
    /// ([`MonitorBuilder::dimension`](crate::MonitorBuilder::dimension)).
    #[error("attribute key {key:?} is not a declared dimension")]
    UndeclaredDimension {
        /// The key given.
        key: String,
    },
    /// A dimension value was empty.
    #[error("the value of dimension {key:?} is empty")]
    EmptyDimensionValue {
        /// The dimension.
        key: String,
    },
    /// A dimension value was longer than
    /// [`MAX_VALUE_LEN`](crate::dimension::MAX_VALUE_LEN).
    #[error("the value of dimension {key:?} is {len} bytes long; at most {max} are accepted")]
    DimensionValueTooLong {
        /// The dimension.
        key: String,
        /// The value's length in bytes.
        len: usize,
        /// The longest accepted.
        max: usize,
    },
    /// A dimension value was `__other__`, the slot that collects values past the cap.
    #[error("the value of dimension {key:?} is the reserved \"__other__\"")]
    ReservedDimensionValue {
        /// The dimension.
        key: String,
    },
    /// A dimension value held a control character.
    #[error("the value {value:?} of dimension {key:?} has a control character at byte {at}")]
    ControlCharInDimensionValue {
        /// The dimension.
        key: String,
        /// The value given.
        value: String,
        /// Byte offset of the first control character.
        at: usize,
    },
    /// More attribute keys than [`MAX_ATTRIBUTES`](crate::dimension::MAX_ATTRIBUTES)
    /// were set on one selection.
    #[error("more than {max} attributes set on one selection")]
    TooManyAttributes {
        /// The most accepted.
        max: usize,
    },
    /// A selection carried a [`DimensionValue`](crate::DimensionValue) made by another
    /// monitor, whose ids mean nothing here.
    #[error("the handle for dimension {key:?} was made by another monitor")]
    ForeignDimensionValue {
        /// The handle's dimension.
        key: String,
    },
    /// Feedback named a model the monitor holds nothing for.
    #[error("feedback for model {model:?}, which the monitor has never seen or no longer holds")]
    UnknownModel {
        /// The model id given.
        model: String,
    },
    /// Feedback for a time no retained tier covers any more.
    #[error(
        "feedback for {} is older than every retained tier (the oldest covers {})",
        crate::calendar::rfc3339_time(*.at),
        crate::calendar::rfc3339_time(*.oldest)
    )]
    FeedbackTooOld {
        /// The selection time the feedback named.
        at: SystemTime,
        /// The start of the oldest bucket still retained.
        oldest: SystemTime,
    },
    /// Feedback carried no accuracy, satisfaction or score.
    #[error("feedback for model {model:?} carries no accuracy, satisfaction or score")]
    EmptyFeedback {
        /// The model id given.
        model: String,
    },
    /// A named score was outside `0..=1`, or its name was empty, too long or held a
    /// control character.
    #[error("score {name:?} = {value}: names are 1 to 64 printable bytes, values within 0..=1")]
    InvalidScore {
        /// The score's name.
        name: String,
        /// The value given.
        value: f64,
    },
    /// Feedback for a sealed minute while
    /// [`MAX_PENDING_FEEDBACK_MINUTES`](crate::feedback::MAX_PENDING_FEEDBACK_MINUTES)
    /// other (model, minute) pairs already wait for the next tick.
    #[error("{max} minutes of feedback already wait for the next tick")]
    FeedbackBacklogFull {
        /// The limit.
        max: usize,
    },
    /// A new score name past the limit of distinct names.
    #[error("score {name:?} would be distinct score name number {}, the limit is {max}", .max + 1)]
    TooManyScores {
        /// The new name.
        name: String,
        /// The limit.
        max: usize,
    },
}

impl RecordError {
    /// The counter this error is tallied under in [`Health`](crate::Health).
    pub fn reason(&self) -> RejectReason {
        match self {
            Self::InvalidCost { .. } => RejectReason::InvalidCost,
            Self::InvalidComplexity { .. } => RejectReason::InvalidComplexity,
            Self::InvalidAccuracy { .. } => RejectReason::InvalidAccuracy,
            Self::InvalidSatisfaction { .. } => RejectReason::InvalidSatisfaction,
            Self::EmptyModelId => RejectReason::EmptyModelId,
            Self::ModelIdTooLong { .. } => RejectReason::ModelIdTooLong,
            Self::ModelMismatch { .. } => RejectReason::ModelMismatch,
            Self::ReservedModelId => RejectReason::ReservedModelId,
            Self::ControlCharInModelId { .. } => RejectReason::ControlCharInModelId,
            Self::TooOld { .. } => RejectReason::TooOld,
            Self::InFuture { .. } => RejectReason::InFuture,
            Self::TimeToFirstTokenAfterEnd { .. } => RejectReason::InvalidTimeToFirstToken,
            Self::InvalidTokens { .. } => RejectReason::InvalidTokens,
            Self::UndeclaredDimension { .. } => RejectReason::UndeclaredDimension,
            Self::EmptyDimensionValue { .. } => RejectReason::EmptyDimensionValue,
            Self::DimensionValueTooLong { .. } => RejectReason::DimensionValueTooLong,
            Self::ReservedDimensionValue { .. } => RejectReason::ReservedDimensionValue,
            Self::ControlCharInDimensionValue { .. } => RejectReason::ControlCharInDimensionValue,
            Self::TooManyAttributes { .. } => RejectReason::TooManyAttributes,
            Self::ForeignDimensionValue { .. } => RejectReason::ForeignDimensionValue,
            Self::UnknownModel { .. } => RejectReason::UnknownModel,
            Self::FeedbackTooOld { .. } => RejectReason::FeedbackTooOld,
            Self::EmptyFeedback { .. } => RejectReason::EmptyFeedback,
            Self::InvalidScore { .. } => RejectReason::InvalidScore,
            Self::TooManyScores { .. } => RejectReason::TooManyScores,
            Self::FeedbackBacklogFull { .. } => RejectReason::FeedbackBacklogFull,
        }
    }
}

/// The kinds of refused events, one counter each in [`Health`](crate::Health).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RejectReason {
    /// See [`RecordError::InvalidCost`].
    InvalidCost,
    /// See [`RecordError::InvalidComplexity`].
    InvalidComplexity,
    /// See [`RecordError::InvalidAccuracy`].
    InvalidAccuracy,
    /// See [`RecordError::InvalidSatisfaction`].
    InvalidSatisfaction,
    /// See [`RecordError::EmptyModelId`].
    EmptyModelId,
    /// See [`RecordError::ModelIdTooLong`].
    ModelIdTooLong,
    /// See [`RecordError::TooOld`].
    TooOld,
    /// See [`RecordError::InFuture`].
    InFuture,
    /// See [`RecordError::ModelMismatch`].
    ModelMismatch,
    /// See [`RecordError::ReservedModelId`].
    ReservedModelId,
    /// See [`RecordError::ControlCharInModelId`].
    ControlCharInModelId,
    /// See [`RecordError::TimeToFirstTokenAfterEnd`].
    InvalidTimeToFirstToken,
    /// See [`RecordError::UnknownModel`].
    UnknownModel,
    /// See [`RecordError::FeedbackTooOld`].
    FeedbackTooOld,
    /// See [`RecordError::EmptyFeedback`].
    EmptyFeedback,
    /// See [`RecordError::InvalidScore`].
    InvalidScore,
    /// See [`RecordError::TooManyScores`].
    TooManyScores,
    /// See [`RecordError::FeedbackBacklogFull`].
    FeedbackBacklogFull,
    /// See [`RecordError::InvalidTokens`].
    InvalidTokens,
    /// See [`RecordError::UndeclaredDimension`].
    UndeclaredDimension,
    /// See [`RecordError::EmptyDimensionValue`].
    EmptyDimensionValue,
    /// See [`RecordError::DimensionValueTooLong`].
    DimensionValueTooLong,
    /// See [`RecordError::ReservedDimensionValue`].
    ReservedDimensionValue,
    /// See [`RecordError::ControlCharInDimensionValue`].
    ControlCharInDimensionValue,
    /// See [`RecordError::TooManyAttributes`].
    TooManyAttributes,
    /// See [`RecordError::ForeignDimensionValue`].
    ForeignDimensionValue,
}

impl RejectReason {
    /// Every reason, in counter order.
    pub const ALL: [RejectReason; 26] = [
        Self::InvalidCost,
        Self::InvalidComplexity,
        Self::InvalidAccuracy,
        Self::InvalidSatisfaction,
        Self::EmptyModelId,
        Self::ModelIdTooLong,
        Self::TooOld,
        Self::InFuture,
        Self::ModelMismatch,
        Self::ReservedModelId,
        Self::ControlCharInModelId,
        Self::InvalidTimeToFirstToken,
        Self::UnknownModel,
        Self::FeedbackTooOld,
        Self::EmptyFeedback,
        Self::InvalidScore,
        Self::TooManyScores,
        Self::FeedbackBacklogFull,
        Self::InvalidTokens,
        Self::UndeclaredDimension,
        Self::EmptyDimensionValue,
        Self::DimensionValueTooLong,
        Self::ReservedDimensionValue,
        Self::ControlCharInDimensionValue,
        Self::TooManyAttributes,
        Self::ForeignDimensionValue,
    ];

    pub(crate) fn slot(self) -> usize {
        self as usize
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Self::InvalidCost => "invalid_cost",
            Self::InvalidComplexity => "invalid_complexity",
            Self::InvalidAccuracy => "invalid_accuracy",
            Self::InvalidSatisfaction => "invalid_satisfaction",
            Self::EmptyModelId => "empty_model_id",
            Self::ModelIdTooLong => "model_id_too_long",
            Self::TooOld => "too_old",
            Self::InFuture => "in_future",
            Self::ModelMismatch => "model_mismatch",
            Self::ReservedModelId => "reserved_model_id",
            Self::ControlCharInModelId => "control_char_in_model_id",
            Self::InvalidTimeToFirstToken => "invalid_time_to_first_token",
            Self::UnknownModel => "unknown_model",
            Self::FeedbackTooOld => "feedback_too_old",
            Self::EmptyFeedback => "empty_feedback",
            Self::InvalidScore => "invalid_score",
            Self::TooManyScores => "too_many_scores",
            Self::FeedbackBacklogFull => "feedback_backlog_full",
            Self::InvalidTokens => "invalid_tokens",
            Self::UndeclaredDimension => "undeclared_dimension",
            Self::EmptyDimensionValue => "empty_dimension_value",
            Self::DimensionValueTooLong => "dimension_value_too_long",
            Self::ReservedDimensionValue => "reserved_dimension_value",
            Self::ControlCharInDimensionValue => "control_char_in_dimension_value",
            Self::TooManyAttributes => "too_many_attributes",
            Self::ForeignDimensionValue => "foreign_dimension_value",
        };
        f.write_str(s)
    }
}

/// A configuration the monitor cannot run with.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The configuration text is not valid JSON or a field has the wrong type.
    #[error("configuration field `{field}`: {message}")]
    Parse {
        /// Dotted path of the field, as written in the file (`monitoring.updateInterval`).
        field: String,
        /// What the parser said.
        message: String,
    },
    /// A field has a value outside what it may be.
    #[error("configuration field `{field}` = {value}: {reason}")]
    Invalid {
        /// Dotted path of the field, as written in the file.
        field: String,
        /// The value found.
        value: String,
        /// What it must be instead.
        reason: String,
    },
    /// The latency histogram bounds are not ones `hdrhistogram` accepts.
    #[error("latency histogram bounds low={low} high={high} sigfig={sigfig}: {reason}")]
    Histogram {
        /// Lowest discernible value (µs).
        low: u64,
        /// Highest trackable value (µs).
        high: u64,
        /// Significant digits.
        sigfig: u8,
        /// hdrhistogram's reason.
        reason: String,
    },
    /// The configuration file could not be read.
    #[error("cannot read configuration file {path}: {message}")]
    Io {
        /// The path given.
        path: String,
        /// The I/O error.
        message: String,
    },
    /// A thread the monitor needs (the tick worker, an exporter's delivery thread)
    /// could not be started.
    #[error("cannot start the {thread} thread: {message}")]
    Spawn {
        /// Which thread.
        thread: String,
        /// The operating system's reason.
        message: String,
    },
    /// The persistent store cannot be opened at all: its directory is missing or not
    /// writable, or another monitor holds it. (A damaged store is no error: it is set
    /// aside and the monitor starts fresh, see `Health::persistence`.)
    #[error("cannot open the persistent store {path}: {message}")]
    Persist {
        /// The path given to `MonitorBuilder::persist`.
        path: String,
        /// Why.
        message: String,
    },
}

impl ConfigError {
    pub(crate) fn invalid(field: &str, value: impl fmt::Display, reason: &str) -> Self {
        Self::Invalid {
            field: field.to_owned(),
            value: value.to_string(),
            reason: reason.to_owned(),
        }
    }
}

/// A failure inside an [`Exporter`](crate::Exporter).
///
/// Host code builds its own from anything that converts into a boxed error:
///
/// ```
/// use modelmeter::ExportError;
/// let e = ExportError::new("sink down");
/// let io = ExportError::new(std::io::Error::other("disk full"));
/// assert_eq!(e.to_string(), "sink down");
/// assert_eq!(io.to_string(), "disk full");
/// ```
#[derive(Debug)]
pub struct ExportError {
    inner: Box<dyn std::error::Error + Send + Sync>,
}

impl ExportError {
    /// Wraps a message or an error.
    pub fn new(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self {
            inner: source.into(),
        }
    }
}

/// A failure inside an [`Actuator`](crate::Actuator); built like [`ExportError`].
#[derive(Debug)]
pub struct ActuatorError {
    inner: Box<dyn std::error::Error + Send + Sync>,
}

impl ActuatorError {
    /// Wraps a message or an error.
    pub fn new(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self {
            inner: source.into(),
        }
    }
}

// Both are transparent wrappers: they display as the wrapped error and hand on *its*
// cause, so a report that walks the chain names each cause once (with thiserror's
// `#[error("{source}")]` on a `source` field, the wrapped error was printed twice).
macro_rules! transparent_error {
    ($t:ty) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.inner, f)
            }
        }

        impl std::error::Error for $t {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                self.inner.source()
            }
        }
    };
}
transparent_error!(ExportError);
transparent_error!(ActuatorError);

impl From<std::io::Error> for ExportError {
    fn from(e: std::io::Error) -> Self {
        Self::new(e)
    }
}

/// [`set_global`](crate::set_global) was called when a global monitor was already set.
/// It hands the monitor back, so the caller decides whether to keep or drop it (dropping
/// flushes it).
#[derive(thiserror::Error)]
#[error("a global monitor is already set")]
pub struct SetGlobalError {
    monitor: crate::Monitor,
}

impl SetGlobalError {
    pub(crate) fn new(monitor: crate::Monitor) -> Self {
        Self { monitor }
    }

    /// The monitor that was not installed.
    pub fn into_monitor(self) -> crate::Monitor {
        self.monitor
    }
}

impl fmt::Debug for SetGlobalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SetGlobalError").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_has_its_own_slot() {
        for (i, r) in RejectReason::ALL.iter().enumerate() {
            assert_eq!(r.slot(), i);
        }
    }

    #[test]
    fn messages_name_the_value() {
        let e = RecordError::InvalidCost { value: -1.5 };
        assert!(e.to_string().contains("-1.5"));
        let e = RecordError::ModelIdTooLong { len: 300, max: 256 };
        assert!(e.to_string().contains("300") && e.to_string().contains("256"));
        let t = |s| std::time::UNIX_EPOCH + std::time::Duration::from_secs(s);
        let e = RecordError::TooOld {
            at: t(1_795_392_005),
            oldest: t(1_795_395_600),
        };
        assert_eq!(
            e.to_string(),
            "event time 2026-11-23T00:00:05Z is older than the oldest retained minute 2026-11-23T01:00:00Z"
        );
    }

    #[test]
    fn wrapping_errors_name_each_cause_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("disk full")]
        struct Disk;
        #[derive(Debug, thiserror::Error)]
        #[error("cannot write the batch")]
        struct Write(#[source] Disk);
        let chain = |e: &dyn std::error::Error| {
            let mut out = vec![e.to_string()];
            let mut next = e.source();
            while let Some(c) = next {
                out.push(c.to_string());
                next = c.source();
            }
            out
        };
        assert_eq!(
            chain(&ExportError::new(Write(Disk))),
            ["cannot write the batch", "disk full"]
        );
        assert_eq!(chain(&ActuatorError::new("refused")), ["refused"]);
    }

    #[test]
    fn a_thread_that_cannot_start_is_not_a_configuration_file_error() {
        let e = ConfigError::Spawn {
            thread: "tick worker".into(),
            message: "Resource temporarily unavailable".into(),
        };
        assert_eq!(
            e.to_string(),
            "cannot start the tick worker thread: Resource temporarily unavailable"
        );
    }
}
