//! The monitor's own health as `modelmeter_*` families: the facts of
//! [`Health`](crate::Health), for the same scrape that reads the models.

use std::collections::BTreeMap;

use super::encode::{Encoder, Float, Kind, escape};
use crate::health::Health;

pub(crate) fn write(e: &mut Encoder<'_>, h: &Health) {
    e.family(
        "modelmeter_recorded_total",
        Kind::Counter,
        "Selections accepted.",
    );
    e.bare("modelmeter_recorded_total", h.recorded);
    e.family(
        "modelmeter_rejected_total",
        Kind::Counter,
        "Selections refused, by reason.",
    );
    for (reason, n) in &h.rejected {
        let reason = reason.to_string();
        e.sample("modelmeter_rejected_total", &[("reason", &reason)], *n);
    }
    e.family("modelmeter_models", Kind::Gauge, "Model ids tracked.");
    e.bare("modelmeter_models", h.models_tracked);
    e.family(
        "modelmeter_overflow_selections_total",
        Kind::Counter,
        "Selections folded into __other__ past maxModels.",
    );
    e.bare(
        "modelmeter_overflow_selections_total",
        h.overflowed_selections,
    );
    e.family(
        "modelmeter_overflow_models",
        Kind::Gauge,
        "Distinct model ids folded into __other__ (estimate).",
    );
    e.bare("modelmeter_overflow_models", h.overflowed_models);
    e.family(
        "modelmeter_dimension_values",
        Kind::Gauge,
        "Distinct values kept per dimension.",
    );
    for (dim, d) in &h.dimensions {
        e.sample(
            "modelmeter_dimension_values",
            &[("dimension", dim)],
            d.values,
        );
    }
    e.family(
        "modelmeter_dimension_overflow_selections_total",
        Kind::Counter,
        "Selections whose dimension value was folded into __other__ past the dimension's cap.",
    );
    for (dim, d) in &h.dimensions {
        let name = "modelmeter_dimension_overflow_selections_total";
        e.sample(name, &[("dimension", dim)], d.overflowed_selections);
    }
    e.family(
        "modelmeter_bytes_retained",
        Kind::Gauge,
        "Bytes held by open cells and stored buckets.",
    );
    e.bare("modelmeter_bytes_retained", h.bytes_retained);
    e.family(
        "modelmeter_tick_duration_seconds",
        Kind::Summary,
        "Time spent in ticks.",
    );
    e.bare(
        "modelmeter_tick_duration_seconds_sum",
        Float(h.tick_time.as_secs_f64()),
    );
    e.bare("modelmeter_tick_duration_seconds_count", h.ticks);

    // Two exporters may share a name; the second becomes `name#2`, so series stay unique.
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let names: Vec<String> = h
        .exporters
        .iter()
        .map(|x| {
            let n = seen.entry(x.name.as_str()).or_insert(0);
            *n += 1;
            let name = if *n == 1 {
                x.name.clone()
            } else {
                format!("{}#{n}", x.name)
            };
            escape(&name).into_owned()
        })
        .collect();
    e.family(
        "modelmeter_exporter_batches_total",
        Kind::Counter,
        "Export batches by exporter and outcome.",
    );
    for (name, x) in names.iter().zip(&h.exporters) {
        for (outcome, n) in [
            ("delivered", x.delivered),
            ("failed", x.failed),
            ("dropped", x.dropped),
            ("panicked", x.panicked),
            ("timed_out", x.timed_out),
        ] {
            let l = [("exporter", name.as_str()), ("outcome", outcome)];
            e.sample("modelmeter_exporter_batches_total", &l, n);
        }
    }
    e.family(
        "modelmeter_exporter_retries_total",
        Kind::Counter,
        "Export retries, by exporter.",
    );
    for (name, x) in names.iter().zip(&h.exporters) {
        e.sample(
            "modelmeter_exporter_retries_total",
            &[("exporter", name)],
            x.retried,
        );
    }
    e.family(
        "modelmeter_exporter_queued",
        Kind::Gauge,
        "Batches waiting for delivery, by exporter.",
    );
    for (name, x) in names.iter().zip(&h.exporters) {
        e.sample(
            "modelmeter_exporter_queued",
            &[("exporter", name)],
            x.queued,
        );
    }
    e.family(
        "modelmeter_live_dropped_total",
        Kind::Counter,
        "Live snapshots a slow subscriber missed.",
    );
    e.bare("modelmeter_live_dropped_total", h.live_dropped);
    e.family(
        "modelmeter_heuristic_panics_total",
        Kind::Counter,
        "Heuristic runs that panicked.",
    );
    e.bare("modelmeter_heuristic_panics_total", h.heuristic_panics);
    e.family(
        "modelmeter_rule_panics_total",
        Kind::Counter,
        "Rule calls that panicked and were skipped, by rule.",
    );
    for (rule, p) in &h.rule_panics {
        e.sample(
            "modelmeter_rule_panics_total",
            &[("rule_id", &escape(rule))],
            p.panics,
        );
    }
    e.family(
        "modelmeter_rules_disabled",
        Kind::Gauge,
        "Rules disabled for panicking too often in a row.",
    );
    let disabled = h.rule_panics.values().filter(|p| p.disabled).count();
    e.bare("modelmeter_rules_disabled", disabled as u64);
    e.family(
        "modelmeter_clock_panics_total",
        Kind::Counter,
        "Clock reads that panicked.",
    );
    e.bare("modelmeter_clock_panics_total", h.clock_panics);
    e.family(
        "modelmeter_worker_up",
        Kind::Gauge,
        "1 while the background worker runs, 0 once it stopped; absent without one.",
    );
    if let Some(alive) = h.worker_alive {
        e.bare("modelmeter_worker_up", u64::from(alive));
    }
}
