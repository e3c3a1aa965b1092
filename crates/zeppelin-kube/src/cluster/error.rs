//! Why a cluster command failed: connecting, applying, waiting, pruning, reading revisions.
//!
//! Each variant names the object or sub involved and says what to do next; the underlying
//! API error sits in `#[source]` as an [`ApiCause`], which prints only the server's message.

use std::fmt::Write as _;
use std::time::Duration;

use crate::cluster::fixed::FixedChanges;

/// What the API server (or the connection to it) said, without kube's debug dump.
#[derive(Debug)]
pub struct ApiCause(pub kube::Error);

impl std::fmt::Display for ApiCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            kube::Error::Api(status) => write!(f, "{} ({})", status.message, status.code),
            other => match std::error::Error::source(other) {
                // kube repeats the cause in its own message; print the cause once.
                Some(cause) => write!(f, "{cause}"),
                None => write!(f, "{other}"),
            },
        }
    }
}

impl std::error::Error for ApiCause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.0 {
            kube::Error::Api(_) => None,
            // Display already printed kube's cause; go on from the one after it.
            other => std::error::Error::source(other)?.source(),
        }
    }
}

impl ApiCause {
    /// The HTTP status of an API error, if the server answered.
    pub fn code(&self) -> Option<u16> {
        api_code(&self.0)
    }
}

/// The HTTP status the API server answered a request with; `None` when it did not answer
/// (a connection or credential error).
pub(crate) fn api_code(error: &kube::Error) -> Option<u16> {
    match error {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}

/// Whether the API server answered 404: the object (or the API, or the namespace) is not
/// there, which deleting, listing and looking up usually take as "nothing to do".
pub(crate) fn is_not_found(error: &kube::Error) -> bool {
    api_code(error) == Some(404)
}

/// One field another manager owns with a different value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldConflict {
    /// The field path, such as `.spec.replicas`.
    pub field: String,
    /// The field manager that owns it, such as `kubectl-edit`.
    pub manager: String,
}

