//! [`Monitor`]: the handle the host records through and queries.

mod budgets;
mod feedback;
mod insights;
mod pricing;

pub(crate) use pricing::Priced;

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use crossbeam_utils::CachePadded;
use parking_lot::{Mutex, RwLock};

use crate::accumulate::{ModelSlot, thread_lane};
use crate::aggregate::Event;
use crate::alerts::{
    Alert, AlertEvent, AlertId, AlertManager, Incident, IncidentEvent, ResolvedAlert,
};
use crate::builder::MonitorBuilder;
use crate::clock::{Clock, to_unix_nanos};
use crate::config::Config;
use crate::cost::BudgetTracker;
use crate::error::{RecordError, RejectReason};
use crate::export::{
    Counts, Delivery, DeliveryProbe, DimSeries, ExportBatch, ExpositionFormat, PrometheusText,
};
use crate::hdr::BucketLayout;
use crate::health::Health;
use crate::heuristics::Heuristic;
use crate::isolate::{GuardedClock, GuardedRule, PanicLog};
use crate::live::{LiveReceiver, LiveSnapshot, Subscribers};
use crate::optimizer::{OptimizerState, Optimizers};
use crate::registry::Registry;
use crate::rules::{Rule, RuleView, Scope};
use crate::scoreboard::{Publisher, Scoreboard};
use crate::seal::{NANOS_PER_MINUTE, Sealer};
use crate::selection::Selection;
use crate::snapshot::Snapshot;
use crate::store::Store;
use crate::summary::{Stats, Summary};
use crate::worker::Lifecycle;
use std::collections::BTreeMap;

const REJECT_LANES: usize = 16;
type RejectCounters = [AtomicU64; RejectReason::ALL.len()];

/// What the tick owns: rules, exporters and reusable buffers.
pub(crate) struct TickState {
    pub sealer: Sealer,
    pub rules: Vec<GuardedRule>,
    pub deliveries: Vec<Delivery>,
    /// When the previous tick ran, for report schedules.
    pub last_tick: u64,
}

/// Shared state behind every handle.
pub(crate) struct Inner {
    pub config: Config,
    pub clock: GuardedClock,
    /// Panics of rules and of whole ticks, for `health()`.
    pub panics: PanicLog,
    /// 0: no worker; 1: running; 2: stopped.
    pub worker: AtomicU8,
    /// When the last tick completed (nanoseconds since the epoch; 0 before the first).
    last_tick: AtomicU64,
    pub layout: BucketLayout,
    pub registry: Registry,
    /// Provider, operation, requested model and the declared attributes.
    pub dims: crate::dimension::Dimensions,
    pub store: RwLock<Store>,
    pub tick_state: Mutex<TickState>,
    /// Separate from the tick state so alert queries never wait on an exporter.
    pub alerts: Mutex<AlertManager>,
    /// Heuristics, shared so they run without any monitor lock held.
    pub heuristics: Arc<[Box<dyn Heuristic>]>,
    /// Heuristic runs that panicked.
    pub heuristic_panics: AtomicU64,
    /// The actuator and what it applied.
    pub optimizer: Mutex<OptimizerState>,
    /// Which budget thresholds fired this period.
    pub budgets: Mutex<BudgetTracker>,
    /// Exporter counters, readable while a tick holds the deliveries.
    probes: Vec<DeliveryProbe>,
    /// Cumulative series of sealed minutes for `render_metrics`; written under the
    /// store's write lock, read under its read lock.
    prometheus: Mutex<PrometheusText>,
    /// The duration-histogram slot of every latency bucket, for open cells.
    le_slots: Box<[u8]>,
    subscribers: Mutex<Subscribers>,
    /// The clock's time at build, nanoseconds since the epoch: how long traffic can
    /// have been seen, for rates in the first minute.
    #[cfg_attr(not(feature = "http"), allow(dead_code))]
    started: u64,
    scores: Publisher,
    /// Whether a tick waits for its batch to be delivered.
    synchronous_export: bool,
    rejects: Box<[CachePadded<RejectCounters>]>,
    /// The price table, when one was given (`MonitorBuilder::pricing`).
    pub(crate) pricing: Option<pricing::Priced>,
    ticks: AtomicU64,
    tick_nanos: AtomicU64,
    grace_nanos: u64,
    minute_retention: u64,
    /// Score names late feedback has used.
    score_names: crate::feedback::ScoreNames,
    /// Feedback for sealed minutes, added to the store at the next tick.
    feedback_backlog: Mutex<crate::feedback::Backlog>,
    /// The persistent store, when the monitor keeps one.
    #[cfg(feature = "persist")]
    persist: Option<crate::persist::Persistence>,
}

