//! Cron schedules: the five-field syntax (and `@hourly`, `@daily`...) a Kubernetes `CronJob`
//! accepts, in an IANA time zone (UTC without one). One parser serves the app file's
//! `[job.*] schedule`, the local scheduler and the test API server, so a schedule `check`
//! accepts is one every runtime runs at the same times.

use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use jiff::Timestamp;
use jiff::tz::TimeZone;

/// A parsed schedule in its time zone.
#[derive(Debug, Clone)]
pub struct Schedule {
    cron: Cron,
    zone: TimeZone,
}

impl Schedule {
    /// Parses `schedule` (five fields: no seconds, no year) in the IANA zone `zone`; the error
    /// says what is wrong, in the words validation reports.
    pub fn parse(schedule: &str, zone: Option<&str>) -> Result<Self, ScheduleError> {
        let cron = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .build()
            .parse(schedule)
            .map_err(|error| ScheduleError::Schedule(error.to_string()))?;
        let zone = match zone {
            None => TimeZone::UTC,
            Some(name) => jiff::tz::db()
                .get(name)
                .map_err(|_| ScheduleError::Zone(name.to_owned()))?,
        };
        Ok(Self { cron, zone })
    }

    /// The first time strictly after `after` the schedule names, if any.
    pub fn next(&self, after: Timestamp) -> Option<Timestamp> {
        let after = after.to_zoned(self.zone.clone());
        self.cron
            .find_next_occurrence(&after, false)
            .ok()
            .map(|z| z.timestamp())
    }

    /// The latest time at or before `now` the schedule names, if any.
    pub fn latest(&self, now: Timestamp) -> Option<Timestamp> {
        let now = now.to_zoned(self.zone.clone());
        self.cron
            .find_previous_occurrence(&now, true)
            .ok()
            .map(|z| z.timestamp())
    }

    /// `at` as RFC 3339 in the schedule's zone, as the real controller writes the
    /// `batch.kubernetes.io/cronjob-scheduled-timestamp` annotation.
    pub fn local(&self, at: Timestamp) -> String {
        at.to_zoned(self.zone.clone())
            .strftime("%Y-%m-%dT%H:%M:%S%:z")
            .to_string()
            .replace("+00:00", "Z")
    }
}

/// Why a schedule or time zone was refused.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("{0}")]
    Schedule(String),
    #[error("unknown time zone {0}")]
    Zone(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn finds_the_latest_due_time_in_the_schedules_zone() {
        let every_five = Schedule::parse("*/5 * * * *", None).unwrap();
        assert_eq!(
            every_five.latest(at("2026-03-01T10:07:30Z")),
            Some(at("2026-03-01T10:05:00Z"))
        );
        assert_eq!(
            every_five.latest(at("2026-03-01T10:10:00Z")),
            Some(at("2026-03-01T10:10:00Z"))
        );
        let berlin = Schedule::parse("0 3 * * *", Some("Europe/Berlin")).unwrap();
        assert_eq!(
            berlin.latest(at("2026-03-01T10:00:00Z")),
            Some(at("2026-03-01T02:00:00Z"))
        );
        assert_eq!(
            berlin.local(at("2026-03-01T02:00:00Z")),
            "2026-03-01T03:00:00+01:00"
        );
        assert_eq!(
            every_five.local(at("2026-03-01T02:00:00Z")),
            "2026-03-01T02:00:00Z"
        );
        assert!(Schedule::parse("@hourly", None).is_ok());
        assert_eq!(
            every_five.next(at("2026-03-01T10:05:00Z")),
            Some(at("2026-03-01T10:10:00Z")),
            "a due time is not its own next"
        );
        assert_eq!(
            berlin.next(at("2026-03-01T10:00:00Z")),
            Some(at("2026-03-02T02:00:00Z"))
        );
    }

    #[test]
    fn refuses_seconds_bad_fields_and_unknown_zones() {
        assert!(Schedule::parse("0 0 3 * * *", None).is_err());
        assert!(Schedule::parse("61 * * * *", None).is_err());
        assert!(Schedule::parse("every day", None).is_err());
        let error = Schedule::parse("* * * * *", Some("Mars/Olympus")).unwrap_err();
        assert_eq!(error.to_string(), "unknown time zone Mars/Olympus");
    }
}
