//! The processes `bench/net.sh` measures: stand-in replicas, and Zeppelin's balancer and
//! gateway in front of them, exactly as `zeppelin run` wires them.
//!
//! ```text
//! net_bench backends PORT...                        # one tiny HTTP replica per port
//! net_bench proxy BALANCER_PORT GATEWAY_PORT HOST BACKEND_PORT...
//! ```
//!
//! Each runs until killed. Replicas answer every request with a fixed 13-byte body, so the
//! figures measure the proxies, not the app.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use bytes::Bytes;
use http::Response;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use zeppelin_core::model::{Balance, Route};
use zeppelin_local::balancer::{Backend, Balancer};
use zeppelin_local::gateway::Gateway;

fn local(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

fn ports(args: &[String]) -> Result<Vec<u16>, String> {
    args.iter()
        .map(|a| a.parse().map_err(|_| format!("`{a}` is not a port")))
        .collect()
}

async fn backends(ports: Vec<u16>) -> Result<(), String> {
    let mut servers = Vec::new();
    for port in ports {
        let listener = TcpListener::bind(local(port))
            .await
            .map_err(|e| format!("cannot listen on port {port}: {e}"))?;
        servers.push(tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                tokio::spawn(async move {
                    let service = service_fn(|_req| async {
                        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(
                            b"Hello, world!",
                        ))))
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        }));
    }
    for server in servers {
        let _ = server.await;
    }
    Ok(())
}

async fn proxy(
    balancer_port: u16,
    gateway_port: u16,
    host: String,
    backends: Vec<u16>,
) -> Result<(), String> {
    let balancer = Balancer::bind("bench", local(balancer_port), Balance::RoundRobin)
        .await
        .map_err(|e| e.to_string())?;
    balancer.set_backends(backends.iter().zip(1..).map(|(&port, replica)| Backend {
        replica,
        addr: local(port),
    }));
    let routes = [Route {
        host,
        path: "/".to_owned(),
        sub: "bench".to_owned(),
    }];
    let pools = BTreeMap::from([("bench".to_owned(), balancer.pool().clone())]);
    let _gateway = Gateway::bind(local(gateway_port), &routes, &pools)
        .await
        .map_err(|e| e.to_string())?;
    std::future::pending::<()>().await;
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime starts");
    let result = runtime.block_on(async {
        match args.first().map(String::as_str) {
            Some("backends") if args.len() > 1 => backends(ports(&args[1..])?).await,
            Some("proxy") if args.len() > 4 => {
                let fixed = ports(&args[1..3])?;
                proxy(fixed[0], fixed[1], args[3].clone(), ports(&args[4..])?).await
            }
            _ => Err("usage: net_bench backends PORT... | net_bench proxy BALANCER_PORT GATEWAY_PORT HOST BACKEND_PORT...".to_owned()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("net_bench: {message}");
            ExitCode::FAILURE
        }
    }
}
