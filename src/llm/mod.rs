//! The chat model: an OpenAI-compatible chat-completions client (OpenAI,
//! Gemini's OpenAI endpoint, Ollama, vLLM, llama.cpp server), structured
//! JSON answers with one repair attempt, and per-job token accounting.

mod client;
mod meter;
pub mod schema;

pub use client::{
    CallError, CallRecord, LlmClient, LlmError, LlmSettings, Message, Structured, Usage,
};
pub use meter::{TokenMeter, TokenUsage};
