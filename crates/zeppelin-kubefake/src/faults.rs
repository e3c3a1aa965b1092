//! Faults tests switch on: latency added to every request, requests failing after a count,
//! open watches dropped on demand, API groups hidden from discovery, and the server going
//! away (its socket closed and open connections cut, by `connections`).

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// The fault switches, shared by the request handler and the test handle.
pub(crate) struct Faults {
    latency: Mutex<Duration>,
    /// Requests served so far.
    requests: AtomicU64,
    /// Requests numbered above this fail; `u64::MAX` when off.
    fail_after: AtomicU64,
    /// Bumped to end every open watch.
    watch_epoch: watch::Sender<u64>,
    /// Group versions (`networking.k8s.io/v1`) discovery says are not served.
    hidden: Mutex<BTreeSet<String>>,
    /// Cancelled when the server goes away, for good.
    gone: CancellationToken,
    /// Cancelled once the listener, told the server went away, has closed its socket.
    closed: CancellationToken,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            latency: Mutex::new(Duration::ZERO),
            requests: AtomicU64::new(0),
            fail_after: AtomicU64::new(u64::MAX),
            watch_epoch: watch::channel(0).0,
            hidden: Mutex::new(BTreeSet::new()),
            gone: CancellationToken::new(),
            closed: CancellationToken::new(),
        }
    }
}

impl Faults {
    pub(crate) fn set_latency(&self, latency: Duration) {
        *self
            .latency
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = latency;
    }

    pub(crate) fn latency(&self) -> Duration {
        *self
            .latency
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Lets the next `count` requests through and fails every one after them.
    pub(crate) fn fail_after(&self, count: u64) {
        let served = self.requests.load(Ordering::SeqCst);
        self.fail_after
            .store(served.saturating_add(count), Ordering::SeqCst);
    }

    pub(crate) fn clear(&self) {
        self.fail_after.store(u64::MAX, Ordering::SeqCst);
        self.set_latency(Duration::ZERO);
    }

    /// Counts a request; returns its number if it must fail.
    pub(crate) fn admit(&self) -> Option<u64> {
        let number = self.requests.fetch_add(1, Ordering::SeqCst) + 1;
        (number > self.fail_after.load(Ordering::SeqCst)).then_some(number)
    }

    pub(crate) fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }

    pub(crate) fn drop_watches(&self) {
        self.watch_epoch.send_modify(|epoch| *epoch += 1);
    }

    /// A receiver that changes when watches must be dropped.
    pub(crate) fn watch_drops(&self) -> watch::Receiver<u64> {
        self.watch_epoch.subscribe()
    }

    pub(crate) fn hide(&self, group_version: &str) {
        self.hidden
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(group_version.to_owned());
    }

    /// Whether discovery must answer 404 for `group_version`.
    pub(crate) fn is_hidden(&self, group_version: &str) -> bool {
        self.hidden
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(group_version)
    }

    /// Makes the server vanish: the listener stops and closes its socket, open connections
    /// fail their next read or write, and open watches end (so they write, and fail, at once
    /// rather than at their next event).
    pub(crate) fn go_away(&self) {
        self.gone.cancel();
        self.drop_watches();
    }

    /// The token the listener and the connections watch for [`Faults::go_away`].
    pub(crate) fn gone(&self) -> CancellationToken {
        self.gone.clone()
    }

    /// The token the listener cancels once its socket is closed after [`Faults::go_away`].
    pub(crate) fn closed(&self) -> CancellationToken {
        self.closed.clone()
    }
}
