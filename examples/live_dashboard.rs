//! The live dashboard over a simulated router: open the printed address in a browser
//! and watch the tiles, sparklines, alerts and recommendations move every second.
//!
//! ```text
//! cargo run --release --example live_dashboard
//! LIVE_ADDR=0.0.0.0:9464 LIVE_SECONDS=600 cargo run --release --example live_dashboard
//! ```
//!
//! Traffic runs in real time (the monitor's system clock): four models, a daily
//! swell, a cache, and one model whose errors come in bursts so an alert fires and
//! resolves while you watch.

use std::time::{Duration, Instant};

use modelmeter::{Config, ErrorKind, Monitor, Selection};
use rand::Rng;

const MODELS: [(&str, f64, f64, f64); 4] = [
    // (model, median latency ms, cost per selection USD, base error rate)
    ("gpt-4o", 650.0, 0.0055, 0.008),
    ("claude-3-5-sonnet", 1050.0, 0.0107, 0.01),
    ("gpt-4o-mini", 290.0, 0.0003, 0.006),
    ("llama-3.1-70b", 520.0, 0.0009, 0.012),
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::var("LIVE_ADDR").unwrap_or_else(|_| "127.0.0.1:9464".into());
    let seconds: u64 = std::env::var("LIVE_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3600);
    let mut config = Config::default();
    config.monitoring.update_interval = Duration::from_secs(5);
    config.monitoring.live_interval = Duration::from_secs(1);
    let monitor = Monitor::builder().config(config).build()?;
    let endpoint = monitor.serve_http(addr.as_str())?;
    println!("live dashboard: http://{}/", endpoint.local_addr());
    println!(
        "the feed:       http://{}/api/v1/live",
        endpoint.local_addr()
    );

    let started = Instant::now();
    let mut rng = rand::rng();
    while started.elapsed() < Duration::from_secs(seconds) {
        let t = started.elapsed().as_secs_f64();
        // 40 to 120 selections a second, swelling over a 3-minute cycle.
        let per_sec = 80.0 + 40.0 * (t / 180.0 * std::f64::consts::TAU).sin();
        let batch = (per_sec / 20.0).round() as usize;
        for _ in 0..batch {
            let (model, median, cost, base_err) = MODELS[rng.random_range(0..MODELS.len())];
            // llama's provider has a bad minute every five minutes.
            let burst = model == "llama-3.1-70b" && (t as u64 / 60) % 5 == 4;
            let err_rate = if burst { 0.2 } else { base_err };
            let latency = median * (rng.random::<f64>() * 1.2 - 0.6).exp();
            let cached = rng.random::<f64>() < 0.3;
            let failed = !cached && rng.random::<f64>() < err_rate;
            let mut sel = Selection::new(model, Duration::from_secs_f64(latency / 1000.0))
                .cache_hit(cached)
                .cost_usd(if cached { 0.0 } else { cost });
            if failed {
                sel = sel.error_kind(if burst {
                    ErrorKind::RateLimited
                } else {
                    ErrorKind::ServerError
                });
            }
            monitor.record_selection(&sel)?;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}
