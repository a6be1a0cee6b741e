//! Debian's Chromium driven through chromedriver's W3C WebDriver HTTP API,
//! with reqwest: enough of the protocol for the console tests (open a page,
//! find, click, type, read, run a script, take a screenshot).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

/// The key WebDriver uses for an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long a wait for something on the page may take.
pub const PAGE_WAIT: Duration = Duration::from_secs(20);

/// A chromedriver process and one headless Chromium session.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
    profile: PathBuf,
}

fn find_program(name: &str, fallback: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| fallback.to_string())
}

impl Browser {
    /// Starts chromedriver on a free port and opens a session. Fails with
    /// a clear message when chromedriver or Chromium is missing.
    pub async fn start() -> Self {
        let driver_path = find_program("CHROMEDRIVER", "chromedriver");
        let chromium = find_program("CHROMIUM", "/usr/bin/chromium");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "chromedriver could not start ({driver_path}: {e}). The console tests need \
                     Debian's Chromium and its driver: apt-get install -y chromium chromium-driver \
                     (.ci/run installs them), or set CHROMEDRIVER and CHROMIUM to their paths."
                )
            });
        assert!(
            std::path::Path::new(&chromium).exists(),
            "Chromium is not at {chromium}: apt-get install -y chromium chromium-driver \
             (.ci/run installs it), or set CHROMIUM to its path"
        );
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        super::wait_for(
            "chromedriver to answer",
            Duration::from_secs(15),
            || async {
                let ready = http.get(format!("{base}/status")).send().await.ok()?;
                let body: Value = ready.json().await.ok()?;
                body["value"]["ready"].as_bool().filter(|r| *r)
            },
        )
        .await;
        let profile =
            std::env::temp_dir().join(format!("lotara-console-{}", uuid::Uuid::new_v4().simple()));
        let mut browser = Self {
            driver,
            base,
            session: String::new(),
            http,
            profile,
        };
        let created = browser
            .command(
                reqwest::Method::POST,
                "/session",
                json!({"capabilities": {"alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {
                        "binary": chromium,
                        "args": [
                            "--headless=new", "--no-sandbox", "--disable-gpu",
                            "--disable-dev-shm-usage", "--window-size=1280,1000",
                            "--no-first-run", "--disable-extensions",
                            format!("--user-data-dir={}", browser.profile.display()),
                        ]
                    }
                }}}),
            )
            .await;
        browser.session = created["sessionId"]
            .as_str()
            .expect("a WebDriver session id")
            .to_string();
        browser
    }

    async fn command(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.base);
        let mut request = self.http.request(method.clone(), &url);
        if method != reqwest::Method::GET && method != reqwest::Method::DELETE {
            request = request.json(&body);
        }
        let response = request.send().await.expect("chromedriver answers");
        let status = response.status();
        let value: Value = response.json().await.expect("WebDriver JSON");
        assert!(status.is_success(), "WebDriver {method} {path}: {value}");
        value["value"].clone()
    }

    async fn session_command(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let path = format!("/session/{}{path}", self.session);
        self.command(method, &path, body).await
    }

    pub async fn goto(&self, url: &str) {
        self.session_command(reqwest::Method::POST, "/url", json!({ "url": url }))
            .await;
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page.
    pub async fn run(&self, script: &str, args: Value) -> Value {
        self.session_command(
            reqwest::Method::POST,
            "/execute/sync",
            json!({ "script": script, "args": args }),
        )
        .await
    }

    /// The element matching `css` (the first) if it is shown, or `None`.
    /// Found and checked in one step: the page may re-render in between.
    pub async fn find(&self, css: &str) -> Option<String> {
        let found = self
            .run(
                "const e = document.querySelector(arguments[0]);
                 return e && e.getClientRects().length ? e : null;",
                json!([css]),
            )
            .await;
        found[ELEMENT].as_str().map(str::to_string)
    }

    /// Waits until an element matching `css` is on the page and shown.
    pub async fn wait(&self, css: &str) -> String {
        super::wait_for(&format!("`{css}` on the page"), PAGE_WAIT, || {
            self.find(css)
        })
        .await
    }

    /// Runs an element command on the element matching `css`, finding it
    /// again if the page replaced it in the meantime.
    async fn on_element(&self, css: &str, command: &str, body: Value) {
        let deadline = tokio::time::Instant::now() + PAGE_WAIT;
        loop {
            let element = self.wait(css).await;
            let url = format!(
                "{}/session/{}/element/{element}/{command}",
                self.base, self.session
            );
            let response = self.http.post(url).json(&body).send().await;
            let response = response.expect("chromedriver answers");
            let status = response.status();
            let value: Value = response.json().await.expect("WebDriver JSON");
            if status.is_success() {
                return;
            }
            let stale = value["value"]["error"] == "stale element reference";
            assert!(
                stale && tokio::time::Instant::now() < deadline,
                "WebDriver {command} on `{css}`: {value}"
            );
        }
    }

    /// Waits until the text of the element matching `css` contains `wanted`.
    pub async fn wait_text(&self, css: &str, wanted: &str) -> String {
        super::wait_for(
            &format!("`{css}` to say \"{wanted}\""),
            PAGE_WAIT,
            || async {
                let text = self.text(css).await?;
                text.contains(wanted).then_some(text)
            },
        )
        .await
    }

    /// The rendered text of the element matching `css`.
    pub async fn text(&self, css: &str) -> Option<String> {
        let value = self
            .run(
                "const e = document.querySelector(arguments[0]); return e ? e.innerText : null;",
                json!([css]),
            )
            .await;
        value.as_str().map(str::to_string)
    }

    pub async fn click(&self, css: &str) {
        self.on_element(css, "click", json!({})).await;
    }

    /// Types into the element as a user would (keyboard events).
    pub async fn type_into(&self, css: &str, text: &str) {
        self.on_element(css, "clear", json!({})).await;
        self.on_element(css, "value", json!({ "text": text })).await;
    }

    /// Sets a field's value directly (date inputs, selects) and tells the
    /// page it changed.
    pub async fn set_value(&self, css: &str, value: &str) {
        self.wait(css).await;
        self.run(
            "const e = document.querySelector(arguments[0]); e.value = arguments[1];
             e.dispatchEvent(new Event('input', {bubbles: true}));
             e.dispatchEvent(new Event('change', {bubbles: true}));",
            json!([css, value]),
        )
        .await;
    }

    /// Sends a key to the element (`\u{E007}` is Enter).
    pub async fn press(&self, css: &str, key: &str) {
        self.on_element(css, "value", json!({ "text": key })).await;
    }

    /// Presses and releases `key` wherever the focus is (`\u{E004}` is Tab).
    pub async fn press_key(&self, key: &str) {
        self.session_command(
            reqwest::Method::POST,
            "/actions",
            json!({"actions": [{"type": "key", "id": "keyboard", "actions": [
                {"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}
            ]}]}),
        )
        .await;
    }

    pub async fn resize(&self, width: u32, height: u32) {
        self.session_command(
            reqwest::Method::POST,
            "/window/rect",
            json!({"width": width, "height": height}),
        )
        .await;
    }

    /// Saves a PNG of the page at `path` (under `target/`).
    pub async fn screenshot(&self, path: &std::path::Path) {
        let shot = self
            .session_command(reqwest::Method::GET, "/screenshot", json!({}))
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot.as_str().unwrap_or_default())
            .expect("a base64 PNG");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("screenshot folder");
        }
        std::fs::write(path, png).expect("screenshot written");
    }

    /// Ends the session and the driver.
    pub async fn quit(mut self) {
        let url = format!("{}/session/{}", self.base, self.session);
        let _ = self.http.delete(url).send().await;
        self.stop_driver();
    }

    fn stop_driver(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // chromedriver takes its Chromium down with it.
        self.stop_driver();
    }
}

/// Where a test's screenshots go: `target/console-screenshots/<name>.png`.
pub fn screenshot_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("console-screenshots")
        .join(format!("{name}.png"))
}
