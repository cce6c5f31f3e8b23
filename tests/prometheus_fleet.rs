//! A real Prometheus server scraping a fleet of two router processes once a second,
//! then asked through its HTTP API whether fleet-wide rates, the fleet p95 and the
//! per-model error ratios match the traffic the processes were told to send; and every
//! PromQL expression of the Grafana dashboard in `dashboards/` returns data.
//!
//! The server comes from Debian's `prometheus` package, installed by
//! `scripts/prometheus.sh` when missing. The two routers are this test binary started
//! again with `MODELMETER_FLEET_NODE` set (the ignored `fleet_node` test below), each
//! recording with the system clock and serving `/metrics` with `Monitor::serve_http`.
//! The whole run is bounded (about 90 s); everything started is killed on the way out,
//! also when an assertion fails.
#![cfg(feature = "http")]

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::http::request;
use modelmeter::{JsonLinesExporter, Monitor, Selection};

/// What one router sends: (model, selections per second, every n-th fails, latencies in
/// ms cycled through in order).
type Traffic = &'static [(&'static str, u64, u64, &'static [u64])];

const LAT_MINI: &[u64] = &[180, 220, 260, 300, 340, 420, 520, 650, 900, 1_400];
const LAT_4O: &[u64] = &[600, 800, 1_000, 1_300, 1_700, 2_200, 3_000, 4_500];
const LAT_CLAUDE: &[u64] = &[350, 450, 700, 950, 1_200];

const NODE_A: Traffic = &[
    ("gpt-4o-mini", 60, 20, LAT_MINI),
    ("gpt-4o", 20, 50, LAT_4O),
];
const NODE_B: Traffic = &[
    ("gpt-4o-mini", 40, 10, LAT_MINI),
    ("claude-haiku", 30, 0, LAT_CLAUDE),
    // A hostile id: the server's strict OpenMetrics parser must accept its escaping.
    // (Control characters such as a newline are refused at record time.)
    ("hostile \"id\" {with}\\back=slash,", 1, 0, &[50]),
];

fn traffic(node: &str) -> Traffic {
    if node == "a" { NODE_A } else { NODE_B }
}

/// One router process: records its traffic at a steady rate and serves `/metrics`
/// until killed. Runs only when started by the fleet test.
#[test]
#[ignore = "started as a child process by the_fleet_as_prometheus_sees_it"]
fn fleet_node() {
    let Ok(node) = std::env::var("MODELMETER_FLEET_NODE") else {
        return;
    };
    let monitor = Monitor::builder()
        .exporter(JsonLinesExporter::new(std::io::sink()))
        .build()
        .unwrap();
    let endpoint = monitor.serve_http("127.0.0.1:0").unwrap();
    println!("LISTENING {}", endpoint.local_addr());
    let start = Instant::now();
    let plan = traffic(&node);
    let mut sent = vec![0u64; plan.len()];
    loop {
        let elapsed = start.elapsed().as_secs_f64();
        for (k, (model, rate, fail_every, latencies)) in plan.iter().enumerate() {
            // Catch up to `rate * elapsed`, so the long-run rate is exact whatever
            // the scheduler does.
            let due = (*rate as f64 * elapsed) as u64;
            while sent[k] < due {
                let i = sent[k];
                let s = Selection::new(
                    model,
                    Duration::from_millis(latencies[(i as usize) % latencies.len()]),
                )
                .error(*fail_every > 0 && i % fail_every == 0)
                .cost_usd(0.0005)
                .tokens(800, 200);
                monitor.record_selection(&s).unwrap();
                sent[k] += 1;
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Kills and reaps the processes it holds, and removes its directory, when dropped.
struct Cleanup {
    children: Vec<Child>,
    dir: PathBuf,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn start_node(node: &str) -> (Child, SocketAddr) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "fleet_node",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("MODELMETER_FLEET_NODE", node)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    // Read in a thread, so a node that never says where it listens cannot hang the test.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            // The harness prints `test fleet_node ... ` on the same line first.
            if let Some((_, a)) = line.split_once("LISTENING ") {
                let _ = tx.send(a.trim().to_owned());
            }
        }
    });
    let addr = match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(a) => a.parse().unwrap(),
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("node {node} did not start listening: {e}");
        }
    };
    (child, addr)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Percent-encodes a query for a URL.
