//! Watchlist resources: what the proactive scheduler watches for a user.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use uuid::Uuid;

use super::AppState;
use super::error::{ApiError, ErrorResponse, FieldError};
use super::json::{self, Valid};
use crate::scheduler::{WatchSpec, Watchlist};

mod wire;
pub use wire::*;

fn not_found() -> ApiError {
    ApiError::NotFound("Watchlist not found".into(), None)
}

/// A malformed id names no watchlist: 404, like an unknown one.
fn parse_id(raw: &str) -> Result<Uuid, ApiError> {
    raw.trim().parse().map_err(|_| not_found())
}

async fn respond(state: &AppState, watchlist: &Watchlist) -> Result<WatchlistResponse, ApiError> {
    let prices = match watchlist.spec {
        WatchSpec::Price(_) => state.scheduler.watchlists().prices(watchlist.id).await?,
        _ => HashMap::new(),
    };
    Ok(WatchlistResponse::new(watchlist, &prices))
}

/// Watch fares, a calendar or a budget for a user.
#[utoipa::path(post, path = "/v1/watchlists", tag = "watchlists", request_body = WatchlistRequest,
    responses(
        (status = 201, description = "Watchlist created", body = WatchlistResponse),
        (status = 422, description = "Unknown kind, unknown airport, malformed URL, negative money, …", body = ErrorResponse),
        (status = 503, description = "Watchlist store unavailable", body = ErrorResponse)),
    security((), ("bearer" = []), ("api_key" = [])))]
pub async fn create_watchlist(
    State(state): State<AppState>,
    Valid(req): Valid<NewWatchlist>,
) -> Result<(StatusCode, Json<WatchlistResponse>), ApiError> {
    let name = req.fields.name.clone().flatten();
    let active = req.fields.active;
    let spec = WatchSpec::new(req.kind, req.fields)?;
    let mut watchlist = Watchlist::new(req.user_id, name, spec);
    watchlist.active = active.unwrap_or(true);
    state.scheduler.watchlists().create(&watchlist).await?;
    tracing::info!(watchlist_id = %watchlist.id, user_id = %watchlist.user_id, kind = %watchlist.kind(), "watchlist created");
    Ok((
        StatusCode::CREATED,
        Json(respond(&state, &watchlist).await?),
    ))
}

/// A user's watchlists, oldest first.
#[utoipa::path(get, path = "/v1/watchlists", tag = "watchlists",
    params(("user_id" = String, Query, min_length = 1, max_length = 200, description = "Whose watchlists (trimmed; 1–200 characters, no control characters)")),
    responses(
        (status = 200, description = "OK", body = WatchlistListResponse),
        (status = 422, description = "Validation error; details.errors names each bad field", body = ErrorResponse), (status = 503, description = "A dependency (the job store) is unavailable; retry after Retry-After", body = ErrorResponse)),
    security((), ("bearer" = []), ("api_key" = [])))]
pub async fn list_watchlists(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<WatchlistListResponse>, ApiError> {
    let user_id = match params.get("user_id").map(|s| json::user_id(s)) {
        Some(Ok(id)) => id,
        Some(Err(reason)) => {
            return Err(ApiError::Validation(vec![FieldError::query(
                "user_id", reason,
            )]));
        }
        None => {
            return Err(ApiError::Validation(vec![FieldError::query(
                "user_id",
                "Field required",
            )]));
        }
    };
    let list = state.scheduler.watchlists().list_user(&user_id).await?;
    let mut watchlists = Vec::with_capacity(list.len());
    for watchlist in &list {
        watchlists.push(respond(&state, watchlist).await?);
    }
    Ok(Json(WatchlistListResponse { watchlists }))
}

/// One watchlist, with the last fare seen per route.
#[utoipa::path(get, path = "/v1/watchlists/{id}", tag = "watchlists",
    params(("id" = String, Path, description = "The watchlist id")),
    responses(
        (status = 200, description = "OK", body = WatchlistResponse),
        (status = 404, description = "Not found", body = ErrorResponse), (status = 503, description = "A dependency (the job store) is unavailable; retry after Retry-After", body = ErrorResponse)),
    security((), ("bearer" = []), ("api_key" = [])))]
pub async fn get_watchlist(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<WatchlistResponse>, ApiError> {
    let id = parse_id(&id)?;
    let watchlist = state
        .scheduler
        .watchlists()
        .get(id)
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(respond(&state, &watchlist).await?))
}

/// Change some of a watchlist's fields (e.g. `spent_usd` of a budget).
#[utoipa::path(patch, path = "/v1/watchlists/{id}", tag = "watchlists",
    params(("id" = String, Path, description = "The watchlist id")),
    request_body = WatchlistPatchRequest,
    responses(
        (status = 200, description = "OK", body = WatchlistResponse),
        (status = 404, description = "Not found", body = ErrorResponse),
        (status = 422, description = "Invalid value, or a field of another kind", body = ErrorResponse),
        (status = 503, description = "A dependency (the job store) is unavailable; retry after Retry-After", body = ErrorResponse)),
    security((), ("bearer" = []), ("api_key" = [])))]
pub async fn update_watchlist(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Valid(WatchlistPatch(fields)): Valid<WatchlistPatch>,
) -> Result<Json<WatchlistResponse>, ApiError> {
    let id = parse_id(&id)?;
    let watchlist = state
        .scheduler
        .watchlists()
        .update(id, &|w: &mut Watchlist| w.apply(&fields))
        .await?;
    Ok(Json(respond(&state, &watchlist).await?))
}

/// Stop watching and forget the watchlist.
#[utoipa::path(delete, path = "/v1/watchlists/{id}", tag = "watchlists",
    params(("id" = String, Path, description = "The watchlist id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "Not found", body = ErrorResponse), (status = 503, description = "A dependency (the job store) is unavailable; retry after Retry-After", body = ErrorResponse)),
    security((), ("bearer" = []), ("api_key" = [])))]
pub async fn delete_watchlist(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    if state.scheduler.watchlists().delete(id).await? {
        tracing::info!(watchlist_id = %id, "watchlist deleted");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found())
    }
}
