//! What the model server says about itself: the model's context size and
//! whether it is llama.cpp (read once per process), and whether it serves
//! the configured model (the `/health` probe).

use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

/// How long the context look-ups may take each: they run before a job's
/// first call, so a server without these endpoints must not hold it up.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(2);

/// The server's root: the base URL without its OpenAI-compatible `/v1`
/// (llama.cpp and Ollama serve their own endpoints beside it).
fn root(base_url: &str) -> &str {
    let base = base_url.trim_end_matches('/');
    base.strip_suffix("/v1").unwrap_or(base)
}

fn endpoint(base_url: &str, path: &str) -> String {
    format!("{}/{path}", base_url.trim_end_matches('/'))
}

/// What a self-hosted server says about itself, asked once per process.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct ServerFacts {
    /// The context size the server runs the model with, in tokens.
    pub context: Option<u32>,
    /// It is llama.cpp's `llama-server` (its `GET /props` answered), which
    /// reports prompt processing while streaming when asked
    /// (`return_progress`).
    pub llama_cpp: bool,
}

/// The context size the server runs the model with, in tokens, where it
/// says: llama.cpp's `GET /props` (`default_generation_settings.n_ctx`),
/// vLLM's `GET /v1/models` (`max_model_len`), Ollama's `POST /api/show`
/// (`num_ctx` in its parameters, else `model_info.<arch>.context_length`);
/// `None` when no endpoint answers: hosted providers do not say, and their
/// contexts are large. Also whether the server is llama.cpp.
pub(super) async fn discover(
    http: &reqwest::Client,
    base_url: &str,
    key: Option<&str>,
    model: &str,
) -> ServerFacts {
    let root = root(base_url);
    let props = get_json(http.get(format!("{root}/props")), key).await;
    if let Some(n) = props.as_ref().and_then(llama_cpp_context) {
        return ServerFacts {
            context: Some(n),
            llama_cpp: true,
        };
    }
    let models = get_json(http.get(endpoint(base_url, "models")), key).await;
    if let Some(n) = models.as_ref().and_then(|m| vllm_context(m, model)) {
        return ServerFacts {
            context: Some(n),
            llama_cpp: false,
        };
    }
    let show = http
        .post(format!("{root}/api/show"))
        .json(&json!({ "model": model }));
    ServerFacts {
        context: get_json(show, key).await.as_ref().and_then(ollama_context),
        llama_cpp: false,
    }
}

async fn get_json(request: reqwest::RequestBuilder, key: Option<&str>) -> Option<Value> {
    let request = match key {
        Some(key) => request.bearer_auth(key),
        None => request,
    };
    let response = request.timeout(LOOKUP_TIMEOUT).send().await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    response.json().await.ok()
}

fn positive(value: &Value) -> Option<u32> {
    value
        .as_u64()
        .filter(|n| *n > 0)
        .and_then(|n| u32::try_from(n).ok())
}

fn llama_cpp_context(props: &Value) -> Option<u32> {
    positive(&props["default_generation_settings"]["n_ctx"])
}

fn vllm_context(models: &Value, model: &str) -> Option<u32> {
    models["data"]
        .as_array()?
        .iter()
        .find(|m| m["id"].as_str().is_some_and(|id| same_model(id, model)))
        .and_then(|m| positive(&m["max_model_len"]))
}

/// Ollama runs a model with `num_ctx` (set in its Modelfile, else the
/// server's default, which may be smaller than what the model was trained
/// for): that is preferred to the model's `context_length`.
fn ollama_context(show: &Value) -> Option<u32> {
    let num_ctx = show["parameters"].as_str().and_then(|params| {
        params.lines().find_map(|line| {
            let mut words = line.split_whitespace();
            (words.next() == Some("num_ctx"))
                .then(|| words.next()?.parse::<u32>().ok())
                .flatten()
        })
    });
    num_ctx.or_else(|| {
        show["model_info"]
            .as_object()?
            .iter()
            .find(|(key, _)| key.ends_with(".context_length"))
            .and_then(|(_, n)| positive(n))
    })
}

