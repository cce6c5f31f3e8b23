//! History that survives a restart (feature `persist`): sealed buckets of every tier,
//! the band counters, budgets, alert state and what rules have learned, in one
//! embedded [redb](https://docs.rs/redb) database.
//!
//! ## Why redb
//!
//! A tick changes a few buckets among tens of thousands (the sealed minute and the
//! hour, day and week buckets holding it), so the store must rewrite a few keys, not a
//! file. redb is a pure-Rust B-tree store with ACID transactions: a commit is
//! copy-on-write and becomes visible by one checksummed header flip, so a process
//! killed at any instant (or a power cut, with the default immediate durability) finds
//! either the previous commit or the new one, never half of one. Checksummed files with
//! an atomic rename would rewrite everything at every tick, or need a write-ahead log of
//! our own. redb 2.6 is the newest release whose `rust-version` is ours; new stores are
//! created in its v3 file format, the one redb 3 reads.
//!
//! ## What is written when
//!
//! At the end of every tick that sealed minutes, produced alert, incident or budget
//! events, or flushed, one write transaction holds everything that tick changed:
//!
//! | table | key | value |
//! |---|---|---|
//! | `buckets` | (tier, start minute, model) | counters and compact latency counts |
//! | `bands` | (hour start minute, model) | complexity band counters |
//! | `dimension_buckets` | (tier, start minute, dimension, value) | a dimension value's counters and, for providers, latency counts |
//! | `alert_history`, `alert_events`, `incident_history` | sequence number | one entry, JSON |
//! | `meta` | `alerts`, `budgets`, `scoped_budgets`, `layout`, `format` | open alerts and silences, fired budget thresholds (the fleet's, the scoped budgets'), the histogram layout |
//! | `rules` | rule id | what [`Rule::save_state`](crate::Rule::save_state) returned |
//!
//! Rule state is the exception: it is written at most every 10 minutes (and at every
//! flush, and when the monitor is dropped), because the built-in rules hold megabytes
//! for 100 models that change little in a minute and would otherwise triple the cost
//! of a commit (`BENCHMARKS.md`). A crash therefore costs a rule at most the last 10
//! minutes of learning; the history itself loses nothing.
//!
//! Each changed bucket is written whole, with its value after the merge, so replaying
//! nothing and counting nothing twice are the same property: a restart finds each
//! bucket as the last completed commit left it. Minutes still open when the process
//! stops were never sealed and are not in the store; everything sealed by a completed
//! tick is.
//!
//! ## Damage
//!
//! Every start runs redb's full integrity check (redb itself verifies page checksums only
//! when repairing after an unclean shutdown): about 50 ms for a day of 100 models. A
//! store that fails it and that redb repairs is used, and `Health::persistence` says so.
//! A store that cannot be read (checksums, truncation, an unknown format, values that
//! do not decode, a histogram layout other than the configured one) is moved aside to
//! `<file>.damaged-<unix seconds>`, the monitor starts with a fresh store, and
//! [`Health::persistence`](crate::Health::persistence) says what happened and where the
//! old file went. Only a store that cannot be opened at all (a missing directory, no
//! permission, another monitor holding it) fails
//! [`build`](crate::MonitorBuilder::build), with
//! [`ConfigError::Persist`].

mod codec;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use parking_lot::Mutex;
use redb::{Database, ReadableTable, TableDefinition, TableHandle};

use crate::aggregate::Aggregate;
use crate::alerts::{AlertEvent, AlertManager, Incident, ResolvedAlert, SavedAlerts};
use crate::bands::Bands;
use crate::config::AggregationLevel;
use crate::cost::{BudgetTracker, SavedBudgets};
use crate::dimension::{DimAgg, Dimensions};
use crate::error::ConfigError;
use crate::hdr::BucketLayout;
use crate::health::PersistenceHealth;
use crate::histogram::HistogramSettings;
use crate::isolate::GuardedRule;
use crate::store::{Journal, Store};

// Keyed by start before model: the buckets one tick rewrites (one minute, hour, day and
// week of every model) sit side by side, so a commit copies a few pages, not one per
// model.
const BUCKETS: TableDefinition<(u8, u64, &str), &[u8]> = TableDefinition::new("buckets");
const BANDS: TableDefinition<(u64, &str), &[u8]> = TableDefinition::new("bands");
// Keyed by the dimension's name, not its index: declarations may change between runs.
const DIM_BUCKETS: TableDefinition<(u8, u64, &str, &str), &[u8]> =
    TableDefinition::new("dimension_buckets");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const RULES: TableDefinition<&str, &[u8]> = TableDefinition::new("rules");
