//! Cluster work: everything that talks to an API server, from connecting to deploying,
//! waiting, pruning, rolling back and deleting.
//!
//! These modules take what `crate::render` made (a [`Manifest`](crate::Manifest)) and the
//! [`Target`](target::Target) app; rendering never reaches back in here.

pub mod apply;
mod before_jobs;
mod claim;
pub mod claims;
pub(crate) mod connect;
pub mod deploy;
mod diagnosis;
pub mod diff;
pub(crate) mod error;
mod fixed;
mod gone;
pub mod immutable;
pub(crate) mod inventory;
mod job_runs;
mod job_status;
pub mod job_wait;
mod log_follow;
pub mod pod_logs;
mod pods;
pub mod prune;
pub mod revision;
pub mod rollout;
pub mod run_job;
pub mod scale;
pub mod status;
mod target;
pub mod teardown;
mod workload;