impl Inner {
    pub(crate) fn new(
        config: Config,
        clock: Arc<dyn Clock>,
        rules: Vec<Box<dyn Rule>>,
        deliveries: Vec<Delivery>,
        synchronous_export: bool,
        optimizer: Optimizers,
    ) -> Self {
        let r = &config.recording;
        let layout = BucketLayout::new(
            r.latency_low_micros,
            r.latency_high_micros,
            r.latency_significant_digits,
        )
        .expect("config was validated");
        let shards = r.effective_shards();
        let store = Store::new(&config);
        let probes = deliveries.iter().map(Delivery::probe).collect();
        let now = clock.unix_nanos();
        Self {
            heuristics: optimizer.0.into(),
            heuristic_panics: AtomicU64::new(0),
            optimizer: Mutex::new(OptimizerState::new(
                optimizer.1,
                now / config.optimizer.interval_nanos(),
            )),
            budgets: Mutex::new(BudgetTracker::default()),
            probes,
            registry: Registry::new(r.max_models, shards, layout.len()),
            dims: {
                let dims = crate::dimension::Dimensions::new(r);
                for b in &config.cost.budget.scoped {
                    dims.reserve(&b.dimension, &b.value);
                }
                dims
            },
            tick_state: Mutex::new(TickState {
                sealer: Sealer::new(layout.len()),
                rules: rules.into_iter().map(GuardedRule::new).collect(),
                deliveries,
                last_tick: now,
            }),
            prometheus: Mutex::new(
                PrometheusText::new().latency_summary(config.prometheus.latency_summary),
            ),
            le_slots: crate::export::layout_slots(&layout).into(),
            subscribers: Mutex::new(Subscribers::default()),
            started: now,
            scores: Publisher::default(),
            synchronous_export,
            alerts: Mutex::new(AlertManager::default()),
            rejects: (0..REJECT_LANES)
                .map(|_| CachePadded::new(Default::default()))
                .collect(),
            pricing: None,
            ticks: AtomicU64::new(0),
            tick_nanos: AtomicU64::new(0),
            grace_nanos: r.seal_grace.as_nanos() as u64,
            minute_retention: store.tiers[0].retention,
            score_names: Default::default(),
            feedback_backlog: Mutex::default(),
            store: RwLock::new(store),
            layout,
            clock: GuardedClock::new(clock),
            panics: PanicLog::default(),
            worker: AtomicU8::new(0),
            last_tick: AtomicU64::new(0),
            config,
            #[cfg(feature = "persist")]
            persist: None,
        }
    }

    /// Puts back what a persistent store held, and keeps the store for the ticks.
    #[cfg(feature = "persist")]
    pub(crate) fn attach(
        &mut self,
        persistence: crate::persist::Persistence,
        loaded: crate::persist::Loaded,
    ) {
        let store = self.store.get_mut();
        store.journal.get_or_insert_with(Default::default);
        let mut health = persistence.health();
        loaded.apply(
            store,
            &self.dims,
            self.alerts.get_mut(),
            self.budgets.get_mut(),
            &mut self.tick_state.get_mut().rules,
            &mut health,
        );
        // Queries walk the registry: every restored model gets its slot, as if it had
        // just been recorded. History the cap has no room for is dropped, not hidden.
        let names: Vec<Arc<str>> = store.models.keys().cloned().collect();
        for name in names {
            let valid = crate::selection::check_new_model_id(&name).is_ok()
                || &*name == crate::registry::OTHER_MODEL;
            if !valid || *self.registry.resolve(&name).name != *name {
                store.forget(&name);
            }
        }
        persistence.set_health(health);
        self.persist = Some(persistence);
    }

    /// Writes what this tick changed to the persistent store, if there is one.
    #[cfg(feature = "persist")]
    fn persist(&self, rules: &[GuardedRule], now: u64, flush: bool) {
        let Some(p) = &self.persist else {
            return;
        };
        let rules = p.rules_due(now, flush).then_some(rules);
        let changes = {
            let mut store = self.store.write();
            let alerts = self.alerts.lock();
            let budgets = self.budgets.lock();
            p.gather(&mut store, &self.dims, &alerts, &budgets, rules)
        };
        if let Err(journal) = p.commit(changes, crate::clock::from_unix_nanos(now)) {
            let mut store = self.store.write();
            store
                .journal
                .get_or_insert_with(Default::default)
                .absorb(*journal);
        }
    }

    /// The minute `s` belongs to.
    #[inline]
    fn minute_of(&self, s: &Selection<'_>) -> Result<u64, RecordError> {
        let now = self.clock.unix_nanos();
        let t = match s.at {
            None => now,
            Some(at) => self.check_time(at, now)?,
        };
        Ok(t / NANOS_PER_MINUTE)
    }

    #[cold]
    fn check_time(&self, at: SystemTime, now: u64) -> Result<u64, RecordError> {
        let at_nanos = to_unix_nanos(at);
        let latest = now.saturating_add(NANOS_PER_MINUTE);
        if at_nanos > latest {
            return Err(RecordError::InFuture {
                at,
                latest: crate::clock::from_unix_nanos(latest),
            });
        }
        let oldest_minute = (now / NANOS_PER_MINUTE).saturating_sub(self.minute_retention);
        if at_nanos / NANOS_PER_MINUTE < oldest_minute {
            let oldest = crate::seal::minute_start(oldest_minute);
            return Err(RecordError::TooOld { at, oldest });
        }
        Ok(at_nanos)
    }

    #[cold]
    fn refuse(&self, e: RecordError) -> RecordError {
        self.reject(&e);
        e
    }

    #[cold]
    fn reject(&self, e: &RecordError) {
        self.rejects[thread_lane() % REJECT_LANES][e.reason().slot()]
            .fetch_add(1, Ordering::Relaxed);
    }

    #[inline]
    fn record(&self, s: &Selection<'_>, slot: Option<&ModelSlot>) -> Result<(), RecordError> {
        if !self.config.monitoring.enabled {
            return Ok(());
        }
        // The event and its minute come from two results, so the event is not moved
        // into a tuple and out again (it is about 150 bytes; those copies showed in
        // the instruction counts).
        let mut event = match Event::from_selection(s, &self.layout) {
            Ok(event) => event,
            Err(e) => return Err(self.refuse(e)),
        };
        let minute = match self.minute_of(s) {
            Ok(minute) => minute,
            Err(e) => return Err(self.refuse(e)),
        };
        // The one test a selection without dimensions pays for them.
        if !s.tags.is_empty() {
            return self.record_with_dims(s, slot, minute, &mut event);
        }
        if let Some(p) = &self.pricing {
            p.apply(s, minute, &mut event);
        }
        // Derived here, not carried through `prepare`'s result: it is 48 bytes.
        let stream = event.stream(&self.layout);
        let stream = stream.as_ref();
        if let Some(Ok(())) = slot.map(|slot| slot.record(minute, &event, stream, false)) {
            return Ok(());
        }
        let name = slot.map_or(s.model, |slot| &*slot.name);
        self.registry
            .with_slot(name, slot.is_some(), |slot, overflow| {
                slot.record(minute, &event, stream, overflow)
            })
            .inspect_err(|e| self.reject(e))
    }

