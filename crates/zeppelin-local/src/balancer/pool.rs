//! The live set of a sub's backends and the load on each.
//!
//! The supervisor says which replicas may take traffic ([`Pool::set_backends`]); the
//! balancer and the gateway ask for one per connection or request ([`Pool::pick`]) and hold
//! the returned [`Lease`] for as long as they use it. A backend taken out of rotation keeps
//! its open leases until they end, so [`Pool::drain`] can wait for it to fall idle before
//! its process is stopped.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use zeppelin_core::model::Balance;

/// One replica that may receive traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Backend {
    /// The replica's number (`web.2` → 2), for `ps` and logs.
    pub replica: u32,
    /// Where the replica's own process listens.
    pub addr: SocketAddr,
}

/// What one backend is doing right now, for `ps` and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackendLoad {
    pub backend: Backend,
    /// Connections (balancer) and requests (gateway) currently using it.
    pub open: usize,
    /// Whether it gets new connections; `false` while it drains.
    pub in_rotation: bool,
}

/// How a [`Pool::drain`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drained {
    /// Every connection finished on its own; stopping the replica now loses nothing.
    Idle,
    /// The timeout passed first and this many connections were cut.
    Cut { open: usize },
}

/// A sub's backends, shared by its balancer and the gateway. Cloning shares the same set.
#[derive(Debug, Clone)]
pub struct Pool {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    sub: String,
    policy: Balance,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Backends in rotation, in the order the supervisor gave them.
    active: Vec<Arc<Slot>>,
    /// Backends out of rotation that may still have open leases.
    draining: Vec<Arc<Slot>>,
    /// Round-robin cursor.
    next: usize,
}

#[derive(Debug)]
struct Slot {
    backend: Backend,
    /// Leases out on this backend.
    open: AtomicUsize,
    /// Notified when `open` drops to zero.
    idle: Notify,
    /// Cancelled when a drain times out: every lease's user closes its connection.
    cut: CancellationToken,
}

impl Slot {
    fn new(backend: Backend) -> Arc<Self> {
        Arc::new(Self {
            backend,
            open: AtomicUsize::new(0),
            idle: Notify::new(),
            cut: CancellationToken::new(),
        })
    }

    fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    /// Completes once no lease is out on this backend.
    async fn wait_idle(&self) {
        loop {
            let notified = self.idle.notified();
            let mut notified = std::pin::pin!(notified);
            // Registered before the check, so a release right after it is not missed.
            notified.as_mut().enable();
            if self.open() == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// The right to use one backend; the backend counts as busy until this is dropped.
#[derive(Debug)]
pub(crate) struct Lease {
    slot: Arc<Slot>,
}

impl Lease {
    pub(crate) fn backend(&self) -> Backend {
        self.slot.backend
    }

    /// Completes when a drain of this backend timed out: the user must stop using it.
    pub(crate) async fn cut(&self) {
        self.slot.cut.cancelled().await;
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if self.slot.open.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.slot.idle.notify_waiters();
        }
    }
}

impl Pool {
    /// An empty pool for `sub`: it refuses everything until the supervisor adds backends.
    pub fn new(sub: impl Into<String>, policy: Balance) -> Self {
        Self {
            inner: Arc::new(Inner {
                sub: sub.into(),
                policy,
                state: Mutex::new(State::default()),
            }),
        }
    }

    /// The sub these backends serve.
    pub fn sub(&self) -> &str {
        &self.inner.sub
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the state half-changed (every change
        // is one assignment or push), so a poisoned lock is safe to keep using.
        self.inner
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Replaces the backends in rotation. Backends left out get no new connections; their
    /// open ones go on until they end or a [`Pool::drain`] cuts them.
    pub fn set_backends(&self, backends: impl IntoIterator<Item = Backend>) {
        let mut state = self.state();
        let mut previous: Vec<Arc<Slot>> = std::mem::take(&mut state.active);
        previous.append(&mut state.draining);
        let mut active: Vec<Arc<Slot>> = Vec::new();
        for backend in backends {
            if active.iter().any(|slot| slot.backend.addr == backend.addr) {
                continue;
            }
            let reused = previous
                .iter()
                .position(|slot| slot.backend == backend && !slot.cut.is_cancelled())
                .map(|i| previous.swap_remove(i));
            active.push(reused.unwrap_or_else(|| Slot::new(backend)));
        }
        previous.retain(|slot| slot.open() > 0);
        state.active = active;
        state.draining = previous;
    }

    /// Takes `addr` out of rotation and waits until nothing uses it, at most `timeout`;
    /// then cuts what is still open. Call it before stopping a replica so no request is
    /// lost to the stop.
    pub async fn drain(&self, addr: SocketAddr, timeout: Duration) -> Drained {
        let slots: Vec<Arc<Slot>> = {
            let mut state = self.state();
            let (leaving, staying): (Vec<_>, Vec<_>) = std::mem::take(&mut state.active)
                .into_iter()
                .partition(|slot| slot.backend.addr == addr);
            state.active = staying;
            state.draining.extend(leaving);
            state
                .draining
                .iter()
                .filter(|slot| slot.backend.addr == addr)
                .cloned()
                .collect()
        };
        let mut cut = 0;
        for slot in &slots {
            if tokio::time::timeout(timeout, slot.wait_idle())
                .await
                .is_err()
            {
                cut += slot.open();
                slot.cut.cancel();
            }
        }
        self.state().draining.retain(|slot| slot.open() > 0);
        if cut == 0 {
            Drained::Idle
        } else {
            Drained::Cut { open: cut }
        }
    }

    /// Picks the backend for a new connection or request, passing over backends that just
    /// refused one; `None` when no replica of the sub may take traffic.
    pub(crate) fn pick_avoiding(&self, refused: &[SocketAddr]) -> Option<Lease> {
        let mut state = self.state();
        let count = state.active.len();
        let start = state.next;
        let candidates = (0..count)
            .map(|i| (start + i) % count)
            .filter(|&i| !refused.contains(&state.active[i].backend.addr));
        let chosen = match self.inner.policy {
            Balance::RoundRobin => candidates.into_iter().next(),
            // Ties go to the first one in round-robin order, so equal loads still spread.
            Balance::LeastConnections => candidates.min_by_key(|&i| state.active[i].open()),
        }?;
        state.next = (chosen + 1) % count;
        let slot = Arc::clone(&state.active[chosen]);
        slot.open.fetch_add(1, Ordering::AcqRel);
        Some(Lease { slot })
    }

    /// How many backends take new connections: the replicas "receiving traffic" in `ps`.
    pub fn in_rotation(&self) -> usize {
        self.state().active.len()
    }

    /// Every backend in rotation or still draining, with its open connections.
    pub fn loads(&self) -> Vec<BackendLoad> {
        let state = self.state();
        let active = state.active.iter().map(|slot| (slot, true));
        let draining = state.draining.iter().map(|slot| (slot, false));
        active
            .chain(draining)
            .filter(|(slot, in_rotation)| *in_rotation || slot.open() > 0)
            .map(|(slot, in_rotation)| BackendLoad {
                backend: slot.backend,
                open: slot.open(),
                in_rotation,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backend(replica: u32) -> Backend {
        Backend {
            replica,
            addr: SocketAddr::from(([127, 0, 0, 1], 9000 + u16::try_from(replica).unwrap())),
        }
    }

    fn replicas(leases: &[Lease]) -> Vec<u32> {
        leases.iter().map(|l| l.backend().replica).collect()
    }

    #[test]
    fn round_robin_takes_turns() {
        let pool = Pool::new("web", Balance::RoundRobin);
        pool.set_backends([backend(1), backend(2), backend(3)]);
        let leases: Vec<Lease> = (0..6).map(|_| pool.pick_avoiding(&[]).unwrap()).collect();
        assert_eq!(replicas(&leases), [1, 2, 3, 1, 2, 3]);
    }

    #[test]
    fn least_connections_fills_the_idle_backend() {
        let pool = Pool::new("web", Balance::LeastConnections);
        pool.set_backends([backend(1), backend(2), backend(3)]);
        let mut leases: Vec<Lease> = (0..3).map(|_| pool.pick_avoiding(&[]).unwrap()).collect();
        assert_eq!(replicas(&leases), [1, 2, 3]);
        leases.remove(1);
        assert_eq!(pool.pick_avoiding(&[]).unwrap().backend().replica, 2);
    }

    #[test]
    fn empty_pool_picks_nothing() {
        let pool = Pool::new("web", Balance::RoundRobin);
        assert!(pool.pick_avoiding(&[]).is_none());
        pool.set_backends([backend(1)]);
        pool.set_backends([]);
        assert!(pool.pick_avoiding(&[]).is_none());
    }

    #[test]
    fn removed_backend_keeps_its_count_until_leases_end() {
        let pool = Pool::new("web", Balance::RoundRobin);
        pool.set_backends([backend(1), backend(2)]);
        let held = pool.pick_avoiding(&[]).unwrap();
        pool.set_backends([backend(2)]);
        assert_eq!(
            pool.loads(),
            [
                BackendLoad {
                    backend: backend(2),
                    open: 0,
                    in_rotation: true
                },
                BackendLoad {
                    backend: backend(1),
                    open: 1,
                    in_rotation: false
                },
            ]
        );
        assert!((0..4).all(|_| pool.pick_avoiding(&[]).unwrap().backend().replica == 2));
        drop(held);
        assert_eq!(pool.loads().len(), 1);
    }

    #[test]
    fn refused_backends_are_passed_over() {
        let pool = Pool::new("web", Balance::RoundRobin);
        pool.set_backends([backend(1), backend(2)]);
        let refused = [backend(1).addr, backend(2).addr];
        assert_eq!(
            pool.pick_avoiding(&refused[..1]).unwrap().backend().replica,
            2
        );
        assert!(pool.pick_avoiding(&refused).is_none());
    }

    #[tokio::test]
    async fn drain_waits_for_leases_then_reports_idle() {
        let pool = Pool::new("web", Balance::RoundRobin);
        pool.set_backends([backend(1), backend(2)]);
        let held = pool.pick_avoiding(&[]).unwrap();
        let drain = tokio::spawn({
            let pool = pool.clone();
            async move { pool.drain(backend(1).addr, Duration::from_secs(30)).await }
        });
        tokio::task::yield_now().await;
        assert_eq!(pool.in_rotation(), 1);
        assert!(!drain.is_finished());
        drop(held);
        assert_eq!(drain.await.unwrap(), Drained::Idle);
        assert_eq!(pool.loads().len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn drain_cuts_what_outlives_the_timeout() {
        let pool = Pool::new("web", Balance::RoundRobin);
        pool.set_backends([backend(1)]);
        let held = pool.pick_avoiding(&[]).unwrap();
        let drained = pool.drain(backend(1).addr, Duration::from_secs(10)).await;
        assert_eq!(drained, Drained::Cut { open: 1 });
        tokio::time::timeout(Duration::from_secs(1), held.cut())
            .await
            .expect("the lease is told to stop");
    }
}
