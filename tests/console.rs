//! The operator console at /console, in Debian's Chromium driven over
//! WebDriver, against the real service on port 0. A failing test leaves a
//! screenshot in target/console-screenshots/.

mod support;

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use serde_json::{Value, json};
use support::app::{TestApp, spawn_app};
use support::browser::{Browser, screenshot_path};
use support::fake_llm::{FakeLlm, Reply};
use support::wait_for;
use tokio::sync::Notify;

const WAIT: Duration = Duration::from_secs(30);
const ENTER: &str = "\u{E007}";

/// Runs `test` in a fresh browser; on failure saves a screenshot named after
/// the test and prints what the page said, then fails as the test did.
async fn in_browser(name: &str, test: impl AsyncFnOnce(&Browser)) {
    let browser = Browser::start().await;
    let outcome = AssertUnwindSafe(test(&browser)).catch_unwind().await;
    if let Err(failure) = outcome {
        let path = screenshot_path(name);
        let saved = AssertUnwindSafe(async {
            browser.screenshot(&path).await;
            browser.text("body").await
        })
        .catch_unwind()
        .await;
        match saved {
            Ok(text) => eprintln!(
                "screenshot: {}\npage text:\n{}",
                path.display(),
                text.unwrap_or_default()
            ),
            Err(_) => eprintln!("no screenshot: the browser did not answer"),
        }
        browser.quit().await;
        std::panic::resume_unwind(failure);
    }
    browser.quit().await;
}

/// The job id in the page's `#/jobs/<id>` address, once it is there.
async fn job_in_address(browser: &Browser) -> String {
    wait_for("the job view's address", WAIT, || async {
        let hash = browser.run("return location.hash;", json!([])).await;
        hash.as_str()
            .and_then(|h| h.strip_prefix("#/jobs/"))
            .filter(|id| !id.is_empty())
            .map(str::to_string)
    })
    .await
}

async fn count(browser: &Browser, css: &str) -> u64 {
    browser
        .run(
            "return document.querySelectorAll(arguments[0]).length;",
            json!([css]),
        )
        .await
        .as_u64()
        .unwrap_or(0)
}

async fn wait_count(browser: &Browser, css: &str, wanted: u64) {
    wait_for(&format!("{wanted} × `{css}`"), WAIT, || async {
        (count(browser, css).await == wanted).then_some(())
    })
    .await;
}

async fn paused_plan(app: &TestApp, user: &str) -> String {
    let id = app
        .start_job(
            "/v1/plan",
            json!({"user_id": user, "query": "5 days in Tokyo from LAX", "constraints": {"budget_usd": 100}}),
        )
        .await;
    app.wait_status(&id, "waiting_approval").await;
    id
}

