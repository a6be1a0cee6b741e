//! The LLM backend against model servers that misbehave the way real ones
//! do, played by the local fake OpenAI-compatible server over its real wire
//! format: a model that never stops (only its token cap ends it), one that
//! stalls mid-stream, one that ignores `stream`, a prompt longer than the
//! context, refusals, and a job cancelled while the model writes. Every
//! job goes through the real HTTP API.

mod support;

use std::time::{Duration, Instant};

use lotara::llm::{LlmClient, LlmSettings};
use serde_json::{Value, json};
use support::app::{TestApp, spawn_app};
use support::fake_llm::{FakeLlm, Reply, prompt_tokens, token_cap};
use support::sse::SseReader;

const WAIT: Duration = Duration::from_secs(20);
const MODEL: &str = "fake-model-x";

/// The service with only what points it at the fake: every LLM limit at its
/// default unless `extra` says otherwise.
async fn app_with(llm: &FakeLlm, extra: &[(&str, &str)]) -> TestApp {
    let mut vars = vec![
        ("LLM_BASE_URL", llm.url.as_str()),
        ("LLM_API_KEY", "test-key"),
        ("LLM_MODEL", MODEL),
    ];
    vars.extend_from_slice(extra);
    spawn_app(&vars).await
}

fn tokyo() -> Value {
    json!({"user_id": "u1", "query": "Five days eating my way through Tokyo with my partner, flying from Los Angeles"})
}

/// A model that loops on the destination list and never closes it.
fn looping() -> Reply {
    Reply::Endless {
        opening: "{\"destinations\": [".into(),
        piece: "\"Tokyo, Japan\", ".into(),
        every: Duration::from_millis(1),
    }
}

fn message(status: &Value) -> &str {
    status["error"]["message"].as_str().unwrap_or_default()
}

/// The grounding facts in a refining agent's prompt.
fn facts_of(request: &Value) -> &str {
    let user = request["messages"][1]["content"].as_str().unwrap();
    let facts = user.split_once("dataset:\n").unwrap().1;
    facts.split_once("\n\nDraft to check").unwrap().0
}

