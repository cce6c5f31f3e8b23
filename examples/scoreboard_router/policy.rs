//! The routing policy of the `scoreboard_router` example, kept apart so
//! `tests/scoreboard_router.rs` runs the same code.

use std::collections::BTreeSet;
use std::time::Duration;

use modelmeter::{Score, Scoreboard};

/// What the caller will accept.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Highest acceptable 95th percentile latency.
    pub p95: Duration,
    /// Highest acceptable error rate.
    pub error_rate: f64,
    /// Selections a window needs before its numbers count at all.
    pub min_samples: u64,
}

/// A model the router may send to, with its list price per request (used until the
/// scoreboard has observed a mean cost).
#[derive(Debug, Clone, Copy)]
pub struct Candidate {
    pub model: &'static str,
    pub list_price_usd: f64,
}

/// Picks the cheapest healthy model; leaves a model on clear evidence and returns to it
/// on clear evidence, so traffic does not flap around a limit.
pub struct Router {
    candidates: Vec<Candidate>,
    limits: Limits,
    /// Models left for being credibly bad; they get probe traffic only.
    excluded: BTreeSet<&'static str>,
    /// Every `probe_every`-th request goes to an excluded model, so it can earn its way
    /// back (without traffic there is no evidence that it recovered).
    probe_every: u64,
    requests: u64,
}

impl Router {
    pub fn new(candidates: Vec<Candidate>, limits: Limits) -> Self {
        Self {
            candidates,
            limits,
            excluded: BTreeSet::new(),
            probe_every: 20,
            requests: 0,
        }
    }

    /// Models currently excluded.
    pub fn excluded(&self) -> impl Iterator<Item = &str> {
        self.excluded.iter().copied()
    }

    /// Where the next request goes.
    pub fn pick(&mut self, board: &Scoreboard) -> &'static str {
        self.requests += 1;
        self.update_health(board);
        if self.requests % self.probe_every == 0 {
            let probes: Vec<_> = self.excluded.iter().copied().collect();
            if !probes.is_empty() {
                return probes[(self.requests / self.probe_every) as usize % probes.len()];
            }
        }
        let price = |c: &Candidate| {
            board
                .get(c.model)
                .and_then(|s| s.last_5m.mean_cost_usd)
                .unwrap_or(c.list_price_usd)
        };
        self.candidates
            .iter()
            .filter(|c| !self.excluded.contains(c.model))
            .min_by(|a, b| price(a).total_cmp(&price(b)))
            // Everything is excluded: the model with the fewest credible errors.
            .or_else(|| {
                self.candidates.iter().min_by(|a, b| {
                    let lo = |c: &Candidate| {
                        board
                            .get(c.model)
                            .map_or(0.0, |s| s.last_1m.error_rate_bounds.0)
                    };
                    lo(a).total_cmp(&lo(b))
                })
            })
            .map_or(self.candidates[0].model, |c| c.model)
    }

    /// Leaves a model when an alert fires on it, or its last minute is credibly past a
    /// limit (the *lower* error bound past the line, or p95 past it on enough samples);
    /// returns to it when no alert is open and its last minute is credibly within both
    /// (the *upper* error bound within the line). Between the two it stays as it was.
    fn update_health(&mut self, board: &Scoreboard) {
        for c in &self.candidates {
            let Some(s) = board.get(c.model) else {
                continue;
            };
            let one = &s.last_1m;
            if self.excluded.contains(c.model) {
                if s.alert.is_none() && credibly_within(one, &self.limits) {
                    self.excluded.remove(c.model);
                }
            } else if s.alert.is_some() || credibly_past(one, &self.limits) {
                self.excluded.insert(c.model);
            }
        }
    }
}

fn credibly_past(s: &Score, l: &Limits) -> bool {
    s.count >= l.min_samples && (s.error_rate_bounds.0 > l.error_rate || s.p95 > l.p95)
}

fn credibly_within(s: &Score, l: &Limits) -> bool {
    s.count >= l.min_samples && s.error_rate_bounds.1 <= l.error_rate && s.p95 <= l.p95
}
