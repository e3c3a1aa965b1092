//! What a revision records of its `before` jobs: for each, the Job (named by the hash of its
//! inputs) and how its run ended. A later deploy reads them so that a job whose Job
//! completed is not run again after its Job was deleted (by its `ttlSecondsAfterFinished`,
//! or pruned), and `zeppelin history` shows them.

use serde::{Deserialize, Serialize};

/// The key of a revision Secret holding its job runs, as JSON.
pub(crate) const KEY: &str = "jobs";

/// How a `before` job's run ended in one deploy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum JobOutcome {
    /// It ran to `Complete`.
    Succeeded,
    /// It ran and failed (its reason is recorded).
    Failed,
    /// Not run: a Job with the same inputs had already completed.
    AlreadySucceeded,
    /// Applied with `--no-wait`: how it ended was not watched.
    NotWaited,
}

impl JobOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::AlreadySucceeded => "already succeeded",
            Self::NotWaited => "not waited for",
        }
    }

    /// Whether the Job's inputs are known to have run to success.
    pub fn succeeded(self) -> bool {
        matches!(self, Self::Succeeded | Self::AlreadySucceeded)
    }
}

/// One `before` job of a deploy and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRun {
    /// The job's name in the app file.
    pub job: String,
    /// Its Job, `<job>-<hash>`.
    pub object: String,
    pub outcome: JobOutcome,
    /// Why it failed (`BackoffLimitExceeded`, `DeadlineExceeded`), when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The job runs a revision Secret's value holds; none when it holds no (readable) list,
/// as revisions recorded before jobs do.
pub(crate) fn decode(bytes: Option<&[u8]>) -> Vec<JobRun> {
    bytes
        .and_then(|b| serde_json::from_slice(b).ok())
        .unwrap_or_default()
}

pub(crate) fn encode(runs: &[JobRun]) -> Vec<u8> {
    serde_json::to_vec(runs).expect("job runs serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_read_back_and_old_revisions_have_none() {
        let runs = vec![JobRun {
            job: "migrate".to_owned(),
            object: "migrate-0123456789".to_owned(),
            outcome: JobOutcome::Failed,
            reason: Some("BackoffLimitExceeded".to_owned()),
        }];
        let bytes = encode(&runs);
        assert!(String::from_utf8_lossy(&bytes).contains("\"failed\""));
        assert_eq!(decode(Some(&bytes)), runs);
        assert!(decode(None).is_empty());
        assert!(decode(Some(b"not json")).is_empty());
        assert!(JobOutcome::AlreadySucceeded.succeeded());
        assert!(!JobOutcome::NotWaited.succeeded());
    }
}
