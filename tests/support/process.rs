//! The real `lotara` binary as a child process, for tests that kill a
//! replica with SIGKILL (no graceful hand-back, no cleanup).

use std::process::{Child, Command, Stdio};

pub struct LotaraProcess {
    child: Child,
}

impl LotaraProcess {
    /// Starts `lotara <command>` with exactly these variables (plus PATH).
    pub fn start(command: &str, vars: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_lotara"));
        cmd.arg(command)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default());
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("lotara binary starts");
        Self { child }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
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