/// Whether a listed model id names the configured model (Ollama lists
/// `llama3.1:latest` for `llama3.1`).
fn same_model(listed: &str, configured: &str) -> bool {
    let plain = |name: &str| name.strip_suffix(":latest").unwrap_or(name).to_string();
    plain(listed) == plain(configured)
}

/// A probe that succeeded: how long it took and how the model was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    pub latency: Duration,
    /// `models` (the server lists it) or `completion` (a 1-token answer).
    pub method: &'static str,
}

/// Checks that the server serves `model`: `GET /models` lists it, or else
/// a 1-token completion with it answers (llama.cpp serves its one model
/// under any name; a hosted provider refuses an unknown one). `body` is
/// that completion's request.
pub(super) async fn probe(
    http: &reqwest::Client,
    base_url: &str,
    key: Option<&str>,
    model: &str,
    body: &Value,
) -> Result<Probe, String> {
    let started = Instant::now();
    let authorised = |request: reqwest::RequestBuilder| match key {
        Some(key) => request.bearer_auth(key),
        None => request,
    };
    let listed = authorised(http.get(endpoint(base_url, "models")))
        .send()
        .await
        .map_err(|e| connection_failure(&e))?;
    let listed_status = listed.status();
    let models: Option<Value> = listed.json().await.ok();
    let ids: Vec<String> = models
        .as_ref()
        .and_then(|m| m["data"].as_array())
        .map(|list| {
            list.iter()
                .filter_map(|m| m["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if ids.iter().any(|id| same_model(id, model)) {
        return Ok(Probe {
            latency: started.elapsed(),
            method: "models",
        });
    }
    let answered = authorised(http.post(endpoint(base_url, "chat/completions")))
        .json(body)
        .send()
        .await
        .map_err(|e| connection_failure(&e))?;
    if answered.status().is_success() {
        return Ok(Probe {
            latency: started.elapsed(),
            method: "completion",
        });
    }
    let listing = if listed_status.is_success() {
        format!("the server lists {}", shown(&ids))
    } else {
        format!("GET /models answered HTTP {}", listed_status.as_u16())
    };
    Err(format!(
        "model {model} not served ({listing}; a 1-token completion answered HTTP {})",
        answered.status().as_u16()
    ))
}

fn shown(ids: &[String]) -> String {
    match ids.len() {
        0 => "no models".into(),
        1..=5 => ids.join(", "),
        n => format!("{} and {} more", ids[..5].join(", "), n - 5),
    }
}

/// Our words for a request that got no answer (the raw error is logged).
pub(super) fn connection_failure(error: &reqwest::Error) -> String {
    tracing::debug!(%error, "LLM server request failed");
    if error.is_timeout() {
        "no answer in time".into()
    } else if error.is_connect() {
        "cannot connect to the server".into()
    } else {
        "the connection failed".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_server_states_its_context_its_own_way() {
        let props =
            json!({"default_generation_settings": {"n_ctx": 4096, "params": {}}, "total_slots": 1});
        assert_eq!(llama_cpp_context(&props), Some(4096));
        let vllm = json!({"data": [{"id": "Qwen/Qwen2.5-7B", "max_model_len": 32768}]});
        assert_eq!(vllm_context(&vllm, "Qwen/Qwen2.5-7B"), Some(32768));
        assert_eq!(vllm_context(&vllm, "other"), None);
        let show = json!({"parameters": "stop \"<|eot|>\"\nnum_ctx 8192", "model_info": {"llama.context_length": 131072}});
        assert_eq!(ollama_context(&show), Some(8192));
        let trained = json!({"model_info": {"general.architecture": "gemma3", "gemma3.context_length": 32768}});
        assert_eq!(ollama_context(&trained), Some(32768));
        assert_eq!(ollama_context(&json!({"error": "model not found"})), None);
    }

    #[test]
    fn the_root_drops_the_openai_prefix() {
        assert_eq!(root("http://localhost:8080/v1"), "http://localhost:8080");
        assert_eq!(root("http://localhost:11434/v1/"), "http://localhost:11434");
        assert_eq!(root("http://proxy/llm"), "http://proxy/llm");
        assert!(same_model("llama3.1:latest", "llama3.1"));
        assert!(!same_model("llama3.1:8b", "llama3.1"));
    }
}
