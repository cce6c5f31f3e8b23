//! A simulated day of a model router: about a million selections over eight models,
//! driven by a `ManualClock`; then the per-model summary as a table, the alerts, the
//! optimizer's recommendations and the cost report.
//!
//! Run it with `cargo run --release --example quickstart`.
//!
//! The simulation plants three problems for the optimizer to find: `gpt-4o` serves
//! easy tasks that `gpt-4o-mini` answers as well for a fraction of the cost, the cache
//! in front of `claude-3-5-sonnet` hits far less often than the others, and
//! `mistral-large` fails about 12% of its requests.

use std::time::{Duration, Instant};

use modelmeter::{Clock, Config, ErrorKind, Feedback, ManualClock, Monitor, Selection, Stats};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, LogNormal};

/// One model as the simulation sees it.
struct Profile {
    name: &'static str,
    /// Median latency in milliseconds and the log-normal spread.
    median_ms: f64,
    sigma: f64,
    /// Dollars per 1,000 input and output tokens.
    usd_per_1k_in: f64,
    usd_per_1k_out: f64,
    error_rate: f64,
    cache_hit_rate: f64,
    /// Probability the router's choice was right, for easy and hard tasks.
    accuracy_easy: f64,
    accuracy_hard: f64,
}

const PROFILES: [Profile; 8] = [
    Profile {
        name: "gpt-4o",
        median_ms: 900.0,
        sigma: 0.45,
        usd_per_1k_in: 0.0025,
        usd_per_1k_out: 0.010,
        error_rate: 0.008,
        cache_hit_rate: 0.35,
        accuracy_easy: 0.97,
        accuracy_hard: 0.96,
    },
    Profile {
        name: "gpt-4o-mini",
        median_ms: 420.0,
        sigma: 0.40,
        usd_per_1k_in: 0.00015,
        usd_per_1k_out: 0.0006,
        error_rate: 0.006,
        cache_hit_rate: 0.40,
        accuracy_easy: 0.96,
        accuracy_hard: 0.80,
    },
    Profile {
        name: "claude-3-5-sonnet",
        median_ms: 1100.0,
        sigma: 0.50,
        usd_per_1k_in: 0.003,
        usd_per_1k_out: 0.015,
        error_rate: 0.010,
        cache_hit_rate: 0.05,
        accuracy_easy: 0.97,
        accuracy_hard: 0.99,
    },
    Profile {
        name: "claude-3-haiku",
        median_ms: 380.0,
        sigma: 0.35,
        usd_per_1k_in: 0.00025,
        usd_per_1k_out: 0.00125,
        error_rate: 0.007,
        cache_hit_rate: 0.38,
        accuracy_easy: 0.95,
        accuracy_hard: 0.78,
    },
    Profile {
        name: "gemini-1.5-pro",
        median_ms: 1300.0,
        sigma: 0.55,
        usd_per_1k_in: 0.00125,
        usd_per_1k_out: 0.005,
        error_rate: 0.012,
        cache_hit_rate: 0.33,
        accuracy_easy: 0.96,
        accuracy_hard: 0.93,
    },
    Profile {
        name: "gemini-1.5-flash",
        median_ms: 350.0,
        sigma: 0.35,
        usd_per_1k_in: 0.000075,
        usd_per_1k_out: 0.0003,
        error_rate: 0.009,
        cache_hit_rate: 0.36,
        accuracy_easy: 0.88,
        accuracy_hard: 0.75,
    },
    Profile {
        name: "llama-3.1-70b",
        median_ms: 700.0,
        sigma: 0.50,
        usd_per_1k_in: 0.00059,
        usd_per_1k_out: 0.00079,
        error_rate: 0.015,
        cache_hit_rate: 0.30,
        accuracy_easy: 0.93,
        accuracy_hard: 0.85,
    },
    Profile {
        name: "mistral-large",
        median_ms: 950.0,
        sigma: 0.60,
        usd_per_1k_in: 0.002,
        usd_per_1k_out: 0.006,
        error_rate: 0.12,
        cache_hit_rate: 0.30,
        accuracy_easy: 0.94,
        accuracy_hard: 0.97,
    },
];

