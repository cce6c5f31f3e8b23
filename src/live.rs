//! The live stream: a compact scoreboard pushed to subscribers once per update interval.
//!
//! [`Monitor::subscribe`](crate::Monitor::subscribe) returns a [`LiveReceiver`]. Each
//! tick that is one update interval past the last publication builds one
//! [`LiveSnapshot`] (the last minute and the last 5 minutes, per model and overall) and
//! offers it to every receiver without waiting: a receiver that is 4 snapshots behind
//! misses new ones, counted in [`Health::live_dropped`](crate::Health::live_dropped).
//! Dropping the receiver unsubscribes; dropping the monitor closes every receiver.
//!
//! ```
//! use modelmeter::{ManualClock, Monitor, Selection};
//! use std::time::{Duration, SystemTime};
//!
//! let clock = ManualClock::new(SystemTime::now());
//! let monitor = Monitor::builder().clock(clock.clone()).background(false).build()?;
//! let live = monitor.subscribe();
//! monitor.record_selection(&Selection::new("gpt-4o", Duration::from_millis(640)))?;
//! clock.advance(Duration::from_secs(5));
//! monitor.tick();
//! let snapshot = live.try_recv()?;
//! assert_eq!(snapshot.models["gpt-4o"].last_minute.count, 1);
//! drop(monitor);
//! assert!(live.recv().is_err(), "closed with the monitor");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};
use serde::{Deserialize, Serialize};

use crate::summary::{Stats, Summary, de_ms, de_opt_ms, de_time, ser_ms, ser_opt_ms, ser_time};

/// Snapshots a subscriber may fall behind by before new ones are dropped for it.
const SUBSCRIBER_BACKLOG: usize = 4;

/// One window's headline numbers for one model.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct LiveStats {
    /// Selections.
    pub count: u64,
    /// Failed share.
    pub error_rate: f64,
    /// Cache-hit share.
    pub cache_hit_rate: f64,
    /// Median latency.
    #[serde(serialize_with = "ser_ms", deserialize_with = "de_ms")]
    pub p50: Duration,
    /// 95th percentile latency.
    #[serde(serialize_with = "ser_ms", deserialize_with = "de_ms")]
    pub p95: Duration,
    /// Spend in US dollars.
    pub cost_usd: f64,
    /// 95th percentile time to first token of the streamed selections (absent without
    /// any).
    #[serde(default, serialize_with = "ser_opt_ms", deserialize_with = "de_opt_ms")]
    pub time_to_first_token_p95: Option<Duration>,
}

impl From<&Stats> for LiveStats {
    fn from(s: &Stats) -> Self {
        Self {
            count: s.count,
            error_rate: s.error_rate,
            cache_hit_rate: s.cache_hit_rate,
            p50: s.latency.p50,
            p95: s.latency.p95,
            cost_usd: s.cost_usd,
            time_to_first_token_p95: s.time_to_first_token.map(|t| t.p95),
        }
    }
}

/// One model over the last minute and the last 5 minutes.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct LiveModel {
    /// The last minute (the open minute and the one before it).
    pub last_minute: LiveStats,
    /// The last 5 minutes.
    pub last_5_minutes: LiveStats,
}

/// What [`Monitor::subscribe`](crate::Monitor::subscribe) receivers get.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LiveSnapshot {
    /// When it was taken.
    #[serde(serialize_with = "ser_time", deserialize_with = "de_time")]
    pub at: SystemTime,
    /// All models together.
    pub overall: LiveModel,
    /// Per model with traffic in the last 5 minutes.
    pub models: BTreeMap<String, LiveModel>,
}

impl LiveSnapshot {
    pub(crate) fn new(at: SystemTime, one: &Summary, five: &Summary) -> Self {
        let models = five
            .models
            .iter()
            .map(|(k, s5)| {
                let s1 = one.models.get(k).map(LiveStats::from).unwrap_or_default();
                let m = LiveModel {
                    last_minute: s1,
                    last_5_minutes: s5.into(),
                };
                (k.clone(), m)
            })
            .collect();
        Self {
            at,
            overall: LiveModel {
                last_minute: (&one.overview).into(),
                last_5_minutes: (&five.overview).into(),
            },
            models,
        }
    }
}

