//! Reading a chat-completion answer as it arrives: server-sent chunks in
//! OpenAI's chunk format (`stream: true`), or one JSON body from a server
//! that ignores `stream`. Every wait is bounded twice: by the idle timeout
//! (nothing arrived for too long) and by the call's deadline.
//!
//! The reader owns the response: when its future is dropped (the job was
//! cancelled), the response goes with it and the connection is closed, which
//! is what makes a server stop generating.

use std::time::Duration;

use eventsource_stream::Eventsource;
use futures::{Stream, StreamExt};
use serde::Deserialize;
use tokio::time::Instant;

use super::client::Usage;

/// How long the reader may wait.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    pub idle: Duration,
    pub deadline: Instant,
}

/// What came back, whole.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Answer {
    pub text: String,
    /// What the server reported; `None` when it reported nothing.
    pub usage: Option<Usage>,
    pub model: Option<String>,
    /// Why the answer stopped short, when it did.
    pub cut: Option<Cut>,
    /// Content chunks received (about one token each on llama.cpp, Ollama
    /// and OpenAI).
    pub chunks: u64,
}

/// How an answer was cut off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cut {
    /// At its token cap (`finish_reason: "length"`).
    Length,
    /// At the call's deadline, while it was still coming.
    Deadline,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum ReadError {
    /// Nothing arrived for the idle timeout; `chunks` is how many content
    /// chunks had come before.
    Idle { after: Duration, chunks: u64 },
    /// The call's deadline passed, with the text so far.
    Deadline { text: String, chunks: u64 },
    /// The connection broke or the body is unreadable (worth a retry).
    Broken(String),
    /// The server put an error in the stream; its raw text.
    Provider(String),
}

/// Reports the answer so far: content chunks and the text.
pub(super) type OnChunk<'a> = dyn FnMut(u64, &str) + Send + 'a;

/// Reads the response: as server-sent chunks when it says it is an event
/// stream, else as one JSON completion.
pub(super) async fn read(
    response: reqwest::Response,
    limits: Limits,
    on_chunk: &mut OnChunk<'_>,
) -> Result<Answer, ReadError> {
    let streamed = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"));
    if streamed {
        read_chunks(response.bytes_stream(), limits, on_chunk).await
    } else {
        read_whole(response.bytes_stream(), limits).await
    }
}

/// Awaits `next` within the limits. `chunks` and `text` describe what has
/// arrived, for the error.
pub(super) async fn within<T>(
    limits: Limits,
    next: impl Future<Output = T>,
    chunks: u64,
    text: &str,
) -> Result<T, ReadError> {
    let left = limits.deadline.saturating_duration_since(Instant::now());
    if limits.idle < left {
        tokio::time::timeout(limits.idle, next)
            .await
            .map_err(|_| ReadError::Idle {
                after: limits.idle,
                chunks,
            })
    } else {
        tokio::time::timeout(left, next)
            .await
            .map_err(|_| ReadError::Deadline {
                text: text.to_string(),
                chunks,
            })
    }
}

async fn read_whole<S, B>(body: S, limits: Limits) -> Result<Answer, ReadError>
where
    S: Stream<Item = reqwest::Result<B>> + Unpin,
    B: AsRef<[u8]>,
{
    let mut body = body;
    let mut bytes = Vec::new();
    while let Some(piece) = within(limits, body.next(), 0, "").await? {
        let piece = piece.map_err(|e| ReadError::Broken(e.to_string()))?;
        bytes.extend_from_slice(piece.as_ref());
    }
    whole_answer(&bytes)
}

/// A non-streamed completion's body.
pub(super) fn whole_answer(bytes: &[u8]) -> Result<Answer, ReadError> {
    let reply: Completion = serde_json::from_slice(bytes)
        .map_err(|e| ReadError::Broken(format!("unreadable reply: {e}")))?;
    let choice = reply.choices.into_iter().next();
    let cut = choice
        .as_ref()
        .is_some_and(|c| c.finish_reason.as_deref() == Some("length"))
        .then_some(Cut::Length);
    let text = choice.and_then(|c| c.message.content).unwrap_or_default();
    Ok(Answer {
        chunks: u64::from(!text.is_empty()),
        text,
        usage: reply.usage,
        model: reply.model,
        cut,
    })
}

