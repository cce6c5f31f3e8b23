//! Replays every saved input of the fuzz targets through the same bodies `cargo fuzz`
//! runs, on stable: the minimized corpus (`fuzz/corpus/<target>/`, what 10 minutes of
//! fuzzing reached) and the inputs that once failed (`fuzz/regressions/<target>/`), so
//! a fixed crash stays fixed. How the corpus was grown: `RELIABILITY.md`.

#[path = "../fuzz/targets.rs"]
mod targets;

use std::path::Path;

fn replay(target: &str, body: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "no saved inputs for {target}");
    for path in &inputs {
        let data = std::fs::read(path).unwrap();
        if std::panic::catch_unwind(|| body(&data)).is_err() {
            panic!("{target}: {} fails", path.display());
        }
    }
}

#[test]
fn config_corpus() {
    replay("config", targets::config);
}

#[test]
fn record_corpus() {
    replay("record", targets::record);
}

#[test]
fn snapshot_corpus() {
    replay("snapshot", targets::snapshot);
}

#[test]
fn outputs_corpus() {
    replay("outputs", targets::outputs);
}
