//! The HTML report and the live dashboard in a real headless Chromium, and the PDF
//! report through poppler's `pdftoppm`; both installed by `scripts/chromium.sh` and
//! `scripts/pdftoppm.sh` (Debian packages) when missing.
//!
//! Checked: no console message at all (the pages log nothing, so any message is an
//! error or a warning), every chart present and drawn (DOM dump), the live tiles'
//! numbers changing between two snapshots a few seconds apart, screenshots that are
//! not blank, PDF pages that are not blank. Screenshots land in `target/browser/`;
//! `docs/` holds copies taken from the quickstart's report.
#![cfg(all(feature = "html", feature = "http"))]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use modelmeter::{Config, ErrorKind, Monitor, Selection};

/// The longest a Chromium run may take before it is killed and the test fails.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(90);

fn out_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs headless Chromium on `url` with `args`; returns stdout and the console lines
/// of its log.
fn chromium(bin: &str, url: &str, args: &[&str]) -> (String, Vec<String>) {
    let profile = tempdir("chromium-profile");
    let mut child = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=1",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    // Read both pipes on threads so a full pipe never stalls the browser.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut out, &mut s).ok();
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut err, &mut s).ok();
        s
    });
    let deadline = Instant::now() + BROWSER_TIMEOUT;
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish {url} within {BROWSER_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = std::fs::remove_dir_all(&profile);
    let console = err
        .join()
        .unwrap()
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_owned)
        .collect();
    (out.join().unwrap(), console)
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "modelmeter-{name}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A PNG's width and height, read from its header; panics if it is not a PNG.
fn png_size(path: &Path) -> (u32, u32, usize) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[1..4], b"PNG", "{} is not a PNG", path.display());
    let be = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap());
    (be(16), be(20), bytes.len())
}

/// Twelve hours of four models through the public API on the manual clock: traffic,
/// cache hits, costs, a budget and an error burst that raises alerts.
fn half_day() -> modelmeter::Reports {
    let mut config = Config::default();
    config.cost.budget.daily_usd = Some(40.0);
    let (clock, monitor) = common::build(config);
    clock.advance(Duration::from_secs(6 * 3600));
    let models = [
        ("gpt-4o", 640, 0.0055),
        ("claude-3-5-sonnet", 1050, 0.0107),
        ("gpt-4o-mini", 290, 0.0003),
        ("llama-3.1-70b", 520, 0.0009),
    ];
    let mut seed = 7u64;
    common::drive(&clock, &monitor, 720, 40, |m, i| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let r = (seed >> 33) as f64 / (1u64 << 31) as f64;
        let (model, median, cost) = models[(i % 4) as usize];
        let latency = median as f64 * (r * 1.4 - 0.7).exp();
        let burst = model == "llama-3.1-70b" && (300..360).contains(&m);
        let mut s = Selection::new(model, Duration::from_secs_f64(latency / 1000.0))
            .cost_usd(cost)
            .cache_hit(r < 0.3);
        if burst && r > 0.6 {
            s = s.error_kind(ErrorKind::RateLimited);
        }
        s
    });
    monitor.reports(Duration::from_secs(12 * 3600))
}

#[test]
fn console_messages_are_caught() {
    // The checks below rely on this: a page that logs and throws is noticed.
    let Some(bin) = common::real_tool("chromium.sh", &[]) else {
        return;
    };
    let page = tempdir("console").join("bad.html");
    std::fs::write(
        &page,
        "<html><body><script>console.error('bad'); null.x;</script></body></html>",
    )
    .unwrap();
    let (_, console) = chromium(&bin, &format!("file://{}", page.display()), &["--dump-dom"]);
    assert_eq!(console.len(), 2, "{console:#?}");
    assert!(console[1].contains("Uncaught TypeError"), "{console:#?}");
}

#[test]
fn the_html_report_renders_in_chromium() {
    let Some(bin) = common::real_tool("chromium.sh", &[]) else {
        return;
    };
    let dir = out_dir();
    let page = dir.join("report.html");
    std::fs::write(&page, half_day().to_html()).unwrap();
    let url = format!("file://{}", page.display());
    let (dom, console) = chromium(&bin, &url, &["--dump-dom"]);
    assert!(console.is_empty(), "console messages: {console:#?}");
    let figures: Vec<&str> = dom.split("<figure class=\"chart\"").skip(1).collect();
    for name in modelmeter::reports::CHART_NAMES {
        let drawn: Vec<&&str> = figures
            .iter()
            .filter(|f| f.starts_with(&format!(" data-chart=\"{name}\"")))
            .collect();
        assert!(!drawn.is_empty(), "no {name} chart in the rendered page");
        for f in drawn {
            let svg = f.split("</figure>").next().unwrap();
            assert!(svg.contains("<svg"), "{name}: no svg");
            assert!(common::data_marks(svg) > 0, "{name}: no data drawn");
            assert!(svg.matches("<text").count() >= 4, "{name}: no axis labels");
        }
    }
    let shot = dir.join("report.png");
    let (_, console) = chromium(
        &bin,
        &url,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,2400",
        ],
    );
    assert!(console.is_empty(), "console messages: {console:#?}");
    let (w, h, bytes) = png_size(&shot);
    assert_eq!((w, h), (1280, 2400));
    assert!(bytes > 60_000, "screenshot of {bytes} bytes looks blank");
}

