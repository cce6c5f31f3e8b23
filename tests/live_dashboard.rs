//! The live dashboard over real sockets: the page at `/`, the Server-Sent Events at
//! `/api/v1/live`, a connection cap, scrapes unaffected by open streams, and streams
//! that end with the endpoint.
#![cfg(feature = "http")]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::http::get;
use modelmeter::{Config, Monitor, Selection};

/// A monitor on the manual clock whose live feed asks for 20 ms of wall time, and
/// gets the floor of 50 ms.
fn monitor() -> (modelmeter::ManualClock, Monitor) {
    let mut config = Config::default();
    config.monitoring.live_interval = Duration::from_millis(20);
    let (clock, monitor) = common::build(config);
    monitor
        .record_selection(&Selection::new("gpt-4o", Duration::from_millis(640)).cost_usd(0.01))
        .unwrap();
    (clock, monitor)
}

/// An open `/api/v1/live` stream.
struct Stream {
    lines: BufReader<TcpStream>,
}

impl Stream {
    fn open(addr: SocketAddr) -> (Self, String) {
        let conn = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
        Self::on(conn, addr)
    }

    /// A stream on a socket with a small receive buffer, so that not reading it
    /// stalls the server's writes within a second (Linux).
    #[cfg(target_os = "linux")]
    fn open_small(addr: SocketAddr) -> (Self, String) {
        let conn = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
        rustix::net::sockopt::set_socket_recv_buffer_size(&conn, 4096).unwrap();
        Self::on(conn, addr)
    }

