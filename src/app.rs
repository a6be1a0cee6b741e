//! `Application::build(config)` wires the store, the HTTP API and the
//! workers, and binds the port (0 in tests: the OS picks one, reported by
//! `port()`), so every integration test starts the real service.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::http::{self, AppState};
use crate::jobs::{self, JobBackend, JobStore};
use crate::llm::LlmClient;
use crate::observability::{ExporterTask, Tracer, prometheus};
use crate::scheduler::cron::CronRunner;
use crate::scheduler::{
    FareSource, HttpFares, KnowledgeFares, MemoryWatchlists, RedisWatchlists, Scheduler,
    WatchlistStore,
};
use crate::workflow::{Executor, ExecutorSettings, MotherAgent};

/// What the process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The HTTP API and the workers.
    Serve,
    /// Workers only (scale job execution apart from the API).
    Worker,
}

pub struct Application {
    /// The whole store, for tests and tools; the parts get narrow views.
    backend: Arc<dyn JobBackend>,
    listener: Option<TcpListener>,
    port: u16,
    state: AppState,
    executor: Option<Arc<Executor>>,
    exporter: Option<ExporterTask>,
    /// `None` with `SCHEDULER_ENABLED=false`.
    cron: Option<CronRunner>,
}

/// A price feed that hangs must not hold up a whole price check.
const PRICE_FEED_TIMEOUT: Duration = Duration::from_secs(10);

/// Watchlists live next to the jobs: Redis when configured, else memory.
async fn open_scheduler(config: &Config, store: Arc<dyn JobStore>) -> anyhow::Result<Scheduler> {
    let watchlists: Arc<dyn WatchlistStore> = match &config.redis_url {
        Some(url) => Arc::new(
            RedisWatchlists::connect(url, &config.redis_key_prefix, config.redis_timeout)
                .await
                .context("cannot open the watchlist store")?,
        ),
        None => Arc::new(MemoryWatchlists::new()),
    };
    let settings = config.scheduler.clone();
    let fares: Arc<dyn FareSource> = match &settings.price_feed_url {
        Some(url) => Arc::new(
            HttpFares::new(url, PRICE_FEED_TIMEOUT, &settings.outbound)
                .context("PRICE_FEED_URL")?,
        ),
        None => Arc::new(KnowledgeFares),
    };
    Scheduler::new(watchlists, store, fares, settings).context("calendar feed client")
}

/// Names this replica, unique per process: the queue consumer it reads as
/// and the holder of the firing locks it takes, for operators.
fn replica_name() -> String {
    let host =
        hostname::get().map_or_else(|_| "unknown".into(), |h| h.to_string_lossy().into_owned());
    let tag = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}-{}-{}", std::process::id(), &tag[..8])
}

