//! The routes, as one function from an `http::Request` to an `http::Response`: the
//! built-in listener calls it, and a host mounts it in its own server.

use std::time::Duration;

use http::{Method, Request, Response, StatusCode, header};
use serde::Serialize;

use crate::export::ExpositionFormat;
use crate::monitor::Monitor;

/// The longest window a query may ask for: the longest retention a monitor can have.
const MAX_WINDOW: Duration = Duration::from_secs(400 * 24 * 3600);

/// Answers one request for `monitor`.
///
/// | route | answer |
/// |---|---|
/// | `GET /` | the live dashboard: one page, no external assets, fed by `/api/v1/live` |
/// | `GET /api/v1/live` | Server-Sent Events, one `snapshot` event per `monitoring.liveInterval` from the built-in listener; from `handle` (and for HTTP/1.0 clients), the current snapshot as one event and a `retry` that makes the browser ask again each interval, built afresh for each request |
/// | `GET /metrics` | [`Monitor::render_metrics`], OpenMetrics or text by the `Accept` header |
/// | `GET /healthz` | [`Health`](crate::Health) as JSON |
/// | `GET /api/v1/summary?window=5m` | [`Summary`](crate::Summary) as JSON (window default 5m) |
/// | `GET /api/v1/alerts` | `{"active": [Alert], "incidents": [Incident]}` |
/// | `GET /api/v1/recommendations` | `[Recommendation]` |
/// | `GET /api/v1/reports/performance?window=24h` | [`PerformanceReport`](crate::PerformanceReport) (window default 24h) |
/// | `GET /api/v1/reports/cost?window=24h` | [`CostReport`](crate::CostReport) (window default 24h) |
/// | `GET /api/v1/scoreboard` | every model's [`ModelScore`](crate::ModelScore) (the first call starts the scoreboard's refresh, see [`Monitor::scoreboard`]) |
///
/// Windows are a number and a unit (`ms`, `s`, `m`, `h`, `d`), up to 400 days. A bad
/// query parameter is a `400` with a JSON `{"error": ...}` naming it; an unknown path a
/// `404`; a method other than `GET` or `HEAD` a `405`. Nothing panics on input.
///
/// Mounting it in an axum server (see the `axum_mount` example):
///
/// ```ignore
/// let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
///     let monitor = monitor.clone();
///     async move { modelmeter::http::handle(&monitor, &req) }
/// });
/// ```
pub fn handle<B>(monitor: &Monitor, request: &Request<B>) -> Response<String> {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let mut r = error(
            StatusCode::METHOD_NOT_ALLOWED,
            "only GET and HEAD are served",
        );
        r.headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let query = request.uri().query().unwrap_or("");
    match request.uri().path() {
        "/" => respond(
            StatusCode::OK,
            "text/html; charset=utf-8",
            super::DASHBOARD.to_owned(),
        ),
        "/api/v1/live" => {
            let interval = super::live::interval(monitor).as_millis();
            // A HEAD learns the headers without a payload being built.
            let event = if request.method() == Method::HEAD {
                String::new()
            } else {
                super::live::event(&super::live::Payloads::default().build(monitor))
            };
            let body = format!("retry: {interval}\n{event}");
            let mut r = respond(StatusCode::OK, "text/event-stream", body);
            r.headers_mut().insert(
                header::CACHE_CONTROL,
                header::HeaderValue::from_static("no-cache"),
            );
            r
        }
        "/metrics" => {
            let accept = request
                .headers()
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok());
            let format = ExpositionFormat::negotiate(accept);
            respond(
                StatusCode::OK,
                format.content_type(),
                monitor.render_metrics(format),
            )
        }
        "/healthz" => json(&monitor.health()),
        "/api/v1/summary" => match window(query, "5m") {
            Ok(w) => json(&monitor.summary(w)),
            Err(e) => error(StatusCode::BAD_REQUEST, &e),
        },
        "/api/v1/alerts" => {
            #[derive(Serialize)]
            struct Alerts {
                active: Vec<crate::Alert>,
                incidents: Vec<crate::Incident>,
            }
            json(&Alerts {
                active: monitor.active_alerts(),
                incidents: monitor.incidents(),
            })
        }
        "/api/v1/recommendations" => json(&monitor.recommendations()),
        "/api/v1/reports/performance" => match window(query, "24h") {
            Ok(w) => json(&monitor.performance_report(w)),
            Err(e) => error(StatusCode::BAD_REQUEST, &e),
        },
        "/api/v1/reports/cost" => match window(query, "24h") {
            Ok(w) => json(&monitor.cost_report(w)),
            Err(e) => error(StatusCode::BAD_REQUEST, &e),
        },
        "/api/v1/scoreboard" => {
            let scores: std::collections::BTreeMap<String, crate::ModelScore> = monitor
                .scoreboard()
                .iter()
                .map(|(m, s)| (m.to_string(), s))
                .collect();
            json(&scores)
        }
        path => error(StatusCode::NOT_FOUND, &format!("no route {path:?}")),
    }
}

/// The `window` query parameter, or `default`; other parameters are refused, so a
/// misspelt one is not silently ignored.
fn window(query: &str, default: &str) -> Result<Duration, String> {
    let mut found = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "window" => found = Some(value),
            other => {
                return Err(format!(
                    "unknown query parameter {other:?}; expected \"window\""
                ));
            }
        }
    }
    parse_window(found.unwrap_or(default))
}

/// A window such as `90s`, `5m`, `24h`, `7d` or `1500ms`.
pub(crate) fn parse_window(s: &str) -> Result<Duration, String> {
    let bad = || {
        format!(
            "window {s:?} must be a positive whole number with a unit (ms, s, m, h, d), such as 5m, up to 400d"
        )
    };
    let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (digits, unit) = s.split_at(split);
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let unit_ms: u64 = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(bad()),
    };
    let d = Duration::from_millis(n.checked_mul(unit_ms).ok_or_else(bad)?);
    if d.is_zero() || d > MAX_WINDOW {
        return Err(bad());
    }
    Ok(d)
}

fn respond(status: StatusCode, content_type: &str, body: String) -> Response<String> {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    if let Ok(v) = header::HeaderValue::from_str(content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r
}

fn json<T: Serialize>(value: &T) -> Response<String> {
    match serde_json::to_string(value) {
        Ok(body) => respond(StatusCode::OK, "application/json", body),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

pub(crate) fn bad_request(message: &str) -> Response<String> {
    error(StatusCode::BAD_REQUEST, message)
}

pub(crate) fn unavailable() -> Response<String> {
    error(StatusCode::SERVICE_UNAVAILABLE, "the monitor has shut down")
}

fn error(status: StatusCode, message: &str) -> Response<String> {
    let body = serde_json::json!({ "error": message }).to_string();
    respond(status, "application/json", body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_parse_with_units_and_refuse_the_rest() {
        assert_eq!(parse_window("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_window("1500ms"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_window("7d"), Ok(Duration::from_secs(7 * 86_400)));
        for bad in [
            "",
            "5",
            "m",
            "0m",
            "-5m",
            "5 m",
            "5mm",
            "401d",
            "99999999999999999999d",
            "1.5h",
            "５m",
        ] {
            let e = parse_window(bad).unwrap_err();
            assert!(e.contains(&format!("{bad:?}")), "{bad}: {e}");
        }
    }

    #[test]
    fn unknown_parameters_are_refused() {
        assert!(window("windw=5m", "5m").unwrap_err().contains("windw"));
        assert_eq!(window("", "5m"), Ok(Duration::from_secs(300)));
    }
}
