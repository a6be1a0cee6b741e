//! The sub-agents. Each is small: a knowledge-backend function over the
//! bundled dataset, and for the LLM backend a prompt, a JSON schema and a
//! check of the answer. With an LLM configured, the model gets the
//! knowledge backend's draft and the dataset's facts for the destination as
//! grounding, and returns the same shape; the check guards the numbers and
//! counts, and a bad answer gets one repair attempt.

pub mod activities;
pub mod cost;
pub mod destination;
pub mod flights;
pub mod hotels;
pub mod inspiration;
pub mod intake;
pub mod pretrip;

use std::sync::{Arc, Mutex};

use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::knowledge::{self, Catalog, TripRequest};
use crate::llm::{CallRecord, Caller, LlmClient, LlmError, Progress, Prompt, TokenMeter};
use crate::workflow::run::{AgentOutput, RunError};

/// An LLM call made by an agent, kept for tracing.
#[derive(Debug, Clone)]
pub struct AgentCall {
    pub agent: String,
    pub call: CallRecord,
}

/// What an agent asks the model: its name (also the schema name), what to
/// do, the JSON schema of the answer, and the facts to ground it.
pub struct Ask<'a> {
    pub agent: &'a str,
    pub instructions: &'a str,
    pub schema: Value,
    pub facts: Value,
}

/// What every agent may use.
#[derive(Clone)]
pub struct AgentContext {
    /// The day plans are made on (fares depend on days to departure).
    pub today: NaiveDate,
    pub llm: Option<Arc<LlmClient>>,
    pub meter: Arc<TokenMeter>,
    pub calls: Arc<Mutex<Vec<AgentCall>>>,
    /// Hears the model write each answer (the job's `agent_progress`).
    pub progress: Arc<dyn Progress>,
}

/// Each agent's answer cap in tokens, before `LLM_MAX_TOKENS` caps it in
/// turn: about twice what a good answer for a week-long trip takes (a
/// refining agent's cap also grows with its draft, see `refine`). A model
/// that loops ("Tokyo, Japan", "Tokyo, Japan", …) is cut off here rather
/// than writing until the timeout.
const ANSWER_TOKENS: &[(&str, u32)] = &[
    ("intake_agent", 300),
    ("inspiration_agent", 800),
    ("flight_agent", 600),
    ("hotel_agent", 500),
    ("activity_agent", 1_500),
    ("cost_agent", 400),
    ("pretrip_agent", 1_000),
    // A whole destination: up to 20 attractions, 8 areas, 12 months.
    ("destination_agent", 3_500),
];
const DEFAULT_ANSWER_TOKENS: u32 = 1_000;

pub fn answer_tokens(agent: &str) -> u32 {
    ANSWER_TOKENS
        .iter()
        .find(|(name, _)| *name == agent)
        .map_or(DEFAULT_ANSWER_TOKENS, |(_, tokens)| *tokens)
}

impl AgentContext {
    /// What the LLM client is told of this job for one of `agent`'s calls.
    pub fn caller<'a>(&'a self, agent: &'a str) -> Caller<'a> {
        Caller {
            agent,
            answer_tokens: answer_tokens(agent),
            meter: &self.meter,
            progress: self.progress.as_ref(),
        }
    }

    /// The knowledge backend's `draft` as is, or, with an LLM, the model's
    /// improved version of it in the same shape. `settle` first puts back
    /// what is not the model's to say (the draft's dates, routes, party,
    /// totals that follow from other numbers), so that only what the model
    /// may change is checked by `check` and kept: small models miscopy and
    /// miscount, and failing a plan on that helps nobody.
    pub async fn refine<T>(
        &self,
        ask: Ask<'_>,
        draft: T,
        confidence: f64,
        settle: impl Fn(T) -> T,
        check: impl Fn(&T) -> Result<(), String>,
    ) -> Result<AgentOutput<T>, RunError>
    where
        T: Serialize + DeserializeOwned + Clone,
    {
        let Ask {
            agent,
            instructions,
            schema,
            facts,
        } = ask;
        let Some(llm) = &self.llm else {
            return Ok(AgentOutput {
                value: draft,
                confidence,
            });
        };
        let draft_json = serde_json::to_string(&draft)
            .map_err(|e| RunError::failed("internal", e.to_string()))?;
        let prompt = Prompt::grounded(
            format!(
                "You are the {agent} of Lotara, a travel concierge. {instructions} \
                 Use only the facts given; every price is an estimate in USD. \
                 Answer with a single JSON object matching the schema, no prose."
            ),
            "Facts from our travel dataset:\n",
            facts,
            format!("\n\nDraft to check and improve (keep its shape):\n{draft_json}"),
        );
        // The answer has the draft's shape: a long trip's draft raises the cap.
        let draft_tokens = crate::llm::estimate_tokens(&draft_json);
        let caller = Caller {
            answer_tokens: answer_tokens(agent).max(draft_tokens.saturating_mul(3) / 2),
            ..self.caller(agent)
        };
        let settled_check = |answer: &T| check(&settle(answer.clone()));
        let answer = llm
            .structured::<T>(prompt, agent, &schema, &caller, settled_check)
            .await;
        let repaired = answer.calls.len() > 1;
        self.record_calls(agent, answer.calls);
        let value = settle(answer.result.map_err(llm_failure)?);
        Ok(AgentOutput {
            value,
            confidence: if repaired { 0.75 } else { 0.9 },
        })
    }

