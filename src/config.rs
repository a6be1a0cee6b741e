//! All settings, read once from the environment (and `.env`), validated at
//! start. A bad value stops the service with a message naming the variable.
//!
//! Every variable read here is listed in `VARIABLES`; a test keeps that list,
//! `.env.example` and the README's table in step.

use std::collections::HashMap;
use std::fmt::Display;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use crate::jobs::StoreSettings;
use crate::llm::LlmSettings;
use crate::observability::OpikSettings;
use crate::observability::logging::LogFormat;
use crate::outbound::OutboundPolicy;
use crate::scheduler::SchedulerSettings;
use crate::secret::Secret;

/// Every environment variable the service reads.
pub const VARIABLES: &[&str] = &[
    "HOST",
    "PORT",
    "LOG_FORMAT",
    "RUST_LOG",
    "REDIS_URL",
    "REDIS_KEY_PREFIX",
    "REDIS_TIMEOUT_MS",
    "JOB_TTL_SECS",
    "JOB_LEASE_SECS",
    "JOB_MAX_ATTEMPTS",
    "EVENT_LOG_MAX_LEN",
    "WORKER_CONCURRENCY",
    "APPROVAL_TIMEOUT_SECS",
    "SSE_KEEPALIVE_SECS",
    "REQUEST_TIMEOUT_SECS",
    "HEADER_READ_TIMEOUT_SECS",
    "MAX_BODY_BYTES",
    "SHUTDOWN_GRACE_SECS",
    "CORS_ORIGINS",
    "API_KEYS",
    "RATE_LIMIT_PER_MINUTE",
    "LLM_BASE_URL",
    "LLM_API_KEY",
    "LLM_MODEL",
    "LLM_TIMEOUT_SECS",
    "LLM_IDLE_TIMEOUT_SECS",
    "LLM_MAX_RETRIES",
    "LLM_MAX_CONCURRENCY",
    "LLM_MAX_TOKENS",
    "LLM_CONTEXT_TOKENS",
    "LLM_STREAM_TEXT",
    "OPIK_URL_OVERRIDE",
    "OPIK_UI_URL",
    "OPIK_API_KEY",
    "OPIK_WORKSPACE",
    "OPIK_PROJECT_NAME",
    "OPIK_QUEUE_CAPACITY",
    "OPIK_FLUSH_INTERVAL_MS",
    "OPIK_PING_INTERVAL_MS",
    "SCHEDULER_ENABLED",
    "SCHEDULER_TIMEZONE",
    "PRICE_CHECK_CRON",
    "CALENDAR_CHECK_CRON",
    "BUDGET_CHECK_CRON",
    "PRICE_FEED_URL",
    "SUGGESTION_COOLDOWN_SECS",
    "ICS_MAX_BYTES",
    "ICS_TIMEOUT_SECS",
    "OUTBOUND_ALLOW_PRIVATE",
];

#[derive(Debug, Clone)]
pub struct Config {
    pub host: IpAddr,
    pub port: u16,
    pub log_format: LogFormat,
    pub redis_url: Option<String>,
    pub redis_key_prefix: String,
    pub redis_timeout: Duration,
    pub job_ttl: Duration,
    pub job_lease: Duration,
    pub job_max_attempts: u32,
    pub event_log_max_len: usize,
    pub worker_concurrency: usize,
    pub approval_timeout: Duration,
    pub sse_keepalive: Duration,
    pub request_timeout: Duration,
    /// How long a client may take to send a request head, and how long a
    /// keep-alive connection may sit idle between requests.
    pub header_read_timeout: Duration,
    pub max_body_bytes: usize,
    pub shutdown_grace: Duration,
    pub cors_origins: Vec<String>,
    pub api_keys: Vec<Secret>,
    /// Requests per minute per client on /v1 routes; 0 = no limit.
    pub rate_limit_per_minute: u64,
    /// `None`: the knowledge backend plans (no LLM configured).
    pub llm: Option<LlmSettings>,
    /// `None`: jobs are not traced (neither an Opik URL nor a key is set).
    pub opik: Option<OpikSettings>,
    pub scheduler: SchedulerSettings,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n  {}", .0.join("\n  "))]
pub struct ConfigError(pub Vec<String>);

/// Reads variables from a lookup, collecting every problem instead of
/// stopping at the first, so one start tells the operator all that is wrong.
struct Reader<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    errors: Vec<String>,
}