#[tokio::test]
async fn a_plan_from_the_form_streams_live_renders_and_takes_feedback() {
    let llm = FakeLlm::start().await;
    let held = Arc::new(Notify::new());
    // Intake answers; flights, hotels and activities wait for the test.
    llm.script([
        Reply::Cooperate,
        Reply::Hold(held.clone()),
        Reply::Hold(held.clone()),
        Reply::Hold(held.clone()),
    ]);
    let app = spawn_app(&[("LLM_BASE_URL", &llm.url)]).await;
    let start = (chrono::Utc::now().date_naive() + chrono::Duration::days(60)).to_string();

    in_browser("plan_form", async |b| {
        b.goto(&app.url("/console")).await;
        b.wait("#plan-form").await;
        b.type_into("#plan-user", "ann").await;
        b.type_into("#plan-query", "Five days of food in Tokyo")
            .await;
        b.type_into("#plan-destination", "Tokyo").await;
        b.type_into("#plan-origin", "LAX").await;
        b.set_value("#plan-start", &start).await;
        b.type_into("#plan-days", "5").await;
        b.type_into("#plan-budget", "8000").await;
        b.set_value("#plan-currency", "USD").await;
        b.type_into("#plan-interests", "food, temples").await;
        b.set_value("#plan-tier", "mid").await;
        b.type_into("#plan-travelers", "2").await;
        // Submitted from the keyboard.
        b.press("#plan-travelers", ENTER).await;

        let id = job_in_address(b).await;
        // Three agents are held mid-task: what the page shows now arrived live.
        wait_for("three agent calls in flight", WAIT, || async {
            (llm.requests().len() >= 4).then_some(())
        })
        .await;
        b.wait_text("#job-stream", "Live").await;
        wait_count(b, "#job-tasks tbody tr[data-state='running']", 3).await;
        b.wait("#job-tasks tbody tr[data-task][data-state='completed']")
            .await;
        assert_ne!(app.status(&id).await["status"], "completed");
        let before = count(b, "#job-timeline li[data-kind='task_complete']").await;

        wait_for("the held agents to finish", WAIT, || async {
            held.notify_waiters();
            (app.status(&id).await["status"] == "completed").then_some(())
        })
        .await;
        b.wait("#budget-chart").await;
        b.wait_text("#job-status", "completed").await;
        b.wait_text("#job-stream", "Ended").await;
        b.wait_text("#job-progress-text", "6 of 6 tasks done").await;
        assert!(count(b, "#job-timeline li[data-kind='task_complete']").await >= before + 5);
        assert_eq!(count(b, "#job-timeline li[data-kind='complete']").await, 1);
        assert!(count(b, "#job-plan-body .day").await >= 1);
        assert!(
            b.text("#job-plan-body")
                .await
                .unwrap_or_default()
                .contains("Flights")
        );
        // The README's picture of the job view (copied to src/http/console/).
        b.resize(1280, 2200).await;
        b.screenshot(&screenshot_path("job-view")).await;
        b.resize(1280, 1000).await;

        // What the form sent.
        let job = app
            .store
            .get(id.parse().unwrap())
            .await
            .unwrap()
            .expect("the job");
        assert_eq!(job.user_id, "ann");
        assert_eq!(
            Value::Object(job.request.constraints.clone()),
            json!({"destination": "Tokyo", "departure_city": "LAX", "start_date": start,
                   "duration_days": 5, "travelers": 2, "budget_usd": 8000,
                   "interests": ["food", "temples"], "tier": "mid"})
        );
        let keys = support::scan_keys(&format!("{}*idem*", app.prefix)).await;
        assert_eq!(
            keys.len(),
            1,
            "the plan was sent with an Idempotency-Key: {keys:?}"
        );

        // Feedback: four stars and a comment.
        b.click("label[for='star-4']").await;
        b.type_into("#feedback-comment", "Great food picks").await;
        b.click("#feedback-form button[type='submit']").await;
        b.wait_text("#feedback-done", "4 stars saved").await;
        let job = app.store.get(id.parse().unwrap()).await.unwrap().unwrap();
        assert_eq!(job.feedback.len(), 1);
        assert_eq!(job.feedback[0].rating, 4);
        assert_eq!(job.feedback[0].comment.as_deref(), Some("Great food picks"));
    })
    .await;
    app.stop().await;
}

