//! An HTTP endpoint for scrapes and queries, with no async runtime (feature `http`).
//!
//! [`Monitor::serve_http`] starts a listener on its own threads, like
//! metrics-exporter-prometheus's HTTP listener: point Prometheus at `/metrics` and it
//! negotiates OpenMetrics; JSON routes answer summaries, alerts, recommendations and
//! reports. [`handle`] is the same routing as a plain function from an `http::Request`
//! to an `http::Response`, for hosts that already run axum, hyper or another server.
//!
//! ```no_run
//! use modelmeter::Monitor;
//!
//! let monitor = Monitor::builder().build()?;
//! let endpoint = monitor.serve_http("0.0.0.0:9464")?;
//! println!("scrape http://{}/metrics", endpoint.local_addr());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod live;
mod routes;

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::thread::JoinHandle;

pub use routes::handle;

use crate::monitor::{Monitor, WeakMonitor};

/// The live dashboard page served at `/`.
const DASHBOARD: &str = include_str!("dashboard.html");

pub use live::{MAX_CONNECTIONS, MIN_INTERVAL, SPARK_MINUTES};

/// How long a write to a client may make no progress before it fails: a browser that
/// stops reading a live stream frees its thread and its connection slot after this
/// (Linux, where accepted sockets inherit the listener's send timeout).
pub const SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Threads answering requests; two, so one slow client does not hold up a scrape.
const WORKERS: usize = 2;

/// Why the endpoint could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// The address to listen on did not resolve to any socket address.
    #[error("cannot resolve the address to listen on: {message}")]
    Resolve {
        /// The resolver's reason.
        message: String,
    },
    /// Binding the listener failed (address in use, permission denied, ...).
    #[error("cannot listen on {addr}: {message}")]
    Bind {
        /// The address tried.
        addr: SocketAddr,
        /// The operating system's reason.
        message: String,
    },
    /// A worker thread could not be started.
    #[error("cannot start an HTTP worker thread")]
    Spawn(#[source] std::io::Error),
}

/// A running HTTP endpoint, from [`Monitor::serve_http`]. Dropping it stops the
/// listener and joins its threads.
///
/// It holds the monitor weakly: when the host drops its last [`Monitor`], the monitor
/// flushes and shuts down as usual, and the endpoint answers `503` from then on.
pub struct HttpEndpoint {
    server: Arc<tiny_http::Server>,
    live: Arc<live::LiveFeed>,
    addr: SocketAddr,
    workers: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for HttpEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpEndpoint")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl HttpEndpoint {
    pub(crate) fn start(monitor: &Monitor, addr: impl ToSocketAddrs) -> Result<Self, HttpError> {
        let addrs: Vec<SocketAddr> = addr
            .to_socket_addrs()
            .map_err(|e| HttpError::Resolve {
                message: e.to_string(),
            })?
            .collect();
        let first = *addrs.first().ok_or_else(|| HttpError::Resolve {
            message: "it resolved to no address".into(),
        })?;
        let bind_error = |message: String| HttpError::Bind {
            addr: first,
            message,
        };
        let listener =
            std::net::TcpListener::bind(&addrs[..]).map_err(|e| bind_error(e.to_string()))?;
        #[cfg(target_os = "linux")]
        rustix::net::sockopt::set_socket_timeout(
            &listener,
            rustix::net::sockopt::Timeout::Send,
            Some(SEND_TIMEOUT),
        )
        .map_err(|e| bind_error(format!("cannot set the send timeout: {e}")))?;
        let server = tiny_http::Server::from_listener(listener, None)
            .map_err(|e| bind_error(e.to_string()))?;
        let addr = server.server_addr().to_ip().unwrap_or(first);
        let server = Arc::new(server);
        let live = Arc::new(live::LiveFeed::default());
        let mut workers = Vec::with_capacity(WORKERS);
        for i in 0..WORKERS {
            let (shared, weak, feed) = (server.clone(), monitor.downgrade(), live.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("modelmeter-http-{i}"))
                .spawn(move || serve(&shared, &weak, &feed));
            match spawned {
                Ok(h) => workers.push(h),
                Err(e) => {
                    server.unblock();
                    return Err(HttpError::Spawn(e));
                }
            }
        }
        Ok(Self {
            server,
            live,
            addr,
            workers,
        })
    }

    /// The address the listener is bound to (with the port the system chose for `:0`).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for HttpEndpoint {
    fn drop(&mut self) {
        // Live connections end at their next wake-up; one blocked writing to a
        // stalled browser ends when the write fails, so they are not joined.
        self.live.close();
        for _ in 0..self.workers.len() {
            self.server.unblock();
        }
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

/// Answers requests until the server is unblocked; live dashboard connections get a
/// thread of their own, so they never hold up a scrape.
fn serve(server: &tiny_http::Server, monitor: &WeakMonitor, live: &Arc<live::LiveFeed>) {
    while let Ok(request) = server.recv() {
        if request.method() == &tiny_http::Method::Get
            && request.url().split('?').next() == Some("/api/v1/live")
            && request.http_version() >= &tiny_http::HTTPVersion(1, 1)
            && monitor.upgrade().is_some()
        {
            live.serve(request, monitor);
            continue;
        }
        let response = match monitor.upgrade() {
            Some(monitor) => match to_http(&request) {
                Some(req) => handle(&monitor, &req),
                None => routes::bad_request("malformed request line or headers"),
            },
            None => routes::unavailable(),
        };
        let head = request.method() == &tiny_http::Method::Head;
        let _ = request.respond(from_http(response, head));
    }
}

/// The request line and headers as an `http::Request` (the routes read no body).
fn to_http(r: &tiny_http::Request) -> Option<http::Request<()>> {
    let mut b = http::Request::builder()
        .method(r.method().as_str())
        .uri(r.url());
    for h in r.headers() {
        b = b.header(h.field.as_str().as_str(), h.value.as_str());
    }
    b.body(()).ok()
}

fn from_http(
    r: http::Response<String>,
    head: bool,
) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    let status = r.status().as_u16();
    let headers: Vec<tiny_http::Header> = r
        .headers()
        .iter()
        .filter_map(|(k, v)| tiny_http::Header::from_bytes(k.as_str(), v.as_bytes()).ok())
        .collect();
    let body = if head {
        Vec::new()
    } else {
        r.into_body().into_bytes()
    };
    let len = body.len();
    tiny_http::Response::new(
        tiny_http::StatusCode(status),
        headers,
        std::io::Cursor::new(body),
        Some(len),
        None,
    )
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use rustix::net::sockopt::{Timeout, set_socket_timeout, socket_timeout};

    #[test]
    fn accepted_sockets_inherit_the_send_timeout() {
        // What the endpoint relies on to free a stalled browser's thread.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        set_socket_timeout(&listener, Timeout::Send, Some(super::SEND_TIMEOUT)).unwrap();
        let _client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (accepted, _) = listener.accept().unwrap();
        assert_eq!(
            socket_timeout(&accepted, Timeout::Send).unwrap(),
            Some(super::SEND_TIMEOUT)
        );
    }
}
