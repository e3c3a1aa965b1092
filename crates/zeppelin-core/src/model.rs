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

    /// Subs in an order where every sub comes after the subs it depends on
    /// (ties broken by name, so the order is stable).
    pub fn start_order(&self) -> Vec<&Sub> {
        let mut done: Vec<&str> = Vec::with_capacity(self.subs.len());
        let mut order = Vec::with_capacity(self.subs.len());
        while order.len() < self.subs.len() {
            let before = order.len();
            for sub in self.subs.values() {
                if done.contains(&sub.name.as_str()) {
                    continue;
                }
                let ready = sub
                    .depends_on
                    .iter()
                    .all(|dep| done.contains(&dep.as_str()) || !self.subs.contains_key(dep));
                if ready {
                    done.push(&sub.name);
                    order.push(sub);
                }
            }
            if order.len() == before {
                // A cycle: validation refuses these, so only unvalidated models get here.
                // Append the rest by name rather than loop forever.
                order.extend(
                    self.subs
                        .values()
                        .filter(|s| !done.contains(&s.name.as_str())),
                );
                break;
            }
        }
        order
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
