//! Late feedback through the public API: it changes the sums exactly as if it had come
//! with the selection, in every tier, and is refused (and counted) when it cannot land.

mod common;

use std::time::{Duration, SystemTime};

use modelmeter::{Clock, Feedback, ManualClock, Monitor, RecordError, RejectReason, Selection};

const MINUTE: Duration = Duration::from_secs(60);

fn monitor() -> (ManualClock, Monitor) {
    common::manual()
}

/// Three hours of selections for two models; `early` records accuracy and satisfaction
/// with the selection, otherwise they are returned to be sent as feedback later.
fn traffic(
    clock: &ManualClock,
    monitor: &Monitor,
    early: bool,
) -> Vec<(&'static str, SystemTime, f64, f64)> {
    let mut later = Vec::new();
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..180 {
        for i in 0..7u64 {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let model = if i % 2 == 0 { "gpt-4o" } else { "claude" };
            let at = clock.now();
            let accuracy = (rng >> 40) as f64 / (1u64 << 24) as f64;
            let satisfaction = ((rng >> 20) & 0xfffff) as f64 / (1u64 << 20) as f64;
            let mut s = Selection::new(model, Duration::from_millis(100 + (rng >> 54))).at(at);
            if early {
                s = s.accuracy(accuracy).satisfaction(satisfaction);
            } else if i != 3 {
                // Not every selection gets feedback.
                later.push((model, at, accuracy, satisfaction));
            }
            if early && i == 3 {
                s = Selection::new(model, s.latency()).at(at);
            }
            monitor.record_selection(&s).unwrap();
        }
        clock.advance(MINUTE);
        monitor.tick();
    }
    later
}

#[test]
fn late_feedback_equals_feedback_recorded_with_the_selection_in_every_tier() {
    let (clock_a, early) = monitor();
    traffic(&clock_a, &early, true);
    let (clock_b, late) = monitor();
    let pending = traffic(&clock_b, &late, false);
    // Half the feedback arrives while its minutes are sealed and rolled into hours;
    // the rest after two more hours, past what the minute tier answers queries from.
    let (first, rest) = pending.split_at(pending.len() / 2);
    for &(model, at, a, s) in first {
        late.record_feedback(&Feedback::new(model, at).accuracy(a).satisfaction(s))
            .unwrap();
    }
    late.tick();
    for _ in 0..120 {
        clock_a.advance(MINUTE);
        clock_b.advance(MINUTE);
        early.tick();
        late.tick();
    }
    for &(model, at, a, s) in rest {
        late.record_feedback(&Feedback::new(model, at).satisfaction(s).accuracy(a))
            .unwrap();
    }
    early.tick();
    late.tick();
    for window in [3 * 3_600, 5 * 3_600, 86_400, 7 * 86_400] {
        let (a, b) = (
            early.summary(Duration::from_secs(window)),
            late.summary(Duration::from_secs(window)),
        );
        assert_eq!(a.models.len(), 2);
        for (model, sa) in &a.models {
            let sb = &b.models[model];
            assert_eq!(sa.count, sb.count, "{model} over {window}s");
            assert_eq!(sa.mean_accuracy, sb.mean_accuracy, "{model} over {window}s");
            assert_eq!(sa.mean_satisfaction, sb.mean_satisfaction);
            assert_eq!(sa.accuracy_samples, sb.accuracy_samples);
            assert_eq!((sa.feedback_samples, sb.feedback_samples > 0), (0, true));
        }
        if window >= 5 * 3_600 {
            assert_eq!(
                b.overview.feedback_samples,
                pending.len() as u64,
                "every feedback counted once over {window}s"
            );
        }
    }
    // Reports read the same tiers.
    let ra = early.performance_report(Duration::from_secs(86_400));
    let rb = late.performance_report(Duration::from_secs(86_400));
    assert_eq!(ra.overview.mean_accuracy, rb.overview.mean_accuracy);
}

