//! The background worker and the end of a monitor's life.
//!
//! The worker holds the shared state, not the user-facing handle, so it never keeps a
//! monitor alive by itself. When the last [`Monitor`](crate::Monitor) handle drops, its
//! [`Lifecycle`] stops the worker, joins it, and flushes, so nothing recorded is lost.

use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::monitor::Inner;

pub(crate) struct Lifecycle {
    inner: Arc<Inner>,
    worker: Option<(Sender<()>, JoinHandle<()>)>,
}

impl Lifecycle {
    pub(crate) fn new(inner: Arc<Inner>, background: bool) -> std::io::Result<Self> {
        let worker = if background {
            let (stop, stopped) = mpsc::channel::<()>();
            let interval: Duration = inner.config.monitoring.update_interval();
            let state = inner.clone();
            let handle = std::thread::Builder::new()
                .name("modelmeter-tick".into())
                .spawn(move || {
                    // Wakes on the interval; a message or a dropped sender means stop.
                    while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                        state.tick(false);
                    }
                })?;
            Some((stop, handle))
        } else {
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
