//! The status model: what `zeppelin ps` shows, whichever runtime produced it.
//!
//! The local supervisor and the Kubernetes client both report an [`AppStatus`]; the CLI
//! renders it as one table (or JSON), so the two runtimes look the same to a user.

use std::time::Duration;

/// Which runtime a status came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Runtime {
    Local,
    Kubernetes,
}

/// One app's status.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AppStatus {
    pub app: String,
    pub runtime: Runtime,
    pub subs: Vec<SubStatus>,
    /// The app's jobs, by name; absent from the JSON when the app has none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jobs: Vec<JobStatus>,
    /// Addresses the app is reachable at from outside (gateway or Ingress).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<String>,
}

/// One sub's status and its replicas.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SubStatus {
    pub name: String,
    /// Replicas asked for.
    pub desired: u32,
    /// Replicas that pass their health check (receive traffic).
    pub ready: u32,
    /// Replicas running the current spec (Kubernetes: `updatedReplicas`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<u32>,
    /// Replicas available (Kubernetes: `availableReplicas`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available: Option<u32>,
    /// Where others reach the sub: the local balancer or the Kubernetes Service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    pub replicas: Vec<ReplicaStatus>,
}

/// One replica: a local process or a Kubernetes pod.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ReplicaStatus {
    /// `web.1` locally, the pod name on Kubernetes.
    pub name: String,
    pub state: ReplicaState,
    /// Whether the replica currently passes its health check (readiness).
    pub ready: bool,
    pub restarts: u32,
    /// Time since the current process or pod started.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_secs")]
    pub uptime: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// The port the replica's own process listens on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Why the replica is not running well, in a user's words
    /// (`CrashLoopBackOff`, `exited with status 1`, `health check failed: …`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The last exit status, when the process has exited at least once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_exit: Option<i32>,
    /// The data of a stateful sub's replica, one entry per volume: what `ps` shows so a
    /// user sees where the data is and how much of it there is.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<VolumeStatus>,
}

/// One volume of one replica.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VolumeStatus {
    /// The volume's name in the app file (`data`).
    pub name: String,
    /// Where the data is: the replica's folder locally, the name of its
    /// `PersistentVolumeClaim` on Kubernetes (`data-redis-0`).
    pub path: String,
    /// Locally, the bytes its files hold, when they could be counted; on Kubernetes, the
    /// capacity of the volume bound to the claim (none while the claim is not bound).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// Kubernetes only: whether a volume is bound to the claim. A claim that stays unbound
    /// holds its replica back (`Pending`), so a script reading the JSON must tell it apart
    /// from a claim whose size is merely unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bound: Option<bool>,
    /// `bytes` is a lower bound: counting stopped early so `ps` stays quick on huge data.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub at_least: bool,
}

/// One job: what triggers it, how its last run went, and when it runs next.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct JobStatus {
    pub name: String,
    pub trigger: JobTrigger,
    /// The cron schedule and its time zone as written (`0 3 * * * Europe/Berlin`), for a
    /// scheduled job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    pub state: JobState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run: Option<JobRun>,
    /// When a scheduled job is next due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_run: Option<jiff::Timestamp>,
    /// Due runs of a scheduled job that were skipped because a run was still going.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub skipped: u32,
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes a reference"
)]
fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// What makes a job run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobTrigger {
    /// Before the subs it gates start or roll out, when its inputs changed.
    Before,
    /// At the times of its schedule.
    Schedule,
    /// Only when asked, with `zeppelin run-job`.
    OnDemand,
}

impl JobTrigger {
    /// The word `ps` prints.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Before => "before",
            Self::Schedule => "schedule",
            Self::OnDemand => "on demand",
        }
    }
}

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// It has not run yet (here, or for its current inputs).
    NotRun,
    Running,
    Succeeded,
    Failed,
    /// It cannot run in the local runtime: it has no `run` command (an image alone).
    NoCommand,
}

impl JobState {
    /// The word `ps` prints.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotRun => "not run",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::NoCommand => "no local command",
        }
    }
}

impl std::fmt::Display for JobState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One run of a job (all its attempts).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct JobRun {
    /// The Kubernetes `Job` that ran it; none locally.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub started: jiff::Timestamp,
    /// How long it took; none while it runs.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_secs")]
    pub duration: Option<Duration>,
    /// Attempts made: 1, plus the retries used.
    pub attempts: u32,
    /// The last attempt's exit status, when it exited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<i32>,
    /// Why it failed, in a user's words (`exited with status 3`, `timed out after 5m`,
    /// `DeadlineExceeded`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Lifecycle state of a replica, shared by both runtimes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplicaState {
    /// Waiting to be scheduled or for its image (Kubernetes `Pending`).
    Pending,
    /// Running, not yet passed its first health check.
    Starting,
    /// Running and passing its health check (or running, with no check).
    Healthy,
    /// Was healthy, now failing its health check.
    Unhealthy,
    /// Exited and will not be started again.
    Exited,
    /// Exited; waiting before the next start.
    Backoff,
    /// Being stopped.
    Stopping,
    /// Stopped by request.
    Stopped,
}

impl ReplicaState {
    /// The word `ps` prints.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Starting => "starting",
            Self::Healthy => "healthy",
            Self::Unhealthy => "unhealthy",
            Self::Exited => "exited",
            Self::Backoff => "backoff",
            Self::Stopping => "stopping",
            Self::Stopped => "stopped",
        }
    }
}

impl std::fmt::Display for ReplicaState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

mod opt_secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    #[allow(clippy::ref_option)]
    pub(super) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_f64(d.as_secs_f64()),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.map(Duration::from_secs_f64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_json() {
        let status = AppStatus {
            app: "shop".into(),
            runtime: Runtime::Local,
            subs: vec![SubStatus {
                name: "web".into(),
                desired: 2,
                ready: 1,
                updated: None,
                available: None,
                address: Some("127.0.0.1:8080".into()),
                replicas: vec![ReplicaStatus {
                    name: "web.1".into(),
                    state: ReplicaState::Healthy,
                    ready: true,
                    restarts: 3,
                    uptime: Some(Duration::from_millis(1500)),
                    pid: Some(42),
                    port: Some(40000),
                    node: None,
                    reason: None,
                    last_exit: Some(1),
                    volumes: vec![VolumeStatus {
                        name: "data".into(),
                        path: "/app/.zeppelin/volumes/web/1/data".into(),
                        bytes: Some(4096),
                        bound: None,
                        at_least: false,
                    }],
                }],
            }],
            jobs: vec![JobStatus {
                name: "migrate".into(),
                trigger: JobTrigger::Before,
                schedule: None,
                state: JobState::Failed,
                last_run: Some(JobRun {
                    id: None,
                    started: "2026-12-02T10:00:00Z".parse().unwrap(),
                    duration: Some(Duration::from_millis(2500)),
                    attempts: 2,
                    exit: Some(3),
                    reason: Some("exited with status 3".into()),
                }),
                next_run: None,
                skipped: 0,
            }],
            endpoints: vec![],
        };
        let json = serde_json::to_string(&status).unwrap();
        assert!(json.contains("\"uptime\":1.5"), "{json}");
        // Local volumes say nothing of binding: the JSON is the same as before `bound`.
        assert!(!json.contains("bound"), "{json}");
        assert!(
            json.contains("\"started\":\"2026-12-02T10:00:00Z\""),
            "{json}"
        );
        assert!(!json.contains("skipped"), "{json}");
        let back: AppStatus = serde_json::from_str(&json).unwrap();
        assert_eq!(back, status);
    }
}