    /// The rest of [`Inner::record`] for a selection with dimension values, reached
    /// by one test and running to the end on its own: a plain selection's path merges
    /// nothing from it (merging the two paths' results had cost a plain selection 7
    /// instructions). Pricing and the stream event come after the values are checked,
    /// as a plain selection's come after its own checks: a refused selection is
    /// counted nowhere else.
    #[inline]
    fn record_with_dims(
        &self,
        s: &Selection<'_>,
        slot: Option<&ModelSlot>,
        minute: u64,
        event: &mut Event,
    ) -> Result<(), RecordError> {
        let combo = match self.dims.resolve(&s.tags, s.model) {
            Ok(combo) => combo,
            Err(e) => return Err(self.refuse(e)),
        };
        if let Some(p) = &self.pricing {
            p.apply(s, minute, event);
        }
        let stream = event.stream(&self.layout);
        let (event, stream) = (&*event, stream.as_ref());
        let record = |slot: &ModelSlot, overflow| {
            slot.record_with_dims(minute, event, stream, combo, overflow)
        };
        if let Some(Ok(())) = slot.map(|slot| record(slot, false)) {
            return Ok(());
        }
        let name = slot.map_or(s.model, |slot| &*slot.name);
        self.registry
            .with_slot(name, slot.is_some(), record)
            .inspect_err(|e| self.reject(e))
    }

    /// Seals what is due (everything when `all`), prunes, evicts idle models, exports.
    ///
    /// Never panics: user code inside is isolated where it runs, and a panic that
    /// escapes anyway is counted (`Health::tick_panics`) and the next tick runs afresh.
    pub(crate) fn tick(&self, all: bool) {
        let mut state = self.tick_state.lock();
        let started = Instant::now();
        match crate::isolate::catch(|| self.tick_locked(&mut state, all)) {
            Ok(now) => self.last_tick.store(now.max(1), Ordering::Relaxed),
            Err(_) => {
                self.panics.ticks.fetch_add(1, Ordering::Relaxed);
            }
        }
        let took = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.tick_nanos.fetch_add(took, Ordering::Relaxed);
    }

    /// One tick; returns its time.
    fn tick_locked(&self, state: &mut TickState, all: bool) -> u64 {
        let now = self.clock.tick_time();
        let before = if all {
            u64::MAX
        } else {
            now.saturating_sub(self.grace_nanos) / NANOS_PER_MINUTE
        };
        let (buckets, dimension_buckets) = {
            let mut store = self.store.write();
            let TickState { sealer, .. } = state;
            let mut buckets = sealer.seal(&self.registry, &mut store, &self.layout, before);
            let dimension_buckets = sealer.seal_dimensions(&self.dims, &mut store, &self.layout);
            self.seal_feedback(&mut store, &mut buckets);
            // Under the write lock: a scrape sees each selection open or sealed, once.
            let at = crate::clock::from_unix_nanos(now);
            let mut prometheus = self.prometheus.lock();
            prometheus.observe_sealed(&buckets, at);
            prometheus.observe_dimensions(&dimension_buckets, at);
            drop(prometheus);
            for name in store.prune(now / NANOS_PER_MINUTE) {
                let Some(slot) = self.registry.get(&name) else {
                    // Restored from a persistent store and never recorded since.
                    store.forget(&name);
                    continue;
                };
                if slot.retire_if_idle() {
                    self.registry.remove(&name);
                    store.forget(&name);
                }
            }
            (buckets, dimension_buckets)
        };
        self.ticks.fetch_add(1, Ordering::Relaxed);
        let sealed = !buckets.is_empty();
        let mut batch = ExportBatch::new(crate::clock::from_unix_nanos(now), buckets, Vec::new());
        batch.dimension_buckets = dimension_buckets;
        let minutes = (&batch.buckets[..], &batch.dimension_buckets[..]);
        (batch.alerts, batch.incidents) = self.evaluate(&mut state.rules, now, minutes);
        batch.recommendations = self.optimize_if_due(now);
        if sealed {
            batch.budget_events = self.check_budgets(now);
        }
        batch.reports = self.scheduled_reports(state.last_tick, now);
        state.last_tick = state.last_tick.max(now);
        #[cfg(feature = "persist")]
        if sealed
            || all
            || !batch.alerts.is_empty()
            || !batch.incidents.is_empty()
            || !batch.budget_events.is_empty()
        {
            self.persist(&state.rules, now, all);
        }
        let batch = Arc::new(batch);
        self.prometheus.lock().observe_alerts(&batch.alerts);
        self.publish_live(now, true);
        if batch.is_empty() {
            return now;
        }
        for d in &mut state.deliveries {
            d.send(batch.clone());
        }
        if self.synchronous_export {
            state.deliveries.iter().for_each(Delivery::wait);
        }
        now
    }

    /// Seals everything, then drains every exporter's queue and calls its `flush`,
    /// waiting at most the longest `flushTimeout` of the exporters in all.
    pub(crate) fn flush(&self) {
        self.tick(true);
        let state = self.tick_state.lock();
        let start = Instant::now();
        for d in &state.deliveries {
            d.flush(start);
        }
    }

    /// Flushes, then shuts every exporter down (joining threads that finish in time).
    pub(crate) fn shutdown(&self) {
        self.tick(true);
        let mut state = self.tick_state.lock();
        let start = Instant::now();
        for d in &mut state.deliveries {
            d.shutdown(start);
        }
    }

