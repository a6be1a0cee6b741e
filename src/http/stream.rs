//! `GET /v1/stream/{job_id}`: a job's events over Server-Sent Events.
//!
//! The first frame is a snapshot (`state_change` with the current status and
//! stage, and `approval_data` while the job waits for approval; no id,
//! carrying `retry:`). A reconnect whose `Last-Event-ID` is at or past a
//! finished job's last event gets 204, which stops an `EventSource`. Then every logged event after the
//! client's `Last-Event-ID`, then live ones, each with its id, through
//! `jobs::follow` (no Redis connection per client: the process's hub feeds
//! it). The stream ends after the event that makes the job terminal, or at
//! once for a job that already ended. A client going away only drops its
//! subscription; the job never notices.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::stream::{self, BoxStream, StreamExt};
use serde::Deserialize;
use serde_json::json;
use tokio_stream::wrappers::IntervalStream;

use super::AppState;
use super::error::{ApiError, ErrorResponse, FieldError};
use super::jobs::parse_job_id;
use crate::jobs::{self, Event, EventId, JobStatus, StoreError};

mod events;
pub use events::*;

/// How long a browser waits before reconnecting.
const RETRY: Duration = Duration::from_secs(3);

#[derive(Debug, Deserialize)]
pub struct StreamParams {
    last_event_id: Option<String>,
}

/// Counts open streams for `/metrics`; decremented however the stream ends.
struct OpenStream;

impl OpenStream {
    fn new() -> Self {
        metrics::gauge!("lotara_sse_streams_open").increment(1.0);
        Self
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        metrics::gauge!("lotara_sse_streams_open").decrement(1.0);
    }
}

/// The event's SSE frame: `id:`, `event:`, one `data:` line per line of
/// data, a blank line. Encoded once per event per process, however many
/// streams send it (`Event::encoded`). An event that is not logged
/// (`agent_progress`) has no `id:`, so a browser's `Last-Event-ID` stays at
/// the last logged event and a reconnect resumes from there.
fn sse_frame(event: &Event) -> Bytes {
    event.encoded(|event| {
        let mut frame = match event.kind.is_logged() {
            true => format!("id: {}\nevent: {}\n", event.id, event.kind.as_str()),
            false => format!("event: {}\n", event.kind.as_str()),
        };
        for line in event.data.split('\n') {
            frame.push_str("data: ");
            frame.push_str(line);
            frame.push('\n');
        }
        frame.push('\n');
        Bytes::from(frame)
    })
}

fn last_event_id(headers: &HeaderMap, params: &StreamParams) -> Result<Option<EventId>, ApiError> {
    let (raw, location) = match headers.get("last-event-id") {
        Some(v) => (v.to_str().ok().map(str::to_string), "header"),
        None => (params.last_event_id.clone(), "query"),
    };
    match raw.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(raw) => raw.parse().map(Some).map_err(|reason: String| {
            ApiError::Validation(vec![FieldError {
                location: location.into(),
                field: "last_event_id".into(),
                reason,
            }])
        }),
    }
}

/// Stream a job's progress as Server-Sent Events.
#[utoipa::path(get, path = "/v1/stream/{job_id}", tag = "jobs",
    params(
        ("job_id" = String, Path, description = "The job id"),
        ("last_event_id" = Option<String>, Query, description = "Resume after this event id (or send the Last-Event-ID header)")),
    responses(
        (status = 200, description = "`text/event-stream`: per event an `id:`, an `event:` (state_change, task_start, task_complete, agent_output, agent_progress, validation_result, error, complete) and its one-line JSON `data:`, whose schema `StreamEvents` names for each event; `agent_progress` alone has no `id:` (live only, never replayed)", content_type = "text/event-stream", body = String),
        (status = 204, description = "The job has ended and `Last-Event-ID` is at or past its last event: nothing more will come (browsers stop reconnecting)"),
        (status = 404, description = "Not found", body = ErrorResponse), (status = 422, description = "Validation error; details.errors names each bad field", body = ErrorResponse), (status = 503, description = "A dependency (the job store) is unavailable; retry after Retry-After", body = ErrorResponse)))]