    /// Keeps `agent`'s calls for its trace span, failed ones included.
    pub fn record_calls(&self, agent: &str, calls: Vec<CallRecord>) {
        if let Ok(mut sink) = self.calls.lock() {
            sink.extend(calls.into_iter().map(|call| AgentCall {
                agent: agent.into(),
                call,
            }));
        }
    }
}

/// Pieces of the answer schemas, each with its bounds: where a server
/// enforces the schema with a grammar, a runaway model stops at them, and
/// every answer is held to them again (`llm::schema`) before its check.
pub mod bounds {
    use serde_json::{Value, json};

    /// The most a model may write in one free-text field.
    pub const TEXT: usize = 300;
    /// A name: a city, an area, an attraction.
    pub const NAME: usize = 120;

    pub fn text(max_length: usize) -> Value {
        json!({"type": "string", "maxLength": max_length})
    }

    pub fn nullable_text(max_length: usize) -> Value {
        json!({"type": ["string", "null"], "maxLength": max_length})
    }

    /// US dollars, never negative.
    pub fn money(maximum: f64) -> Value {
        json!({"type": "number", "minimum": 0, "maximum": maximum})
    }

    pub fn number(minimum: f64, maximum: f64) -> Value {
        json!({"type": "number", "minimum": minimum, "maximum": maximum})
    }

    pub fn whole(minimum: u32, maximum: u32) -> Value {
        json!({"type": "integer", "minimum": minimum, "maximum": maximum})
    }

    pub fn list(items: Value, max_items: usize) -> Value {
        json!({"type": "array", "items": items, "maxItems": max_items})
    }

    /// A number the service computes itself from the answer's other
    /// numbers (a total): whatever the model writes there is replaced, so
    /// it is not bounded and cannot fail the answer.
    pub fn computed() -> Value {
        json!({"type": "number"})
    }

    /// A `YYYY-MM-DD` date.
    pub fn date() -> Value {
        json!({"type": "string", "format": "date", "maxLength": 10})
    }
}

/// `answer` may differ from `draft` by at most a factor of `factor` either
/// way (with `slack` dollars of room for small amounts).
pub fn near(what: &str, draft: f64, answer: f64, factor: f64, slack: f64) -> Result<(), String> {
    if !answer.is_finite() || answer < 0.0 {
        return Err(format!("{what} must be a positive number, not {answer}"));
    }
    if answer > draft * factor + slack || answer < draft / factor - slack {
        return Err(format!(
            "{what} of {answer:.0} is too far from the estimate of {draft:.0}; stay within {factor}× of it"
        ));
    }
    Ok(())
}

pub fn llm_failure(e: LlmError) -> RunError {
    match e {
        LlmError::BudgetExceeded { .. } => RunError::failed("token_budget_exceeded", e.to_string()),
        other => RunError::failed("llm_failed", other.to_string()),
    }
}

/// The facts about the trip's destinations: the grounding every LLM prompt
/// carries. A researched destination says so (`"source": "model"`), so the
/// model knows those facts are estimates of its own, not the dataset's. The
/// climate table keeps only the trip's months (by name), and the aliases go:
/// what is left is what the agents use, so that trimming to a small model's
/// context takes the least useful facts first.
pub fn destination_facts(trip: &TripRequest, catalog: &Catalog) -> Value {
    let months = trip_months(trip);
    let destinations: Vec<Value> = trip
        .destinations
        .iter()
        .filter_map(|id| {
            let d = catalog.get(id)?;
            let mut facts = serde_json::to_value(d).ok()?;
            let fields = facts.as_object_mut()?;
            if let Some(source) = catalog.source_of(id) {
                fields.insert("source".into(), json!(source));
            }
            fields.remove("aliases");
            let climate: Vec<Value> = months
                .iter()
                .filter_map(|&m| {
                    let mut month = serde_json::to_value(d.climate.get(m - 1)?).ok()?;
                    month["month"] = json!(knowledge::MONTH_NAMES[m - 1]);
                    Some(month)
                })
                .collect();
            fields.insert("climate".into(), json!(climate));
            Some(facts)
        })
        .collect();
    json!({ "trip": trip, "destinations": destinations })
}

/// The months (1–12) the trip's days fall in, in order.
fn trip_months(trip: &TripRequest) -> Vec<usize> {
    let mut months = Vec::new();
    for offset in 0..trip.days.max(1) {
        let Some(day) = trip
            .start_date
            .checked_add_days(chrono::Days::new(u64::from(offset)))
        else {
            break;
        };
        let month = day.month() as usize;
        if !months.contains(&month) {
            months.push(month);
        }
        if months.len() == 12 {
            break;
        }
    }
    months
}
