//! Mounting modelmeter's routes in a host's own axum server, instead of the built-in
//! listener: `/metrics`, `/healthz` and `/api/v1/*` answered by `modelmeter::http::handle`
//! beside the host's own routes.
//!
//! Run with `cargo run --example axum_mount --features http`; it serves on a free
//! loopback port, scrapes itself once, prints the reply's first lines and exits.

use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::routing::get;
use modelmeter::{Monitor, Selection};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Hands any request the host does not route itself to modelmeter.
async fn modelmeter_routes(
    State(monitor): State<Monitor>,
    request: Request,
) -> axum::response::Response {
    // Rendering is synchronous and takes about a millisecond for 100 models; a host
    // with many models can move it to `spawn_blocking`.
    let response = modelmeter::http::handle(&monitor, &request);
    response.map(axum::body::Body::from)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let monitor = Monitor::builder().build()?;
    for ms in [120, 340, 95, 2100] {
        monitor.record_selection(&Selection::new("gpt-4o", Duration::from_millis(ms)))?;
    }
    let app = Router::new()
        .route("/", get(|| async { "the host's own page" }))
        .fallback(modelmeter_routes)
        .with_state(monitor);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });

    let mut conn = tokio::net::TcpStream::connect(addr).await?;
    conn.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").await?;
    let mut reply = String::new();
    conn.read_to_string(&mut reply).await?;
    println!("GET http://{addr}/metrics");
    for line in reply.lines().take(8) {
        println!("  {line}");
    }
    assert!(reply.contains("modelmeter_selections_total{gen_ai_request_model=\"gpt-4o\"} 4"));
    Ok(())
}
