//! [`Monitor::record_feedback`]: late feedback, routed to the cell of the minute its
//! selection was counted in (see [`crate::feedback`]).

use crate::aggregate::Aggregate;
use crate::bucket::MinuteBucket;
use crate::clock::to_unix_nanos;
use crate::error::RecordError;
use crate::feedback::Feedback;
use crate::seal::{NANOS_PER_MINUTE, minute_start};
use crate::store::Store;
use crate::tokens::TokenUsage;

use super::{Inner, Monitor};

impl Monitor {
    /// Adds feedback that arrived after its selection was recorded: accuracy,
    /// satisfaction or named scores, added to the minute (and hour, day and week) the
    /// selection was counted in, without counting the selection again. Feedback for the
    /// current or the previous minute shows in queries at once; for an older minute it
    /// waits for the next tick, which adds it to the stored tiers and hands it to the
    /// exporters as a delta bucket with `count` 0.
    ///
    /// Refused, and counted in [`Health::rejected`](crate::Health::rejected): feedback
    /// for a model the monitor does not hold ([`RecordError::UnknownModel`]), for a time
    /// no retained tier covers ([`RecordError::FeedbackTooOld`]) or more than a minute
    /// ahead ([`RecordError::InFuture`]), with no value
    /// ([`RecordError::EmptyFeedback`]), with a value outside `0..=1` or a bad or
    /// one-too-many score name, for `__other__`, or for an old minute while
    /// [`MAX_PENDING_FEEDBACK_MINUTES`](crate::feedback::MAX_PENDING_FEEDBACK_MINUTES)
    /// others wait for the tick. See [`Feedback`] for an example.
    pub fn record_feedback(&self, feedback: &Feedback<'_>) -> Result<(), RecordError> {
        let inner = &*self.inner;
        if !inner.config.monitoring.enabled {
            return Ok(());
        }
        inner
            .record_feedback(feedback)
            .inspect_err(|e| inner.reject(e))
    }
}

impl Inner {
    fn record_feedback(&self, f: &Feedback<'_>) -> Result<(), RecordError> {
        let event = self.score_names.event(f)?;
        let now = self.clock.unix_nanos();
        let at = to_unix_nanos(f.at);
        let latest = now.saturating_add(NANOS_PER_MINUTE);
        if at > latest {
            return Err(RecordError::InFuture {
                at: f.at,
                latest: crate::clock::from_unix_nanos(latest),
            });
        }
        let unknown = || RecordError::UnknownModel {
            model: f.model.to_owned(),
        };
        // Ids past the cap are folded into `__other__` and not tracked one by one;
        // the overflow slot takes no feedback of its own either.
        if f.model == crate::registry::OTHER_MODEL {
            return Err(RecordError::ReservedModelId);
        }
        let slot = self.registry.get(f.model).ok_or_else(unknown)?;
        let minute = at / NANOS_PER_MINUTE;
        // Under the read lock, so no prune runs between the check and the write: the
        // sealer adds the cell to whatever tiers still cover its minute.
        let store = self.store.read();
        let newest = store.newest.max(now / NANOS_PER_MINUTE);
        if !store
            .tiers
            .iter()
            .any(|t| t.retains(t.start_of(minute), newest))
        {
            let oldest = store
                .tiers
                .iter()
                .map(|t| t.start_of(t.horizon(newest)))
                .min()
                .unwrap_or(newest);
            return Err(RecordError::FeedbackTooOld {
                at: f.at,
                oldest: minute_start(oldest),
            });
        }
        // The minute now and the one before may still be open: their cells take the
        // feedback. Older minutes are sealed; their feedback waits in the backlog for
        // the next tick (still under the store's read lock, so no tick runs between
        // the check above and this, and the tick takes the store before the backlog).
        if minute + 1 >= now / NANOS_PER_MINUTE {
            // A slot retired since the lookup has no history left to add to.
            slot.record_feedback(minute, &event).map_err(|_| unknown())
        } else {
            self.feedback_backlog.lock().add(&slot.name, minute, &event)
        }
    }
}

impl Inner {
    /// Adds the feedback waiting for sealed minutes to the store, and to this tick's
    /// buckets as deltas that count no selection.
    pub(super) fn seal_feedback(&self, store: &mut Store, buckets: &mut Vec<MinuteBucket>) {
        for ((model, minute), (totals, scores)) in self.feedback_backlog.lock().take() {
            let agg = Aggregate {
                totals,
                scores,
                ..Aggregate::default()
            };
            let start = minute_start(minute);
            buckets.push(MinuteBucket::new(
                &model,
                start,
                &agg,
                TokenUsage::default(),
                &self.layout,
            ));
            store.insert(&model, minute, agg);
        }
    }
}
