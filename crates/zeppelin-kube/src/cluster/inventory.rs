//! The objects of an app that are in the cluster now: every kind Zeppelin renders, listed
//! by the ownership labels in the app's namespace. A deploy compares it with what it
//! applies (to say what changed) and prunes what the app no longer has.
//!
//! An object's content leaves out what the server maintains and hides Secret values
//! behind a digest, so comparing or printing it (`zeppelin diff`) never shows them.

use std::collections::BTreeMap;

use futures::future::try_join_all;
use kube::api::{Api, DynamicObject, ListParams};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::cluster::connect::Cluster;
use crate::cluster::error::{ClusterError, api_code, is_not_found, request};
use crate::render::hash::hex;
use crate::render::labels::JOB_INPUTS;
use crate::render::manifest::{KINDS, resource};

/// One listed object: its resource version and its content without what the server
/// maintains on its own (status, managed fields…).
#[derive(Debug, Clone)]
pub struct Listed {
    pub resource_version: String,
    pub content: Value,
}

/// `(kind, name)` → what is in the cluster, of the objects carrying the app's ownership
/// labels.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    pub objects: BTreeMap<(String, String), Listed>,
}

impl Inventory {
    /// Lists every kind at once. The Namespace is listed too, cluster-wide, by the same
    /// labels; a namespace that does not exist yet simply has nothing in it.
    pub async fn list(
        cluster: &Cluster,
        namespace: &str,
        selector: &str,
    ) -> Result<Self, ClusterError> {
        let lists = KINDS.iter().map(|(kind, _, _, _, namespaced)| async move {
            let ar = resource(kind).expect("every listed kind has a resource");
            let api: Api<DynamicObject> = if *namespaced {
                Api::namespaced_with(cluster.client.clone(), namespace, &ar)
            } else {
                Api::all_with(cluster.client.clone(), &ar)
            };
            let list = match api.list(&ListParams::default().labels(selector)).await {
                Ok(list) => list.items,
                // An API the cluster does not serve holds nothing of the app's; a user
                // allowed only into the app's namespace cannot list Namespaces, and a
                // Namespace it cannot see is one it would not manage anyway.
                Err(error)
                    if is_not_found(&error) || (api_code(&error) == Some(403) && !*namespaced) =>
                {
                    Vec::new()
                }
                Err(source) => {
                    return Err(request(format!(
                        "list the {}s of the app in namespace {namespace}",
                        ar.kind
                    ))(source));
                }
            };
            Ok::<_, ClusterError>(
                list.into_iter()
                    .map(|o| {
                        let key = (
                            (*kind).to_owned(),
                            o.metadata.name.clone().unwrap_or_default(),
                        );
                        let listed = Listed {
                            resource_version: o
                                .metadata
                                .resource_version
                                .clone()
                                .unwrap_or_default(),
                            content: content(serde_json::to_value(o).expect("objects serialize")),
                        };
                        (key, listed)
                    })
                    .collect::<Vec<_>>(),
            )
        });
        let objects = try_join_all(lists).await?.into_iter().flatten().collect();
        Ok(Self { objects })
    }
}

impl Inventory {
    /// The objects a deploy may prune when the app no longer has them: all but the
    /// Namespace (left to `delete`) and the Jobs that are not a `before` job's — a
    /// CronJob's runs (its history limits keep those) and `run-job`'s.
    pub(crate) fn prunable(&self) -> impl Iterator<Item = (&str, &str)> {
        self.objects
            .iter()
            .filter(|((kind, _), listed)| {
                kind != "Namespace"
                    && (kind != "Job"
                        || listed.content["metadata"]["annotations"][JOB_INPUTS].is_string())
            })
            .map(|((kind, name), _)| (kind.as_str(), name.as_str()))
    }
}

/// An object's content as the app sets it: without status, server-maintained metadata, or
/// `apiVersion` and `kind` (which list items may leave out).
pub(crate) fn content(object: Value) -> Value {
    let mut object = clean(object);
    if let Some(map) = object.as_object_mut() {
        map.remove("apiVersion");
        map.remove("kind");
    }
    object
}

/// Removes what the server maintains on its own, and hides Secret values.
pub(crate) fn clean(mut object: Value) -> Value {
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        for key in [
            "managedFields",
            "resourceVersion",
            "generation",
            "uid",
            "creationTimestamp",
        ] {
            meta.remove(key);
        }
        if let Some(annotations) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            annotations.remove("deployment.kubernetes.io/revision");
            if annotations.is_empty() {
                meta.remove("annotations");
            }
        }
    }
    if let Some(map) = object.as_object_mut() {
        map.remove("status");
    }
    if object["kind"] == "Secret"
        && let Some(data) = object.get_mut("data").and_then(Value::as_object_mut)
    {
        for value in data.values_mut() {
            let digest = hex(&Sha256::digest(
                value.as_str().unwrap_or_default().as_bytes(),
            ));
            *value = Value::String(format!("(hidden, sha256 {})", &digest[..12]));
        }
    }
    object
}