impl Application {
    pub async fn build(config: Config, role: Role) -> anyhow::Result<Self> {
        let config = Arc::new(config);
        raise_file_limit();
        // The gazetteer and the dataset load once per process; do it before serving.
        tokio::task::spawn_blocking(crate::knowledge::warm)
            .await
            .context("loading the bundled travel data")?;
        let backend: Arc<dyn JobBackend> =
            jobs::open_store(config.redis_url.as_deref(), config.store_settings())
                .await
                .context("cannot open the job store (is REDIS_URL right and Redis up?)")?;
        let llm = match &config.llm {
            Some(settings) => Some(Arc::new(
                LlmClient::new(settings.clone()).context("LLM client")?,
            )),
            None => None,
        };
        let (tracer, exporter) = match &config.opik {
            Some(settings) => {
                let (tracer, exporter) =
                    Tracer::start(settings, config.shutdown_grace).context("Opik client")?;
                (tracer, Some(exporter))
            }
            None => (Tracer::disabled(), None),
        };
        let store: Arc<dyn JobStore> = backend.clone();
        let scheduler = Arc::new(open_scheduler(&config, store.clone()).await?);
        let state = AppState {
            llm,
            tracer,
            scheduler: scheduler.clone(),
            store,
            limiter: backend.clone(),
            health: backend.clone(),
            config: config.clone(),
            metrics: prometheus::handle(),
            shutdown: CancellationToken::new(),
            reads: Default::default(),
        };
        let (listener, port) = match role {
            Role::Serve => {
                let addr = SocketAddr::new(config.host, config.port);
                let listener = TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen on {addr}"))?;
                let port = listener.local_addr()?.port();
                (Some(listener), port)
            }
            Role::Worker => (None, 0),
        };
        let replica = replica_name();
        let executor = (config.worker_concurrency > 0).then(|| {
            let agent = Arc::new(MotherAgent::new(
                state.store.clone(),
                config.approval_timeout,
                state.llm.clone(),
            ));
            Executor::new(
                state.store.clone(),
                backend.clone(),
                agent,
                ExecutorSettings {
                    concurrency: config.worker_concurrency,
                    lease: config.job_lease,
                    max_attempts: config.job_max_attempts,
                    approval_timeout: config.approval_timeout,
                    claim_wait: Duration::from_secs(2),
                    consumer: replica.clone(),
                },
                state.tracer.clone(),
            )
        });
        // Every replica, API or worker-only, runs the schedules: the
        // per-firing lock decides which one does the work. Started last, so
        // a build that fails (the port is taken) leaves nothing ticking.
        let cron = match config.scheduler.enabled {
            true => Some(
                CronRunner::start(scheduler.clone(), replica)
                    .await
                    .context("cannot start the scheduler")?,
            ),
            false => None,
        };
        Ok(Self {
            backend,
            listener,
            port,
            state,
            executor,
            cron,
            exporter,
        })
    }

    /// What the start-up log line says.
    pub fn summary(&self) -> Summary {
        Summary::new(
            &self.state.config,
            self.listener.is_some().then_some(self.port),
        )
    }

    /// The bound port (0 for a worker-only process).
    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn store(&self) -> Arc<dyn JobBackend> {
        self.backend.clone()
    }

    /// Cancel it to shut the service down gracefully.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.state.shutdown.clone()
    }

    /// Serves until the shutdown token is cancelled, then stops accepting,
    /// ends open streams, drains, and sends what is left for Opik, within
    /// `SHUTDOWN_GRACE_SECS`.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let shutdown = self.state.shutdown.clone();
        let grace = self.state.config.shutdown_grace;
        let server = self.listener.map(|listener| {
            let app = http::router(self.state.clone());
            let token = shutdown.clone();
            let head_timeout = self.state.config.header_read_timeout;
            tokio::spawn(http::server::serve(listener, app, head_timeout, token))
        });
        let workers = self
            .executor
            .map(|executor| tokio::spawn(executor.run(shutdown.clone())));
        shutdown.cancelled().await;
        tracing::info!("shutting down: no new connections or jobs; handing back running jobs");
        if let Some(cron) = self.cron {
            cron.stop().await;
        }
        // Both drain at once, within one grace period; the Opik exporter
        // stops last, so it also sends the spans the draining runs closed.
        let exporter = self.exporter;
        let drain = async {
            if let Some(workers) = workers {
                let _ = workers.await;
            }
            let served = match server {
                Some(server) => server.await.context("server task").and_then(|r| Ok(r?)),
                None => Ok(()),
            };
            if let Some(exporter) = exporter {
                exporter.flush_and_stop().await;
            }
            served.context("server")
        };
        match tokio::time::timeout(grace, drain).await {
            Ok(result) => result,
            Err(_) => {
                tracing::warn!(?grace, "still draining after the grace period; exiting");
                Ok(())
            }
        }
    }
}

/// What an operator needs from the start-up log line: where the service
/// answers, and what it runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// `None` for a worker-only process.
    pub url: Option<String>,
    pub docs: Option<String>,
    pub store: String,
    pub planner: String,
    pub opik: String,
}

