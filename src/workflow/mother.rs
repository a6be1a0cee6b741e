//! The MotherAgent: the trip-planning state machine.
//!
//! intake → planning (choosing a destination for a vague wish, researching
//! cities the dataset lacks) → execution (flights ∥ hotels ∥ activities) →
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
use crate::knowledge::{
    BudgetEstimate, Candidate, Catalog, DayPlan, FlightQuote, Grounding, HotelStay, TripRequest,
};
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

/// The output key of the research task: the destinations the model built.
const RESEARCHED: &str = "researched_destinations";

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
        let groundings = agents::destination::groundings(&ctx, &trip)?;
        let research =
            (!groundings.is_empty()).then(|| agents::destination::task_name(&groundings));
        register_tasks(&run, &trip, research.as_deref()).await?;
        let (trip, alternatives) = choose_destination(&run, &ctx, trip).await?;
        let catalog = research_destinations(&run, &ctx, &groundings, research.as_deref()).await?;

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
                agents::flights::run(&ctx, &catalog, &trip, known_fare)
            ),
            run.task(
                "hotel_agent",
                TASKS[2].1,
                "hotels",
                agents::hotels::run(&ctx, &catalog, &trip)
            ),
            run.task(
                "activity_agent",
                TASKS[3].1,
                "activities",
                agents::activities::run(&ctx, &catalog, &trip)
            ),
        )?;

        run.advance(Stage::Validation, None).await?;
        let budget = validate(&run, &ctx, &catalog, &trip, &flights, &hotels, &days).await?;
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
                agents::pretrip::run(&ctx, &catalog, &trip),
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
        let plan = plan::assemble(&job, &trip, &catalog, parts, approval);
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

/// Registers every task the job will run, in order, so progress shows the
/// total from the start: the inspiration task for a request that names no
/// destination, the research task (named `research`) for cities the dataset
/// lacks, then the planners.
async fn register_tasks(
    run: &Run,
    trip: &TripRequest,
    research: Option<&str>,
) -> Result<(), RunError> {
    let mut tasks: Vec<(&str, &str)> = Vec::new();
    if trip.destinations.is_empty() {
        tasks.push(INSPIRATION);
    }
    if let Some(name) = research {
        tasks.push((agents::destination::AGENT, name));
    }
    tasks.extend_from_slice(TASKS);
    run.register_tasks(&tasks).await?;
    Ok(())
}

/// A request that names no destination ("somewhere warm in January") gets one
/// chosen by the inspiration task, whose runners-up go on the plan.
async fn choose_destination(
    run: &Run,
    ctx: &AgentContext,
    mut trip: TripRequest,
) -> Result<(TripRequest, Vec<Candidate>), RunError> {
    if !trip.destinations.is_empty() {
        return Ok((trip, Vec::new()));
    }
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

/// The destinations the job plans over: the curated dataset, plus the cities
/// the research task built (checkpointed like any task's output, so a resumed
/// run plans with the same facts and asks the model nothing again).
async fn research_destinations(
    run: &Run,
    ctx: &AgentContext,
    groundings: &[Grounding],
    research: Option<&str>,
) -> Result<Catalog, RunError> {
    let Some(name) = research else {
        return Ok(Catalog::curated());
    };
    let researched = run
        .task(
            agents::destination::AGENT,
            name,
            RESEARCHED,
            agents::destination::run(ctx, groundings),
        )
        .await?;
    Ok(Catalog::with_researched(researched))
}

/// Estimates the budget and checks the plan; the `validation_result` is
/// announced once, when the budget is first estimated.
async fn validate(
    run: &Run,
    ctx: &AgentContext,
    catalog: &Catalog,
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
            agents::cost::run(ctx, catalog, trip, flights, hotels, days),
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
