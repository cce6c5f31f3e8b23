//! The HTTP endpoint over real sockets: routes, content negotiation, bad input, and its
//! life tied to the monitor's.
#![cfg(feature = "http")]

mod common;

use std::time::Duration;

use common::http::{get, request};
use modelmeter::{Monitor, Selection, Summary};

fn filled() -> (modelmeter::ManualClock, Monitor) {
    let (clock, monitor) = common::manual();
    for i in 0..50u64 {
        monitor
            .record_selection(
                &Selection::new(
                    if i % 2 == 0 { "a" } else { "b\"quoted" },
                    Duration::from_millis(100 + i),
                )
                .error(i % 10 == 0)
                .cost_usd(0.001),
            )
            .unwrap();
    }
    (clock, monitor)
}

#[test]
fn metrics_negotiate_openmetrics_or_text() {
    let (_clock, monitor) = filled();
    let endpoint = monitor.serve_http("127.0.0.1:0").unwrap();
    let addr = endpoint.local_addr();
    let prometheus_accept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    let om = request(addr, "GET", "/metrics", &[("Accept", prometheus_accept)]).unwrap();
    assert_eq!(om.status, 200);
    assert!(
        om.header("content-type")
            .unwrap()
            .starts_with("application/openmetrics-text; version=1.0.0")
    );
    assert!(om.body.ends_with("# EOF\n"));
    assert!(om.body.contains("# TYPE modelmeter_selections counter"));
    let text = get(addr, "/metrics");
    assert_eq!(text.status, 200);
    assert_eq!(
        text.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    assert!(
        text.body
            .contains("modelmeter_selections_total{gen_ai_request_model=\"a\"} 25")
    );
    assert!(
        text.body
            .contains("modelmeter_selections_total{gen_ai_request_model=\"b\\\"quoted\"} 25")
    );
    let head = request(addr, "HEAD", "/metrics", &[]).unwrap();
    assert_eq!((head.status, head.body.as_str()), (200, ""));
}

#[test]
fn json_routes_answer_with_the_crates_own_types() {
    let (_clock, monitor) = filled();
    let endpoint = monitor.serve_http("127.0.0.1:0").unwrap();
    let addr = endpoint.local_addr();
    let r = get(addr, "/api/v1/summary?window=5m");
    assert_eq!(r.status, 200, "{}", r.body);
    let s: Summary = serde_json::from_str(&r.body).unwrap();
    assert_eq!(s.overview.count, 50);
    assert_eq!(s.window, Duration::from_secs(300));
    let h = get(addr, "/healthz");
    assert_eq!(h.status, 200);
    let h: serde_json::Value = serde_json::from_str(&h.body).unwrap();
    assert_eq!(h["recorded"], 50);
    for path in [
        "/api/v1/alerts",
        "/api/v1/recommendations",
        "/api/v1/reports/performance?window=1h",
        "/api/v1/reports/cost",
        "/api/v1/scoreboard",
    ] {
        let r = get(addr, path);
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert_eq!(r.header("content-type"), Some("application/json"), "{path}");
        serde_json::from_str::<serde_json::Value>(&r.body)
            .unwrap_or_else(|e| panic!("{path}: {e}"));
    }
    let alerts: serde_json::Value =
        serde_json::from_str(&get(addr, "/api/v1/alerts").body).unwrap();
    assert!(alerts["active"].is_array() && alerts["incidents"].is_array());
}

#[test]
fn bad_requests_get_a_clear_status_and_nothing_panics() {
    let (_clock, monitor) = filled();
    let endpoint = monitor.serve_http("127.0.0.1:0").unwrap();
    let addr = endpoint.local_addr();
    for (path, status, mentions) in [
        ("/api/v1/summary?window=5x", 400, "5x"),
        ("/api/v1/summary?window=", 400, "window"),
        ("/api/v1/summary?window=0m", 400, "0m"),
        ("/api/v1/summary?windw=5m", 400, "windw"),
        ("/api/v1/reports/cost?window=9999d", 400, "9999d"),
        ("/nope", 404, "/nope"),
    ] {
        let r = get(addr, path);
        assert_eq!(r.status, status, "{path}: {}", r.body);
        let e: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert!(
            e["error"].as_str().unwrap().contains(mentions),
            "{path}: {}",
            r.body
        );
    }
    let post = request(addr, "POST", "/metrics", &[]).unwrap();
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));
    // Garbage on the wire: the server answers or closes; it keeps serving.
    use std::io::Write;
    let mut raw = std::net::TcpStream::connect(addr).unwrap();
    raw.write_all(b"\x00\xff garbage\r\n\r\n").unwrap();
    drop(raw);
    assert_eq!(get(addr, "/metrics").status, 200);
}

#[test]
fn the_endpoint_does_not_keep_the_monitor_alive_and_stops_when_dropped() {
    let (_clock, monitor) = filled();
    let endpoint = monitor.serve_http("127.0.0.1:0").unwrap();
    let addr = endpoint.local_addr();
    drop(monitor);
    let r = get(addr, "/metrics");
    assert_eq!(r.status, 503, "{}", r.body);
    drop(endpoint);
    assert!(
        request(addr, "GET", "/metrics", &[]).is_err(),
        "the listener is closed"
    );
}

#[test]
fn binding_a_taken_port_is_a_clear_error() {
    let (_clock, monitor) = filled();
    let first = monitor.serve_http("127.0.0.1:0").unwrap();
    let err = monitor.serve_http(first.local_addr()).unwrap_err();
    assert!(
        err.to_string().contains(&first.local_addr().to_string()),
        "{err}"
    );
}
