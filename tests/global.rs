//! The process-wide facade. Its own test binary, since the global can be set only once.

use std::time::Duration;

use modelmeter::{Monitor, Selection};

#[test]
fn global_facade_is_a_counted_noop_until_set() {
    let sel = Selection::new("m", Duration::from_millis(3));
    assert!(modelmeter::global().is_none());
    modelmeter::record_selection(&sel).unwrap();
    modelmeter::record_selection(&sel).unwrap();
    let monitor = Monitor::builder().background(false).build().unwrap();
    modelmeter::set_global(monitor.clone()).unwrap();
    assert!(modelmeter::set_global(monitor.clone()).is_err());
    // A second monitor is handed back, alive, not dropped.
    let other = Monitor::builder().background(false).build().unwrap();
    let err = modelmeter::set_global(other).unwrap_err();
    assert_eq!(err.to_string(), "a global monitor is already set");
    let other = err.into_monitor();
    other.record_selection(&sel).unwrap();
    assert_eq!(other.health().recorded, 1);
    modelmeter::record_selection(&sel).unwrap();
    assert!(modelmeter::record_selection(&Selection::new("", Duration::ZERO)).is_err());
    let h = monitor.health();
    assert_eq!(h.global_noop, 2);
    assert_eq!(h.recorded, 1);
    assert_eq!(h.rejected_total, 1);
}
