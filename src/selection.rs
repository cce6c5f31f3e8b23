//! One routed request, as the host reports it.
//!
//! ## Model ids
//!
//! A model id is 1 to [`MAX_MODEL_ID_LEN`] bytes of UTF-8 without control characters
//! (no newline, tab, NUL, DEL or C1 character), and not `__other__`
//! ([`OTHER_MODEL`](crate::OTHER_MODEL)), the slot that collects ids past the
//! `recording.maxModels` cap. Anything else is refused with a
//! [`RecordError`] naming it and counted in
//! [`Health::rejected`](crate::Health::rejected). Ids are checked when first seen; an
//! id already tracked costs no check.

use std::time::{Duration, SystemTime};

use crate::error::RecordError;
use crate::failure::ErrorKind;

/// Longest model id accepted, in bytes.
pub const MAX_MODEL_ID_LEN: usize = 256;

/// Largest cost accepted for one selection, in US dollars.
pub const MAX_COST_USD: f64 = 1_000_000.0;

/// What happened when the router sent one request to one model.
///
/// Built with [`Selection::new`] and chained setters; borrowed by
/// [`Monitor::record_selection`](crate::Monitor::record_selection), which validates it.
/// It borrows the model id, so building one allocates nothing.
///
/// ```
/// use modelmeter::Selection;
/// use std::time::Duration;
///
/// let s = Selection::new("gpt-4o", Duration::from_millis(840))
///     .cost_usd(0.0042)
///     .cache_hit(false)
///     .accuracy(1.0)
///     .tokens(1200, 350);
/// assert_eq!(s.model(), "gpt-4o");
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[must_use = "a Selection does nothing until it is passed to record_selection"]
pub struct Selection<'a> {
    pub(crate) model: &'a str,
    pub(crate) latency: Duration,
    pub(crate) cost_usd: Option<f64>,
    pub(crate) cache_hit: bool,
    pub(crate) error: bool,
    pub(crate) complexity: Option<f64>,
    pub(crate) accuracy: Option<f64>,
    pub(crate) satisfaction: Option<f64>,
    pub(crate) input_tokens: u64,
    pub(crate) output_tokens: u64,
    /// Whether [`Selection::tokens`] was called: zero tokens reported is not the same as
    /// none reported, for the token-usage histograms.
    pub(crate) tokens_reported: bool,
    /// Of the input tokens, those served from the provider's prompt cache; of the
    /// output tokens, those spent reasoning: for pricing.
    pub(crate) cached_input_tokens: u64,
    pub(crate) reasoning_tokens: u64,
    pub(crate) at: Option<SystemTime>,
    pub(crate) time_to_first_token: Option<Duration>,
    /// The retries, the error kind, and the fallback and streaming flags in one word
    /// ([`Marks`]): a selection without them moves and compares one word on the hot
    /// path, not four fields.
    pub(crate) marks: Marks,
    /// Provider, operation, requested model and attributes ([`crate::dimension`]).
    pub(crate) tags: crate::dimension::Tags<'a>,
}

/// [`Selection`]'s rarely set facts, packed: retries in bits 0..32, the error kind's
/// slot in bits 32..40 (read only when the selection failed), fallback in bit 40,
/// streaming in bit 41.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Marks(pub u64);

impl Marks {
    const KIND_SHIFT: u32 = 32;
    pub(crate) const FALLBACK: u64 = 1 << 40;
    const STREAMING: u64 = 1 << 41;
    /// No retries, no fallback, not streamed, and `Other` as the kind of a failure.
    pub(crate) const PLAIN: Marks = Marks((ErrorKind::Other as u64) << Self::KIND_SHIFT);

    pub(crate) fn retries(self) -> u32 {
        self.0 as u32
    }

    pub(crate) fn kind_slot(self) -> usize {
        (self.0 >> Self::KIND_SHIFT) as u8 as usize
    }

    pub(crate) fn fallback(self) -> bool {
        self.0 & Self::FALLBACK != 0
    }

    pub(crate) fn streaming(self) -> bool {
        self.0 & Self::STREAMING != 0
    }

    fn with_retries(self, retries: u32) -> Self {
        Marks(self.0 & !u64::from(u32::MAX) | u64::from(retries))
    }

