//! [`TracingLayer`]: `tracing` spans around model calls become selections (feature
//! `tracing`).
//!
//! Agent frameworks already wrap model calls in spans with the OpenTelemetry GenAI
//! semantic-convention fields. Add this layer to the subscriber and each such span is
//! recorded when it closes, with no change at the call sites:
//!
//! | span field | selection |
//! |---|---|
//! | `gen_ai.response.model`, else `gen_ai.request.model` | the model (the one that answered, when the span says) |
//! | the span's lifetime, creation to close (busy plus idle) | latency |
//! | `gen_ai.usage.input_tokens`, `gen_ai.usage.output_tokens` | tokens |
//! | `error.type` (any value), or `otel.status_code = "ERROR"` | failed |
//! | `modelmeter.cost_usd`, `modelmeter.cache_hit` | cost, cache hit |
//! | `modelmeter.complexity`, `modelmeter.accuracy`, `modelmeter.satisfaction` | the optional ratings |
//!
//! Every span whose callsite declares `gen_ai.request.model` counts (declare it `Empty`
//! and `record` it later if the model is chosen inside the span); narrow it to span
//! names or target prefixes with [`TracingLayer::span_names`] and
//! [`TracingLayer::targets`]. Other spans cost one lookup in the callsite's field set
//! when they open and nothing after. A span that closes without a model, or whose
//! fields are out of range (a negative cost), is not recorded; the refusal is counted
//! in [`Health::rejected`](crate::Health::rejected) like any other.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Metadata, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use crate::clock::Clock;
use crate::monitor::Monitor;
use crate::selection::Selection;

const REQUEST_MODEL: &str = "gen_ai.request.model";

/// A `tracing_subscriber::Layer` that records GenAI spans into a [`Monitor`]; see the
/// [module docs](crate::tracing_layer) for the fields it reads.
///
/// ```
/// use modelmeter::{ManualClock, Monitor, TracingLayer};
/// use std::time::{Duration, SystemTime};
/// use tracing_subscriber::layer::SubscriberExt;
///
/// let clock = ManualClock::new(SystemTime::now());
/// let monitor = Monitor::builder().clock(clock.clone()).background(false).build()?;
/// let subscriber = tracing_subscriber::registry()
///     .with(TracingLayer::new(monitor.clone()).clock(clock.clone()));
/// tracing::subscriber::with_default(subscriber, || {
///     let span = tracing::info_span!(
///         "chat",
///         gen_ai.request.model = "gpt-4o",
///         gen_ai.usage.input_tokens = 1200,
///         gen_ai.usage.output_tokens = tracing::field::Empty,
///     );
///     clock.advance(Duration::from_millis(840)); // the call
///     span.record("gen_ai.usage.output_tokens", 350);
/// });
/// let s = &monitor.summary(Duration::from_secs(60)).models["gpt-4o"];
/// assert_eq!((s.count, s.latency.max, s.output_tokens), (1, Duration::from_millis(840), 350));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TracingLayer {
    monitor: Monitor,
    names: Option<Vec<String>>,
    targets: Option<Vec<String>>,
    time: Time,
}

/// Where span lifetimes are read from.
enum Time {
    /// The monotonic clock, from a fixed origin.
    Monotonic(Instant),
    /// A [`Clock`] of the host's (a `ManualClock` in tests, a replay).
    Clock(Arc<dyn Clock>),
}

impl Time {
    fn nanos(&self) -> u64 {
        match self {
            Time::Monotonic(origin) => {
                u64::try_from(origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
            }
            Time::Clock(c) => c.unix_nanos(),
        }
    }
}

impl std::fmt::Debug for TracingLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TracingLayer")
            .field("names", &self.names)
            .field("targets", &self.targets)
            .finish_non_exhaustive()
    }
}

impl TracingLayer {
    /// A layer recording into `monitor`. It holds the monitor: a globally installed
    /// subscriber is never dropped, so call [`Monitor::flush`] at shutdown.
    pub fn new(monitor: Monitor) -> Self {
        Self {
            monitor,
            names: None,
            targets: None,
            time: Time::Monotonic(Instant::now()),
        }
    }

