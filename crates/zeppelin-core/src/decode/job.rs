//! `[job.NAME]` tables: work that runs to completion.

use std::collections::BTreeMap;

use super::sub::{Command, command, named_tables};
use super::{Decoder, TableView, Value};
use crate::diagnostic::ErrorKind;
use crate::model::{Job, JobSchedule};
use crate::names::MAX_JOB_NAME;
use crate::schedule::{Schedule, ScheduleError};

pub(super) fn jobs(dec: &mut Decoder, value: &Value<'_>) -> BTreeMap<String, Job> {
    named_tables(dec, "job", value, MAX_JOB_NAME, job)
}

/// Keys of a sub that make no sense for work that runs to completion, and why.
const SUB_ONLY: [(&str, &str, &str); 7] = [
    (
        "port",
        "a job serves nothing, so it has no `port`",
        "make it a `[sub.NAME]` if it should serve; otherwise remove `port`",
    ),
    (
        "replicas",
        "a job runs once each time it is due, so it has no `replicas`",
        "remove `replicas`; `retries = N` tries a failed run again",
    ),
    (
        "health",
        "a job has no health check: it succeeded when its command exits with status 0",
        "remove `health`",
    ),
    (
        "restart",
        "a job is not restarted; a failed run is tried again `retries` times",
        "remove `restart` and set `retries = N`",
    ),
    (
        "volumes",
        "a job has no volumes of its own",
        "a migration reaches its database over the network; remove `volumes`",
    ),
    ("autoscale", "a job does not scale", "remove `autoscale`"),
    (
        "balance",
        "a job serves nothing, so nothing balances connections to it",
        "remove `balance`",
    ),
];

