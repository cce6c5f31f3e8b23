//! The background worker and the end of a monitor's life.
//!
//! The worker holds the shared state, not the user-facing handle, so it never keeps a
//! monitor alive by itself. When the last [`Monitor`](crate::Monitor) handle drops, its
//! [`Lifecycle`] stops the worker, joins it, and flushes, so nothing recorded is lost.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Instant;

use crate::monitor::Inner;

pub(crate) struct Lifecycle {
    inner: Arc<Inner>,
    worker: Option<(Sender<()>, JoinHandle<()>)>,
}

impl Lifecycle {
    pub(crate) fn new(inner: Arc<Inner>, background: bool) -> std::io::Result<Self> {
        let worker = if background {
            let (stop, stopped) = mpsc::channel::<()>();
            let tick_every = inner.config.monitoring.update_interval;
            let live_every = inner.config.monitoring.live_interval;
            let state = inner.clone();
            inner.worker.store(1, Ordering::Relaxed);
            let handle = std::thread::Builder::new()
                .name("modelmeter-tick".into())
                .spawn(move || {
                    // Marks the worker stopped however the loop ends.
                    let _alive = Alive(state.clone());
                    // Ticks every update interval and refreshes the live views in
                    // between; the next deadline counts from the end of the work, so a
                    // slow tick delays the next instead of queueing ticks behind it. A
                    // message or a dropped sender means stop.
                    let mut next_tick = Instant::now() + tick_every;
                    let mut next_live = Instant::now() + live_every;
                    loop {
                        let wait = next_tick
                            .min(next_live)
                            .saturating_duration_since(Instant::now());
                        if !matches!(stopped.recv_timeout(wait), Err(RecvTimeoutError::Timeout)) {
                            break;
                        }
                        let now = Instant::now();
                        if now >= next_tick {
                            // Never panics: user code is isolated inside.
                            state.tick(false);
                            next_tick = Instant::now() + tick_every;
                        } else if crate::isolate::catch(|| {
                            state.publish_live(state.clock.unix_nanos(), false)
                        })
                        .is_err()
                        {
                            state.panics.ticks.fetch_add(1, Ordering::Relaxed);
                        }
                        next_live = Instant::now() + live_every;
                    }
                })?;
            Some((stop, handle))
        } else {
            inner.worker.store(0, Ordering::Relaxed);
            None
        };
        Ok(Self { inner, worker })
    }
}

impl Drop for Lifecycle {
    fn drop(&mut self) {
        if let Some((stop, handle)) = self.worker.take() {
            drop(stop);
            let _ = handle.join();
        }
        self.inner.shutdown();
    }
}

/// Lives on the worker's stack: when it is dropped, the worker has stopped.
struct Alive(Arc<Inner>);

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.worker.store(2, Ordering::Relaxed);
    }
}
