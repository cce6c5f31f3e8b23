//! Where time comes from.
//!
//! Every timestamp modelmeter takes goes through a [`Clock`]. Production code uses
//! [`SystemClock`]; tests and simulations use [`ManualClock`] and move time by hand, so no
//! test ever sleeps to wait for a minute to pass.
//!
//! ## Performance
//!
//! The hot path reads the clock once per event, so the clock must be cheap. On this
//! crate's reference machines `SystemTime::now()` costs about 40 ns, several times the
//! whole recording path. [`SystemClock`] therefore reads the kernel's coarse real-time
//! clock on Linux (`CLOCK_REALTIME_COARSE`, served from the vDSO without a system call),
//! which costs a few nanoseconds and lags the precise clock by at most one kernel tick.
//!
//! ## Attribution error at minute edges
//!
//! An event is attributed to the minute its timestamp falls in. With the coarse clock
//! the timestamp may lag true time by up to [`SystemClock::resolution`] (the kernel tick:
//! 1 to 10 ms, 4 ms on most distributions), so an event in the first few milliseconds of
//! a minute may be counted in the previous one. Nothing is lost either way: both minutes
//! are sealed only after a grace period, and a cell that arrives after its minute was
//! sealed is merged into it at the next tick.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of wall-clock time.
///
/// Implement it to drive modelmeter from your own notion of time (a replay of recorded
/// traffic, a simulation). The default [`Clock::unix_nanos`] derives from [`Clock::now`];
/// override it when you have a cheaper way to produce nanoseconds since the epoch.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;

    /// The current time as nanoseconds since the Unix epoch (0 for times before it).
    ///
    /// The hot path calls this once per event.
    fn unix_nanos(&self) -> u64 {
        to_unix_nanos(self.now())
    }
}

/// Converts a `SystemTime` into nanoseconds since the epoch, saturating at both ends.
pub(crate) fn to_unix_nanos(t: SystemTime) -> u64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => u64::try_from(d.as_nanos()).unwrap_or(u64::MAX),
        Err(_) => 0,
    }
}

/// Converts nanoseconds since the epoch back into a `SystemTime`.
pub(crate) fn from_unix_nanos(nanos: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(nanos)
}

/// `t` cut to whole milliseconds, the resolution times serialize at, so what is
/// built for serialization reads back equal.
pub(crate) fn floor_ms(t: SystemTime) -> SystemTime {
    from_unix_nanos(to_unix_nanos(t) / 1_000_000 * 1_000_000)
}

/// The wall clock, read through the cheapest source the platform offers.
///
/// On Linux this is `CLOCK_REALTIME_COARSE`; elsewhere it is `SystemTime::now()`. A
/// timestamp may therefore lag true time by up to [`SystemClock::resolution`], so an
/// event in the first milliseconds of a minute may be counted in the previous one;
/// nothing is lost, since both minutes are sealed only after a grace period.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl SystemClock {
    /// The granularity of the timestamps this clock returns: the upper bound on how far an
    /// event's timestamp may lag the precise wall clock.
    pub fn resolution() -> Duration {
        #[cfg(target_os = "linux")]
        {
            let ts = rustix::time::clock_getres(rustix::time::ClockId::RealtimeCoarse);
            Duration::new(ts.tv_sec.max(0) as u64, ts.tv_nsec.max(0) as u32)
        }
        #[cfg(not(target_os = "linux"))]
        {
            Duration::from_nanos(1)
        }
    }
}

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        from_unix_nanos(self.unix_nanos())
    }

    #[inline]
    fn unix_nanos(&self) -> u64 {
        #[cfg(target_os = "linux")]
        {
            let ts = rustix::time::clock_gettime(rustix::time::ClockId::RealtimeCoarse);
            (ts.tv_sec.max(0) as u64)
                .saturating_mul(1_000_000_000)
                .saturating_add(ts.tv_nsec.max(0) as u64)
        }
        #[cfg(not(target_os = "linux"))]
        {
            to_unix_nanos(SystemTime::now())
        }
    }
}

/// A clock that moves only when told to: for tests, simulations and replays.
///
/// Clones share the same time, so a test keeps one clone and hands another to the
/// monitor. Moving it backwards is allowed and never loses data.
///
/// ```
/// use modelmeter::{Clock, ManualClock};
/// use std::time::{Duration, UNIX_EPOCH};
///
/// let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
/// let other = clock.clone();
/// clock.advance(Duration::from_secs(60));
/// assert_eq!(other.now(), UNIX_EPOCH + Duration::from_secs(1_700_000_060));
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    nanos: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: SystemTime) -> Self {
        Self {
            nanos: Arc::new(AtomicU64::new(to_unix_nanos(start))),
        }
    }

    /// Moves the clock to `t`, forwards or backwards.
    pub fn set(&self, t: SystemTime) {
        self.nanos.store(to_unix_nanos(t), Ordering::Release);
    }

    /// Moves the clock forwards by `d`.
    pub fn advance(&self, d: Duration) {
        let step = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        // fetch_update instead of fetch_add so that a huge step saturates instead of wrapping.
        let _ = self
            .nanos
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                Some(n.saturating_add(step))
            });
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        from_unix_nanos(self.unix_nanos())
    }

    #[inline]
    fn unix_nanos(&self) -> u64 {
        self.nanos.load(Ordering::Acquire)
    }
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> SystemTime {
        (**self).now()
    }
    fn unix_nanos(&self) -> u64 {
        (**self).unix_nanos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_both_ways_and_saturates() {
        let c = ManualClock::new(UNIX_EPOCH + Duration::from_secs(100));
        c.advance(Duration::from_secs(5));
        assert_eq!(c.unix_nanos(), 105_000_000_000);
        c.set(UNIX_EPOCH + Duration::from_secs(1));
        assert_eq!(c.now(), UNIX_EPOCH + Duration::from_secs(1));
        c.advance(Duration::MAX);
        assert_eq!(c.unix_nanos(), u64::MAX);
    }

    #[test]
    fn system_clock_is_close_to_precise_time() {
        let coarse = SystemClock.unix_nanos();
        let precise = to_unix_nanos(SystemTime::now());
        let slack = SystemClock::resolution().as_nanos() as u64 + 50_000_000;
        assert!(coarse <= precise + slack && precise <= coarse + slack);
    }

    #[test]
    fn times_before_the_epoch_saturate_to_zero() {
        assert_eq!(to_unix_nanos(UNIX_EPOCH - Duration::from_secs(1)), 0);
    }
}
