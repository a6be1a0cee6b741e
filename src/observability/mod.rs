//! Observability: logging (`logging`), the Prometheus recorder behind
//! `/metrics` (`prometheus`), and jobs traced to Opik over its REST API
//! (there is no Rust SDK). The rest of the service only sees the `Tracer`
//! handle and the per-run `JobTrace`; both do nothing when Opik is not
//! configured, and neither ever waits on Opik: records go to a bounded queue
//! that a background exporter sends in batches.

mod exporter;
pub mod logging;
mod opik;
pub mod prometheus;
mod trace;

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::jobs::{Feedback, Job, TraceRef};
use crate::secret::Secret;
use exporter::{Exporter, Outbox};
pub use opik::MAX_BATCH;
use opik::{Item, OpikClient};
pub use trace::{AgentSpan, JobTrace};

/// Where the SDKs send traces when only a key is given.
pub const OPIK_CLOUD_URL: &str = "https://www.comet.com/opik/api";

#[derive(Debug, Clone)]
pub struct OpikSettings {
    /// The API base, e.g. `https://www.comet.com/opik/api`,
    /// `http://localhost:5173/api` or `http://localhost:8080` (the backend directly).
    pub url: String,
    /// The UI's address, without `/api`: `https://www.comet.com/opik`,
    /// `http://localhost:5173`. Trace links are built from it.
    pub ui_url: String,
    pub api_key: Option<Secret>,
    pub workspace: String,
    pub project_name: String,
    /// Records waiting to be sent; more are dropped (and counted).
    pub queue_capacity: usize,
    pub flush_interval: Duration,
    /// While Opik is unreachable, how often `is-alive/ping` is asked
    /// whether it is back.
    pub ping_interval: Duration,
}

impl OpikSettings {
    /// The UI address trace links are built from: `ui` as given (with or
    /// without `/api`), else the API base when it is the UI's `…/api`.
    /// Opik's redirect cuts the link's `path` at its first `/api`
    /// (`RedirectService.feBaseUrl`) and fails with 500 when there is none,
    /// so a base without one (the backend directly) needs `ui`.
    pub fn ui_url_for(url: &str, ui: Option<&str>) -> Result<String, String> {
        let (given, name) = match ui {
            Some(ui) => (ui, "OPIK_UI_URL"),
            None => (url, "OPIK_URL_OVERRIDE"),
        };
        let trimmed = given.trim_end_matches('/');
        let base = match trimmed.strip_suffix("/api") {
            Some(base) => base,
            None if ui.is_some() => trimmed,
            None => {
                return Err(format!(
                    "OPIK_URL_OVERRIDE={url:?} has no /api (the backend directly?), so Opik cannot turn trace links built from it into the UI's address: set OPIK_UI_URL to the Opik UI, e.g. http://localhost:5173"
                ));
            }
        };
        if base.contains("/api") {
            return Err(format!(
                "{name}={given:?}: Opik's trace links cut the UI address at its first \"/api\", which comes too early here"
            ));
        }
        Ok(base.to_string())
    }
}

/// The process's link to Opik; cheap to clone.
#[derive(Clone, Default)]
pub struct Tracer {
    opik: Option<Arc<Opik>>,
}

struct Opik {
    settings: OpikSettings,
    client: Arc<OpikClient>,
    outbox: Outbox,
}

/// The running exporter; stop it last, after the workers, so it flushes
/// what they reported while draining.
pub struct ExporterTask {
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl ExporterTask {
    /// Sends what is queued (within the grace given at start), then returns.
    pub async fn flush_and_stop(self) {
        self.stop.cancel();
        if let Err(e) = self.task.await {
            tracing::warn!(error = %e, "Opik exporter ended abnormally");
        }
    }
}

impl Tracer {
    /// Tracing off: every call is a no-op.
    pub fn disabled() -> Self {
        Self::default()
    }

    /// Starts the exporter. `grace` bounds the final flush on shutdown.
    pub fn start(
        settings: &OpikSettings,
        grace: Duration,
    ) -> Result<(Self, ExporterTask), reqwest::Error> {
        let client = Arc::new(OpikClient::new(settings)?);
        let stop = CancellationToken::new();
        let (outbox, exporter) = Exporter::new(settings, client.clone(), stop.clone(), grace);
        let task = tokio::spawn(exporter.run());
        tracing::info!(url = %settings.url, project = %settings.project_name, "tracing jobs to Opik");
        let opik = Opik {
            settings: settings.clone(),
            client,
            outbox,
        };
        Ok((
            Self {
                opik: Some(Arc::new(opik)),
            },
            ExporterTask { stop, task },
        ))
    }

    #[cfg(test)]
    fn is_enabled(&self) -> bool {
        self.opik.is_some()
    }

    /// A new trace id (v7, dated now) and its link, for a job's first run.
    pub fn mint(&self) -> Option<TraceRef> {
        let opik = self.opik.as_ref()?;
        let trace_id = Uuid::now_v7();
        Some(TraceRef {
            trace_id,
            url: trace_url(&opik.settings.ui_url, trace_id),
        })
    }

