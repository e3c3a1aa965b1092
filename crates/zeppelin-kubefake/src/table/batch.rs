//! The columns the real server prints for Jobs (`STATUS`, `COMPLETIONS`, `DURATION`) and
//! `CronJobs` (`SCHEDULE`, `TIMEZONE`, `SUSPEND`, `ACTIVE`, `LAST SCHEDULE`), with the
//! `-o wide` containers, images and selector.

use serde_json::{Value, json};

use super::{age, container_fields, int, text};

pub(super) const JOB_COLUMNS: &[(&str, &str)] = &[
    ("Name", "string"),
    ("Status", "string"),
    ("Completions", "string"),
    ("Duration", "string"),
    ("Age", "string"),
    ("Containers", "string"),
    ("Images", "string"),
    ("Selector", "string"),
];

pub(super) const CRON_JOB_COLUMNS: &[(&str, &str)] = &[
    ("Name", "string"),
    ("Schedule", "string"),
    ("Timezone", "string"),
    ("Suspend", "boolean"),
    ("Active", "integer"),
    ("Last Schedule", "string"),
    ("Age", "string"),
    ("Containers", "string"),
    ("Images", "string"),
    ("Selector", "string"),
];

fn has_condition(job: &Value, kind: &str) -> bool {
    job.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|c| c.iter().any(|c| c["type"] == kind && c["status"] == "True"))
}

/// What the real printer calls the Job's status, first match wins.
fn job_status(job: &Value) -> &'static str {
    if has_condition(job, "Complete") {
        "Complete"
    } else if has_condition(job, "Failed") {
        "Failed"
    } else if job.pointer("/metadata/deletionTimestamp").is_some() {
        "Terminating"
    } else if has_condition(job, "Suspended") {
        "Suspended"
    } else if has_condition(job, "FailureTarget") {
        "FailureTarget"
    } else if has_condition(job, "SuccessCriteriaMet") {
        "SuccessCriteriaMet"
    } else {
        "Running"
    }
}

fn completions(job: &Value) -> String {
    let succeeded = int(job, "/status/succeeded");
    match job.pointer("/spec/completions").and_then(Value::as_u64) {
        Some(wanted) => format!("{succeeded}/{wanted}"),
        None => match int(job, "/spec/parallelism") {
            parallel if parallel > 1 => format!("{succeeded}/1 of {parallel}"),
            _ => format!("{succeeded}/1"),
        },
    }
}

fn timestamp(object: &Value, pointer: &str) -> Option<jiff::Timestamp> {
    object.pointer(pointer)?.as_str()?.parse().ok()
}

/// Start to completion, or start to now while running; empty before the start.
fn duration(job: &Value) -> String {
    let Some(start) = timestamp(job, "/status/startTime") else {
        return String::new();
    };
    let end = timestamp(job, "/status/completionTime").unwrap_or_else(jiff::Timestamp::now);
    human_duration(end.duration_since(start).as_secs())
}

/// Kubernetes' `HumanDuration`: `45s`, `3m5s`, `12m`, `5h3m`, `20h`, `3d4h`, `30d`, `2y10d`.
fn human_duration(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".to_owned();
    }
    let secs = secs.max(0);
    let (minutes, hours) = (secs / 60, secs / 3600);
    let with = |big: i64, unit: &str, small: i64, small_unit: &str| {
        if small == 0 {
            format!("{big}{unit}")
        } else {
            format!("{big}{unit}{small}{small_unit}")
        }
    };
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 600 => with(minutes, "m", s % 60, "s"),
        _ if minutes < 180 => format!("{minutes}m"),
        _ if hours < 8 => with(hours, "h", minutes % 60, "m"),
        _ if hours < 48 => format!("{hours}h"),
        _ if hours < 24 * 8 => with(hours / 24, "d", hours % 24, "h"),
        _ if hours < 24 * 365 * 2 => format!("{}d", hours / 24),
        _ if hours < 24 * 365 * 8 => with(hours / 24 / 365, "y", (hours / 24) % 365, "d"),
        _ => format!("{}y", hours / 24 / 365),
    }
}

/// Container names and images of a pod spec, comma-separated, and the selector as
/// `kubectl` writes one (`a=b,c=d`).
fn wide(pod_spec: Option<&Value>, selector: Option<&Value>) -> [Value; 3] {
    let [names, images] = container_fields(pod_spec);
    let selector = selector
        .and_then(|s| s.get("matchLabels"))
        .and_then(Value::as_object)
        .map_or_else(
            || "<none>".to_owned(),
            |labels| {
                labels
                    .iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join(",")
            },
        );
    [json!(names), json!(images), json!(selector)]
}

pub(super) fn job_cells(job: &Value, name: &str, created: &str) -> Vec<Value> {
    let mut cells = vec![
        json!(name),
        json!(job_status(job)),
        json!(completions(job)),
        json!(duration(job)),
        json!(created),
    ];
    cells.extend(wide(
        job.pointer("/spec/template/spec"),
        job.pointer("/spec/selector"),
    ));
    cells
}

pub(super) fn cron_job_cells(cron: &Value, name: &str, created: &str) -> Vec<Value> {
    let suspend = match cron.pointer("/spec/suspend").and_then(Value::as_bool) {
        Some(true) => "True",
        Some(false) => "False",
        None => "<unset>",
    };
    let last = cron
        .pointer("/status/lastScheduleTime")
        .map_or_else(|| "<none>".to_owned(), age);
    let active = cron
        .pointer("/status/active")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let mut cells = vec![
        json!(name),
        json!(text(cron, "/spec/schedule", "")),
        json!(text(cron, "/spec/timeZone", "<none>")),
        json!(suspend),
        json!(active),
        json!(last),
        json!(created),
    ];
    cells.extend(wide(
        cron.pointer("/spec/jobTemplate/spec/template/spec"),
        cron.pointer("/spec/jobTemplate/spec/selector"),
    ));
    cells
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_kubectl_prints_them() {
        let cases = [
            (5, "5s"),
            (119, "119s"),
            (180, "3m"),
            (185, "3m5s"),
            (900, "15m"),
            (5 * 3600 + 180, "5h3m"),
            (20 * 3600, "20h"),
            (3 * 86400 + 4 * 3600, "3d4h"),
            (30 * 86400, "30d"),
        ];
        for (secs, shown) in cases {
            assert_eq!(human_duration(secs), shown, "{secs}");
        }
    }

    #[test]
    fn a_job_shows_its_status_and_completions() {
        let running = json!({"spec": {"completions": 3}, "status": {"succeeded": 1}});
        assert_eq!(job_status(&running), "Running");
        assert_eq!(completions(&running), "1/3");
        let failing = json!({"spec": {"parallelism": 2}, "status": {"conditions": [{"type": "FailureTarget", "status": "True"}]}});
        assert_eq!(job_status(&failing), "FailureTarget");
        assert_eq!(completions(&failing), "0/1 of 2");
        let done = json!({"status": {"startTime": "2026-01-01T00:00:00Z", "completionTime": "2026-01-01T00:00:07Z",
            "conditions": [{"type": "SuccessCriteriaMet", "status": "True"}, {"type": "Complete", "status": "True"}]}});
        assert_eq!(job_status(&done), "Complete");
        assert_eq!(duration(&done), "7s");
    }
}
