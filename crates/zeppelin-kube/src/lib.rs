//! Zeppelin on Kubernetes: turns an [`App`](zeppelin_core::App) into the typed objects
//! `zeppelin deploy` applies, and applies, waits on, prunes, reports and removes them.
//!
//! The crate has two halves, and the arrow between them points one way:
//!
//! - `render/` is pure: [`render()`] gives the same objects, in the same order, for the
//!   same app and options, every time. Objects are built with `k8s-openapi` types, never
//!   from text templates, and come out grouped in the [`Stage`]s a deploy applies them in,
//!   each carrying the ownership labels ([`labels::owner_selector`]) a deploy prunes by.
//!   A [`Manifest`] is what a deploy applies, from a fresh render or a recorded revision.
//! - `cluster/` talks to an API server: it [connects](Cluster::connect), [`apply`]s a
//!   manifest stage by stage, waits for the [`rollout`], [`prune`]s, records
//!   [`revision`]s, runs `before` jobs ([`job_wait`]), and serves [`deploy`], [`diff`],
//!   [`status`], [`pod_logs`], [`scale`], [`run_job`] and [`teardown`]. It uses `render`;
//!   `render` never uses it.
//!
//! Everything is hardened and highly available by default (Pod Security Standards
//! `restricted`, rolling updates without downtime, disruption budgets, spread over nodes and
//! zones, default-deny network policies); the app file can loosen a rule only explicitly,
//! and every loosening comes back as a [`Warning`].

// Kubernetes kinds (Deployment, ConfigMap…) are the words of this crate's prose, not code.
#![allow(clippy::doc_markdown)]

mod cluster;
mod render;

pub use cluster::connect::{Cluster, ConnectOptions};
pub use cluster::error::{ApiCause, ClusterError, FieldConflict};
pub use cluster::inventory::Inventory;
pub use cluster::{
    apply, claims, deploy, diff, immutable, job_wait, pod_logs, prune, revision, rollout, run_job,
    scale, status, teardown,
};
pub use render::error::RenderError;
pub use render::manifest::{Item, Manifest};
pub use render::object::{Object, Rendered, Stage};
pub use render::options::RenderOptions;
pub use render::render;
pub use render::secrets::{SecretError, SecretValues};
pub use render::warning::Warning;
pub use render::{labels, output, secrets};
