//! [`MonitorBuilder`]: assembling a monitor.

use std::sync::Arc;

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::error::ConfigError;
use crate::export::{Delivery, ExportSettings, Exporter};
use crate::heuristics::Heuristic;
use crate::monitor::{Inner, Monitor};
use crate::optimizer::Actuator;
use crate::rules::Rule;
use crate::worker::Lifecycle;

/// Configures and builds a [`Monitor`]; from [`Monitor::builder`].
///
/// ```
/// use modelmeter::{Config, ManualClock, Monitor};
/// use std::time::SystemTime;
///
/// let monitor = Monitor::builder()
///     .clock(ManualClock::new(SystemTime::now()))
///     .config(Config::default())
///     .background(false)
///     .build()?;
/// # Ok::<(), modelmeter::ConfigError>(())
/// ```
#[must_use = "a builder does nothing until build() is called"]
pub struct MonitorBuilder {
    config: Config,
    clock: Arc<dyn Clock>,
    exporters: Vec<(Box<dyn Exporter>, Option<ExportSettings>)>,
    rules: Vec<Box<dyn Rule>>,
    heuristics: Vec<Box<dyn Heuristic>>,
    actuator: Option<Box<dyn Actuator>>,
    background: bool,
    synchronous_export: Option<bool>,
    #[cfg(feature = "persist")]
    persist: Option<std::path::PathBuf>,
    pricing: Option<crate::pricing::Pricing>,
    /// Declared with [`MonitorBuilder::dimension`], merged over the configuration's.
    dimensions: Vec<crate::config::DimensionConfig>,
}

impl Default for MonitorBuilder {
    fn default() -> Self {
        Self {
            config: Config::default(),
            clock: Arc::new(SystemClock),
            exporters: Vec::new(),
            rules: Vec::new(),
            heuristics: Vec::new(),
            actuator: None,
            background: true,
            synchronous_export: None,
            #[cfg(feature = "persist")]
            persist: None,
            pricing: None,
            dimensions: Vec::new(),
        }
    }
}

impl MonitorBuilder {
    /// The time source; [`SystemClock`] by default.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The configuration; [`Config::default`] by default.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Adds an exporter, delivered to on its own thread with the `export` settings of
    /// the configuration; every tick hands it an [`ExportBatch`](crate::ExportBatch).
    pub fn exporter(mut self, exporter: impl Exporter) -> Self {
        self.exporters.push((Box::new(exporter), None));
        self
    }

    /// Adds an exporter with delivery settings of its own.
    pub fn exporter_with(mut self, exporter: impl Exporter, settings: ExportSettings) -> Self {
        self.exporters.push((Box::new(exporter), Some(settings)));
        self
    }

    /// Whether `tick` waits until every exporter has finished the tick's batch (at most
    /// each one's timeout per attempt, plus backoff). Default: `true` with
    /// `background(false)`, so simulations and tests see each batch delivered when
    /// `tick` returns; `false` with a background worker, so a stalled exporter never
    /// holds up a tick.
    pub fn synchronous_export(mut self, synchronous: bool) -> Self {
        self.synchronous_export = Some(synchronous);
        self
    }

    /// Adds a rule, evaluated at every tick after the default KPI rules.
    pub fn rule(mut self, rule: impl Rule) -> Self {
        self.rules.push(Box::new(rule));
        self
    }

    /// Adds a heuristic, run after the built-in ones (`optimizer.enabled`) by
    /// [`Monitor::recommendations`](crate::Monitor::recommendations) and at each optimizer interval.
    pub fn heuristic(mut self, heuristic: impl Heuristic) -> Self {
        self.heuristics.push(Box::new(heuristic));
        self
    }

    /// The hook that applies recommendations marked safe; see [`Actuator`].
    pub fn actuator(mut self, actuator: impl Actuator) -> Self {
        self.actuator = Some(Box::new(actuator));
        self
    }

    /// Whether a worker thread ticks every `updateInterval` (default `true`). With
    /// `false` the host calls [`Monitor::tick`].
    pub fn background(mut self, background: bool) -> Self {
        self.background = background;
        self
    }

