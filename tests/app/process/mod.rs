//! The built binary as an operator runs it: a child process started from a
//! directory of its own (no `Rocket.toml`, no `templates/` or `static/`
//! beside it), configured only by the environment, its output captured.

mod binary;
mod config;
mod first_run;
mod logs;

use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::harness::TestApp;
use crate::live::{http, Response};

pub const JWT_SECRET: &str = "Yv3Nq8Lw1Zp6Tr4Hx9Kc2Bm7Jd5Fs0Ga8Qe3Uo6Ri1Wt4Xn9";
pub const SECRET_KEY: &str = "4f9c2a7e1b8d3f6a0c5e9b2d7f1a4c8e3b6d0f5a9c2e7b1d4f8a3c6e0b5d9f2a";

/// The binary serving a database of its own on a loopback port, until dropped.
pub struct Process {
    pub port: u16,
    pub app: TestApp,
    child: Child,
    pub dir: PathBuf,
    log: PathBuf,
}

impl Process {
    /// Starts the binary in a fresh directory with known secrets, a small
    /// pool and `env` over them.
    pub async fn start(env: &[(&str, &str)]) -> Process {
        let mut all = vec![
            ("ROCKET_JWT_SECRET", JWT_SECRET),
            ("ROCKET_SECRET_KEY", SECRET_KEY),
            ("ROCKET_DATABASES", "{main={pool_size=4,timeout=3}}"),
            ("ROCKET_SEED_DEMO_DATA", "false"),
        ];
        all.extend_from_slice(env);
        Process::start_bare(&all, &[]).await
    }

    /// Starts the binary in a fresh directory holding `files` (name,
    /// contents), with nothing in its environment but its database, its port
    /// and `env`: as an operator following the README runs it.
    pub async fn start_bare(env: &[(&str, &str)], files: &[(&str, &str)]) -> Process {
        let process = Process::spawn_bare(env, files).await;
        let started = Instant::now();
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", process.port)).is_ok() {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the binary did not start: {}",
                process.output()
            );
            rocket::tokio::time::sleep(Duration::from_millis(50)).await;
        }
        process
    }

    /// Like [`Process::start_bare`], without waiting for it to listen.
    pub async fn spawn_bare(env: &[(&str, &str)], files: &[(&str, &str)]) -> Process {
        let app = TestApp::new().await;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let dir = std::env::temp_dir().join(format!("storefront-process-{}", app.database));
        std::fs::create_dir_all(&dir).expect("a directory of its own");
        for (name, contents) in files {
            std::fs::write(dir.join(name), contents).expect("a file of the test");
        }
        let log = dir.join("output.log");
        let output = std::fs::File::create(&log).expect("log file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_storefront"));
        command
            .current_dir(&dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", app.url())
            .env("ROCKET_PORT", port.to_string())
            .stdout(output.try_clone().expect("log file"))
            .stderr(output);
        for (name, value) in env {
            command.env(name, value);
        }
        let child = command.spawn().expect("the binary starts");
        Process { port, app, child, dir, log }
    }

    /// How the process ended, if it did within `limit`.
    pub async fn exit_status(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            rocket::tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }

    pub async fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Response {
        http(self.port, method, path, headers, body).await
    }

    /// Everything the process has printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
