//! The workflow: the executor that runs queued jobs, the MotherAgent state
//! machine, its sub-agents and the plan they produce. Knows nothing of HTTP.

pub mod agents;
pub mod executor;
pub mod mother;
pub mod plan;
mod progress;
mod run;

pub use executor::{Executor, ExecutorSettings};
pub use mother::{MotherAgent, Outcome};
