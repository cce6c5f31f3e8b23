//! Late feedback: accuracy, satisfaction and named scores that arrive after the
//! selection was recorded (a thumbs-up, an eval score, a grader's verdict).
//!
//! A [`Feedback`] names the model and the time of the selection it judges. The monitor
//! adds it to the minute that selection was counted in, to the same sums as a value
//! recorded with the selection, but without counting the selection again: for the
//! current or the previous minute through that minute's open cell (visible at once),
//! for an older minute through a backlog that the next tick adds to the stored tiers as
//! a delta bucket, so the hour, day and week that contain it receive it too. No
//! per-selection state is kept, and recording pays nothing for it. The backlog holds at
//! most [`MAX_PENDING_FEEDBACK_MINUTES`] (model, minute) pairs between two ticks.
//!
//! Late accuracy and satisfaction reach the minute, hour, day and week buckets and
//! everything read from them (summaries, reports, rules, exporters), but not the
//! per-complexity-band counters: a band needs the selection's complexity, which
//! feedback does not carry.
//!
//! Feedback older than the minute tier's retention still reaches the coarser tiers that
//! cover its time. Feedback for a time no retained tier covers, for a model the monitor
//! does not hold (never seen, evicted, or folded into `__other__` past the cap), or
//! carrying nothing, is refused with a [`RecordError`] and counted in
//! [`Health::rejected`](crate::Health::rejected).
//!
//! Feedback adds to the same sums as a selection's own values: send a value either with
//! the selection or later, not both, or it counts twice.

use std::sync::Arc;
use std::time::SystemTime;

use crate::aggregate::{RATIO_SCALE, SumCount};
use crate::error::RecordError;

/// Most distinct score names a monitor accepts: each is a series in every bucket that
/// carries it, so names are a cardinality like model ids.
pub const MAX_SCORE_NAMES: usize = 16;

/// Longest score name accepted, in bytes.
pub const MAX_SCORE_NAME_LEN: usize = 64;

/// A judgement of one selection that arrived after it was recorded.
///
/// ```
/// use modelmeter::{Clock, Feedback, ManualClock, Monitor, Selection};
/// use std::time::{Duration, SystemTime};
///
/// let clock = ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000));
/// let monitor = Monitor::builder().clock(clock.clone()).background(false).build()?;
/// let at = clock.now();
/// monitor.record_selection(&Selection::new("gpt-4o", Duration::from_millis(800)).at(at))?;
/// clock.advance(Duration::from_secs(300)); // the minute is sealed meanwhile
/// monitor.tick();
/// monitor.record_feedback(&Feedback::new("gpt-4o", at).accuracy(1.0).score("helpful", 0.8))?;
/// monitor.tick();
/// let s = &monitor.summary(Duration::from_secs(3600)).models["gpt-4o"];
/// assert_eq!((s.count, s.feedback_samples, s.mean_accuracy), (1, 1, Some(1.0)));
/// assert_eq!(s.scores["helpful"].mean, 0.8);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[must_use = "a Feedback does nothing until it is passed to record_feedback"]
pub struct Feedback<'a> {
    pub(crate) model: &'a str,
    pub(crate) at: SystemTime,
    pub(crate) accuracy: Option<f64>,
    pub(crate) satisfaction: Option<f64>,
    pub(crate) scores: Vec<(&'a str, f64)>,
}

impl<'a> Feedback<'a> {
    /// Feedback on the selection of `model` recorded at `at` (the selection's
    /// [`Selection::at`](crate::Selection::at), or the time it was recorded).
    pub fn new(model: &'a str, at: SystemTime) -> Self {
        Self {
            model,
            at,
            accuracy: None,
            satisfaction: None,
            scores: Vec::new(),
        }
    }

    /// Whether it was the right model for the task, `0..=1`.
    pub fn accuracy(mut self, accuracy: f64) -> Self {
        self.accuracy = Some(accuracy);
        self
    }

    /// The user's satisfaction, `0..=1`.
    pub fn satisfaction(mut self, satisfaction: f64) -> Self {
        self.satisfaction = Some(satisfaction);
        self
    }

