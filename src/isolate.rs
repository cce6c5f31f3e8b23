//! Running user code so that it cannot stop the monitor.
//!
//! Rules and clocks are the host's code running on the monitor's threads (the worker,
//! or whichever thread calls `tick`, `flush` or drops the last handle). A panic in one
//! is caught here, counted in [`Health`](crate::Health) under the rule's id, and the
//! tick carries on without it: a rule that panics is skipped for that tick, and after
//! `monitoring.alerting.rulePanicLimit` panics in a row it is disabled, with an
//! [`AlertEventKind::RuleDisabled`](crate::AlertEventKind::RuleDisabled) event. A clock
//! that panics is answered with the time of the last tick. Heuristics, actuators and
//! exporters are isolated where they run (`optimizer`, `export`).

use std::any::Any;
use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use crate::clock::Clock;
use crate::health::RulePanics;
use crate::rules::Rule;

/// Runs `f`, turning a panic into its message.
pub(crate) fn catch<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|p| message(&*p))
}

/// A panic payload as text (`panic!` with a literal or a formatted message).
pub(crate) fn message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned())
}

/// A rule, its id (read once, at build), and how many times in a row it panicked.
pub(crate) struct GuardedRule {
    pub rule: Box<dyn Rule>,
    pub id: String,
    pub consecutive_panics: u32,
    pub disabled: bool,
}

impl GuardedRule {
    pub(crate) fn new(rule: Box<dyn Rule>) -> Self {
        Self {
            id: rule.id().to_owned(),
            rule,
            consecutive_panics: 0,
            disabled: false,
        }
    }
}

/// Panics of user code, kept where `health()` reads them without the tick's lock.
#[derive(Debug, Default)]
pub(crate) struct PanicLog {
    rules: Mutex<BTreeMap<String, RulePanics>>,
    /// Ticks that panicked outside any guarded call (a bug of ours, or a clock).
    pub ticks: AtomicU64,
}

impl PanicLog {
    /// Counts a panic of rule `id`; `disabled` when it is now switched off.
    pub(crate) fn rule(&self, id: &str, message: String, disabled: bool) {
        let mut rules = self.rules.lock();
        let entry = rules.entry(id.to_owned()).or_default();
        entry.panics += 1;
        entry.disabled |= disabled;
        entry.last_message = message;
    }

    pub(crate) fn rules(&self) -> BTreeMap<String, RulePanics> {
        self.rules.lock().clone()
    }
}

/// The host's clock, with a panic answered by the last tick's time.
pub(crate) struct GuardedClock {
    clock: Arc<dyn Clock>,
    /// The time of the last tick, nanoseconds since the epoch.
    fallback: AtomicU64,
    panics: AtomicU64,
}

impl GuardedClock {
    pub(crate) fn new(clock: Arc<dyn Clock>) -> Self {
        let guarded = Self {
            clock,
            fallback: AtomicU64::new(0),
            panics: AtomicU64::new(0),
        };
        guarded
            .fallback
            .store(guarded.unix_nanos(), Ordering::Relaxed);
        guarded
    }

    /// Nanoseconds since the epoch; the last tick's time if the clock panics.
    #[inline]
    pub(crate) fn unix_nanos(&self) -> u64 {
        match catch_unwind(AssertUnwindSafe(|| self.clock.unix_nanos())) {
            Ok(now) => now,
            Err(_) => self.panicked(),
        }
    }

    #[cold]
    fn panicked(&self) -> u64 {
        self.panics.fetch_add(1, Ordering::Relaxed);
        self.fallback.load(Ordering::Relaxed)
    }

    /// The time for a tick, kept as the answer for a clock that panics later.
    pub(crate) fn tick_time(&self) -> u64 {
        let now = self.unix_nanos();
        self.fallback.fetch_max(now, Ordering::Relaxed);
        now
    }

    /// Clock reads that panicked.
    pub(crate) fn panics(&self) -> u64 {
        self.panics.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    struct Broken;
    impl Clock for Broken {
        fn now(&self) -> SystemTime {
            panic!("clock broke")
        }
    }

    #[test]
    fn a_panicking_clock_is_answered_with_the_last_good_time() {
        let clock = GuardedClock::new(Arc::new(Broken));
        assert_eq!(clock.unix_nanos(), 0);
        assert_eq!(clock.panics(), 2, "one at construction, one now");
    }

    #[test]
    fn panic_messages_are_kept() {
        assert_eq!(catch(|| panic!("plain")).unwrap_err(), "plain");
        let n = 3;
        assert_eq!(
            catch(|| panic!("formatted {n}")).unwrap_err(),
            "formatted 3"
        );
        assert_eq!(catch(|| 5).unwrap(), 5);
    }
}
