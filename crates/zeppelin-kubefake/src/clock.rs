//! The clock the `CronJob` controller schedules by: real time, or real time sped up by a
//! factor from the moment the controllers start, so a test can watch a schedule of every
//! minute fire every second instead of waiting real minutes.

use std::time::Instant;

use jiff::{SignedDuration, Timestamp};

/// Real time, or real time running `speed` times as fast from its start.
#[derive(Debug, Clone)]
pub(crate) struct Clock {
    origin: Timestamp,
    started: Instant,
    speed: f64,
}

impl Clock {
    /// A clock that reads real time now and runs `speed` times as fast (non-positive or
    /// non-finite speeds read as 1: real time).
    pub(crate) fn new(speed: f64) -> Self {
        Self {
            origin: Timestamp::now(),
            started: Instant::now(),
            speed: if speed.is_finite() && speed > 0.0 {
                speed
            } else {
                1.0
            },
        }
    }

    pub(crate) fn now(&self) -> Timestamp {
        let elapsed = self.started.elapsed().mul_f64(self.speed);
        let elapsed = SignedDuration::try_from(elapsed).unwrap_or(SignedDuration::MAX);
        self.origin
            .saturating_add(elapsed)
            .unwrap_or(Timestamp::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sped_up_clock_runs_ahead_of_real_time_and_a_bad_speed_is_real_time() {
        let fast = Clock::new(3600.0);
        let real = Clock::new(-2.0);
        std::thread::sleep(std::time::Duration::from_millis(20));
        let ahead = fast.now().duration_since(Timestamp::now());
        assert!(ahead >= SignedDuration::from_secs(60), "{ahead:?}");
        let drift = real.now().duration_since(Timestamp::now()).abs();
        assert!(drift < SignedDuration::from_secs(1), "{drift:?}");
    }
}
