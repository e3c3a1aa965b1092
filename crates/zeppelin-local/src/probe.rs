//! Health probes against one replica's own port: `http` (GET, 2xx/3xx), `tcp` (connect) and
//! `exec` (exit 0), each bounded by the check's timeout.

use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use zeppelin_core::model::HealthCheck;

use crate::reaper::{Exit, Reaper, pid_of};

/// Runs one probe; `Err` says why it failed, in a user's words.
pub(crate) async fn probe(
    check: &HealthCheck,
    port: u16,
    timeout: Duration,
    reaper: &Reaper,
    exec: impl FnOnce(&str) -> std::process::Command,
) -> Result<(), String> {
    let attempt = async {
        match check {
            HealthCheck::Http { path } => http(port, path).await,
            HealthCheck::Tcp => TcpStream::connect(("127.0.0.1", port))
                .await
                .map(drop)
                .map_err(|err| format!("cannot connect to port {port}: {err}")),
            HealthCheck::Exec { command } => run(reaper, exec(command), timeout).await,
        }
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "no answer within {}",
            zeppelin_core::AppDuration::from(timeout)
        )),
    }
}

async fn http(port: u16, path: &str) -> Result<(), String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|err| format!("cannot connect to port {port}: {err}"))?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: zeppelin\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|err| format!("GET {path}: {err}"))?;
    let mut head = Vec::with_capacity(64);
    let mut buf = [0u8; 256];
    while !head.contains(&b'\n') && head.len() < 4096 {
        let n = stream
            .read(&mut buf)
            .await
            .map_err(|err| format!("GET {path}: {err}"))?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&head);
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| format!("GET {path}: not an HTTP answer"))?;
    if (200..400).contains(&status) {
        Ok(())
    } else {
        Err(format!("GET {path} answered {status}"))
    }
}

/// Runs an exec probe in its own process group, killed whole if it outlives the timeout.
async fn run(
    reaper: &Reaper,
    mut command: std::process::Command,
    timeout: Duration,
) -> Result<(), String> {
    command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let (child, exit) = reaper
        .spawn(command)
        .await
        .map_err(|err| format!("cannot run the check: {err}"))?;
    let group = Pid::from_raw(pid_of(&child));
    match tokio::time::timeout(timeout, exit).await {
        Ok(Ok(Exit::Code(0))) => Ok(()),
        Ok(Ok(exit)) => Err(format!("the check exited with status {}", exit.status())),
        Ok(Err(_)) => Err("the check's exit was lost".to_owned()),
        Err(_) => {
            let _ = killpg(group, Signal::SIGKILL);
            Err(format!(
                "the check did not finish within {}",
                zeppelin_core::AppDuration::from(timeout)
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    async fn serve_once(answer: &'static str) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = socket.read(&mut buf).await;
            socket.write_all(answer.as_bytes()).await.unwrap();
        });
        port
    }

    #[tokio::test]
    async fn http_probe_reads_the_status() {
        let ok = serve_once("HTTP/1.0 204 No Content\r\n\r\n").await;
        assert_eq!(http(ok, "/healthz").await, Ok(()));
        let bad = serve_once("HTTP/1.1 503 Service Unavailable\r\n\r\n").await;
        assert_eq!(
            http(bad, "/healthz").await,
            Err("GET /healthz answered 503".to_owned())
        );
    }

    #[tokio::test]
    async fn http_probe_fails_on_a_closed_port() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        assert!(http(port, "/").await.is_err());
    }
}