impl Reader<'_> {
    fn raw(&self, name: &str) -> Option<String> {
        debug_assert!(
            VARIABLES.contains(&name),
            "{name} missing from config::VARIABLES"
        );
        (self.lookup)(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    fn parse<T: FromStr>(&mut self, name: &str, default: T, rule: &str) -> T
    where
        T::Err: Display,
    {
        match self.raw(name) {
            None => default,
            Some(value) => value.parse().unwrap_or_else(|e| {
                self.errors
                    .push(format!("{name}={value:?}: {e} (expected {rule})"));
                default
            }),
        }
    }

    fn positive(&mut self, name: &str, default: u64) -> u64 {
        let value = self.parse(name, default, "a whole number ≥ 1");
        if value == 0 {
            self.errors.push(format!("{name}=0: must be at least 1"));
            return default;
        }
        value
    }

    fn secs(&mut self, name: &str, default: u64) -> Duration {
        Duration::from_secs(self.positive(name, default))
    }

    fn string(&self, name: &str, default: &str) -> String {
        self.raw(name).unwrap_or_else(|| default.to_string())
    }

    fn boolean(&mut self, name: &str, default: bool) -> bool {
        match self.raw(name).map(|v| v.to_ascii_lowercase()).as_deref() {
            None => default,
            Some("true" | "1" | "yes" | "on") => true,
            Some("false" | "0" | "no" | "off") => false,
            Some(other) => {
                self.errors
                    .push(format!("{name}={other:?}: expected true or false"));
                default
            }
        }
    }

    /// A cron expression, normalised to six fields (seconds first).
    fn cron(&mut self, name: &str, default: &str) -> String {
        let expr = self.string(name, default);
        crate::scheduler::cron::normalize(&expr).unwrap_or_else(|e| {
            self.errors.push(format!(
                "{name}={expr:?}: {e} (e.g. \"{default}\"; 5-field POSIX cron is accepted too)"
            ));
            default.to_string()
        })
    }

    fn http_url(&mut self, name: &str, example: &str) -> Option<String> {
        let url = self.raw(name)?;
        if !(url.starts_with("http://") || url.starts_with("https://"))
            || reqwest::Url::parse(&url).is_err()
        {
            self.errors.push(format!(
                "{name}={url:?}: expected an http(s) URL, e.g. {example}"
            ));
        }
        Some(url)
    }

    /// Browser origins as browsers send them (`scheme://host[:port]`,
    /// lower-case, no path or trailing slash), or `*` alone for any origin.
    fn origins(&mut self, name: &str, default: &str) -> Vec<String> {
        let listed = self.list(name, default);
        if listed.iter().any(|o| o == "*") {
            if listed.len() > 1 {
                self.errors.push(format!(
                    "{name}: \"*\" allows every origin and cannot be listed with others"
                ));
            }
            return vec!["*".into()];
        }
        let mut origins = Vec::with_capacity(listed.len());
        for raw in listed {
            match normalise_origin(&raw) {
                Some(origin) => origins.push(origin),
                None => self.errors.push(format!(
                    "{name}={raw:?}: expected origins like https://app.example.com or http://localhost:3000, comma-separated, or *"
                )),
            }
        }
        origins
    }

    fn list(&self, name: &str, default: &str) -> Vec<String> {
        self.string(name, default)
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect()
    }
}

fn secrets(values: Vec<String>) -> Vec<Secret> {
    values.into_iter().map(Secret::new).collect()
}

/// `https://App.Example.com/` → `https://app.example.com`; `None` for
/// anything that is not an http(s) origin (a path, a query, no scheme).
fn normalise_origin(raw: &str) -> Option<String> {
    let url = reqwest::Url::parse(raw).ok()?;
    let plain = matches!(url.scheme(), "http" | "https")
        && url.username().is_empty()
        && url.password().is_none()
        && matches!(url.path(), "" | "/")
        && url.query().is_none()
        && url.fragment().is_none();
    if !plain {
        return None;
    }
    // `Origin::ascii_serialization` drops a default port, as browsers do.
    let origin = url.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

fn scheduler_settings(r: &mut Reader<'_>) -> SchedulerSettings {
    let defaults = SchedulerSettings::default();
    let timezone = r.string("SCHEDULER_TIMEZONE", "UTC");
    let timezone = timezone.parse().unwrap_or_else(|_| {
        r.errors.push(format!(
            "SCHEDULER_TIMEZONE={timezone:?}: expected an IANA time zone, e.g. UTC or Asia/Ho_Chi_Minh"
        ));
        defaults.timezone
    });
    SchedulerSettings {
        enabled: r.boolean("SCHEDULER_ENABLED", true),
        timezone,
        price_cron: r.cron("PRICE_CHECK_CRON", &defaults.price_cron),
        calendar_cron: r.cron("CALENDAR_CHECK_CRON", &defaults.calendar_cron),
        budget_cron: r.cron("BUDGET_CHECK_CRON", &defaults.budget_cron),
        price_feed_url: r.http_url("PRICE_FEED_URL", "https://fares.internal/v1/quote"),
        suggestion_cooldown: Duration::from_secs(r.parse(
            "SUGGESTION_COOLDOWN_SECS",
            defaults.suggestion_cooldown.as_secs(),
            "a whole number of seconds (0 = suggest every finding)",
        )),
        ics_max_bytes: r.positive("ICS_MAX_BYTES", defaults.ics_max_bytes as u64) as usize,
        ics_timeout: r.secs("ICS_TIMEOUT_SECS", defaults.ics_timeout.as_secs()),
        outbound: outbound_policy(r),
    }
}

/// What calendar feeds (and the price feed's redirects) may reach besides
/// public addresses.
fn outbound_policy(r: &mut Reader<'_>) -> OutboundPolicy {
    let entries = r.list("OUTBOUND_ALLOW_PRIVATE", "");
    OutboundPolicy::allowing(&entries).unwrap_or_else(|e| {
        r.errors.push(format!("OUTBOUND_ALLOW_PRIVATE: {e}"));
        OutboundPolicy::default()
    })
}

impl Config {
    /// Reads the process environment, after loading `.env` if present. A
    /// `.env` that does not parse stops the start: skipping it would drop
    /// every setting after the bad line without a word.
    pub fn from_env() -> Result<Self, ConfigError> {
        match dotenvy::dotenv() {
            Ok(_) => {}
            Err(e) if e.not_found() => {}
            Err(e) => {
                return Err(ConfigError(vec![format!(
                    ".env: {e} (quote values that contain spaces)"
                )]));
            }
        }
        Self::from_lookup(&|name| std::env::var(name).ok())
    }

    /// Reads from a map: what tests use to build a configuration.
    pub fn from_map(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        Self::from_lookup(&|name| vars.get(name).cloned())
    }

    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut r = Reader {
            lookup,
            errors: Vec::new(),
        };
        let log_format = match r
            .string("LOG_FORMAT", "pretty")
            .to_ascii_lowercase()
            .as_str()
        {
            "pretty" | "text" => LogFormat::Pretty,
            "json" => LogFormat::Json,
            other => {
                r.errors.push(format!(
                    "LOG_FORMAT={other:?}: expected \"pretty\" or \"json\""
                ));
                LogFormat::Pretty
            }
        };
        let redis_url = r.raw("REDIS_URL");
        if let Some(url) = &redis_url
            && !(url.starts_with("redis://")
                || url.starts_with("rediss://")
                || url.starts_with("unix://"))
        {
            r.errors.push(format!(
                "REDIS_URL={url:?}: expected redis://host:port[/db] (or rediss://, unix://)"
            ));
        }
        let config = Self {
            host: r.parse(
                "HOST",
                IpAddr::from([0, 0, 0, 0]),
                "an IP address, e.g. 0.0.0.0",
            ),
            port: r.parse("PORT", 8000, "a port number 0–65535"),
            log_format,
            redis_url,
            redis_key_prefix: r.string("REDIS_KEY_PREFIX", "lotara:"),
            redis_timeout: Duration::from_millis(r.positive("REDIS_TIMEOUT_MS", 2_000)),
            job_ttl: r.secs("JOB_TTL_SECS", 86_400),
            job_lease: r.secs("JOB_LEASE_SECS", 30),
            job_max_attempts: r.positive("JOB_MAX_ATTEMPTS", 3) as u32,
            event_log_max_len: r.positive("EVENT_LOG_MAX_LEN", 10_000) as usize,
            worker_concurrency: r.parse(
                "WORKER_CONCURRENCY",
                32,
                "a whole number (0 = no workers)",
            ),
            approval_timeout: r.secs("APPROVAL_TIMEOUT_SECS", 86_400),
            sse_keepalive: r.secs("SSE_KEEPALIVE_SECS", 15),
            request_timeout: r.secs("REQUEST_TIMEOUT_SECS", 30),
            header_read_timeout: r.secs("HEADER_READ_TIMEOUT_SECS", 10),
            max_body_bytes: r.positive("MAX_BODY_BYTES", 1_048_576) as usize,
            shutdown_grace: r.secs("SHUTDOWN_GRACE_SECS", 10),
            cors_origins: r.origins(
                "CORS_ORIGINS",
                "http://localhost:3000,http://localhost:5173",
            ),
            api_keys: secrets(r.list("API_KEYS", "")),
            rate_limit_per_minute: r.parse(
                "RATE_LIMIT_PER_MINUTE",
                0,
                "a whole number (0 = no limit)",
            ),
            llm: None,
            opik: None,
            scheduler: scheduler_settings(&mut r),
        };
        let base_url = r.raw("LLM_BASE_URL");
        let api_key = r.raw("LLM_API_KEY").map(Secret::new);
        if let Some(url) = &base_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            r.errors.push(format!(
                "LLM_BASE_URL={url:?}: expected an http(s) URL, e.g. https://api.openai.com/v1"
            ));
        }

        let llm = LlmSettings {
            base_url: base_url
                .clone()
                .unwrap_or_else(|| "https://api.openai.com/v1".into()),
            api_key: api_key.clone(),
            model: r.string("LLM_MODEL", "gpt-4o-mini"),
            timeout: r.secs("LLM_TIMEOUT_SECS", 30),
            idle_timeout: r.secs("LLM_IDLE_TIMEOUT_SECS", 20),
            max_retries: r.parse("LLM_MAX_RETRIES", 3, "a whole number"),
            max_concurrency: r.positive("LLM_MAX_CONCURRENCY", 16) as usize,
            max_tokens: r.positive("LLM_MAX_TOKENS", 4_096).min(u64::from(u32::MAX)) as u32,
            context_tokens: r.raw("LLM_CONTEXT_TOKENS").is_some().then(|| {
                r.positive("LLM_CONTEXT_TOKENS", 4_096)
                    .min(u64::from(u32::MAX)) as u32
            }),
            stream_text: r.boolean("LLM_STREAM_TEXT", false),
        };
        let config = Self {
            llm: (base_url.is_some() || api_key.is_some()).then_some(llm),
            opik: opik_settings(&mut r),
            ..config
        };
        if r.errors.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError(r.errors))
        }
    }

    pub fn store_settings(&self) -> StoreSettings {
        StoreSettings {
            key_prefix: self.redis_key_prefix.clone(),
            job_ttl: self.job_ttl,
            event_log_cap: self.event_log_max_len,
            op_timeout: self.redis_timeout,
            claim_block: Duration::from_secs(2),
        }
    }
}

