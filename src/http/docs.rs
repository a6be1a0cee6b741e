//! The OpenAPI document, generated from the handlers' and wire types'
//! annotations, and the Swagger UI that serves it (assets compiled in: it
//! works offline).

use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use super::error::{ErrorResponse, FieldError};
use super::{actions, destinations, jobs, operator, scheduler, service, stream, watchlists};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Lotara AI Backend",
        description = "Trip-planning jobs run by a multi-agent workflow, streamed over SSE, paused for human approval when over budget.",
        license(name = "Proprietary"),
    ),
    paths(
        jobs::create_plan, jobs::create_suggestion, jobs::job_status, jobs::list_jobs, jobs::cancel_job,
        stream::stream_job, actions::approve, actions::submit_feedback,
        watchlists::create_watchlist, watchlists::list_watchlists, watchlists::get_watchlist,
        watchlists::update_watchlist, watchlists::delete_watchlist, scheduler::run_task,
        service::root, service::health, service::metrics, operator::list_jobs,
        destinations::list_destinations,
    ),
    components(schemas(
        FieldError, ErrorResponse, jobs::JobStatusResponse, watchlists::RouteInfo, watchlists::BusyInfo,
        stream::StreamEvents, crate::scheduler::MonitorTask,
    )),
    modifiers(&Security, &CommonResponses),
    tags(
        (name = "jobs", description = "Planning and suggestion jobs"),
        (name = "watchlists", description = "What the proactive scheduler watches: fares, calendars, budgets"),
        (name = "scheduler", description = "Running the proactive monitors on request"),
        (name = "destinations", description = "The curated destinations plans are made for"),
        (name = "operator", description = "Views across users for operators and the console at /console"),
        (name = "service", description = "Health, metrics, metadata"),
    )
)]
pub struct ApiDoc;

/// API keys are optional (`API_KEYS`); when set, send either scheme.
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
        );
    }
}

/// Answers that come from layers rather than handlers, added here once to
/// every operation they apply to: the API-key check and the rate limit on
/// the protected routes (those that declare the API-key schemes), and the
/// body reader (`json::Valid`) on the routes that take a JSON body. A
/// response an operation already describes is left as it is.
struct CommonResponses;

const PROTECTED: &[(u16, &str)] = &[
    (401, "Missing or wrong API key (when `API_KEYS` is set)"),
    (429, "Over `RATE_LIMIT_PER_MINUTE`; see `Retry-After`"),
];

const JSON_BODY: &[(u16, &str)] = &[
    (408, "The body did not arrive within `REQUEST_TIMEOUT_SECS`"),
    (413, "Body larger than `MAX_BODY_BYTES`"),
    (415, "Body is not `application/json`"),
    (
        422,
        "Validation error; `details.errors` names each bad field",
    ),
];

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                if is_protected(operation) {
                    add_errors(operation, PROTECTED);
                }
                if operation.request_body.is_some() {
                    add_errors(operation, JSON_BODY);
                }
            }
        }
    }
}

fn is_protected(operation: &Operation) -> bool {
    let bearer = SecurityRequirement::new("bearer", Vec::<String>::new());
    operation
        .security
        .as_ref()
        .is_some_and(|requirements| requirements.contains(&bearer))
}

fn add_errors(operation: &mut Operation, errors: &[(u16, &str)]) {
    for (status, description) in errors {
        operation
            .responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| {
                ResponseBuilder::new()
                    .description(*description)
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("ErrorResponse")))
                            .build(),
                    )
                    .build()
                    .into()
            });
    }
}

pub fn swagger() -> SwaggerUi {
    SwaggerUi::new("/api/docs").url("/api/openapi.json", ApiDoc::openapi())
}