    /// A named score, `0..=1` (an eval or grader result). Names are 1 to
    /// [`MAX_SCORE_NAME_LEN`] bytes without control characters; a monitor accepts up to
    /// [`MAX_SCORE_NAMES`] distinct names.
    pub fn score(mut self, name: &'a str, value: f64) -> Self {
        self.scores.push((name, value));
        self
    }

    /// The model id.
    pub fn model(&self) -> &'a str {
        self.model
    }

    /// The time of the selection judged.
    pub fn at(&self) -> SystemTime {
        self.at
    }
}

/// Sums of named scores, sorted by name; empty (and unallocated) unless feedback
/// carried a score.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Scores(pub Vec<(Arc<str>, SumCount)>);

impl Scores {
    pub(crate) fn add(&mut self, name: &Arc<str>, value: SumCount) {
        match self.0.binary_search_by(|(n, _)| (**n).cmp(&**name)) {
            Ok(i) => self.0[i].1.merge(&value),
            Err(i) => self.0.insert(i, (name.clone(), value)),
        }
    }

    pub(crate) fn merge(&mut self, o: &Scores) {
        for (name, v) in &o.0 {
            self.add(name, *v);
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.0.capacity() * std::mem::size_of::<(Arc<str>, SumCount)>()
    }

    /// Mean and sample count per name.
    pub(crate) fn stats(&self) -> std::collections::BTreeMap<String, crate::ScoreStats> {
        self.0
            .iter()
            .filter_map(|(n, s)| {
                Some((
                    n.to_string(),
                    crate::ScoreStats {
                        mean: s.mean(RATIO_SCALE)?,
                        samples: s.count,
                    },
                ))
            })
            .collect()
    }
}

/// A validated feedback, in the units buckets store.
#[derive(Debug, Clone, Default)]
pub(crate) struct FeedbackEvent {
    pub accuracy: (u64, u64),
    pub satisfaction: (u64, u64),
    pub scores: Scores,
}

impl FeedbackEvent {
    /// Adds this feedback to a minute's counters, counting no selection.
    pub(crate) fn add_to(&self, totals: &mut crate::aggregate::Totals, scores: &mut Scores) {
        totals.accuracy.add(self.accuracy);
        totals.satisfaction.add(self.satisfaction);
        totals.feedback += 1;
        scores.merge(&self.scores);
    }
}

/// Most distinct (model, minute) pairs of feedback for sealed minutes that may wait
/// for the next tick. Each costs a few hundred bytes until then, so a flood of
/// feedback for many old minutes is refused
/// ([`RecordError::FeedbackBacklogFull`]) rather than held.
pub const MAX_PENDING_FEEDBACK_MINUTES: usize = 16_384;

/// Feedback for minutes already sealed, by model and minute, until the next tick adds
/// it to the stored tiers as delta buckets. Kept apart from the open cells, whose
/// latency arrays would cost 13 KiB per minute fed back to.
#[derive(Debug, Default)]
pub(crate) struct Backlog(
    std::collections::BTreeMap<(Arc<str>, u64), (crate::aggregate::Totals, Scores)>,
);

impl Backlog {
    pub(crate) fn add(
        &mut self,
        model: &Arc<str>,
        minute: u64,
        f: &FeedbackEvent,
    ) -> Result<(), RecordError> {
        let key = (model.clone(), minute);
        if !self.0.contains_key(&key) && self.0.len() >= MAX_PENDING_FEEDBACK_MINUTES {
            return Err(RecordError::FeedbackBacklogFull {
                max: MAX_PENDING_FEEDBACK_MINUTES,
            });
        }
        let (totals, scores) = self.0.entry(key).or_default();
        f.add_to(totals, scores);
        Ok(())
    }