#[tokio::test]
async fn a_paused_plan_is_approved_from_the_queue_and_its_plan_shows_at_once() {
    let app = spawn_app(&[]).await;
    let id = paused_plan(&app, "bob").await;
    let other = paused_plan(&app, "carol").await;

    in_browser("approvals", async |b| {
        b.goto(&app.url("/console#/approvals")).await;
        let card = format!("article[data-job='{id}']");
        b.wait(&card).await;
        b.wait(&format!("article[data-job='{other}']")).await;
        b.wait_text("#approvals-summary", "2 plans waiting").await;
        let text = b.text(&card).await.unwrap_or_default();
        assert!(text.contains("for bob"), "{text}");
        assert!(text.contains("$100"), "the budget: {text}");
        let paused = app.status(&id).await;
        let overage = paused["approval"]["approval_data"]["overage_usd"]
            .as_f64()
            .unwrap();
        assert!(overage > 0.0);
        let overage_shown = b
            .text(&format!("{card} dd[data-field='overage']"))
            .await
            .unwrap_or_default();
        assert!(
            overage_shown
                .replace(',', "")
                .contains(&format!("{}", overage.round() as i64)),
            "{overage_shown}"
        );

        b.type_into(&format!("#notes-queue-{id}"), "VIP: fine to go over")
            .await;
        b.click(&format!("{card} button[data-decision='approve']"))
            .await;
        // The job view opens on the approved job and shows its plan.
        assert_eq!(job_in_address(b).await, id);
        b.wait("#budget-chart").await;
        b.wait_text("#job-status", "completed").await;
        b.wait_text("[data-decision='approved']", "VIP: fine to go over")
            .await;
        let chart = b.text("#job-plan-body figure").await.unwrap_or_default();
        assert!(chart.contains("Flights"), "{chart}");
        let limit = b
            .run(
                "return document.querySelector('#budget-chart .limit-label').textContent;",
                json!([]),
            )
            .await;
        assert_eq!(limit, "Limit $100");

        let status = app.status(&id).await;
        assert_eq!(status["approval"]["approved"], true);
        assert_eq!(status["approval"]["notes"], "VIP: fine to go over");
        // The queue now holds only the other plan.
        b.goto(&app.url("/console#/approvals")).await;
        b.wait_text("#approvals-summary", "1 plan waiting").await;
        assert_eq!(count(b, "article[data-job]").await, 1);
    })
    .await;
    app.stop().await;
}

#[tokio::test]
async fn the_jobs_list_filters_pages_and_cancels_a_running_job() {
    let llm = FakeLlm::start().await;
    let held = Arc::new(Notify::new());
    // The first job's intake never answers: it stays running.
    llm.script([Reply::Hold(held.clone())]);
    let app = spawn_app(&[("LLM_BASE_URL", &llm.url)]).await;
    let running = app
        .start_job(
            "/v1/plan",
            json!({"user_id": "dora", "query": "A week in Lisbon"}),
        )
        .await;
    wait_for("the first job to be running", WAIT, || async {
        (!llm.requests().is_empty()).then_some(())
    })
    .await;
    let mut finished = Vec::new();
    for _ in 0..5 {
        finished.push(
            app.start_job(
                "/v1/plan",
                json!({"user_id": "dora", "query": "5 days in Tokyo"}),
            )
            .await,
        );
    }
    for id in &finished {
        app.wait_finished(id).await;
    }
    app.start_job("/v1/plan", json!({"user_id": "eve", "query": "Paris"}))
        .await;

    in_browser("jobs", async |b| {
        b.goto(&app.url("/console#/jobs")).await;
        wait_count(b, "#jobs-table tbody tr", 7).await;

        // Dora's jobs, five a page, newest first.
        b.type_into("#jobs-user", "dora").await;
        b.set_value("#jobs-limit", "5").await;
        b.press("#jobs-user", ENTER).await;
        wait_count(b, "#jobs-table tbody tr", 5).await;
        b.wait(&format!("#jobs-table tr[data-job='{}']", finished[4]))
            .await;
        b.click("#jobs-older").await;
        wait_count(b, "#jobs-table tbody tr", 1).await;
        b.wait(&format!("#jobs-table tr[data-job='{running}']"))
            .await;
        b.click("#jobs-newer").await;
        wait_count(b, "#jobs-table tbody tr", 5).await;

        // Only the unfinished one, and only reactive jobs created today.
        let today = chrono::Utc::now().date_naive().to_string();
        b.set_value("#jobs-status", "planning").await;
        b.set_value("#jobs-mode", "reactive").await;
        b.set_value("#jobs-from", &today).await;
        b.set_value("#jobs-to", &today).await;
        b.click("#jobs-filter button[type='submit']").await;
        wait_count(b, "#jobs-table tbody tr", 1).await;
        let row = format!("#jobs-table tr[data-job='{running}']");
        b.wait(&row).await;
        assert_eq!(
            count(b, "#jobs-table button[data-action='cancel']").await,
            1
        );

        b.click(&format!("{row} button[data-action='cancel']"))
            .await;
        b.click(&format!("{row} button[data-action='confirm-cancel']"))
            .await;
        b.wait(&format!("{row}[data-status='cancelled']")).await;
        assert_eq!(app.status(&running).await["status"], "cancelled");

        // A filter that matches nothing says so.
        b.set_value("#jobs-mode", "proactive").await;
        b.click("#jobs-filter button[type='submit']").await;
        b.wait_text("#jobs-summary", "No jobs match").await;
    })
    .await;
    app.stop().await;
}

