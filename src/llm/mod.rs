//! The chat model: an OpenAI-compatible chat-completions client (OpenAI,
//! Gemini's OpenAI endpoint, Ollama, vLLM, llama.cpp server), streamed and
//! capped answers, prompts fitted to the model's context, structured JSON
//! answers with one repair attempt, and per-job token accounting.

mod answer;
mod client;
mod fit;
mod meter;
pub mod schema;
mod server;

pub use client::{
    CallError, CallRecord, Caller, CutDetail, LlmClient, LlmError, LlmSettings, Message,
    NoProgress, Progress, Structured, Usage,
};
pub use fit::{Prompt, estimate_tokens};
pub use meter::{TokenMeter, TokenUsage};
pub use server::Probe;
