//! Test harness: a fake API server, a kubeconfig in a temporary folder, and the real
//! `kubectl` pointed at it with every run bounded in time.

// Each test binary uses a part of this module.
#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use zeppelin_kubefake::{Config, FakeApiServer};

/// The longest any single kubectl run may take before the test fails.
pub const KUBECTL_LIMIT: Duration = Duration::from_secs(60);

/// What a kubectl run printed and how it ended.
#[derive(Debug)]
pub struct Output {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

/// A running server and a folder with its kubeconfig.
pub struct Cluster {
    pub server: FakeApiServer,
    pub dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
}

/// Fails the test when the real kubectl is missing: these tests exist to check kubectl
/// against the server, so passing without it would prove nothing.
pub fn require_kubectl() {
    let found = std::process::Command::new("kubectl")
        .args(["version", "--client"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "these tests run the real kubectl, and it is not on PATH; install it (CI machines have it)"
    );
}

impl Cluster {
    pub async fn start() -> Self {
        Self::with_config(Config::default()).await
    }

    pub async fn with_config(config: Config) -> Self {
        let server = FakeApiServer::start(config)
            .await
            .expect("the fake API server starts");
        let dir = tempfile::tempdir().expect("a temporary folder");
        let kubeconfig = dir.path().join("kubeconfig");
        server
            .write_kubeconfig(&kubeconfig)
            .expect("the kubeconfig is written");
        Self {
            server,
            dir,
            kubeconfig,
        }
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("the manifest is written");
        path
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("kubectl");
        command
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(self.dir.path().join("cache"))
            .args(args)
            .env("HOME", self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }

    /// Runs kubectl to the end.
    pub async fn kubectl(&self, args: &[&str]) -> Output {
        let child = self.command(args).spawn().expect("kubectl starts");
        let output = tokio::time::timeout(KUBECTL_LIMIT, child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("kubectl {args:?} did not finish within {KUBECTL_LIMIT:?}"))
            .expect("kubectl runs");
        Output {
            success: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Runs kubectl and fails the test unless it succeeds; returns stdout.
    pub async fn kubectl_ok(&self, args: &[&str]) -> String {
        let output = self.kubectl(args).await;
        assert!(
            output.success,
            "kubectl {args:?} failed:\n{}\n{}",
            output.stdout, output.stderr
        );
        output.stdout
    }

    /// `kubectl apply --server-side -f FILE`, which must succeed; returns stdout.
    pub async fn apply_server_side(&self, file: &Path) -> String {
        self.kubectl_ok(&["apply", "--server-side", "-f", path_str(file)])
            .await
    }

    /// `kubectl rollout status` of the Deployment `web` in namespace `shop` (the manifests'
    /// own), waiting up to a minute; it must succeed. Returns stdout.
    pub async fn rollout_status_of_web(&self) -> String {
        self.kubectl_ok(&[
            "rollout",
            "status",
            "deployment/web",
            "-n",
            "shop",
            "--timeout=60s",
        ])
        .await
    }

    /// Runs a long-lived kubectl (`get -w`) and reads its stdout until a line satisfies
    /// `done`; returns the lines read. Fails the test if that takes longer than the limit.
    pub async fn kubectl_until(&self, args: &[&str], done: impl Fn(&str) -> bool) -> Vec<String> {
        let mut child = self.command(args).spawn().expect("kubectl starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let mut seen = Vec::new();
        let found = tokio::time::timeout(KUBECTL_LIMIT, async {
            while let Ok(Some(line)) = lines.next_line().await {
                let stop = done(&line);
                seen.push(line);
                if stop {
                    return true;
                }
            }
            false
        })
        .await;
        // The watch never ends by itself; stopping it is part of the test.
        let _ = child.kill().await;
        assert!(
            matches!(found, Ok(true)),
            "kubectl {args:?} never printed the expected line; it printed:\n{}",
            seen.join("\n")
        );
        seen
    }

    /// Waits (bounded) until `check` holds for the server's objects of `kind`.
    pub async fn wait_for(&self, kind: &str, what: &str, check: impl Fn(&[Value]) -> bool) {
        let waited = tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                if check(&self.server.objects(kind)) {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await;
        assert!(waited.is_ok(), "timed out waiting for {what}");
    }
}

/// A Deployment manifest with `replicas` pods of `image`.
pub fn deployment(
    namespace: &str,
    name: &str,
    image: &str,
    replicas: u32,
    deadline_seconds: u32,
) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {namespace}
  labels: {{app: {name}}}
spec:
  replicas: {replicas}
  progressDeadlineSeconds: {deadline_seconds}
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - name: {name}
        image: {image}
        ports:
        - containerPort: 8080
"
    )
}

pub fn namespace(name: &str) -> String {
    format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n")
}

/// The whitespace-separated cells of the row starting with `name`.
pub fn row<'a>(output: &'a str, name: &str) -> Vec<&'a str> {
    output
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no {name} row in:\n{output}"))
        .split_whitespace()
        .collect()
}

pub fn path_str(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}
