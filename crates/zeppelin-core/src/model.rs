//! The app model: what a `zeppelin.toml` means once it has been decoded and validated.
//!
//! Both runtimes take an [`App`] and nothing else from the file, so every default lives
//! here (or in the decoder that fills these types), never in a runtime.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::duration::AppDuration;
use crate::kubernetes::Kubernetes;
use crate::quantity::Quantity;

/// Default local gateway port for `[[route]]` entries.
pub const DEFAULT_GATEWAY_PORT: u16 = 8000;

/// A whole application, as described by one app file.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct App {
    /// DNS-1123 label; also the Kubernetes namespace unless `namespace` is set.
    pub name: String,
    /// The Kubernetes namespace, when it differs from `name`.
    pub namespace: Option<String>,
    /// Plain settings given to every sub as environment variables.
    pub conf: BTreeMap<String, String>,
    /// Values that never live in the file; resolved at run or deploy time.
    pub secrets: BTreeMap<String, Secret>,
    /// The sub-components, by name.
    pub subs: BTreeMap<String, Sub>,
    /// Work that runs to completion (migrations, scheduled tasks, admin commands), by name.
    /// Jobs and subs share one name space: both name a log file and Kubernetes objects.
    pub jobs: BTreeMap<String, Job>,
    /// Host and path routes to subs: the local gateway, an Ingress on Kubernetes.
    pub routes: Vec<Route>,
    /// The local gateway's settings.
    pub gateway: Gateway,
    /// Where and how the local runtime keeps logs.
    pub logs: Logs,
    /// Settings that only apply on Kubernetes.
    pub kubernetes: Kubernetes,
    /// Where the app file was read from.
    pub source: AppSource,
}

impl App {
    /// The Kubernetes namespace the app lives in.
    pub fn namespace(&self) -> &str {
        self.namespace.as_deref().unwrap_or(&self.name)
    }

    /// The app folder: commands run here and relative paths resolve against it.
    pub fn dir(&self) -> &Path {
        &self.source.dir
    }

    /// Subs in an order where every sub comes after the subs it depends on (and after the
    /// subs its `before` jobs depend on): [`App::start_steps`] without the jobs.
    pub fn start_order(&self) -> Vec<&Sub> {
        self.start_steps()
            .into_iter()
            .filter_map(|step| match step {
                Step::Sub(sub) => Some(sub),
                Step::Job(_) => None,
            })
            .collect()
    }

