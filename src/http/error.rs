//! The API's one error type. Every failure, from any layer, leaves as the JSON
//! `ErrorResponse` of INTEGRATION.md with a stable `error` code; handlers use `?`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Serialize, Serializer};
use serde_json::{Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::jobs::{ApplyError, Refusal, StoreError};
use crate::scheduler::watchlist::Invalid;
use crate::scheduler::{UpdateError, WatchStoreError};

/// One invalid field: where it is, and why.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// `body`, `query`, `path` or `header`.
    pub location: String,
    /// The field, dotted for nested ones (`constraints.budget_usd`).
    pub field: String,
    pub reason: String,
}

impl FieldError {
    pub fn body(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            location: "body".into(),
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub fn path(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            location: "path".into(),
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub fn query(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            location: "query".into(),
            field: field.into(),
            reason: reason.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("Request validation failed")]
    Validation(Vec<FieldError>),
    #[error("{message}")]
    BadRequest {
        message: String,
        job_id: Option<Uuid>,
    },
    #[error("{0}")]
    NotFound(String, Option<Uuid>),
    #[error("Method not allowed")]
    MethodNotAllowed,
    #[error("{message}")]
    Conflict {
        message: String,
        job_id: Option<Uuid>,
    },
    #[error("Request body exceeds the size limit")]
    PayloadTooLarge,
    #[error("The request body did not arrive in time")]
    RequestTimeout,
    #[error("The request URI is longer than {0} bytes")]
    UriTooLong(usize),
    #[error("The request headers exceed {0}")]
    HeadersTooLarge(String),
    #[error("Content-Type must be application/json")]
    UnsupportedMediaType,
    #[error("Missing or invalid API key")]
    Unauthorized,
    #[error("Too many requests; retry after {0} s")]
    RateLimited(u64),
    #[error("{0}")]
    ServiceUnavailable(String),
    /// The cause is logged, never sent.
    #[error("Internal server error")]
    Internal(String),
    /// A rejection the framework wrote as plain text, re-sent as JSON with
    /// its status (see `middleware::json_errors`).
    #[error("{}", framework_message(*.status, .text))]
    Framework { status: StatusCode, text: String },
}

impl ApiError {
    pub fn job_not_found(id: Uuid) -> Self {
        Self::NotFound("Job not found".into(), Some(id))
    }

    fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Validation(_) => (StatusCode::UNPROCESSABLE_ENTITY, "ValidationError"),
            Self::BadRequest { .. } => (StatusCode::BAD_REQUEST, "BadRequest"),
            Self::NotFound(..) => (StatusCode::NOT_FOUND, "NotFound"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed"),
            Self::Conflict { .. } => (StatusCode::CONFLICT, "Conflict"),
            Self::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "PayloadTooLarge"),
            Self::RequestTimeout => (StatusCode::REQUEST_TIMEOUT, "RequestTimeout"),
            Self::UriTooLong(_) => (StatusCode::URI_TOO_LONG, "UriTooLong"),
            Self::HeadersTooLarge(_) => (
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "HeadersTooLarge",
            ),
            Self::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "UnsupportedMediaType")
            }
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "Unauthorized"),
            Self::RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, "RateLimited"),
            Self::ServiceUnavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError"),
            Self::Framework { status, .. } => (*status, framework_code(*status)),
        }
    }

    fn job_id(&self) -> Option<Uuid> {
        match self {
            Self::BadRequest { job_id, .. }
            | Self::Conflict { job_id, .. }
            | Self::NotFound(_, job_id) => *job_id,
            _ => None,
        }
    }

    fn details(&self) -> Option<Value> {
        match self {
            Self::Validation(errors) => Some(json!({ "errors": errors })),
            _ => None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.parts();
        match &self {
            Self::Internal(cause) => tracing::error!(%cause, "internal error"),
            Self::ServiceUnavailable(cause) => tracing::warn!(%cause, "dependency unavailable"),
            _ => {}
        }
        let body = ErrorResponse {
            error: code.into(),
            message: self.to_string(),
            job_id: self.job_id().map(|id| id.to_string()),
            timestamp: Timestamp::now(),
            details: self.details(),
        };
        let mut response = (status, axum::Json(body)).into_response();
        let retry_after = match self {
            Self::ServiceUnavailable(_) => Some(5),
            Self::RateLimited(secs) => Some(secs),
            _ => None,
        };
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(cause) => {
                tracing::warn!(%cause, "job store unavailable");
                Self::ServiceUnavailable("The job store is unavailable; retry shortly".into())
            }
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<ApplyError> for ApiError {
    fn from(e: ApplyError) -> Self {
        match e {
            ApplyError::NotFound(id) => Self::job_not_found(id),
            ApplyError::Store(e) => e.into(),
            ApplyError::Refused(refusal) => match refusal {
                Refusal::NotAwaitingApproval => Self::BadRequest {
                    message: refusal.to_string(),
                    job_id: None,
                },
                other => Self::Conflict {
                    message: other.to_string(),
                    job_id: None,
                },
            },
        }
    }
}

impl From<WatchStoreError> for ApiError {
    fn from(e: WatchStoreError) -> Self {
        match e {
            WatchStoreError::Unavailable(cause) => {
                tracing::warn!(%cause, "watchlist store unavailable");
                Self::ServiceUnavailable("The watchlist store is unavailable; retry shortly".into())
            }
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<Vec<Invalid>> for ApiError {
    fn from(problems: Vec<Invalid>) -> Self {
        Self::Validation(
            problems
                .into_iter()
                .map(|p| FieldError::body(p.field, p.reason))
                .collect(),
        )
    }
}

impl From<UpdateError> for ApiError {
    fn from(e: UpdateError) -> Self {
        match e {
            UpdateError::NotFound(_) => Self::NotFound("Watchlist not found".into(), None),
            UpdateError::Invalid(problems) => problems.into(),
            UpdateError::Store(e) => e.into(),
        }
    }
}

fn framework_code(status: StatusCode) -> &'static str {
    match status.as_u16() {
        404 => "NotFound",
        405 => "MethodNotAllowed",
        408 => "RequestTimeout",
        413 => "PayloadTooLarge",
        414 => "UriTooLong",
        415 => "UnsupportedMediaType",
        422 => "ValidationError",
        431 => "HeadersTooLarge",
        500..=599 => "InternalServerError",
        _ => "BadRequest",
    }
}

fn framework_message(status: StatusCode, text: &str) -> String {
    if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("Bad request")
            .to_string()
    } else {
        text.to_string()
    }
}

/// Unknown routes.
pub async fn not_found() -> ApiError {
    ApiError::NotFound("No such endpoint".into(), None)
}

/// Known routes called with the wrong method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// RFC 3339 in UTC with milliseconds and a `Z`, e.g. `2026-01-20T10:00:00.123Z`.
#[derive(Debug, Clone, Copy, PartialEq, ToSchema)]
#[schema(value_type = String, format = DateTime, example = "2026-01-20T10:00:00.123Z")]
pub struct Timestamp(pub DateTime<Utc>);

impl Timestamp {
    pub fn now() -> Self {
        Self(Utc::now())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_rfc3339_opts(SecondsFormat::Millis, true))
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(t: DateTime<Utc>) -> Self {
        Self(t)
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "error": "ValidationError",
    "message": "Request validation failed",
    "job_id": null,
    "timestamp": "2026-01-20T10:00:00.123Z",
    "details": {"errors": [{"location": "body", "field": "query", "reason": "Field required"}]}
}))]
pub struct ErrorResponse {
    /// Stable code: ValidationError, BadRequest, NotFound, MethodNotAllowed,
    /// Conflict, RequestTimeout, PayloadTooLarge, UriTooLong, HeadersTooLarge,
    /// UnsupportedMediaType, Unauthorized, RateLimited, ServiceUnavailable,
    /// InternalServerError.
    pub error: String,
    pub message: String,
    pub job_id: Option<String>,
    pub timestamp: Timestamp,
    #[schema(value_type = Option<Object>)]
    pub details: Option<Value>,
}
