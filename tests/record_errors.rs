//! One test per `RecordError` variant: each names the bad value, is counted under its
//! reason, and leaves the good events around it intact.

mod common;

use std::time::Duration;

use modelmeter::{RecordError, RejectReason, Selection};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Records a good event, the bad one, and another good event; checks the error, its
/// counter, and that both good events were kept.
fn refused(bad: Selection<'_>, reason: RejectReason) -> RecordError {
    let (_clock, monitor) = common::manual();
    monitor
        .record_selection(&Selection::new("good", ms(10)))
        .unwrap();
    let err = monitor.record_selection(&bad).unwrap_err();
    monitor
        .record_selection(&Selection::new("good", ms(20)))
        .unwrap();
    assert_eq!(err.reason(), reason);
    let health = monitor.health();
    assert_eq!(health.rejected[&reason], 1);
    assert_eq!(health.rejected_total, 1);
    assert_eq!(health.recorded, 2);
    let summary = monitor.summary(Duration::from_secs(60));
    assert_eq!(summary.overview.count, 2);
    assert_eq!(
        summary.models.len(),
        1,
        "the bad event created no model: {:?}",
        summary.models.keys()
    );
    err
}

#[test]
fn nan_cost() {
    let e = refused(
        Selection::new("m", ms(1)).cost_usd(f64::NAN),
        RejectReason::InvalidCost,
    );
    assert!(matches!(e, RecordError::InvalidCost { value } if value.is_nan()));
}

#[test]
fn negative_cost() {
    let e = refused(
        Selection::new("m", ms(1)).cost_usd(-0.01),
        RejectReason::InvalidCost,
    );
    assert_eq!(e, RecordError::InvalidCost { value: -0.01 });
    assert!(e.to_string().contains("-0.01"));
}

#[test]
fn infinite_cost() {
    refused(
        Selection::new("m", ms(1)).cost_usd(f64::INFINITY),
        RejectReason::InvalidCost,
    );
}

#[test]
fn complexity_out_of_range() {
    let e = refused(
        Selection::new("m", ms(1)).complexity(1.01),
        RejectReason::InvalidComplexity,
    );
    assert_eq!(e, RecordError::InvalidComplexity { value: 1.01 });
}

#[test]
fn accuracy_out_of_range() {
    let e = refused(
        Selection::new("m", ms(1)).accuracy(-1.0),
        RejectReason::InvalidAccuracy,
    );
    assert_eq!(e, RecordError::InvalidAccuracy { value: -1.0 });
}

#[test]
fn satisfaction_out_of_range() {
    let e = refused(
        Selection::new("m", ms(1)).satisfaction(2.0),
        RejectReason::InvalidSatisfaction,
    );
    assert_eq!(e, RecordError::InvalidSatisfaction { value: 2.0 });
}

#[test]
fn empty_model_id() {
    assert_eq!(
        refused(Selection::new("", ms(1)), RejectReason::EmptyModelId),
        RecordError::EmptyModelId
    );
}

#[test]
fn oversized_model_id() {
    let id = "m".repeat(300);
    let e = refused(Selection::new(&id, ms(1)), RejectReason::ModelIdTooLong);
    assert_eq!(e, RecordError::ModelIdTooLong { len: 300, max: 256 });
}

#[test]
fn event_older_than_retention() {
    let at = common::start() - Duration::from_secs(7 * 3600);
    let e = refused(Selection::new("m", ms(1)).at(at), RejectReason::TooOld);
    assert!(matches!(e, RecordError::TooOld { at: a, .. } if a == at));
}

#[test]
fn event_before_the_epoch() {
    let at = std::time::UNIX_EPOCH - Duration::from_secs(1);
    refused(Selection::new("m", ms(1)).at(at), RejectReason::TooOld);
}

#[test]
fn event_in_the_future() {
    let at = common::start() + Duration::from_secs(61);
    let e = refused(Selection::new("m", ms(1)).at(at), RejectReason::InFuture);
    assert!(matches!(e, RecordError::InFuture { at: a, .. } if a == at));
}

#[test]
fn edges_of_the_accepted_range_are_accepted() {
    let (_clock, monitor) = common::manual();
    let now = common::start();
    for at in [
        now + Duration::from_secs(60),
        now - Duration::from_secs(6 * 3600),
    ] {
        monitor
            .record_selection(&Selection::new("m", ms(1)).at(at))
            .unwrap();
    }
    assert_eq!(monitor.health().recorded, 2);
}

#[test]
fn the_overflow_slots_id_is_reserved() {
    let err = refused(
        Selection::new(modelmeter::OTHER_MODEL, ms(5)),
        RejectReason::ReservedModelId,
    );
    assert!(err.to_string().contains("__other__"), "{err}");
}

#[test]
fn control_characters_in_model_ids_are_refused_and_named() {
    for (id, at) in [
        ("gpt-4o\nforged line", 6),
        ("nul\0", 3),
        ("tab\tbed", 3),
        ("c1\u{85}", 2),
    ] {
        let err = refused(
            Selection::new(id, ms(5)),
            RejectReason::ControlCharInModelId,
        );
        assert_eq!(
            err,
            RecordError::ControlCharInModelId {
                id: id.to_owned(),
                at
            }
        );
        // The message escapes the id, so it cannot forge a line itself.
        assert!(!err.to_string().contains('\n') && !err.to_string().contains('\0'));
    }
}

#[test]
fn a_handle_for_a_bad_id_refuses_every_selection() {
    let (_clock, monitor) = common::manual();
    for (id, reason) in [
        ("", RejectReason::EmptyModelId),
        (modelmeter::OTHER_MODEL, RejectReason::ReservedModelId),
        ("a\nb", RejectReason::ControlCharInModelId),
    ] {
        let h = monitor.model(id);
        let err = h.record_selection(&h.selection(ms(5))).unwrap_err();
        assert_eq!(err.reason(), reason);
    }
    let health = monitor.health();
    assert_eq!((health.rejected_total, health.recorded), (3, 0));
    assert!(monitor.summary(Duration::from_secs(60)).models.is_empty());
}
