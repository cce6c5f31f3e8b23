//! The optimizer stage: runs the heuristics over a window, ranks what they say, and
//! hands the safe part to the host's [`Actuator`].

mod actuator;

use std::collections::{BTreeMap, HashMap, HashSet};
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
    panics: &mut u64,
) -> Vec<Recommendation> {
    let mut all = Vec::new();
    for h in heuristics {
        match catch_unwind(AssertUnwindSafe(|| h.analyze(view))) {
            Ok(recs) => all.extend(recs),
            Err(_) => *panics += 1,
        }
    }
    rank(all)
}

/// The heuristics and the actuator a monitor is built with.
pub(crate) type Optimizers = (Vec<Box<dyn Heuristic>>, Option<Box<dyn Actuator>>);

/// What the optimizer keeps between runs.
pub(crate) struct OptimizerState {
    pub heuristics: Vec<Box<dyn Heuristic>>,
    pub actuator: Option<Box<dyn Actuator>>,
    pub applied: Vec<AppliedAction>,
    /// Last successful application per kind, for the cooldown.
    last_applied: HashMap<RecommendationKind, SystemTime>,
    applied_ids: HashSet<String>,
    /// The interval slot (`now / interval`) of the last run.
    pub last_slot: u64,
    pub heuristic_panics: u64,
    /// The last scheduled run's recommendations, for scheduled reports.
    pub latest: Vec<Recommendation>,
}

impl OptimizerState {
    pub(crate) fn new(
        heuristics: Vec<Box<dyn Heuristic>>,
        actuator: Option<Box<dyn Actuator>>,
        slot: u64,
    ) -> Self {
        Self {
            heuristics,
            actuator,
            applied: Vec::new(),
            last_applied: HashMap::new(),
            applied_ids: HashSet::new(),
            last_slot: slot,
            heuristic_panics: 0,
            latest: Vec::new(),
        }
    }

    /// Applies the safe recommendations through the actuator, respecting the
    /// cooldown per kind; returns how many calls were made.
    pub(crate) fn actuate(
        &mut self,
        recs: &[Recommendation],
        now: SystemTime,
        cooldown: Duration,
    ) -> usize {
        let Some(actuator) = self.actuator.as_mut() else {
            return 0;
        };
        let mut calls = 0;
        // One attempt per kind per run: a failure is retried next run, not by trying
        // the next recommendation of the same kind at once.
        let mut tried = HashSet::new();
        for rec in recs.iter().filter(|r| r.auto_apply) {
            if self.applied_ids.contains(&rec.id) || tried.contains(&rec.kind) {
                continue;
            }
            let cooling = self
                .last_applied
                .get(&rec.kind)
                .is_some_and(|t| now.duration_since(*t).unwrap_or_default() < cooldown);
            if cooling {
                continue;
            }
            calls += 1;
            tried.insert(rec.kind.clone());
            let outcome = match catch_unwind(AssertUnwindSafe(|| actuator.apply(rec))) {
                Ok(Ok(())) => {
                    self.last_applied.insert(rec.kind.clone(), now);
                    self.applied_ids.insert(rec.id.clone());
                    ActionOutcome::Applied
                }
                Ok(Err(e)) => ActionOutcome::Failed {
                    error: e.to_string(),
                },
                Err(_) => ActionOutcome::Failed {
                    error: "actuator panicked".into(),
                },
            };
            self.applied.push(AppliedAction {
                recommendation_id: rec.id.clone(),
                kind: rec.kind.clone(),
                recommendation: rec.clone(),
                at: now,
                outcome,
            });
        }
        calls
    }
}