    /// Keeps sealed history, budgets, alert state and what rules learned in a store
    /// at `path` (created if missing), and loads it when the monitor is built, so a
    /// restart loses nothing a completed tick sealed. How it is written and what
    /// happens to a damaged store: [`persist`](crate::persist).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), modelmeter::ConfigError> {
    /// let monitor = modelmeter::Monitor::builder()
    ///     .persist("/var/lib/router/modelmeter.redb")
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "persist")]
    #[cfg_attr(docsrs, doc(cfg(feature = "persist")))]
    pub fn persist(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.persist = Some(path.into());
        self
    }

    /// A price table: a selection that reports tokens and no cost is priced from it
    /// (cached input and reasoning tokens at their own prices), one that reports both
    /// keeps its cost and the difference is counted, and one whose model has no price
    /// is recorded without a cost and counted as unpriced, never guessed
    /// ([`Health::pricing`](crate::Health::pricing)).
    ///
    /// ```
    /// use modelmeter::{Monitor, Price, Pricing, Selection};
    /// use std::time::Duration;
    ///
    /// let pricing = Pricing::new().with_price("gpt-4o", Price::new(2.5, 10.0).cached_input(1.25))?;
    /// let monitor = Monitor::builder().pricing(pricing).background(false).build()?;
    /// let s = Selection::new("gpt-4o", Duration::from_millis(700))
    ///     .tokens(1_000, 200)
    ///     .cached_input_tokens(400);
    /// monitor.record_selection(&s)?;
    /// let cost = monitor.summary(Duration::from_secs(60)).models["gpt-4o"].cost_usd;
    /// assert!((cost - 0.004).abs() < 1e-9); // 600 × $2.50/M + 400 × $1.25/M + 200 × $10/M
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn pricing(mut self, pricing: crate::pricing::Pricing) -> Self {
        self.pricing = Some(pricing);
        self
    }

    /// Declares a dimension to break selections down by (set with
    /// [`Selection::attr`](crate::Selection::attr)), keeping at most `max_values`
    /// distinct values; later values share `__other__`. Naming a built-in dimension
    /// (`provider`, `operation`, `requested_model`) sets its cap instead. The same as
    /// an entry of `recording.dimensions`, which this replaces for the same key; the
    /// rules are in [`DimensionConfig`](crate::DimensionConfig), and a bad key or cap
    /// is a [`ConfigError`] from [`build`](Self::build).
    ///
    /// ```
    /// use modelmeter::{Monitor, Selection};
    /// use std::time::Duration;
    ///
    /// let monitor = Monitor::builder().background(false).dimension("team", 50).build()?;
    /// let s = Selection::new("gpt-4o", Duration::from_millis(800)).attr("team", "search");
    /// monitor.record_selection(&s)?;
    /// let refused = Selection::new("gpt-4o", Duration::from_millis(800)).attr("tenant", "x");
    /// assert!(monitor.record_selection(&refused).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn dimension(mut self, key: &str, max_values: usize) -> Self {
        self.dimensions
            .push(crate::config::DimensionConfig::new(key, max_values));
        self
    }

    /// Validates the configuration and builds the monitor.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first bad field, or [`ConfigError::Spawn`] if the
    /// worker or an exporter's thread cannot be started.
    pub fn build(mut self) -> Result<Monitor, ConfigError> {
        for d in std::mem::take(&mut self.dimensions) {
            let dims = &mut self.config.recording.dimensions;
            dims.retain(|o| o.key != d.key);
            dims.push(d);
        }
        self.config.validate()?;
        self.config.check_budget_dimensions()?;
        let mut rules = crate::rules::default_rules(&self.config);
        rules.extend(self.rules);
        let mut ids = std::collections::HashSet::new();
        for rule in &rules {
            rule.validate()?;
            // A rule reading a dimension the monitor does not keep would never fire.
            for d in rule.dimensions() {
                if !self.config.keeps_dimension(&d) {
                    return Err(ConfigError::invalid(
                        &format!("rules.{}.dimensions", rule.id()),
                        format!("{d:?}"),
                        "is neither a built-in dimension nor a declared one",
                    ));
                }
            }
            if !ids.insert(rule.id().to_owned()) {
                return Err(ConfigError::invalid(
                    "rules",
                    rule.id(),
                    "rule ids must be unique: alerts are keyed by them",
                ));
            }
        }
        // Opened before any thread starts, so a store that cannot be opened leaves none.
        #[cfg(feature = "persist")]
        let opened = match &self.persist {
            Some(path) => {
                let r = &self.config.recording;
                let layout = crate::hdr::BucketLayout::new(
                    r.latency_low_micros,
                    r.latency_high_micros,
                    r.latency_significant_digits,
                )
                .expect("config was validated");
                let settings = crate::histogram::HistogramSettings {
                    lowest_us: r.latency_low_micros,
                    highest_us: r.latency_high_micros,
                    significant_digits: r.latency_significant_digits,
                };
                let now = std::time::SystemTime::now();
                Some(crate::persist::Persistence::open(
                    path, &layout, settings, now,
                )?)
            }
            None => None,
        };
        let spawn = |thread: &str, e: std::io::Error| ConfigError::Spawn {
            thread: thread.to_owned(),
            message: e.to_string(),
        };
        let mut deliveries = Vec::new();
        for (exporter, settings) in self.exporters {
            let settings = settings.unwrap_or_else(|| self.config.export.clone());
            settings.validate()?;
            let name = format!("{} exporter", exporter.name());
            deliveries.push(Delivery::spawn(exporter, settings).map_err(|e| spawn(&name, e))?);
        }
        let synchronous = self.synchronous_export.unwrap_or(!self.background);
        let mut heuristics = if self.config.optimizer.enabled {
            crate::heuristics::default_heuristics()
        } else {
            Vec::new()
        };
        heuristics.extend(self.heuristics);
        let mut inner = Inner::new(
            self.config,
            self.clock,
            rules,
            deliveries,
            synchronous,
            (heuristics, self.actuator),
        );
        inner.pricing = match (inner.config.cost.pricing()?, self.pricing) {
            (config, Some(given)) => Some(config.overridden_by(given)),
            (config, None) if !config.is_empty() => Some(config),
            _ => None,
        }
        .map(crate::monitor::Priced::new);
        #[cfg(feature = "persist")]
        if let Some((persistence, loaded)) = opened {
            inner.attach(persistence, loaded);
        }
        let inner = Arc::new(inner);
        let lifecycle =
            Lifecycle::new(inner.clone(), self.background).map_err(|e| spawn("tick worker", e))?;
        Ok(Monitor {
            inner,
            _lifecycle: Arc::new(lifecycle),
        })
    }
}
