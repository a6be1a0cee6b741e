//! The MotherAgent: the trip-planning state machine.
//!
//! intake → planning → execution (flights ∥ hotels ∥ activities) →
//! validation → approval (only when over budget) → finalizing → done.
//!
//! Every step is a checkpointed task, so a run that resumes (after a reclaim
//! or an approval) skips what is done. Going over `budget_usd` parks the job
//! in `waiting_approval` and releases the worker; an approval puts it back
//! on the queue and any replica continues from here.

use std::sync::Arc;

use chrono::Utc;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::agents::{self, AgentContext};
use super::plan::{
    ApprovalRecord, DestinationStop, ESTIMATE_NOTE, PlaceRef, Suggestion, TripDates, TripPlan,
};
pub use super::run::RunError;
use super::run::{Run, approval_event};
use crate::jobs::{
    Approval, Change, Deadline, EventKind, Job, JobStatus, JobStore, NewEvent, Stage, WorkflowMode,
};
use crate::knowledge::{self, BudgetEstimate, TripRequest};
use crate::llm::{LlmClient, TokenMeter};
use crate::observability::JobTrace;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Completed,
    /// Waiting for a human; the job is off the queue until approved.
    Parked,
}

const TASKS: &[(&str, &str)] = &[
    ("intake_agent", "Understand the request"),
    ("flight_agent", "Find flights"),
    ("hotel_agent", "Choose hotels"),
    ("activity_agent", "Plan each day"),
    ("cost_agent", "Estimate the budget"),
    ("pretrip_agent", "Prepare pre-trip advice"),
];

/// Only for requests that name no destination.
const INSPIRATION: (&str, &str) = ("inspiration_agent", "Choose where to go");

/// The LLM token cap per job when the request sets no `budget_tokens`.
pub const DEFAULT_BUDGET_TOKENS: u64 = 100_000;

pub struct MotherAgent {
    store: Arc<dyn JobStore>,
    approval_timeout: chrono::Duration,
    llm: Option<Arc<LlmClient>>,
}

impl MotherAgent {
    pub fn new(
        store: Arc<dyn JobStore>,
        approval_timeout: std::time::Duration,
        llm: Option<Arc<LlmClient>>,
    ) -> Self {
        Self {
            store,
            approval_timeout: chrono::Duration::from_std(approval_timeout)
                .unwrap_or(chrono::Duration::days(1)),
            llm,
        }
    }

