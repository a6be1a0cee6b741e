//! Service endpoints: root, health, metrics.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use super::AppState;
use super::dto::{HealthResponse, RootResponse, ServicesHealth, Timestamp};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// No probe may hold `/health` longer than this, whatever a dependency does.
const PROBE_TIMEOUT: Duration = Duration::from_millis(1_000);

/// Service name, version and where the docs are.
#[utoipa::path(get, path = "/", tag = "service", responses((status = 200, body = RootResponse)))]
pub async fn root() -> Json<RootResponse> {
    Json(RootResponse {
        message: "Travel Lotara AI Backend".into(),
        version: VERSION.into(),
        docs: "/api/docs".into(),
        health: "/health".into(),
    })
}

async fn probe_store(state: &AppState) -> String {
    if state.store.backend() != "redis" {
        return "not_configured".into();
    }
    match tokio::time::timeout(PROBE_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => "healthy".into(),
        Ok(Err(e)) => format!("unhealthy: {e}"),
        Err(_) => format!("unhealthy: no answer within {PROBE_TIMEOUT:?}"),
    }
}

/// Health of the service and each dependency; `degraded` when a configured one is unhealthy.
#[utoipa::path(get, path = "/health", tag = "service", responses((status = 200, body = HealthResponse)))]
pub async fn health(State(state): State<AppState>) -> Json<HealthResponse> {
    let services = ServicesHealth {
        redis: probe_store(&state).await,
        opik: "not_configured".into(),
        llm: match &state.llm {
            None => "not_configured".into(),
            Some(llm) => match tokio::time::timeout(PROBE_TIMEOUT, llm.probe()).await {
                Ok(Ok(())) => "healthy".into(),
                Ok(Err(e)) => format!("unhealthy: {e}"),
                Err(_) => format!("unhealthy: no answer within {PROBE_TIMEOUT:?}"),
            },
        },
    };
    let degraded = [&services.redis, &services.opik, &services.llm]
        .iter()
        .any(|s| s.starts_with("unhealthy"));
    Json(HealthResponse {
        status: if degraded { "degraded" } else { "healthy" }.into(),
        timestamp: Timestamp::now(),
        version: VERSION.into(),
        services,
    })
}

/// Prometheus metrics in text format.
#[utoipa::path(get, path = "/metrics", tag = "service",
    responses((status = 200, description = "Prometheus text exposition format", content_type = "text/plain", body = String)))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    if let Ok(Ok(depth)) = tokio::time::timeout(PROBE_TIMEOUT, state.store.queue_depth()).await {
        metrics::gauge!("lotara_queue_depth").set(depth as f64);
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
