//! The real `zeppelin-kubefake` binary with its fault flags, driven over raw HTTP (so every
//! request is counted and every stream end is seen as it happens) and with `kubectl`:
//! `--fail-after`, `--drop-watches-every`, `--go-away-after` and `--latency-ms`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::TcpStream;
use tokio::process::{Child, ChildStderr, Command};

/// The longest any one wait in these tests may take before the test fails.
const LIMIT: Duration = Duration::from_secs(30);

/// The binary, running on a free port with its kubeconfig in a temporary folder.
struct Binary {
    child: Child,
    stderr: Lines<BufReader<ChildStderr>>,
    address: SocketAddr,
    kubeconfig: PathBuf,
    dir: tempfile::TempDir,
}

impl Binary {
    /// Starts the binary with `flags` and waits until it says where it serves.
    async fn start(flags: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let kubeconfig = dir.path().join("kubeconfig");
        let mut child = Command::new(env!("CARGO_BIN_EXE_zeppelin-kubefake"))
            .args(["--port", "0", "--no-controllers", "--kubeconfig"])
            .arg(&kubeconfig)
            .args(flags)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the binary starts");
        let stderr = BufReader::new(child.stderr.take().expect("stderr is piped")).lines();
        let mut binary = Self {
            child,
            stderr,
            address: SocketAddr::from(([127, 0, 0, 1], 0)),
            kubeconfig,
            dir,
        };
        let line = binary
            .wait_for_line("serving the Kubernetes API at http://")
            .await;
        let url = line.rsplit("http://").next().expect("the line holds a URL");
        binary.address = url.trim().parse().expect("the URL holds an address");
        binary
    }

    /// Reads stderr until a line contains `text`; fails the test if none does in time.
    async fn wait_for_line(&mut self, text: &str) -> String {
        let mut seen = Vec::new();
        let found = tokio::time::timeout(LIMIT, async {
            while let Ok(Some(line)) = self.stderr.next_line().await {
                if line.contains(text) {
                    return Some(line);
                }
                seen.push(line);
            }
            None
        })
        .await;
        match found {
            Ok(Some(line)) => line,
            _ => panic!(
                "the binary never printed {text:?}; it printed:\n{}",
                seen.join("\n")
            ),
        }
    }

    /// `kubectl get ns` against the binary: whether it succeeded, and its stderr.
    async fn kubectl_get_namespaces(&self) -> (bool, String) {
        let output = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(self.dir.path().join("cache"))
            .args(["get", "ns", "--request-timeout", "10s"])
            .env("HOME", self.dir.path())
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output();
        let output = tokio::time::timeout(LIMIT, output)
            .await
            .expect("kubectl finishes in time")
            .expect("kubectl runs; these tests need it on PATH (CI machines have it)");
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }
}

/// Sends `GET path` on a new connection that closes after the response.
async fn send_get(address: SocketAddr, path: &str) -> std::io::Result<TcpStream> {
    let mut stream = TcpStream::connect(address).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    Ok(stream)
}

/// How a response stream ended.
struct Ended {
    text: String,
    /// The connection failed rather than closing after a complete response.
    broken: bool,
}

impl Ended {
    fn status(&self) -> u16 {
        self.text
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or(0)
    }

    /// A chunked body (a watch) ended with its last, empty chunk: the server finished it.
    fn finished_cleanly(&self) -> bool {
        !self.broken && self.text.ends_with("0\r\n\r\n")
    }
}

/// Reads until the server closes the connection or it breaks; fails the test if that takes
/// longer than `limit`.
async fn read_to_end(mut stream: TcpStream, limit: Duration) -> Ended {
    let mut bytes = Vec::new();
    let read = tokio::time::timeout(limit, stream.read_to_end(&mut bytes)).await;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    match read {
        Ok(result) => Ended {
            text,
            broken: result.is_err(),
        },
        Err(elapsed) => {
            panic!("the response did not end within {limit:?} ({elapsed}); it sent:\n{text}")
        }
    }
}

async fn get(address: SocketAddr, path: &str) -> Ended {
    let stream = send_get(address, path).await.expect("the server accepts");
    read_to_end(stream, LIMIT).await
}

