//! The routing scoreboard: each model's live numbers, for the router's own hot path.
//!
//! A router records into the monitor and then decides where the next request goes.
//! [`Scoreboard`] closes that loop: the worker computes every model's last-minute and
//! last-5-minute [`Score`] once per live interval (`monitoring.liveInterval`, default
//! 1 s; and at every [`Monitor::tick`](crate::Monitor::tick) in manual mode) and
//! publishes the whole table with one atomic pointer swap. A read is a load of the
//! table's generation, a thread-local check and a hash lookup: no lock, no allocation,
//! no write to memory another thread reads, never a wait for the worker, and never a
//! table half old and half new (`BENCHMARKS.md` has the figures).
//!
//! ## Using it safely
//!
//! - **Staleness.** A score describes the selections recorded up to
//!   [`ModelScore::at`]. With the background worker, `at` trails the present by at most
//!   one live interval plus the time one refresh or tick takes; in manual mode it is the
//!   time of the last `tick()`. A router that wants a bound of its own compares `at`
//!   with the clock and treats an older score as unknown.
//! - **Sample sizes.** `error_rate` over 3 selections means little. Route on
//!   [`Score::error_rate_bounds`] (a 95% Wilson interval): exclude a model when the
//!   *lower* bound is past your limit (it is bad, not unlucky), and prefer models whose
//!   *upper* bound is within it. [`Score::count`] says how much evidence there is.
//! - **Windows.** `last_1m` reacts within a minute; `last_5m` has five times the
//!   samples. Decide to leave a model on `last_1m` and to come back on `last_5m`, or the
//!   router chases noise.
//! - **Hysteresis.** Keep the current model until another is better by a margin, and
//!   return to a model that was excluded only when it is credibly well again (its upper
//!   error bound back within the limit), not the moment its point estimate dips under
//!   the line; otherwise traffic flaps between two models near a limit. The
//!   `scoreboard_router` example does all four.
//! - **Open alerts.** [`ModelScore::alert`] carries the highest severity among *firing*
//!   alerts scoped to the model (pending ones are not yet confirmed); those already
//!   passed the rules' own hysteresis, so falling back on them does not flap. Every
//!   rule counts, the cost-efficiency and cache-hit KPIs too: a router that falls back
//!   on alerts should run the rules it routes on (error rate, latency), as the
//!   `scoreboard_router` example does, and leave the others to a second monitor or to
//!   its dashboards.
//! - **Models without traffic** in the last 5 minutes are absent: `get` returns `None`.
//!   The scoreboard outlives its monitor, frozen at the last refresh.
//!
//! ```
//! use modelmeter::{ManualClock, Monitor, Selection};
//! use std::time::{Duration, SystemTime};
//!
//! let clock = ManualClock::new(SystemTime::now());
//! let monitor = Monitor::builder().clock(clock.clone()).background(false).build()?;
//! let scores = monitor.scoreboard();
//! for ms in [180, 220, 260] {
//!     monitor.record_selection(&Selection::new("gpt-4o-mini", Duration::from_millis(ms)).cost_usd(0.0004))?;
//! }
//! monitor.tick();
//! let s = scores.get("gpt-4o-mini").expect("recorded in the last 5 minutes");
//! assert_eq!(s.last_1m.count, 3);
//! assert!(s.last_1m.p95 >= Duration::from_millis(259));
//! assert_eq!(s.alert, None);
//! assert!(scores.get("gpt-4o").is_none());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::rules::{Severity, wilson_interval};
use crate::summary::{Stats, Summary, de_ms, de_opt_ms, de_time, ser_ms, ser_opt_ms, ser_time};

/// The z-score of [`Score::error_rate_bounds`]: a two-sided 95% interval.
pub const ERROR_RATE_BOUNDS_Z: f64 = 1.96;

/// One model's numbers over one window (the open minute included).
///
/// Each field equals the same-named figure of [`Monitor::summary`](crate::Monitor::summary)
/// over the same window at the same instant.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Score {
    /// Selections in the window: the sample size behind every rate below.
    pub count: u64,
    /// Selections per second over the span covered ([`Stats::throughput_per_sec`]).
    pub per_second: f64,
    /// Median latency.
    #[serde(serialize_with = "ser_ms", deserialize_with = "de_ms")]
    pub p50: Duration,
    /// 95th percentile latency (within the histograms' relative error).
    #[serde(serialize_with = "ser_ms", deserialize_with = "de_ms")]
    pub p95: Duration,
    /// Failed share (0 without selections).
    pub error_rate: f64,
    /// The 95% Wilson interval of the error rate ([`ERROR_RATE_BOUNDS_Z`]): wide with few
    /// samples, `(0, 1)` with none. Its lower bound past a limit means "bad", not
    /// "unlucky".
    pub error_rate_bounds: (f64, f64),
    /// Cache-hit share.
    pub cache_hit_rate: f64,
    /// Mean cost of the selections that reported one; `None` when none did.
    pub mean_cost_usd: Option<f64>,
    /// 95th percentile time to first token of the streamed selections that reported one
    /// ([`Selection::time_to_first_token`](crate::Selection::time_to_first_token));
    /// `None` without any.
    #[serde(serialize_with = "ser_opt_ms", deserialize_with = "de_opt_ms")]
    pub time_to_first_token_p95: Option<Duration>,
}