/// How the simulated router picks a model: by task complexity, with fixed shares.
fn route(rng: &mut StdRng, complexity: f64) -> usize {
    let r: f64 = rng.random();
    let table: &[(f64, usize)] = if complexity < 0.3 {
        // The planted waste: a third of easy traffic still goes to gpt-4o, which
        // gpt-4o-mini answers as well.
        &[(0.34, 0), (0.84, 1), (1.0, 5)]
    } else if complexity < 0.7 {
        &[
            (0.30, 0),
            (0.50, 2),
            (0.65, 4),
            (0.80, 6),
            (0.92, 7),
            (1.0, 3),
        ]
    } else {
        &[(0.40, 0), (0.70, 2), (0.85, 4), (1.0, 7)]
    };
    table.iter().find(|(p, _)| r < *p).map_or(0, |&(_, m)| m)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = StdRng::seed_from_u64(7);
    let day_start = std::time::UNIX_EPOCH + Duration::from_secs(1_795_392_000);
    let clock = ManualClock::new(day_start);
    let mut config = Config::default();
    // Budgets, to show their projections in the cost report.
    config.cost.budget.daily_usd = Some(6000.0);
    config.cost.budget.monthly_usd = Some(120_000.0);
    let monitor = Monitor::builder()
        .clock(clock.clone())
        .config(config)
        .background(false)
        .build()?;
    let latency: Vec<LogNormal<f64>> = PROFILES
        .iter()
        .map(|p| LogNormal::new(p.median_ms.ln(), p.sigma).unwrap())
        .collect();

    let started = Instant::now();
    let (mut recorded, mut refused) = (0u64, 0u64);
    let mut pending = std::collections::VecDeque::new();
    for minute in 0..1440u64 {
        // Diurnal traffic: ~1,000,000 selections over the day, peaking mid-afternoon UTC.
        let phase = (minute as f64 / 1440.0 - 0.35) * std::f64::consts::TAU;
        let per_minute = (694.0 * (1.0 + 0.5 * phase.cos())).round() as u64;
        for i in 0..per_minute {
            clock.set(
                day_start
                    + Duration::from_secs(minute * 60)
                    + Duration::from_millis(i * 60_000 / per_minute),
            );
            let complexity: f64 = rng.random();
            let which = route(&mut rng, complexity);
            let p = &PROFILES[which];
            let cache_hit = rng.random_bool(p.cache_hit_rate);
            let error = rng.random_bool(p.error_rate);
            let (tokens_in, tokens_out) =
                (rng.random_range(200..2500u64), rng.random_range(50..900u64));
            let mut ms = latency[which].sample(&mut rng);
            let mut cost = tokens_in as f64 / 1000.0 * p.usd_per_1k_in
                + tokens_out as f64 / 1000.0 * p.usd_per_1k_out;
            if cache_hit {
                ms *= 0.05;
                cost *= 0.1;
            }
            let accurate = rng.random_bool(if complexity < 0.3 {
                p.accuracy_easy
            } else {
                p.accuracy_hard
            });
            let sel = Selection::new(p.name, Duration::from_secs_f64(ms / 1000.0))
                .cost_usd(cost)
                .cache_hit(cache_hit)
                .error(error)
                .complexity(complexity)
                .accuracy(if accurate { 1.0 } else { 0.0 })
                .satisfaction(if error {
                    0.1
                } else if accurate {
                    0.9
                } else {
                    0.5
                })
                .tokens(tokens_in, tokens_out);
            // Answers that reach the model are streamed: the first token after 15 to
            // 35% of the latency (prefill grows with the task). Failures say why.
            // Both derive from values already drawn, so the day's traffic is the same
            // with or without them.
            let sel = if error {
                sel.error_kind(match tokens_in % 10 {
                    0..=4 => ErrorKind::RateLimited,
                    5..=7 => ErrorKind::Timeout,
                    _ => ErrorKind::ServerError,
                })
            } else if cache_hit {
                sel
            } else {
                sel.time_to_first_token(Duration::from_secs_f64(
                    ms * (0.15 + 0.2 * complexity) / 1000.0,
                ))
            };
            monitor.record_selection(&sel)?;
            recorded += 1;
            // One answer in 50 gets a thumbs up or down from its user ten minutes
            // later: it joins the minute the selection was counted in.
            if i % 50 == 0 {
                let verdict = if accurate && !error { 1.0 } else { 0.0 };
                pending.push_back((p.name, clock.now(), verdict));
            }
        }
        let due = day_start + Duration::from_secs(minute.saturating_sub(10) * 60);
        while pending.front().is_some_and(|f| f.1 < due) {
            let (model, at, verdict) = pending.pop_front().expect("checked");
            monitor.record_feedback(&Feedback::new(model, at).score("thumbs_up", verdict))?;
        }
        // A few bad inputs from a buggy caller: refused, counted, nothing else touched.
        if minute % 240 == 0 {
            for bad in [
                Selection::new("gpt-4o", Duration::from_millis(500)).cost_usd(f64::NAN),
                Selection::new("", Duration::from_millis(500)),
                Selection::new("gpt-4o", Duration::from_millis(500)).accuracy(1.7),
            ] {
                if let Err(e) = monitor.record_selection(&bad) {
                    refused += 1;
                    if minute == 0 {
                        println!("refused: {e}");
                    }
                }
            }
        }
        clock.set(day_start + Duration::from_secs((minute + 1) * 60 + 5));
        monitor.tick();
    }
    for (model, at, verdict) in pending {
        monitor.record_feedback(&Feedback::new(model, at).score("thumbs_up", verdict))?;
    }
    monitor.flush();
    let elapsed = started.elapsed();

    let summary = monitor.summary(Duration::from_secs(24 * 3600));
    println!();
    println!(
        "modelmeter quickstart: one simulated day, {recorded} selections ({refused} bad inputs refused)"
    );
    println!(
        "simulated in {:.2?} of wall time, ticking once per simulated minute",
        elapsed
    );
    println!();
    println!(
        "{:<20} {:>8} {:>7} {:>7} {:>8} {:>8} {:>8} {:>10} {:>9} {:>6}",
        "model", "count", "errors", "cache", "p50", "p95", "p99", "cost", "$/sel", "acc"
    );
    let row = |name: &str, s: &Stats| {
        let ms = |d: Duration| format!("{:.0}ms", d.as_secs_f64() * 1000.0);
        println!(
            "{:<20} {:>8} {:>6.1}% {:>6.1}% {:>8} {:>8} {:>8} {:>10.2} {:>9.5} {:>6.3}",
            name,
            s.count,
            s.error_rate * 100.0,
            s.cache_hit_rate * 100.0,
            ms(s.latency.p50),
            ms(s.latency.p95),
            ms(s.latency.p99),
            s.cost_usd,
            s.mean_cost_usd.unwrap_or(0.0),
            s.mean_accuracy.unwrap_or(f64::NAN),
        );
    };
    for (name, stats) in &summary.models {
        row(name, stats);
    }
    println!("{}", "-".repeat(96));
    row("all models", &summary.overview);
    println!();
    println!("streams, failures and late feedback:");
    for (name, s) in &summary.models {
        let ms = |d: Duration| format!("{:.0}ms", d.as_secs_f64() * 1000.0);
        let ttft = s.time_to_first_token.map_or("-".into(), |t| {
            format!("first token p50 {} p95 {}", ms(t.p50), ms(t.p95))
        });
        let tpot = s
            .time_per_output_token
            .map_or("-".into(), |t| format!("{} per token", ms(t.p50)));
        let kinds: Vec<String> = s
            .errors_by_kind
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        let thumbs = s.scores.get("thumbs_up").map_or("-".into(), |t| {
            format!("{:.0}% of {}", t.mean * 100.0, t.samples)
        });
        println!(
            "  {name:<18} {ttft:<32} {tpot:<16} errors: {:<38} thumbs up: {thumbs}",
            kinds.join(", ")
        );
    }
    let health = monitor.health();
    println!();
    println!(
        "health: {} recorded, {} refused, {} minute buckets sealed, {} models, ~{} KiB retained",
        health.recorded,
        health.rejected_total,
        health.sealed_buckets,
        health.models_tracked,
        health.bytes_retained / 1024
    );
    print_alerts(&monitor);

    println!();
    println!("what to change (monitor.recommendations()):");
    for (i, r) in monitor.recommendations().iter().enumerate() {
        println!("  {}. {r}", i + 1);
        println!("     {}", r.description);
    }
    println!();
    let reports = monitor.reports(Duration::from_secs(24 * 3600));
    print!("{}", reports.cost);
    write_reports(&reports)?;
    Ok(())
}