    /// What `run` starts, in order: every sub after the subs it depends on and after the
    /// jobs that run `before` it, every `before` job after the subs it depends on. Scheduled
    /// and on-demand jobs are not part of a start. Ties are broken subs-first, then by name,
    /// so the order is stable.
    pub fn start_steps(&self) -> Vec<Step<'_>> {
        let before_jobs: Vec<&Job> = self.jobs.values().filter(|j| j.runs_before()).collect();
        let total = self.subs.len() + before_jobs.len();
        let mut done_subs: Vec<&str> = Vec::with_capacity(self.subs.len());
        let mut done_jobs: Vec<&str> = Vec::with_capacity(before_jobs.len());
        let mut order = Vec::with_capacity(total);
        let sub_ready =
            |name: &str, done: &[&str]| done.contains(&name) || !self.subs.contains_key(name);
        while order.len() < total {
            let progress = order.len();
            for sub in self.subs.values() {
                if done_subs.contains(&sub.name.as_str()) {
                    continue;
                }
                let ready = sub.depends_on.iter().all(|dep| sub_ready(dep, &done_subs))
                    && self
                        .jobs_before(&sub.name)
                        .all(|job| done_jobs.contains(&job.name.as_str()));
                if ready {
                    done_subs.push(&sub.name);
                    order.push(Step::Sub(sub));
                }
            }
            for job in &before_jobs {
                if done_jobs.contains(&job.name.as_str()) {
                    continue;
                }
                if job.depends_on.iter().all(|dep| sub_ready(dep, &done_subs)) {
                    done_jobs.push(&job.name);
                    order.push(Step::Job(job));
                }
            }
            if order.len() == progress {
                // A cycle: validation refuses these, so only unvalidated models get here.
                // Append the rest by name rather than loop forever.
                order.extend(
                    self.subs
                        .values()
                        .filter(|s| !done_subs.contains(&s.name.as_str()))
                        .map(Step::Sub),
                );
                order.extend(
                    before_jobs
                        .iter()
                        .filter(|j| !done_jobs.contains(&j.name.as_str()))
                        .map(|j| Step::Job(j)),
                );
                break;
            }
        }
        order
    }

    /// The jobs that must succeed before `sub` starts or rolls out.
    pub fn jobs_before<'a>(&'a self, sub: &'a str) -> impl Iterator<Item = &'a Job> + 'a {
        self.jobs
            .values()
            .filter(move |job| job.before.iter().any(|b| b == sub))
    }

    /// Checks that every name given is a sub or a job of the app, for commands that take
    /// either (`logs`, `exec`).
    pub fn check_subs_or_jobs<'a>(
        &self,
        names: impl IntoIterator<Item = &'a String>,
    ) -> Result<(), UnknownName> {
        let list = |names: Vec<&String>| match names.as_slice() {
            [] => "none".to_owned(),
            names => names
                .iter()
                .map(|name| name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        };
        match names
            .into_iter()
            .find(|name| !self.subs.contains_key(*name) && !self.jobs.contains_key(*name))
        {
            Some(unknown) => Err(UnknownName {
                app: self.name.clone(),
                name: unknown.clone(),
                subs: list(self.subs.keys().collect()),
                jobs: list(self.jobs.keys().collect()),
            }),
            None => Ok(()),
        }
    }

    /// Checks that `name` is a job of the app, for commands that take a job name.
    pub fn job(&self, name: &str) -> Result<&Job, UnknownJob> {
        self.jobs.get(name).ok_or_else(|| UnknownJob {
            app: self.name.clone(),
            job: name.to_owned(),
            known: if self.jobs.is_empty() {
                "it has none; add a `[job.NAME]` table".to_owned()
            } else {
                format!(
                    "the jobs are: {}",
                    self.jobs.keys().cloned().collect::<Vec<_>>().join(", ")
                )
            },
        })
    }

    /// The `<SUB>_ADDR` variable name for a sub (`api` → `API_ADDR`, `web-ui` → `WEB_UI_ADDR`).
    pub fn addr_var(sub: &str) -> String {
        format!("{}_ADDR", env_name(sub))
    }

    /// Checks that every name given is a sub of the app, for commands that take sub names.
    pub fn check_subs<'a>(
        &self,
        names: impl IntoIterator<Item = &'a String>,
    ) -> Result<(), UnknownSub> {
        match names
            .into_iter()
            .find(|name| !self.subs.contains_key(*name))
        {
            Some(unknown) => Err(UnknownSub {
                app: self.name.clone(),
                sub: unknown.clone(),
                known: self.subs.keys().cloned().collect::<Vec<_>>().join(", "),
            }),
            None => Ok(()),
        }
    }

    /// Secrets the app file explicitly also gives as plain environment variables.
    pub fn exposed_secrets(&self) -> Vec<&str> {
        self.secrets
            .iter()
            .filter(|(_, s)| s.expose_env)
            .map(|(name, _)| name.as_str())
            .collect()
    }

    /// The `<NAME>_FILE` variable that announces a secret's file.
    pub fn secret_file_var(secret: &str) -> String {
        format!("{secret}_FILE")
    }
}

/// A sub name given on the command line that the app does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no sub named {sub:?} in {app}; the subs are: {known}")]
pub struct UnknownSub {
    pub app: String,
    pub sub: String,
    pub known: String,
}

/// A job name given on the command line that the app does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no job named {job:?} in {app}; {known}")]
pub struct UnknownJob {
    pub app: String,
    pub job: String,
    pub known: String,
}

/// A name given on the command line that is neither a sub nor a job of the app.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no sub or job named {name:?} in {app}; the subs are: {subs}; the jobs are: {jobs}")]
pub struct UnknownName {
    pub app: String,
    pub name: String,
    pub subs: String,
    pub jobs: String,
}

/// One step of starting an app: a sub to start, or a `before` job to run to success.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Step<'a> {
    Sub(&'a Sub),
    Job(&'a Job),
}

/// Turns a DNS-1123 name into the upper-case form used in environment variable names.
pub fn env_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c == '-' {
                '_'
            } else {
                c.to_ascii_uppercase()
            }
        })
        .collect()
}

/// Where an app file came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AppSource {
    /// The app file itself.
    pub file: PathBuf,
    /// The folder holding it.
    pub dir: PathBuf,
}

/// One secret: where its value comes from, and how the app receives it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Secret {
    pub source: SecretSource,
    /// Opt-in: also give the value as a plain environment variable `NAME`.
    /// Off by default because environment variables leak into child processes,
    /// crash dumps and `/proc`.
    pub expose_env: bool,
}

