//! Listing jobs across users (`JobStore::list_jobs`, `GET /v1/operator/jobs`):
//! the same answers from both stores, and the route's parameters and key.

mod support;

use std::sync::Arc;

use chrono::{Duration, Utc};
use lotara::jobs::{
    Approval, Change, Job, JobFilter, JobRequest, JobStatus, JobStore, MemoryStore, RedisStore,
    StoreSettings, WorkflowMode,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::app::spawn_app;

#[derive(Clone, Copy, Debug)]
enum Backend {
    Redis,
    Memory,
}

impl Backend {
    async fn store(self) -> Arc<dyn JobStore> {
        let settings = StoreSettings {
            key_prefix: support::unique_prefix(),
            ..StoreSettings::default()
        };
        match self {
            Backend::Redis => Arc::new(
                RedisStore::connect(&support::redis_url(), settings)
                    .await
                    .expect("local Redis answers"),
            ),
            Backend::Memory => Arc::new(MemoryStore::new(settings)),
        }
    }
}

async fn job(store: &Arc<dyn JobStore>, user: &str, mode: WorkflowMode) -> Job {
    let job = Job::new(user.into(), mode, JobRequest::default());
    store.create(&job, job.created_event()).await.unwrap();
    job
}

async fn park(store: &Arc<dyn JobStore>, job: &Job) {
    store
        .apply(job.id, &|j: &mut Job| {
            j.status = JobStatus::WaitingApproval;
            j.approval = Some(Approval {
                requested_at: Utc::now(),
                data: json!({"budget_usd": 100.0}),
                decision: None,
            });
            Ok(Change::none())
        })
        .await
        .unwrap();
}

fn ids(jobs: &[Job]) -> Vec<uuid::Uuid> {
    jobs.iter().map(|j| j.id).collect()
}

macro_rules! both_stores {
    ($($name:ident),* $(,)?) => {
        mod redis {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::Backend::Redis).await;
                }
            )*
        }
        mod memory {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::Backend::Memory).await;
                }
            )*
        }
    };
}

both_stores!(
    every_users_jobs_list_newest_first_with_a_cursor,
    a_filter_selects_by_status_mode_user_and_creation_date,
);

async fn every_users_jobs_list_newest_first_with_a_cursor(backend: Backend) {
    let store = backend.store().await;
    let none = store
        .list_jobs(&JobFilter::default(), 2, None)
        .await
        .unwrap();
    assert!(none.jobs.is_empty() && none.next_cursor.is_none());
    let a = job(&store, "ann", WorkflowMode::Reactive).await;
    let b = job(&store, "bob", WorkflowMode::Reactive).await;
    let c = job(&store, "cat", WorkflowMode::Proactive).await;
    let all = JobFilter::default();

    let first = store.list_jobs(&all, 2, None).await.unwrap();
    assert_eq!(ids(&first.jobs), vec![c.id, b.id]);
    assert_eq!(first.next_cursor, Some(b.id));
    let rest = store.list_jobs(&all, 2, first.next_cursor).await.unwrap();
    assert_eq!(ids(&rest.jobs), vec![a.id]);
    assert_eq!(rest.next_cursor, None);
    let exact = store.list_jobs(&all, 3, None).await.unwrap();
    assert_eq!(ids(&exact.jobs), vec![c.id, b.id, a.id]);
    assert_eq!(exact.next_cursor, None);
}

async fn a_filter_selects_by_status_mode_user_and_creation_date(backend: Backend) {
    let store = backend.store().await;
    let ann_paused = job(&store, "ann", WorkflowMode::Reactive).await;
    let bob_paused = job(&store, "bob", WorkflowMode::Reactive).await;
    let bob_running = job(&store, "bob", WorkflowMode::Reactive).await;
    let bob_suggested = job(&store, "bob", WorkflowMode::Proactive).await;
    park(&store, &ann_paused).await;
    park(&store, &bob_paused).await;
    let list = |filter: JobFilter| {
        let store = store.clone();
        async move { ids(&store.list_jobs(&filter, 10, None).await.unwrap().jobs) }
    };

    let waiting = JobFilter {
        status: Some(JobStatus::WaitingApproval),
        ..JobFilter::default()
    };
    assert_eq!(
        list(waiting.clone()).await,
        vec![bob_paused.id, ann_paused.id]
    );
    let bobs_waiting = JobFilter {
        user_id: Some("bob".into()),
        ..waiting
    };
    assert_eq!(list(bobs_waiting).await, vec![bob_paused.id]);
    let proactive = JobFilter {
        mode: Some(WorkflowMode::Proactive),
        ..JobFilter::default()
    };
    assert_eq!(list(proactive).await, vec![bob_suggested.id]);
    let bobs_started = JobFilter {
        user_id: Some("bob".into()),
        status: Some(JobStatus::Started),
        ..JobFilter::default()
    };
    assert_eq!(
        list(bobs_started).await,
        vec![bob_suggested.id, bob_running.id]
    );

    let today = JobFilter {
        created_from: Some(Utc::now() - Duration::hours(1)),
        created_before: Some(Utc::now() + Duration::hours(1)),
        ..JobFilter::default()
    };
    assert_eq!(list(today).await.len(), 4);
    let tomorrow = JobFilter {
        created_from: Some(Utc::now() + Duration::days(1)),
        ..JobFilter::default()
    };
    assert!(list(tomorrow).await.is_empty());
    let yesterday = JobFilter {
        created_before: Some(Utc::now() - Duration::days(1)),
        ..JobFilter::default()
    };
    assert!(list(yesterday).await.is_empty());
    let nobody = JobFilter {
        user_id: Some("zed".into()),
        ..JobFilter::default()
    };
    assert!(list(nobody).await.is_empty());
}

