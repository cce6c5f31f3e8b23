//! The optimizer stage: runs the heuristics over a window, ranks what they say, and
//! hands the safe part to the host's [`Actuator`].

mod actuator;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, SystemTime};

pub use actuator::{ActionOutcome, Actuator, AppliedAction};

use crate::alerts::{Alert, ResolvedAlert};
use crate::bands::BandStats;
use crate::config::Config;
use crate::heuristics::{AnalysisView, Heuristic, Recommendation, RecommendationKind, rank};
use crate::summary::Summary;

/// The data one analysis reads, owned so the view can borrow it.
#[derive(Debug)]
pub(crate) struct Analysis {
    pub now: SystemTime,
    pub window: Duration,
    pub summary: Summary,
    pub bands: BTreeMap<String, Vec<BandStats>>,
    pub bands_span: Duration,
    pub history: Vec<Summary>,
    pub resolved: Vec<ResolvedAlert>,
    pub active: Vec<Alert>,
}

impl Analysis {
    pub(crate) fn view<'a>(&'a self, config: &'a Config) -> AnalysisView<'a> {
        AnalysisView {
            now: self.now,
            window: self.window,
            summary: &self.summary,
            bands: &self.bands,
            bands_span: self.bands_span,
            history: &self.history,
            resolved_alerts: &self.resolved,
            active_alerts: &self.active,
            config,
        }
    }
}

/// Runs every heuristic and ranks the result. A heuristic that panics is skipped (and
/// counted): one bad custom heuristic must not take the tick down.
pub(crate) fn run(
    heuristics: &[Box<dyn Heuristic>],
    view: &AnalysisView<'_>,
    panics: &AtomicU64,
) -> Vec<Recommendation> {
    let mut all = Vec::new();
    for h in heuristics {
        match catch_unwind(AssertUnwindSafe(|| h.analyze(view))) {
            Ok(recs) => all.extend(recs),
            Err(_) => {
                panics.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    rank(all)
}

/// The heuristics and the actuator a monitor is built with.
pub(crate) type Optimizers = (Vec<Box<dyn Heuristic>>, Option<Box<dyn Actuator>>);

/// Most actuator calls kept in [`OptimizerState::applied`]; older ones are dropped.
const APPLIED_CAP: usize = 10_000;

/// What the optimizer keeps between runs. No user code runs while it is locked:
/// heuristics are shared outside it, and the actuator is taken out while it applies.
pub(crate) struct OptimizerState {
    pub actuator: Option<Box<dyn Actuator>>,
    pub applied: VecDeque<AppliedAction>,
    /// Last successful application per kind, for the cooldown.
    last_applied: HashMap<RecommendationKind, SystemTime>,
    applied_ids: HashSet<String>,
    /// The interval slot (`now / interval`) of the last run.
    pub last_slot: u64,
    /// The last scheduled run's recommendations, for scheduled reports.
    pub latest: Vec<Recommendation>,
}

impl OptimizerState {
    pub(crate) fn new(actuator: Option<Box<dyn Actuator>>, slot: u64) -> Self {
        Self {
            actuator,
            applied: VecDeque::new(),
            last_applied: HashMap::new(),
            applied_ids: HashSet::new(),
            last_slot: slot,
            latest: Vec::new(),
        }
    }

    /// The recommendations to apply now: safe, not applied before, not cooling down,
    /// and the first of each kind (a failure is retried next run, not by trying the
    /// next recommendation of the same kind at once).
    fn due<'r>(
        &self,
        recs: &'r [Recommendation],
        now: SystemTime,
        cooldown: Duration,
    ) -> Vec<&'r Recommendation> {
        let mut kinds = HashSet::new();
        recs.iter()
            .filter(|r| r.auto_apply && !self.applied_ids.contains(&r.id))
            .filter(|r| {
                self.last_applied
                    .get(&r.kind)
                    .is_none_or(|t| now.duration_since(*t).unwrap_or_default() >= cooldown)
            })
            .filter(|r| kinds.insert(r.kind.clone()))
            .collect()
    }

    fn record(&mut self, rec: &Recommendation, now: SystemTime, outcome: ActionOutcome) {
        if outcome == ActionOutcome::Applied {
            self.last_applied.insert(rec.kind.clone(), now);
            self.applied_ids.insert(rec.id.clone());
        }
        if self.applied.len() == APPLIED_CAP {
            self.applied.pop_front();
        }
        self.applied.push_back(AppliedAction {
            recommendation_id: rec.id.clone(),
            kind: rec.kind.clone(),
            recommendation: rec.clone(),
            at: now,
            outcome,
        });
    }
}

/// Applies what is due through the actuator, respecting the cooldown per kind. The
/// actuator is taken out of `state` while it runs, so it may query the monitor.
pub(crate) fn actuate(
    state: &Mutex<OptimizerState>,
    recs: &[Recommendation],
    now: SystemTime,
    cooldown: Duration,
) {
    let (mut actuator, due) = {
        let mut s = state.lock();
        let due = s.due(recs, now, cooldown);
        if due.is_empty() {
            return;
        }
        let Some(actuator) = s.actuator.take() else {
            return;
        };
        (actuator, due)
    };
    let outcomes: Vec<_> = due
        .iter()
        .map(
            |rec| match catch_unwind(AssertUnwindSafe(|| actuator.apply(rec))) {
                Ok(Ok(())) => ActionOutcome::Applied,
                Ok(Err(e)) => ActionOutcome::Failed {
                    error: e.to_string(),
                },
                Err(_) => ActionOutcome::Failed {
                    error: "actuator panicked".into(),
                },
            },
        )
        .collect();
    let mut s = state.lock();
    s.actuator = Some(actuator);
    for (rec, outcome) in due.into_iter().zip(outcomes) {
        s.record(rec, now, outcome);
    }
}
