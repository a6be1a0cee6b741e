//! `agent_progress`: while a model writes an agent's answer, the job's live
//! subscribers hear how far it has got (`{"agent", "tokens", "text"?}`).
//!
//! The reports are announced, not logged (`JobStore::announce`): they are
//! only of use while they happen, a replay of a finished job does not need
//! them, and logging them would rewrite the job (`JobStore::apply`) up to
//! four times a second and fill its capped event log with entries nobody
//! replays. Live subscribers on any replica get them through the store's
//! event feed; a client that reconnects has missed those sent meanwhile.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use uuid::Uuid;

use crate::jobs::{EventKind, JobStore, NewEvent};
use crate::llm::Progress;

/// At most one report per this interval per job, whichever agent writes
/// (flights, hotels and activities write at once): ≤ 4 per second.
const INTERVAL: Duration = Duration::from_millis(250);

/// One job's progress reports.
pub struct JobProgress {
    store: Arc<dyn JobStore>,
    job_id: Uuid,
    last: Mutex<Option<Instant>>,
}

impl JobProgress {
    pub fn new(store: Arc<dyn JobStore>, job_id: Uuid) -> Self {
        Self {
            store,
            job_id,
            last: Mutex::new(None),
        }
    }

    /// Whether a report may go now; if so, the interval starts again.
    fn due(&self) -> bool {
        let now = Instant::now();
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_some_and(|at| now.duration_since(at) < INTERVAL) {
            return false;
        }
        *last = Some(now);
        true
    }
}

impl Progress for JobProgress {
    fn update(&self, agent: &str, tokens: u64, text: Option<&str>) {
        if !self.due() {
            return;
        }
        let mut data = json!({ "agent": agent, "tokens": tokens });
        if let Some(text) = text {
            data["text"] = json!(text);
        }
        // Sent beside the answer's reading, which must not wait on Redis.
        let (store, job_id) = (self.store.clone(), self.job_id);
        tokio::spawn(async move {
            let event = NewEvent::new(EventKind::AgentProgress, data);
            if let Err(error) = store.announce(job_id, event).await {
                tracing::debug!(%job_id, %error, "progress report not sent");
            }
        });
    }
}