/// Where a secret's value is read at run or deploy time.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretSource {
    /// An environment variable of the person or CI running Zeppelin.
    Env(String),
    /// A file, relative to the app folder unless absolute.
    File(PathBuf),
}

/// A sub-component: one kind of process, run as one or more replicas.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Sub {
    pub name: String,
    /// The local command, run through `sh -c` in the app folder.
    pub run: Option<String>,
    /// The container image; needed on Kubernetes only.
    pub image: Option<String>,
    /// The stable port others reach the sub on.
    pub port: Option<u16>,
    /// How many replicas run; `None` means the runtime's default.
    pub replicas: Option<u32>,
    /// Subs that must be healthy before this one starts.
    pub depends_on: Vec<String>,
    /// Environment for this sub; overrides `[conf]`.
    pub env: BTreeMap<String, String>,
    pub health: Option<Health>,
    pub restart: RestartPolicy,
    pub resources: Resources,
    pub autoscale: Option<Autoscale>,
    /// How long a replica gets between SIGTERM and SIGKILL.
    pub stop_timeout: AppDuration,
    /// How the local balancer picks a replica for each connection.
    pub balance: Balance,
    /// Directories that belong to one replica each and outlive it, by name. A sub with
    /// volumes is stateful: replica N is always replica N, and always gets volume N.
    pub volumes: BTreeMap<String, Volume>,
}

impl Sub {
    /// Default grace between SIGTERM and SIGKILL.
    pub const DEFAULT_STOP_TIMEOUT: AppDuration = AppDuration::from_secs(10);

    /// Replicas the local runtime starts.
    pub fn local_replicas(&self) -> u32 {
        self.replicas.unwrap_or(1)
    }

    /// A stateful sub keeps data per replica, so both runtimes give its replicas stable
    /// identities and start them in order (a `StatefulSet` on Kubernetes).
    pub fn is_stateful(&self) -> bool {
        !self.volumes.is_empty()
    }
}

/// Work that runs to completion instead of serving: a migration `before` the subs that
/// need it, a task on a `schedule`, or (with neither) a command run on demand with
/// `zeppelin run-job`. Locally a supervised process, on Kubernetes a `Job` or a `CronJob`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Job {
    pub name: String,
    /// The local command, run through `sh -c` in the app folder.
    pub run: Option<String>,
    /// The container image; needed on Kubernetes only.
    pub image: Option<String>,
    /// Subs that must be healthy before the job starts.
    pub depends_on: Vec<String>,
    /// Environment for this job; overrides `[conf]`.
    pub env: BTreeMap<String, String>,
    pub resources: Resources,
    /// Subs that start, and roll out, only after this job succeeded.
    pub before: Vec<String>,
    /// When the job runs by itself.
    pub schedule: Option<JobSchedule>,
    /// How long one run may take, all attempts together, before it is stopped and failed.
    pub timeout: AppDuration,
    /// How many times a failed run is tried again.
    pub retries: u32,
}

impl Job {
    /// Default limit on a run: below `deploy`'s default `--timeout` (5 minutes), so a stuck
    /// job fails the deploy with its own reason rather than the deploy timing out around it.
    pub const DEFAULT_TIMEOUT: AppDuration = AppDuration::from_secs(180);

    /// A `before` job gates the start and rollout of subs.
    pub fn runs_before(&self) -> bool {
        !self.before.is_empty()
    }

    /// What makes the job run, as both runtimes' `ps` report it.
    pub fn trigger(&self) -> crate::status::JobTrigger {
        use crate::status::JobTrigger;
        match (&self.schedule, self.runs_before()) {
            (Some(_), _) => JobTrigger::Schedule,
            (None, true) => JobTrigger::Before,
            (None, false) => JobTrigger::OnDemand,
        }
    }

    /// The job as a one-replica sub that never restarts and serves nothing, so both
    /// runtimes build its process or container exactly as a sub's (environment, secrets,
    /// hardening) without a second code path.
    pub fn as_sub(&self) -> Sub {
        Sub {
            name: self.name.clone(),
            run: self.run.clone(),
            image: self.image.clone(),
            port: None,
            replicas: Some(1),
            depends_on: self.depends_on.clone(),
            env: self.env.clone(),
            health: None,
            restart: RestartPolicy::Never,
            resources: self.resources.clone(),
            autoscale: None,
            stop_timeout: Sub::DEFAULT_STOP_TIMEOUT,
            balance: Balance::default(),
            volumes: BTreeMap::new(),
        }
    }
}

