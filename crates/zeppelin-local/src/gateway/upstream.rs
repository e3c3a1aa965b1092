//! Connections from the gateway to replicas, owned by one client connection.
//!
//! Each client connection keeps at most one idle kept-alive connection per replica and
//! drives them in its own task (the [`Driver`] runs beside the client connection), so a
//! request and its answer never hop between threads. HTTP/1.1 serves one request at a time
//! per connection, so one connection per replica is all a client connection can use.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use futures_util::FutureExt as _;
use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, Connection, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// How long a replica may take to accept a connection before the gateway tries another.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

type Conn = Connection<TokioIo<TcpStream>, Incoming>;

/// Why a request did not get an answer from a replica.
#[derive(Debug)]
pub(crate) enum SendError {
    /// No connection could be made; the request is handed back, unsent, for another replica.
    Connect(Box<Request<Incoming>>, std::io::Error),
    /// The request went out and the exchange failed.
    Exchange(hyper::Error),
}

/// One client connection's connections to replicas.
#[derive(Debug)]
pub(crate) struct Upstreams {
    idle: Mutex<Vec<(SocketAddr, SendRequest<Incoming>)>>,
    driver: mpsc::UnboundedSender<Conn>,
}

/// Polls the connections of one [`Upstreams`]; run it beside the client connection.
#[derive(Debug)]
pub(crate) struct Driver {
    new: mpsc::UnboundedReceiver<Conn>,
}

impl Upstreams {
    pub(crate) fn new() -> (Self, Driver) {
        let (driver, new) = mpsc::unbounded_channel();
        let upstreams = Self {
            idle: Mutex::new(Vec::new()),
            driver,
        };
        (upstreams, Driver { new })
    }

    /// Sends `req` to the replica at `addr`, on the kept-alive connection when it is free,
    /// else on a new one.
    pub(crate) async fn send(
        &self,
        addr: SocketAddr,
        mut req: Request<Incoming>,
    ) -> Result<Response<Incoming>, SendError> {
        if let Some(mut sender) = self.take_idle(addr) {
            match sender.try_send_request(req).await {
                Ok(response) => {
                    self.put_idle(addr, sender);
                    return Ok(response);
                }
                // The replica closed the kept-alive connection before reading the request:
                // nothing was sent, so a new connection may carry it.
                Err(mut error) => match error.take_message() {
                    Some(unsent) => req = unsent,
                    None => return Err(SendError::Exchange(error.into_error())),
                },
            }
        }
        let mut sender = match connect(addr).await {
            Ok((sender, conn)) => {
                // The driver lives as long as this connection's service; it cannot be gone.
                let _ = self.driver.send(conn);
                sender
            }
            Err(error) => return Err(SendError::Connect(Box::new(req), error)),
        };
        let response = sender
            .send_request(req)
            .await
            .map_err(SendError::Exchange)?;
        self.put_idle(addr, sender);
        Ok(response)
    }

    /// The idle connection to `addr`, when it can take a request right now.
    fn take_idle(&self, addr: SocketAddr) -> Option<SendRequest<Incoming>> {
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let i = idle.iter().position(|(a, _)| *a == addr)?;
        let (_, mut sender) = idle.swap_remove(i);
        matches!(sender.ready().now_or_never(), Some(Ok(()))).then_some(sender)
    }

    fn put_idle(&self, addr: SocketAddr, sender: SendRequest<Incoming>) {
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        idle.retain(|(a, s)| *a != addr && !s.is_closed());
        idle.push((addr, sender));
    }
}

impl Driver {
    /// Drives every connection until the client connection ends (this never returns).
    pub(crate) async fn run(mut self) {
        let mut conns = FuturesUnordered::new();
        loop {
            tokio::select! {
                Some(conn) = self.new.recv() => conns.push(conn),
                Some(result) = conns.next(), if !conns.is_empty() => {
                    if let Err(error) = result {
                        tracing::debug!(%error, "connection to a replica ended with an error");
                    }
                }
                else => std::future::pending::<()>().await,
            }
        }
    }
}

/// A new HTTP/1.1 connection to a replica.
async fn connect(addr: SocketAddr) -> std::io::Result<(SendRequest<Incoming>, Conn)> {
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out"))??;
    let _ = stream.set_nodelay(true);
    http1::handshake(TokioIo::new(stream))
        .await
        .map_err(std::io::Error::other)
}

/// A connection of its own for a request that asks for an upgrade (WebSocket): it is
/// handed over to the tunnel afterwards, so it runs in its own task and is never reused.
pub(crate) async fn send_upgrade(
    addr: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<Incoming>, SendError> {
    let (mut sender, conn) = match connect(addr).await {
        Ok(pair) => pair,
        Err(error) => return Err(SendError::Connect(Box::new(req), error)),
    };
    tokio::spawn(async move {
        if let Err(error) = conn.with_upgrades().await {
            tracing::debug!(%error, "upgraded connection to a replica ended with an error");
        }
    });
    sender.send_request(req).await.map_err(SendError::Exchange)
}