    pub async fn run(
        &self,
        job: Job,
        entry: &str,
        stop: CancellationToken,
        trace: JobTrace,
    ) -> Result<Outcome, RunError> {
        let limit = job
            .request
            .constraints
            .get("budget_tokens")
            .and_then(Value::as_u64)
            .unwrap_or(DEFAULT_BUDGET_TOKENS);
        let meter = Arc::new(TokenMeter::new(limit, &job.usage));
        let ctx = AgentContext {
            today: Utc::now().date_naive(),
            llm: self.llm.clone(),
            meter: meter.clone(),
            calls: Arc::default(),
        };
        let (store, calls) = (self.store.clone(), ctx.calls.clone());
        let run = Run::new(store, job.id, entry, stop, meter, trace, calls);

        run.advance(Stage::Intake, Some(JobStatus::Planning))
            .await?;
        let trip: TripRequest = run
            .task(
                "intake_agent",
                TASKS[0].1,
                "trip_request",
                agents::intake::run(&ctx, &job.request),
            )
            .await?;

        run.advance(Stage::Planning, None).await?;
        // A request that names no destination ("somewhere warm in January") gets one
        // chosen by the inspiration task; the runners-up go on the plan.
        if trip.destinations.is_empty() {
            run.register_tasks(&[INSPIRATION]).await?;
        }
        run.register_tasks(TASKS).await?;
        let (trip, alternatives) = if trip.destinations.is_empty() {
            let chosen: agents::inspiration::Inspiration = run
                .task(
                    INSPIRATION.0,
                    INSPIRATION.1,
                    "inspiration",
                    agents::inspiration::run(&ctx, &trip),
                )
                .await?;
            let mut trip = trip;
            trip.destinations = vec![chosen.chosen.destination.clone()];
            (trip, chosen.alternatives)
        } else {
            (trip, Vec::new())
        };

        run.advance(Stage::Execution, Some(JobStatus::Executing))
            .await?;
        let known_fare = job
            .request
            .context
            .as_ref()
            .and_then(|c| c.get("new_price"))
            .and_then(Value::as_f64);
        let (flights, hotels, days) = tokio::try_join!(
            run.task(
                "flight_agent",
                TASKS[1].1,
                "flights",
                agents::flights::run(&ctx, &trip, known_fare)
            ),
            run.task(
                "hotel_agent",
                TASKS[2].1,
                "hotels",
                agents::hotels::run(&ctx, &trip)
            ),
            run.task(
                "activity_agent",
                TASKS[3].1,
                "activities",
                agents::activities::run(&ctx, &trip)
            ),
        )?;

        run.advance(Stage::Validation, None).await?;
        let fresh_budget = run.checkpoint::<BudgetEstimate>("budget").await?.is_none();
        let budget: BudgetEstimate = run
            .task(
                "cost_agent",
                TASKS[4].1,
                "budget",
                agents::cost::run(&ctx, &trip, &flights, &hotels, &days),
            )
            .await?;
        let validation = agents::cost::validate(&trip, &budget, &days, &hotels);
        if fresh_budget {
            let event = NewEvent::new(EventKind::ValidationResult, json!(validation));
            run.update(move |_| Ok(Change::event(event.clone())))
                .await?;
        }
        if !validation.passed {
            return Err(RunError::failed(
                "validation_failed",
                "The plan failed validation; see the validation_result event",
            ));
        }

        let current = run
            .store
            .get(job.id)
            .await
            .map_err(RunError::Store)?
            .ok_or(RunError::Ended)?;
        if !budget.within_budget
            && current
                .approval
                .as_ref()
                .and_then(|a| a.decision.as_ref())
                .is_none()
        {
            self.park(&run, &budget).await?;
            return Ok(Outcome::Parked);
        }

        run.advance(Stage::Finalizing, Some(JobStatus::Executing))
            .await?;
        let pre_trip = run
            .task(
                "pretrip_agent",
                TASKS[5].1,
                "pre_trip",
                agents::pretrip::run(&ctx, &trip),
            )
            .await?;

        let plan = TripPlan {
            summary: summary(&trip, &budget),
            origin: trip
                .origin
                .as_deref()
                .and_then(knowledge::find_airport)
                .map(|a| PlaceRef {
                    iata: a.iata.clone(),
                    city: a.city.clone(),
                    country: a.country.clone(),
                }),
            destinations: trip
                .destinations
                .iter()
                .filter_map(|id| knowledge::destination(id))
                .zip(hotels.iter())
                .map(|(d, stay)| DestinationStop {
                    id: d.id.clone(),
                    city: d.city.clone(),
                    country: d.country.clone(),
                    iata: d.airport_iata.clone(),
                    nights: stay.nights,
                })
                .collect(),
            dates: TripDates {
                start: trip.start_date,
                end: trip.start_date
                    + chrono::Duration::days(i64::from(trip.days.saturating_sub(1))),
                nights: trip.nights,
            },
            travelers: trip.travelers,
            warnings: warnings(&trip, &budget),
            flights,
            hotels,
            days,
            budget: budget.clone(),
            pre_trip,
            estimate_note: ESTIMATE_NOTE.into(),
            approval: current.approval.as_ref().and_then(|a| {
                a.decision.as_ref().map(|d| ApprovalRecord {
                    approved: d.approved,
                    notes: d.notes.clone(),
                    decided_at: d
                        .decided_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    overage_usd: budget.overage_usd,
                })
            }),
            suggestion: (job.mode == WorkflowMode::Proactive)
                .then(|| suggestion(&job, &trip, &budget)),
            budget_source: trip.budget_source.clone(),
            alternatives,
        };
        let result =
            serde_json::to_value(&plan).map_err(|e| RunError::failed("internal", e.to_string()))?;
        run.update(|job| {
            job.stage = Some(Stage::Done);
            job.status = JobStatus::Completed;
            job.completed_at = Some(Utc::now());
            job.final_result = Some(result.clone());
            job.lease_entry = None;
            Ok(Change::events(vec![
                crate::jobs::transitions::stage_event(Stage::Done),
                crate::jobs::transitions::status_event(job),
                NewEvent::new(EventKind::Complete, json!({ "result": result })),
            ]))
        })
        .await?;
        Ok(Outcome::Completed)
    }