/// A job's schedule, as written: checked when the file is read, so
/// [`JobSchedule::times`] only fails on models built by hand.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct JobSchedule {
    /// Five cron fields, or `@hourly`, `@daily`...
    pub cron: String,
    /// An IANA time zone such as `Europe/Berlin`; UTC when absent.
    pub timezone: Option<String>,
}

/// `0 3 * * *`, or `0 3 * * * Europe/Berlin` with a time zone: how `ps` shows it.
impl std::fmt::Display for JobSchedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.timezone {
            Some(zone) => write!(f, "{} {zone}", self.cron),
            None => f.write_str(&self.cron),
        }
    }
}

impl JobSchedule {
    /// The times the schedule names.
    pub fn times(&self) -> Result<crate::schedule::Schedule, crate::schedule::ScheduleError> {
        crate::schedule::Schedule::parse(&self.cron, self.timezone.as_deref())
    }
}

/// A named directory of one replica that persists across stops, restarts, re-applies and
/// deploys: locally a folder under `.zeppelin/volumes`, on Kubernetes a
/// `PersistentVolumeClaim` per pod.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Volume {
    /// A DNS-1123 label that starts with a letter: it names the claim template and the
    /// `<NAME>_DIR` variable.
    pub name: String,
    /// Where the container mounts it on Kubernetes (absolute).
    pub path: String,
    /// The claim's requested storage; needed to deploy, unused locally.
    pub size: Option<Quantity>,
}

impl Volume {
    /// The variable that tells the app where the volume is (`data` → `DATA_DIR`): the
    /// local folder, or the mount path on Kubernetes.
    pub fn dir_var(&self) -> String {
        format!("{}_DIR", env_name(&self.name))
    }
}

/// A health check and its timing.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Health {
    pub check: HealthCheck,
    /// Time between probes.
    pub interval: AppDuration,
    /// How long one probe may take.
    pub timeout: AppDuration,
    /// Consecutive failures that make a healthy replica unhealthy.
    pub retries: u32,
    /// Time after start during which failures do not count.
    pub grace: AppDuration,
}

impl Health {
    pub const DEFAULT_INTERVAL: AppDuration = AppDuration::from_secs(5);
    pub const DEFAULT_TIMEOUT: AppDuration = AppDuration::from_secs(2);
    pub const DEFAULT_RETRIES: u32 = 3;
    pub const DEFAULT_GRACE: AppDuration = AppDuration::from_secs(0);
}

/// What a health check does.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthCheck {
    /// `GET` this path on the replica's port; 2xx and 3xx are healthy.
    Http { path: String },
    /// Connect to the replica's port.
    Tcp,
    /// Run this command through `sh -c`; exit status 0 is healthy.
    Exec { command: String },
}

/// When a replica that exits is started again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RestartPolicy {
    #[default]
    Always,
    OnFailure,
    Never,
}

/// How the local balancer spreads connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Balance {
    #[default]
    RoundRobin,
    LeastConnections,
}

/// Requests of compute resources (Kubernetes quantities).
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct Resources {
    pub cpu: Option<Quantity>,
    pub memory: Option<Quantity>,
    pub ephemeral_storage: Option<Quantity>,
}

/// Horizontal autoscaling bounds (a `HorizontalPodAutoscaler` on Kubernetes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Autoscale {
    pub min: u32,
    pub max: u32,
    /// Target average CPU utilisation, in percent of the request.
    pub cpu_percent: u32,
}

impl Autoscale {
    pub const DEFAULT_CPU_PERCENT: u32 = 80;
}

/// A host and path prefix served by one sub.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Route {
    /// Exact host, or `*.example.com` for any single-label subdomain.
    pub host: String,
    /// Path prefix; `/` when absent.
    pub path: String,
    pub sub: String,
}

/// The local gateway that serves `[[route]]` entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Gateway {
    pub port: u16,
}

impl Default for Gateway {
    fn default() -> Self {
        Self {
            port: DEFAULT_GATEWAY_PORT,
        }
    }
}

/// Local log files: `log/<sub>.log`, rotated by size.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Logs {
    /// Rotate when a file reaches this many bytes.
    pub max_bytes: u64,
    /// Rotated files kept besides the current one.
    pub keep: u32,
}

impl Default for Logs {
    fn default() -> Self {
        Self {
            max_bytes: 10 * 1024 * 1024,
            keep: 5,
        }
    }
}
