//! Jobs in the local runtime: work that runs to completion (a `before` job gating subs, a
//! scheduled one, or one run on demand with `zeppelin run-job`).
//!
//! A run is a process started as a replica's is, with the environment a replica gets
//! ([`process`]); what is kept of it between runs, and the lock that keeps a job from
//! running twice at once, is in [`record`]; whether a `before` job must run again is a
//! hash of its inputs ([`inputs`]); scheduled times come from the scheduler's [`clock`].
//! The supervisor runs jobs (`supervisor/jobs.rs`); [`run_alone`] runs one when no
//! supervisor runs the app, and what such a run left when it was killed is found again by
//! [`leftovers`].

mod alone;
pub mod clock;
pub(crate) mod inputs;
pub(crate) mod leftovers;
pub(crate) mod process;
pub(crate) mod record;

pub use alone::run_alone;

/// The last run of `job` kept in `.zeppelin/jobs/` (none when it never ran here): a failed
/// start shows the log lines of that run only.
pub fn last_run(paths: &crate::AppPaths, job: &str) -> Option<zeppelin_core::status::JobRun> {
    record::Record::load(paths, job).last_run
}
pub use clock::Clock;
pub use leftovers::{stop_alone_runs, sweep_idle};
pub use process::{JobEvent, OnJobEvent};
