//! Zeppelin on Kubernetes: turns an [`App`] into the typed objects `zeppelin deploy` applies.
//!
//! [`render`] is pure: the same app and options give the same objects, in the same order,
//! every time. Objects are built with `k8s-openapi` types, never from text templates, and
//! come out grouped in the [`Stage`]s a deploy applies them in, each carrying the ownership
//! labels ([`labels::owner_selector`]) a deploy prunes by.
//!
//! Everything is hardened and highly available by default (Pod Security Standards
//! `restricted`, rolling updates without downtime, disruption budgets, spread over nodes and
//! zones, default-deny network policies); the app file can loosen a rule only explicitly,
//! and every loosening comes back as a [`Warning`].

// Kubernetes kinds (Deployment, ConfigMap…) are the words of this crate's prose, not code.
#![allow(clippy::doc_markdown)]

mod app_wide;
pub mod apply;
mod availability;
mod cluster;
mod cluster_error;
pub mod deploy;
mod diagnosis;
pub mod diff;
mod error;
mod hash;
mod ingress;
mod inventory;
pub mod labels;
mod manifest;
mod network;
mod object;
pub mod output;
mod pod;
pub mod pod_logs;
mod probes;
pub mod prune;
pub mod revision;
pub mod rollout;
pub mod scale;
pub mod secrets;
mod service;
pub mod status;
pub mod teardown;
mod warning;
mod workload;
mod yaml;

use std::collections::BTreeMap;

use zeppelin_core::App;

pub use cluster::{Cluster, ConnectOptions};
pub use cluster_error::{ApiCause, ClusterError, FieldConflict};
pub use error::RenderError;
pub use inventory::Inventory;
pub use manifest::{Item, Manifest};
pub use object::{Object, Stage};
pub use secrets::{SecretError, SecretValues};
pub use warning::Warning;

/// Choices `render` cannot read from the app file.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// The resolved secret values. They are hashed into each pod template's config hash, so
    /// a changed value rolls the pods; without them the secrets' sources stand in, and the
    /// hash differs from the one a deploy (which has the values) writes.
    pub secrets: Option<SecretValues>,
    /// Render the Secret object from `secrets`; off for output that may be shared or
    /// committed (the Secret must then exist already, or be applied by `zeppelin deploy`).
    pub include_secret: bool,
}

/// The objects of one app, in apply order, and what the app file loosened.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// Every object, sorted by stage, then kind, then name.
    pub objects: Vec<Object>,
    /// Rules the app file relaxed, and defaults worth knowing; the CLI prints them on stderr.
    pub warnings: Vec<Warning>,
    /// Whether the app has secrets but the Secret object was not rendered.
    pub secrets_left_out: bool,
}

impl Rendered {
    /// The objects grouped by stage, in apply order: a deploy applies one stage after the
    /// other, and the objects within one stage in any order.
    pub fn stages(&self) -> Vec<(Stage, Vec<&Object>)> {
        let mut stages: BTreeMap<Stage, Vec<&Object>> = BTreeMap::new();
        for object in &self.objects {
            stages.entry(object.stage()).or_default().push(object);
        }
        stages.into_iter().collect()
    }
}

/// Renders `app` into Kubernetes objects.
///
/// Fails when the app cannot run on a cluster as written: a sub without an `image`, or a
/// name Kubernetes would refuse.
pub fn render(app: &App, options: &RenderOptions) -> Result<Rendered, RenderError> {
    for sub in app.subs.values() {
        if sub.image.is_none() {
            return Err(RenderError::MissingImage {
                sub: sub.name.clone(),
            });
        }
    }
    let mut warnings = Vec::new();
    let mut objects = Vec::new();
    objects.extend(app_wide::objects(app, options));
    for sub in app.subs.values() {
        objects.push(Object::Deployment(Box::new(workload::deployment(
            app,
            sub,
            options,
            &mut warnings,
        ))));
        objects.extend(service::service(app, sub).map(Object::Service));
        objects.extend(availability::pdb(app, sub).map(Object::PodDisruptionBudget));
        objects.extend(
            availability::hpa(app, sub, &mut warnings).map(Object::HorizontalPodAutoscaler),
        );
    }
    let exposed = app.exposed_secrets();
    if !exposed.is_empty() {
        warnings.push(Warning {
            sub: None,
            message: pod::exposed_reason(&exposed),
        });
    }
    objects.extend(
        network::policies(app)
            .into_iter()
            .map(Object::NetworkPolicy),
    );
    objects.extend(ingress::ingress(app).map(Object::Ingress));
    if !app.routes.is_empty() && app.kubernetes.tls.is_none() {
        warnings.push(Warning {
            sub: None,
            message: "routes are served over plain HTTP; add `[kubernetes] tls = { cluster_issuer = \"...\" }` or `tls = { secret = \"...\" }`".to_owned(),
        });
    }
    objects.sort_by(|a, b| (a.stage(), a.kind(), a.name()).cmp(&(b.stage(), b.kind(), b.name())));
    for object in &objects {
        object.check_names()?;
    }
    if let Some(pair) = objects
        .windows(2)
        .find(|pair| (pair[0].kind(), pair[0].name()) == (pair[1].kind(), pair[1].name()))
    {
        return Err(RenderError::NameClash {
            kind: pair[0].kind(),
            name: pair[0].name().to_owned(),
        });
    }
    let secret_rendered = objects.iter().any(|o| matches!(o, Object::Secret(_)));
    Ok(Rendered {
        objects,
        warnings,
        secrets_left_out: !app.secrets.is_empty() && !secret_rendered,
    })
}