const ALERT_HISTORY: TableDefinition<u64, &[u8]> = TableDefinition::new("alert_history");
const ALERT_EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("alert_events");
const INCIDENT_HISTORY: TableDefinition<u64, &[u8]> = TableDefinition::new("incident_history");

/// The layout of this module's tables and values; another one is set aside.
const FORMAT: &[u8] = b"modelmeter-store-1";
/// redb's page cache: the store is read once, at start, and a tick rewrites a few pages,
/// so a small cache costs little and bounds the memory the store adds (the soak: RSS
/// grows by the cache and stops).
const CACHE_BYTES: usize = 4 << 20;

fn level_code(level: AggregationLevel) -> u8 {
    match level {
        AggregationLevel::Minute => 0,
        AggregationLevel::Hour => 1,
        AggregationLevel::Day => 2,
        AggregationLevel::Week => 3,
    }
}

fn level_of(code: u8) -> Option<AggregationLevel> {
    Some(match code {
        0 => AggregationLevel::Minute,
        1 => AggregationLevel::Hour,
        2 => AggregationLevel::Day,
        3 => AggregationLevel::Week,
        _ => return None,
    })
}

/// Why opening failed: the host must act, or the file is damaged and is set aside.
enum OpenError {
    Fatal(String),
    Damaged(String),
}

impl From<redb::Error> for OpenError {
    fn from(e: redb::Error) -> Self {
        use std::io::ErrorKind;
        match e {
            redb::Error::DatabaseAlreadyOpen => {
                Self::Fatal("another monitor (or process) holds it".into())
            }
            redb::Error::Io(io)
                if matches!(
                    io.kind(),
                    ErrorKind::NotFound
                        | ErrorKind::PermissionDenied
                        | ErrorKind::ReadOnlyFilesystem
                ) =>
            {
                Self::Fatal(io.to_string())
            }
            other => Self::Damaged(other.to_string()),
        }
    }
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for OpenError {
            fn from(e: $t) -> Self {
                redb::Error::from(e).into()
            }
        }
    )*};
}
from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

/// A dimension value's stored bucket: tier, dimension, value, start minute, counters.
pub(crate) type LoadedDimBucket = (AggregationLevel, Arc<str>, Arc<str>, u64, DimAgg);

/// What a store held at start, ready to be put back.
#[derive(Default)]
pub(crate) struct Loaded {
    pub buckets: Vec<(AggregationLevel, Arc<str>, u64, Aggregate)>,
    pub bands: Vec<(Arc<str>, u64, Bands)>,
    pub dims: Vec<LoadedDimBucket>,
    pub alerts: Option<SavedAlerts>,
    pub history: Vec<(u64, ResolvedAlert)>,
    pub events: Vec<(u64, AlertEvent)>,
    pub incidents: Vec<(u64, Incident)>,
    pub budgets: SavedBudgets,
    pub rules: HashMap<String, Vec<u8>>,
    /// The store failed redb's integrity check and redb repaired it.
    pub repaired: bool,
}

impl Loaded {
    /// Puts everything back into the parts of a new monitor; rules that cannot take
    /// their state back start fresh, and the first such error is returned.
    pub(crate) fn apply(
        self,
        store: &mut Store,
        dims: &Dimensions,
        alerts: &mut AlertManager,
        budgets: &mut BudgetTracker,
        rules: &mut [GuardedRule],
        health: &mut PersistenceHealth,
    ) {
        let mut newest = None::<u64>;
        for (level, model, start, agg) in self.buckets {
            if level == AggregationLevel::Minute {
                newest = newest.max(Some(start));
            }
            health.loaded_buckets += 1;
            if !store.restore(level, &model, start, agg) {
                // A tier no longer configured: deleted at the next commit.
                store
                    .journal
                    .get_or_insert_with(Journal::default)
                    .orphans
                    .push((level, model, start));
            }
        }
        health.loaded_through = newest.map(crate::seal::minute_start);
        for (model, hour, bands) in self.bands {
            store.bands.restore(&model, hour, bands);
        }
        let tiers = store.tiers.len();
        for (level, key, value, start, agg) in self.dims {
            let tier = store.tiers.iter().position(|t| t.level == level);
            match (tier, dims.index(&key)) {
                (Some(tier), Some(dim)) => {
                    // The value keeps its place under the cap, as before the restart.
                    dims.reserve(&key, &value);
                    store.dims.restore(tiers, (tier, (dim, value)), start, agg);
                }
                // A tier or a dimension no longer configured: deleted at the next commit.
                _ => store
                    .journal
                    .get_or_insert_with(Journal::default)
                    .dim_orphans
                    .push((level, key, value, start)),
            }
        }
        if let Some(saved) = self.alerts {
            *alerts = AlertManager::restore(saved, self.history, self.events, self.incidents);
        }
        *budgets = BudgetTracker::restore(self.budgets);
        for rule in rules {
            let Some(state) = self.rules.get(&rule.id) else {
                continue;
            };
            let outcome = crate::isolate::catch(|| rule.rule.restore_state(state));
            let error = match outcome {
                Ok(Ok(())) => continue,
                Ok(Err(e)) => e.to_string(),
                Err(panic) => format!("panicked: {panic}"),
            };
            health.last_error = Some(format!(
                "rule {}: its saved state was not taken back ({error}); it starts fresh",
                rule.id
            ));
        }
    }
}

