//! A raw Server-Sent Events reader for tests: it keeps what a browser's
//! parser hides (whether a frame had an `id:`, `retry:`, comment lines).

use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Frame {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: Option<String>,
    pub retry: Option<String>,
    pub comments: Vec<String>,
}

impl Frame {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.data.as_deref().unwrap_or("null")).expect("data is JSON")
    }

    pub fn event(&self) -> &str {
        self.event.as_deref().unwrap_or("")
    }
}

pub struct SseReader {
    body: BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buffer: String,
    pub status: reqwest::StatusCode,
    pub headers: reqwest::header::HeaderMap,
}

impl SseReader {
    pub async fn open(request: reqwest::RequestBuilder) -> Self {
        let response = request.send().await.expect("stream request sent");
        Self {
            status: response.status(),
            headers: response.headers().clone(),
            body: response.bytes_stream().boxed(),
            buffer: String::new(),
        }
    }

    /// The next frame, `None` when the server closed the stream. Fails the
    /// test if nothing arrives within `limit`.
    pub async fn next(&mut self, limit: Duration) -> Option<Frame> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let raw: String = self.buffer.drain(..end + 2).collect();
                return Some(parse(&raw));
            }
            match tokio::time::timeout(limit, self.body.next()).await {
                Err(_) => panic!("no SSE frame within {limit:?}; buffered: {:?}", self.buffer),
                Ok(None) => return None,
                Ok(Some(chunk)) => {
                    let chunk = chunk.expect("stream chunk");
                    self.buffer.push_str(&String::from_utf8_lossy(&chunk));
                }
            }
        }
    }

    /// Frames with an event (skipping keep-alive comments) until the stream
    /// closes.
    pub async fn events_until_closed(&mut self, limit: Duration) -> Vec<Frame> {
        let mut frames = Vec::new();
        while let Some(frame) = self.next(limit).await {
            if frame.event.is_some() {
                frames.push(frame);
            }
        }
        frames
    }
}

fn parse(raw: &str) -> Frame {
    let mut frame = Frame::default();
    for line in raw.lines() {
        if let Some(comment) = line.strip_prefix(':') {
            frame.comments.push(comment.trim().to_string());
            continue;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value).to_string();
        match field {
            "id" => frame.id = Some(value),
            "event" => frame.event = Some(value),
            "retry" => frame.retry = Some(value),
            "data" => {
                frame.data = Some(match frame.data.take() {
                    Some(prev) => format!("{prev}\n{value}"),
                    None => value,
                })
            }
            _ => {}
        }
    }
    frame
}
