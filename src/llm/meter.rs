//! Token accounting for one job: every call's usage is added, and a call is
//! refused once the job's `budget_tokens` is spent.

use std::sync::atomic::{AtomicU64, Ordering};

use super::client::Usage;

/// A job's LLM usage so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenUsage {
    pub calls: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
}

#[derive(Debug)]
pub struct TokenMeter {
    limit: u64,
    calls: AtomicU64,
    prompt: AtomicU64,
    completion: AtomicU64,
}

impl TokenMeter {
    /// Starts from what earlier runs of the job already used.
    pub fn new(limit: u64, already: &TokenUsage) -> Self {
        Self {
            limit,
            calls: AtomicU64::new(already.calls),
            prompt: AtomicU64::new(already.prompt_tokens),
            completion: AtomicU64::new(already.completion_tokens),
        }
    }

    pub fn used(&self) -> u64 {
        self.prompt.load(Ordering::Relaxed) + self.completion.load(Ordering::Relaxed)
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    pub fn exhausted(&self) -> bool {
        self.used() >= self.limit
    }

    pub fn record(&self, usage: &Usage) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.prompt
            .fetch_add(usage.prompt_tokens, Ordering::Relaxed);
        self.completion
            .fetch_add(usage.completion_tokens, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> TokenUsage {
        let prompt = self.prompt.load(Ordering::Relaxed);
        let completion = self.completion.load(Ordering::Relaxed);
        TokenUsage {
            calls: self.calls.load(Ordering::Relaxed),
            prompt_tokens: prompt,
            completion_tokens: completion,
            total_tokens: prompt + completion,
        }
    }
}