#[tokio::test]
async fn operators_list_paused_plans_of_every_user_with_their_approval_data() {
    let app = spawn_app(&[]).await;
    let mut paused = Vec::new();
    for user in ["ann", "bob"] {
        let id = app
            .start_job(
                "/v1/plan",
                json!({"user_id": user, "query": "5 days in Tokyo from LAX", "constraints": {"budget_usd": 100}}),
            )
            .await;
        app.wait_status(&id, "waiting_approval").await;
        paused.push(id);
    }
    let done = app
        .start_job(
            "/v1/plan",
            json!({"user_id": "ann", "query": "5 days in Tokyo"}),
        )
        .await;
    app.wait_finished(&done).await;

    let page: Value = app
        .get("/v1/operator/jobs?status=waiting_approval")
        .await
        .json()
        .await
        .unwrap();
    let listed: Vec<&str> = page["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["job_id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, vec![paused[1].as_str(), paused[0].as_str()]);
    let first = &page["jobs"][0];
    assert_eq!(first["user_id"], "bob");
    assert_eq!(first["status"], "waiting_approval");
    let data = &first["approval"]["approval_data"];
    assert_eq!(data["budget_usd"], 100.0);
    assert!(data["overage_usd"].as_f64().unwrap() > 0.0);
    assert!(data["estimated_total_usd"].as_f64().unwrap() > 100.0);
    assert_eq!(first["approval"]["approved"], Value::Null);
    assert_eq!(page["next_cursor"], Value::Null);

    let today = Utc::now().date_naive();
    let page: Value = app
        .get(&format!(
            "/v1/operator/jobs?user_id=ann&mode=reactive&created_from={today}&created_to={today}&limit=1"
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["jobs"][0]["job_id"], done.as_str());
    assert_eq!(page["jobs"][0]["approval"], Value::Null);
    let cursor = page["next_cursor"].as_str().unwrap();
    let page: Value = app
        .get(&format!(
            "/v1/operator/jobs?user_id=ann&limit=1&cursor={cursor}"
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["jobs"][0]["job_id"], paused[0].as_str());
    app.stop().await;
}

#[tokio::test]
async fn bad_listing_parameters_are_named_in_a_validation_error() {
    let app = spawn_app(&[("WORKER_CONCURRENCY", "0")]).await;
    let response = app
        .get("/v1/operator/jobs?status=paused&mode=eager&created_from=March&limit=500&cursor=x")
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "ValidationError");
    let fields: Vec<&str> = body["details"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["status", "mode", "created_from", "limit", "cursor"]
    );
    app.stop().await;
}

#[tokio::test]
async fn the_listing_needs_a_key_when_keys_are_set_and_is_documented() {
    let app = spawn_app(&[("WORKER_CONCURRENCY", "0"), ("API_KEYS", "ops-key")]).await;
    let refused = app.get("/v1/operator/jobs").await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let allowed = app
        .client
        .get(app.url("/v1/operator/jobs"))
        .header("x-api-key", "ops-key")
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), StatusCode::OK);
    // The console page itself needs no key: it asks for one.
    let page = app.get("/console").await;
    assert_eq!(page.status(), StatusCode::OK);
    let openapi: Value = app.get("/api/openapi.json").await.json().await.unwrap();
    let path = &openapi["paths"]["/v1/operator/jobs"]["get"];
    assert_eq!(path["tags"], json!(["operator"]));
    assert!(
        openapi["components"]["schemas"]["OperatorJobList"].is_object(),
        "{}",
        openapi["components"]["schemas"]
    );
    app.stop().await;
}

#[tokio::test]
async fn the_console_is_served_from_the_binary_with_a_strict_policy() {
    let app = spawn_app(&[("WORKER_CONCURRENCY", "0")]).await;
    for (path, kind) in [
        ("/console", "text/html"),
        ("/console/", "text/html"),
        ("/console/console.js", "text/javascript"),
        ("/console/console.css", "text/css"),
        ("/console/icon.svg", "image/svg+xml"),
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let headers = response.headers();
        assert!(
            headers["content-type"].to_str().unwrap().starts_with(kind),
            "{path}"
        );
        let policy = headers["content-security-policy"].to_str().unwrap();
        assert!(policy.contains("default-src 'none'"), "{path}: {policy}");
        assert!(policy.contains("connect-src 'self'"), "{path}: {policy}");
        let body = response.text().await.unwrap();
        // Nothing is fetched from elsewhere: the console works offline. (The
        // SVG namespace is a name, not an address.)
        let elsewhere = body.replace("http://www.w3.org/2000/svg", "");
        assert!(!elsewhere.contains("http://"), "{path}");
        assert!(!elsewhere.contains("https://"), "{path}");
    }
    app.stop().await;
}
