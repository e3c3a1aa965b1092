//! `zeppelin ps`: one table of the app's replicas and one of its jobs (or JSON), from the
//! running supervisor or, with `--k8s`, the cluster: the same status model and the same
//! tables for both.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use comfy_table::{Table, presets};
use zeppelin_core::status::{self, AppStatus, JobStatus, JobTrigger, ReplicaState, ReplicaStatus};
use zeppelin_kube::claims::Claim;
use zeppelin_local::volumes::KeptReplica;

use crate::args::Format;
use crate::runtime::Runtime;
use crate::settings::{GlobalSettings, PsSettings};
use crate::supervisor::SupervisorClient;

pub(crate) fn ps(ps: &PsSettings, settings: &GlobalSettings) -> miette::Result<ExitCode> {
    let runtime = Runtime::open(ps.runtime, settings)?;
    let status = runtime.status()?;
    let claims = runtime.claims()?;
    if ps.format == Format::Text
        && status.subs.is_empty()
        && claims.is_empty()
        && let Some(note) = runtime.nothing_deployed()
    {
        eprintln!("{note}");
        return Ok(ExitCode::SUCCESS);
    }
    print(&status, ps.format);
    if ps.format == Format::Text && !claims.is_empty() {
        println!();
        println!("{}", claim_table(&claims).trim_fmt());
    }
    if let (Format::Text, Runtime::Local(local)) = (ps.format, &runtime) {
        let running: BTreeMap<String, u32> = status
            .subs
            .iter()
            .map(|s| {
                (
                    s.name.clone(),
                    u32::try_from(s.replicas.len()).unwrap_or(u32::MAX),
                )
            })
            .collect();
        let paths = SupervisorClient::of(local.app()).paths().clone();
        let kept = zeppelin_local::volumes::kept_replicas(&paths, &running);
        if !kept.is_empty() {
            println!();
            println!("{}", kept_table(&kept).trim_fmt());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One row per replica folder no running replica uses (scaled down, or of a sub that left
/// the app): its data is kept, as `ps --k8s` lists the claims of replicas that are gone.
fn kept_table(kept: &[KeptReplica]) -> Table {
    let mut table = Table::new();
    table.load_style(presets::NOTHING).set_header([
        "SUB",
        "REPLICA",
        "KEPT DATA (NOT RUNNING)",
        "SIZE",
    ]);
    for k in kept {
        let size = crate::volumes::size(k.bytes);
        table.add_row([
            k.sub.clone(),
            k.replica.to_string(),
            k.path.display().to_string(),
            if k.at_least {
                format!("at least {size}")
            } else {
                size
            },
        ]);
    }
    table
}

/// One row per volume claim (a stateful sub's data, per replica): whether a volume is
/// bound to it, its size and storage class. Claims of replicas or subs that are gone are
/// listed too: their data is kept.
fn claim_table(claims: &[Claim]) -> Table {
    let mut table = Table::new();
    table.load_style(presets::NOTHING).set_header([
        "SUB",
        "REPLICA",
        "CLAIM",
        "STATUS",
        "SIZE",
        "STORAGE CLASS",
    ]);
    let dash = || "-".to_owned();
    for claim in claims {
        table.add_row([
            claim.sub.clone(),
            claim.replica.clone().unwrap_or_else(dash),
            claim.name.clone(),
            claim.phase.clone(),
            claim.size.clone().unwrap_or_else(dash),
            claim
                .storage_class
                .clone()
                .unwrap_or_else(|| "(default)".to_owned()),
        ]);
    }
    table
}

/// The status as the sub table, the replica (or pod) table and the routes, or as JSON:
/// the same for both runtimes.
fn print(status: &AppStatus, format: Format) {
    match format {
        Format::Text => {
            println!("{}", sub_table(status).trim_fmt());
            println!();
            println!("{}", table(status).trim_fmt());
            if !status.jobs.is_empty() {
                println!();
                println!("{}", job_table(&status.jobs).trim_fmt());
            }
            for endpoint in &status.endpoints {
                println!("route {endpoint}");
            }
        }
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(status).expect("the status serializes")
        ),
    }
}

/// One row per sub: replicas desired, ready, updated, available, and its address.
pub(crate) fn sub_table(status: &AppStatus) -> Table {
    let mut table = Table::new();
    table.load_style(presets::NOTHING).set_header([
        "SUB",
        "DESIRED",
        "READY",
        "UPDATED",
        "AVAILABLE",
        "ADDRESS",
    ]);
    let count = |n: Option<u32>| n.map_or_else(|| "-".to_owned(), |n| n.to_string());
    for sub in &status.subs {
        table.add_row([
            sub.name.clone(),
            sub.desired.to_string(),
            sub.ready.to_string(),
            count(sub.updated),
            count(sub.available),
            sub.address.clone().unwrap_or_else(|| "-".to_owned()),
        ]);
    }
    table
}

/// The status table, the same for every runtime: a local replica has a pid and a port,
/// a pod has a node. When a sub is stateful, a last column shows each replica's volumes and
/// how much data they hold (`--format json` has their folders and bytes).
pub(crate) fn table(status: &AppStatus) -> Table {
    if status.runtime == status::Runtime::Kubernetes {
        return pod_table(status);
    }
    let stateful = status
        .subs
        .iter()
        .any(|s| s.replicas.iter().any(|r| !r.volumes.is_empty()));
    let mut header = vec![
        "SUB", "REPLICA", "PID", "STATE", "HEALTH", "RESTARTS", "UPTIME", "PORT",
    ];
    if stateful {
        header.push("VOLUMES");
    }
    let mut table = Table::new();
    table.load_style(presets::NOTHING).set_header(header);
    for sub in &status.subs {
        for replica in &sub.replicas {
            let mut row = vec![
                sub.name.clone(),
                replica.name.clone(),
                replica
                    .pid
                    .map_or_else(|| "-".to_owned(), |p| p.to_string()),
                state(replica),
                health(replica).to_owned(),
                replica.restarts.to_string(),
                replica.uptime.map_or_else(|| "-".to_owned(), uptime),
                replica
                    .port
                    .map_or_else(|| "-".to_owned(), |p| p.to_string()),
            ];
            if stateful {
                row.push(volumes(replica));
            }
            table.add_row(row);
        }
    }
    table
}

/// One row per job: what triggers it, its state (with why its last run failed), its last
/// run's start (UTC), duration and exit status, its next due time and the due times it
/// skipped because a run still went. A job that never ran is `not run`.
pub(crate) fn job_table(jobs: &[JobStatus]) -> Table {
    let mut table = Table::new();
    table.load_style(presets::NOTHING).set_header([
        "JOB", "TRIGGER", "STATE", "LAST RUN", "TOOK", "EXIT", "NEXT RUN", "SKIPPED",
    ]);
    let dash = || "-".to_owned();
    let time = |at: jiff::Timestamp| at.strftime("%Y-%m-%d %H:%M:%SZ").to_string();
    for job in jobs {
        let trigger = match (job.trigger, &job.schedule) {
            (JobTrigger::Schedule, Some(schedule)) => format!("schedule {schedule}"),
            (trigger, _) => trigger.as_str().to_owned(),
        };
        let last = job.last_run.as_ref();
        let state = match last.and_then(|run| run.reason.as_ref()) {
            Some(reason) if job.state == status::JobState::Failed => {
                format!("{} ({reason})", job.state)
            }
            _ => job.state.to_string(),
        };
        table.add_row([
            job.name.clone(),
            trigger,
            state,
            last.map_or_else(dash, |run| time(run.started)),
            last.and_then(|run| run.duration).map_or_else(dash, took),
            last.and_then(|run| run.exit)
                .map_or_else(dash, |exit| exit.to_string()),
            job.next_run.map_or_else(dash, time),
            job.skipped.to_string(),
        ]);
    }
    table
}

/// How long a run took: `350ms` under a second, then as an uptime.
fn took(duration: Duration) -> String {
    if duration < Duration::from_secs(1) {
        format!("{}ms", duration.as_millis())
    } else {
        uptime(duration)
    }
}

/// `data 4.0 KiB, logs at least 2.0 GiB`, or `-` for a stateless replica.
fn volumes(replica: &ReplicaStatus) -> String {
    if replica.volumes.is_empty() {
        return "-".to_owned();
    }
    replica
        .volumes
        .iter()
        .map(|v| match v.bytes {
            Some(bytes) if v.at_least => {
                format!("{} at least {}", v.name, crate::volumes::size(bytes))
            }
            Some(bytes) => format!("{} {}", v.name, crate::volumes::size(bytes)),
            None => v.name.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn pod_table(status: &AppStatus) -> Table {
    let mut table = Table::new();
    table.load_style(presets::NOTHING).set_header([
        "SUB", "POD", "STATE", "HEALTH", "RESTARTS", "UPTIME", "NODE",
    ]);
    for sub in &status.subs {
        for replica in &sub.replicas {
            table.add_row([
                sub.name.clone(),
                replica.name.clone(),
                state(replica),
                health(replica).to_owned(),
                replica.restarts.to_string(),
                replica.uptime.map_or_else(|| "-".to_owned(), uptime),
                replica.node.clone().unwrap_or_else(|| "-".to_owned()),
            ]);
        }
    }
    table
}

/// The state, with why it is not running well (`backoff (crash-looping, exited with status 1)`).
fn state(replica: &ReplicaStatus) -> String {
    match &replica.reason {
        Some(reason) => format!("{} ({reason})", replica.state),
        None => replica.state.to_string(),
    }
}

/// Whether a running replica passes its health check.
fn health(replica: &ReplicaStatus) -> &'static str {
    match replica.state {
        _ if replica.ready => "ready",
        ReplicaState::Starting | ReplicaState::Healthy | ReplicaState::Unhealthy => "not ready",
        _ => "-",
    }
}

/// `45s`, `3m12s`, `2h05m`, `3d4h`.
fn uptime(duration: Duration) -> String {
    let secs = duration.as_secs();
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m{:02}s", secs / 60, secs % 60),
        3600..86_400 => format!("{}h{:02}m", secs / 3600, secs % 3600 / 60),
        _ => format!("{}d{}h", secs / 86_400, secs % 86_400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_shows_every_replica() {
        use zeppelin_core::status::SubStatus;
        let replica = |name: &str, state, ready, reason: Option<&str>| ReplicaStatus {
            name: name.to_owned(),
            state,
            ready,
            restarts: u32::from(!ready) * 4,
            uptime: ready.then_some(Duration::from_secs(75)),
            pid: ready.then_some(4242),
            port: ready.then_some(40001),
            node: None,
            reason: reason.map(str::to_owned),
            last_exit: (!ready).then_some(1),
            volumes: Vec::new(),
        };
        let status = AppStatus {
            app: "shop".to_owned(),
            runtime: status::Runtime::Local,
            subs: vec![SubStatus {
                name: "web".to_owned(),
                desired: 2,
                ready: 1,
                updated: None,
                available: None,
                address: Some("127.0.0.1:8080".to_owned()),
                replicas: vec![
                    replica("web.0", ReplicaState::Healthy, true, None),
                    replica(
                        "web.1",
                        ReplicaState::Backoff,
                        false,
                        Some("crash-looping, exited with status 1"),
                    ),
                ],
            }],
            jobs: Vec::new(),
            endpoints: Vec::new(),
        };
        insta::assert_snapshot!(table(&status).trim_fmt());
    }

    #[test]
    fn stateful_replicas_show_their_volumes_in_a_last_column() {
        use zeppelin_core::status::{SubStatus, VolumeStatus};
        let replica = |index: u32, volumes: Vec<(&str, Option<u64>)>| ReplicaStatus {
            name: format!("db.{index}"),
            state: ReplicaState::Healthy,
            ready: true,
            restarts: 0,
            uptime: Some(Duration::from_secs(9)),
            pid: Some(4242 + index),
            port: Some(40001),
            node: None,
            reason: None,
            last_exit: None,
            volumes: volumes
                .into_iter()
                .map(|(name, bytes)| VolumeStatus {
                    name: name.to_owned(),
                    path: format!("/app/.zeppelin/volumes/db/{index}/{name}"),
                    bytes,
                    bound: None,
                    at_least: false,
                })
                .collect(),
        };
        let sub = |name: &str, replicas: Vec<ReplicaStatus>| SubStatus {
            name: name.to_owned(),
            desired: 2,
            ready: 2,
            updated: None,
            available: None,
            address: None,
            replicas,
        };
        let status = AppStatus {
            app: "shop".to_owned(),
            runtime: status::Runtime::Local,
            subs: vec![
                sub(
                    "db",
                    vec![
                        replica(0, vec![("data", Some(1_572_864)), ("wal", Some(12))]),
                        replica(1, vec![("data", None), ("wal", Some(0))]),
                    ],
                ),
                sub(
                    "web",
                    vec![ReplicaStatus {
                        name: "web.0".to_owned(),
                        ..replica(2, Vec::new())
                    }],
                ),
            ],
            jobs: Vec::new(),
            endpoints: Vec::new(),
        };
        insta::assert_snapshot!(table(&status).trim_fmt());
    }

    #[test]
    fn the_job_table_shows_triggers_last_and_next_runs() {
        use zeppelin_core::status::{JobRun, JobState};
        let run = |exit: Option<i32>, reason: Option<&str>| JobRun {
            id: None,
            started: "2026-12-02T10:00:00Z".parse().unwrap(),
            duration: Some(Duration::from_millis(1500)),
            attempts: 2,
            exit,
            reason: reason.map(str::to_owned),
        };
        let jobs = vec![
            JobStatus {
                name: "migrate".to_owned(),
                trigger: JobTrigger::Before,
                schedule: None,
                state: JobState::Failed,
                last_run: Some(run(Some(3), Some("exited with status 3 after 2 attempts"))),
                next_run: None,
                skipped: 0,
            },
            JobStatus {
                name: "cleanup".to_owned(),
                trigger: JobTrigger::Schedule,
                schedule: Some("0 3 * * * Europe/Berlin".to_owned()),
                state: JobState::Running,
                last_run: Some(JobRun {
                    duration: None,
                    exit: None,
                    ..run(None, None)
                }),
                next_run: Some("2026-12-03T02:00:00Z".parse().unwrap()),
                skipped: 2,
            },
            JobStatus {
                name: "report".to_owned(),
                trigger: JobTrigger::OnDemand,
                schedule: None,
                state: JobState::NotRun,
                last_run: None,
                next_run: None,
                skipped: 0,
            },
        ];
        insta::assert_snapshot!(job_table(&jobs).trim_fmt());
    }

    #[test]
    fn uptimes_are_short() {
        assert_eq!(uptime(Duration::from_secs(45)), "45s");
        assert_eq!(uptime(Duration::from_secs(192)), "3m12s");
        assert_eq!(uptime(Duration::from_secs(7500)), "2h05m");
        assert_eq!(uptime(Duration::from_secs(273_600)), "3d4h");
    }
}
