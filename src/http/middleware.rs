//! Cross-cutting request handling: API keys, request timeout, head limits,
//! JSON errors, metrics.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use axum::body::HttpBody;
use futures::StreamExt;

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::AppState;
use super::error::ApiError;
use crate::knowledge::fnv1a;

fn presented_key(req: &Request) -> Option<&str> {
    let headers = req.headers();
    if let Some(key) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Some(key.trim());
    }
    let auth = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = auth.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// With `API_KEYS` set, requires one of them. Every configured key is
/// compared in constant time, so timing tells nothing about a near miss.
pub async fn require_api_key(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let keys = &state.config.api_keys;
    if keys.is_empty() {
        return next.run(req).await;
    }
    let presented = presented_key(&req).unwrap_or("").as_bytes();
    let valid = keys.iter().fold(subtle::Choice::from(0), |found, key| {
        found | key.expose().as_bytes().ct_eq(presented)
    });
    if bool::from(valid) && !presented.is_empty() {
        next.run(req).await
    } else {
        ApiError::Unauthorized.into_response()
    }
}

/// With `RATE_LIMIT_PER_MINUTE` set, counts each client's requests (by API
/// key when one is sent, else by address) in a one-minute window shared by
/// every replica through the store. If the store cannot count, the request
/// passes: an outage of the counter is no reason to refuse work.
pub async fn rate_limit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
    next: Next,
) -> Response {
    let limit = state.config.rate_limit_per_minute;
    if limit == 0 {
        return next.run(req).await;
    }
    let client = match presented_key(&req) {
        // The key itself is not stored: a short digest identifies it.
        Some(key) => format!("key:{:016x}", fnv1a(key.as_bytes())),
        None => format!("ip:{}", peer.ip()),
    };
    match state
        .limiter
        .count_request(&client, Duration::from_secs(60))
        .await
    {
        Ok((count, left)) if count > limit => {
            ApiError::RateLimited(left.as_secs().max(1)).into_response()
        }
        Ok(_) => next.run(req).await,
        Err(e) => {
            tracing::warn!(error = %e, "rate limit not checked: store unavailable");
            next.run(req).await
        }
    }
}

/// Ends a non-streaming request that runs past `REQUEST_TIMEOUT_SECS` with a
/// JSON 503 instead of holding the connection.
pub async fn request_timeout(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limit = state.config.request_timeout;
    // Whether the body has been read to its end: when time runs out before
    // that, the client was too slow (408), not the service (503).
    let body_done = Arc::new(AtomicBool::new(req.body().is_end_stream()));
    let req = {
        let done = body_done.clone();
        req.map(|body| {
            let end = futures::stream::once(async move {
                done.store(true, Ordering::Release);
                None
            });
            let data = body.into_data_stream().map(Some).chain(end);
            axum::body::Body::from_stream(data.filter_map(futures::future::ready))
        })
    };
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) if !body_done.load(Ordering::Acquire) => ApiError::RequestTimeout.into_response(),
        Err(_) => {
            ApiError::ServiceUnavailable(format!("The request did not complete within {limit:?}"))
                .into_response()
        }
    }
}

/// The longest request URI (path and query) answered; longer gets a JSON 414.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// The most header bytes (names, values and separators) and header lines
/// a request may carry; more gets a JSON 431.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;
pub const MAX_HEADERS: usize = 100;

/// Oversized request heads get the JSON `ErrorResponse` (414, 431). hyper
/// refuses a head past its own limits by itself, with a bare status line,
/// so those limits are set well above these (see `server.rs`): every head
/// up to hyper's is answered here.
pub async fn head_limits(req: Request, next: Next) -> Response {
    let uri = req.uri();
    let uri_bytes = uri.authority().map_or(0, |a| a.as_str().len())
        + uri.path_and_query().map_or(0, |p| p.as_str().len());
    if uri_bytes > MAX_URI_BYTES {
        return ApiError::UriTooLong(MAX_URI_BYTES).into_response();
    }
    let headers = req.headers();
    if headers.len() > MAX_HEADERS {
        return ApiError::HeadersTooLarge(format!("{MAX_HEADERS} fields")).into_response();
    }
    let header_bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if header_bytes > MAX_HEADER_BYTES {
        return ApiError::HeadersTooLarge(format!("{MAX_HEADER_BYTES} bytes")).into_response();
    }
    next.run(req).await
}

/// Rejections the framework writes itself (a path parameter that is not
/// UTF-8, such as `%FF`; a repeated or malformed query parameter; a body it
/// could not read) are plain text: they leave as the JSON `ErrorResponse`
/// like every other error, with the same status.
pub async fn json_errors(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    // The framework's messages are one short line; more is not read.
    let text = match axum::body::to_bytes(response.into_body(), 4096).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_string(),
        Err(_) => String::new(),
    };
    ApiError::Framework { status, text }.into_response()
}

/// Requests by route and status, and their latency.
pub async fn record_metrics(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = req.method().to_string();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("lotara_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("lotara_http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}
