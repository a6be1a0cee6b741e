//! Service endpoints: root, health, metrics.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use super::error::Timestamp;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// No probe may hold `/health` longer than this, whatever a dependency does.
const PROBE_TIMEOUT: Duration = Duration::from_millis(1_000);

/// Service name, version and where the docs are.
#[utoipa::path(get, path = "/", tag = "service", responses((status = 200, description = "OK", body = RootResponse)))]
pub async fn root() -> Json<RootResponse> {
    Json(RootResponse {
        message: "Travel Lotara AI Backend".into(),
        version: VERSION.into(),
        docs: "/api/docs".into(),
        health: "/health".into(),
    })
}

/// A probe's answer as `/health` reports it.
fn verdict(result: Result<Result<(), String>, tokio::time::error::Elapsed>) -> String {
    match result {
        Ok(Ok(())) => "healthy".into(),
        Ok(Err(e)) => format!("unhealthy: {e}"),
        Err(_) => format!("unhealthy: no answer within {PROBE_TIMEOUT:?}"),
    }
}

async fn probe_store(state: &AppState) -> String {
    if state.health.backend() != "redis" {
        return "not_configured".into();
    }
    let ping = async { state.health.ping().await.map_err(|e| e.to_string()) };
    verdict(tokio::time::timeout(PROBE_TIMEOUT, ping).await)
}

/// The LLM is healthy only when its server serves the configured model;
/// the detail says which model, how long asking took and how it was checked.
async fn probe_llm(state: &AppState) -> (String, Option<LlmProbe>) {
    let Some(llm) = &state.llm else {
        return ("not_configured".into(), None);
    };
    let started = std::time::Instant::now();
    let result = tokio::time::timeout(PROBE_TIMEOUT, llm.probe()).await;
    let detail = LlmProbe {
        model: llm.model().to_string(),
        latency_ms: started.elapsed().as_millis() as u64,
        checked_by: match &result {
            Ok(Ok(probe)) => Some(probe.method.to_string()),
            _ => None,
        },
    };
    (verdict(result.map(|r| r.map(|_| ()))), Some(detail))
}

async fn probe_opik(state: &AppState) -> String {
    // The ping has its own, shorter timeout; this one is the backstop.
    let probe = state
        .tracer
        .probe(PROBE_TIMEOUT - Duration::from_millis(200));
    match tokio::time::timeout(PROBE_TIMEOUT, probe).await {
        Ok(None) => "not_configured".into(),
        Ok(Some(result)) => verdict(Ok(result)),
        Err(elapsed) => verdict(Err(elapsed)),
    }
}

/// Health of the service and each dependency; `degraded` when a configured
/// one is unhealthy. The probes run at once, so the answer takes as long as
/// the slowest, never their sum.
#[utoipa::path(get, path = "/health", tag = "service", responses((status = 200, description = "OK", body = HealthResponse)))]
pub async fn health(State(state): State<AppState>) -> Json<HealthResponse> {
    let (redis, opik, (llm, llm_probe)) =
        tokio::join!(probe_store(&state), probe_opik(&state), probe_llm(&state));
    let services = ServicesHealth { redis, opik, llm };
    let degraded = [&services.redis, &services.opik, &services.llm]
        .iter()
        .any(|s| s.starts_with("unhealthy"));
    Json(HealthResponse {
        status: if degraded { "degraded" } else { "healthy" }.into(),
        timestamp: Timestamp::now(),
        version: VERSION.into(),
        services,
        llm_probe,
    })
}

/// Prometheus metrics in text format.
#[utoipa::path(get, path = "/metrics", tag = "service",
    responses((status = 200, description = "Prometheus text exposition format", content_type = "text/plain", body = String)))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    if let Ok(Ok(depth)) = tokio::time::timeout(PROBE_TIMEOUT, state.health.queue_depth()).await {
        metrics::gauge!("lotara_queue_depth").set(depth as f64);
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ServicesHealth {
    /// `healthy`, `unhealthy: <reason>` or `not_configured`.
    pub redis: String,
    pub opik: String,
    pub llm: String,
}

/// How the configured model was probed for `/health`.
#[derive(Debug, Serialize, ToSchema)]
pub struct LlmProbe {
    /// `LLM_MODEL`.
    pub model: String,
    /// How long the probe took, answered or not.
    pub latency_ms: u64,
    /// `models` (`GET /models` lists the model) or `completion` (a 1-token
    /// completion answered); null when the probe failed.
    pub checked_by: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "status": "healthy", "timestamp": "2026-01-20T10:00:00.123Z", "version": "0.1.0",
    "services": {"redis": "healthy", "opik": "not_configured", "llm": "healthy"},
    "llm_probe": {"model": "gpt-4o-mini", "latency_ms": 212, "checked_by": "models"}
}))]
pub struct HealthResponse {
    /// `healthy`, or `degraded` when a configured dependency is unhealthy.
    pub status: String,
    pub timestamp: Timestamp,
    pub version: String,
    pub services: ServicesHealth,
    /// The LLM probe's detail; null when no LLM is configured.
    pub llm_probe: Option<LlmProbe>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"message": "Travel Lotara AI Backend", "version": "0.1.0", "docs": "/api/docs", "health": "/health"}))]
pub struct RootResponse {
    pub message: String,
    pub version: String,
    pub docs: String,
    pub health: String,
}
