//! Rendering: an [`App`] in, typed Kubernetes objects out, with no cluster in sight.
//!
//! [`render()`] is the entry point; each module below builds one kind of object (or one part
//! of one) from the app model. Nothing here talks to an API server, so every rule can be
//! tested without one; `crate::cluster` takes the result from here.

mod app_wide;
mod availability;
pub(crate) mod error;
pub(crate) mod hash;
mod ingress;
mod job;
pub mod labels;
pub(crate) mod manifest;
mod network;
pub(crate) mod object;
pub(crate) mod options;
pub mod output;
mod pod;
mod probes;
pub mod secrets;
mod service;
mod stateful;
pub(crate) mod warning;
mod workload;
pub(crate) mod yaml;

use zeppelin_core::App;

use crate::render::error::RenderError;
use crate::render::object::{Object, Rendered};
use crate::render::options::RenderOptions;
use crate::render::warning::Warning;

/// Renders `app` into Kubernetes objects.
///
/// A sub with volumes becomes a StatefulSet with its headless Service, any other sub a
/// Deployment; a `before` job a Job named by its inputs' hash, any other job a CronJob.
/// Fails when the app cannot run on a cluster as written: a sub or job without an `image`,
/// a volume without a `size`, or a name Kubernetes would refuse.
pub fn render(app: &App, options: &RenderOptions) -> Result<Rendered, RenderError> {
    for sub in app.subs.values() {
        if sub.image.is_none() {
            return Err(RenderError::MissingImage {
                sub: sub.name.clone(),
            });
        }
    }
    for job in app.jobs.values() {
        if job.image.is_none() {
            return Err(RenderError::JobMissingImage {
                job: job.name.clone(),
            });
        }
    }
    let mut warnings = Vec::new();
    let mut objects = Vec::new();
    objects.extend(app_wide::objects(app, options));
    for sub in app.subs.values() {
        if sub.is_stateful() {
            objects.push(Object::StatefulSet(Box::new(stateful::stateful_set(
                app,
                sub,
                options,
                &mut warnings,
            )?)));
            objects.push(Object::Service(service::headless(app, sub)));
        } else {
            objects.push(Object::Deployment(Box::new(workload::deployment(
                app,
                sub,
                options,
                &mut warnings,
            ))));
            // `zeppelin check` refuses `autoscale` on a stateful sub: its replicas are
            // identities with data, not capacity.
            objects.extend(
                availability::hpa(app, sub, &mut warnings).map(Object::HorizontalPodAutoscaler),
            );
        }
        objects.extend(service::service(app, sub).map(Object::Service));
        objects.extend(availability::pdb(app, sub).map(Object::PodDisruptionBudget));
    }
    for job in app.jobs.values() {
        objects.push(job::object(app, job, options, &mut warnings));
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