    /// Refreshes the scoreboard (when anyone asked for one) and, at a tick, serves the
    /// subscribers that are due; both read the same two summaries.
    pub(crate) fn publish_live(&self, now: u64, at_tick: bool) {
        let interval = self.config.monitoring.update_interval;
        let subscribers = at_tick && self.subscribers.lock().due(now, interval);
        let scores = self.scores.wanted();
        if !subscribers && !scores {
            return;
        }
        let at = crate::clock::from_unix_nanos(now);
        let one = self.summary_at(now, Duration::from_secs(60));
        let five = self.summary_at(now, Duration::from_secs(300));
        if scores {
            let alerts = self.alerts.lock();
            self.scores
                .publish(at, &one, &five, &alerts.firing_by_model());
        }
        if subscribers {
            let snapshot = LiveSnapshot::new(at, &one, &five);
            self.subscribers.lock().publish(now, snapshot);
        }
    }

    /// A scoreboard handle; the first ask fills the table at once.
    pub(crate) fn scoreboard(&self) -> Scoreboard {
        let (board, first) = self.scores.handle();
        if first {
            self.publish_live(self.clock.unix_nanos(), false);
        }
        board
    }

    /// Runs every rule over the windows it asks for and the alert lifecycle over
    /// their findings; returns the alert and incident events of this tick.
    fn evaluate(
        &self,
        rules: &mut [GuardedRule],
        now: u64,
        (sealed, sealed_dimensions): (
            &[crate::bucket::MinuteBucket],
            &[crate::dimension::DimensionBucket],
        ),
    ) -> (Vec<AlertEvent>, Vec<IncidentEvent>) {
        let mut events = Vec::new();
        if rules.is_empty() {
            return (events, Vec::new());
        }
        let at = crate::clock::from_unix_nanos(now);
        let mut disabled = Vec::new();
        // (rule index, windows, policy) of every enabled rule that answered, and the
        // (dimension, window) pairs they read.
        let mut asked = Vec::with_capacity(rules.len());
        let mut dimension_windows = std::collections::BTreeSet::new();
        for (i, rule) in rules.iter_mut().enumerate().filter(|(_, r)| !r.disabled) {
            let r = &rule.rule;
            match crate::isolate::catch(|| (r.windows(), r.policy(), r.dimensions())) {
                Ok((ws, policy, dims)) => {
                    for d in dims {
                        dimension_windows.extend(ws.iter().map(|w| (d.clone(), *w)));
                    }
                    asked.push((i, ws, policy));
                }
                Err(message) => self.rule_panicked(rule, message, &mut disabled),
            }
        }
        let mut dimensions = crate::rules::DimensionWindows::new();
        for (d, w) in dimension_windows {
            let Some(dim) = self.dims.index(&d) else {
                continue;
            };
            let ctx = (&self.registry, &self.store, &self.layout);
            let by = crate::query::summary_by(ctx, &self.dims, dim, now, w);
            dimensions.insert((d, w), by);
        }
        let mut windows = std::collections::BTreeMap::new();
        let mut latency = std::collections::BTreeMap::new();
        for (_, ws, _) in &asked {
            for &w in ws {
                if windows.contains_key(&w) {
                    continue;
                }
                let (summary, tails) = crate::query::summary_with_latency(
                    (&self.registry, &self.store, &self.layout),
                    now,
                    w,
                    self.config.cost.reference_model.as_deref(),
                );
                windows.insert(w, summary);
                latency.insert(w, tails);
            }
        }
        let view = RuleView {
            now: at,
            windows: &windows,
            latency: &latency,
            layout: &self.layout,
            sealed,
            reference: self.config.cost.reference_model.as_deref(),
            dimensions: &dimensions,
            sealed_dimensions,
        };
        let mut alerts = self.alerts.lock();
        for (i, _, policy) in asked {
            let rule = &mut rules[i];
            match crate::isolate::catch(|| rule.rule.evaluate(&view)) {
                Ok(findings) => {
                    rule.consecutive_panics = 0;
                    alerts.process(&rule.id, &policy, findings, at, &mut events);
                }
                Err(message) => self.rule_panicked(rule, message, &mut disabled),
            }
        }
        for (id, panics, message) in disabled {
            events.push(alerts.rule_disabled(&id, panics, &message, at));
        }
        let group_wait = self.config.monitoring.alerting.group_wait;
        let incidents = alerts.group(&events, group_wait, at);
        (events, incidents)
    }

    /// Counts a rule's panic; past the limit in a row, disables it and queues the
    /// event that says so.
    #[cold]
    fn rule_panicked(
        &self,
        rule: &mut GuardedRule,
        message: String,
        disabled: &mut Vec<(String, u32, String)>,
    ) {
        rule.consecutive_panics += 1;
        let limit = self.config.monitoring.alerting.rule_panic_limit;
        rule.disabled = rule.consecutive_panics >= limit;
        self.panics.rule(&rule.id, message.clone(), rule.disabled);
        if rule.disabled {
            disabled.push((rule.id.clone(), rule.consecutive_panics, message));
        }
    }

    /// The exposition: sealed series plus every open cell, read under the store's read
    /// lock so the sealer cannot move a cell between the two; then the health families.
    pub(crate) fn render_metrics(&self, format: ExpositionFormat) -> String {
        // Health takes the store's read lock itself; a second read lock while a writer
        // waits would deadlock, so it is gathered first.
        let health = self.health();
        let store = self.store.read();
        let mut open = std::collections::BTreeMap::new();
        for slot in self.registry.slots() {
            let mut counts = Counts::default();
            slot.peek_open(0, u64::MAX, |cell| {
                counts.add_cell(cell, &self.le_slots, &self.layout)
            });
            if counts.count > 0 {
                open.insert(slot.name.to_string(), counts);
            }
        }
        let mut open_dims = DimSeries::new();
        let keys = self.dims.keys();
        for slot in self.registry.slots() {
            slot.peek_open(0, u64::MAX, |cell| {
                let Some(d) = cell.dims() else {
                    return;
                };
                for (combo, totals) in d.combos() {
                    for (dim, id) in combo.ids() {
                        let key = (keys[dim].to_string(), self.dims.value(dim, id).to_string());
                        open_dims.entry(key).or_default().add_open(totals);
                    }
                }
                for (id, buckets) in cell.provider_latency() {
                    let dim = crate::dimension::PROVIDER_DIM;
                    let key = (keys[dim].to_string(), self.dims.value(dim, id).to_string());
                    if let Some(c) = open_dims.get_mut(&key) {
                        c.add_open_latency(buckets, &self.le_slots);
                    }
                }
            });
        }
        let text = self
            .prometheus
            .lock()
            .render_live(format, (&open, &open_dims), &health);
        drop(store);
        text
    }

