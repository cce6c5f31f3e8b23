//! A rule of the host's own beside the default KPI rules, on two simulated hours in
//! which gpt-4o slows down for twenty minutes, mistral-large starts failing, and the
//! router finally sends everything to gpt-4o.
//!
//! Run with `cargo run --example custom_rule`.

use std::time::{Duration, SystemTime};

use modelmeter::{
    ExportBatch, ExportError, Exporter, Finding, ManualClock, Monitor, Rule, RuleView, Scope,
    Selection, Severity,
};

/// Warns when one model takes more than 80% of the traffic: the router has stopped
/// routing.
struct Dominant;

impl Rule for Dominant {
    fn id(&self) -> &str {
        "dominant_model"
    }

    fn evaluate(&mut self, view: &RuleView<'_>) -> Vec<Finding> {
        let w = Duration::from_secs(300);
        let total = view.overall(w).map_or(0, |s| s.count) as f64;
        view.models(w)
            .filter(|(_, s)| total >= 100.0 && s.count as f64 / total > 0.8)
            .map(|(m, s)| {
                let share = s.count as f64 / total;
                Finding::breach(
                    Scope::model(m),
                    Severity::Warning,
                    share,
                    0.8,
                    format!("{m} serves {:.0}% of traffic", share * 100.0),
                )
            })
            .collect()
    }
}

/// Prints every alert event.
struct Console;

impl Exporter for Console {
    fn export(&mut self, batch: &ExportBatch) -> Result<(), ExportError> {
        for e in &batch.alerts {
            let minute =
                e.at.duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() / 60 % 1440);
            println!(
                "{:02}:{:02} {:<11} {:<8} {:<16} {}",
                minute / 60,
                minute % 60,
                format!("{:?}", e.kind),
                format!("{:?}", e.severity),
                e.rule_id,
                e.message
            );
        }
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_392_000);
    let clock = ManualClock::new(start);
    let monitor = Monitor::builder()
        .clock(clock.clone())
        .rule(Dominant)
        .exporter(Console)
        .background(false)
        .build()?;
    for minute in 0..120u64 {
        let slow = (30..50).contains(&minute);
        let failing = minute >= 70;
        // From minute 95 the router sends everything to gpt-4o.
        let stuck = minute >= 95;
        for i in 0..300u64 {
            let (model, ms, error) = match if stuck { 0 } else { i % 3 } {
                0 => ("gpt-4o", if slow { 5600 } else { 900 + i % 7 * 150 }, false),
                1 => ("gpt-4o-mini", 300 + i % 5 * 40, false),
                _ => ("mistral-large", 700 + i % 3 * 90, failing && i % 4 == 0),
            };
            let cost = match model {
                "gpt-4o" => 0.01,
                "gpt-4o-mini" => 0.0006,
                _ => 0.004,
            };
            let s = Selection::new(model, Duration::from_millis(ms))
                .cost_usd(cost)
                .cache_hit(i % 10 != 0)
                .error(error)
                .accuracy(1.0);
            monitor.record_selection(&s)?;
        }
        clock.advance(Duration::from_secs(60));
        monitor.tick();
    }
    println!("\nopen alerts:");
    for a in monitor.active_alerts() {
        println!(
            "  #{} {} {} {:?} {:?}",
            a.id, a.rule_id, a.scope, a.state, a.severity
        );
    }
    println!("mean time to resolve: {:?}", monitor.mean_time_to_resolve());
    Ok(())
}
