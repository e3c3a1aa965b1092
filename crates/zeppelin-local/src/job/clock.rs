//! The scheduler's clock, and its one decision: what to do when a scheduled job's times
//! come. The clock is the wall clock, unless a test speeds it up or moves its start with
//! two hidden variables ([`SPEED_VAR`], [`START_VAR`]), so a test sees an every-minute
//! schedule fire every second instead of waiting real minutes.

use std::time::{Duration, Instant};

use jiff::Timestamp;
use zeppelin_core::schedule::Schedule;

/// For tests: how many times faster than real time the scheduler's clock runs (`60`: a
/// minute a second).
pub const SPEED_VAR: &str = "ZEPPELIN_TEST_CLOCK_SPEED";
/// For tests: the time (RFC 3339) the scheduler's clock shows when the supervisor starts.
pub const START_VAR: &str = "ZEPPELIN_TEST_CLOCK_START";

/// Due times counted at most, when the clock jumped far ahead.
const MAX_COUNTED: u32 = 1000;

/// The time jobs are scheduled, started and shown in.
#[derive(Debug, Clone)]
pub struct Clock {
    /// The wall clock itself (no test variable set): it follows the system's time, also
    /// across a suspend, which the monotonic clock below does not count.
    wall: bool,
    real: Instant,
    shown: Timestamp,
    speed: f64,
}

impl Default for Clock {
    fn default() -> Self {
        Self {
            wall: true,
            real: Instant::now(),
            shown: Timestamp::now(),
            speed: 1.0,
        }
    }
}

impl Clock {
    /// The wall clock, or the test clock the hidden variables describe; a variable that
    /// does not parse is an error naming it.
    pub fn from_env() -> Result<Self, String> {
        let mut clock = Self::default();
        if let Ok(speed) = std::env::var(SPEED_VAR) {
            clock.wall = false;
            clock.speed = speed
                .parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s > 0.0)
                .ok_or_else(|| format!("{SPEED_VAR}={speed} is not a positive number"))?;
        }
        if let Ok(start) = std::env::var(START_VAR) {
            clock.wall = false;
            clock.shown = start
                .parse()
                .map_err(|err| format!("{START_VAR}={start} is not an RFC 3339 time: {err}"))?;
        }
        Ok(clock)
    }

    /// The time now.
    pub fn now(&self) -> Timestamp {
        if self.wall {
            return Timestamp::now();
        }
        let elapsed = self.real.elapsed().mul_f64(self.speed);
        jiff::SignedDuration::try_from(elapsed)
            .ok()
            .and_then(|d| self.shown.checked_add(d).ok())
            .unwrap_or(Timestamp::MAX)
    }

    /// How long to really wait until the clock shows `at` (zero when it is past).
    pub(crate) fn until(&self, at: Timestamp) -> Duration {
        let ahead = at.duration_since(self.now());
        Duration::try_from(ahead).map_or(Duration::ZERO, |d| d.div_f64(self.speed))
    }
}

/// What the scheduler does about one job once the clock moved from `since` to `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decision {
    /// Start a run now.
    pub(crate) run: bool,
    /// Due times that get no run: a run was still going, or several came at once (the
    /// machine slept) and only one runs.
    pub(crate) skipped: u32,
}

/// The decision for a job on `schedule` whose previous run is (or is not) still `running`:
/// no overlap, so a due time while it runs is skipped and counted.
pub(crate) fn decide(
    schedule: &Schedule,
    since: Timestamp,
    now: Timestamp,
    running: bool,
) -> Decision {
    let mut due = 0;
    let mut at = since;
    while due < MAX_COUNTED {
        match schedule.next(at) {
            Some(next) if next <= now => {
                due += 1;
                at = next;
            }
            _ => break,
        }
    }
    match due {
        0 => Decision {
            run: false,
            skipped: 0,
        },
        _ if running => Decision {
            run: false,
            skipped: due,
        },
        _ => Decision {
            run: true,
            skipped: due - 1,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn a_due_time_runs_unless_a_run_still_goes() {
        let minutely = Schedule::parse("* * * * *", None).unwrap();
        let since = at("2026-03-01T10:00:30Z");
        let nothing = Decision {
            run: false,
            skipped: 0,
        };
        assert_eq!(
            decide(&minutely, since, at("2026-03-01T10:00:59Z"), false),
            nothing
        );
        assert_eq!(
            decide(&minutely, since, at("2026-03-01T10:01:00Z"), false),
            Decision {
                run: true,
                skipped: 0
            }
        );
        assert_eq!(
            decide(&minutely, since, at("2026-03-01T10:01:00Z"), true),
            Decision {
                run: false,
                skipped: 1
            }
        );
        // Three due times at once (the machine slept): one run, two skipped.
        assert_eq!(
            decide(&minutely, since, at("2026-03-01T10:03:10Z"), false),
            Decision {
                run: true,
                skipped: 2
            }
        );
        assert_eq!(
            decide(
                &minutely,
                at("2026-03-01T10:01:00Z"),
                at("2026-03-01T10:01:00Z"),
                false
            ),
            nothing,
            "a due time already handled is not due again"
        );
    }

    #[test]
    fn a_fast_clock_runs_ahead_of_the_wall_clock() {
        let clock = Clock {
            wall: false,
            real: Instant::now(),
            shown: at("2026-03-01T10:00:00Z"),
            speed: 60.0,
        };
        std::thread::sleep(Duration::from_millis(50));
        assert!(clock.now() >= at("2026-03-01T10:00:03Z"), "{}", clock.now());
        let wait = clock.until(at("2026-03-01T10:01:00Z"));
        assert!(wait <= Duration::from_secs(1), "{wait:?}");
        assert_eq!(clock.until(at("2026-03-01T09:00:00Z")), Duration::ZERO);
    }
}
