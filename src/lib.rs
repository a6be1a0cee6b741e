//! Lotara AI backend: trip-planning jobs run by a multi-agent workflow,
//! streamed over SSE, paused for human approval, traced to Opik, and
//! suggested proactively by a cluster-wide scheduler.

pub mod app;
pub mod config;
pub mod http;
pub mod jobs;
pub mod knowledge;
pub mod llm;
pub mod observability;
pub mod outbound;
pub mod scheduler;
pub mod secret;
pub mod workflow;