    /// Statistics over the `window` ending at `now` (nanoseconds since the epoch).
    pub(crate) fn summary_at(&self, now: u64, window: Duration) -> Summary {
        crate::query::summary(
            &self.registry,
            &self.store,
            &self.layout,
            now,
            window,
            self.config.cost.reference_model.as_deref(),
        )
    }

    pub(crate) fn health(&self) -> Health {
        let mut rejected = std::collections::BTreeMap::new();
        for reason in RejectReason::ALL {
            let n = self
                .rejects
                .iter()
                .map(|lane| lane[reason.slot()].load(Ordering::Relaxed))
                .sum();
            rejected.insert(reason, n);
        }
        let store = self.store.read();
        let slots = self.registry.slots();
        let open: u64 = slots.iter().map(|s| s.open_events()).sum();
        let exporters: Vec<_> = self.probes.iter().map(DeliveryProbe::health).collect();
        Health {
            recorded: store.sealed_events + open,
            rejected_total: rejected.values().sum(),
            rejected,
            overflowed_selections: self.registry.other().overflowed(),
            overflowed_models: self.registry.overflowed_ids(),
            sealed_buckets: store.sealed_buckets,
            models_tracked: self.registry.len(),
            bytes_retained: store.footprint() + slots.iter().map(|s| s.footprint()).sum::<usize>(),
            ticks: self.ticks.load(Ordering::Relaxed),
            tick_time: Duration::from_nanos(self.tick_nanos.load(Ordering::Relaxed)),
            global_noop: crate::global::noop_count(),
            export_failures: exporters
                .iter()
                .map(|e| e.failed + e.panicked + e.timed_out)
                .sum(),
            exporters,
            live_dropped: self.subscribers.lock().dropped,
            heuristic_panics: self.heuristic_panics.load(Ordering::Relaxed),
            rule_panics: self.panics.rules(),
            clock_panics: self.clock.panics(),
            tick_panics: self.panics.ticks.load(Ordering::Relaxed),
            worker_alive: match self.worker.load(Ordering::Relaxed) {
                0 => None,
                state => Some(state == 1),
            },
            last_tick: match self.last_tick.load(Ordering::Relaxed) {
                0 => None,
                nanos => Some(crate::clock::from_unix_nanos(nanos)),
            },
            #[cfg(feature = "persist")]
            persistence: self.persist.as_ref().map(|p| p.health()),
            #[cfg(not(feature = "persist"))]
            persistence: None,
            pricing: self.pricing.as_ref().map(|p| {
                let now = crate::clock::from_unix_nanos(self.clock.unix_nanos());
                p.health(slots.iter().map(|s| &*s.name), now)
            }),
            dimensions: self
                .dims
                .health()
                .map(|(key, values, max_values, selections, distinct)| {
                    (
                        key.to_owned(),
                        crate::health::DimensionHealth {
                            values,
                            max_values,
                            overflowed_selections: selections,
                            overflowed_values: distinct,
                        },
                    )
                })
                .collect(),
        }
    }
}

/// The monitor: record selections on the hot path, query summaries, tick.
///
/// A cheap handle (`Clone + Send + Sync`); all clones share one state. When the last
/// handle is dropped, the background worker (if any) stops and everything open is
/// sealed and exported.
///
/// ```
/// use modelmeter::{ManualClock, Monitor, Selection};
/// use std::time::{Duration, Instant, SystemTime};
///
/// let clock = ManualClock::new(SystemTime::now());
/// let monitor = Monitor::builder().clock(clock.clone()).background(false).build()?;
/// monitor.record_selection(&Selection::new("gpt-4o", Duration::from_millis(840)).cost_usd(0.0042))?;
/// monitor.record_selection(&Selection::new("gpt-4o-mini", Duration::from_millis(210)).error(true))?;
/// clock.advance(Duration::from_secs(60));
/// monitor.tick();
/// let summary = monitor.summary(Duration::from_secs(300));
/// assert_eq!(summary.overview.count, 2);
/// assert_eq!(summary.models["gpt-4o-mini"].error_rate, 1.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Monitor {
    pub(crate) inner: Arc<Inner>,
    pub(crate) _lifecycle: Arc<Lifecycle>,
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor")
            .field("models", &self.inner.registry.len())
            .finish_non_exhaustive()
    }
}

impl Monitor {
    /// Starts configuring a monitor.
    pub fn builder() -> MonitorBuilder {
        MonitorBuilder::default()
    }

    /// Records one routed request. Call it on the request path, from any thread.
    ///
    /// ## Performance
    ///
    /// No global lock and no allocation after a model's first event: a lock-free map
    /// lookup, one coarse clock read, and a few adds under the calling thread's own
    /// shard lock. See `BENCHMARKS.md` for figures.
    ///
    /// # Errors
    ///
    /// A [`RecordError`] naming the bad value when the selection is invalid; the event
    /// is then dropped, counted in [`Health::rejected`], and nothing else changes.
    #[inline]
    pub fn record_selection(&self, selection: &Selection<'_>) -> Result<(), RecordError> {
        self.inner.record(selection, None)
    }