/// Opik under the names its SDKs read. Tracing is on when a URL or a key is
/// given; a key alone means Opik Cloud, as in the SDKs.
fn opik_settings(r: &mut Reader<'_>) -> Option<OpikSettings> {
    let url = r.raw("OPIK_URL_OVERRIDE");
    let api_key = r.raw("OPIK_API_KEY").map(Secret::new);
    if url.is_none() && api_key.is_none() {
        return None;
    }
    let ui = r.raw("OPIK_UI_URL");
    for (name, value) in [("OPIK_URL_OVERRIDE", &url), ("OPIK_UI_URL", &ui)] {
        if let Some(value) = value
            && !(value.starts_with("http://") || value.starts_with("https://"))
        {
            r.errors.push(format!(
                "{name}={value:?}: expected an http(s) URL, e.g. http://localhost:5173/api"
            ));
        }
    }
    let url = url.unwrap_or_else(|| crate::observability::OPIK_CLOUD_URL.into());
    let ui_url = OpikSettings::ui_url_for(&url, ui.as_deref()).unwrap_or_else(|e| {
        r.errors.push(e);
        String::new()
    });
    Some(OpikSettings {
        url,
        ui_url,
        api_key,
        workspace: r.string("OPIK_WORKSPACE", "default"),
        project_name: r.string("OPIK_PROJECT_NAME", "travel-lotara"),
        queue_capacity: r.positive("OPIK_QUEUE_CAPACITY", 10_000) as usize,
        flush_interval: Duration::from_millis(r.positive("OPIK_FLUSH_INTERVAL_MS", 2_000)),
        // The SDK's `connection_monitor_ping_interval`.
        ping_interval: Duration::from_millis(r.positive("OPIK_PING_INTERVAL_MS", 10_000)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_map(&vars)
    }

    #[test]
    fn defaults_need_no_configuration() {
        let c = config(&[]).unwrap();
        assert_eq!(c.port, 8000);
        assert_eq!(c.host.to_string(), "0.0.0.0");
        assert!(c.redis_url.is_none());
        assert_eq!(c.job_lease, Duration::from_secs(30));
        assert_eq!(c.worker_concurrency, 32);
        assert_eq!(c.cors_origins.len(), 2);
    }

    #[test]
    fn cors_origins_are_normalised_and_a_malformed_one_is_refused() {
        let c = config(&[(
            "CORS_ORIGINS",
            "https://App.Example.com/, http://localhost:3000, https://x.test:443",
        )])
        .unwrap();
        assert_eq!(
            c.cors_origins,
            [
                "https://app.example.com",
                "http://localhost:3000",
                "https://x.test"
            ]
        );
        assert_eq!(
            config(&[("CORS_ORIGINS", " * ")]).unwrap().cors_origins,
            ["*"]
        );
        for bad in [
            "localhost:3000",
            "app.example.com",
            "https://a.test/app",
            "*,https://a.test",
        ] {
            let err = config(&[("CORS_ORIGINS", bad)]).unwrap_err().to_string();
            assert!(err.contains("CORS_ORIGINS"), "{bad}: {err}");
        }
        assert!(c.api_keys.is_empty());
        assert!(c.opik.is_none(), "tracing is off unless Opik is configured");
    }

    #[test]
    fn an_opik_key_alone_means_opik_cloud() {
        let opik = config(&[("OPIK_API_KEY", "k"), ("OPIK_WORKSPACE", "team")])
            .unwrap()
            .opik
            .unwrap();
        assert_eq!(opik.url, "https://www.comet.com/opik/api");
        assert_eq!(opik.api_key.as_ref().map(Secret::expose), Some("k"));
        assert_eq!(opik.workspace, "team");
        assert_eq!(opik.project_name, "travel-lotara");
        assert_eq!(opik.queue_capacity, 10_000);
        assert_eq!(opik.flush_interval, Duration::from_secs(2));
        assert_eq!(opik.ping_interval, Duration::from_secs(10));
        assert_eq!(opik.ui_url, "https://www.comet.com/opik");
    }

    #[test]
    fn opik_backend_direct_needs_the_ui_address_for_its_links() {
        let err = config(&[("OPIK_URL_OVERRIDE", "http://localhost:8080")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("OPIK_UI_URL"), "{err}");
        let opik = config(&[
            ("OPIK_URL_OVERRIDE", "http://localhost:8080"),
            ("OPIK_UI_URL", "http://localhost:5173"),
        ])
        .unwrap()
        .opik
        .unwrap();
        assert_eq!(opik.url, "http://localhost:8080");
        assert_eq!(opik.ui_url, "http://localhost:5173");
    }

    #[test]
    fn an_opik_url_alone_means_a_local_opik_without_a_key() {
        let opik = config(&[("OPIK_URL_OVERRIDE", "http://localhost:5173/api")])
            .unwrap()
            .opik
            .unwrap();
        assert_eq!(opik.url, "http://localhost:5173/api");
        assert!(opik.api_key.is_none());
        assert_eq!(opik.workspace, "default");
        assert_eq!(opik.ui_url, "http://localhost:5173");
        let err = config(&[("OPIK_URL_OVERRIDE", "localhost:5173")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("OPIK_URL_OVERRIDE"), "{err}");
    }

    #[test]
    fn llm_limits_have_bounded_defaults_and_bad_values_are_named() {
        let llm = config(&[("LLM_BASE_URL", "http://localhost:8080/v1")])
            .unwrap()
            .llm
            .unwrap();
        assert_eq!(llm.timeout, Duration::from_secs(30));
        assert_eq!(llm.idle_timeout, Duration::from_secs(20));
        assert_eq!(llm.max_tokens, 4_096);
        assert_eq!(llm.context_tokens, None, "asked of the server");
        assert!(!llm.stream_text);
        let llm = config(&[
            ("LLM_BASE_URL", "http://localhost:8080/v1"),
            ("LLM_CONTEXT_TOKENS", "8192"),
            ("LLM_STREAM_TEXT", "true"),
        ])
        .unwrap()
        .llm
        .unwrap();
        assert_eq!(llm.context_tokens, Some(8192));
        assert!(llm.stream_text);
        let err = config(&[
            ("LLM_BASE_URL", "http://localhost:8080/v1"),
            ("LLM_CONTEXT_TOKENS", "0"),
            ("LLM_MAX_TOKENS", "lots"),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("LLM_CONTEXT_TOKENS") && err.contains("LLM_MAX_TOKENS"),
            "{err}"
        );
    }

    #[test]
    fn every_bad_value_is_reported_by_name() {
        let err = config(&[
            ("PORT", "eighty"),
            ("JOB_TTL_SECS", "0"),
            ("REDIS_URL", "localhost"),
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("PORT=\"eighty\""), "{err}");
        assert!(err.contains("JOB_TTL_SECS=0"), "{err}");
        assert!(err.contains("REDIS_URL"), "{err}");
    }

    #[test]
    fn scheduler_defaults_are_the_original_schedules() {
        let s = config(&[]).unwrap().scheduler;
        assert!(s.enabled);
        assert_eq!(s.timezone, chrono_tz::Tz::UTC);
        assert_eq!(s.price_cron, "0 0 */6 * * *");
        assert_eq!(s.calendar_cron, "0 0 9 * * *");
        assert_eq!(s.budget_cron, "0 0 10 * * Mon");
        assert_eq!(s.suggestion_cooldown, Duration::from_secs(604_800));
        assert!(s.price_feed_url.is_none());
    }

    #[test]
    fn the_outbound_allow_list_is_read_and_a_malformed_entry_is_named() {
        assert!(
            config(&[(
                "OUTBOUND_ALLOW_PRIVATE",
                "10.0.0.0/8, 127.0.0.1, cal.internal"
            )])
            .is_ok()
        );
        let err = config(&[("OUTBOUND_ALLOW_PRIVATE", "10.0.0.0/40")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("OUTBOUND_ALLOW_PRIVATE") && err.contains("10.0.0.0/40"),
            "{err}"
        );
    }

    #[test]
    fn five_field_cron_is_accepted_and_bad_scheduler_values_are_named() {
        let s = config(&[
            ("PRICE_CHECK_CRON", "30 */2 * * *"),
            ("SUGGESTION_COOLDOWN_SECS", "0"),
        ])
        .unwrap()
        .scheduler;
        assert_eq!(s.price_cron, "0 30 */2 * * *");
        assert!(s.suggestion_cooldown.is_zero());
        let err = config(&[
            ("CALENDAR_CHECK_CRON", "every morning"),
            ("SCHEDULER_TIMEZONE", "Mars/Olympus"),
            ("SCHEDULER_ENABLED", "maybe"),
            ("PRICE_FEED_URL", "fares.local"),
        ])
        .unwrap_err()
        .to_string();
        for name in [
            "CALENDAR_CHECK_CRON",
            "SCHEDULER_TIMEZONE",
            "SCHEDULER_ENABLED",
            "PRICE_FEED_URL",
        ] {
            assert!(err.contains(name), "{name}: {err}");
        }
    }
}
