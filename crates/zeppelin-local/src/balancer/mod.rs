//! The TCP load balancer in front of each sub with a port: what `<SUB>_ADDR` points at.
//!
//! It listens on the sub's stable port and pipes every connection to one replica from its
//! [`Pool`], the way a Kubernetes Service spreads connections over ready pods. It knows
//! nothing of HTTP, so any protocol works. With no replica in rotation a connection is
//! reset at once rather than left hanging.

mod pool;
mod ready;

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use zeppelin_core::model::Balance;

use crate::accept_errors::{AcceptErrors, BACKOFF};
pub use crate::port_holder::PortHolder;
pub(crate) use pool::Lease;
pub use pool::{Backend, BackendLoad, Drained, Pool};
pub(crate) use ready::ReadySet;

/// How long the balancer waits for a replica to accept a connection before trying another.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a sub's balancer could not start listening.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    #[error(
        "port {port} for sub \"{sub}\" is already in use{holder}; free it or change sub.{sub}.port"
    )]
    InUse {
        sub: String,
        port: u16,
        holder: PortHolder,
        #[source]
        source: io::Error,
    },
    #[error("cannot listen on {addr} for sub \"{sub}\"")]
    Listen {
        sub: String,
        addr: SocketAddr,
        #[source]
        source: io::Error,
    },
}

/// A listening balancer. Dropping it stops listening and closes every connection it holds;
/// [`Balancer::shutdown`] does the same and returns once the port is free again.
#[derive(Debug)]
pub struct Balancer {
    pool: Pool,
    local_addr: SocketAddr,
    stop: CancellationToken,
    accepting: Option<JoinHandle<()>>,
}

impl Balancer {
    /// Listens on `addr` for `sub`, with no backends yet: connections are reset until the
    /// supervisor adds healthy replicas with [`Balancer::set_backends`].
    pub async fn bind(sub: &str, addr: SocketAddr, policy: Balance) -> Result<Self, BindError> {
        let listener = TcpListener::bind(addr).await.map_err(|source| {
            if source.kind() == io::ErrorKind::AddrInUse {
                BindError::InUse {
                    sub: sub.to_owned(),
                    port: addr.port(),
                    holder: PortHolder::of(addr.port()),
                    source,
                }
            } else {
                BindError::Listen {
                    sub: sub.to_owned(),
                    addr,
                    source,
                }
            }
        })?;
        let local_addr = listener.local_addr().map_err(|source| BindError::Listen {
            sub: sub.to_owned(),
            addr,
            source,
        })?;
        let pool = Pool::new(sub, policy);
        let stop = CancellationToken::new();
        let accepting = tokio::spawn(accept_loop(listener, pool.clone(), stop.clone()));
        Ok(Self {
            pool,
            local_addr,
            stop,
            accepting: Some(accepting),
        })
    }

    /// Where the balancer listens (the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The sub's backends; hand a clone to the gateway so routes reach the same replicas.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Replaces the replicas in rotation; see [`Pool::set_backends`].
    pub fn set_backends(&self, backends: impl IntoIterator<Item = Backend>) {
        self.pool.set_backends(backends);
    }

    /// Takes a replica out of rotation and waits for its connections; see [`Pool::drain`].
    pub async fn drain(&self, addr: SocketAddr, timeout: Duration) -> Drained {
        self.pool.drain(addr, timeout).await
    }

    /// Stops listening and closes every connection; once this returns the port can be
    /// bound again (by a new balancer when the app changes, or by anything else).
    pub async fn shutdown(mut self) {
        self.stop.cancel();
        if let Some(accepting) = self.accepting.take() {
            let _ = accepting.await;
        }
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn accept_loop(listener: TcpListener, pool: Pool, stop: CancellationToken) {
    let mut errors = AcceptErrors::default();
    loop {
        let accepted = tokio::select! {
            () = stop.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((client, _)) => {
                errors.accepted();
                tokio::spawn(serve(client, pool.clone(), stop.clone()));
            }
            Err(error) => {
                // Out of file descriptors and the like: back off instead of spinning.
                if let Some(held_back) = errors.failed() {
                    tracing::warn!(sub = pool.sub(), %error, held_back, "balancer cannot accept a connection");
                }
                tokio::time::sleep(BACKOFF).await;
            }
        }
    }
}

/// Pipes one client connection to a replica until either side closes, the balancer stops,
/// or a drain of that replica times out.
async fn serve(client: TcpStream, pool: Pool, stop: CancellationToken) {
    let Some((lease, upstream)) = connect(&pool).await else {
        refuse(&client);
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let (mut client, mut upstream) = (client, upstream);
    tokio::select! {
        () = stop.cancelled() => {}
        () = lease.cut() => {}
        result = copy_bidirectional(&mut client, &mut upstream) => {
            if let Err(error) = result {
                tracing::debug!(sub = pool.sub(), backend = %lease.backend().addr, %error, "connection ended with an error");
            }
        }
    }
}

/// Connects to a replica in rotation, passing over ones that refuse, so a replica that died
/// before its health check noticed costs no connection.
async fn connect(pool: &Pool) -> Option<(Lease, TcpStream)> {
    let mut refused = Vec::new();
    while let Some(lease) = pool.pick_avoiding(&refused) {
        let addr = lease.backend().addr;
        match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => return Some((lease, stream)),
            Ok(Err(error)) => {
                tracing::debug!(sub = pool.sub(), backend = %addr, %error, "replica refused a connection");
            }
            Err(_) => {
                tracing::debug!(sub = pool.sub(), backend = %addr, "replica did not accept in time");
            }
        }
        refused.push(addr);
    }
    None
}

/// Resets the connection, so the client fails at once instead of waiting for a reply.
fn refuse(client: &TcpStream) {
    let _ = client.set_zero_linger();
}