fn job(dec: &mut Decoder, name: String, t: TableView<'_, '_>) -> Job {
    let p = |key: &str| t.path_of(key);
    let Command {
        run,
        image,
        depends_on,
        env,
        resources,
    } = command(dec, &t, "job", "this job runs");
    let before = t
        .get("before")
        .and_then(|v| dec.array(&p("before"), v, super::Decoder::string))
        .unwrap_or_default();
    let schedule_value = t.get("schedule");
    let schedule = schedule_value.and_then(|v| dec.string(&p("schedule"), v));
    let timezone_value = t.get("timezone");
    let timezone = timezone_value.and_then(|v| dec.string(&p("timezone"), v));
    let timeout = t.get("timeout").and_then(|v| {
        let timeout = dec.duration(&p("timeout"), v)?;
        if timeout.get().is_zero() {
            dec.invalid(
                ErrorKind::InvalidDuration,
                v.span(),
                format!(
                    "`{}` is zero, so every run would fail at once",
                    p("timeout")
                ),
            )
            .help = Some("give the longest a run may take, such as `5m`".to_owned());
            return None;
        }
        Some(timeout)
    });
    let retries = t
        .get("retries")
        .and_then(|v| dec.count(&p("retries"), v, 0, ErrorKind::InvalidValue));
    for (key, message, help) in SUB_ONLY {
        if let Some(v) = t.get(key) {
            dec.invalid(
                ErrorKind::NotForJobs,
                v.span(),
                format!("`{}`: {message}", p(key)),
            )
            .help = Some(help.to_owned());
        }
    }
    let table_span = t.span();
    if let (Some(v), false) = (schedule_value, before.is_empty()) {
        dec.invalid(
            ErrorKind::InvalidValue,
            v.span(),
            format!("job `{name}` has both `before` and `schedule`"),
        )
        .help = Some(
            "a job runs either before subs start or at its times; make two jobs with the same `run`"
                .to_owned(),
        );
    }
    let schedule = schedule.and_then(|cron| {
        match Schedule::parse(&cron, timezone.as_deref()) {
            Ok(_) => Some(JobSchedule {
                cron,
                timezone: timezone.clone(),
            }),
            Err(ScheduleError::Schedule(problem)) => {
                let span = schedule_value.map_or_else(|| table_span.clone(), toml::Spanned::span);
                dec.invalid(
                    ErrorKind::InvalidSchedule,
                    span,
                    format!("`{}` = \"{cron}\" is not a cron schedule: {problem}", p("schedule")),
                )
                .help = Some(
                    "write five fields, minute hour day-of-month month day-of-week, such as \"0 3 * * *\", or \"@daily\""
                        .to_owned(),
                );
                None
            }
            Err(ScheduleError::Zone(zone)) => {
                let span = timezone_value.map_or_else(|| table_span.clone(), toml::Spanned::span);
                dec.invalid(
                    ErrorKind::InvalidSchedule,
                    span,
                    format!("`{}` = \"{zone}\" is not a time zone", p("timezone")),
                )
                .help = Some(
                    "write an IANA time zone such as \"Europe/Berlin\" or \"America/New_York\"; without one, schedules are in UTC"
                        .to_owned(),
                );
                None
            }
        }
    });
    if let (Some(v), None) = (timezone_value, schedule_value) {
        dec.invalid(
            ErrorKind::InvalidSchedule,
            v.span(),
            format!(
                "`{}` is set, but job `{name}` has no `schedule`",
                p("timezone")
            ),
        )
        .help = Some("add `schedule = \"0 3 * * *\"`, or remove `timezone`".to_owned());
    }
    t.finish(dec);
    Job {
        name,
        run,
        image,
        depends_on,
        env,
        resources,
        before,
        schedule,
        timeout: timeout.unwrap_or(Job::DEFAULT_TIMEOUT),
        retries: retries.unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::model::{Job, Step};

    const APP: &str = r#"name = "shop"
[sub.db]
run = "db"
[sub.api]
run = "api"
depends_on = ["db"]
[sub.web]
run = "web"
[job.migrate]
run = "migrate"
depends_on = ["db"]
before = ["api"]
retries = 2
[job.cleanup]
run = "cleanup"
schedule = "@daily"
timezone = "Europe/Berlin"
[job.seed]
image = "seed:1"
"#;

    #[test]
    fn jobs_are_read_with_their_defaults() {
        let app = crate::parse(APP, Path::new("zeppelin.toml")).unwrap();
        let migrate = &app.jobs["migrate"];
        assert!(migrate.runs_before());
        assert_eq!(migrate.retries, 2);
        assert_eq!(migrate.timeout, Job::DEFAULT_TIMEOUT);
        let cleanup = &app.jobs["cleanup"];
        let schedule = cleanup.schedule.as_ref().unwrap();
        assert_eq!(schedule.timezone.as_deref(), Some("Europe/Berlin"));
        assert!(schedule.times().is_ok());
        assert!(!cleanup.runs_before());
        let seed = &app.jobs["seed"];
        assert!(seed.schedule.is_none() && seed.before.is_empty());
        let as_sub = migrate.as_sub();
        assert_eq!(as_sub.local_replicas(), 1);
        assert_eq!(as_sub.restart, crate::model::RestartPolicy::Never);
        assert_eq!(as_sub.port, None);
    }

    #[test]
    fn a_start_runs_before_jobs_between_what_they_wait_for_and_what_waits_for_them() {
        let app = crate::parse(APP, Path::new("zeppelin.toml")).unwrap();
        let steps: Vec<String> = app
            .start_steps()
            .iter()
            .map(|step| match step {
                Step::Sub(sub) => format!("sub {}", sub.name),
                Step::Job(job) => format!("job {}", job.name),
            })
            .collect();
        assert_eq!(steps, ["sub db", "sub web", "job migrate", "sub api"]);
        let subs: Vec<&str> = app.start_order().iter().map(|s| s.name.as_str()).collect();
        assert_eq!(subs, ["db", "web", "api"]);
        let before_api: Vec<&str> = app.jobs_before("api").map(|j| j.name.as_str()).collect();
        assert_eq!(before_api, ["migrate"]);
        assert!(app.job("cleanup").is_ok());
        let names = ["api".to_owned(), "migrate".to_owned()];
        assert!(app.check_subs_or_jobs(&names).is_ok());
        let unknown = app
            .check_subs_or_jobs(&["migrat".to_owned()])
            .unwrap_err()
            .to_string();
        assert_eq!(
            unknown,
            "no sub or job named \"migrat\" in shop; the subs are: api, db, web; the jobs are: cleanup, migrate, seed"
        );
        assert_eq!(
            app.jobs["migrate"].trigger(),
            crate::status::JobTrigger::Before
        );
        assert_eq!(
            app.jobs["cleanup"].trigger(),
            crate::status::JobTrigger::Schedule
        );
        assert_eq!(
            app.jobs["seed"].trigger(),
            crate::status::JobTrigger::OnDemand
        );
        let schedule = app.jobs["cleanup"].schedule.as_ref().unwrap();
        assert_eq!(schedule.to_string(), "@daily Europe/Berlin");
        let unknown = app.job("migrat").unwrap_err().to_string();
        assert!(
            unknown.contains("the jobs are: cleanup, migrate, seed"),
            "{unknown}"
        );
    }
}
