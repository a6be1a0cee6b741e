//! Starts the real service on port 0 against the local Redis, with a key
//! prefix of its own.

use std::collections::HashMap;
use std::sync::Arc;

use lotara::app::{Application, Role};
use lotara::config::Config;
use lotara::jobs::JobBackend;
use tokio_util::sync::CancellationToken;

/// How long job-level waits may take before the test fails.
const JOB_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub store: Arc<dyn JobBackend>,
    pub prefix: String,
    pub shutdown: CancellationToken,
    pub stopped: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// Runs a scheduler task now (`POST /v1/scheduler/{task}/run`) and
    /// returns its report; the run must be accepted.
    pub async fn run_scheduler_task(&self, task: &str) -> serde_json::Value {
        let response = self
            .post_json(&format!("/v1/scheduler/{task}/run"), &serde_json::json!({}))
            .await;
        assert_eq!(response.status(), reqwest::StatusCode::OK);
        response.json().await.expect("a run report")
    }

    /// POST JSON with extra headers (an API key, an `Idempotency-Key`).
    pub async fn post_json_with(
        &self,
        path: &str,
        body: &serde_json::Value,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = self.client.post(self.url(path)).json(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.expect("request sent")
    }

    /// POST a body exactly as given under `content_type`: what a client
    /// with a broken or non-JSON body sends.
    pub async fn post_raw(&self, path: &str, content_type: &str, body: &str) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header("content-type", content_type)
            .body(body.to_string())
            .send()
            .await
            .expect("request sent")
    }

    /// POST with no body (`/v1/jobs/{id}/cancel`).
    pub async fn post_empty(&self, path: &str) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    /// Starts a job (`/v1/plan` or `/v1/suggest`), expecting 202; its id.
    pub async fn start_job(&self, path: &str, body: serde_json::Value) -> String {
        let response = self.post_json(path, &body).await;
        assert_eq!(
            response.status(),
            reqwest::StatusCode::ACCEPTED,
            "{path} {body}"
        );
        let created: serde_json::Value = response.json().await.expect("JobResponse");
        created["job_id"].as_str().expect("job_id").to_string()
    }

    /// `GET /v1/status/{id}` as JSON.
    pub async fn status(&self, id: &str) -> serde_json::Value {
        self.get(&format!("/v1/status/{id}"))
            .await
            .json()
            .await
            .expect("status JSON")
    }

    /// Waits (with a deadline) until the job has status `wanted`.
    pub async fn wait_status(&self, id: &str, wanted: &str) -> serde_json::Value {
        super::wait_for(&format!("job {id} to be {wanted}"), JOB_WAIT, || async {
            let status = self.status(id).await;
            (status["status"] == wanted).then_some(status)
        })
        .await
    }

    /// Waits (with a deadline) until the job is completed, failed or cancelled.
    pub async fn wait_finished(&self, id: &str) -> serde_json::Value {
        super::wait_for(&format!("job {id} to finish"), JOB_WAIT, || async {
            let status = self.status(id).await;
            ["completed", "failed", "cancelled"]
                .contains(&status["status"].as_str().unwrap_or(""))
                .then_some(status)
        })
        .await
    }

    /// Stops the app gracefully and waits for it to finish.
    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = self.stopped.await;
    }
}

/// The settings every test app shares; `overrides` win.
pub fn test_vars(prefix: &str, overrides: &[(&str, &str)]) -> HashMap<String, String> {
    let mut vars: HashMap<String, String> = [
        ("HOST", "127.0.0.1"),
        ("PORT", "0"),
        ("REDIS_URL", super::redis_url().as_str()),
        ("REDIS_KEY_PREFIX", prefix),
        ("WORKER_CONCURRENCY", "4"),
        ("JOB_LEASE_SECS", "2"),
        ("SHUTDOWN_GRACE_SECS", "5"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in overrides {
        vars.insert(k.to_string(), v.to_string());
    }
    vars
}

pub async fn spawn_app(overrides: &[(&str, &str)]) -> TestApp {
    let prefix = super::unique_prefix();
    spawn_app_with(test_vars(&prefix, overrides)).await
}

pub async fn spawn_app_with(vars: HashMap<String, String>) -> TestApp {
    let prefix = vars.get("REDIS_KEY_PREFIX").cloned().unwrap_or_default();
    let config = Config::from_map(&vars).expect("valid test configuration");
    // Logs show up with a failing test's output.
    lotara::observability::logging::init(config.log_format);
    let app = Application::build(config, Role::Serve)
        .await
        .expect("app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let store = app.store();
    let shutdown = app.shutdown_token();
    let stopped = tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::new(),
        store,
        prefix,
        shutdown,
        stopped,
    }
}
