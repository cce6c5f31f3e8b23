//! The live dashboard's feed: `/api/v1/live` as Server-Sent Events.
//!
//! One broadcaster thread builds the payload once per `monitoring.liveInterval` (1 s)
//! from the open minute, and only while a browser is connected. Each connection has
//! its own thread that waits for a newer payload and writes it; a slow browser blocks
//! only its own thread and skips to the newest payload when it catches up, a gone one
//! ends its thread at the next write. Neither is waited for by the monitor's threads;
//! the broadcaster's queries take the store's read lock briefly, as any query does.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use serde::Serialize;

use crate::monitor::{Monitor, WeakMonitor};
use crate::summary::{Stats, Summary};

/// Dashboards connected at once; more get a `503`, so browsers cannot pile up threads.
pub const MAX_CONNECTIONS: usize = 32;

/// The shortest interval between two snapshots, whatever `monitoring.liveInterval`
/// says: it also refreshes the scoreboard, and may be set far lower than a browser
/// needs.
pub const MIN_INTERVAL: Duration = Duration::from_millis(50);

/// Minutes of history in the sparklines.
pub const SPARK_MINUTES: u64 = 15;

/// A comment line sent when no payload came for this long, so proxies keep the
/// connection open and a gone browser is noticed.
const KEEPALIVE: Duration = Duration::from_secs(15);

/// What every connection reads: the newest payload and its sequence number.
#[derive(Default)]
struct State {
    seq: u64,
    payload: Arc<str>,
    connections: usize,
    broadcasting: bool,
    closed: bool,
}

/// The feed shared by the endpoint's threads.
#[derive(Default)]
pub(crate) struct LiveFeed {
    state: Mutex<State>,
    changed: Condvar,
}

/// One model's (or the fleet's) headline numbers: percentiles and shares over the
/// window of `summary(60 s)` (the minute holding "60 s ago" through the open one, so
/// 60 to 120 s), the request rate as [`Payloads::build`] says, the spend over the
/// sparkline's minutes.
#[derive(Debug, Serialize)]
struct Tile {
    requests_per_sec: f64,
    p50_ms: f64,
    p95_ms: f64,
    error_rate: f64,
    cache_hit_rate: f64,
    /// Spend over the sparkline's 15 minutes.
    spend_usd: f64,
}

impl Tile {
    fn of(s: &Stats, spend: f64, requests_per_sec: f64) -> Self {
        Self {
            requests_per_sec,
            p50_ms: s.latency.p50.as_secs_f64() * 1000.0,
            p95_ms: s.latency.p95.as_secs_f64() * 1000.0,
            error_rate: s.error_rate,
            cache_hit_rate: s.cache_hit_rate,
            spend_usd: spend,
        }
    }
}

/// Per-minute points, oldest first.
#[derive(Debug, Default, Serialize)]
struct Spark {
    selections: Vec<u64>,
    p95_ms: Vec<f64>,
    error_rate: Vec<f64>,
}

#[derive(Debug, Serialize)]
struct LiveModel {
    model: String,
    tile: Tile,
    spark: Spark,
}

#[derive(Debug, Serialize)]
struct LiveAlert {
    severity: String,
    rule: String,
    scope: String,
    message: String,
}

#[derive(Debug, Serialize)]
struct LiveRecommendation {
    priority: String,
    title: String,
    savings_usd_per_30d: Option<f64>,
}

#[derive(Debug, Serialize)]
struct Payload {
    at: String,
    interval_ms: u64,
    overall: Tile,
    overall_spark: Spark,
    models: Vec<LiveModel>,
    alerts: Vec<LiveAlert>,
    recommendations: Vec<LiveRecommendation>,
}

/// Builds the dashboard's payloads, keeping the closed minutes of the sparklines
/// between calls: each payload costs two summaries (the last minute, and the open
/// minute), and fifteen more (all the sparkline's minutes) when a minute closes.
#[derive(Default)]
pub(crate) struct Payloads {
    minutes: Vec<Summary>,
}