/// A subscription to the live stream, from
/// [`Monitor::subscribe`](crate::Monitor::subscribe); see the [module docs](self).
#[derive(Debug)]
pub struct LiveReceiver {
    rx: Receiver<Arc<LiveSnapshot>>,
}

/// The monitor was dropped: no snapshot will come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the monitor was dropped; the live stream is closed")]
pub struct Closed;

/// Why [`LiveReceiver::try_recv`] or [`LiveReceiver::recv_timeout`] returned nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TryRecvError {
    /// No snapshot is waiting (or none arrived in time).
    #[error("no live snapshot is waiting")]
    Empty,
    /// The monitor was dropped.
    #[error("the monitor was dropped; the live stream is closed")]
    Closed,
}

impl LiveReceiver {
    /// Waits for the next snapshot.
    ///
    /// # Errors
    ///
    /// [`Closed`] once the monitor is dropped and every waiting snapshot was taken.
    pub fn recv(&self) -> Result<Arc<LiveSnapshot>, Closed> {
        self.rx.recv().map_err(|_| Closed)
    }

    /// The next snapshot if one is waiting.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] when none is, [`TryRecvError::Closed`] once the monitor
    /// is dropped and every waiting snapshot was taken.
    pub fn try_recv(&self) -> Result<Arc<LiveSnapshot>, TryRecvError> {
        self.rx.try_recv().map_err(|e| match e {
            crossbeam_channel::TryRecvError::Empty => TryRecvError::Empty,
            crossbeam_channel::TryRecvError::Disconnected => TryRecvError::Closed,
        })
    }

    /// Waits at most `timeout` for the next snapshot.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] when none arrived in time, [`TryRecvError::Closed`] as
    /// for [`try_recv`](Self::try_recv).
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Arc<LiveSnapshot>, TryRecvError> {
        self.rx.recv_timeout(timeout).map_err(|e| match e {
            crossbeam_channel::RecvTimeoutError::Timeout => TryRecvError::Empty,
            crossbeam_channel::RecvTimeoutError::Disconnected => TryRecvError::Closed,
        })
    }

    /// Snapshots waiting (at most 4).
    pub fn len(&self) -> usize {
        self.rx.len()
    }

    /// Whether none is waiting.
    pub fn is_empty(&self) -> bool {
        self.rx.is_empty()
    }

    /// Every snapshot as it comes, blocking in between; ends when the monitor is
    /// dropped.
    pub fn iter(&self) -> impl Iterator<Item = Arc<LiveSnapshot>> + '_ {
        self.rx.iter()
    }

    /// The snapshots waiting now, without blocking.
    pub fn try_iter(&self) -> impl Iterator<Item = Arc<LiveSnapshot>> + '_ {
        self.rx.try_iter()
    }
}

/// The subscribers and when they were last served.

#[derive(Default)]
pub(crate) struct Subscribers {
    senders: Vec<Sender<Arc<LiveSnapshot>>>,
    last_sent: Option<u64>,
    /// Snapshots dropped because a subscriber was behind.
    pub dropped: u64,
}

impl Subscribers {
    pub(crate) fn subscribe(&mut self) -> LiveReceiver {
        let (tx, rx) = bounded(SUBSCRIBER_BACKLOG);
        self.senders.push(tx);
        LiveReceiver { rx }
    }

    /// Whether a snapshot is due at `now` (nanoseconds) given the interval.
    pub(crate) fn due(&self, now: u64, interval: Duration) -> bool {
        !self.senders.is_empty()
            && self
                .last_sent
                .is_none_or(|t| now.saturating_sub(t) >= interval.as_nanos() as u64)
    }

    /// Offers `snapshot` to every subscriber without waiting; forgets hung-up ones.
    pub(crate) fn publish(&mut self, now: u64, snapshot: LiveSnapshot) {
        self.last_sent = Some(now);
        let snapshot = Arc::new(snapshot);
        let mut dropped = 0;
        self.senders
            .retain(|tx| match tx.try_send(snapshot.clone()) {
                Ok(()) => true,
                Err(TrySendError::Full(_)) => {
                    dropped += 1;
                    true
                }
                Err(TrySendError::Disconnected(_)) => false,
            });
        self.dropped += dropped;
    }
}