    /// Records only spans with one of these names.
    pub fn span_names<I: IntoIterator<Item = S>, S: Into<String>>(mut self, names: I) -> Self {
        self.names = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// Records only spans whose target starts with one of these prefixes.
    pub fn targets<I: IntoIterator<Item = S>, S: Into<String>>(mut self, prefixes: I) -> Self {
        self.targets = Some(prefixes.into_iter().map(Into::into).collect());
        self
    }

    /// Measures span lifetimes with `clock` instead of the monotonic clock: for tests
    /// with a [`ManualClock`](crate::ManualClock) and for replays.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.time = Time::Clock(Arc::new(clock));
        self
    }

    fn wants(&self, meta: &Metadata<'_>) -> bool {
        meta.is_span()
            && meta.fields().field(REQUEST_MODEL).is_some()
            && self
                .names
                .as_ref()
                .is_none_or(|n| n.iter().any(|n| n == meta.name()))
            && self
                .targets
                .as_ref()
                .is_none_or(|t| t.iter().any(|t| meta.target().starts_with(t.as_str())))
    }
}

/// The GenAI fields of one open span.
#[derive(Debug, Default)]
struct GenAi {
    opened: u64,
    request_model: Option<String>,
    response_model: Option<String>,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    error: bool,
    cost_usd: Option<f64>,
    cache_hit: bool,
    complexity: Option<f64>,
    accuracy: Option<f64>,
    satisfaction: Option<f64>,
}

impl Visit for GenAi {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            REQUEST_MODEL => self.request_model = Some(value.to_owned()),
            "gen_ai.response.model" => self.response_model = Some(value.to_owned()),
            "error.type" => self.error = true,
            "otel.status_code" => self.error |= value.eq_ignore_ascii_case("error"),
            _ => {}
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        match field.name() {
            "gen_ai.usage.input_tokens" => self.input_tokens = Some(value),
            "gen_ai.usage.output_tokens" => self.output_tokens = Some(value),
            _ => self.record_f64(field, value as f64),
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        match u64::try_from(value) {
            Ok(v) => self.record_u64(field, v),
            // A negative count or cost is out of range; the selection will say so.
            Err(_) => self.record_f64(field, value as f64),
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        match field.name() {
            "modelmeter.cost_usd" => self.cost_usd = Some(value),
            "modelmeter.complexity" => self.complexity = Some(value),
            "modelmeter.accuracy" => self.accuracy = Some(value),
            "modelmeter.satisfaction" => self.satisfaction = Some(value),
            _ => {}
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if field.name() == "modelmeter.cache_hit" {
            self.cache_hit = value;
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        // `%value` and `?value` fields arrive here; strings are what matter.
        if matches!(
            field.name(),
            REQUEST_MODEL | "gen_ai.response.model" | "error.type" | "otel.status_code"
        ) {
            let text = format!("{value:?}");
            self.record_str(field, text.trim_matches('"'));
        }
    }
}

impl<S> Layer<S> for TracingLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if !self.wants(attrs.metadata()) {
            return;
        }
        let Some(span) = ctx.span(id) else { return };
        let mut fields = GenAi {
            opened: self.time.nanos(),
            ..GenAi::default()
        };
        attrs.record(&mut fields);
        span.extensions_mut().insert(fields);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        if let Some(fields) = span.extensions_mut().get_mut::<GenAi>() {
            values.record(fields);
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(f) = span.extensions_mut().remove::<GenAi>() else {
            return;
        };
        let Some(model) = f.response_model.as_deref().or(f.request_model.as_deref()) else {
            return;
        };
        let latency = Duration::from_nanos(self.time.nanos().saturating_sub(f.opened));
        let mut s = Selection::new(model, latency)
            .error(f.error)
            .cache_hit(f.cache_hit);
        if f.input_tokens.is_some() || f.output_tokens.is_some() {
            s = s.tokens(f.input_tokens.unwrap_or(0), f.output_tokens.unwrap_or(0));
        }
        if let Some(v) = f.cost_usd {
            s = s.cost_usd(v);
        }
        if let Some(v) = f.complexity {
            s = s.complexity(v);
        }
        if let Some(v) = f.accuracy {
            s = s.accuracy(v);
        }
        if let Some(v) = f.satisfaction {
            s = s.satisfaction(v);
        }
        // A refused selection is counted in `Health::rejected`; a span has nowhere to
        // report an error to.
        let _ = self.monitor.record_selection(&s);
    }
}
