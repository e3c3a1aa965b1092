//! Defaulting and validation of `batch/v1` Jobs and `CronJobs`, as the real API server does:
//! the counts and policies a Job gets, the labels and selector it generates from the Job's
//! uid so its pods match only it, the restart policies a Job's pods may have, an immutable
//! template, and schedules and time zones the `CronJob` controller can run.

use serde_json::{Value, json};

use super::{check_pod_spec, default_pod_spec, invalid, required, set_default};
use crate::api_error::Cause;

/// The labels a Job's pods carry, naming the Job and its uid (new and legacy spellings).
pub(crate) const JOB_NAME_LABELS: [&str; 2] = ["batch.kubernetes.io/job-name", "job-name"];
pub(crate) const CONTROLLER_UID_LABELS: [&str; 2] =
    ["batch.kubernetes.io/controller-uid", "controller-uid"];

/// Fills in a Job's defaults and, unless `spec.manualSelector` is set, the generated labels
/// and selector. Needs `metadata.uid` set.
pub(super) fn default_job(object: &mut Value) {
    let unset = |o: &Value, field: &str| o.pointer(&format!("/spec/{field}")).is_none();
    if unset(object, "completions") && unset(object, "parallelism") {
        set_default(object, "/spec/completions", json!(1));
    }
    set_default(object, "/spec/parallelism", json!(1));
    let backoff = if unset(object, "backoffLimitPerIndex") {
        6
    } else {
        i32::MAX
    };
    set_default(object, "/spec/backoffLimit", json!(backoff));
    set_default(object, "/spec/completionMode", json!("NonIndexed"));
    set_default(object, "/spec/suspend", json!(false));
    let replacement = if unset(object, "podFailurePolicy") {
        "TerminatingOrFailed"
    } else {
        "Failed"
    };
    set_default(object, "/spec/podReplacementPolicy", json!(replacement));
    if object.pointer("/spec/manualSelector") != Some(&json!(true)) {
        let name = object["metadata"]["name"].clone();
        let uid = object["metadata"]["uid"].clone();
        for label in JOB_NAME_LABELS {
            set_label(object, "/spec/template/metadata/labels", label, &name);
        }
        for label in CONTROLLER_UID_LABELS {
            set_label(object, "/spec/template/metadata/labels", label, &uid);
        }
        set_label(
            object,
            "/spec/selector/matchLabels",
            CONTROLLER_UID_LABELS[0],
            &uid,
        );
    }
    if let Some(spec) = object.pointer_mut("/spec/template/spec") {
        default_pod_spec(spec);
    }
    // A Job without labels of its own gets its pods' labels, as the real server shows it.
    if object
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .is_none_or(serde_json::Map::is_empty)
        && let Some(labels) = object.pointer("/spec/template/metadata/labels").cloned()
    {
        object["metadata"]["labels"] = labels;
    }
}

fn set_label(object: &mut Value, map: &str, key: &str, value: &Value) {
    let pointer = format!("{map}/{}", key.replace('~', "~0").replace('/', "~1"));
    set_default(object, &pointer, value.clone());
}

pub(super) fn default_cron_job(object: &mut Value) {
    set_default(object, "/spec/concurrencyPolicy", json!("Allow"));
    set_default(object, "/spec/suspend", json!(false));
    set_default(object, "/spec/successfulJobsHistoryLimit", json!(3));
    set_default(object, "/spec/failedJobsHistoryLimit", json!(1));
    if let Some(spec) = object.pointer_mut("/spec/jobTemplate/spec/template/spec") {
        default_pod_spec(spec);
    }
}

/// A Job's (or a `CronJob`'s job template's) pod template: containers, and a restart policy
/// that lets pods finish.
fn check_job_template(spec: Option<&Value>, prefix: &str, causes: &mut Vec<Cause>) {
    let pod = spec.and_then(|s| s.pointer("/template/spec"));
    check_pod_spec(pod, &format!("{prefix}.template.spec"), causes);
    let policy = pod
        .and_then(|p| p.get("restartPolicy"))
        .cloned()
        .unwrap_or(Value::Null);
    if !matches!(policy.as_str(), Some("Never" | "OnFailure")) {
        causes.push(Cause {
            reason: "FieldValueNotSupported",
            message: format!(
                "Unsupported value: {policy}: supported values: \"OnFailure\", \"Never\""
            ),
            field: format!("{prefix}.template.spec.restartPolicy"),
        });
    }
}

pub(super) fn check_job(object: &Value, old: Option<&Value>, causes: &mut Vec<Cause>) {
    let spec = object.get("spec");
    check_job_template(spec, "spec", causes);
    let labels = object
        .pointer("/spec/template/metadata/labels")
        .cloned()
        .unwrap_or_else(|| json!({}));
    match object.pointer("/spec/selector") {
        None => causes.push(required("spec.selector")),
        Some(selector) => {
            let probe = json!({"metadata": {"labels": labels}});
            if !crate::selector::LabelSelector::from_object(selector).matches(&probe) {
                causes.push(invalid(
                    "spec.template.metadata.labels",
                    &labels,
                    "`selector` does not match template `labels`",
                ));
            }
        }
    }
    let Some(old) = old else { return };
    for field in ["template", "selector", "completions", "completionMode"] {
        let pointer = format!("/spec/{field}");
        if object.pointer(&pointer) != old.pointer(&pointer) {
            let value = object.pointer(&pointer).cloned().unwrap_or(Value::Null);
            causes.push(invalid(
                &format!("spec.{field}"),
                &value,
                "field is immutable",
            ));
        }
    }
}

