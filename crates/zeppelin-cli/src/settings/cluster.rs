//! Settings of the commands that only talk to the Kubernetes cluster: `deploy`,
//! `rollback`, `history` and `delete`.

use std::time::Duration;

use crate::args::{DeleteArgs, DeployArgs, Format, HistoryArgs, RollbackArgs, WaitArgs};

/// How an apply waits for its rollout, shared by `deploy` and `rollback`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WaitSettings {
    /// How long the rollout may take; `None` with `--no-wait`.
    pub(crate) wait: Option<Duration>,
    /// Take over fields another field manager owns.
    pub(crate) force_conflicts: bool,
}

impl From<WaitArgs> for WaitSettings {
    fn from(args: WaitArgs) -> Self {
        Self {
            wait: (!args.no_wait).then_some(args.timeout),
            force_conflicts: args.force_conflicts,
        }
    }
}

/// `zeppelin deploy`.
#[derive(Debug)]
pub(crate) struct DeploySettings {
    pub(crate) wait: WaitSettings,
    /// A server-side dry run.
    pub(crate) dry_run: bool,
    /// Roll back when the rollout fails.
    pub(crate) atomic: bool,
    /// Delete the objects the app no longer has.
    pub(crate) prune: bool,
    /// How many revisions to keep.
    pub(crate) history: usize,
}

impl From<DeployArgs> for DeploySettings {
    fn from(args: DeployArgs) -> Self {
        Self {
            wait: args.wait.into(),
            dry_run: args.dry_run,
            atomic: args.atomic,
            prune: !args.no_prune,
            history: args.history,
        }
    }
}

/// `zeppelin rollback [REV]`.
#[derive(Debug)]
pub(crate) struct RollbackSettings {
    /// The revision to go back to; by default the last one that rolled out.
    pub(crate) revision: Option<u64>,
    pub(crate) wait: WaitSettings,
    /// How many revisions to keep.
    pub(crate) history: usize,
}

impl From<RollbackArgs> for RollbackSettings {
    fn from(args: RollbackArgs) -> Self {
        Self {
            revision: args.revision,
            wait: args.wait.into(),
            history: args.history,
        }
    }
}

/// `zeppelin history [--format]`.
#[derive(Debug)]
pub(crate) struct HistorySettings {
    pub(crate) format: Format,
}

impl From<HistoryArgs> for HistorySettings {
    fn from(args: HistoryArgs) -> Self {
        Self {
            format: args.format,
        }
    }
}

/// `zeppelin delete [--timeout] [--delete-data [--yes]]`.
#[derive(Debug)]
pub(crate) struct DeleteSettings {
    /// How long to wait for every object to be gone.
    pub(crate) timeout: Duration,
    /// Also delete the app's volume claims, and so its data.
    pub(crate) delete_data: bool,
    /// Delete the data without asking.
    pub(crate) yes: bool,
}

impl From<DeleteArgs> for DeleteSettings {
    fn from(args: DeleteArgs) -> Self {
        Self {
            timeout: args.timeout,
            delete_data: args.data.delete_data,
            yes: args.data.yes,
        }
    }
}
