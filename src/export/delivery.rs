//! Reliable delivery: one worker thread and one bounded queue per exporter (the
//! semantics are in the `export` module's docs).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};
use parking_lot::{Condvar, Mutex};
use serde::{Deserialize, Serialize};

use super::{ExportBatch, ExportSettings, Exporter};

/// The longest one batch can take: every attempt timing out, plus the backoffs.
fn worst_case(settings: &ExportSettings) -> Duration {
    let mut total = Duration::ZERO;
    let mut backoff = settings.initial_backoff;
    for attempt in 0..settings.attempts {
        total = total.saturating_add(settings.timeout);
        if attempt + 1 < settings.attempts {
            total = total.saturating_add(backoff);
            backoff = backoff.saturating_mul(2).min(settings.max_backoff);
        }
    }
    total
}

/// One exporter's delivery counters, in [`Health::exporters`](crate::Health::exporters).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ExporterHealth {
    /// The exporter's name.
    pub name: String,
    /// Batches delivered (the call returned `Ok`, possibly after retries).
    pub delivered: u64,
    /// Retries made.
    pub retried: u64,
    /// Batches given up after every attempt failed.
    pub failed: u64,
    /// Batches dropped from a full queue.
    pub dropped: u64,
    /// Calls that panicked (the batch is not retried).
    pub panicked: u64,
    /// Calls that took longer than the timeout (the batch is not retried).
    pub timed_out: u64,
    /// Batches waiting now.
    pub queued: u64,
    /// The last failure's message.
    pub last_error: Option<String>,
}

#[derive(Default)]
struct Counters {
    delivered: AtomicU64,
    retried: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    panicked: AtomicU64,
    timed_out: AtomicU64,
    last_error: Mutex<Option<String>>,
    /// Sequence number of the last batch finished (delivered, failed or abandoned).
    finished: Mutex<u64>,
    finished_cv: Condvar,
}

impl Counters {
    fn fail(&self, counter: &AtomicU64, name: &str, message: String) {
        counter.fetch_add(1, Ordering::Relaxed);
        *self.last_error.lock() = Some(format!("{name}: {message}"));
    }

    fn finish(&self, seq: u64) {
        let mut f = self.finished.lock();
        *f = (*f).max(seq);
        self.finished_cv.notify_all();
    }
}

enum Msg {
    Batch(u64, Arc<ExportBatch>),
    Flush(Sender<()>),
    Shutdown(Sender<()>),
}

/// A read-only view of one exporter's counters and queue, so `health()` never waits
/// for a tick that holds the deliveries.
#[derive(Clone)]
pub(crate) struct DeliveryProbe {
    name: String,
    /// Also the tick's handle to drop the oldest batch when the queue is full.
    rx: Receiver<Msg>,
    counters: Arc<Counters>,
}

impl DeliveryProbe {
    pub(crate) fn health(&self) -> ExporterHealth {
        let c = &*self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ExporterHealth {
            name: self.name.clone(),
            delivered: get(&c.delivered),
            retried: get(&c.retried),
            failed: get(&c.failed),
            dropped: get(&c.dropped),
            panicked: get(&c.panicked),
            timed_out: get(&c.timed_out),
            queued: self.rx.len() as u64,
            last_error: c.last_error.lock().clone(),
        }
    }
}

/// The tick's end of one exporter's queue.
pub(crate) struct Delivery {
    probe: DeliveryProbe,
    settings: ExportSettings,
    tx: Sender<Msg>,
    seq: u64,
    thread: Option<JoinHandle<()>>,
}

impl Delivery {
    pub(crate) fn spawn(
        mut exporter: Box<dyn Exporter>,
        settings: ExportSettings,
    ) -> std::io::Result<Self> {
        let name = exporter.name().to_owned();
        let (tx, rx) = bounded(settings.queue_capacity);
        let counters = Arc::new(Counters::default());
        let thread = {
            let (rx, counters, settings, name) =
                (rx.clone(), counters.clone(), settings.clone(), name.clone());
            std::thread::Builder::new()
                .name(format!("modelmeter-export-{name}"))
                .spawn(move || run(&mut *exporter, &name, &rx, &counters, &settings))?
        };
        Ok(Self {
            probe: DeliveryProbe { name, rx, counters },
            settings,
            tx,
            seq: 0,
            thread: Some(thread),
        })
    }

