//! HTTP: translates requests into calls on `jobs` (and later `workflow`),
//! and results into the wire types of INTEGRATION.md. One file per resource.

mod actions;
mod console;
mod destinations;
pub mod docs;
pub mod error;
mod jobs;
mod json;
mod middleware;
mod operator;
mod scheduler;
pub mod server;
mod service;
mod stream;
mod watchlists;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Request};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{get, post};
use metrics_exporter_prometheus::PrometheusHandle;
use tokio_util::sync::CancellationToken;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::cors::{AllowHeaders, AllowMethods, AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::config::Config;
use crate::jobs::{JobStore, RateLimiter, StoreHealth};
use crate::llm::LlmClient;
use crate::observability::Tracer;
use crate::scheduler::Scheduler;

pub use jobs::ReadCache;
pub use service::VERSION;

/// What every handler may use; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn JobStore>,
    /// Counts requests per client for `RATE_LIMIT_PER_MINUTE`.
    pub limiter: Arc<dyn RateLimiter>,
    /// What `/health` and `/metrics` report of the store.
    pub health: Arc<dyn StoreHealth>,
    pub llm: Option<Arc<LlmClient>>,
    /// Where jobs' traces and feedback scores go (a no-op without Opik).
    pub tracer: Tracer,
    /// Watchlists and the monitors (the cron schedules run apart from HTTP).
    pub scheduler: Arc<Scheduler>,
    pub config: Arc<Config>,
    pub metrics: PrometheusHandle,
    /// Cancelled when the service shuts down: open streams end cleanly.
    pub shutdown: CancellationToken,
    /// Rendered statuses and list pages, reused while the job's version holds.
    pub reads: Arc<ReadCache>,
}

pub fn router(state: AppState) -> Router {
    let protected = Router::new()
        .route("/v1/plan", post(jobs::create_plan))
        .route("/v1/suggest", post(jobs::create_suggestion))
        .route("/v1/status/{job_id}", get(jobs::job_status))
        .route("/v1/jobs", get(jobs::list_jobs))
        .route("/v1/jobs/{job_id}/cancel", post(jobs::cancel_job))
        .route("/v1/approve", post(actions::approve))
        .route("/v1/feedback", post(actions::submit_feedback))
        .route(
            "/v1/watchlists",
            post(watchlists::create_watchlist).get(watchlists::list_watchlists),
        )
        .route(
            "/v1/watchlists/{id}",
            get(watchlists::get_watchlist)
                .patch(watchlists::update_watchlist)
                .delete(watchlists::delete_watchlist),
        )
        .route("/v1/scheduler/{task}/run", post(scheduler::run_task))
        .route("/v1/operator/jobs", get(operator::list_jobs))
        .route("/v1/destinations", get(destinations::list_destinations))
        // Layers run last-added first: the key is checked, then counted.
        .route_layer(from_fn_with_state(state.clone(), middleware::rate_limit))
        .route_layer(from_fn_with_state(
            state.clone(),
            middleware::require_api_key,
        ));
    let bounded = protected
        .route("/", get(service::root))
        .route("/health", get(service::health))
        .route("/metrics", get(service::metrics))
        .merge(docs::swagger())
        .merge(console::routes())
        .layer(from_fn_with_state(
            state.clone(),
            middleware::request_timeout,
        ));
    // Streams are long-lived by design: no request timeout, no compression.
    let streaming = Router::new().route("/v1/stream/{job_id}", get(stream::stream_job));

    let compression = CompressionLayer::new().gzip(true).compress_when(
        SizeAbove::new(1000)
            .and(NotForContentType::SSE)
            .and(NotForContentType::IMAGES)
            .and(NotForContentType::GRPC),
    );
    let request_id = HeaderName::from_static("x-request-id");
    bounded
        .merge(streaming)
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(compression)
        .layer(from_fn(middleware::head_limits))
        .layer(cors(&state.config))
        .layer(from_fn(middleware::json_errors))
        .layer(from_fn(middleware::record_metrics))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<_>| {
                    let id = req
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state)
}

/// Allowed origins get credentials and any method or header; others get no
/// CORS headers at all. `*` (config allows it only alone) admits every
/// origin without credentials: browsers refuse credentials with a wildcard.
fn cors(config: &Config) -> CorsLayer {
    let any = config.cors_origins.iter().any(|o| o == "*");
    let origins: Vec<HeaderValue> = config
        .cors_origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(if any {
            AllowOrigin::any()
        } else {
            AllowOrigin::list(origins)
        })
        .allow_credentials(!any)
        .allow_methods(AllowMethods::mirror_request())
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers([
            HeaderName::from_static("x-request-id"),
            HeaderName::from_static("idempotent-replayed"),
            HeaderName::from_static("retry-after"),
            HeaderName::from_static("etag"),
        ])
        .max_age(std::time::Duration::from_secs(600))
}