/// The task of `status` that failed.
fn failed_agent(status: &Value) -> String {
    status["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["status"] == "failed")
        .map(|t| t["agent"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("no failed task: {status}"))
}

#[tokio::test]
async fn a_model_that_never_stops_is_cut_at_its_cap_and_the_job_fails_clearly_within_a_minute() {
    let llm = FakeLlm::start().await;
    llm.script(std::iter::repeat_n(looping(), 30));
    let app = app_with(&llm, &[]).await;
    let started = Instant::now();
    let id = app.start_job("/v1/plan", tokyo()).await;
    let status = app.wait_finished(&id).await;
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(status["status"], "failed", "{status}");
    assert_eq!(status["error"]["code"], "llm_failed");
    let said = message(&status);
    assert!(
        said.contains(MODEL)
            && said.contains("tokens cut the answer off")
            && said.contains("also when asked for a shorter answer"),
        "{said}"
    );

    for request in llm.requests() {
        assert_eq!(request["stream"], true);
        assert_eq!(request["stream_options"]["include_usage"], true);
        let cap = token_cap(&request).expect("every request carries a token cap");
        assert!(cap <= 4_096, "{cap}");
    }
    let intake = llm.requests_for("trip_request");
    assert_eq!(intake.len(), 2, "the call and one shorter ask");
    assert_eq!(token_cap(&intake[0]), Some(300), "intake's own cap");
    // The repair shows the model the cut answer's beginning, not all of it.
    let cut_answer_chars = "{\"destinations\": [".len() + 299 * "\"Tokyo, Japan\", ".len();
    let repair = intake[1]["messages"].as_array().unwrap();
    assert_eq!(repair.len(), 4);
    assert_eq!(repair[2]["role"], "assistant");
    let excerpt = repair[2]["content"].as_str().unwrap();
    assert!(excerpt.starts_with("{\"destinations\": [\"Tokyo, Japan\""));
    assert!(excerpt.chars().count() <= 201, "{} chars", excerpt.len());
    let ask = repair[3]["content"].as_str().unwrap();
    assert!(
        ask.contains("cut off at the limit of 300 tokens") && ask.contains("shorter"),
        "{ask}"
    );
    let repair_chars: usize = repair
        .iter()
        .map(|m| m["content"].as_str().unwrap().len())
        .sum();
    assert!(
        repair_chars < cut_answer_chars,
        "{repair_chars} ≥ {cut_answer_chars}"
    );
    // Every cut answer went out to its end: the cap, not the client, stopped it.
    assert!(llm.finished() >= 2);
    let job = app.store.get(id.parse().unwrap()).await.unwrap().unwrap();
    assert!(job.usage.calls >= 2, "cut answers count: {:?}", job.usage);
}

#[tokio::test]
async fn an_answer_cut_at_its_cap_gets_one_shorter_ask_and_the_job_completes() {
    let llm = FakeLlm::start().await;
    llm.script([looping()]);
    let app = app_with(&llm, &[]).await;
    let id = app.start_job("/v1/plan", tokyo()).await;
    let status = app.wait_finished(&id).await;
    assert_eq!(status["status"], "completed", "{status}");
    let intake = llm.requests_for("trip_request");
    assert_eq!(intake.len(), 2);
    let excerpt = intake[1]["messages"][2]["content"].as_str().unwrap();
    assert!(excerpt.ends_with('…') && excerpt.chars().count() <= 201);
    let task = status["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["agent"] == "intake_agent")
        .unwrap();
    assert!(
        task["confidence_score"].as_f64().unwrap() < 0.9,
        "a repaired answer is less certain"
    );
}

#[tokio::test]
async fn a_stream_that_stalls_is_abandoned_after_the_idle_timeout_well_before_the_total_one() {
    let llm = FakeLlm::start().await;
    llm.script(std::iter::repeat_n(Reply::Stall { chunks: 3 }, 30));
    let app = app_with(&llm, &[("LLM_IDLE_TIMEOUT_SECS", "1")]).await;
    let started = Instant::now();
    let id = app.start_job("/v1/plan", tokyo()).await;
    let status = app.wait_finished(&id).await;
    let took = started.elapsed();
    assert_eq!(status["status"], "failed", "{status}");
    assert!(
        took < Duration::from_secs(15),
        "the total timeout is 30 s: {took:?}"
    );
    let said = message(&status);
    assert!(
        said.contains(MODEL) && said.contains("stopped sending its answer for 1s"),
        "{said}"
    );
    let agent = failed_agent(&status);
    let schema = if agent == "intake_agent" {
        "trip_request"
    } else {
        agent.as_str()
    };
    assert_eq!(
        llm.requests_for(schema).len(),
        2,
        "a stalled call is retried once"
    );
    // The abandoned streams' connections were closed, not left hanging.
    support::wait_for("the stalled streams to be closed", WAIT, || async {
        (llm.closed_early() >= 2).then_some(())
    })
    .await;
}

/// A llama.cpp server on a CPU takes seconds over a long prompt before its
/// first token (26 s for three 2,800-token prompts at once in the
/// real-model run). Asked for its progress, it is busy, not silent.
#[tokio::test]
async fn a_llama_cpp_server_reading_a_long_prompt_reports_progress_and_is_waited_for() {
    let llm = FakeLlm::start().await;
    llm.set_context(100_000); // `/props` answers: the server is llama.cpp
    llm.script(std::iter::repeat_n(
        Reply::SlowPrompt(Duration::from_millis(1_600)),
        12,
    ));
    let app = app_with(&llm, &[("LLM_IDLE_TIMEOUT_SECS", "1")]).await;
    let id = app.start_job("/v1/plan", tokyo()).await;
    let status = app.wait_finished(&id).await;
    assert_eq!(status["status"], "completed", "{status}");
    let requests = llm.requests();
    assert!(requests.len() >= 6, "{} calls", requests.len());
    assert!(
        requests.iter().all(|r| r["return_progress"] == true),
        "every call asked llama.cpp for its progress"
    );
}

/// The same slow prompt at a server that cannot report progress is
/// indistinguishable from a dead one: abandoned after the idle timeout, and
/// never sent llama.cpp's own field (OpenAI refuses unknown ones).
#[tokio::test]
async fn a_server_that_says_nothing_while_it_reads_the_prompt_is_abandoned_at_the_idle_timeout() {
    let llm = FakeLlm::start().await;
    llm.script(std::iter::repeat_n(
        Reply::SlowPrompt(Duration::from_secs(5)),
        12,
    ));
    let app = app_with(&llm, &[("LLM_IDLE_TIMEOUT_SECS", "1")]).await;
    let id = app.start_job("/v1/plan", tokyo()).await;
    let status = app.wait_finished(&id).await;
    assert_eq!(status["status"], "failed", "{status}");
    assert!(
        message(&status).contains("sent nothing for 1s"),
        "{}",
        message(&status)
    );
    assert!(
        llm.requests()
            .iter()
            .all(|r| r.get("return_progress").is_none()),
        "return_progress went to a server that is not llama.cpp"
    );
}

#[tokio::test]
async fn a_server_that_ignores_stream_and_answers_whole_is_understood() {
    let llm = FakeLlm::start().await;
    llm.script(std::iter::repeat_n(Reply::Whole, 6));
    let app = app_with(&llm, &[]).await;
    let id = app.start_job("/v1/plan", tokyo()).await;
    let status = app.wait_finished(&id).await;
    assert_eq!(status["status"], "completed", "{status}");
    assert_eq!(llm.requests().len(), 6);
    assert!(llm.requests().iter().all(|r| r["stream"] == true));
    assert_eq!(llm.finished(), 0, "nothing was streamed");
    let job = app.store.get(id.parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(
        job.usage.total_tokens,
        6 * 200,
        "usage read from the whole answers"
    );
}

#[tokio::test]
async fn cancelling_a_job_mid_stream_closes_the_connection_at_once() {
    let llm = FakeLlm::start().await;
    // 300 tokens at one per 50 ms: 15 s unless something stops it.
    llm.script([Reply::Endless {
        opening: "{".into(),
        piece: "\"a\": 1, ".into(),
        every: Duration::from_millis(50),
    }]);
    let app = app_with(&llm, &[]).await;
    let id = app.start_job("/v1/plan", tokyo()).await;
    let mut stream = SseReader::open(app.client.get(app.url(&format!("/v1/stream/{id}")))).await;
    loop {
        let frame = stream.next(WAIT).await.expect("the stream stays open");
        if frame.event() == "agent_progress" {
            break;
        }
    }
    let cancelled_at = Instant::now();
    let cancel = app.post_empty(&format!("/v1/jobs/{id}/cancel")).await;
    assert_eq!(cancel.status(), reqwest::StatusCode::OK);
    support::wait_for("the model's connection to be closed", WAIT, || async {
        (llm.closed_early() == 1).then_some(())
    })
    .await;
    assert!(
        cancelled_at.elapsed() < Duration::from_secs(3),
        "{:?}",
        cancelled_at.elapsed()
    );
    assert_eq!(llm.finished(), 0);
    assert_eq!(app.wait_finished(&id).await["status"], "cancelled");
    assert_eq!(
        llm.requests().len(),
        1,
        "nothing was asked after the cancel"
    );
    let rest = stream.events_until_closed(WAIT).await;
    assert!(
        rest.last()
            .is_some_and(|f| f.event() == "state_change" && f.json()["status"] == "cancelled"),
        "{rest:?}"
    );
}

#[tokio::test]
async fn a_timeout_is_retried_once_even_with_retries_to_spare() {
    let llm = FakeLlm::start().await;
    let hang = Reply::Hang(Duration::from_secs(10));
    llm.script(
        [Reply::Cooperate]
            .into_iter()
            .chain(std::iter::repeat_n(hang, 9)),
    );
    let app = app_with(&llm, &[("LLM_TIMEOUT_SECS", "1"), ("LLM_MAX_RETRIES", "3")]).await;
    let id = app.start_job("/v1/plan", tokyo()).await;
    let status = app.wait_finished(&id).await;
    assert_eq!(status["status"], "failed", "{status}");
    assert!(
        message(&status).contains("did not answer within 1s"),
        "{status}"
    );
    assert_eq!(llm.requests_for(&failed_agent(&status)).len(), 2);
    for agent in ["flight_agent", "hotel_agent", "activity_agent"] {
        assert!(llm.requests_for(agent).len() <= 2, "{agent}");
    }
}

#[tokio::test]
async fn a_refusal_other_than_429_is_never_retried_and_the_user_sees_our_words() {
    let llm = FakeLlm::start().await;
    let refuse = Reply::Status(400, None);
    llm.script(
        [Reply::Cooperate]
            .into_iter()
            .chain(std::iter::repeat_n(refuse, 3)),
    );
    let app = app_with(&llm, &[("LLM_MAX_RETRIES", "3")]).await;
    let id = app.start_job("/v1/plan", tokyo()).await;
    let status = app.wait_finished(&id).await;
    assert_eq!(status["status"], "failed", "{status}");
    let said = message(&status);
    assert!(
        said.contains(MODEL) && said.contains("rejected the request: HTTP 400"),
        "{said}"
    );
    assert!(
        !said.contains("scripted"),
        "the server's own text is logged, not shown: {said}"
    );
    for agent in ["flight_agent", "hotel_agent", "activity_agent"] {
        assert!(llm.requests_for(agent).len() <= 1, "{agent} was retried");
    }
}

#[tokio::test]
async fn prompts_are_fitted_to_the_context_the_server_states() {
    let llm = FakeLlm::start().await;
    // Room for every prompt whole but the activity agent's, whose answer
    // cap (1,500 tokens) leaves too little for all of its facts.
    let context = 3_000;
    llm.set_context(context);
    let app = app_with(&llm, &[]).await;
    let id = app.start_job("/v1/plan", tokyo()).await;
    let status = app.wait_finished(&id).await;
    assert_eq!(status["status"], "completed", "{status}");
    let requests = llm.requests();
    assert_eq!(requests.len(), 6, "no prompt was refused and sent again");
    for request in &requests {
        let cap = token_cap(request).unwrap();
        assert!(
            prompt_tokens(request) + cap <= context,
            "{} + {cap}",
            prompt_tokens(request)
        );
    }
    let hotel = &llm.requests_for("hotel_agent")[0];
    let activity = &llm.requests_for("activity_agent")[0];
    assert!(
        facts_of(activity).len() < facts_of(hotel).len(),
        "the activity agent's facts were trimmed"
    );
    let trimmed: Value = serde_json::from_str(facts_of(activity)).expect("trimmed facts stay JSON");
    assert_eq!(trimmed["destinations"][0]["city"], "Tokyo");
}

#[tokio::test]
async fn a_prompt_the_server_finds_too_long_is_trimmed_harder_once_not_resent_unchanged() {
    let llm = FakeLlm::start().await;
    llm.script([Reply::Cooperate, Reply::TooLong(3_000)]);
    let app = app_with(&llm, &[]).await;
    let id = app.start_job("/v1/plan", tokyo()).await;
    let status = app.wait_finished(&id).await;
    assert_eq!(status["status"], "completed", "{status}");
    let refused: Vec<Vec<Value>> = ["flight_agent", "hotel_agent", "activity_agent"]
        .iter()
        .map(|agent| llm.requests_for(agent))
        .filter(|requests| requests.len() > 1)
        .collect();
    assert_eq!(refused.len(), 1, "one agent got the 400");
    let (first, second) = (&refused[0][0], &refused[0][1]);
    assert_eq!(refused[0].len(), 2);
    assert!(facts_of(second).len() < facts_of(first).len());
    assert!(prompt_tokens(second) + token_cap(second).unwrap() <= 3_000);
}

#[tokio::test]
async fn a_context_too_small_for_any_prompt_fails_the_job_clearly() {
    let llm = FakeLlm::start().await;
    llm.set_context(200);
    // The operator's setting is wrong; the server's 400 says how large it is.
    let app = app_with(&llm, &[("LLM_CONTEXT_TOKENS", "100000")]).await;
    let id = app.start_job("/v1/plan", tokyo()).await;
    let status = app.wait_finished(&id).await;
    assert_eq!(status["status"], "failed", "{status}");
    let said = message(&status);
    assert!(
        said.contains(MODEL) && said.contains("context of 200 tokens"),
        "{said}"
    );
    for agent in [
        "trip_request",
        "flight_agent",
        "hotel_agent",
        "activity_agent",
    ] {
        assert!(
            llm.requests_for(agent).len() <= 1,
            "{agent} resent a refused prompt"
        );
    }
}

#[tokio::test]
async fn the_context_size_is_read_from_llama_cpp_or_ollama_once() {
    let settings = |url: &str| LlmSettings {
        base_url: url.to_string(),
        api_key: None,
        model: "gemma3:270m".into(),
        timeout: Duration::from_secs(5),
        idle_timeout: Duration::from_secs(5),
        max_retries: 0,
        max_concurrency: 1,
        max_tokens: 1_000,
        context_tokens: None,
        stream_text: false,
    };
    let llama_cpp = FakeLlm::start().await;
    llama_cpp.set_context(4_096);
    let client = LlmClient::new(settings(&llama_cpp.url)).unwrap();
    assert_eq!(client.context_tokens().await, Some(4_096));
    llama_cpp.set_context(8_192);
    assert_eq!(client.context_tokens().await, Some(4_096), "asked once");

    let ollama = FakeLlm::start().await;
    ollama.set_ollama_context(32_768);
    let client = LlmClient::new(settings(&ollama.url)).unwrap();
    assert_eq!(client.context_tokens().await, Some(32_768));

    let silent = FakeLlm::start().await;
    let client = LlmClient::new(settings(&silent.url)).unwrap();
    assert_eq!(client.context_tokens().await, None);
    let told = LlmClient::new(LlmSettings {
        context_tokens: Some(2_048),
        ..settings(&llama_cpp.url)
    })
    .unwrap();
    assert_eq!(
        told.context_tokens().await,
        Some(2_048),
        "LLM_CONTEXT_TOKENS wins"
    );
}

/// The `agent_progress` frames of a job, with when each arrived, from a
/// stream opened right after the job was created.
async fn progress_frames(app: &TestApp, id: &str) -> (Vec<(Instant, Value)>, Vec<String>) {
    let mut stream = SseReader::open(app.client.get(app.url(&format!("/v1/stream/{id}")))).await;
    let mut progress = Vec::new();
    let mut kinds = Vec::new();
    while let Some(frame) = stream.next(WAIT).await {
        let Some(kind) = frame.event.clone() else {
            continue;
        };
        if kind == "agent_progress" {
            assert!(frame.id.is_none(), "progress is not logged, so has no id");
            progress.push((Instant::now(), frame.json()));
        }
        kinds.push(kind);
    }
    (progress, kinds)
}

#[tokio::test]
async fn a_live_stream_hears_the_model_write_at_most_four_times_a_second() {
    let llm = FakeLlm::start().await;
    llm.set_chunk_delay(Duration::from_millis(25));
    let app = app_with(&llm, &[]).await;
    let id = app.start_job("/v1/plan", tokyo()).await;
    let (progress, kinds) = progress_frames(&app, &id).await;
    assert_eq!(kinds.last().map(String::as_str), Some("complete"));
    assert!(progress.len() >= 5, "{} progress events", progress.len());
    let mut last_tokens = std::collections::HashMap::new();
    for (_, data) in &progress {
        let keys: Vec<&String> = data.as_object().unwrap().keys().collect();
        assert!(
            keys.iter()
                .all(|k| ["agent", "tokens", "text"].contains(&k.as_str())),
            "{keys:?}"
        );
        let agent = data["agent"].as_str().expect("agent");
        let tokens = data["tokens"].as_u64().expect("tokens");
        assert!(tokens > 0);
        assert!(
            data.get("text").is_none(),
            "no text unless LLM_STREAM_TEXT=true"
        );
        let before = last_tokens.insert(agent.to_string(), tokens).unwrap_or(0);
        assert!(tokens >= before, "{agent}: {before} → {tokens}");
    }
    assert!(
        last_tokens.contains_key("activity_agent"),
        "{last_tokens:?}"
    );
    // Throttled per job: any five reports span about a second (the
    // interval is 250 ms; delivery may bunch them a little).
    for window in progress.windows(5) {
        let span = window[4].0 - window[0].0;
        assert!(span >= Duration::from_millis(750), "5 reports in {span:?}");
    }
    // A replay of the finished job holds only logged events.
    let (replayed, kinds) = progress_frames(&app, &id).await;
    assert!(replayed.is_empty() && kinds.contains(&"complete".to_string()));
}

#[tokio::test]
async fn progress_carries_the_text_so_far_only_when_asked() {
    let llm = FakeLlm::start().await;
    llm.set_chunk_delay(Duration::from_millis(25));
    let app = app_with(&llm, &[("LLM_STREAM_TEXT", "true")]).await;
    let id = app.start_job("/v1/plan", tokyo()).await;
    let (progress, _) = progress_frames(&app, &id).await;
    let (_, data) = progress.last().expect("progress events");
    let text = data["text"].as_str().expect("the text so far");
    assert!(text.starts_with('{') || text.starts_with('['), "{text}");
    assert!(text.chars().count() as u64 >= data["tokens"].as_u64().unwrap());
}

#[tokio::test]
async fn health_is_healthy_only_when_the_server_serves_the_configured_model() {
    let serving = FakeLlm::start().await;
    let app = app_with(&serving, &[]).await;
    let health: Value = app.get("/health").await.json().await.unwrap();
    assert_eq!(health["services"]["llm"], "healthy", "{health}");
    assert_eq!(health["llm_probe"]["model"], MODEL);
    assert_eq!(health["llm_probe"]["checked_by"], "models");
    assert!(health["llm_probe"]["latency_ms"].is_u64());

    let other = FakeLlm::start().await;
    other.serve_only(&["some-other-model"]);
    let app = app_with(&other, &[]).await;
    let health: Value = app.get("/health").await.json().await.unwrap();
    assert_eq!(health["status"], "degraded", "{health}");
    let llm = health["services"]["llm"].as_str().unwrap();
    assert!(
        llm.starts_with("unhealthy") && llm.contains(MODEL) && llm.contains("some-other-model"),
        "{llm}"
    );
    assert!(health["llm_probe"]["checked_by"].is_null());

    // llama.cpp serves its one model under any name: a 1-token completion
    // proves it.
    let any_name = FakeLlm::start().await;
    let app = app_with(&any_name, &[("LLM_MODEL", "local")]).await;
    let health: Value = app.get("/health").await.json().await.unwrap();
    assert_eq!(health["services"]["llm"], "healthy", "{health}");
    assert_eq!(health["llm_probe"]["checked_by"], "completion");
    let probe = &any_name.requests()[0];
    assert_eq!(probe["max_tokens"], 1);
    assert_eq!(probe["stream"], false);
}