    fn with_kind(self, kind: ErrorKind) -> Self {
        Marks(self.0 & !(0xff << Self::KIND_SHIFT) | (kind as u64) << Self::KIND_SHIFT)
    }

    pub(crate) fn with_flag(self, flag: u64, on: bool) -> Self {
        Marks(if on { self.0 | flag } else { self.0 & !flag })
    }
}

impl<'a> Selection<'a> {
    /// A successful, uncached selection of `model` that took `latency`.
    #[inline(always)]
    pub fn new(model: &'a str, latency: Duration) -> Self {
        Self {
            model,
            latency,
            cost_usd: None,
            cache_hit: false,
            error: false,
            complexity: None,
            accuracy: None,
            satisfaction: None,
            input_tokens: 0,
            output_tokens: 0,
            tokens_reported: false,
            cached_input_tokens: 0,
            reasoning_tokens: 0,
            at: None,
            time_to_first_token: None,
            marks: Marks::PLAIN,
            tags: crate::dimension::Tags::default(),
        }
    }

    /// What the request cost, in US dollars (finite, `>= 0`).
    #[inline(always)]
    pub fn cost_usd(mut self, usd: f64) -> Self {
        self.cost_usd = Some(usd);
        self
    }

    /// Whether the answer came from a cache.
    #[inline(always)]
    pub fn cache_hit(mut self, hit: bool) -> Self {
        self.cache_hit = hit;
        self
    }

    /// Whether the request failed; a failure without a kind counts as
    /// [`ErrorKind::Other`]. `error(false)` also clears a kind set before.
    #[inline(always)]
    pub fn error(mut self, error: bool) -> Self {
        self.error = error;
        if !error {
            self.marks = self.marks.with_kind(ErrorKind::Other);
        }
        self
    }

    /// The request failed, for this reason.
    ///
    /// ```
    /// use modelmeter::{ErrorKind, Selection};
    /// use std::time::Duration;
    ///
    /// let s = Selection::new("gpt-4o", Duration::from_millis(30)).error_kind(ErrorKind::RateLimited);
    /// assert_eq!(s.failure(), Some(ErrorKind::RateLimited));
    /// ```
    #[inline(always)]
    pub fn error_kind(mut self, kind: ErrorKind) -> Self {
        self.error = true;
        self.marks = self.marks.with_kind(kind);
        self
    }

    /// How many times the router retried before this outcome (0 = first try).
    #[inline(always)]
    pub fn retries(mut self, retries: u32) -> Self {
        self.marks = self.marks.with_retries(retries);
        self
    }

    /// Whether the router fell back to this model from the one it tried first.
    #[inline(always)]
    pub fn fallback(mut self, fell_back: bool) -> Self {
        self.marks = self.marks.with_flag(Marks::FALLBACK, fell_back);
        self
    }

    /// Whether the answer was streamed. Implied by
    /// [`time_to_first_token`](Self::time_to_first_token); `streaming(false)` also
    /// drops a time to first token set before, so every timed selection counts as
    /// streamed.
    #[inline(always)]
    pub fn streaming(mut self, streaming: bool) -> Self {
        self.marks = self.marks.with_flag(Marks::STREAMING, streaming);
        if !streaming {
            self.time_to_first_token = None;
        }
        self
    }

    /// When the first token of a streamed answer arrived, from the start of the request
    /// (at most the selection's latency). Marks the selection as streamed. With
    /// [`tokens`](Self::tokens) reporting more than one output token, the time per
    /// output token after the first is derived:
    /// `(latency - time_to_first_token) / (output_tokens - 1)`.
    ///
    /// ```
    /// use modelmeter::Selection;
    /// use std::time::Duration;
    ///
    /// let s = Selection::new("gpt-4o", Duration::from_millis(2400))
    ///     .time_to_first_token(Duration::from_millis(380))
    ///     .tokens(900, 202);
    /// assert!(s.is_streaming());
    /// ```
    #[inline(always)]
    pub fn time_to_first_token(mut self, ttft: Duration) -> Self {
        self.time_to_first_token = Some(ttft);
        self.marks = self.marks.with_flag(Marks::STREAMING, true);
        self
    }

    /// How hard the task was, `0..=1`, as the router judged it.
    #[inline(always)]
    pub fn complexity(mut self, complexity: f64) -> Self {
        self.complexity = Some(complexity);
        self
    }

