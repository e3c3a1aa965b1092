//! What a deploy takes and tells: its options, the events it reports while it runs, and
//! the report of what it did.

use std::time::Duration;

use crate::cluster::apply::{Applied, ApplyOptions, Outcome};
use crate::cluster::claims::Claim;
use crate::cluster::job_wait::JobProgress;
use crate::cluster::revision::job_runs::JobRun;
use crate::cluster::revision::sealed::SecretDrift;
use crate::cluster::rollout::SubProgress;

/// How to deploy.
#[derive(Debug, Clone)]
pub struct DeployOptions {
    pub apply: ApplyOptions,
    /// Wait this long for the rollout; `None` with `--no-wait`.
    pub wait: Option<Duration>,
    /// Roll back to the last revision that rolled out when the rollout fails.
    pub atomic: bool,
    /// Delete the app's objects it no longer has.
    pub prune: bool,
    /// Revisions kept in the cluster.
    pub history: usize,
    /// SHA-256 of the app file, recorded with the revision.
    pub app_hash: String,
}

/// Something worth telling the user while a deploy runs.
#[derive(Debug)]
pub enum DeployEvent<'a> {
    Applied(&'a Applied),
    Pruned(&'a str),
    /// Claims of subs that have no StatefulSet in the app any more: their data is kept.
    ClaimsKept(&'a [Claim]),
    /// A revision was recorded; `None` when nothing changed since the last one.
    Recorded(Option<u64>),
    Progress(&'a [SubProgress]),
    /// A StatefulSet's pod stuck (not Ready) on the failed revision was deleted so its
    /// controller recreates it from the applied template; its claims are kept.
    PodReplaced {
        pod: &'a str,
        claims: &'a [String],
    },
    /// A `before` job's run moved on.
    Job(&'a JobProgress),
    /// A `before` job is not run: its Job with the same inputs already succeeded.
    JobUnchanged {
        job: &'a str,
        object: &'a str,
    },
    /// The rollout failed and `atomic` rolls back to this revision.
    RollingBack(u64),
    /// A secret's value now differs from the one revision `revision` recorded the hash of;
    /// the rollback applies the value read now.
    SecretDiffers {
        revision: u64,
        drift: &'a SecretDrift,
    },
}

/// What a deploy did.
#[derive(Debug, Clone, Default)]
pub struct DeployReport {
    pub applied: Vec<Applied>,
    pub pruned: Vec<String>,
    /// Claims of subs the app no longer has as stateful: kept, never deleted by a deploy.
    pub kept_claims: Vec<Claim>,
    pub revision: Option<u64>,
    /// The `before` jobs, and how each ended.
    pub jobs: Vec<JobRun>,
}

impl DeployReport {
    /// How many objects an apply created, changed, or left as they were.
    pub fn count(&self, outcome: Outcome) -> usize {
        self.applied.iter().filter(|a| a.outcome == outcome).count()
    }
}
