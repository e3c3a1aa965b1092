//! Zeppelin's local runtime: runs an app's subs on this machine as supervised processes,
//! with a TCP load balancer per sub ([`balancer`]) and an HTTP gateway for the app's routes
//! ([`gateway`]), so an app behaves here as it does behind a Kubernetes Service and Ingress.
//!
//! A [`Supervisor`] starts replicas in dependency order with health gating, captures their
//! output into `log/<sub>.log`, restarts them by policy with backoff and stops them without
//! leaving orphans. [`serve`] runs one for an app in this process (foreground, or as the
//! detached background supervisor), answering `ps`, `stop`, `restart` and `scale` on a Unix
//! socket; [`control`] is the client side of that socket and [`logs`] reads the log files.
//!
//! Inside, `supervisor` owns the app's state (`supervisor/state.rs`, one lock) and changes it
//! one operation at a time: `reconcile.rs` (start, stop, restart, scale, apply), `roll.rs`
//! (the rolling replace), `traffic.rs` (the balancers and gateway replicas join and leave),
//! `status.rs` (what `ps` shows). Each replica is one task (`replica.rs`) that gets what it
//! needs from `runtime.rs` and reports readiness to its sub's ready set
//! (`balancer/ready.rs`). A stateful sub's replicas keep their data in the folders of
//! [`volumes`]. Jobs ([`job`]) run as processes the same way, once each: `before` jobs
//! inside an operation, scheduled ones by `supervisor/schedule.rs`, others on demand.
//! Warnings are `tracing` events; the binary installs the subscriber.

mod accept_errors;
mod backoff;
pub mod balancer;
mod capture;
pub mod control;
mod dirs;
mod environment;
mod error;
pub mod gateway;
mod groups;
mod instance;
pub mod job;
pub mod launch;
pub mod logs;
pub mod one_off;
pub mod paths;
mod port_holder;
mod probe;
mod reaper;
mod replica;
mod runtime;
mod serve;
mod signals;
mod supervisor;
mod sweep;
pub mod volumes;

pub use capture::{Echo, LogLine, Stream};
pub use error::Error;
pub use instance::{Stopped, hold_stopped, is_running, reap_stale};
pub use paths::AppPaths;
pub use serve::{Outcome, detach, serve};
pub use supervisor::{
    Applied, DEFAULT_START_TIMEOUT, FailedJob, JobsRan, Options, Rolled, Supervisor,
};