    /// Whether this was the right model for the task, `0..=1` (1 = right).
    #[inline(always)]
    pub fn accuracy(mut self, accuracy: f64) -> Self {
        self.accuracy = Some(accuracy);
        self
    }

    /// The user's satisfaction with the answer, `0..=1`.
    #[inline(always)]
    pub fn satisfaction(mut self, satisfaction: f64) -> Self {
        self.satisfaction = Some(satisfaction);
        self
    }

    /// Input and output tokens.
    #[inline(always)]
    pub fn tokens(mut self, input: u64, output: u64) -> Self {
        self.input_tokens = input;
        self.output_tokens = output;
        self.tokens_reported = true;
        self
    }

    /// Of the input tokens, how many the provider served from its prompt cache (as
    /// OpenAI's `cached_tokens`, part of `prompt_tokens`): priced at the cached-input
    /// price by a [`Pricing`](crate::Pricing). More than the input tokens is
    /// [`RecordError::InvalidTokens`].
    #[inline(always)]
    pub fn cached_input_tokens(mut self, n: u64) -> Self {
        self.cached_input_tokens = n;
        self
    }

    /// Of the output tokens, how many were spent reasoning (as OpenAI's
    /// `reasoning_tokens`, part of `completion_tokens`): priced at the reasoning price
    /// by a [`Pricing`](crate::Pricing). More than the output tokens is
    /// [`RecordError::InvalidTokens`].
    #[inline(always)]
    pub fn reasoning_tokens(mut self, n: u64) -> Self {
        self.reasoning_tokens = n;
        self
    }

    /// The token counts a [`Pricing`](crate::Pricing) prices.
    pub(crate) fn token_counts(&self) -> crate::pricing::TokenCounts {
        crate::pricing::TokenCounts::new(self.input_tokens, self.output_tokens)
            .cached_input(self.cached_input_tokens)
            .reasoning(self.reasoning_tokens)
    }

    /// The provider that served the request (OpenTelemetry's `gen_ai.provider.name`:
    /// `openai`, `anthropic`, `aws.bedrock`, ...), for
    /// [`Monitor::summary_by`](crate::Monitor::summary_by)`("provider", ..)`, which also
    /// keeps each provider's latency distribution. Values are checked as
    /// [`crate::dimension`] describes.
    ///
    /// ```
    /// use modelmeter::Selection;
    /// use std::time::Duration;
    ///
    /// let s = Selection::new("gpt-4o", Duration::from_millis(840))
    ///     .provider("azure.ai.openai")
    ///     .operation("chat")
    ///     .requested_model("gpt-4.1")
    ///     .attr("team", "search");
    /// assert_eq!(s.model(), "gpt-4o");
    /// ```
    #[inline(always)]
    pub fn provider(mut self, provider: &'a str) -> Self {
        self.tags
            .set_built_in(crate::dimension::PROVIDER_DIM, provider);
        self
    }

    /// The kind of request (`chat`, `embeddings`, `completion`, ...; OpenTelemetry's
    /// `gen_ai.operation.name`).
    #[inline(always)]
    pub fn operation(mut self, operation: &'a str) -> Self {
        self.tags
            .set_built_in(crate::dimension::OPERATION_DIM, operation);
        self
    }

    /// The model the router asked for, when it may differ from the one that served
    /// ([`Selection::new`]'s): a selection served by another model counts as a
    /// fallback, on the served model and on the requested one.
    #[inline(always)]
    pub fn requested_model(mut self, model: &'a str) -> Self {
        self.tags
            .set_built_in(crate::dimension::REQUESTED_DIM, model);
        self
    }

    /// Sets attribute `key` (declared with
    /// [`MonitorBuilder::dimension`](crate::MonitorBuilder::dimension)) to `value`,
    /// replacing a value set before for the same key. Recording refuses an undeclared
    /// key ([`RecordError::UndeclaredDimension`]) and more than
    /// [`MAX_ATTRIBUTES`](crate::dimension::MAX_ATTRIBUTES) keys.
    #[inline(always)]
    pub fn attr(mut self, key: &'a str, value: &'a str) -> Self {
        self.tags.set_attr(key, value);
        self
    }

    /// Sets a dimension value through a handle made once with
    /// [`Monitor::dimension_value`](crate::Monitor::dimension_value), sparing the
    /// lookup of its text; it wins over text set for the same dimension.
    #[inline(always)]
    pub fn value(mut self, value: &'a crate::DimensionValue) -> Self {
        self.tags.set_handle(value);
        self
    }