    /// Queues `batch`, dropping the oldest queued batch if the queue is full.
    pub(crate) fn send(&mut self, batch: Arc<ExportBatch>) {
        self.seq += 1;
        let mut msg = Msg::Batch(self.seq, batch);
        loop {
            match self.tx.try_send(msg) {
                Ok(()) => return,
                Err(TrySendError::Disconnected(_)) => return,
                Err(TrySendError::Full(back)) => {
                    msg = back;
                    let c = &self.probe.counters;
                    if let Ok(Msg::Batch(seq, _)) = self.probe.rx.try_recv() {
                        c.dropped.fetch_add(1, Ordering::Relaxed);
                        c.finish(seq);
                    }
                }
            }
        }
    }

    /// Waits until the last batch sent is finished, at most its worst-case time.
    pub(crate) fn wait(&self) {
        let deadline = Instant::now() + worst_case(&self.settings);
        let c = &self.probe.counters;
        let mut f = c.finished.lock();
        while *f < self.seq {
            if c.finished_cv.wait_until(&mut f, deadline).timed_out() {
                return;
            }
        }
    }

    /// Drains the queue and calls the exporter's `flush`, waiting at most its
    /// `flush_timeout` from `start`.
    pub(crate) fn flush(&self, start: Instant) {
        let deadline = start + self.settings.flush_timeout;
        let (ack, acked) = bounded(1);
        if self.tx.send_deadline(Msg::Flush(ack), deadline).is_ok() {
            let _ = acked.recv_deadline(deadline);
        }
    }

    /// Drains, calls `shutdown`, and joins the thread if it finishes within its
    /// `flush_timeout` from `start`; a stalled exporter's thread is left to end on its own.
    pub(crate) fn shutdown(&mut self, start: Instant) {
        let deadline = start + self.settings.flush_timeout;
        let (ack, acked) = bounded(1);
        if self.tx.send_deadline(Msg::Shutdown(ack), deadline).is_ok()
            && acked.recv_deadline(deadline).is_ok()
        {
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
    }

    pub(crate) fn probe(&self) -> DeliveryProbe {
        self.probe.clone()
    }
}

/// The worker loop: deliver each batch with retries, answer flushes, stop on shutdown
/// or when the monitor is gone.
fn run(
    exporter: &mut dyn Exporter,
    name: &str,
    rx: &Receiver<Msg>,
    c: &Counters,
    settings: &ExportSettings,
) {
    while let Ok(msg) = rx.recv() {
        match msg {
            Msg::Batch(seq, batch) => {
                deliver(exporter, name, &batch, c, settings);
                c.finish(seq);
            }
            Msg::Flush(ack) => {
                if let Ok(Err(e)) = catch_unwind(AssertUnwindSafe(|| exporter.flush())) {
                    c.fail(&c.failed, name, format!("flush: {e}"));
                }
                let _ = ack.send(());
            }
            Msg::Shutdown(ack) => {
                if let Ok(Err(e)) = catch_unwind(AssertUnwindSafe(|| exporter.shutdown())) {
                    c.fail(&c.failed, name, format!("shutdown: {e}"));
                }
                let _ = ack.send(());
                return;
            }
        }
    }
}

fn deliver(
    exporter: &mut dyn Exporter,
    name: &str,
    batch: &ExportBatch,
    c: &Counters,
    s: &ExportSettings,
) {
    let timeout = s.timeout;
    let mut backoff = s.initial_backoff;
    for attempt in 1..=s.attempts {
        let started = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| exporter.export(batch)));
        let took = started.elapsed();
        match outcome {
            Err(panic) => {
                let what = crate::isolate::message(&*panic);
                return c.fail(&c.panicked, name, format!("panicked: {what}"));
            }
            _ if took > timeout => {
                let msg = format!("export took {took:?}, over the {timeout:?} timeout");
                return c.fail(&c.timed_out, name, msg);
            }
            Ok(Ok(())) => {
                c.delivered.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Ok(Err(e)) if attempt == s.attempts => {
                return c.fail(&c.failed, name, format!("{e} (after {attempt} attempts)"));
            }
            Ok(Err(e)) => {
                *c.last_error.lock() = Some(format!("{name}: {e} (retrying)"));
                c.retried.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(backoff);
                backoff = backoff.saturating_mul(2).min(s.max_backoff);
            }
        }
    }
}
