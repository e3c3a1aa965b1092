//! Restart backoff: 1 s, doubling to a cap of one minute, back to 1 s once a replica has
//! stayed up for [`Backoff::RESET_AFTER`].

use std::time::Duration;

/// Crashes in a row after which a replica is reported as crash-looping.
pub(crate) const CRASH_LOOP: u32 = 3;

/// The delay before the next start of one replica.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Backoff {
    next: Duration,
    /// Exits in a row without a long enough run in between.
    pub(crate) crashes: u32,
}

impl Backoff {
    pub(crate) const FIRST: Duration = Duration::from_secs(1);
    pub(crate) const CAP: Duration = Duration::from_secs(60);
    /// A run at least this long resets the delay.
    pub(crate) const RESET_AFTER: Duration = Duration::from_secs(30);

    pub(crate) fn new() -> Self {
        Self {
            next: Self::FIRST,
            crashes: 0,
        }
    }

    /// The wait before restarting a replica that ran for `ran`.
    pub(crate) fn after_exit(&mut self, ran: Duration) -> Duration {
        if ran >= Self::RESET_AFTER {
            *self = Self::new();
        }
        let wait = self.next;
        self.next = (self.next * 2).min(Self::CAP);
        self.crashes += 1;
        wait
    }

    /// Whether the replica keeps crashing.
    pub(crate) fn crash_looping(&self) -> bool {
        self.crashes >= CRASH_LOOP
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_to_the_cap_and_resets_after_a_long_run() {
        let mut backoff = Backoff::new();
        let short = Duration::from_millis(10);
        let waits: Vec<u64> = (0..9)
            .map(|_| backoff.after_exit(short).as_secs())
            .collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert!(backoff.crash_looping());
        assert_eq!(backoff.after_exit(Backoff::RESET_AFTER), Backoff::FIRST);
        assert!(!backoff.crash_looping());
    }
}