/// A cluster command that could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "cannot use the kubeconfig (KUBECONFIG, or ~/.kube/config); check that the file exists and has the context asked for (--context)"
    )]
    Kubeconfig(#[source] kube::config::KubeconfigError),
    #[error(
        "no kubeconfig found (KUBECONFIG, ~/.kube/config) and not running inside a cluster; set KUBECONFIG or create ~/.kube/config"
    )]
    NoConfig(#[source] kube::config::InClusterError),
    #[error("cannot build a Kubernetes client for {url}; check the kubeconfig's cluster entry")]
    Client {
        url: String,
        #[source]
        source: ApiCause,
    },
    #[error(
        "cannot reach the cluster at {url}; check that it is running and that the context is the right one (--context, KUBECONFIG)"
    )]
    Unreachable {
        url: String,
        #[source]
        source: ApiCause,
    },
    #[error(
        "the cluster at {url} refused the credentials in the kubeconfig; log in again or refresh them (they may have expired)"
    )]
    Unauthorized {
        url: String,
        #[source]
        source: ApiCause,
    },
    #[error(
        "the cluster at {url} has no {kind} API ({api_version}), which this app needs; upgrade the cluster or remove what needs it from zeppelin.toml"
    )]
    MissingApi {
        url: String,
        kind: String,
        api_version: String,
    },
    #[error("{object} conflicts with another field manager:{}\nnothing more was applied; `--force-conflicts` takes these fields over", list_conflicts(.conflicts))]
    Conflict {
        object: String,
        conflicts: Vec<FieldConflict>,
    },
    #[error("the cluster refused {object}; fix the app file or the cluster and deploy again")]
    Apply {
        object: String,
        #[source]
        source: ApiCause,
    },
    #[error("cannot {action}")]
    Request {
        action: String,
        #[source]
        source: ApiCause,
    },
    #[error("{}", .0)]
    RolloutFailed(String),
    /// A `before` job could outlast the deploy's wait; nothing was applied.
    #[error(
        "job `{job}` may run for {timeout} (its `timeout`), which is not shorter than the deploy's --timeout of {deploy}, so the deploy could give up while the job still runs; lower `timeout` in [job.{job}] or raise --timeout; nothing was applied"
    )]
    JobTimeout {
        job: String,
        timeout: String,
        deploy: String,
    },
    /// Stateful subs whose StatefulSet cannot be updated in place; nothing was applied.
    #[error("{}", list_fixed(.0))]
    FixedFields(Vec<FixedChanges>),
    #[error("the rollout failed, so the app was rolled back to revision {revision}")]
    RolledBack {
        revision: u64,
        #[source]
        source: Box<ClusterError>,
    },
    #[error(
        "the rollout failed, and rolling back to revision {revision} failed too: {}",
        chain(.rollback)
    )]
    RollbackFailed {
        revision: u64,
        #[source]
        rollout: Box<ClusterError>,
        rollback: Box<ClusterError>,
    },
    #[error("the rollout failed, and there is no earlier revision that rolled out to go back to")]
    NotRolledBack(#[source] Box<ClusterError>),
    #[error(
        "revision {revision} of {app} is not in the cluster; `zeppelin history` lists the ones kept"
    )]
    NoSuchRevision { app: String, revision: u64 },
    #[error(
        "{app} has no earlier revision to roll back to; `zeppelin history` lists the revisions"
    )]
    NothingToRollBack { app: String },
    #[error(
        "revision {revision} needs secret `{secret}`, which the app file no longer declares; declare it under [secrets] to roll back to revision {revision}; nothing was applied"
    )]
    SecretUndeclared { revision: u64, secret: String },
    #[error(
        "revision {revision} needs the current value of secret `{secret}` from the environment variable `{var}`, which is not set; export it and roll back again; nothing was applied"
    )]
    SecretEnvUnset {
        revision: u64,
        secret: String,
        var: String,
    },
    #[error(
        "revision {revision} needs the current value of secret `{secret}`, which cannot be read; nothing was applied"
    )]
    SecretUnavailable {
        revision: u64,
        secret: String,
        #[source]
        source: crate::render::secrets::SecretError,
    },
    #[error(
        "the revision Secret {name} cannot be read; it was changed by hand or written by another tool: {reason}"
    )]
    BadRevision { name: String, reason: String },
    #[error(
        "sub `{sub}` is scaled by its autoscaler (min {min}, max {max}); change `autoscale` in zeppelin.toml and deploy instead"
    )]
    Autoscaled { sub: String, min: i32, max: i32 },
    #[error(
        "{object} was still there after {timeout}; a finalizer may hold it (`kubectl get {plural} {name} -n {namespace} -o yaml` shows which)"
    )]
    StillThere {
        object: String,
        timeout: String,
        plural: String,
        name: String,
        namespace: String,
    },
    #[error(
        "lost the watch on {object} while waiting for it to go away; run `zeppelin delete` again"
    )]
    Watch {
        object: String,
        #[source]
        source: kube::runtime::wait::Error,
    },
    #[error(
        "{app} has no Deployment or StatefulSet `{sub}` in namespace {namespace}; deploy it first with `zeppelin deploy`"
    )]
    NotDeployed {
        app: String,
        sub: String,
        namespace: String,
    },

    #[error(
        "`{sub}` is a {expected} in the app file, but namespace {namespace} has only a {found} `{sub}` (deployed before the sub changed); run `zeppelin deploy` first"
    )]
    OtherKind {
        sub: String,
        namespace: String,
        expected: &'static str,
        found: &'static str,
    },
}

fn list_fixed(refused: &[FixedChanges]) -> String {
    let texts: Vec<String> = refused.iter().map(ToString::to_string).collect();
    texts.join("\n\n")
}

fn list_conflicts(conflicts: &[FieldConflict]) -> String {
    let mut text = String::new();
    for c in conflicts {
        let _ = write!(text, "\n  {} is owned by \"{}\"", c.field, c.manager);
    }
    text
}

/// An error and its causes on one line, for an error shown inside another's message.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(c) = cause {
        let _ = write!(text, ": {c}");
        cause = c.source();
    }
    text
}

/// `5m`, `90s`, `1m30s`.
pub(crate) fn humanize(duration: Duration) -> String {
    let secs = duration.as_secs();
    match (secs / 60, secs % 60) {
        (0, s) => format!("{s}s"),
        (m, 0) => format!("{m}m"),
        (m, s) => format!("{m}m{s}s"),
    }
}

/// Wraps a failed request to the API server.
pub(crate) fn request(action: impl Into<String>) -> impl FnOnce(kube::Error) -> ClusterError {
    let action = action.into();
    move |source| ClusterError::Request {
        action,
        source: ApiCause(source),
    }
}
