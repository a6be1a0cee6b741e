//! Prometheus: the process-wide metrics recorder that `/metrics` renders.
//! Metrics are recorded with the `metrics` macros where things happen.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// The metrics recorder is process-global; every application in the process
/// (tests start several) shares it. Installed exactly once.
pub fn handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            const BUCKETS: &[f64] = &[
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ];
            let recorder = match PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("duration_seconds".into()), BUCKETS)
            {
                Ok(builder) => builder.build_recorder(),
                Err(_) => PrometheusBuilder::new().build_recorder(),
            };
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics may be empty");
            }
            register_series();
            let upkeep = handle.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    upkeep.run_upkeep();
                }
            });
            handle
        })
        .clone()
}

/// Every series the service exports, at zero, so dashboards and alerts
/// (`rate(...)`, absence checks) work before first use. Gauges are moved by
/// zero, not set: the recorder is process-wide.
fn register_series() {
    for mode in ["reactive", "proactive"] {
        metrics::counter!("lotara_jobs_created_total", "mode" => mode).increment(0);
    }
    for outcome in ["ok", "rejected", "failed"] {
        metrics::counter!("lotara_llm_calls_total", "outcome" => outcome).increment(0);
    }
    for task in ["price_check", "calendar_check", "budget_check"] {
        metrics::counter!("lotara_monitor_runs_total", "task" => task).increment(0);
    }
    for trigger in ["price_drop", "calendar_gap", "budget_surplus"] {
        metrics::counter!("lotara_suggestions_total", "trigger" => trigger).increment(0);
    }
    for reason in ["queue_full", "stopped", "rejected", "send_failed"] {
        metrics::counter!("lotara_opik_dropped_items_total", "reason" => reason).increment(0);
    }
    for name in [
        "lotara_llm_tokens_total",
        "lotara_feedback_total",
        "lotara_opik_sent_items_total",
        "lotara_opik_outages_total",
    ] {
        metrics::counter!(name).increment(0);
    }
    for name in [
        "lotara_sse_streams_open",
        "lotara_hub_subscribers",
        "lotara_queue_depth",
        "lotara_opik_unsent_items",
    ] {
        metrics::gauge!(name).increment(0.0);
    }
}