#[tokio::test]
async fn fail_after_serves_n_requests_then_fails_every_later_one() {
    let binary = Binary::start(&["--fail-after", "3"]).await;
    for _ in 0..3 {
        let response = get(binary.address, "/api/v1/namespaces").await;
        assert_eq!(response.status(), 200, "{}", response.text);
    }
    let failed = get(binary.address, "/api/v1/namespaces").await;
    assert_eq!(failed.status(), 500, "{}", failed.text);
    assert!(
        failed
            .text
            .contains("fault injected by zeppelin-kubefake on request 4"),
        "{}",
        failed.text
    );
    let (success, stderr) = binary.kubectl_get_namespaces().await;
    assert!(!success, "kubectl must fail once requests fail");
    // kubectl fails at discovery, where it reports a 500 without its message.
    assert!(
        stderr.contains("Error from server (InternalError)"),
        "kubectl reports the server's 500: {stderr}"
    );
}

#[tokio::test]
async fn drop_watches_every_ends_open_watches_so_clients_watch_again() {
    let binary = Binary::start(&["--drop-watches-every", "300ms"]).await;
    for attempt in 1..=2 {
        let watch = send_get(binary.address, "/api/v1/namespaces?watch=true")
            .await
            .expect("the server accepts");
        let ended = read_to_end(watch, Duration::from_secs(10)).await;
        assert_eq!(ended.status(), 200, "watch {attempt}: {}", ended.text);
        assert!(
            ended.text.contains(r#""type":"ADDED""#),
            "watch {attempt} sent the namespaces first: {}",
            ended.text
        );
        assert!(
            ended.finished_cleanly(),
            "watch {attempt} is ended by the server, as a restarting one would: {}",
            ended.text
        );
    }
}

#[tokio::test]
async fn go_away_after_refuses_new_connections_and_cuts_open_ones() {
    let started = Instant::now();
    let mut binary = Binary::start(&["--go-away-after", "1s"]).await;
    assert_eq!(get(binary.address, "/version").await.status(), 200);
    let watch = send_get(binary.address, "/api/v1/namespaces?watch=true")
        .await
        .expect("the server accepts before it goes away");
    binary.wait_for_line("went away after 1s").await;
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "the server went away before the time it was given"
    );
    let cut = read_to_end(watch, Duration::from_secs(10)).await;
    assert!(
        cut.text.contains(r#""type":"ADDED""#),
        "the watch was open and streaming: {}",
        cut.text
    );
    assert!(
        !cut.finished_cleanly(),
        "an open watch is cut, not finished: {}",
        cut.text
    );
    let refused = TcpStream::connect(binary.address).await;
    assert_eq!(
        refused.map(drop).map_err(|e| e.kind()),
        Err(std::io::ErrorKind::ConnectionRefused),
        "a new connection after the go-away is refused"
    );
    let (success, stderr) = binary.kubectl_get_namespaces().await;
    assert!(!success, "kubectl cannot reach a server that went away");
    assert!(stderr.contains("refused"), "{stderr}");
    assert!(
        binary
            .child
            .try_wait()
            .expect("the process can be asked")
            .is_none(),
        "the process stays up after going away, until it is stopped"
    );
}

#[tokio::test]
async fn latency_ms_delays_every_request() {
    let binary = Binary::start(&["--latency-ms", "200"]).await;
    for _ in 0..2 {
        let sent = Instant::now();
        let response = get(binary.address, "/api/v1/namespaces").await;
        assert_eq!(response.status(), 200, "{}", response.text);
        assert!(
            sent.elapsed() >= Duration::from_millis(200),
            "a request took {:?}, less than the added latency",
            sent.elapsed()
        );
    }
}

#[tokio::test]
async fn bad_durations_are_refused_with_the_expected_form() {
    let output = Command::new(env!("CARGO_BIN_EXE_zeppelin-kubefake"))
        .args(["--port", "0", "--drop-watches-every", "soon"])
        .stdin(Stdio::null())
        .output()
        .await
        .expect("the binary runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("write it like 500ms, 2s or 1m"), "{stderr}");
}
