//! Connections from the gateway to replicas, owned by one client connection.
//!
//! Each client connection keeps at most one idle kept-alive connection per replica and
//! drives them in its own task ([`Upstreams::drive`] runs beside the client connection), so a
//! request and its answer never hop between threads. HTTP/1.1 serves one request at a time
//! per connection, so one connection per replica is all a client connection can use.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use std::task::Poll;

use futures_util::FutureExt as _;
use futures_util::task::AtomicWaker;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, Connection, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

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
#[derive(Debug, Default)]
pub(crate) struct Upstreams {
    idle: Mutex<Vec<(SocketAddr, SendRequest<Incoming>)>>,
    /// Every open connection, polled by [`Upstreams::drive`].
    conns: Mutex<Vec<Conn>>,
    /// The client connection's task, woken when a connection is added.
    driver: AtomicWaker,
}

impl Upstreams {
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
                self.conns
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(conn);
                self.driver.wake();
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

    /// Drives every connection until the client connection ends (this never returns). It
    /// runs in the client connection's own task, beside it.
    pub(crate) async fn drive(&self) {
        std::future::poll_fn(|cx| {
            self.driver.register(cx.waker());
            let mut conns = self
                .conns
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            conns.retain_mut(|conn| match conn.poll_unpin(cx) {
                Poll::Pending => true,
                Poll::Ready(result) => {
                    if let Err(error) = result {
                        tracing::debug!(%error, "connection to a replica ended with an error");
                    }
                    false
                }
            });
            Poll::<()>::Pending
        })
        .await;
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