impl Default for Score {
    /// No selections: every rate 0 and the error bounds `(0, 1)`, "nothing known".
    fn default() -> Self {
        Self::from(&Stats::default())
    }
}

impl From<&Stats> for Score {
    fn from(s: &Stats) -> Self {
        Self {
            count: s.count,
            per_second: s.throughput_per_sec,
            p50: s.latency.p50,
            p95: s.latency.p95,
            error_rate: s.error_rate,
            error_rate_bounds: wilson_interval(s.error_rate, s.count, ERROR_RATE_BOUNDS_Z),
            cache_hit_rate: s.cache_hit_rate,
            mean_cost_usd: s.mean_cost_usd,
            time_to_first_token_p95: s.time_to_first_token.map(|t| t.p95),
        }
    }
}

/// One model's scores, from [`Scoreboard::get`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ModelScore {
    /// The last minute: the open minute and the one before it, as
    /// `summary(Duration::from_secs(60))` counts it.
    pub last_1m: Score,
    /// The last 5 minutes, the open minute included.
    pub last_5m: Score,
    /// The highest severity among firing alerts scoped to this model.
    pub alert: Option<Severity>,
    /// When these scores were computed: they cover selections recorded up to here.
    #[serde(serialize_with = "ser_time", deserialize_with = "de_time")]
    pub at: SystemTime,
}

/// One published table; immutable once swapped in.
#[derive(Default)]
struct Board {
    at: Option<SystemTime>,
    index: HashMap<Arc<str>, usize, foldhash::fast::RandomState>,
    scores: Vec<(Arc<str>, ModelScore)>,
}

impl Board {
    /// The table for `one` and `five` (summaries over 1 and 5 minutes), reusing the
    /// previous table's names so a refresh allocates no strings for known models.
    fn new(
        at: SystemTime,
        one: &Summary,
        five: &Summary,
        alerts: &BTreeMap<&str, Severity>,
        previous: &Board,
    ) -> Self {
        let mut index = HashMap::with_capacity_and_hasher(five.models.len(), Default::default());
        let mut scores = Vec::with_capacity(five.models.len());
        for (name, s5) in &five.models {
            let name: Arc<str> = match previous.index.get_key_value(name.as_str()) {
                Some((known, _)) => known.clone(),
                None => name.as_str().into(),
            };
            let score = ModelScore {
                last_1m: one.models.get(&*name).map(Score::from).unwrap_or_default(),
                last_5m: s5.into(),
                alert: alerts.get(&*name).copied(),
                at,
            };
            index.insert(name.clone(), scores.len());
            scores.push((name, score));
        }
        Self {
            at: Some(at),
            index,
            scores,
        }
    }
}

/// The published table and its generation, shared by the publisher and every handle.
struct Shared {
    cell: ArcSwap<Board>,
    /// Bumped after each swap; readers compare it with the table they hold.
    generation: AtomicU64,
    /// Unique per monitor, so a thread's cached table never answers for another
    /// monitor's scoreboard.
    id: u64,
}

impl Default for Shared {
    fn default() -> Self {
        static IDS: AtomicU64 = AtomicU64::new(0);
        Self {
            cell: ArcSwap::default(),
            generation: AtomicU64::new(0),
            id: IDS.fetch_add(1, Ordering::Relaxed),
        }
    }
}

struct CachedBoard {
    board_id: u64,
    generation: u64,
    board: Arc<Board>,
}

thread_local! {
    static LAST_READ: RefCell<Option<CachedBoard>> = const { RefCell::new(None) };
}

/// A cheap, cloneable handle to the monitor's scoreboard, from
/// [`Monitor::scoreboard`](crate::Monitor::scoreboard). See the [module
/// docs](crate::scoreboard) for how to route on it safely.
#[derive(Clone)]
pub struct Scoreboard {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Scoreboard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let board = self.shared.cell.load();
        f.debug_struct("Scoreboard")
            .field("at", &board.at)
            .field("models", &board.scores.len())
            .finish()
    }
}

