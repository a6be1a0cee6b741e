//! The OpenAPI document, generated from the handlers' and wire types'
//! annotations, and the Swagger UI that serves it (assets compiled in: it
//! works offline).

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
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
    components(schemas(FieldError, ErrorResponse, jobs::JobStatusResponse, watchlists::RouteInfo, watchlists::BusyInfo, stream::AgentProgressEvent)),
    modifiers(&Security),
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

pub fn swagger() -> SwaggerUi {
    SwaggerUi::new("/api/docs").url("/api/openapi.json", ApiDoc::openapi())
}