pub(super) fn check_cron_job(object: &Value, causes: &mut Vec<Cause>) {
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    // Job names add 11 characters (`-` and the scheduled minute) and must stay within 63.
    if name.len() > 52 {
        causes.push(invalid(
            "metadata.name",
            &json!(name),
            "must be no more than 52 characters",
        ));
    }
    let schedule = object.pointer("/spec/schedule").and_then(Value::as_str);
    let zone = object.pointer("/spec/timeZone").and_then(Value::as_str);
    match schedule {
        None | Some("") => causes.push(required("spec.schedule")),
        Some(text) => match zeppelin_core::schedule::Schedule::parse(text, zone) {
            Ok(_) => {}
            Err(error @ zeppelin_core::schedule::ScheduleError::Zone(_)) => {
                causes.push(invalid("spec.timeZone", &json!(zone), &error.to_string()));
            }
            Err(error) => causes.push(invalid("spec.schedule", &json!(text), &error.to_string())),
        },
    }
    let policy = object.pointer("/spec/concurrencyPolicy");
    if !matches!(
        policy.and_then(Value::as_str),
        Some("Allow" | "Forbid" | "Replace")
    ) {
        causes.push(Cause {
            reason: "FieldValueNotSupported",
            message: format!(
                "Unsupported value: {}: supported values: \"Allow\", \"Forbid\", \"Replace\"",
                policy.cloned().unwrap_or(Value::Null)
            ),
            field: "spec.concurrencyPolicy".to_owned(),
        });
    }
    check_job_template(
        object.pointer("/spec/jobTemplate/spec"),
        "spec.jobTemplate.spec",
        causes,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(extra: &Value) -> Value {
        let mut job = json!({
            "metadata": {"name": "migrate", "uid": "u-1"},
            "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "m", "image": "shop:1"}]}}}
        });
        crate::fieldset::merge(&mut job, extra, "", false);
        job
    }

    #[test]
    fn a_job_gets_counts_policies_and_labels_matching_only_its_pods() {
        let mut object = job(&json!({}));
        default_job(&mut object);
        let spec = &object["spec"];
        assert_eq!(
            (
                &spec["completions"],
                &spec["parallelism"],
                &spec["backoffLimit"]
            ),
            (&json!(1), &json!(1), &json!(6))
        );
        assert_eq!(
            spec["selector"],
            json!({"matchLabels": {"batch.kubernetes.io/controller-uid": "u-1"}})
        );
        let labels = &spec["template"]["metadata"]["labels"];
        assert_eq!(labels["job-name"], "migrate");
        assert_eq!(labels["batch.kubernetes.io/job-name"], "migrate");
        assert_eq!(labels["controller-uid"], "u-1");
        assert_eq!(object["metadata"]["labels"], *labels);
        let mut causes = Vec::new();
        check_job(&object, None, &mut causes);
        assert!(causes.is_empty(), "{causes:?}");

        let mut queue = job(&json!({"spec": {"parallelism": 3}}));
        default_job(&mut queue);
        assert!(queue.pointer("/spec/completions").is_none());
    }

    #[test]
    fn a_job_needs_a_restart_policy_that_ends_and_keeps_its_template() {
        let mut always = job(&json!({"spec": {"template": {"spec": {"restartPolicy": null}}}}));
        default_job(&mut always);
        let mut causes = Vec::new();
        check_job(&always, None, &mut causes);
        assert_eq!(causes.len(), 1, "{causes:?}");
        assert_eq!(causes[0].field, "spec.template.spec.restartPolicy");
        assert!(
            causes[0].message.contains("\"Always\""),
            "{}",
            causes[0].message
        );

        let mut old = job(&json!({}));
        default_job(&mut old);
        let mut new = old.clone();
        new["spec"]["template"]["spec"]["containers"][0]["image"] = json!("shop:2");
        let mut causes = Vec::new();
        check_job(&new, Some(&old), &mut causes);
        assert_eq!(causes.len(), 1, "{causes:?}");
        assert_eq!(causes[0].field, "spec.template");
    }

    #[test]
    fn a_cron_job_needs_a_schedule_and_zone_the_controller_can_run() {
        let mut cron = json!({
            "metadata": {"name": "cleanup"},
            "spec": {"schedule": "0 3 * * *", "timeZone": "Europe/Berlin", "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "shop:1"}]}}}}}
        });
        default_cron_job(&mut cron);
        assert_eq!(cron["spec"]["concurrencyPolicy"], "Allow");
        assert_eq!(cron["spec"]["successfulJobsHistoryLimit"], 3);
        let mut causes = Vec::new();
        check_cron_job(&cron, &mut causes);
        assert!(causes.is_empty(), "{causes:?}");
        cron["spec"]["schedule"] = json!("0 25 * * *");
        cron["spec"]["timeZone"] = json!("Mars/Olympus");
        let mut causes = Vec::new();
        check_cron_job(&cron, &mut causes);
        let fields: Vec<&str> = causes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["spec.schedule"]);
        cron["spec"]["schedule"] = json!("0 3 * * *");
        let mut causes = Vec::new();
        check_cron_job(&cron, &mut causes);
        assert_eq!(causes[0].field, "spec.timeZone");
        assert!(causes[0].message.contains("unknown time zone Mars/Olympus"));
    }
}