pub async fn stream_job(
    State(state): State<AppState>,
    Path(job_id): Path<String>,
    Query(params): Query<StreamParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = parse_job_id(&job_id)?;
    let mut after = last_event_id(&headers, &params)?;
    let job = state
        .store
        .get(id)
        .await?
        .ok_or_else(|| ApiError::job_not_found(id))?;

    // A finished job's log is complete: replay it and stop. Otherwise follow
    // it live until its terminal event.
    let events: BoxStream<'static, Result<Arc<Event>, StoreError>> = if job.status.is_terminal() {
        let logged = state.store.events_after(id, after).await?;
        if logged.is_empty() && after.is_some() {
            // The client saw the end (or names an id past it): 204 is what
            // makes a browser's EventSource stop reconnecting.
            return Ok(StatusCode::NO_CONTENT.into_response());
        }
        stream::iter(logged.into_iter().map(|e| Ok(Arc::new(e)))).boxed()
    } else {
        if let Some(resume) = after {
            // An id past the log (from the future, or another job's) would
            // skip the terminal event and hold the stream open for ever:
            // such a client starts from the beginning instead.
            let logged = state.store.events_after(id, None).await?;
            if logged.last().is_none_or(|last| resume > last.id) {
                after = None;
            }
        }
        jobs::follow(state.store.clone(), id, after).boxed()
    };
    let mut first = json!({ "status": job.status, "current_state": job.stage });
    if job.status == JobStatus::WaitingApproval
        && let Some(approval) = &job.approval
    {
        // A frontend joining a paused job can show the approval at once.
        first["approval_data"] = approval.data.clone();
    }
    let snapshot = format!(
        "event: state_change\ndata: {first}\nretry: {}\n\n",
        RETRY.as_millis()
    );
    // Ends right after the terminal event, without waiting on the source
    // again (a live source would never yield another item). `None` marks
    // the end for the keep-alive merge below.
    let open = OpenStream::new();
    let frames = stream::unfold(
        (events, false, open),
        move |(mut events, ended, open)| async move {
            if ended {
                return None;
            }
            match events.next().await? {
                Ok(event) => {
                    let ends = event.ends_stream();
                    Some((Some(sse_frame(&event)), (events, ends, open)))
                }
                Err(e) => {
                    // The client reconnects with its last id once we recover.
                    tracing::warn!(job_id = %id, error = %e, "stream ended: store unavailable");
                    None
                }
            }
        },
    )
    .take_until(state.shutdown.clone().cancelled_owned())
    .chain(stream::once(futures::future::ready(None)));
    let every = state.config.sse_keepalive;
    let keep_alive = IntervalStream::new(tokio::time::interval_at(
        tokio::time::Instant::now() + every,
        every,
    ))
    .map(|_| Some(Bytes::from_static(b": keep-alive\n\n")));
    let body = stream::once(futures::future::ready(Bytes::from(snapshot))).chain(
        stream::select(frames, keep_alive)
            .take_while(|frame| futures::future::ready(frame.is_some()))
            .filter_map(futures::future::ready),
    );
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .header(
            HeaderName::from_static("x-accel-buffering"),
            HeaderValue::from_static("no"),
        )
        .body(Body::from_stream(body.map(Ok::<_, Infallible>)))
        .map_err(|e| ApiError::Internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::EventKind;

    #[test]
    fn an_event_frames_as_id_event_and_one_data_line_per_line() {
        let id: EventId = "1700000000000-5".parse().unwrap();
        let event = Event::new(id, uuid::Uuid::nil(), EventKind::TaskStart, "a\nb".into());
        assert_eq!(
            sse_frame(&event),
            "id: 1700000000000-5\nevent: task_start\ndata: a\ndata: b\n\n"
        );
        let progress = Event::new(
            EventId::ZERO,
            uuid::Uuid::nil(),
            EventKind::AgentProgress,
            r#"{"agent":"hotel_agent","tokens":12}"#.into(),
        );
        assert_eq!(
            sse_frame(&progress),
            "event: agent_progress\ndata: {\"agent\":\"hotel_agent\",\"tokens\":12}\n\n"
        );
    }
}