impl Summary {
    fn new(config: &Config, port: Option<u16>) -> Self {
        // A wildcard address is reached on loopback from the same machine.
        let host = match config.host {
            IpAddr::V4(ip) if ip.is_unspecified() => "127.0.0.1".to_string(),
            IpAddr::V6(ip) if ip.is_unspecified() => "[::1]".to_string(),
            IpAddr::V4(ip) => ip.to_string(),
            IpAddr::V6(ip) => format!("[{ip}]"),
        };
        let url = port.map(|port| format!("http://{host}:{port}"));
        let store = match &config.redis_url {
            Some(url) => format!(
                "Redis at {} (keys under {})",
                without_password(url),
                config.redis_key_prefix
            ),
            None => "embedded in-memory store — forgets everything on restart".into(),
        };
        let planner = match &config.llm {
            Some(llm) => format!("LLM {} at {}", llm.model, without_password(&llm.base_url)),
            None => "embedded knowledge planner (no LLM configured)".into(),
        };
        let opik = match &config.opik {
            Some(opik) => format!(
                "on: {} (project {})",
                without_password(&opik.url),
                opik.project_name
            ),
            None => "off".into(),
        };
        Self {
            docs: url.as_ref().map(|url| format!("{url}/api/docs")),
            url,
            store,
            planner,
            opik,
        }
    }
}

/// A URL fit for a log line: without the password it may carry.
fn without_password(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(None);
            }
            parsed.to_string()
        }
        Err(_) => "(a URL that does not parse)".into(),
    }
}

/// Raises the soft limit on open files to the hard one: every connection
/// and stream is a descriptor, and a soft limit of 1,024 made `/health`
/// fail with "Too many open files" under ~1,100 idle sockets. Where the
/// limit cannot be raised the service runs with what it has.
pub fn raise_file_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    let raised = unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0
            && (limit.rlim_cur >= limit.rlim_max || {
                let wanted = libc::rlimit {
                    rlim_cur: limit.rlim_max,
                    rlim_max: limit.rlim_max,
                };
                libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) == 0
            })
    };
    if !raised {
        tracing::warn!(soft = limit.rlim_cur, "could not raise the open-file limit");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(pairs: &[(&str, &str)], port: Option<u16>) -> Summary {
        let vars = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Summary::new(&Config::from_map(&vars).unwrap(), port)
    }

    #[test]
    fn the_summary_names_the_url_store_planner_and_opik_without_secrets() {
        let embedded = summary(&[], Some(8000));
        assert_eq!(embedded.url.as_deref(), Some("http://127.0.0.1:8000"));
        assert_eq!(
            embedded.docs.as_deref(),
            Some("http://127.0.0.1:8000/api/docs")
        );
        assert!(embedded.store.contains("forgets everything on restart"));
        assert!(embedded.planner.contains("embedded knowledge planner"));
        assert_eq!(embedded.opik, "off");

        let configured = summary(
            &[
                ("HOST", "10.1.2.3"),
                ("REDIS_URL", "redis://:hunter2@cache.internal:6379/2"),
                ("LLM_BASE_URL", "https://user:pw@llm.internal/v1"),
                ("LLM_MODEL", "qwen2.5"),
                ("OPIK_URL_OVERRIDE", "http://localhost:5173/api"),
            ],
            Some(9000),
        );
        assert_eq!(configured.url.as_deref(), Some("http://10.1.2.3:9000"));
        assert_eq!(
            configured.store,
            "Redis at redis://cache.internal:6379/2 (keys under lotara:)"
        );
        assert_eq!(
            configured.planner,
            "LLM qwen2.5 at https://user@llm.internal/v1"
        );
        assert_eq!(
            configured.opik,
            "on: http://localhost:5173/api (project travel-lotara)"
        );
        assert_eq!(summary(&[], None).url, None, "a worker serves no HTTP");
    }
}