/// Log entries already in the store: the newest sequence number written per log.
#[derive(Default)]
struct Marks {
    history: u64,
    events: u64,
    incidents: u64,
}

/// How often rule state is written: the built-in rules hold megabytes for 100 models
/// (hour-of-day baselines, 6-hour evidence rings) that change little in a minute.
const RULE_STATE_EVERY: Duration = Duration::from_secs(600);

/// The open store of a running monitor.
pub(crate) struct Persistence {
    db: Database,
    marks: Mutex<Marks>,
    health: Mutex<PersistenceHealth>,
    /// When rule state was last gathered (monitor clock, nanoseconds); 0 before.
    rules_saved: std::sync::atomic::AtomicU64,
}

/// A dimension bucket's key: tier code, start minute, dimension, value.
type DimKey = (u8, u64, Arc<str>, Arc<str>);

/// A key and its new value, or `None` to delete it.
type Put<K> = (K, Option<Vec<u8>>);

/// Everything one commit writes, gathered under the monitor's locks and written after
/// they are released.
#[derive(Default)]
pub(crate) struct Changes {
    journal: Journal,
    buckets: Vec<Put<(u8, u64, Arc<str>)>>,
    bands: Vec<Put<(u64, Arc<str>)>>,
    dims: Vec<Put<DimKey>>,
    alerts: Vec<u8>,
    history: Vec<(u64, Vec<u8>)>,
    events: Vec<(u64, Vec<u8>)>,
    incidents: Vec<(u64, Vec<u8>)>,
    /// Below these sequence numbers the logs hold nothing any more.
    first: [u64; 3],
    marks: [u64; 3],
    budgets: Vec<u8>,
    scoped_budgets: Vec<u8>,
    rules: Vec<(String, Vec<u8>)>,
}

fn json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("the monitor's own state serializes")
}

impl Persistence {
    /// Opens (or creates) the store at `path` and reads it; a damaged store is moved
    /// aside and a fresh one created.
    pub(crate) fn open(
        path: &Path,
        layout: &BucketLayout,
        settings: HistogramSettings,
        now: SystemTime,
    ) -> Result<(Self, Loaded), ConfigError> {
        let fatal = |message: String| ConfigError::Persist {
            path: path.display().to_string(),
            message,
        };
        let mut health = PersistenceHealth::new(path.to_owned());
        let attempt = crate::isolate::catch(|| open_and_read(path, layout, settings));
        let (db, loaded) = match attempt {
            Ok(Ok(opened)) => opened,
            Ok(Err(OpenError::Fatal(message))) => return Err(fatal(message)),
            Ok(Err(OpenError::Damaged(reason))) | Err(reason) => {
                let aside = set_aside(path, now).map_err(|e| {
                    fatal(format!(
                        "damaged ({reason}), and cannot be moved aside: {e}"
                    ))
                })?;
                health.last_error = Some(format!(
                    "{} was damaged ({reason}); kept as {}, starting fresh",
                    path.display(),
                    aside.display()
                ));
                health.set_aside = Some(aside);
                match open_and_read(path, layout, settings) {
                    Ok(opened) => opened,
                    Err(OpenError::Fatal(m) | OpenError::Damaged(m)) => return Err(fatal(m)),
                }
            }
        };
        if loaded.repaired {
            health.last_error = Some(format!(
                "{} failed its integrity check and was repaired to its last intact commit; \
                 what the damaged pages held is lost",
                path.display()
            ));
        }
        let marks = Marks {
            history: loaded.history.iter().map(|(s, _)| *s).max().unwrap_or(0),
            events: loaded.events.iter().map(|(s, _)| *s).max().unwrap_or(0),
            incidents: loaded.incidents.iter().map(|(s, _)| *s).max().unwrap_or(0),
        };
        let persistence = Self {
            db,
            marks: Mutex::new(marks),
            health: Mutex::new(health),
            rules_saved: std::sync::atomic::AtomicU64::new(0),
        };
        Ok((persistence, loaded))
    }