    /// A handle that records for one model without looking its id up on each call.
    ///
    /// Past the `maxModels` cap, the handle records into `__other__`.
    ///
    /// An id that breaks the id rules (empty, too long, `__other__`, control
    /// characters) gives a handle whose every selection is refused with that error.
    pub fn model(&self, model: &str) -> ModelHandle {
        let registry = &self.inner.registry;
        let refused = Selection::new(model, Duration::ZERO)
            .check_model()
            .and_then(|()| match registry.get(model) {
                Some(_) => Ok(()),
                None => crate::selection::check_new_model_id(model),
            })
            .err()
            .map(Box::new);
        ModelHandle {
            slot: match refused {
                None => registry.resolve(model),
                // Never recorded into: every selection is refused first.
                Some(_) => registry.resolve(crate::registry::OTHER_MODEL),
            },
            requested: Arc::from(model),
            refused,
            monitor: self.clone(),
        }
    }

    /// A handle for `value` of dimension `key` (`provider`, `operation`,
    /// `requested_model` or a declared key), to set on selections with
    /// [`Selection::value`] without looking the value up each time. Past the
    /// dimension's cap the handle is `__other__`'s
    /// ([`DimensionValue::is_folded`](crate::DimensionValue::is_folded)).
    ///
    /// # Errors
    ///
    /// The value's errors as recording would give them: an undeclared key, an empty
    /// value, one over 128 bytes, one with a control character, or `__other__`.
    pub fn dimension_value(
        &self,
        key: &str,
        value: &str,
    ) -> Result<crate::DimensionValue, RecordError> {
        self.inner.dims.handle(key, value)
    }

    /// Seals every minute that has ended (plus the grace period), applies retention,
    /// and exports. The background worker calls this every `updateInterval`; with
    /// `background(false)` the host calls it.
    pub fn tick(&self) {
        self.inner.tick(false);
    }

    /// Like [`tick`](Self::tick), but seals the open minute too. Events recorded for
    /// that minute afterwards are merged into it at a later tick.
    pub fn flush(&self) {
        self.inner.flush();
    }

    /// A receiver of a [`LiveSnapshot`] (per model: count, error rate, cache hit
    /// rate, p50, p95 and cost over the last minute and 5 minutes) once per update
    /// interval, at the tick. A subscriber that falls 4 snapshots behind misses new ones
    /// (counted in [`Health::live_dropped`]) and is never waited on; dropping the
    /// receiver unsubscribes.
    pub fn subscribe(&self) -> LiveReceiver {
        self.inner.subscribers.lock().subscribe()
    }

    /// The exact data of the `window` ending now, per model, for merging across
    /// processes; see [`Snapshot`].
    pub fn snapshot(&self, window: Duration) -> Snapshot {
        let i = &*self.inner;
        let now = i.clock.unix_nanos();
        let r = &i.config.recording;
        let settings = (
            r.latency_low_micros,
            r.latency_high_micros,
            r.latency_significant_digits,
        );
        let mut snap = Snapshot::new(settings, 0, now);
        let start = crate::query::collect(
            &i.registry,
            &i.store,
            &i.layout,
            now,
            window,
            |_, name, acc| {
                snap.add(name, acc, &i.layout);
            },
        );
        snap.start_ms = start / 1_000_000;
        snap
    }

    /// One summary per minute for the last `count` minutes, the open minute last.
    #[cfg(feature = "http")]
    pub(crate) fn minute_series(&self, count: u64) -> Vec<Summary> {
        let i = &*self.inner;
        let now = i.clock.unix_nanos();
        let minute = now / crate::seal::NANOS_PER_MINUTE;
        crate::query::series(
            &i.registry,
            &i.store,
            &i.layout,
            (minute + 1, minute),
            1,
            count,
            i.config.cost.reference_model.as_deref(),
        )
    }

    /// Time since the monitor was built, by its clock.
    #[cfg(feature = "http")]
    pub(crate) fn uptime(&self) -> Duration {
        Duration::from_nanos(
            self.inner
                .clock
                .unix_nanos()
                .saturating_sub(self.inner.started),
        )
    }

    /// The recommendations of the optimizer's last run, without running it.
    #[cfg(feature = "http")]
    pub(crate) fn latest_recommendations(&self) -> Vec<crate::heuristics::Recommendation> {
        self.inner.optimizer.lock().latest.clone()
    }

    /// The Prometheus text exposition (format 0.0.4): as
    /// [`render_metrics`](Self::render_metrics) with [`ExpositionFormat::Text`].
    ///
    /// ```
    /// let monitor = modelmeter::Monitor::builder().background(false).build()?;
    /// let body = monitor.render_prometheus();
    /// assert!(body.contains("# TYPE gen_ai_client_operation_duration_seconds histogram"));
    /// # Ok::<(), modelmeter::ConfigError>(())
    /// ```
    pub fn render_prometheus(&self) -> String {
        self.inner.render_metrics(ExpositionFormat::Text)
    }

