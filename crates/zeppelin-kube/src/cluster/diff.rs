//! `zeppelin diff`: what a deploy would change, object by object, computed by the server
//! itself (a server-side dry-run apply) and compared with the live objects.
//!
//! A `before` job's Job that ran to success and was since deleted (its time to live
//! passed) is unchanged, not a create: a deploy does not run it again.
//!
//! Secret values never appear: each is replaced by a short digest, so a changed value shows
//! as a changed line without being printed.

use crate::cluster::apply::{self, Applied, ApplyOptions, Outcome};
use crate::cluster::before_jobs::is_before_job;
use crate::cluster::connect::Cluster;
use crate::cluster::error::ClusterError;
use crate::cluster::inventory::{Inventory, clean, content};
use crate::cluster::revision;
use crate::cluster::target::Target;
use crate::render::labels::owner_selector;
use crate::render::manifest::Manifest;
use crate::render::yaml;

/// How one object would change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Not in the cluster yet; the YAML it would be created with.
    Create(String),
    /// A unified diff of the live object against the applied one.
    Update(String),
    Unchanged,
    /// In the cluster with the app's labels, but no longer rendered: a deploy prunes it.
    Prune,
}

/// One object's change.
#[derive(Debug, Clone)]
pub struct ObjectDiff {
    /// `kind/name`.
    pub object: String,
    pub change: Change,
}

/// Compares `manifest` with the cluster: a server-side dry-run apply (as `deploy
/// --dry-run` does) compared with the app's objects as listed.
pub async fn diff(
    cluster: &Cluster,
    target: &Target,
    manifest: &Manifest,
) -> Result<Vec<ObjectDiff>, ClusterError> {
    cluster.check_apis(manifest).await?;
    let before = Inventory::list(cluster, &target.namespace, &owner_selector(&target.app)).await?;
    let options = ApplyOptions {
        force_conflicts: false,
        dry_run: true,
    };
    let applied = apply::apply(cluster, manifest, &before, options).await?;
    let revisions = revision::list(cluster, &target.namespace, &target.app).await?;
    let mut diffs: Vec<ObjectDiff> = manifest
        .items
        .iter()
        .zip(manifest_order(manifest, &applied))
        .map(|(item, applied)| {
            let ran = is_before_job(item) && revision::job_succeeded(&revisions, item.name());
            let change = match applied.outcome {
                Outcome::Unchanged => Change::Unchanged,
                Outcome::Created if ran => Change::Unchanged,
                // The object as rendered is what would be created (a dry run in a namespace
                // that does not exist yet is not sent at all).
                Outcome::Created => Change::Create(yaml::document(&clean(item.object.clone()))),
                Outcome::Configured => {
                    let key = (item.kind().to_owned(), item.name().to_owned());
                    let old = before.objects.get(&key).map(|o| yaml::document(&o.content));
                    let new = yaml::document(&content(applied.live.clone()));
                    Change::Update(
                        similar::TextDiff::from_lines(&old.unwrap_or_default(), &new)
                            .unified_diff()
                            .context_radius(3)
                            .header("live", "deploy")
                            .to_string(),
                    )
                }
            };
            ObjectDiff {
                object: item.display_name(),
                change,
            }
        })
        .collect();
    for (kind, name) in before.prunable() {
        if !manifest.contains(kind, name) {
            diffs.push(ObjectDiff {
                object: format!("{kind}/{name}"),
                change: Change::Prune,
            });
        }
    }
    Ok(diffs)
}

/// `applied` (in the order of the apply's stages) in the order of `manifest`'s items.
fn manifest_order<'a>(manifest: &Manifest, applied: &'a [Applied]) -> Vec<&'a Applied> {
    manifest
        .items
        .iter()
        .map(|item| {
            let name = item.display_name();
            applied
                .iter()
                .find(|a| a.object == name)
                .expect("the apply returns every object of the manifest")
        })
        .collect()
}