    pub(crate) fn health(&self) -> PersistenceHealth {
        self.health.lock().clone()
    }

    /// Records what `Loaded::apply` found.
    pub(crate) fn set_health(&self, health: PersistenceHealth) {
        *self.health.lock() = health;
    }

    /// Whether this commit writes rule state: at a flush, or when the last write of
    /// it is [`RULE_STATE_EVERY`] old (by the monitor's clock, `now` in nanoseconds).
    pub(crate) fn rules_due(&self, now: u64, flush: bool) -> bool {
        use std::sync::atomic::Ordering;
        let last = self.rules_saved.load(Ordering::Relaxed);
        let due =
            flush || last == 0 || now.saturating_sub(last) >= RULE_STATE_EVERY.as_nanos() as u64;
        if due {
            self.rules_saved.store(now.max(1), Ordering::Relaxed);
        }
        due
    }

    /// Gathers what changed: the store's journal (emptied), the alert logs' new
    /// entries, the small state, and (when `rules` is given) every enabled rule's
    /// saved state.
    pub(crate) fn gather(
        &self,
        store: &mut Store,
        dims: &Dimensions,
        alerts: &AlertManager,
        budgets: &BudgetTracker,
        rules: Option<&[GuardedRule]>,
    ) -> Changes {
        let mut changes = Changes::default();
        let journal = store
            .journal
            .replace(Journal::default())
            .unwrap_or_default();
        for (tier, model, start) in &journal.buckets {
            let code = level_code(store.tiers[*tier].level);
            let value = store.bucket(*tier, model, *start).map(codec::encode_bucket);
            changes.buckets.push(((code, *start, model.clone()), value));
        }
        for (level, model, start) in &journal.orphans {
            changes
                .buckets
                .push(((level_code(*level), *start, model.clone()), None));
        }
        for (model, hour) in &journal.bands {
            let value = store.bands.get(model, *hour).map(codec::encode_bands);
            changes.bands.push(((*hour, model.clone()), value));
        }
        for (tier, dim, value, start) in &journal.dims {
            let code = level_code(store.tiers[*tier].level);
            let bucket = store.dims.bucket(*tier, *dim, value, *start);
            let key = (code, *start, dims.keys()[*dim].clone(), value.clone());
            changes.dims.push((key, bucket.map(codec::encode_dim)));
        }
        for (level, key, value, start) in &journal.dim_orphans {
            let key = (level_code(*level), *start, key.clone(), value.clone());
            changes.dims.push((key, None));
        }
        changes.journal = journal;
        changes.alerts = json(&alerts.saved());
        let logs = alerts.logs();
        let marks = self.marks.lock();
        changes.history = entries(logs.history, marks.history);
        changes.events = entries(logs.recent, marks.events);
        changes.incidents = entries(logs.incidents, marks.incidents);
        changes.first = [
            logs.history.first_seq(),
            logs.recent.first_seq(),
            logs.incidents.first_seq(),
        ];
        changes.marks = [
            logs.history.pushed(),
            logs.recent.pushed(),
            logs.incidents.pushed(),
        ];
        let (fleet, scoped) = budgets.saved();
        changes.budgets = json(&fleet);
        changes.scoped_budgets = json(&scoped);
        for rule in rules.unwrap_or_default().iter().filter(|r| !r.disabled) {
            if let Ok(Some(state)) = crate::isolate::catch(|| rule.rule.save_state()) {
                changes.rules.push((rule.id.clone(), state));
            }
        }
        changes
    }

