//! A custom heuristic and an actuator, in a few lines each.
//!
//! Run it with `cargo run --example custom_heuristic`.
//!
//! The heuristic flags models whose answers are long (many output tokens per
//! selection); the actuator "applies" the built-in cheaper-equivalent reroutes by
//! printing the routing change a real router would make.

use std::time::Duration;

use modelmeter::{
    Action, Actuator, ActuatorError, AnalysisView, Heuristic, Level, ManualClock, Monitor,
    Priority, Recommendation, RecommendationKind, Selection,
};

/// Flags models that average more than `max_output_tokens` output tokens.
struct Verbose {
    max_output_tokens: f64,
}

impl Heuristic for Verbose {
    fn id(&self) -> &str {
        "verbose_model"
    }

    fn analyze(&self, view: &AnalysisView<'_>) -> Vec<Recommendation> {
        let mut out = Vec::new();
        for (model, s) in &view.summary.models {
            let mean = s.output_tokens as f64 / s.count.max(1) as f64;
            if s.count >= 100 && mean > self.max_output_tokens {
                out.push(
                    Recommendation::new(
                        self.id(),
                        RecommendationKind::Custom("verbose".into()),
                        model,
                    )
                    .title(format!(
                        "{model} answers at length: {mean:.0} output tokens on average"
                    ))
                    .description(
                        "Lower max_tokens or ask for shorter answers in the system prompt.",
                    )
                    .priority(Priority::Medium)
                    .impact_effort(Level::Medium, Level::Low)
                    .model(model)
                    .evidence("mean_output_tokens", mean, "tokens"),
                );
            }
        }
        out
    }
}

/// The host's router, as far as this example needs one.
struct PrintingRouter;

impl Actuator for PrintingRouter {
    fn apply(&mut self, rec: &Recommendation) -> Result<(), ActuatorError> {
        match &rec.action {
            Some(Action::Reroute {
                from,
                to,
                min_complexity,
                max_complexity,
            }) => {
                println!(
                    "router: complexity {min_complexity:.1}..{max_complexity:.1}: {from} -> {to}"
                );
                Ok(())
            }
            other => Err(ActuatorError::new(format!("cannot apply {other:?}"))),
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let start = std::time::UNIX_EPOCH + Duration::from_secs(1_795_392_000);
    let clock = ManualClock::new(start);
    let monitor = Monitor::builder()
        .clock(clock.clone())
        .heuristic(Verbose {
            max_output_tokens: 600.0,
        })
        .actuator(PrintingRouter)
        .background(false)
        .build()?;
    // Two hours: "big" and "small" share easy tasks equally well; "chatty" talks a lot.
    for minute in 0..120u64 {
        for i in 0..90u64 {
            clock.set(start + Duration::from_secs(minute * 60) + Duration::from_millis(i * 600));
            let (model, cost, out_tokens) = match i % 3 {
                0 => ("big", 0.01, 300),
                1 => ("small", 0.001, 300),
                _ => ("chatty", 0.004, 900),
            };
            monitor.record_selection(
                &Selection::new(model, Duration::from_millis(400 + i))
                    .cost_usd(cost)
                    .complexity(0.15)
                    .accuracy(1.0)
                    .cache_hit(i % 2 == 0)
                    .tokens(500, out_tokens),
            )?;
        }
        clock.set(start + Duration::from_secs((minute + 1) * 60 + 5));
        monitor.tick(); // at 01:00 and 02:00 the optimizer runs and the actuator is called
    }
    for r in monitor.recommendations() {
        println!("{r}");
    }
    for a in monitor.applied_actions() {
        println!(
            "applied {} at {:?}: {:?}",
            a.recommendation_id, a.at, a.outcome
        );
    }
    Ok(())
}