    /// The trace handle for a run of `job`. When `minted` is the job's trace
    /// (this run started it), the trace's start record is sent now, so the
    /// trace shows in Opik while the job runs.
    pub fn begin_run(&self, job: &Job, minted: Option<&TraceRef>) -> JobTrace {
        let (Some(opik), Some(trace)) = (&self.opik, &job.trace) else {
            return JobTrace::default();
        };
        let project = &opik.settings.project_name;
        if minted.is_some_and(|m| m.trace_id == trace.trace_id) {
            let start = trace::trace_record(job, trace.trace_id, project, false);
            opik.outbox.push(Item::Trace(start));
        }
        JobTrace::new(trace.trace_id, project, opik.outbox.clone())
    }

    /// A job ended without a run (rejected, expired or cancelled while
    /// parked): its trace gets its final record.
    pub fn job_ended(&self, job: &Job) {
        if let (Some(opik), Some(trace)) = (&self.opik, &job.trace) {
            let mut record =
                trace::trace_record(job, trace.trace_id, &opik.settings.project_name, true);
            // The run that parked the job may close its last span after the
            // job ended here (a rejection right after parking): ending now
            // covers every span closed so far, and a span closed later comes
            // with that run's own end record, which is newer and wins.
            record.end_time = record.end_time.max(Some(opik::OpikTime::now()));
            opik.outbox.push(Item::Trace(record));
        }
    }

    /// A user's rating as the trace's `user_rating` score (rating / 5).
    pub fn feedback(&self, job: &Job, feedback: &Feedback) {
        if let (Some(opik), Some(trace)) = (&self.opik, &job.trace) {
            let score =
                trace::feedback_score(trace.trace_id, &opik.settings.project_name, feedback);
            opik.outbox.push(Item::Score(score));
        }
    }

    /// For `/health`: `None` when not configured.
    pub async fn probe(&self, limit: Duration) -> Option<Result<(), String>> {
        let opik = self.opik.as_ref()?;
        Some(opik.client.ping(limit).await)
    }
}

/// The link the SDK prints (`url_helpers.get_project_url_by_trace_id`):
/// Opik's redirect endpoint, which finds the trace's workspace and project
/// itself and answers 303 to the UI (Opik's redirect endpoint). Both the endpoint and
/// `path` (base64 of the API base, URL-quoted like Python's
/// `quote(safe=":/&?=")`) use the UI's `…/api`, the one base the redirect
/// can turn back into the UI's address and a browser can reach.
pub fn trace_url(ui_url: &str, trace_id: Uuid) -> String {
    use base64::Engine;
    let api = format!("{}/api", ui_url.trim_end_matches('/'));
    let path = base64::engine::general_purpose::STANDARD.encode(api.as_bytes());
    let query = format!("v1/session/redirect/projects/?trace_id={trace_id}&path={path}");
    format!("{api}/{}", quote(&query))
}

fn quote(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"_.-~:/&?=".contains(&byte) {
            quoted.push(char::from(byte));
        } else {
            quoted.push_str(&format!("%{byte:02X}"));
        }
    }
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trace_url_is_the_sdk_redirect_form() {
        let id: Uuid = "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b".parse().unwrap();
        // base64("http://localhost:5173/api"), as opik 2.2.122 encodes its url_override
        assert_eq!(
            trace_url("http://localhost:5173", id),
            "http://localhost:5173/api/v1/session/redirect/projects/?trace_id=0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b&path=aHR0cDovL2xvY2FsaG9zdDo1MTczL2FwaQ=="
        );
        assert_eq!(
            trace_url("http://localhost:5173/", id),
            trace_url("http://localhost:5173", id)
        );
    }

    #[test]
    fn a_plus_in_the_base64_is_quoted() {
        // base64("http://a/~~~/api") = "aHR0cDovL2Evfn5+L2FwaQ==", as Python quotes it.
        let url = trace_url("http://a/~~~", Uuid::nil());
        assert!(url.ends_with("&path=aHR0cDovL2Evfn5%2BL2FwaQ=="), "{url}");
    }

    #[test]
    fn the_ui_address_comes_from_opik_ui_url_or_an_api_base_with_api() {
        let ui = |url: &str, ui: Option<&str>| OpikSettings::ui_url_for(url, ui);
        assert_eq!(
            ui("https://www.comet.com/opik/api", None).unwrap(),
            "https://www.comet.com/opik"
        );
        assert_eq!(
            ui("http://localhost:5173/api/", None).unwrap(),
            "http://localhost:5173"
        );
        let direct = ui("http://localhost:8080", None).unwrap_err();
        assert!(direct.contains("OPIK_UI_URL"), "{direct}");
        for given in [
            "http://localhost:5173",
            "http://localhost:5173/api",
            "http://localhost:5173/",
        ] {
            assert_eq!(
                ui("http://localhost:8080", Some(given)).unwrap(),
                "http://localhost:5173"
            );
        }
        // The redirect would cut at the host's "/api…".
        assert!(ui("http://x", Some("http://apis.example.com/opik")).is_err());
        assert!(ui("https://h/api/opik/api", None).is_err());
    }

    #[test]
    fn a_disabled_tracer_mints_nothing() {
        assert!(Tracer::disabled().mint().is_none());
        assert!(!Tracer::disabled().is_enabled());
    }
}
