use modelmeter::{
    AlertEventKind, Config, ExportBatch, ExportError, Exporter, ManualClock, Monitor, Scope,
    Selection,
};
use parking_lot::Mutex;
use rand::{Rng, SeedableRng, rngs::StdRng};
use rand_distr::{Distribution, LogNormal, Poisson};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

#[derive(Clone, Default)]
struct Keep(Arc<Mutex<Vec<modelmeter::AlertEvent>>>);
impl Exporter for Keep {
    fn export(&mut self, b: &ExportBatch) -> Result<(), ExportError> {
        self.0.lock().extend(b.alerts.iter().cloned());
        Ok(())
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let volume: f64 = args[1].parse().unwrap();
    let lat_f: f64 = args[2].parse().unwrap();
    let err_f: f64 = args[3].parse().unwrap();
    let seed: u64 = args.get(4).map_or(1, |s| s.parse().unwrap());
    let tick_secs = 5u64;
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_571_200);
    let clock = ManualClock::new(start);
    let keep = Keep::default();
    let mut config = Config::default();
    config.optimizer.enabled = false;
    let m = Monitor::builder()
        .clock(clock.clone())
        .config(config)
        .exporter(keep.clone())
        .background(false)
        .build()
        .unwrap();
    let mut rng = StdRng::seed_from_u64(seed);
    let sigma = 0.5;
    let lat = LogNormal::new((1500.0 / (1.645f64 * sigma).exp()).ln(), sigma).unwrap();
    let models: Vec<String> = (0..6).map(|i| format!("m{i}")).collect();
    let per_tick = Poisson::new(volume * tick_secs as f64 / 60.0).unwrap();
    let step_at = 24 * 3600 / tick_secs;
    let ticks = step_at + 30 * 60 / tick_secs;
    let mut detected = None;
    for t in 0..ticks {
        for (i, name) in models.iter().enumerate() {
            let stepped = i == 0 && t >= step_at;
            let (lf, ef) = if stepped { (lat_f, err_f) } else { (1.0, 1.0) };
            let n = per_tick.sample(&mut rng) as u64;
            for _ in 0..n {
                let s = Selection::new(
                    name,
                    Duration::from_secs_f64(lat.sample(&mut rng) * lf / 1000.0),
                )
                .error(rng.random_bool((0.01 * ef).min(1.0)))
                .cache_hit(rng.random_bool(0.9))
                .accuracy(if rng.random_bool(0.95) { 1.0 } else { 0.0 })
                .cost_usd(if i == 0 { 0.01 } else { 0.001 });
                m.record_selection(&s).unwrap();
            }
        }
        clock.advance(Duration::from_secs(tick_secs));
        m.tick();
        if t >= step_at && detected.is_none() {
            let ev = keep.0.lock();
            if let Some(e) = ev.iter().find(|e| {
                e.kind == AlertEventKind::Firing
                    && e.scope == Scope::model("m0")
                    && e.at > start + Duration::from_secs(step_at * tick_secs)
            }) {
                detected = Some((t + 1 - step_at) * tick_secs);
                println!(
                    "volume {volume} lat x{lat_f} err x{err_f}: detected after {} s by {}",
                    (t + 1 - step_at) * tick_secs,
                    e.rule_id
                );
            }
        }
    }
    if detected.is_none() {
        println!("volume {volume} lat x{lat_f} err x{err_f}: MISSED");
    }
    for e in keep.0.lock().iter() {
        println!(
            "  {:?} {} {} {:?} {}",
            e.kind,
            e.rule_id,
            e.scope,
            e.at.duration_since(start).unwrap().as_secs() as i64 - (step_at * tick_secs) as i64,
            e.message
        );
    }
    for a in m.active_alerts() {
        println!(
            "  open {} {} {:?} {}",
            a.rule_id, a.scope, a.state, a.message
        );
    }
    let before: Vec<_> = keep
        .0
        .lock()
        .iter()
        .filter(|e| {
            e.kind == AlertEventKind::Firing
                && e.at <= start + Duration::from_secs(step_at * tick_secs)
        })
        .map(|e| (e.rule_id.clone(), e.scope.to_string()))
        .collect();
    if !before.is_empty() {
        println!("   false before step: {before:?}");
    }
}