    /// The exposition for a `/metrics` handler, in `format` (pick it with
    /// [`ExpositionFormat::negotiate`] from the scraper's `Accept` header); see
    /// [`PrometheusText`] for the families.
    ///
    /// Current at the call: counters and histograms include the minute still open, and
    /// never step back or count a selection twice when its minute is sealed; then the
    /// monitor's own health as `modelmeter_*` families. Renders 100 models in about a
    /// quarter of a millisecond (`BENCHMARKS.md`), on the caller's thread, never
    /// blocking recording.
    ///
    /// ```
    /// use modelmeter::{ExpositionFormat, Monitor, Selection};
    /// use std::time::Duration;
    ///
    /// let monitor = Monitor::builder().background(false).build()?;
    /// monitor.record_selection(&Selection::new("gpt-4o", Duration::from_millis(420)))?;
    /// // No tick yet: the open minute is already counted.
    /// let body = monitor.render_metrics(ExpositionFormat::OpenMetrics);
    /// assert!(body.contains("modelmeter_selections_total{gen_ai_request_model=\"gpt-4o\"} 1"));
    /// assert!(body.ends_with("# EOF\n"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn render_metrics(&self, format: ExpositionFormat) -> String {
        self.inner.render_metrics(format)
    }

    /// Statistics over the `window` ending now, overall and per model.
    ///
    /// The window covers whole minutes: it starts at the start of the minute that
    /// `now - window` falls in and includes the open minute. Where that start is older
    /// than the minute tier keeps (6 h by default), the oldest part comes from the
    /// finest tier that still holds it and the window starts at that bucket's start;
    /// [`Summary::start`] says where the covered span really begins.
    ///
    /// ## Performance
    ///
    /// Cost grows with the number of buckets merged: a 5-minute window reads 5 minute
    /// buckets per model, a 24-hour window about 23 hour buckets and up to 60 minute
    /// buckets per model.
    pub fn summary(&self, window: Duration) -> Summary {
        self.inner.summary_at(self.inner.clock.unix_nanos(), window)
    }

    /// Statistics per value of one dimension over the last `window`: `"provider"`,
    /// `"operation"`, `"requested_model"`, a key declared with
    /// [`MonitorBuilder::dimension`](crate::MonitorBuilder::dimension), or `"model"`
    /// (the same as [`summary`](Self::summary)`(window).models`). An unknown dimension
    /// gives an empty map; [`Config::recording`](crate::Config::recording) lists the
    /// declared ones.
    ///
    /// The window covers whole minutes as [`summary`](Self::summary)'s does. Each
    /// selection counts once under each dimension it set, so a dimension's values sum
    /// to the selections that set it; values past the dimension's cap are summed
    /// under `__other__`. Percentiles are kept for providers only: for the other
    /// dimensions `latency.p50` to `p99` are zero and
    /// [`Stats::latency_percentiles_absent`](crate::Stats::latency_percentiles_absent)
    /// is set, while the count, errors, cache hits, spend, tokens, fallbacks and the
    /// minimum, mean and maximum latency are exact.
    ///
    /// ```
    /// use modelmeter::{ManualClock, Monitor, Selection};
    /// use std::time::{Duration, SystemTime};
    ///
    /// let clock = ManualClock::new(SystemTime::now());
    /// let monitor = Monitor::builder()
    ///     .clock(clock.clone())
    ///     .background(false)
    ///     .dimension("team", 100)
    ///     .build()?;
    /// let ms = Duration::from_millis;
    /// monitor.record_selection(&Selection::new("gpt-4o", ms(800)).provider("openai").attr("team", "search").cost_usd(0.01))?;
    /// monitor.record_selection(&Selection::new("claude-sonnet-4", ms(900)).provider("anthropic").attr("team", "search").cost_usd(0.02))?;
    /// monitor.record_selection(&Selection::new("gpt-4o", ms(700)).provider("openai").attr("team", "ads").cost_usd(0.01))?;
    /// let by_team = monitor.summary_by("team", Duration::from_secs(3600));
    /// assert_eq!(by_team["search"].count, 2);
    /// assert!((by_team["search"].cost_usd - 0.03).abs() < 1e-12);
    /// let by_provider = monitor.summary_by("provider", Duration::from_secs(3600));
    /// assert_eq!(by_provider["openai"].latency.p99, ms(800)); // HDR, clamped to the max
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn summary_by(&self, dimension: &str, window: Duration) -> BTreeMap<String, Stats> {
        let inner = &self.inner;
        let now = inner.clock.unix_nanos();
        if dimension == "model" {
            return inner.summary_at(now, window).models;
        }
        let Some(dim) = inner.dims.index(dimension) else {
            return BTreeMap::new();
        };
        let ctx = (&inner.registry, &inner.store, &inner.layout);
        crate::query::summary_by(ctx, &inner.dims, dim, now, window)
    }

    /// The routing scoreboard: every model's last-minute and last-5-minute numbers,
    /// refreshed once per live interval (`monitoring.liveInterval`, default 1 s) by the
    /// worker and at every [`tick`](Self::tick), readable without a lock.
    ///
    /// Refreshing costs two summaries per interval, so it starts with the first call;
    /// that call fills the table at once. See [`crate::scoreboard`] for the staleness
    /// bound and how to route on the scores without flapping.
    pub fn scoreboard(&self) -> Scoreboard {
        self.inner.scoreboard()
    }

    /// A handle that does not keep the monitor alive.
    #[cfg_attr(not(feature = "http"), allow(dead_code))]
    pub(crate) fn downgrade(&self) -> WeakMonitor {
        WeakMonitor {
            inner: Arc::downgrade(&self.inner),
            lifecycle: Arc::downgrade(&self._lifecycle),
        }
    }

    /// Starts an HTTP endpoint on `addr` (feature `http`): `/metrics`, `/healthz` and
    /// the JSON API of [`crate::http::handle`], answered on two threads of its own; no
    /// async runtime needed. Dropping the returned [`HttpEndpoint`](crate::http::HttpEndpoint)
    /// stops it.
    ///
    /// ```
    /// use modelmeter::{Monitor, Selection};
    /// use std::io::{Read, Write};
    /// use std::time::Duration;
    ///
    /// let monitor = Monitor::builder().background(false).build()?;
    /// monitor.record_selection(&Selection::new("gpt-4o", Duration::from_millis(300)))?;
    /// let endpoint = monitor.serve_http("127.0.0.1:0")?;
    /// let mut conn = std::net::TcpStream::connect(endpoint.local_addr())?;
    /// conn.write_all(b"GET /metrics HTTP/1.0\r\n\r\n")?;
    /// let mut reply = String::new();
    /// conn.read_to_string(&mut reply)?;
    /// assert!(reply.starts_with("HTTP/1.0 200"));
    /// assert!(reply.contains("modelmeter_selections_total{gen_ai_request_model=\"gpt-4o\"} 1"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`HttpError`](crate::http::HttpError) when the address does not resolve or
    /// cannot be bound.
    #[cfg(feature = "http")]
    #[cfg_attr(docsrs, doc(cfg(feature = "http")))]
    pub fn serve_http(
        &self,
        addr: impl std::net::ToSocketAddrs,
    ) -> Result<crate::http::HttpEndpoint, crate::http::HttpError> {
        crate::http::HttpEndpoint::start(self, addr)
    }

    /// The monitor's own counters.
    pub fn health(&self) -> Health {
        self.inner.health()
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Open alerts (pending, firing, or without data), ordered by rule and scope.
    pub fn active_alerts(&self) -> Vec<Alert> {
        self.inner.alerts.lock().active()
    }

    /// Resolved alerts, oldest first (the last 10,000).
    pub fn alert_history(&self) -> Vec<ResolvedAlert> {
        self.inner.alerts.lock().history()
    }

    /// The last 1,000 alert events, oldest first: what exporters were handed.
    pub fn recent_alert_events(&self) -> Vec<AlertEvent> {
        self.inner.alerts.lock().recent()
    }

    /// Mean time from firing to resolved, per rule id, over the alert history.
    pub fn mean_time_to_resolve(&self) -> std::collections::BTreeMap<String, Duration> {
        self.inner.alerts.lock().mean_time_to_resolve()
    }

    /// Open incidents: groups of related firing alerts, oldest first (see
    /// [`Incident`]).
    pub fn incidents(&self) -> Vec<Incident> {
        self.inner.alerts.lock().incidents()
    }

    /// Resolved incidents, oldest first (the last 1,000).
    pub fn incident_history(&self) -> Vec<Incident> {
        self.inner.alerts.lock().incident_history()
    }

    /// Mean time from an incident's first alert firing to its last alert ending, over
    /// the incident history; `None` before any incident resolved.
    pub fn mean_time_to_resolve_incidents(&self) -> Option<Duration> {
        self.inner.alerts.lock().mean_time_to_resolve_incidents()
    }

    /// Acknowledges an open alert: it is not re-notified until its severity rises.
    /// Returns whether an open alert had that id.
    pub fn acknowledge(&self, alert_id: AlertId) -> bool {
        self.inner.alerts.lock().acknowledge(alert_id)
    }

    /// Silences every event of `rule_id` for `scope` until `until`. The alert's state
    /// still evolves underneath; see the lifecycle in [`Alert`].
    pub fn snooze(&self, rule_id: &str, scope: Scope, until: SystemTime) {
        self.inner.alerts.lock().snooze(rule_id, scope, until);
    }
}