    /// Writes `changes` in one transaction. On failure the journal is handed back, to
    /// be merged into the store's and written by the next commit.
    pub(crate) fn commit(&self, changes: Changes, at: SystemTime) -> Result<(), Box<Journal>> {
        let started = Instant::now();
        let result = self.write(&changes);
        let took = started.elapsed();
        let mut health = self.health.lock();
        health.commit_time += took;
        match result {
            Ok(()) => {
                health.commits += 1;
                let mut marks = self.marks.lock();
                [marks.history, marks.events, marks.incidents] = changes.marks;
                Ok(())
            }
            Err(e) => {
                health.commit_failures += 1;
                health.last_error = Some(format!(
                    "commit at {} failed: {e}; its changes are written again at the next tick",
                    crate::calendar::rfc3339_time(at)
                ));
                Err(Box::new(changes.journal))
            }
        }
    }

    // redb's error is large, and this runs once per tick: not worth boxing.
    #[allow(clippy::result_large_err)]
    fn write(&self, c: &Changes) -> Result<(), redb::Error> {
        let tx = self.db.begin_write()?;
        {
            let mut t = tx.open_table(BUCKETS)?;
            for ((code, start, model), value) in &c.buckets {
                let key = (*code, *start, &**model);
                match value {
                    Some(v) => t.insert(key, v.as_slice()).map(drop)?,
                    None => t.remove(key).map(drop)?,
                }
            }
            let mut t = tx.open_table(BANDS)?;
            for ((hour, model), value) in &c.bands {
                let key = (*hour, &**model);
                match value {
                    Some(v) => t.insert(key, v.as_slice()).map(drop)?,
                    None => t.remove(key).map(drop)?,
                }
            }
            let mut t = tx.open_table(DIM_BUCKETS)?;
            for ((code, start, dim, value), bucket) in &c.dims {
                let key = (*code, *start, &**dim, &**value);
                match bucket {
                    Some(v) => t.insert(key, v.as_slice()).map(drop)?,
                    None => t.remove(key).map(drop)?,
                }
            }
            let logs = [
                (ALERT_HISTORY, &c.history, c.first[0]),
                (ALERT_EVENTS, &c.events, c.first[1]),
                (INCIDENT_HISTORY, &c.incidents, c.first[2]),
            ];
            for (table, entries, first) in logs {
                let mut t = tx.open_table(table)?;
                for (seq, v) in entries {
                    t.insert(*seq, v.as_slice())?;
                }
                t.retain_in(..first, |_, _| false)?;
            }
            let mut t = tx.open_table(META)?;
            t.insert("alerts", c.alerts.as_slice())?;
            t.insert("budgets", c.budgets.as_slice())?;
            t.insert("scoped_budgets", c.scoped_budgets.as_slice())?;
            let mut t = tx.open_table(RULES)?;
            for (id, state) in &c.rules {
                t.insert(id.as_str(), state.as_slice())?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

fn entries<T: serde::Serialize>(log: &crate::alerts::Log<T>, mark: u64) -> Vec<(u64, Vec<u8>)> {
    log.since(mark).map(|(seq, t)| (seq, json(t))).collect()
}

/// Renames a damaged store out of the way; returns where it went.
fn set_aside(path: &Path, now: SystemTime) -> std::io::Result<PathBuf> {
    let secs = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs();
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let mut aside = path.with_file_name(format!("{name}.damaged-{secs}"));
    let mut n = 1;
    while aside.exists() {
        aside = path.with_file_name(format!("{name}.damaged-{secs}-{n}"));
        n += 1;
    }
    std::fs::rename(path, &aside)?;
    Ok(aside)
}

fn open_and_read(
    path: &Path,
    layout: &BucketLayout,
    settings: HistogramSettings,
) -> Result<(Database, Loaded), OpenError> {
    let mut db = Database::builder()
        .set_cache_size(CACHE_BYTES)
        .create_with_file_format_v3(true)
        .create(path)?;
    // redb verifies its page checksums only when repairing after an unclean shutdown:
    // a store damaged on disk while closed would be read as it is. A full check at
    // start (tens of milliseconds for a month of 100 models) catches it.
    let intact = db.check_integrity()?;
    let layout_json = json(&settings);
    // A new store gets its format and layout; an old one must match both.
    let tx = db.begin_write()?;
    {
        let mut meta = tx.open_table(META)?;
        let format = meta.get("format")?.map(|v| v.value().to_vec());
        match format.as_deref() {
            None => {
                meta.insert("format", FORMAT)?;
                meta.insert("layout", layout_json.as_slice())?;
            }
            Some(f) if f == FORMAT => {
                let stored = meta.get("layout")?.map(|v| v.value().to_vec());
                if stored.as_deref() != Some(layout_json.as_slice()) {
                    let stored = stored.map(|s| String::from_utf8_lossy(&s).into_owned());
                    return Err(OpenError::Damaged(format!(
                        "its histogram layout {} is not the configured {}",
                        stored.as_deref().unwrap_or("(none)"),
                        settings
                    )));
                }
            }
            Some(f) => {
                return Err(OpenError::Damaged(format!(
                    "unknown format {:?}",
                    String::from_utf8_lossy(f)
                )));
            }
        }
        // Every table exists from here on, so reading never meets a missing one.
        tx.open_table(BUCKETS)?;
        tx.open_table(BANDS)?;
        tx.open_table(DIM_BUCKETS)?;
        tx.open_table(RULES)?;
        tx.open_table(ALERT_HISTORY)?;
        tx.open_table(ALERT_EVENTS)?;
        tx.open_table(INCIDENT_HISTORY)?;
    }
    tx.commit()?;
    let mut loaded = read(&db, layout.len())?;
    loaded.repaired = !intact;
    Ok((db, loaded))
}

fn read(db: &Database, buckets: usize) -> Result<Loaded, OpenError> {
    let damaged = |what: &str, e: String| OpenError::Damaged(format!("{what}: {e}"));
    let tx = db.begin_read()?;
    let mut loaded = Loaded::default();
    let mut names: HashMap<String, Arc<str>> = HashMap::new();
    let mut intern = |s: &str| -> Arc<str> {
        names
            .entry(s.to_owned())
            .or_insert_with(|| Arc::from(s))
            .clone()
    };
    for row in tx.open_table(BUCKETS)?.iter()? {
        let (k, v) = row?;
        let (code, start, model) = k.value();
        let level = level_of(code).ok_or_else(|| damaged("bucket", format!("tier {code}")))?;
        let agg = codec::decode_bucket(v.value(), buckets)
            .map_err(|e| damaged(&format!("bucket {model} {start}"), e))?;
        loaded.buckets.push((level, intern(model), start, agg));
    }
    for row in tx.open_table(BANDS)?.iter()? {
        let (k, v) = row?;
        let (hour, model) = k.value();
        let bands = codec::decode_bands(v.value())
            .map_err(|e| damaged(&format!("bands {model} {hour}"), e))?;
        loaded.bands.push((intern(model), hour, bands));
    }
    for row in tx.open_table(DIM_BUCKETS)?.iter()? {
        let (k, v) = row?;
        let (code, start, dim, value) = k.value();
        let what = || format!("dimension bucket {dim}={value} {start}");
        let level = level_of(code).ok_or_else(|| damaged(&what(), format!("tier {code}")))?;
        let agg = codec::decode_dim(v.value(), buckets).map_err(|e| damaged(&what(), e))?;
        loaded
            .dims
            .push((level, intern(dim), intern(value), start, agg));
    }
    fn log<T: serde::de::DeserializeOwned>(
        tx: &redb::ReadTransaction,
        table: TableDefinition<u64, &[u8]>,
    ) -> Result<Vec<(u64, T)>, OpenError> {
        let mut out = Vec::new();
        for row in tx.open_table(table)?.iter()? {
            let (k, v) = row?;
            let entry = serde_json::from_slice(v.value()).map_err(|e| {
                OpenError::Damaged(format!("{} entry {}: {e}", table.name(), k.value()))
            })?;
            out.push((k.value(), entry));
        }
        Ok(out)
    }
    loaded.history = log(&tx, ALERT_HISTORY)?;
    loaded.events = log(&tx, ALERT_EVENTS)?;
    loaded.incidents = log(&tx, INCIDENT_HISTORY)?;
    let meta = tx.open_table(META)?;
    if let Some(v) = meta.get("alerts")? {
        let saved =
            serde_json::from_slice(v.value()).map_err(|e| damaged("alerts", e.to_string()))?;
        loaded.alerts = Some(saved);
    }
    if let Some(v) = meta.get("budgets")? {
        loaded.budgets.0 =
            serde_json::from_slice(v.value()).map_err(|e| damaged("budgets", e.to_string()))?;
    }
    // Absent in stores written before scoped budgets.
    if let Some(v) = meta.get("scoped_budgets")? {
        loaded.budgets.1 = serde_json::from_slice(v.value())
            .map_err(|e| damaged("scoped_budgets", e.to_string()))?;
    }
    for row in tx.open_table(RULES)?.iter()? {
        let (k, v) = row?;
        loaded
            .rules
            .insert(k.value().to_owned(), v.value().to_vec());
    }
    Ok(loaded)
}