impl Scoreboard {
    /// `model`'s scores, or `None` when it had no traffic in the last 5 minutes (or no
    /// refresh has run since). Takes no lock and allocates nothing.
    ///
    /// Each thread keeps the last table it read, tagged with its generation, so a read
    /// between refreshes loads one counter that only the publisher writes: no
    /// read-modify-write on a shared cache line (as cloning an `Arc` would be), and no
    /// fence (as an `ArcSwap` guard costs). The table is fetched again only after a
    /// refresh, or when the thread last read another monitor's scoreboard. A thread
    /// keeps at most one table alive, until its next read.
    #[inline]
    pub fn get(&self, model: &str) -> Option<ModelScore> {
        let generation = self.shared.generation.load(Ordering::Acquire);
        let mut found = None;
        LAST_READ.with(|cached| {
            let mut cached = cached.borrow_mut();
            let board = match &mut *cached {
                Some(c) if c.board_id == self.shared.id && c.generation == generation => &c.board,
                slot => {
                    let fresh = slot.insert(CachedBoard {
                        board_id: self.shared.id,
                        generation,
                        board: self.shared.cell.load_full(),
                    });
                    &fresh.board
                }
            };
            // Written straight into the caller's return slot: one copy of the score.
            if let Some(&i) = board.index.get(model) {
                found = Some(board.scores[i].1);
            }
        });
        found
    }

    /// Every model's scores, by model id, all from one refresh.
    pub fn iter(&self) -> ScoreIter {
        ScoreIter {
            board: self.shared.cell.load_full(),
            next: 0,
        }
    }

    /// When the table was last refreshed; `None` before the first refresh.
    pub fn at(&self) -> Option<SystemTime> {
        self.shared.cell.load().at
    }

    /// Models in the table.
    pub fn len(&self) -> usize {
        self.shared.cell.load().scores.len()
    }

    /// Whether the table holds no model.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The models of one scoreboard refresh, by model id; from [`Scoreboard::iter`].
pub struct ScoreIter {
    board: Arc<Board>,
    next: usize,
}

impl std::fmt::Debug for ScoreIter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScoreIter")
            .field("remaining", &(self.board.scores.len() - self.next))
            .finish()
    }
}

impl Iterator for ScoreIter {
    type Item = (Arc<str>, ModelScore);

    fn next(&mut self) -> Option<Self::Item> {
        let item = self.board.scores.get(self.next).cloned();
        self.next += 1;
        item
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.board.scores.len().saturating_sub(self.next);
        (n, Some(n))
    }
}

impl ExactSizeIterator for ScoreIter {}

/// The monitor's side: publishes tables, once someone asked for a scoreboard.
#[derive(Default)]
pub(crate) struct Publisher {
    shared: Arc<Shared>,
    wanted: AtomicBool,
    /// Orders writers, so a slow refresh never replaces a newer table.
    write: Mutex<()>,
}

impl Publisher {
    /// A handle, and whether this was the first ask (the caller then fills the table,
    /// so a new scoreboard does not start empty).
    pub(crate) fn handle(&self) -> (Scoreboard, bool) {
        let first = !self.wanted.swap(true, Ordering::AcqRel);
        let board = Scoreboard {
            shared: self.shared.clone(),
        };
        (board, first)
    }

    /// Whether refreshing is worth its cost: someone holds or held a scoreboard.
    pub(crate) fn wanted(&self) -> bool {
        self.wanted.load(Ordering::Acquire)
    }

    /// Swaps in the table for `one` and `five` computed at `at`, unless a newer one is
    /// already in.
    pub(crate) fn publish(
        &self,
        at: SystemTime,
        one: &Summary,
        five: &Summary,
        alerts: &BTreeMap<&str, Severity>,
    ) {
        let _order = self.write.lock();
        let previous = self.shared.cell.load();
        if previous.at.is_some_and(|t| t > at) {
            return;
        }
        let board = Board::new(at, one, five, alerts, &previous);
        self.shared.cell.store(Arc::new(board));
        self.shared.generation.fetch_add(1, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_score_knows_nothing() {
        let s = Score::default();
        assert_eq!((s.count, s.error_rate), (0, 0.0));
        assert_eq!(s.error_rate_bounds, (0.0, 1.0));
        assert_eq!(s.mean_cost_usd, None);
    }

    #[test]
    fn a_newer_table_is_never_replaced_by_an_older_one() {
        let p = Publisher::default();
        let (board, first) = p.handle();
        assert!(first && !p.handle().1);
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let empty = Summary {
            window: Duration::from_secs(60),
            start: t0,
            end: t0,
            overview: Stats::default(),
            models: BTreeMap::new(),
        };
        p.publish(
            t0 + Duration::from_secs(2),
            &empty,
            &empty,
            &BTreeMap::new(),
        );
        p.publish(
            t0 + Duration::from_secs(1),
            &empty,
            &empty,
            &BTreeMap::new(),
        );
        assert_eq!(board.at(), Some(t0 + Duration::from_secs(2)));
        assert!(board.is_empty() && board.iter().next().is_none());
    }
}
