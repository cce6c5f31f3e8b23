//! [`MonitorBuilder`]: assembling a monitor.

use std::sync::Arc;

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::error::ConfigError;
use crate::export::Exporter;
use crate::monitor::{Inner, Monitor};
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
    exporters: Vec<Box<dyn Exporter>>,
    rules: Vec<Box<dyn Rule>>,
    background: bool,
}

impl Default for MonitorBuilder {
    fn default() -> Self {
        Self {
            config: Config::default(),
            clock: Arc::new(SystemClock),
            exporters: Vec::new(),
            rules: Vec::new(),
            background: true,
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

    /// Adds an exporter; every tick hands it the buckets sealed at that tick.
    pub fn exporter(mut self, exporter: impl Exporter) -> Self {
        self.exporters.push(Box::new(exporter));
        self
    }

    /// Adds a rule, evaluated at every tick after the default KPI rules.
    pub fn rule(mut self, rule: impl Rule) -> Self {
        self.rules.push(Box::new(rule));
        self
    }

    /// Whether a worker thread ticks every `updateInterval` (default `true`). With
    /// `false` the host calls [`Monitor::tick`].
    pub fn background(mut self, background: bool) -> Self {
        self.background = background;
        self
    }

    /// Validates the configuration and builds the monitor.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first bad field, or [`ConfigError::Io`] if the
    /// worker thread cannot be spawned.
    pub fn build(self) -> Result<Monitor, ConfigError> {
        self.config.validate()?;
        let mut rules = crate::rules::default_rules(&self.config);
        rules.extend(self.rules);
        let mut ids = std::collections::HashSet::new();
        for rule in &rules {
            rule.validate()?;
            if !ids.insert(rule.id().to_owned()) {
                return Err(ConfigError::invalid(
                    "rules",
                    rule.id(),
                    "rule ids must be unique: alerts are keyed by them",
                ));
            }
        }
        let inner = Arc::new(Inner::new(self.config, self.clock, rules, self.exporters));
        let lifecycle =
            Lifecycle::new(inner.clone(), self.background).map_err(|e| ConfigError::Io {
                path: "(worker thread)".into(),
                message: e.to_string(),
            })?;
        Ok(Monitor {
            inner,
            _lifecycle: Arc::new(lifecycle),
        })
    }
}
