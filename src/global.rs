//! The process-wide monitor, for code that cannot pass a handle around.
//!
//! Like the `metrics` crate's global recorder: set once at start-up; until then the free
//! [`record_selection`] is a cheap no-op that is counted. A global monitor is never
//! dropped, so call [`Monitor::flush`] on it at shutdown.
//!
//! ```
//! use modelmeter::{Monitor, Selection};
//! use std::time::Duration;
//!
//! let monitor = Monitor::builder().background(false).build().unwrap();
//! modelmeter::set_global(monitor).unwrap();
//! modelmeter::record_selection(&Selection::new("gpt-4o", Duration::from_millis(800))).unwrap();
//! modelmeter::global().unwrap().flush();
//! ```

use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_utils::CachePadded;
use once_cell::sync::OnceCell;

use crate::accumulate::thread_lane;
use crate::error::{RecordError, SetGlobalError};
use crate::monitor::Monitor;
use crate::selection::Selection;

static GLOBAL: OnceCell<Monitor> = OnceCell::new();

const LANES: usize = 16;
static NOOPS: [CachePadded<AtomicU64>; LANES] =
    [const { CachePadded::new(AtomicU64::new(0)) }; LANES];

/// Installs `monitor` as the process-wide monitor.
///
/// # Errors
///
/// [`SetGlobalError`] if one was already set; it hands the given monitor back
/// ([`SetGlobalError::into_monitor`]).
pub fn set_global(monitor: Monitor) -> Result<(), SetGlobalError> {
    GLOBAL.set(monitor).map_err(SetGlobalError::new)
}

/// The process-wide monitor, if set.
pub fn global() -> Option<&'static Monitor> {
    GLOBAL.get()
}

/// Records through the process-wide monitor; a counted no-op when none is set.
///
/// # Errors
///
/// As [`Monitor::record_selection`].
#[inline]
pub fn record_selection(selection: &Selection<'_>) -> Result<(), RecordError> {
    match GLOBAL.get() {
        Some(monitor) => monitor.record_selection(selection),
        None => {
            NOOPS[thread_lane() % LANES].fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
    }
}

/// Calls to [`record_selection`] made while no global monitor was set.
pub(crate) fn noop_count() -> u64 {
    NOOPS.iter().map(|c| c.load(Ordering::Relaxed)).sum()
}
