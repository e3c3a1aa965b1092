//! Server-side apply of a [`Manifest`]: field manager `zeppelin`, one stage after the other,
//! the objects of a stage in parallel. Stops at the first stage with a failure, after every
//! object of that stage has been tried, and names what was applied.

use futures::future::join_all;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::Value;

use crate::cluster::connect::Cluster;
use crate::cluster::error::{ApiCause, ClusterError, FieldConflict};
use crate::cluster::inventory::{Inventory, content};
use crate::render::manifest::{Item, Manifest};

/// The field manager every Zeppelin write uses.
pub const FIELD_MANAGER: &str = "zeppelin";

/// How to apply.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApplyOptions {
    /// Take over fields another manager owns (`--force-conflicts`).
    pub force_conflicts: bool,
    /// A server-side dry run: validated and defaulted by the server, stored nowhere.
    pub dry_run: bool,
}

/// What an apply did to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Configured,
    Unchanged,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Configured => "configured",
            Self::Unchanged => "unchanged",
        }
    }
}

/// One applied object.
#[derive(Debug, Clone)]
pub struct Applied {
    /// `kind/name`.
    pub object: String,
    pub kind: String,
    pub outcome: Outcome,
    /// The object as the server returned it (defaulted; not stored on a dry run).
    pub live: Value,
}

/// Applies `manifest`, comparing resource versions with `before` to say what changed.
pub async fn apply(
    cluster: &Cluster,
    manifest: &Manifest,
    before: &Inventory,
    options: ApplyOptions,
) -> Result<Vec<Applied>, ClusterError> {
    let mut params = PatchParams::apply(FIELD_MANAGER);
    params.force = options.force_conflicts;
    params.dry_run = options.dry_run;
    let mut applied: Vec<Applied> = Vec::with_capacity(manifest.items.len());
    for stage in manifest.stages() {
        // A dry run cannot create the namespace, so the server would refuse every object
        // in it; those objects are reported as they would be created, unsent.
        let new_namespaces: Vec<String> = applied
            .iter()
            .filter(|a| options.dry_run && a.kind == "Namespace" && a.outcome == Outcome::Created)
            .filter_map(|a| a.live["metadata"]["name"].as_str().map(str::to_owned))
            .collect();
        let results = join_all(stage.iter().map(|item| {
            let unsent = item.object["metadata"]["namespace"]
                .as_str()
                .is_some_and(|ns| new_namespaces.iter().any(|n| n == ns));
            let params = &params;
            async move {
                if unsent {
                    Ok(item.object.clone())
                } else {
                    apply_one(cluster, item, params).await
                }
            }
        }))
        .await;
        let mut failure = None;
        for (item, result) in stage.iter().zip(results) {
            match result {
                Ok(live) => {
                    let key = (item.kind().to_owned(), item.name().to_owned());
                    let outcome = match before.objects.get(&key) {
                        None => Outcome::Created,
                        // The same version means no write (a dry run never writes, so only
                        // content counts there); the same content means only the status,
                        // which controllers keep writing, moved on meanwhile.
                        Some(old)
                            if (!options.dry_run
                                && live["metadata"]["resourceVersion"].as_str()
                                    == Some(old.resource_version.as_str()))
                                || content(live.clone()) == old.content =>
                        {
                            Outcome::Unchanged
                        }
                        Some(_) => Outcome::Configured,
                    };
                    applied.push(Applied {
                        object: item.display_name(),
                        kind: item.kind().to_owned(),
                        outcome,
                        live,
                    });
                }
                Err(err) => {
                    failure.get_or_insert(err);
                }
            }
        }
        if let Some(err) = failure {
            return Err(err);
        }
    }
    Ok(applied)
}

/// Applies one object; returns it as the server stored it (or would have, on a dry run).
async fn apply_one(
    cluster: &Cluster,
    item: &Item,
    params: &PatchParams,
) -> Result<Value, ClusterError> {
    let api: Api<DynamicObject> = match item.object["metadata"]["namespace"].as_str() {
        Some(namespace) => Api::namespaced_with(cluster.client.clone(), namespace, &item.resource),
        None => Api::all_with(cluster.client.clone(), &item.resource),
    };
    match api
        .patch(item.name(), params, &Patch::Apply(&item.object))
        .await
    {
        Ok(applied) => Ok(serde_json::to_value(applied).expect("objects serialize")),
        Err(kube::Error::Api(status)) if status.code == 409 && !params.force => {
            let conflicts = conflicts(&status);
            if conflicts.is_empty() {
                Err(ClusterError::Apply {
                    object: item.display_name(),
                    source: ApiCause(kube::Error::Api(status)),
                })
            } else {
                Err(ClusterError::Conflict {
                    object: item.display_name(),
                    conflicts,
                })
            }
        }
        Err(source) => Err(ClusterError::Apply {
            object: item.display_name(),
            source: ApiCause(source),
        }),
    }
}

/// The fields and managers of an apply conflict, from the status' causes
/// (`conflict with "kubectl-edit" using apps/v1`, field `.spec.replicas`).
fn conflicts(status: &kube::core::Status) -> Vec<FieldConflict> {
    status
        .details
        .iter()
        .flat_map(|details| &details.causes)
        .filter(|cause| cause.reason == "FieldManagerConflict")
        .map(|cause| FieldConflict {
            field: cause.field.clone(),
            manager: cause
                .message
                .split('"')
                .nth(1)
                .unwrap_or(&cause.message)
                .to_owned(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflicts_name_the_field_and_the_manager() {
        let status: kube::core::Status = serde_json::from_value(serde_json::json!({
            "code": 409, "reason": "Conflict", "message": "Apply failed with 1 conflict",
            "details": {"causes": [{"reason": "FieldManagerConflict",
                "message": "conflict with \"kubectl-edit\" using apps/v1",
                "field": ".spec.replicas"}]}
        }))
        .unwrap();
        assert_eq!(
            conflicts(&status),
            vec![FieldConflict {
                field: ".spec.replicas".to_owned(),
                manager: "kubectl-edit".to_owned(),
            }]
        );
    }
}