impl Payloads {
    /// The payload now, as JSON: the last minute (open minute included) per model and
    /// overall, 15 one-minute sparkline points (the open minute's count scaled to a
    /// whole minute), the open alerts and the optimizer's latest recommendations (from
    /// the last tick: never computed here).
    pub(crate) fn build(&mut self, monitor: &Monitor) -> String {
        let now = monitor.summary(Duration::from_secs(60));
        let open = monitor.minute_series(1).pop();
        match (open, self.minutes.last_mut()) {
            (Some(o), Some(last)) if o.start == last.start => *last = o,
            _ => self.minutes = monitor.minute_series(SPARK_MINUTES),
        }
        let minutes = &self.minutes;
        // Seconds into the open minute, from the same reading as that minute, so a
        // minute boundary between two clock readings cannot put 60 s on a fresh one.
        let into = minutes.last().map_or(0.0, |open| {
            now.end
                .duration_since(open.start)
                .unwrap_or_default()
                .as_secs_f64()
                .clamp(0.0, 60.0)
        });
        // Seconds the open minute (and the one before) could have seen traffic: not
        // more than the monitor has run, so rates just after a start are not diluted.
        let uptime = monitor.uptime().as_secs_f64();
        let fresh = into.min(uptime).max(1.0);
        let count = |s: &Summary, model: Option<&str>| match model {
            Some(m) => s.models.get(m).map_or(0, |x| x.count),
            None => s.overview.count,
        };
        // Requests per second over the previous minute and the open one's elapsed
        // part, or over the open part alone when the previous minute was quiet.
        let rate = |model: Option<&str>| -> f64 {
            let mut last = minutes.iter().rev();
            let open = last.next().map_or(0, |s| count(s, model)) as f64;
            match last.next().map_or(0, |s| count(s, model)) {
                0 => open / fresh,
                prev => (prev as f64 + open) / (60.0 + into).min(uptime).max(1.0),
            }
        };
        let spend = |model: Option<&str>| -> f64 {
            minutes
                .iter()
                .map(|s| match model {
                    Some(m) => s.models.get(m).map_or(0.0, |x| x.cost_usd),
                    None => s.overview.cost_usd,
                })
                .sum()
        };
        let spark = |model: Option<&str>| {
            let mut sp = Spark::default();
            let n = minutes.len();
            for (k, s) in minutes.iter().enumerate() {
                let st = match model {
                    Some(m) => s.models.get(m),
                    None => Some(&s.overview),
                };
                let c = count(s, model);
                // The open minute is partial: its count as a per-minute rate.
                let c = if k + 1 == n {
                    (c as f64 * 60.0 / fresh).round() as u64
                } else {
                    c
                };
                sp.selections.push(c);
                sp.p95_ms
                    .push(st.map_or(0.0, |x| x.latency.p95.as_secs_f64() * 1000.0));
                sp.error_rate.push(st.map_or(0.0, |x| x.error_rate));
            }
            sp
        };
        let mut names: Vec<&String> = minutes
            .iter()
            .flat_map(|s: &Summary| s.models.keys())
            .chain(now.models.keys())
            .collect();
        names.sort();
        names.dedup();
        let empty = Stats::default();
        let models = names
            .into_iter()
            .map(|m| LiveModel {
                model: m.clone(),
                tile: Tile::of(
                    now.models.get(m).unwrap_or(&empty),
                    spend(Some(m)),
                    rate(Some(m)),
                ),
                spark: spark(Some(m)),
            })
            .collect();
        let alerts = monitor
            .active_alerts()
            .into_iter()
            .map(|a| LiveAlert {
                severity: a.severity.to_string(),
                rule: a.rule_id,
                scope: a.scope.to_string(),
                message: a.message,
            })
            .collect();
        let recommendations = monitor
            .latest_recommendations()
            .into_iter()
            .take(5)
            .map(|r| LiveRecommendation {
                priority: r.priority.to_string(),
                title: r.title,
                savings_usd_per_30d: r.savings_usd_per_30d,
            })
            .collect();
        let p = Payload {
            at: crate::calendar::rfc3339_time(now.end),
            interval_ms: interval(monitor).as_millis() as u64,
            overall: Tile::of(&now.overview, spend(None), rate(None)),
            overall_spark: spark(None),
            models,
            alerts,
            recommendations,
        };
        serde_json::to_string(&p).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

/// The feed's interval: `monitoring.liveInterval`, at least [`MIN_INTERVAL`].
pub(crate) fn interval(monitor: &Monitor) -> Duration {
    monitor.config().monitoring.live_interval.max(MIN_INTERVAL)
}

/// One SSE event carrying `payload`.
pub(crate) fn event(payload: &str) -> String {
    format!("event: snapshot\ndata: {payload}\n\n")
}

impl LiveFeed {
    /// Registers a connection, starting the broadcaster if none runs; why not at
    /// [`MAX_CONNECTIONS`], after close, or without a thread.
    fn connect(self: &Arc<Self>, monitor: &WeakMonitor) -> Result<(), &'static str> {
        let mut s = self.state.lock();
        if s.closed {
            return Err("the live feed is closed");
        }
        if s.connections >= MAX_CONNECTIONS {
            return Err("too many live dashboards connected");
        }
        s.connections += 1;
        if !s.broadcasting {
            s.broadcasting = true;
            let (feed, weak) = (self.clone(), monitor.clone());
            let spawned = std::thread::Builder::new()
                .name("modelmeter-live".into())
                .spawn(move || feed.broadcast(&weak));
            if spawned.is_err() {
                s.broadcasting = false;
                s.connections -= 1;
                return Err("cannot start the live feed's thread");
            }
        }
        Ok(())
    }

    fn disconnect(&self) {
        self.state.lock().connections -= 1;
        self.changed.notify_all();
    }

    /// Builds a payload every interval while a connection is open and the monitor
    /// lives.
    fn broadcast(&self, monitor: &WeakMonitor) {
        // If building a payload panics, the next browser must still find no
        // broadcaster running, and start one. (Normal exits clear the mark under the
        // lock `connect` takes; this guard acts only while unwinding.)
        struct Unwinding<'a>(&'a LiveFeed);
        impl Drop for Unwinding<'_> {
            fn drop(&mut self) {
                if std::thread::panicking() {
                    let mut s = self.0.state.lock();
                    s.broadcasting = false;
                    s.payload = Arc::from("");
                    self.0.changed.notify_all();
                }
            }
        }
        let _unwinding = Unwinding(self);
        let mut payloads = Payloads::default();
        loop {
            let Some(m) = monitor.upgrade() else {
                // The monitor is gone: wake the connections so they end.
                let mut s = self.state.lock();
                s.closed = true;
                s.broadcasting = false;
                self.changed.notify_all();
                return;
            };
            let interval = interval(&m);
            let payload: Arc<str> = payloads.build(&m).into();
            drop(m);
            let mut s = self.state.lock();
            s.seq += 1;
            s.payload = payload;
            self.changed.notify_all();
            let until = Instant::now() + interval;
            while !s.closed && s.connections > 0 && Instant::now() < until {
                self.changed.wait_until(&mut s, until);
            }
            // Decided under the lock `connect` takes, so a browser arriving now
            // either sees this thread still running or starts a new one. A browser
            // arriving later must not get this snapshot, hours old.
            if s.closed || s.connections == 0 {
                s.broadcasting = false;
                s.payload = Arc::from("");
                return;
            }
        }
    }

    /// Wakes every thread of the feed to end it.
    pub(crate) fn close(&self) {
        self.state.lock().closed = true;
        self.changed.notify_all();
    }

    /// Serves one dashboard connection until the browser or the endpoint goes.
    /// Streams are chunked, so the end of a stream is the end of its response and
    /// the connection lives on; the caller sends HTTP/1.0 requests, which have no
    /// chunks, to the one-event answer of [`handle`](super::handle) instead.
    pub(crate) fn serve(self: &Arc<Self>, request: tiny_http::Request, monitor: &WeakMonitor) {
        if let Err(why) = self.connect(monitor) {
            let body = serde_json::json!({ "error": why }).to_string();
            let json = tiny_http::Header::from_bytes("Content-Type", "application/json")
                .expect("a valid header");
            let response = tiny_http::Response::from_string(body)
                .with_status_code(503)
                .with_header(json);
            let _ = request.respond(response);
            return;
        }
        // Whatever ends the thread, a panic included, frees its slot.
        struct Connected(Arc<LiveFeed>);
        impl Drop for Connected {
            fn drop(&mut self) {
                self.0.disconnect();
            }
        }
        let connected = Connected(self.clone());
        // If the thread cannot start, the closure and the guard in it are dropped,
        // and the slot with them.
        let _ = std::thread::Builder::new()
            .name("modelmeter-sse".into())
            .spawn(move || {
                let mut out = request.into_writer();
                let _ = connected.0.stream(&mut Sse { out: &mut out });
            });
    }

    fn stream(&self, out: &mut Sse<'_>) -> std::io::Result<()> {
        out.head()?;
        out.send(b"retry: 2000\n\n")?;
        let mut seen = 0;
        loop {
            let next = {
                let mut s = self.state.lock();
                let deadline = Instant::now() + KEEPALIVE;
                // An empty payload is a stopped broadcaster's: wait for the new one.
                while !s.closed
                    && (s.seq == seen || s.payload.is_empty())
                    && Instant::now() < deadline
                {
                    self.changed.wait_until(&mut s, deadline);
                }
                if s.closed {
                    return out.end();
                }
                (s.seq != seen && !s.payload.is_empty()).then(|| (s.seq, s.payload.clone()))
            };
            // Written outside the lock: a slow browser holds up only this thread.
            match next {
                Some((seq, payload)) => {
                    seen = seq;
                    out.send(event(&payload).as_bytes())?;
                }
                None => out.send(b": keepalive\n\n")?,
            }
        }
    }
}

/// The raw, chunked response of one stream, written past tiny_http's buffering so
/// that each event leaves at once.
struct Sse<'a> {
    out: &'a mut dyn Write,
}

impl Sse<'_> {
    fn head(&mut self) -> std::io::Result<()> {
        self.out.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\
              X-Accel-Buffering: no\r\nTransfer-Encoding: chunked\r\n\r\n",
        )?;
        self.out.flush()
    }

    fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        write!(self.out, "{:x}\r\n", bytes.len())?;
        self.out.write_all(bytes)?;
        self.out.write_all(b"\r\n")?;
        self.out.flush()
    }

    fn end(&mut self) -> std::io::Result<()> {
        self.out.write_all(b"0\r\n\r\n")?;
        self.out.flush()
    }
}
