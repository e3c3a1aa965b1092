//! Settings of the commands about the running app: `run` and its background supervisor,
//! `stop` (and deleting local data), `restart` and `routes` (local only), and `ps`, `logs`
//! and `scale`, which reach either runtime ([`RuntimeKind`], chosen here once from `--k8s`).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::args::{
    Format, LogsArgs, PsArgs, RoutesArgs, RunArgs, RunJobArgs, ScaleArgs, StopArgs, SubsArgs,
    SuperviseArgs,
};

/// Where `ps`, `logs` and `scale` look: the local supervisor, or the cluster (`--k8s`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RuntimeKind {
    Local,
    Cluster,
}

impl RuntimeKind {
    fn from_k8s(k8s: bool) -> Self {
        if k8s { Self::Cluster } else { Self::Local }
    }
}

/// `zeppelin run [-d]`.
#[derive(Debug)]
pub(crate) struct RunSettings {
    /// Start a background supervisor and return once every sub is healthy.
    pub(crate) detach: bool,
    /// How long each sub may take to become healthy.
    pub(crate) timeout: Duration,
    /// The gateway's port instead of the app file's.
    pub(crate) gateway_port: Option<u16>,
}

impl From<RunArgs> for RunSettings {
    fn from(args: RunArgs) -> Self {
        Self {
            detach: args.detach,
            timeout: args.timeout,
            gateway_port: args.gateway_port,
        }
    }
}

/// The background supervisor `run -d` starts (`zeppelin __supervise`).
#[derive(Debug)]
pub(crate) struct SuperviseSettings {
    pub(crate) timeout: Duration,
    pub(crate) gateway_port: Option<u16>,
}

impl From<SuperviseArgs> for SuperviseSettings {
    fn from(args: SuperviseArgs) -> Self {
        Self {
            timeout: args.timeout,
            gateway_port: args.gateway_port,
        }
    }
}

/// `zeppelin stop [SUB…]`, or `zeppelin stop --delete-data SUB… [--yes]`.
#[derive(Debug)]
pub(crate) struct StopSettings {
    /// The subs to stop (the whole app when empty), or whose data to delete.
    pub(crate) subs: Vec<String>,
    /// `Some` to delete the data of the subs named: `Some(true)` without asking (`--yes`).
    pub(crate) delete_data: Option<bool>,
}

impl From<StopArgs> for StopSettings {
    fn from(args: StopArgs) -> Self {
        Self {
            subs: args.subs,
            delete_data: args.data.delete_data.then_some(args.data.yes),
        }
    }
}

/// `zeppelin restart [SUB…]`.
#[derive(Debug)]
pub(crate) struct SubsSettings {
    /// The subs to act on; the whole app when empty.
    pub(crate) subs: Vec<String>,
}

impl From<SubsArgs> for SubsSettings {
    fn from(args: SubsArgs) -> Self {
        Self { subs: args.subs }
    }
}

/// `zeppelin routes [--format]`.
#[derive(Debug)]
pub(crate) struct RoutesSettings {
    pub(crate) format: Format,
}

impl From<RoutesArgs> for RoutesSettings {
    fn from(args: RoutesArgs) -> Self {
        Self {
            format: args.format,
        }
    }
}

/// `zeppelin ps [--format] [--k8s]`.
#[derive(Debug)]
pub(crate) struct PsSettings {
    pub(crate) format: Format,
    pub(crate) runtime: RuntimeKind,
}

impl From<PsArgs> for PsSettings {
    fn from(args: PsArgs) -> Self {
        Self {
            format: args.format,
            runtime: RuntimeKind::from_k8s(args.k8s),
        }
    }
}

/// `zeppelin logs [SUB…]` and its filters.
#[derive(Debug)]
pub(crate) struct LogsSettings {
    /// The subs whose lines to show; all when empty.
    pub(crate) subs: Vec<String>,
    /// Keep printing new lines.
    pub(crate) follow: bool,
    /// Only the last N lines.
    pub(crate) tail: Option<usize>,
    /// Only lines written this long ago or later.
    pub(crate) since: Option<Duration>,
    /// Only the lines of this replica (local only).
    pub(crate) replica: Option<u32>,
    /// Start each line with its time.
    pub(crate) timestamps: bool,
    pub(crate) runtime: RuntimeKind,
}

impl From<LogsArgs> for LogsSettings {
    fn from(args: LogsArgs) -> Self {
        Self {
            subs: args.subs,
            follow: args.follow,
            tail: args.tail,
            since: args.since,
            replica: args.replica,
            timestamps: args.timestamps,
            runtime: RuntimeKind::from_k8s(args.k8s),
        }
    }
}

/// `zeppelin scale SUB=N…`.
#[derive(Debug)]
pub(crate) struct ScaleSettings {
    /// The replica count of each sub named, in name order (a sub named twice: the last).
    pub(crate) counts: BTreeMap<String, u32>,
    pub(crate) runtime: RuntimeKind,
}

impl From<ScaleArgs> for ScaleSettings {
    fn from(args: ScaleArgs) -> Self {
        Self {
            counts: args
                .counts
                .into_iter()
                .map(|pair| (pair.sub, pair.count))
                .collect(),
            runtime: RuntimeKind::from_k8s(args.k8s),
        }
    }
}

/// `zeppelin run-job NAME [--k8s]`.
#[derive(Debug)]
pub(crate) struct RunJobSettings {
    pub(crate) job: String,
    pub(crate) runtime: RuntimeKind,
}

impl From<RunJobArgs> for RunJobSettings {
    fn from(args: RunJobArgs) -> Self {
        Self {
            job: args.job,
            runtime: RuntimeKind::from_k8s(args.k8s),
        }
    }
}