fn encode(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// An instant query's result vector: (labels, value).
fn query(prometheus: SocketAddr, q: &str) -> Vec<(serde_json::Value, f64)> {
    let r = request(
        prometheus,
        "GET",
        &format!("/api/v1/query?query={}", encode(q)),
        &[],
    )
    .unwrap();
    assert_eq!(r.status, 200, "{q}: {}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["status"], "success", "{q}: {}", r.body);
    v["data"]["result"]
        .as_array()
        .unwrap_or_else(|| panic!("{q}: not a vector: {}", r.body))
        .iter()
        .map(|s| {
            let value = s["value"][1].as_str().unwrap().parse().unwrap();
            (s["metric"].clone(), value)
        })
        .collect()
}

fn scalar(prometheus: SocketAddr, q: &str) -> f64 {
    let r = query(prometheus, q);
    assert_eq!(r.len(), 1, "{q}: {r:?}");
    r[0].1
}

/// The exact p95 of a minute of both nodes' traffic together: each model's latencies
/// cycle, and a minute holds whole cycles at these rates.
fn true_p95_ms() -> u64 {
    let mut all = Vec::new();
    for node in [NODE_A, NODE_B] {
        for (_, rate, _, latencies) in node {
            for i in 0..rate * 60 {
                all.push(latencies[(i as usize) % latencies.len()]);
            }
        }
    }
    all.sort_unstable();
    let rank = (0.95 * all.len() as f64).ceil() as usize;
    all[rank - 1]
}

fn bucket_of(secs: f64) -> usize {
    modelmeter::DURATION_BOUNDS.partition_point(|&b| secs > b)
}

#[test]
fn the_fleet_as_prometheus_sees_it() {
    let deadline = Instant::now() + Duration::from_secs(240);
    let Some(prometheus_bin) = common::real_tool("prometheus.sh", &[]) else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("modelmeter-fleet-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut cleanup = Cleanup {
        children: Vec::new(),
        dir: dir.clone(),
    };
    let (a, addr_a) = start_node("a");
    cleanup.children.push(a);
    let (b, addr_b) = start_node("b");
    cleanup.children.push(b);

    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
         scrape_configs:\n  - job_name: router\n    static_configs:\n      - targets: ['{addr_a}', '{addr_b}']\n"
    );
    std::fs::write(dir.join("prometheus.yml"), config).unwrap();
    let port = free_port();
    let prometheus: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let server = Command::new(&prometheus_bin)
        .arg(format!(
            "--config.file={}",
            dir.join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address={prometheus}"))
        .arg("--log.level=warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    cleanup.children.push(server);
    while !request(prometheus, "GET", "/-/ready", &[]).is_ok_and(|r| r.status == 200) {
        assert!(Instant::now() < deadline, "Prometheus not ready in time");
        std::thread::sleep(Duration::from_millis(200));
    }
    let scraping_since = Instant::now();

    // Both targets up: the server negotiated OpenMetrics and its strict parser accepted
    // every scrape, the hostile id included.
    let targets_up = || {
        let r = request(prometheus, "GET", "/api/v1/targets", &[]).unwrap();
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        let active = v["data"]["activeTargets"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        (
            active.len(),
            active.iter().filter(|t| t["health"] == "up").count(),
            r.body,
        )
    };
    loop {
        let (n, up, body) = targets_up();
        if n == 2 && up == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "targets not up: {body}");
        std::thread::sleep(Duration::from_millis(500));
    }
    // A full minute of 1 s scrapes, and a margin, before judging a 1-minute rate.
    let settle = Duration::from_secs(75);
    while scraping_since.elapsed() < settle {
        std::thread::sleep(Duration::from_millis(500));
    }
    // Every scrape of the last minute parsed: `up` was 1 for (nearly) all of them. One
    // late scrape on a loaded machine is tolerated; a parse failure would be every one.
    for (target, up) in query(prometheus, "avg_over_time(up[1m])") {
        assert!(up >= 0.95, "{target}: up {up} over the last minute");
    }

    // Fleet-wide rate: the sum of both nodes' rates.
    let truth: u64 = NODE_A.iter().chain(NODE_B).map(|t| t.1).sum();
    let rate = scalar(prometheus, "sum(rate(modelmeter_selections_total[1m]))");
    assert!(
        (rate / truth as f64 - 1.0).abs() <= 0.05,
        "fleet rate {rate}/s, sent {truth}/s"
    );

    // Fleet p95 from the summed buckets: within one bucket of the combined traffic's.
    let p95 = scalar(
        prometheus,
        "histogram_quantile(0.95, sum by (le) (rate(gen_ai_client_operation_duration_seconds_bucket[1m])))",
    );
    let exact = true_p95_ms() as f64 / 1000.0;
    eprintln!("fleet rate {rate:.2}/s (sent {truth}/s); fleet p95 {p95:.3} s (true {exact} s)");
    let (got, want) = (bucket_of(p95), bucket_of(exact));
    assert!(
        got.abs_diff(want) <= 1,
        "fleet p95 {p95} s (bucket {got}), true {exact} s (bucket {want})"
    );

    // Per-model error ratio, both nodes together.
    let ratios = query(
        prometheus,
        "sum by (gen_ai_request_model) (rate(modelmeter_errors_total[1m])) / sum by (gen_ai_request_model) (rate(modelmeter_selections_total[1m]))",
    );
    for (model, want) in [
        ("gpt-4o-mini", (60.0 / 20.0 + 40.0 / 10.0) / 100.0),
        ("gpt-4o", 1.0 / 50.0),
        ("claude-haiku", 0.0),
    ] {
        let got = ratios
            .iter()
            .find(|(m, _)| m["gen_ai_request_model"] == model)
            .unwrap_or_else(|| panic!("no {model} in {ratios:?}"))
            .1;
        eprintln!("{model}: error ratio {got:.4} (sent {want:.4})");
        assert!(
            (got - want).abs() <= 0.005,
            "{model}: error ratio {got}, sent {want}"
        );
    }

    // Every expression of the dashboard returns data.
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/dashboards/modelmeter-fleet.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let mut checked = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"]
                .as_str()
                .unwrap()
                .replace("$__rate_interval", "1m")
                .replace("$model", ".*");
            let result = query(prometheus, &expr);
            assert!(
                !result.is_empty(),
                "panel {:?}: no data for {expr}",
                panel["title"]
            );
            checked += 1;
        }
    }
    assert!(checked >= 15, "only {checked} expressions");
    assert!(Instant::now() < deadline, "the run took too long");
    drop(cleanup);
}
