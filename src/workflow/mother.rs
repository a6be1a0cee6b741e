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
use super::plan::{self, PlanParts};
use super::progress::JobProgress;
pub use super::run::RunError;
use super::run::{Run, usage_so_far};
use crate::jobs::{Change, EventKind, Job, JobStatus, JobStore, NewEvent, Stage, transitions};
use crate::knowledge::{BudgetEstimate, Candidate, DayPlan, FlightQuote, HotelStay, TripRequest};
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
        let ctx = self.context(&job);
        let (store, meter, calls) = (self.store.clone(), ctx.meter.clone(), ctx.calls.clone());
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
        let (trip, alternatives) = choose_destination(&run, &ctx, trip).await?;

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
        let budget = validate(&run, &ctx, &trip, &flights, &hotels, &days).await?;
        let current = run
            .store
            .get(job.id)
            .await
            .map_err(RunError::Store)?
            .ok_or(RunError::Ended)?;
        let approval = current.approval.as_ref();
        if !budget.within_budget && approval.and_then(|a| a.decision.as_ref()).is_none() {
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

        let parts = PlanParts {
            flights,
            hotels,
            days,
            budget,
            pre_trip,
            alternatives,
        };
        let plan = plan::assemble(&job, &trip, parts, approval);
        let result =
            serde_json::to_value(&plan).map_err(|e| RunError::failed("internal", e.to_string()))?;
        run.update(|job| Ok(transitions::complete(job, &result)))
            .await?;
        Ok(Outcome::Completed)
    }

    /// What every agent of this job shares: today, the LLM, the token meter
    /// (capped by the request's `budget_tokens`), the record of calls and
    /// where the model's progress is reported.
    fn context(&self, job: &Job) -> AgentContext {
        let limit = job
            .request
            .constraints
            .get("budget_tokens")
            .and_then(Value::as_u64)
            .unwrap_or(DEFAULT_BUDGET_TOKENS);
        AgentContext {
            today: Utc::now().date_naive(),
            llm: self.llm.clone(),
            meter: Arc::new(TokenMeter::new(limit, &usage_so_far(job))),
            calls: Arc::default(),
            progress: Arc::new(JobProgress::new(self.store.clone(), job.id)),
        }
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
        run.update(|job| Ok(transitions::park_for_approval(job, &data, deadline)))
            .await?;
        run.trace.enter_stage(Stage::Approval.as_str());
        Ok(())
    }
}

/// Registers the job's tasks; a request that names no destination ("somewhere warm
/// in January") first gets one chosen by the inspiration task, whose runners-up go
/// on the plan.
async fn choose_destination(
    run: &Run,
    ctx: &AgentContext,
    mut trip: TripRequest,
) -> Result<(TripRequest, Vec<Candidate>), RunError> {
    if !trip.destinations.is_empty() {
        run.register_tasks(TASKS).await?;
        return Ok((trip, Vec::new()));
    }
    run.register_tasks(&[INSPIRATION]).await?;
    run.register_tasks(TASKS).await?;
    let chosen: agents::inspiration::Inspiration = run
        .task(
            INSPIRATION.0,
            INSPIRATION.1,
            "inspiration",
            agents::inspiration::run(ctx, &trip),
        )
        .await?;
    trip.destinations = vec![chosen.chosen.destination.clone()];
    Ok((trip, chosen.alternatives))
}

/// Estimates the budget and checks the plan; the `validation_result` is
/// announced once, when the budget is first estimated.
async fn validate(
    run: &Run,
    ctx: &AgentContext,
    trip: &TripRequest,
    flights: &[FlightQuote],
    hotels: &[HotelStay],
    days: &[DayPlan],
) -> Result<BudgetEstimate, RunError> {
    let fresh_budget = run.checkpoint::<BudgetEstimate>("budget").await?.is_none();
    let budget: BudgetEstimate = run
        .task(
            "cost_agent",
            TASKS[4].1,
            "budget",
            agents::cost::run(ctx, trip, flights, hotels, days),
        )
        .await?;
    let validation = agents::cost::validate(trip, &budget, days, hotels);
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
    Ok(budget)
}