    /// Everything waiting, in model and minute order, leaving the backlog empty.
    pub(crate) fn take(
        &mut self,
    ) -> impl Iterator<Item = ((Arc<str>, u64), (crate::aggregate::Totals, Scores))> {
        std::mem::take(&mut self.0).into_iter()
    }
}

/// The names a monitor has accepted, shared so each bucket holds one `Arc` per name.
#[derive(Debug, Default)]
pub(crate) struct ScoreNames(parking_lot::Mutex<Vec<Arc<str>>>);

impl ScoreNames {
    fn intern(&self, name: &str, value: f64) -> Result<Arc<str>, RecordError> {
        let invalid = || RecordError::InvalidScore {
            name: name.to_owned(),
            value,
        };
        if !(0.0..=1.0).contains(&value)
            || name.is_empty()
            || name.len() > MAX_SCORE_NAME_LEN
            || name.chars().any(char::is_control)
        {
            return Err(invalid());
        }
        let mut names = self.0.lock();
        if let Some(n) = names.iter().find(|n| &***n == name) {
            return Ok(n.clone());
        }
        if names.len() >= MAX_SCORE_NAMES {
            return Err(RecordError::TooManyScores {
                name: name.to_owned(),
                max: MAX_SCORE_NAMES,
            });
        }
        let n: Arc<str> = name.into();
        names.push(n.clone());
        Ok(n)
    }

    /// Validates `f` and converts it.
    pub(crate) fn event(&self, f: &Feedback<'_>) -> Result<FeedbackEvent, RecordError> {
        // The selection's own conversion, so late feedback sums exactly as early would.
        use crate::aggregate::{fixed, ratio};
        let accuracy = ratio(f.accuracy, |value| RecordError::InvalidAccuracy { value })?;
        let satisfaction = ratio(f.satisfaction, |value| RecordError::InvalidSatisfaction {
            value,
        })?;
        if accuracy.1 + satisfaction.1 == 0 && f.scores.is_empty() {
            return Err(RecordError::EmptyFeedback {
                model: f.model.to_owned(),
            });
        }
        let mut scores = Scores::default();
        for &(name, value) in &f.scores {
            let name = self.intern(name, value)?;
            scores.add(
                &name,
                SumCount {
                    sum: fixed(value, RATIO_SCALE),
                    count: 1,
                },
            );
        }
        Ok(FeedbackEvent {
            accuracy,
            satisfaction,
            scores,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_merge_by_name_in_order() {
        let (a, b): (Arc<str>, Arc<str>) = ("a".into(), "b".into());
        let mut s = Scores::default();
        s.add(&b, SumCount { sum: 1, count: 1 });
        s.add(&a, SumCount { sum: 2, count: 1 });
        let mut t = s.clone();
        t.merge(&s);
        assert_eq!(
            t.0,
            vec![
                (a, SumCount { sum: 4, count: 2 }),
                (b, SumCount { sum: 2, count: 2 })
            ]
        );
    }

    #[test]
    fn bad_feedback_is_refused_by_name() {
        let names = ScoreNames::default();
        let at = SystemTime::UNIX_EPOCH;
        assert!(matches!(
            names.event(&Feedback::new("m", at)),
            Err(RecordError::EmptyFeedback { .. })
        ));
        assert!(matches!(
            names.event(&Feedback::new("m", at).score("", 0.5)),
            Err(RecordError::InvalidScore { .. })
        ));
        assert!(matches!(
            names.event(&Feedback::new("m", at).score("x\n", 0.5)),
            Err(RecordError::InvalidScore { .. })
        ));
        assert!(matches!(
            names.event(&Feedback::new("m", at).score("x", 1.5)),
            Err(RecordError::InvalidScore { .. })
        ));
        assert!(matches!(
            names.event(&Feedback::new("m", at).accuracy(f64::NAN)),
            Err(RecordError::InvalidAccuracy { .. })
        ));
        let many: Vec<String> = (0..=MAX_SCORE_NAMES).map(|i| format!("s{i}")).collect();
        for n in &many[..MAX_SCORE_NAMES] {
            names.event(&Feedback::new("m", at).score(n, 0.1)).unwrap();
        }
        assert!(matches!(
            names.event(&Feedback::new("m", at).score(&many[MAX_SCORE_NAMES], 0.1)),
            Err(RecordError::TooManyScores {
                max: MAX_SCORE_NAMES,
                ..
            })
        ));
        // A known name is still accepted at the cap.
        names
            .event(&Feedback::new("m", at).score("s0", 0.1))
            .unwrap();
    }
}