#[tokio::test]
async fn watchlists_are_created_run_and_deleted_from_the_console() {
    let app = spawn_app(&[]).await;
    in_browser("watchlists", async |b| {
        b.goto(&app.url("/console#/watchlists")).await;
        b.type_into("#watch-user", "fay").await;
        b.click("#watchlists-user button[type='submit']").await;
        b.wait_text("#watchlists-summary", "fay has no watchlists")
            .await;

        b.set_value("#watch-kind", "budget").await;
        b.type_into("#watch-name", "March money").await;
        b.type_into("#watch-budget", "3000").await;
        b.type_into("#watch-spent", "500").await;
        b.type_into("#watch-period", "2027-03").await;
        b.type_into("#watch-from", "SGN").await;
        b.type_into("#watch-interests", "beach").await;
        b.click("#watch-form button[type='submit']").await;
        b.wait_text("#watchlists-table", "March money").await;
        let listed: Value = app
            .get("/v1/watchlists?user_id=fay")
            .await
            .json()
            .await
            .unwrap();
        let watchlist = &listed["watchlists"][0];
        assert_eq!(watchlist["budget_usd"], 3000.0);
        assert_eq!(watchlist["spent_usd"], 500.0);
        assert_eq!(watchlist["preferences"]["departure_city"], "SGN");

        b.click("#watchlists-table button[data-action='run']").await;
        let report = b.wait_text("#monitor-report", "1 watchlist checked").await;
        assert!(report.contains("budget check"), "{report}");

        b.click("#watchlists-table button[data-action='delete']")
            .await;
        b.wait_text("#watchlists-summary", "fay has no watchlists")
            .await;
        let listed: Value = app
            .get("/v1/watchlists?user_id=fay")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(listed["watchlists"], json!([]));
    })
    .await;
    app.stop().await;
}

#[tokio::test]
async fn with_api_keys_the_console_asks_for_a_key_for_this_tab_and_sends_it() {
    let app = spawn_app(&[("API_KEYS", "console-secret")]).await;
    let created = app
        .client
        .post(app.url("/v1/plan"))
        .header("x-api-key", "console-secret")
        .json(&json!({"user_id": "gus", "query": "5 days in Tokyo"}))
        .send()
        .await
        .unwrap();
    let id = created.json::<Value>().await.unwrap()["job_id"]
        .as_str()
        .unwrap()
        .to_string();

    in_browser("api_key", async |b| {
        b.goto(&app.url("/console#/jobs")).await;
        b.wait("#key-panel").await;
        b.wait_text("#key-reason", "needs an API key").await;
        b.wait_text("#view-jobs .view-error", "needs an API key")
            .await;

        b.type_into("#key-input", "wrong-key").await;
        b.press("#key-input", ENTER).await;
        b.wait_text("#key-reason", "refused").await;
        b.wait_text("#view-jobs .view-error", "refused").await;

        b.type_into("#key-input", "console-secret").await;
        b.press("#key-input", ENTER).await;
        b.wait(&format!("#jobs-table tr[data-job='{id}']")).await;
        let panel_hidden = b
            .run(
                "return document.querySelector('#key-panel').hidden;",
                json!([]),
            )
            .await;
        assert_eq!(panel_hidden, true);
        // Kept for this tab only.
        let stored = b
            .run(
                "return [sessionStorage.getItem('lotara.console.apiKey'), localStorage.length];",
                json!([]),
            )
            .await;
        assert_eq!(stored, json!(["console-secret", 0]));
        // And sent: the job view reads the status and streams.
        b.click(&format!("#jobs-table tr[data-job='{id}'] a")).await;
        b.wait_text("#job-status", "completed").await;
        b.wait("#budget-chart").await;
    })
    .await;
    app.stop().await;
}

