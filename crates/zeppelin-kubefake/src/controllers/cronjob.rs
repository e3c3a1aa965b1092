//! The `CronJob` controller: creates a Job named `<cronjob>-<scheduled minute since the
//! epoch>` from the job template at each time the schedule names (by the controller's clock,
//! which tests may speed up), unless suspended or later than `startingDeadlineSeconds`;
//! `concurrencyPolicy` Forbid skips a time while a Job runs and Replace deletes the running
//! ones; finished Jobs beyond the history limits are deleted; the status lists the active
//! Jobs and the last schedule and success, with the Events of a real controller.
//!
//! As on a real cluster only the latest missed time is run, and a time skipped under Forbid
//! runs once the active Job finishes (when still within `startingDeadlineSeconds`).

use std::collections::HashMap;

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::controlled::Controlled;
use super::job::{has_condition, is_finished};
use super::{CONTROLLER_MANAGER, Kinds, meta, owned_by, owner_reference, write_status, writer};
use crate::clock::Clock;
use crate::server::Shared;
use crate::store::Propagation;
use zeppelin_core::schedule::Schedule;

const COMPONENT: &str = "cronjob-controller";
const SCHEDULED_ANNOTATION: &str = "batch.kubernetes.io/cronjob-scheduled-timestamp";

/// The controller's clock and memory across ticks, by `CronJob` uid.
pub(super) struct CronJobs {
    clock: Clock,
    /// When (by the clock) each `CronJob` was first seen: schedules before it are not run.
    first_seen: HashMap<String, Timestamp>,
    /// The scheduled time last reported as skipped or missed, so each is reported once.
    reported: HashMap<String, Timestamp>,
}

fn format(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn timestamp(object: &Value, pointer: &str) -> Option<Timestamp> {
    object.pointer(pointer)?.as_str()?.parse().ok()
}

fn reference(job: &Value) -> Value {
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "name": job["metadata"]["name"],
        "namespace": job["metadata"]["namespace"],
        "uid": job["metadata"]["uid"],
        "resourceVersion": job["metadata"]["resourceVersion"],
    })
}

impl CronJobs {
    pub(super) fn new(clock_speed: f64) -> Self {
        Self {
            clock: Clock::new(clock_speed),
            first_seen: HashMap::new(),
            reported: HashMap::new(),
        }
    }

    pub(super) fn reconcile_all(&mut self, shared: &Shared, kinds: Kinds) {
        let crons = shared.store.all(kinds.cron_jobs);
        let live: Vec<&str> = crons.iter().map(|c| meta(c, "uid")).collect();
        self.first_seen
            .retain(|uid, _| live.contains(&uid.as_str()));
        self.reported.retain(|uid, _| live.contains(&uid.as_str()));
        if crons.is_empty() {
            return;
        }
        let jobs = shared.store.all(kinds.jobs);
        for cron in &crons {
            let owned: Vec<&Value> = jobs
                .iter()
                .filter(|j| meta(j, "namespace") == meta(cron, "namespace") && owned_by(j, cron))
                .collect();
            let one = CronJob(Controlled {
                shared,
                kinds,
                object: cron,
                component: COMPONENT,
            });
            self.reconcile(&one, &owned);
        }
    }

    fn reconcile(&mut self, cron: &CronJob<'_>, jobs: &[&Value]) {
        let object = cron.object;
        let uid = meta(object, "uid").to_owned();
        let now = self.clock.now();
        let first_seen = *self.first_seen.entry(uid.clone()).or_insert(now);
        let status = object.get("status").cloned().unwrap_or_else(|| json!({}));
        let was_active: Vec<&Value> = status["active"].as_array().into_iter().flatten().collect();
        let listed = |job: &Value| {
            was_active
                .iter()
                .copied()
                .find(|r| r["uid"] == job["metadata"]["uid"])
        };
        let mut last_success = timestamp(&status, "/lastSuccessfulTime");
        let (finished, active): (Vec<&Value>, Vec<&Value>) =
            jobs.iter().copied().partition(|j| is_finished(j));
        let mut active: Vec<Value> = active.into_iter().cloned().collect();
        for job in &finished {
            let complete = has_condition(job, "Complete");
            if listed(job).is_some() {
                let condition = if complete { "Complete" } else { "Failed" };
                cron.event(
                    "Normal",
                    "SawCompletedJob",
                    &format!(
                        "Saw completed job: {}, condition: {condition}",
                        meta(job, "name")
                    ),
                );
            }
            let completed_at = timestamp(job, "/status/completionTime");
            if complete && completed_at > last_success {
                last_success = completed_at;
            }
        }
        cron.trim_history(&finished);
        let mut last_schedule = timestamp(&status, "/lastScheduleTime");
        let since = last_schedule.map_or(first_seen, |last| last.max(first_seen));
        if let Some((schedule, at)) = Self::due(object, now, since) {
            let late = object
                .pointer("/spec/startingDeadlineSeconds")
                .and_then(Value::as_i64)
                .is_some_and(|d| now.duration_since(at) > SignedDuration::from_secs(d));
            let policy = object
                .pointer("/spec/concurrencyPolicy")
                .and_then(Value::as_str)
                .unwrap_or("Allow");
            let first_report = self.reported.get(&uid) != Some(&at);
            if late {
                if first_report {
                    let when = at.strftime("%a, %d %b %Y %H:%M:%S %z");
                    cron.event(
                        "Warning",
                        "MissSchedule",
                        &format!("Missed scheduled time to start a job: {when}"),
                    );
                    self.reported.insert(uid.clone(), at);
                }
            } else if policy == "Forbid" && !active.is_empty() {
                if first_report {
                    cron.event(
                        "Normal",
                        "JobAlreadyActive",
                        "Not starting job because prior execution is running and concurrency policy is Forbid",
                    );
                    self.reported.insert(uid.clone(), at);
                }
            } else {
                if policy == "Replace" {
                    cron.delete_jobs(&active);
                    active.clear();
                }
                if let Some(job) = cron.create_job(&schedule, at) {
                    last_schedule = Some(at);
                    active.push(job);
                }
            }
        }
        // A Job keeps the reference made when it started (its resource version then).
        let active: Vec<Value> = active
            .iter()
            .map(|job| listed(job).cloned().unwrap_or_else(|| reference(job)))
            .collect();
        let status = json!({
            "active": if active.is_empty() { Value::Null } else { json!(active) },
            "lastScheduleTime": last_schedule.map(format),
            "lastSuccessfulTime": last_success.map(format),
        });
        write_status(
            cron.shared,
            cron.kinds.cron_jobs,
            object,
            CONTROLLER_MANAGER,
            status,
        );
    }