    fn on(mut conn: TcpStream, addr: SocketAddr) -> (Self, String) {
        conn.set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        write!(conn, "GET /api/v1/live HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
        let mut lines = BufReader::new(conn);
        let mut head = String::new();
        loop {
            let mut line = String::new();
            lines.read_line(&mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            head.push_str(&line);
        }
        (Self { lines }, head)
    }

    /// The next snapshot's JSON; `None` when the stream ended (the last chunk, or
    /// the connection closed).
    fn next(&mut self) -> Option<serde_json::Value> {
        let mut event = false;
        loop {
            let mut line = String::new();
            if self.lines.read_line(&mut line).ok()? == 0 || line == "0\r\n" {
                return None;
            }
            if line.trim_end() == "event: snapshot" {
                event = true;
            } else if let (true, Some(data)) = (event, line.strip_prefix("data: ")) {
                return Some(serde_json::from_str(data).unwrap());
            }
        }
    }

    /// Snapshots until one satisfies `pred` (at most 500).
    fn until(&mut self, pred: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        for _ in 0..500 {
            let s = self.next().expect("stream ended");
            if pred(&s) {
                return s;
            }
        }
        panic!("no snapshot matched");
    }
}

#[test]
fn the_page_is_one_self_contained_document() {
    let (_clock, monitor) = monitor();
    let endpoint = monitor.serve_http("127.0.0.1:0").unwrap();
    let r = get(endpoint.local_addr(), "/");
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert!(r.body.contains("new EventSource(\"/api/v1/live\")"));
    for external in [" src=", " href=", "@import", "url("] {
        assert!(!r.body.contains(external), "external asset: {external}");
    }
}

#[test]
fn snapshots_stream_and_follow_what_is_recorded() {
    let (clock, monitor) = monitor();
    let endpoint = monitor.serve_http("127.0.0.1:0").unwrap();
    let (mut stream, head) = Stream::open(endpoint.local_addr());
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("text/event-stream"), "{head}");
    let first = stream.next().unwrap();
    assert_eq!(first["models"][0]["model"], "gpt-4o");
    assert_eq!(first["interval_ms"], 50, "modelmeter::http::MIN_INTERVAL");
    let spark = first["models"][0]["spark"]["selections"]
        .as_array()
        .unwrap();
    assert_eq!(spark.len(), 15);
    // One selection in the first second of the open minute: 60 a minute.
    assert_eq!(spark[14], 60);
    assert_eq!(first["overall_spark"]["selections"][14], 60);
    // A new model and an error show up in a later snapshot, without a tick.
    clock.advance(Duration::from_secs(1));
    monitor
        .record_selection(&Selection::new("claude", Duration::from_millis(900)).error(true))
        .unwrap();
    let later = stream.until(|s| s["models"].as_array().unwrap().len() == 2);
    assert_eq!(later["models"][0]["model"], "claude");
    assert_eq!(later["models"][0]["tile"]["error_rate"], 1.0);
    assert!(later["overall"]["requests_per_sec"].as_f64().unwrap() > 0.0);
}

#[test]
fn open_streams_leave_scrapes_alone_and_are_capped() {
    let (_clock, monitor) = monitor();
    let endpoint = monitor.serve_http("127.0.0.1:0").unwrap();
    let addr = endpoint.local_addr();
    // Streams that are never read: more than the endpoint has request workers.
    let mut open: Vec<Stream> = (0..modelmeter::http::MAX_CONNECTIONS)
        .map(|_| Stream::open(addr).0)
        .collect();
    let r = get(addr, "/metrics");
    assert_eq!(r.status, 200, "a scrape is answered beside open streams");
    let (_, refused) = Stream::open(addr);
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    // Closing one makes room.
    drop(open.pop());
    // The closed stream's thread notices the hang-up at its next writes (every 50
    // ms): poll the real server for it, for at most 10 s.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut reopened = None;
    while reopened.is_none() && std::time::Instant::now() < deadline {
        let (s, head) = Stream::open(addr);
        if head.starts_with("HTTP/1.1 200") {
            reopened = Some(s);
        } else {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    assert!(reopened.is_some(), "a slot frees when a browser goes");
}

#[test]
fn streams_end_with_the_endpoint_and_with_the_monitor() {
    let (_clock, monitor) = monitor();
    let endpoint = monitor.serve_http("127.0.0.1:0").unwrap();
    let (mut a, _) = Stream::open(endpoint.local_addr());
    assert!(a.next().is_some());
    drop(endpoint);
    while a.next().is_some() {}

    let endpoint = monitor.serve_http("127.0.0.1:0").unwrap();
    let (mut b, _) = Stream::open(endpoint.local_addr());
    assert!(b.next().is_some());
    drop(monitor);
    while b.next().is_some() {}
}

#[test]
fn hosts_mounting_the_routes_get_one_event_and_a_retry() {
    let (_clock, monitor) = monitor();
    let req = http::Request::get("/api/v1/live").body(()).unwrap();
    let r = modelmeter::http::handle(&monitor, &req);
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    let body = r.body();
    assert!(body.starts_with("retry: 50\n"), "{body}");
    let data = body.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
    let v: serde_json::Value = serde_json::from_str(data).unwrap();
    assert_eq!(v["models"][0]["model"], "gpt-4o");
    let head = http::Request::head("/api/v1/live").body(()).unwrap();
    assert_eq!(
        modelmeter::http::handle(&monitor, &head).body(),
        "retry: 50\n"
    );
    let page = modelmeter::http::handle(&monitor, &http::Request::get("/").body(()).unwrap());
    assert!(page.body().contains("<title>modelmeter live</title>"));
}

/// A browser that stops reading loses its stream after `http::SEND_TIMEOUT` without
/// progress, and its slot serves someone else (Linux: accepted sockets inherit the
/// listener's send timeout).
#[cfg(target_os = "linux")]
#[test]
fn a_stalled_browser_frees_its_slot() {
    let (_clock, monitor) = monitor();
    // Many models make each snapshot tens of kilobytes, so unread ones fill the
    // socket buffers within a second.
    for i in 0..400 {
        let model = format!("model-with-a-long-name-{i:04}");
        let s = Selection::new(&model, Duration::from_millis(300));
        monitor.record_selection(&s).unwrap();
    }
    let endpoint = monitor.serve_http("127.0.0.1:0").unwrap();
    let addr = endpoint.local_addr();
    let started = std::time::Instant::now();
    let _stalled: Vec<Stream> = (0..modelmeter::http::MAX_CONNECTIONS)
        .map(|_| Stream::open_small(addr).0)
        .collect();
    assert!(Stream::open(addr).1.starts_with("HTTP/1.1 503"));
    let deadline = started + modelmeter::http::SEND_TIMEOUT * 3;
    let mut served = false;
    while !served && std::time::Instant::now() < deadline {
        served = Stream::open(addr).1.starts_with("HTTP/1.1 200");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        served,
        "no slot freed within {:?}",
        modelmeter::http::SEND_TIMEOUT * 3
    );
    eprintln!("a slot freed after {:?}", started.elapsed());
}

#[test]
fn http_1_0_clients_get_one_event_and_the_end() {
    // HTTP/1.0 has no chunked framing: the listener answers with one snapshot and a
    // `retry`, as for hosts mounting the routes, and the response ends.
    let (_clock, monitor) = monitor();
    let endpoint = monitor.serve_http("127.0.0.1:0").unwrap();
    let r = get(endpoint.local_addr(), "/api/v1/live");
    assert_eq!(r.status, 200);
    assert!(r.body.starts_with("retry: 50\n"), "{}", r.body);
    assert_eq!(r.body.matches("event: snapshot").count(), 1);
    assert_eq!(
        r.header("content-length")
            .map(|n| n.parse::<usize>().unwrap()),
        Some(r.body.len())
    );
}