#[test]
fn feedback_for_an_open_minute_counts_no_selection() {
    let (clock, monitor, collect) = common::with_collector();
    let at = clock.now();
    monitor
        .record_selection(&Selection::new("m", Duration::from_millis(5)))
        .unwrap();
    monitor
        .record_feedback(&Feedback::new("m", at).accuracy(0.25).score("helpful", 0.5))
        .unwrap();
    monitor
        .record_feedback(&Feedback::new("m", at).score("helpful", 1.0))
        .unwrap();
    let s = &monitor.summary(MINUTE).models["m"];
    assert_eq!((s.count, s.feedback_samples), (1, 2));
    assert_eq!((s.mean_accuracy, s.accuracy_samples), (Some(0.25), 1));
    assert_eq!(s.scores["helpful"].mean, 0.75);
    assert_eq!(s.scores["helpful"].samples, 2);
    clock.advance(MINUTE * 2);
    monitor.tick();
    // Feedback for a sealed minute travels as a delta bucket with no selections.
    monitor
        .record_feedback(&Feedback::new("m", at).score("helpful", 0.0))
        .unwrap();
    monitor.tick();
    let buckets = collect.0.lock();
    assert_eq!(buckets.len(), 2);
    assert_eq!((buckets[1].count, buckets[1].feedback), (0, 1));
    assert_eq!(buckets[0].scores["helpful"].count, 2);
    assert_eq!(buckets[1].start, buckets[0].start);
    let s = &monitor.summary(MINUTE * 5).models["m"];
    assert_eq!(s.scores["helpful"].samples, 3);
    assert_eq!(s.scores["helpful"].mean, 0.5);
}

#[test]
fn feedback_older_than_the_minute_tier_reaches_the_coarser_tiers() {
    let (clock, monitor) = monitor();
    let at = clock.now();
    monitor
        .record_selection(&Selection::new("m", Duration::from_millis(5)))
        .unwrap();
    // Ten hours on: the minute tier (6 h) no longer holds `at`, the hour tier does.
    for _ in 0..600 {
        clock.advance(MINUTE);
        monitor.tick();
    }
    monitor
        .record_feedback(&Feedback::new("m", at).accuracy(1.0))
        .unwrap();
    monitor.tick();
    let s = &monitor.summary(Duration::from_secs(11 * 3_600)).models["m"];
    assert_eq!(
        (s.count, s.mean_accuracy, s.feedback_samples),
        (1, Some(1.0), 1)
    );
}

#[test]
fn feedback_that_cannot_land_is_refused_and_counted() {
    let (clock, monitor) = monitor();
    let at = clock.now();
    monitor
        .record_selection(&Selection::new("m", Duration::from_millis(5)))
        .unwrap();
    let refused = |f: Feedback<'_>| monitor.record_feedback(&f).unwrap_err();
    assert_eq!(
        refused(Feedback::new("never-seen", at).accuracy(1.0)),
        RecordError::UnknownModel {
            model: "never-seen".into()
        }
    );
    assert!(matches!(
        refused(Feedback::new("m", at)),
        RecordError::EmptyFeedback { .. }
    ));
    assert!(matches!(
        refused(Feedback::new("m", at).accuracy(2.0)),
        RecordError::InvalidAccuracy { value: 2.0 }
    ));
    assert!(matches!(
        refused(Feedback::new("m", at + Duration::from_secs(600)).accuracy(1.0)),
        RecordError::InFuture { .. }
    ));
    // Sixty days back: older than every tier (30 days of days and weeks).
    let e = refused(Feedback::new("m", at - Duration::from_secs(60 * 86_400)).accuracy(1.0));
    assert!(matches!(e, RecordError::FeedbackTooOld { .. }), "{e}");
    assert!(
        e.to_string().contains("older than every retained tier"),
        "{e}"
    );
    let h = monitor.health();
    for (reason, n) in [
        (RejectReason::UnknownModel, 1),
        (RejectReason::EmptyFeedback, 1),
        (RejectReason::InvalidAccuracy, 1),
        (RejectReason::InFuture, 1),
        (RejectReason::FeedbackTooOld, 1),
    ] {
        assert_eq!(h.rejected[&reason], n, "{reason}");
    }
    // Nothing refused changed the data.
    let s = &monitor.summary(MINUTE).models["m"];
    assert_eq!((s.count, s.accuracy_samples, s.feedback_samples), (1, 0, 0));
}

