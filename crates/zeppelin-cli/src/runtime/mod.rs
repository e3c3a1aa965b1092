//! Where the app runs, for the verbs that work on both runtimes (`ps`, `logs`, `scale`):
//! the local supervisor or the Kubernetes cluster, chosen once from `--k8s` when the
//! command starts. The commands call a [`Runtime`] and never ask which one it is; each
//! side lives in its own module ([`local`], [`cluster`]).

pub(crate) mod cluster;
mod local;

use std::collections::BTreeMap;

use zeppelin_core::{App, AppStatus};

use crate::settings::{GlobalSettings, LogsSettings, RuntimeKind};
use cluster::ClusterRuntime;
use local::LocalRuntime;

/// The app in one runtime, its file already read.
pub(crate) enum Runtime {
    /// Supervised processes on this machine, reached through the control socket and `log/`.
    Local(LocalRuntime),
    /// Deployments, `StatefulSet`s, pods and claims in the cluster (`--k8s`), reached
    /// through its API.
    Cluster(ClusterRuntime),
}

impl Runtime {
    /// Reads the app file for `kind`: as is for the local runtime, with `--namespace`
    /// applied for the cluster.
    pub(crate) fn open(kind: RuntimeKind, settings: &GlobalSettings) -> miette::Result<Self> {
        Ok(match kind {
            RuntimeKind::Local => Self::Local(LocalRuntime::new(settings.load_app()?)),
            RuntimeKind::Cluster => {
                Self::Cluster(ClusterRuntime::new(settings.load_cluster_app()?, settings))
            }
        })
    }

    /// The app, as its file describes it.
    pub(crate) fn app(&self) -> &App {
        match self {
            Self::Local(local) => local.app(),
            Self::Cluster(cluster) => cluster.app(),
        }
    }

    /// The app's status: subs, replicas (or pods) and routes, in the shared status model.
    pub(crate) fn status(&self) -> miette::Result<AppStatus> {
        match self {
            Self::Local(local) => local.status(),
            Self::Cluster(cluster) => cluster.status(),
        }
    }

    /// The volume claims of the app's stateful subs: on the cluster only (local volumes
    /// are directories, which the status shows).
    pub(crate) fn claims(&self) -> miette::Result<Vec<zeppelin_kube::claims::Claim>> {
        match self {
            Self::Local(_) => Ok(Vec::new()),
            Self::Cluster(cluster) => cluster.claims(),
        }
    }

    /// What to say instead of an empty status table: the cluster may have nothing of the
    /// app yet; a running supervisor always has its subs.
    pub(crate) fn nothing_deployed(&self) -> Option<String> {
        match self {
            Self::Local(_) => None,
            Self::Cluster(cluster) => Some(cluster.nothing_deployed()),
        }
    }

    /// Prints the app's log lines on stdout, as `logs` asked; `subs` are the app's subs
    /// (their order picks the colours).
    pub(crate) fn logs(
        &self,
        settings: &LogsSettings,
        subs: Vec<String>,
        color: bool,
    ) -> miette::Result<()> {
        match self {
            Self::Local(local) => local.logs(settings, subs, color),
            Self::Cluster(cluster) => cluster.logs(settings, &subs, color),
        }
    }

    /// Runs job `name` of the app once, streaming its output; the exit code is the job's.
    pub(crate) fn run_job(&self, name: &str) -> miette::Result<std::process::ExitCode> {
        match self {
            Self::Local(local) => local.run_job(name),
            Self::Cluster(cluster) => cluster.run_job(name),
        }
    }

    /// Sets the replica count of each sub named, saying what it did on stderr.
    pub(crate) fn scale(&self, counts: &BTreeMap<String, u32>) -> miette::Result<()> {
        match self {
            Self::Local(local) => local.scale(counts),
            Self::Cluster(cluster) => cluster.scale(counts),
        }
    }
}