    /// When the request happened, for replays and late reports; defaults to the
    /// monitor's clock at the time of recording.
    #[inline(always)]
    pub fn at(mut self, at: SystemTime) -> Self {
        self.at = Some(at);
        self
    }

    /// The model id.
    #[inline(always)]
    pub fn model(&self) -> &'a str {
        self.model
    }

    /// The latency.
    #[inline(always)]
    pub fn latency(&self) -> Duration {
        self.latency
    }

    /// The kind of failure, `None` for a success.
    #[inline(always)]
    pub fn failure(&self) -> Option<ErrorKind> {
        self.error.then(|| ErrorKind::ALL[self.marks.kind_slot()])
    }

    /// Whether the answer was streamed.
    #[inline(always)]
    pub fn is_streaming(&self) -> bool {
        self.marks.streaming()
    }

    /// Checks the model id; the other fields are checked as they are converted
    /// (`aggregate::Event::from_selection`).
    #[inline(always)]
    pub(crate) fn check_model(&self) -> Result<(), RecordError> {
        let len = self.model.len();
        if len.wrapping_sub(1) < MAX_MODEL_ID_LEN {
            return Ok(());
        }
        Err(if len == 0 {
            RecordError::EmptyModelId
        } else {
            RecordError::ModelIdTooLong {
                len,
                max: MAX_MODEL_ID_LEN,
            }
        })
    }
}

/// The rules a model id must follow beyond its length, checked once per new id (an id
/// already tracked passed them): not the overflow slot's own id
/// [`OTHER_MODEL`](crate::OTHER_MODEL), and no control characters (a newline or NUL
/// would forge a line in the log and CSV outputs).
#[cold]
pub(crate) fn check_new_model_id(id: &str) -> Result<(), RecordError> {
    if id == crate::registry::OTHER_MODEL {
        return Err(RecordError::ReservedModelId);
    }
    if let Some((at, _)) = id.char_indices().find(|(_, c)| c.is_control()) {
        return Err(RecordError::ControlCharInModelId {
            id: id.to_owned(),
            at,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::Event;
    use crate::hdr::BucketLayout;

    trait Validate {
        fn validate(&self) -> Result<(), RecordError>;
    }

    impl Validate for Selection<'_> {
        fn validate(&self) -> Result<(), RecordError> {
            let layout = BucketLayout::new(1, 3_600_000_000, 2).unwrap();
            Event::from_selection(self, &layout).map(|_| ())
        }
    }

    fn base() -> Selection<'static> {
        Selection::new("m", Duration::from_millis(1))
    }

    #[test]
    fn valid_selection_passes() {
        assert_eq!(
            base()
                .cost_usd(0.0)
                .complexity(1.0)
                .accuracy(0.0)
                .validate(),
            Ok(())
        );
    }

    #[test]
    fn each_bad_field_is_named() {
        assert!(matches!(
            base().cost_usd(f64::NAN).validate(),
            Err(RecordError::InvalidCost { .. })
        ));
        assert!(matches!(
            base().cost_usd(f64::INFINITY).validate(),
            Err(RecordError::InvalidCost { .. })
        ));
        assert_eq!(
            base().cost_usd(-0.5).validate(),
            Err(RecordError::InvalidCost { value: -0.5 })
        );
        assert_eq!(
            base().complexity(1.5).validate(),
            Err(RecordError::InvalidComplexity { value: 1.5 })
        );
        assert_eq!(
            base().accuracy(-0.1).validate(),
            Err(RecordError::InvalidAccuracy { value: -0.1 })
        );
        assert!(matches!(
            base().satisfaction(f64::NAN).validate(),
            Err(RecordError::InvalidSatisfaction { .. })
        ));
        assert_eq!(
            Selection::new("", Duration::ZERO).validate(),
            Err(RecordError::EmptyModelId)
        );
        let long = "x".repeat(257);
        assert_eq!(
            Selection::new(&long, Duration::ZERO).validate(),
            Err(RecordError::ModelIdTooLong { len: 257, max: 256 })
        );
        assert_eq!(
            Selection::new(&long[..256], Duration::ZERO).validate(),
            Ok(())
        );
    }
}
