//! The HTTP gateway that serves the app's `[[route]]` entries on the gateway port, as an
//! Ingress does on Kubernetes.
//!
//! It routes by host and path ([`routes`]), forwards to a healthy replica of the routed sub
//! ([`proxy`]), and answers on its own only when it must: 404 for an unknown host or path
//! (naming the known routes), 503 when the sub has no healthy replica, 502 when the replica
//! fails.

mod body;
mod proxy;
mod routes;
mod upstream;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use zeppelin_core::model::Route;

pub use routes::{RouteTarget, route_targets};

use crate::accept_errors::{AcceptErrors, BACKOFF};
use crate::balancer::Pool;
use crate::port_holder::PortHolder;
use proxy::Proxy;
use routes::RouteTable;
use upstream::Upstreams;

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    #[error(
        "gateway port {port} is already in use{holder}; free it, or change [gateway] port or pass --gateway-port"
    )]
    InUse {
        port: u16,
        holder: PortHolder,
        #[source]
        source: io::Error,
    },
    #[error("cannot listen on {addr} for the gateway")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: io::Error,
    },
    #[error(
        "route {host}{path} goes to sub \"{sub}\", which has no balancer; give sub.{sub} a port"
    )]
    NoBalancer {
        host: String,
        path: String,
        sub: String,
    },
}

/// A listening gateway. Dropping it stops listening and closes its connections;
/// [`Gateway::shutdown`] does the same and returns once the port is free again.
///
/// The gateway runs on threads of its own, one event loop per CPU (at most
/// [`MAX_WORKERS`]), each accepting from the shared port and serving its connections from
/// start to end, as nginx's worker processes do: a request and its answer never wait for
/// another thread, whatever runtime the caller uses.
#[derive(Debug)]
pub struct Gateway {
    local_addr: SocketAddr,
    stop: CancellationToken,
    /// One per worker thread, resolved once the thread has closed all it held.
    stopped: Vec<oneshot::Receiver<()>>,
}

/// The most worker threads a gateway starts; a local gateway rarely needs more.
pub const MAX_WORKERS: usize = 4;

impl Gateway {
    /// Listens on `addr` and serves `routes`, each to the pool of its sub's balancer
    /// (`pools` by sub name, from [`crate::balancer::Balancer::pool`]).
    pub async fn bind(
        addr: SocketAddr,
        routes: &[Route],
        pools: &BTreeMap<String, Pool>,
    ) -> Result<Self, BindError> {
        let table = routes
            .iter()
            .map(|route| match pools.get(&route.sub) {
                Some(pool) => Ok((route.clone(), pool.clone())),
                None => Err(BindError::NoBalancer {
                    host: route.host.clone(),
                    path: route.path.clone(),
                    sub: route.sub.clone(),
                }),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let listener = TcpListener::bind(addr).await.map_err(|source| {
            if source.kind() == io::ErrorKind::AddrInUse {
                BindError::InUse {
                    port: addr.port(),
                    holder: PortHolder::of(addr.port()),
                    source,
                }
            } else {
                BindError::Listen { addr, source }
            }
        })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| BindError::Listen { addr, source })?;
        let listener = listener
            .into_std()
            .map_err(|source| BindError::Listen { addr, source })?;
        let stop = CancellationToken::new();
        let proxy = Arc::new(Proxy::new(RouteTable::new(table), stop.clone()));
        let workers = std::thread::available_parallelism()
            .map_or(1, std::num::NonZero::get)
            .min(MAX_WORKERS);
        let mut stopped = Vec::with_capacity(workers);
        for n in 0..workers {
            let started = start_worker(n, &listener, Arc::clone(&proxy), stop.clone());
            match started {
                Ok(done) => stopped.push(done),
                Err(source) => {
                    stop.cancel();
                    return Err(BindError::Listen { addr, source });
                }
            }
        }
        Ok(Self {
            local_addr,
            stop,
            stopped,
        })
    }

    /// Where the gateway listens (the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops listening and closes every connection; once this returns the port can be
    /// bound again, e.g. by a gateway with the app's changed routes.
    pub async fn shutdown(mut self) {
        self.stop.cancel();
        for done in std::mem::take(&mut self.stopped) {
            let _ = done.await;
        }
    }
}

/// Starts worker thread `n`: its own single-threaded runtime serving connections accepted
/// from `listener` until `stop`; the returned receiver resolves once it has closed them.
fn start_worker(
    n: usize,
    listener: &std::net::TcpListener,
    proxy: Arc<Proxy>,
    stop: CancellationToken,
) -> io::Result<oneshot::Receiver<()>> {
    let listener = listener.try_clone()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (done, stopped) = oneshot::channel();
    std::thread::Builder::new()
        .name(format!("zeppelin-gateway-{n}"))
        .spawn(move || {
            runtime.block_on(async move {
                match TcpListener::from_std(listener) {
                    Ok(listener) => accept_loop(listener, proxy, stop).await,
                    Err(error) => tracing::error!(%error, "gateway worker cannot listen"),
                }
            });
            // Dropping the runtime ends every connection task and closes its sockets.
            drop(runtime);
            let _ = done.send(());
        })?;
    Ok(stopped)
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn accept_loop(listener: TcpListener, proxy: Arc<Proxy>, stop: CancellationToken) {
    let mut errors = AcceptErrors::default();
    loop {
        let accepted = tokio::select! {
            () = stop.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                errors.accepted();
                tokio::spawn(serve(stream, peer, Arc::clone(&proxy), stop.clone()));
            }
            Err(error) => {
                // Out of file descriptors and the like: back off instead of spinning.
                if let Some(held_back) = errors.failed() {
                    tracing::warn!(%error, held_back, "gateway cannot accept a connection");
                }
                tokio::time::sleep(BACKOFF).await;
            }
        }
    }
}

/// Serves one client connection: HTTP/1.1 with keep-alive and upgrades.
async fn serve(stream: TcpStream, peer: SocketAddr, proxy: Arc<Proxy>, stop: CancellationToken) {
    let _ = stream.set_nodelay(true);
    let upstreams = Arc::new(Upstreams::default());
    let driving = Arc::clone(&upstreams);
    let client_ip = proxy::client_ip(peer);
    let service = service_fn(move |req| {
        let proxy = Arc::clone(&proxy);
        let upstreams = Arc::clone(&upstreams);
        let client_ip = client_ip.clone();
        async move { Ok::<_, Infallible>(proxy.handle(req, &client_ip, &upstreams).await) }
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::select! {
        () = stop.cancelled() => {}
        () = driving.drive() => {}
        result = connection => {
            if let Err(error) = result {
                tracing::debug!(%peer, %error, "gateway connection ended with an error");
            }
        }
    }
}
