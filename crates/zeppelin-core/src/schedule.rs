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
        if let Some(atom) = extension(schedule) {
            return Err(ScheduleError::Schedule(format!(
                "`{atom}` uses `L`, `W` or `#`, which Kubernetes' cron syntax does not have"
            )));
        }
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

/// Month and weekday names, the only letters the standard cron syntax has in its fields.
const NAMES: [&str; 19] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC", "SUN",
    "MON", "TUE", "WED", "THU", "FRI", "SAT",
];

/// The first part of a five-field schedule that uses an extension the cron parser here
/// knows but Kubernetes' does not (`L` for last, `W` for weekday, `#` for nth): refused, so
/// a schedule `check` accepts runs the same locally and on a cluster.
fn extension(schedule: &str) -> Option<&str> {
    if schedule.trim_start().starts_with('@') {
        return None;
    }
    schedule
        .split_whitespace()
        .flat_map(|field| field.split([',', '-', '/']))
        .find(|atom| {
            atom.contains('#')
                || (atom.chars().any(|c| c.is_ascii_alphabetic())
                    && !NAMES.contains(&atom.to_ascii_uppercase().as_str()))
        })
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
        for extension in [
            "0 3 L * *",
            "0 3 * * 5#2",
            "0 3 15W * *",
            "0 3 * * 5L",
            "0 3 LW * *",
        ] {
            let error = Schedule::parse(extension, None).unwrap_err().to_string();
            assert!(error.contains("Kubernetes"), "{extension}: {error}");
        }
        for named in ["0 3 * JUL WED", "0 3 * jan-mar mon-fri", "0 3 ? * *"] {
            assert!(Schedule::parse(named, None).is_ok(), "{named}");
        }
        let error = Schedule::parse("* * * * *", Some("Mars/Olympus")).unwrap_err();
        assert_eq!(error.to_string(), "unknown time zone Mars/Olympus");
    }
}