/// The numbers of the fleet tile in a dumped dashboard page, by field.
fn fleet_tile(dom: &str) -> Vec<(String, String)> {
    let tile = dom
        .split("data-model=\"all models\"")
        .nth(1)
        .expect("the fleet tile")
        .split("data-model=")
        .next()
        .unwrap();
    tile.split("data-field=\"")
        .skip(1)
        .map(|f| {
            let (field, rest) = f.split_once("\">").unwrap();
            (field.to_owned(), rest.split('<').next().unwrap().to_owned())
        })
        .collect()
}

#[test]
fn the_live_dashboard_moves_in_chromium() {
    let Some(bin) = common::real_tool("chromium.sh", &[]) else {
        return;
    };
    let mut config = Config::default();
    config.monitoring.live_interval = Duration::from_millis(250);
    let monitor = Monitor::builder().config(config).build().unwrap();
    let endpoint = monitor.serve_http("127.0.0.1:0").unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    // A router recording in real time until the test ends, its latency drifting.
    let router = {
        let (monitor, stop) = (monitor.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                for model in ["gpt-4o", "claude-3-5-sonnet", "gpt-4o-mini"] {
                    let ms = 200 + (i * 37 % 900);
                    let s = Selection::new(model, Duration::from_millis(ms))
                        .cost_usd(0.002)
                        .cache_hit(i % 3 == 0)
                        .error(i % 17 == 0);
                    monitor.record_selection(&s).unwrap();
                }
                i += 1;
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    let url = format!("http://{}/?snapshots=2", endpoint.local_addr());
    let dump = || {
        let (dom, console) = chromium(&bin, &url, &["--dump-dom", "--virtual-time-budget=3000"]);
        assert!(console.is_empty(), "console messages: {console:#?}");
        assert!(
            dom.contains("data-snapshots=\"2\""),
            "the page got its snapshots"
        );
        dom
    };
    let dom = dump();
    for name in ["gpt-4o", "claude-3-5-sonnet", "gpt-4o-mini"] {
        assert!(
            dom.contains(&format!("data-model=\"{name}\"")),
            "no {name} tile"
        );
    }
    assert_eq!(
        dom.matches("data-spark=").count(),
        8,
        "two sparklines per tile"
    );
    let first = fleet_tile(&dom);
    assert_eq!(first.len(), 6, "{first:?}");
    assert!(first.iter().all(|(_, v)| !v.is_empty()), "{first:?}");
    // A few seconds of traffic later, the tile's numbers have moved (bounded retries:
    // a real browser and a real clock).
    let mut later = first.clone();
    let deadline = Instant::now() + Duration::from_secs(60);
    while later == first && Instant::now() < deadline {
        std::thread::sleep(Duration::from_secs(2));
        later = fleet_tile(&dump());
    }
    assert_ne!(later, first, "the live tiles did not change");
    let shot = out_dir().join("live.png");
    let (_, console) = chromium(
        &bin,
        &url,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,900",
            "--virtual-time-budget=3000",
        ],
    );
    assert!(console.is_empty(), "console messages: {console:#?}");
    let (_, _, bytes) = png_size(&shot);
    assert!(bytes > 30_000, "screenshot of {bytes} bytes looks blank");
    stop.store(true, Ordering::Relaxed);
    router.join().unwrap();
}

/// Share of non-white pixels of a binary PGM (P5) image.
fn ink(pgm: &[u8]) -> f64 {
    // Header: "P5", width, height, maxval, each followed by whitespace.
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 {
        while pgm[i].is_ascii_whitespace() {
            i += 1;
        }
        let start = i;
        while !pgm[i].is_ascii_whitespace() {
            i += 1;
        }
        fields.push(std::str::from_utf8(&pgm[start..i]).unwrap().to_owned());
    }
    assert_eq!(fields[0], "P5");
    let pixels = &pgm[i + 1..];
    pixels.iter().filter(|&&p| p < 200).count() as f64 / pixels.len() as f64
}

#[cfg(feature = "pdf")]
#[test]
fn the_pdf_report_renders_with_pdftoppm() {
    let Some(bin) = common::real_tool("pdftoppm.sh", &[]) else {
        return;
    };
    let dir = tempdir("pdf");
    let pdf = dir.join("report.pdf");
    std::fs::write(&pdf, half_day().to_pdf()).unwrap();
    let status = Command::new(&bin)
        .args(["-r", "30", "-gray"])
        .arg(&pdf)
        .arg(dir.join("page"))
        .status()
        .unwrap();
    assert!(status.success(), "pdftoppm failed on the report");
    let mut pages: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pgm"))
        .collect();
    pages.sort();
    assert!(pages.len() >= 4, "{} pages", pages.len());
    for page in &pages {
        let share = ink(&std::fs::read(page).unwrap());
        assert!(share > 0.01, "{} is blank ({share:.4} ink)", page.display());
    }
    let _ = std::fs::remove_dir_all(&dir);
}
