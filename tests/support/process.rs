//! The real `lotara` binary as a child process, for tests that kill a
//! replica with SIGKILL (no graceful hand-back, no cleanup) or read what it
//! logs.

use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub struct LotaraProcess {
    child: Child,
    /// Its log lines (stdout), when started with `start_logged`.
    lines: Option<mpsc::Receiver<String>>,
}

impl LotaraProcess {
    /// Starts `lotara <command>` with exactly these variables (plus PATH).
    pub fn start(command: &str, vars: &[(&str, &str)]) -> Self {
        Self::spawn(command, vars, false)
    }

    /// As `start`, keeping its log lines for `log_line`.
    pub fn start_logged(command: &str, vars: &[(&str, &str)]) -> Self {
        Self::spawn(command, vars, true)
    }

    fn spawn(command: &str, vars: &[(&str, &str)], logged: bool) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_lotara"));
        cmd.arg(command)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default());
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let stdout = if logged {
            Stdio::piped()
        } else {
            Stdio::null()
        };
        let mut child = cmd
            .stdout(stdout)
            .stderr(Stdio::inherit())
            .spawn()
            .expect("lotara binary starts");
        let lines = child.stdout.take().map(|out| {
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
            rx
        });
        Self { child, lines }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The first log line containing `needle`, among the first `within`
    /// lines; fails the test after `limit`.
    pub fn log_line(&self, needle: &str, within: usize, limit: Duration) -> String {
        let lines = self.lines.as_ref().expect("started with start_logged");
        let deadline = Instant::now() + limit;
        let mut seen = Vec::new();
        while seen.len() < within {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(line) => seen.push(line),
                Err(_) => break,
            }
        }
        panic!(
            "no log line with {needle:?} among the first lines:\n{}",
            seen.join("\n")
        );
    }

    /// SIGKILL: the process gets no chance to hand its jobs back.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for LotaraProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