    /// Parks the job for a human decision and releases the worker.
    async fn park(&self, run: &Run, budget: &BudgetEstimate) -> Result<(), RunError> {
        let data = json!({
            "reason": "budget_override",
            "budget_usd": budget.limit_usd,
            "estimated_total_usd": budget.estimated_total_usd,
            "overage_usd": budget.overage_usd,
            "breakdown": budget.breakdown,
        });
        let deadline = Utc::now() + self.approval_timeout;
        run.update(|job| {
            job.stage = Some(Stage::Approval);
            job.status = JobStatus::WaitingApproval;
            job.lease_entry = None;
            job.approval = Some(Approval {
                requested_at: Utc::now(),
                data: data.clone(),
                decision: None,
            });
            Ok(Change {
                events: vec![
                    crate::jobs::transitions::stage_event(Stage::Approval),
                    approval_event(&data),
                ],
                enqueue: false,
                deadline: Deadline::Set(deadline),
            })
        })
        .await?;
        run.trace.enter_stage(Stage::Approval.as_str());
        Ok(())
    }
}

fn place_names(trip: &TripRequest) -> String {
    let names: Vec<String> = trip
        .destinations
        .iter()
        .filter_map(|id| knowledge::destination(id))
        .map(|d| d.city.clone())
        .collect();
    names.join(" and ")
}

fn summary(trip: &TripRequest, budget: &BudgetEstimate) -> String {
    let people = if trip.travelers == 1 {
        "1 traveler".to_string()
    } else {
        format!("{} travelers", trip.travelers)
    };
    format!(
        "{}-day trip to {} for {people}, starting {}: estimated ${:.0} in total.",
        trip.days,
        place_names(trip),
        trip.start_date,
        budget.estimated_total_usd
    )
}

fn warnings(trip: &TripRequest, budget: &BudgetEstimate) -> Vec<String> {
    let mut warnings = Vec::new();
    if trip.origin.is_none() {
        warnings.push(
            "No departure city given, so flights are not included; set constraints.departure_city."
                .into(),
        );
    }
    if !budget.within_budget {
        warnings.push(format!(
            "The estimate exceeds the budget by ${:.0}.",
            budget.overage_usd
        ));
    }
    warnings
}

fn suggestion(job: &Job, trip: &TripRequest, budget: &BudgetEstimate) -> Suggestion {
    let trigger = job.request.trigger_type.clone().unwrap_or_default();
    let context = job.request.context.clone().unwrap_or_default();
    let number = |k: &str| context.get(k).and_then(Value::as_f64);
    let places = place_names(trip);
    let (headline, rationale, savings) = match trigger.as_str() {
        "price_drop" => {
            let savings =
                number("savings").or_else(|| Some(number("old_price")? - number("new_price")?));
            (
                format!("Fares to {places} just dropped"),
                format!(
                    "The fare on your watched route fell{}; here is a {}-day trip built around it.",
                    savings.map(|s| format!(" by ${s:.0}")).unwrap_or_default(),
                    trip.days
                ),
                savings,
            )
        }
        "calendar_gap" => (
            format!("You have free days: {} days in {places}", trip.days),
            format!(
                "Your calendar is free from {}; this trip fits inside that window.",
                trip.start_date
            ),
            None,
        ),
        "budget_surplus" => (
            format!("Your travel budget has room for {places}"),
            format!(
                "You have ${:.0} left in your travel budget; this trip is estimated at ${:.0}.",
                number("surplus_usd").unwrap_or_default(),
                budget.estimated_total_usd
            ),
            None,
        ),
        _ => (
            format!("A trip to {places}"),
            "Suggested from the trigger you sent.".into(),
            None,
        ),
    };
    Suggestion {
        trigger_type: trigger,
        headline,
        rationale,
        savings_usd: savings,
    }
}
