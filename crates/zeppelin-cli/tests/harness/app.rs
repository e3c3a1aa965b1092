//! An app in a temporary folder, run by the real `zeppelin` binary and stopped when the
//! test ends; every wait is bounded.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;

/// Longest any single wait may take.
pub const WAIT: Duration = Duration::from_secs(60);

/// A small HTTP server for test apps (Python's standard library): answers
/// `NAME REPLICA PATH host=HOST xff=X-FORWARDED-FOR` on any path, `ok` on `/healthz`,
/// closes the connection without an answer on `/boom`, answers a POST with its body's
/// length and SHA-256, and echoes WebSocket messages.
pub const ECHO_SERVER: &str = include_str!("../fixtures/echo.py");

/// A stateful server for test apps (Python's standard library), for a sub with a `data`
/// volume: locks its replica's data, records starts and stops, serves what it kept.
pub const STATEFUL_SERVER: &str = include_str!("../fixtures/stateful.py");

/// Runs a command at a pseudo-terminal and types an answer when asked (Python's `pty`).
pub const ANSWER_AT_TERMINAL: &str = include_str!("../fixtures/answer_at_terminal.py");

pub struct TestApp {
    dir: tempfile::TempDir,
    /// The app folder: the temporary folder, or a folder `zeppelin new` made in it.
    app: PathBuf,
}

impl TestApp {
    /// An app named `t` with this app file body (after `name = "t"`), and `echo.py`.
    pub fn new(body: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("zeppelin.toml"),
            format!("name = \"t\"\n{body}"),
        )
        .unwrap();
        std::fs::write(dir.path().join("echo.py"), ECHO_SERVER).unwrap();
        let app = dir.path().to_path_buf();
        Self { dir, app }
    }

    /// The sample app `zeppelin new NAME` makes, with its fixed ports (which may be taken
    /// on this machine) moved to free ones: `(app, api port, web port)`.
    pub fn sample(name: &str) -> (Self, u16, u16) {
        let dir = tempfile::tempdir().unwrap();
        let made = Command::cargo_bin("zeppelin")
            .unwrap()
            .current_dir(dir.path())
            .args(["new", name])
            .timeout(WAIT)
            .output()
            .unwrap();
        assert!(
            made.status.success(),
            "{}",
            String::from_utf8_lossy(&made.stderr)
        );
        let app = dir.path().join(name);
        let [api, web] = free_ports::<2>();
        let file = app.join("zeppelin.toml");
        let text = std::fs::read_to_string(&file)
            .unwrap()
            .replace("port = 8081", &format!("port = {api}"))
            .replace("port = 8080", &format!("port = {web}"));
        std::fs::write(&file, text).unwrap();
        (Self { dir, app }, api, web)
    }

    pub fn path(&self) -> &Path {
        &self.app
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.path().join(name)
    }

    /// A file of the app folder, empty when it does not exist.
    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.file(name)).unwrap_or_default()
    }

    pub fn zeppelin(&self, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("zeppelin").unwrap();
        cmd.current_dir(self.path())
            .args(args)
            .env("NO_COLOR", "1")
            .env_remove("ZEPPELIN_FILE")
            .timeout(WAIT);
        cmd
    }

    /// A `zeppelin ARGS` that keeps running (such as `logs -f`), its stdout piped.
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("zeppelin"))
            .args(args)
            .current_dir(self.path())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// `zeppelin run -d`, which must succeed.
    pub fn start(&self) {
        self.zeppelin(&["run", "-d"]).assert().success();
    }

    /// `zeppelin ps --format json`, `None` while the app does not answer.
    pub fn try_status(&self) -> Option<Value> {
        let out = self.zeppelin(&["ps", "--format", "json"]).output().unwrap();
        out.status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).unwrap())
    }

    pub fn status(&self) -> Value {
        self.try_status().expect("the app answers `zeppelin ps`")
    }

    /// The replicas of `sub` as `ps --format json` shows them.
    pub fn replicas(&self, sub: &str) -> Vec<Value> {
        let Some(status) = self.try_status() else {
            return Vec::new();
        };
        status["subs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == sub)
            .map(|s| s["replicas"].as_array().unwrap().clone())
            .unwrap_or_default()
    }

    /// The pids of the running replicas of `sub`.
    pub fn pids(&self, sub: &str) -> Vec<i32> {
        self.replicas(sub)
            .iter()
            .filter_map(|r| r["pid"].as_i64())
            .map(|p| i32::try_from(p).unwrap())
            .collect()
    }

    /// Waits until `count` replicas of `sub` are healthy.
    pub fn wait_healthy(&self, sub: &str, count: usize) -> Vec<Value> {
        wait_for(&format!("{count} healthy replicas of {sub}"), || {
            let replicas = self.replicas(sub);
            if replicas.is_empty() && count > 0 {
                return None;
            }
            (replicas.len() == count && replicas.iter().all(|r| r["state"] == "healthy"))
                .then_some(replicas)
        })
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = self
            .zeppelin(&["stop"])
            .timeout(Duration::from_secs(30))
            .output();
    }
}

/// Polls `check` until it gives a value; panics after [`WAIT`].
pub fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether a process runs (exists and is not a zombie).
pub fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .is_some_and(|zombie| !zombie)
}

/// Sends `signal` to the process `pid`, which must exist.
pub fn send_signal(pid: i32, signal: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal).unwrap();
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    free_ports::<1>()[0]
}

/// `N` ports free now and different from each other: every listener is held until all are
/// picked, so the system cannot hand out one port twice.
pub fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: Vec<TcpListener> = (0..N)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    std::array::from_fn(|i| listeners[i].local_addr().unwrap().port())
}

/// `GET path` with `Host: host` on a new connection; the status code and body, or an
/// error when the connection fails or is cut.
pub fn get(port: u16, host: &str, path: &str) -> std::io::Result<(u16, String)> {
    let (status, answer) = exchange(
        port,
        &format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
    )?;
    let body = answer
        .split_once("\r\n\r\n")
        .map_or_else(String::new, |(_, body)| body.to_owned());
    Ok((status, body))
}

/// Sends `request` on a new connection to `port` and reads until it closes; the status
/// code and the whole answer, or an error when the connection fails or is cut or the
/// answer is not HTTP.
pub fn exchange(port: u16, request: &str) -> std::io::Result<(u16, String)> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(request.as_bytes())?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP answer: {answer:?}")))?;
    Ok((status, answer))
}