    /// The latest scheduled time after `since` and at or before `now`, if the `CronJob` is
    /// not suspended and its schedule parses.
    fn due(cron: &Value, now: Timestamp, since: Timestamp) -> Option<(Schedule, Timestamp)> {
        if cron.pointer("/spec/suspend") == Some(&json!(true)) {
            return None;
        }
        let schedule = Schedule::parse(
            cron.pointer("/spec/schedule")?.as_str()?,
            cron.pointer("/spec/timeZone").and_then(Value::as_str),
        )
        .ok()?;
        let at = schedule.latest(now).filter(|at| *at > since)?;
        Some((schedule, at))
    }
}

/// One `CronJob` being reconciled.
struct CronJob<'a>(Controlled<'a>);

impl<'a> std::ops::Deref for CronJob<'a> {
    type Target = Controlled<'a>;

    fn deref(&self) -> &Controlled<'a> {
        &self.0
    }
}

impl CronJob<'_> {
    /// Creates the Job for the time `at`; `None` if it could not be made. A Job of that name
    /// already there (made on an earlier tick) counts as made.
    fn create_job(&self, schedule: &Schedule, at: Timestamp) -> Option<Value> {
        let template = &self.object["spec"]["jobTemplate"];
        let name = format!("{}-{}", meta(self.object, "name"), at.as_second() / 60);
        let mut metadata = template
            .get("metadata")
            .cloned()
            .unwrap_or_else(|| json!({}));
        metadata["name"] = json!(name);
        metadata["annotations"][SCHEDULED_ANNOTATION] = json!(schedule.local(at));
        metadata["ownerReferences"] = json!([owner_reference(self.object)]);
        let job = json!({"metadata": metadata, "spec": template["spec"]});
        match self.shared.store.create_owned(
            self.kinds.jobs,
            self.namespace(),
            job,
            &writer(CONTROLLER_MANAGER, false),
        ) {
            Ok(job) => {
                self.event("Normal", "SuccessfulCreate", &format!("Created job {name}"));
                Some(job)
            }
            Err(error) if error.code == 409 => self
                .shared
                .store
                .get(self.kinds.jobs, self.namespace(), &name)
                .ok(),
            Err(_) => None,
        }
    }

    fn delete_jobs<'v>(&self, jobs: impl IntoIterator<Item = &'v Value>) {
        for job in jobs {
            let name = meta(job, "name");
            let deleted = self.shared.store.delete(
                self.kinds.jobs,
                self.namespace(),
                name,
                Propagation::Cascade,
                false,
            );
            if deleted.is_ok() {
                self.event("Normal", "SuccessfulDelete", &format!("Deleted job {name}"));
            }
        }
    }

    /// Deletes the oldest finished Jobs beyond `successfulJobsHistoryLimit` (Complete) and
    /// `failedJobsHistoryLimit` (Failed).
    fn trim_history(&self, finished: &[&Value]) {
        for (complete, limit) in [
            (true, "/spec/successfulJobsHistoryLimit"),
            (false, "/spec/failedJobsHistoryLimit"),
        ] {
            let Some(limit) = self.object.pointer(limit).and_then(Value::as_u64) else {
                continue;
            };
            let mut kept: Vec<&Value> = finished
                .iter()
                .copied()
                .filter(|j| has_condition(j, "Complete") == complete)
                .collect();
            kept.sort_by_key(|j| {
                (
                    timestamp(j, "/status/startTime"),
                    meta(j, "creationTimestamp").to_owned(),
                    meta(j, "name").to_owned(),
                )
            });
            let extra = kept
                .len()
                .saturating_sub(usize::try_from(limit).unwrap_or(usize::MAX));
            self.delete_jobs(kept[..extra].iter().copied());
        }
    }
}
