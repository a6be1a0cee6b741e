//! `lotara [serve|worker|healthcheck]`.

use anyhow::Context;
use lotara::app::{Application, Role};
use lotara::config::Config;

fn usage() -> ! {
    eprintln!("usage: lotara [serve|worker|healthcheck]");
    std::process::exit(2);
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let command = std::env::args().nth(1).unwrap_or_else(|| "serve".into());
    let config = Config::from_env()?;
    let role = match command.as_str() {
        "serve" => Role::Serve,
        "worker" => Role::Worker,
        "healthcheck" => std::process::exit(healthcheck(&config).await),
        "-h" | "--help" | "help" => usage(),
        _ => usage(),
    };
    lotara::observability::logging::init(config.log_format);
    let app = Application::build(config, role).await?;
    let summary = app.summary();
    tracing::info!(
        url = summary.url.as_deref().unwrap_or("none (worker: no HTTP)"),
        docs = summary.docs.as_deref().unwrap_or("none"),
        store = summary.store.as_str(),
        planner = summary.planner.as_str(),
        opik = summary.opik.as_str(),
        ?role,
        "lotara started"
    );
    let token = app.shutdown_token();
    tokio::spawn(async move {
        wait_for_signal().await;
        token.cancel();
    });
    app.run_until_stopped().await
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// For the container's HEALTHCHECK: 0 when the local `/health` answers 200.
async fn healthcheck(config: &Config) -> i32 {
    let url = format!("http://127.0.0.1:{}/health", config.port);
    let result = async {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(3))
            .build()?;
        client.get(&url).send().await?.error_for_status()?;
        Ok::<_, reqwest::Error>(())
    }
    .await
    .context(url);
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("unhealthy: {e:#}");
            1
        }
    }
}