#[test]
fn feedback_for_many_old_minutes_waits_in_a_bounded_backlog() {
    use modelmeter::feedback::MAX_PENDING_FEEDBACK_MINUTES;
    let (clock, monitor) = monitor();
    let start = clock.now();
    monitor
        .record_selection(&Selection::new("m", Duration::from_millis(5)))
        .unwrap();
    // Twelve days on: every minute since is sealed and held by the day tier.
    clock.advance(Duration::from_secs(12 * 86_400));
    monitor.tick();
    let old = |k: usize| start + MINUTE * k as u32;
    for k in 0..MAX_PENDING_FEEDBACK_MINUTES {
        monitor
            .record_feedback(&Feedback::new("m", old(k)).accuracy(1.0))
            .unwrap();
    }
    // More feedback for a minute already waiting is merged, not a new entry.
    monitor
        .record_feedback(&Feedback::new("m", old(0)).accuracy(0.0))
        .unwrap();
    let full = Feedback::new("m", old(MAX_PENDING_FEEDBACK_MINUTES)).accuracy(1.0);
    assert_eq!(
        monitor.record_feedback(&full),
        Err(RecordError::FeedbackBacklogFull {
            max: MAX_PENDING_FEEDBACK_MINUTES
        })
    );
    assert_eq!(
        monitor.health().rejected[&RejectReason::FeedbackBacklogFull],
        1
    );
    // Not visible before the tick; all of it after, once.
    let window = Duration::from_secs(13 * 86_400);
    assert_eq!(monitor.summary(window).models["m"].feedback_samples, 0);
    monitor.tick();
    monitor.record_feedback(&full).unwrap();
    monitor.tick();
    let s = &monitor.summary(window).models["m"];
    assert_eq!(s.count, 1);
    assert_eq!(s.feedback_samples, MAX_PENDING_FEEDBACK_MINUTES as u64 + 2);
    assert_eq!(s.accuracy_samples, MAX_PENDING_FEEDBACK_MINUTES as u64 + 2);
}

#[test]
fn the_overflow_slot_takes_no_feedback() {
    let (clock, monitor) = monitor();
    let f = Feedback::new(modelmeter::OTHER_MODEL, clock.now()).accuracy(1.0);
    assert_eq!(
        monitor.record_feedback(&f),
        Err(RecordError::ReservedModelId)
    );
}

#[test]
fn a_snapshot_with_more_judgements_than_selections_still_merges() {
    // Two verdicts on one selection: the snapshot holds 2 accuracies for 1 selection,
    // which is what feedback allows, and another monitor's snapshot accepts it.
    let (clock, monitor) = monitor();
    let at = clock.now();
    monitor
        .record_selection(&Selection::new("m", Duration::from_millis(5)))
        .unwrap();
    for v in [1.0, 0.0] {
        monitor
            .record_feedback(&Feedback::new("m", at).accuracy(v))
            .unwrap();
    }
    clock.advance(MINUTE * 2);
    monitor.tick();
    let theirs = monitor.snapshot(Duration::from_secs(3600));
    assert_eq!(theirs.validate(), Ok(()));
    let (_, other) = common::manual();
    let mut ours = other.snapshot(Duration::from_secs(3600));
    ours.merge(&theirs).unwrap();
    assert_eq!(ours.summary().models["m"].accuracy_samples, 2);
}