/// The day's reports as an HTML page (and a PDF with the `pdf` feature), in
/// `QUICKSTART_OUT` or the target directory.
fn write_reports(reports: &modelmeter::Reports) -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::var_os("QUICKSTART_OUT")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    std::fs::create_dir_all(&dir)?;
    println!();
    #[cfg(feature = "html")]
    {
        let path = dir.join("modelmeter-report.html");
        std::fs::write(&path, reports.to_html())?;
        println!("HTML report: {}", path.display());
    }
    #[cfg(feature = "pdf")]
    {
        let path = dir.join("modelmeter-report.pdf");
        std::fs::write(&path, reports.to_pdf())?;
        println!("PDF report:  {}", path.display());
    }
    let _ = (reports, dir);
    Ok(())
}

/// What the default KPI rules made of the day: alerts raised per rule and scope, and
/// what is still open.
fn print_alerts(monitor: &Monitor) {
    let mut raised: std::collections::BTreeMap<(String, String), (u32, String)> =
        Default::default();
    for r in monitor.alert_history() {
        let e = raised
            .entry((r.rule_id.clone(), r.scope.to_string()))
            .or_default();
        e.0 += 1;
        e.1 = format!("{:?}", r.peak_severity);
    }
    println!();
    println!("alerts resolved during the day (rule, scope, times, peak severity):");
    for ((rule, scope), (n, peak)) in &raised {
        println!("  {rule:<20} {scope:<26} {n:>3}x  {peak}");
    }
    println!("alerts open at the end of the day:");
    for a in monitor.active_alerts() {
        println!(
            "  {:<20} {:<26} {:?} {:?}: {}",
            a.rule_id,
            a.scope.to_string(),
            a.state,
            a.severity,
            a.message
        );
    }
    let mttr = monitor.mean_time_to_resolve();
    if !mttr.is_empty() {
        println!("mean time to resolve: {mttr:?}");
    }
    println!("incidents open at the end of the day (related alerts, announced once):");
    for i in monitor.incidents() {
        let n = i.alerts.len();
        let s = if n == 1 { "" } else { "s" };
        println!("  #{} {:?} {} ({n} alert{s})", i.id, i.severity, i.title);
    }
    println!(
        "incidents resolved during the day: {}",
        monitor.incident_history().len()
    );
}
