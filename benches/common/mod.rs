//! The event stream every bench records: 8 models, log-normal latencies, realistic
//! costs, 30% cache hits, 2% errors, from a fixed seed.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use modelmeter::{ErrorKind, Selection};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, LogNormal};

pub const MODELS: [&str; 8] = [
    "gpt-4o",
    "gpt-4o-mini",
    "claude-3-5-sonnet",
    "claude-3-haiku",
    "gemini-1.5-pro",
    "gemini-1.5-flash",
    "llama-3.1-70b",
    "mistral-large",
];

/// Events per criterion iteration; results are divided by this.
pub const BATCH: usize = 1024;

#[derive(Debug, Clone, Copy)]
pub struct Ev {
    pub model: usize,
    pub latency: Duration,
    pub cost_usd: f64,
    pub cache_hit: bool,
    pub error: bool,
    pub accuracy: f64,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

impl Ev {
    pub fn selection(&self) -> Selection<'static> {
        Selection::new(MODELS[self.model], self.latency)
            .cost_usd(self.cost_usd)
            .cache_hit(self.cache_hit)
            .error(self.error)
            .accuracy(self.accuracy)
            .tokens(self.input_tokens, self.output_tokens)
    }

    /// The same selection, streamed: first token after a quarter of the latency, an
    /// error kind on the failures, and a retry on one in eight. Derived from the
    /// fields, so the event stream (and the other benches' baseline) is unchanged.
    pub fn streamed(&self) -> Selection<'static> {
        let mut s = self
            .selection()
            .time_to_first_token(self.latency / 4)
            .retries(u32::from(self.input_tokens % 8 == 0));
        if self.error {
            s = s.error_kind(ErrorKind::ALL[self.model % ErrorKind::ALL.len()]);
        }
        s
    }
}

pub fn events(n: usize) -> Vec<Ev> {
    let mut rng = StdRng::seed_from_u64(42);
    let medians = [900.0f64, 420.0, 1100.0, 380.0, 1300.0, 350.0, 700.0, 950.0];
    let dists: Vec<_> = medians
        .iter()
        .map(|m| LogNormal::new(m.ln(), 0.5).unwrap())
        .collect();
    (0..n)
        .map(|_| {
            let model = rng.random_range(0..8);
            let cache_hit = rng.random_bool(0.3);
            let ms = dists[model].sample(&mut rng) * if cache_hit { 0.05 } else { 1.0 };
            Ev {
                model,
                latency: Duration::from_secs_f64(ms / 1000.0),
                cost_usd: rng.random_range(0.0001..0.02),
                cache_hit,
                error: rng.random_bool(0.02),
                accuracy: if rng.random_bool(0.95) { 1.0 } else { 0.0 },
                input_tokens: rng.random_range(100..3000),
                output_tokens: rng.random_range(20..800),
            }
        })
        .collect()
}

/// The floor: what any recorder must at least do. Six relaxed atomic adds and one
/// histogram bucket add on one shared struct, no model lookup, no clock.
pub struct Floor {
    counters: [AtomicU64; 6],
    buckets: Box<[AtomicU64]>,
}

impl Default for Floor {
    fn default() -> Self {
        Self {
            counters: Default::default(),
            buckets: (0..1024).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl Floor {
    #[inline]
    pub fn record(&self, e: &Ev) {
        let us = e.latency.as_micros() as u64 | 1;
        // A log-linear bucket index, 16 sub-buckets per power of two.
        let exp = 63 - us.leading_zeros();
        let index = (exp * 16) as usize + ((us >> exp.saturating_sub(4)) & 15) as usize;
        let c = &self.counters;
        c[0].fetch_add(1, Ordering::Relaxed);
        c[1].fetch_add(u64::from(e.error), Ordering::Relaxed);
        c[2].fetch_add(u64::from(e.cache_hit), Ordering::Relaxed);
        c[3].fetch_add((e.cost_usd * 1e9) as u64, Ordering::Relaxed);
        c[4].fetch_add(e.input_tokens, Ordering::Relaxed);
        c[5].fetch_add(e.output_tokens, Ordering::Relaxed);
        self.buckets[index].fetch_add(1, Ordering::Relaxed);
    }

    /// Events recorded so far, for sanity checks outside the timed loops.
    pub fn count(&self) -> u64 {
        self.counters[0].load(Ordering::Relaxed)
    }
}

/// What teams write by hand: one mutex around a map from model id to counters and an
/// `hdrhistogram::Histogram` (1 µs to 1 h, 2 significant digits, as modelmeter).
#[derive(Default)]
pub struct MutexMap {
    map: parking_lot::Mutex<std::collections::HashMap<String, HandStats>>,
}

pub struct HandStats {
    count: u64,
    errors: u64,
    cache_hits: u64,
    cost_usd: f64,
    latency: hdrhistogram::Histogram<u64>,
}

impl MutexMap {
    #[inline]
    pub fn record(&self, e: &Ev) {
        let mut map = self.map.lock();
        let model = MODELS[e.model];
        // Look up by &str first so the common case allocates nothing, as careful
        // hand-written code does.
        let s = match map.get_mut(model) {
            Some(s) => s,
            None => map.entry(model.to_owned()).or_insert_with(|| HandStats {
                count: 0,
                errors: 0,
                cache_hits: 0,
                cost_usd: 0.0,
                latency: hdrhistogram::Histogram::new_with_bounds(1, 3_600_000_000, 2).unwrap(),
            }),
        };
        s.count += 1;
        s.errors += u64::from(e.error);
        s.cache_hits += u64::from(e.cache_hit);
        s.cost_usd += e.cost_usd;
        s.latency.saturating_record(e.latency.as_micros() as u64);
    }

    pub fn count(&self) -> u64 {
        self.map.lock().values().map(|s| s.count).sum()
    }
}

/// 2026-11-23 00:00 UTC, where manual bench clocks start.
pub fn start() -> std::time::SystemTime {
    std::time::UNIX_EPOCH + Duration::from_secs(1_795_392_000)
}

/// A monitor ticked by hand on a `ManualClock` at [`start`].
pub fn manual_monitor(
    config: modelmeter::Config,
) -> (modelmeter::ManualClock, modelmeter::Monitor) {
    let clock = modelmeter::ManualClock::new(start());
    let monitor = modelmeter::Monitor::builder()
        .clock(clock.clone())
        .config(config)
        .background(false)
        .build()
        .unwrap();
    (clock, monitor)
}