async fn read_chunks<S, B>(
    body: S,
    limits: Limits,
    on_chunk: &mut OnChunk<'_>,
) -> Result<Answer, ReadError>
where
    S: Stream<Item = reqwest::Result<B>> + Unpin,
    B: AsRef<[u8]>,
{
    let mut events = body.eventsource();
    let mut answer = Answer {
        text: String::new(),
        usage: None,
        model: None,
        cut: None,
        chunks: 0,
    };
    let mut finished = false;
    loop {
        let next = within(limits, events.next(), answer.chunks, &answer.text).await?;
        let Some(event) = next else { break };
        let event = event.map_err(|e| ReadError::Broken(e.to_string()))?;
        let data = event.data.trim();
        if data == "[DONE]" {
            finished = true;
            break;
        }
        if data.is_empty() {
            continue;
        }
        let chunk: Chunk = serde_json::from_str(data)
            .map_err(|e| ReadError::Broken(format!("unreadable chunk: {e}")))?;
        if let Some(error) = chunk.error {
            return Err(ReadError::Provider(error.to_string()));
        }
        answer.model = answer.model.or(chunk.model);
        answer.usage = chunk.usage.or(answer.usage);
        for choice in chunk.choices {
            if let Some(content) = choice.delta.content.filter(|c| !c.is_empty()) {
                answer.text.push_str(&content);
                answer.chunks += 1;
                on_chunk(answer.chunks, &answer.text);
            }
            match choice.finish_reason.as_deref() {
                None | Some("") => {}
                Some(reason) => {
                    finished = true;
                    if reason == "length" {
                        answer.cut = Some(Cut::Length);
                    }
                }
            }
        }
    }
    if finished {
        Ok(answer)
    } else {
        Err(ReadError::Broken(
            "the stream ended before the answer did".into(),
        ))
    }
}

#[derive(Deserialize)]
struct Completion {
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default)]
    model: Option<String>,
}

#[derive(Deserialize)]
struct Choice {
    message: ChoiceMessage,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct ChoiceMessage {
    #[serde(default)]
    content: Option<String>,
}

/// One streamed chunk; the last may carry only `usage` (with
/// `stream_options.include_usage`), and a failing server an `error`.
#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<ChunkChoice>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ChunkChoice {
    #[serde(default)]
    delta: Delta,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize, Default)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            idle: Duration::from_secs(5),
            deadline: Instant::now() + Duration::from_secs(5),
        }
    }

    fn body(parts: &[&str]) -> impl Stream<Item = reqwest::Result<Vec<u8>>> + Unpin {
        let owned: Vec<reqwest::Result<Vec<u8>>> =
            parts.iter().map(|p| Ok(p.as_bytes().to_vec())).collect();
        futures::stream::iter(owned)
    }

    #[tokio::test]
    async fn chunks_split_anywhere_make_the_answer_with_its_usage() {
        let sse = concat!(
            "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n",
            "data: {\"choices\":[{\"delta\":{\"content\":\"{\\\"a\\\"\"},\"finish_reason\":null}],\"model\":\"m\"}\n\n",
            ": keep-alive\n\n",
            "data: {\"choices\":[{\"delta\":{\"content\":\":1}\"},\"finish_reason\":null}]}\n\n",
            "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
            "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":2,\"total_tokens\":9}}\n\n",
            "data: [DONE]\n\n",
        );
        let (head, tail) = sse.split_at(57);
        let mut seen = Vec::new();
        let answer = read_chunks(body(&[head, tail]), limits(), &mut |n, text: &str| {
            seen.push((n, text.to_string()))
        })
        .await
        .unwrap();
        assert_eq!(answer.text, "{\"a\":1}");
        assert_eq!(answer.cut, None);
        assert_eq!(answer.model.as_deref(), Some("m"));
        assert_eq!(answer.usage.unwrap().completion_tokens, 2);
        assert_eq!(seen, [(1, "{\"a\"".into()), (2, "{\"a\":1}".into())]);
    }

    #[tokio::test]
    async fn a_length_finish_is_a_cut_answer_and_a_stream_without_an_end_is_broken() {
        let cut = "data: {\"choices\":[{\"delta\":{\"content\":\"[1,\"},\"finish_reason\":\"length\"}]}\n\n";
        let answer = read_chunks(body(&[cut]), limits(), &mut |_, _: &str| {})
            .await
            .unwrap();
        assert_eq!(answer.cut, Some(Cut::Length));
        let open =
            "data: {\"choices\":[{\"delta\":{\"content\":\"[1,\"},\"finish_reason\":null}]}\n\n";
        let err = read_chunks(body(&[open]), limits(), &mut |_, _: &str| {})
            .await
            .unwrap_err();
        assert!(matches!(err, ReadError::Broken(_)), "{err:?}");
        let error = "data: {\"error\":{\"message\":\"boom\"}}\n\n";
        let err = read_chunks(body(&[error]), limits(), &mut |_, _: &str| {})
            .await
            .unwrap_err();
        assert!(matches!(err, ReadError::Provider(m) if m.contains("boom")));
    }

    #[tokio::test]
    async fn a_silent_stream_is_abandoned_after_the_idle_timeout() {
        let first =
            "data: {\"choices\":[{\"delta\":{\"content\":\"x\"},\"finish_reason\":null}]}\n\n";
        let stalled = futures::stream::iter(vec![Ok(first.as_bytes().to_vec())])
            .chain(futures::stream::pending());
        let limits = Limits {
            idle: Duration::from_millis(50),
            deadline: Instant::now() + Duration::from_secs(5),
        };
        let err = read_chunks(Box::pin(stalled), limits, &mut |_, _: &str| {})
            .await
            .unwrap_err();
        assert_eq!(
            err,
            ReadError::Idle {
                after: Duration::from_millis(50),
                chunks: 1
            }
        );
    }
}
