//! A sub's ready set: which of its replicas receive traffic, the bridge from replica health
//! to the sub's balancer.
//!
//! Every replica reports its port and readiness here as they change; the sub's [`Pool`]
//! (shared by its balancer and the gateway) is then given exactly the ready ones. Entries
//! are keyed by each replica run's serial rather than its index, so during a rolling
//! replacement the new `web.0` and the old `web.0` are two backends side by side.

use std::net::SocketAddr;
use std::sync::Mutex;

use super::pool::{Backend, Drained, Pool};

/// A sub's replicas as the balancer sees them: every replica run with a port, and whether it
/// is ready.
#[derive(Debug, Default)]
pub(crate) struct ReadySet {
    /// `(serial, backend, ready)` of every replica run that has a port.
    entries: Mutex<Vec<(u64, Backend, bool)>>,
    /// The balancer's pool; `None` for a sub without a port.
    pool: Option<Pool>,
}

impl ReadySet {
    pub(crate) fn new(pool: Option<Pool>) -> Self {
        Self {
            entries: Mutex::default(),
            pool,
        }
    }

    /// Records replica run `serial` (listening on `addr`, or gone when `None`) and gives
    /// the balancer the ready replicas.
    pub(crate) fn report(&self, serial: u64, replica: u32, addr: Option<SocketAddr>, ready: bool) {
        let mut entries = self.entries.lock().expect("ready set");
        let before = entries.clone();
        entries.retain(|(s, _, _)| *s != serial);
        if let Some(addr) = addr {
            entries.push((serial, Backend { replica, addr }, ready));
            entries.sort_by_key(|(s, backend, _)| (backend.replica, *s));
        }
        if *entries != before
            && let Some(pool) = &self.pool
        {
            pool.set_backends(entries.iter().filter(|e| e.2).map(|e| e.1));
        }
    }

    /// Takes `addr` out of rotation and waits (at most `timeout`) for its open connections
    /// to end, so stopping the replica cuts nobody off.
    pub(crate) async fn drain(&self, addr: SocketAddr, timeout: std::time::Duration) -> Drained {
        match &self.pool {
            Some(pool) => pool.drain(addr, timeout).await,
            None => Drained::Idle,
        }
    }
}