/// Labels, names and layout every view must have; an empty list is a pass.
const AUDIT: &str = r#"
const problems = [];
for (const el of document.querySelectorAll('input, select, textarea')) {
  if (el.closest('[hidden]') || el.type === 'hidden') continue;
  if (!el.labels.length && !el.getAttribute('aria-label')) problems.push(`no label: #${el.id || el.name}`);
}
for (const el of document.querySelectorAll('button, a[href]')) {
  if (el.closest('[hidden]')) continue;
  const name = (el.getAttribute('aria-label') || el.textContent || '').trim();
  if (!name) problems.push(`no accessible name: ${el.outerHTML.slice(0, 80)}`);
}
for (const el of document.querySelectorAll('img')) {
  if (!el.hasAttribute('alt')) problems.push(`img without alt: ${el.src}`);
}
for (const el of document.querySelectorAll('[tabindex]')) {
  if (Number(el.getAttribute('tabindex')) > 0) problems.push(`tab order changed: #${el.id}`);
}
const ids = new Map();
for (const el of document.querySelectorAll('[id]')) ids.set(el.id, (ids.get(el.id) || 0) + 1);
for (const [id, n] of ids) if (n > 1) problems.push(`duplicate id ${id}`);
if (document.documentElement.scrollWidth > window.innerWidth + 1) {
  problems.push(`wider than the screen: ${document.documentElement.scrollWidth} > ${window.innerWidth}`);
}
if (!document.querySelector('main h1:not([hidden])')) problems.push('no heading');
return problems;
"#;

#[tokio::test]
async fn every_view_is_labelled_keyboard_reachable_and_fits_a_phone() {
    let app = spawn_app(&[]).await;
    let done = app
        .start_job(
            "/v1/plan",
            json!({"user_id": "hal", "query": "5 days in Tokyo from LAX"}),
        )
        .await;
    app.wait_finished(&done).await;
    let paused = paused_plan(&app, "hal").await;

    in_browser("audit", async |b| {
        b.resize(390, 844).await;
        for (view, ready) in [
            ("#/new".to_string(), "#plan-form"),
            ("#/jobs".to_string(), "#jobs-table tbody tr"),
            ("#/approvals".to_string(), "article[data-job]"),
            ("#/watchlists".to_string(), "#watch-form"),
            (format!("#/jobs/{done}"), "#budget-chart"),
            (format!("#/jobs/{paused}"), "#job-approval form.decision"),
        ] {
            b.goto(&app.url(&format!("/console{view}"))).await;
            b.wait(ready).await;
            let problems = b.run(AUDIT, json!([])).await;
            assert_eq!(problems, json!([]), "{view}");
        }
        // Tab moves through the form in reading order.
        b.goto(&app.url("/console#/new")).await;
        b.wait("#plan-form").await;
        b.run("document.querySelector('#plan-query').focus();", json!([]))
            .await;
        b.press_key("\u{E004}").await;
        let focused = b.run("return document.activeElement.id;", json!([])).await;
        assert_eq!(focused, "plan-destination");
    })
    .await;
    app.stop().await;
}
