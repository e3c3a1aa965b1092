//! Failed accepts on a listening socket (out of file descriptors and the like) come in
//! runs: a listener retries every [`BACKOFF`], which would write twenty warnings a second
//! into the supervisor's log for as long as the cause lasts. [`AcceptErrors`] lets the first
//! failure of a run through, then one line every [`REPORT_EVERY`] with how many were held
//! back. The balancers, the gateway and the control socket share it.

use std::time::Duration;

use tokio::time::Instant;

/// How long a listener waits after a failed accept before it tries again.
pub(crate) const BACKOFF: Duration = Duration::from_millis(50);

/// At most one warning per listener this often while accepts keep failing.
const REPORT_EVERY: Duration = Duration::from_secs(10);

/// The failed accepts of one listener.
#[derive(Debug, Default)]
pub(crate) struct AcceptErrors {
    last_report: Option<Instant>,
    held_back: u64,
}

impl AcceptErrors {
    /// Counts one failed accept. `Some(n)` when it is to be logged, `n` being how many
    /// failures since the last logged one were not.
    pub(crate) fn failed(&mut self) -> Option<u64> {
        let now = Instant::now();
        if self
            .last_report
            .is_some_and(|last| now.duration_since(last) < REPORT_EVERY)
        {
            self.held_back += 1;
            return None;
        }
        self.last_report = Some(now);
        Some(std::mem::take(&mut self.held_back))
    }

    /// A successful accept ends the run: the next failure is logged at once.
    pub(crate) fn accepted(&mut self) {
        self.last_report = None;
        self.held_back = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_first_failure_of_a_run_is_logged_then_one_every_ten_seconds() {
        let mut errors = AcceptErrors::default();
        assert_eq!(errors.failed(), Some(0));
        let mut logged = Vec::new();
        // Twelve seconds of failures, one every BACKOFF.
        for _ in 0..240 {
            tokio::time::advance(BACKOFF).await;
            if let Some(held_back) = errors.failed() {
                logged.push(held_back);
            }
        }
        assert_eq!(logged, vec![199]);
        errors.accepted();
        assert_eq!(errors.failed(), Some(0));
        assert_eq!(errors.failed(), None);
    }
}