/// A handle that does not keep the monitor alive, for the HTTP endpoint's threads.
#[cfg_attr(not(feature = "http"), allow(dead_code))]
#[derive(Clone)]
pub(crate) struct WeakMonitor {
    inner: std::sync::Weak<Inner>,
    lifecycle: std::sync::Weak<Lifecycle>,
}

#[cfg_attr(not(feature = "http"), allow(dead_code))]
impl WeakMonitor {
    pub(crate) fn upgrade(&self) -> Option<Monitor> {
        Some(Monitor {
            inner: self.inner.upgrade()?,
            _lifecycle: self.lifecycle.upgrade()?,
        })
    }
}

/// Records for one model with no per-call id lookup; from [`Monitor::model`].
///
/// Build selections with [`selection`](Self::selection) (they carry the handle's own
/// id, so the check that they belong here is a pointer comparison), or pass any
/// selection for the same model id. A selection for another model is refused with
/// [`RecordError::ModelMismatch`]; everything else is validated as in
/// [`Monitor::record_selection`].
///
/// ```
/// use modelmeter::{Monitor, RecordError, Selection};
/// use std::time::Duration;
///
/// let monitor = Monitor::builder().background(false).build()?;
/// let gpt = monitor.model("gpt-4o");
/// gpt.record_selection(&gpt.selection(Duration::from_millis(840)).cost_usd(0.004))?;
/// gpt.record_selection(&Selection::new("gpt-4o", Duration::from_millis(420)))?;
/// let wrong = gpt.record_selection(&Selection::new("claude", Duration::from_millis(90)));
/// assert!(matches!(wrong, Err(RecordError::ModelMismatch { .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
#[must_use = "a ModelHandle records nothing until record_selection is called on it"]
pub struct ModelHandle {
    monitor: Monitor,
    slot: Arc<ModelSlot>,
    /// The id asked for: the slot's own, or any id folded into `__other__`.
    requested: Arc<str>,
    /// Why every selection is refused, when the id itself breaks the rules.
    refused: Option<Box<RecordError>>,
}

impl std::fmt::Debug for ModelHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelHandle")
            .field("model", &self.slot.name)
            .finish()
    }
}

impl ModelHandle {
    /// The model id this handle records for (`__other__` past the cap).
    pub fn model(&self) -> &str {
        &self.slot.name
    }

    /// A selection of this handle's model that took `latency`, to fill in and record.
    pub fn selection(&self, latency: std::time::Duration) -> Selection<'_> {
        Selection::new(&self.requested, latency)
    }

    /// Records one selection for this handle's model.
    ///
    /// # Errors
    ///
    /// [`RecordError::ModelMismatch`] when the selection names another model (counted
    /// like every refusal); otherwise as [`Monitor::record_selection`].
    #[inline]
    pub fn record_selection(&self, selection: &Selection<'_>) -> Result<(), RecordError> {
        let own = &*self.requested;
        if let Some(e) = &self.refused {
            self.monitor.inner.reject(e);
            return Err((**e).clone());
        }
        if !std::ptr::eq(selection.model, own) && selection.model != own {
            let e = RecordError::ModelMismatch {
                handle: own.to_owned(),
                selection: selection.model.to_owned(),
            };
            self.monitor.inner.reject(&e);
            return Err(e);
        }
        let s = Selection {
            model: &self.slot.name,
            ..*selection
        };
        self.monitor.inner.record(&s, Some(&self.slot))
    }
}
