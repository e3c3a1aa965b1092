//! Revisions: every deploy records what it applied in the cluster, as a Secret of the app's
//! own (`<app>-rev-<N>`; a Secret because the objects include the app's secret values), so
//! `zeppelin history` can list them and `zeppelin rollback` re-apply one from any machine.
//!
//! Revision Secrets carry `zeppelin.dev/revision-of`, not the ownership labels, so a prune
//! never removes them; only `zeppelin delete` does. The oldest beyond the history limit are
//! deleted whenever one is recorded.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::cluster::apply::FIELD_MANAGER;
use crate::cluster::connect::Cluster;
use crate::cluster::error::{ClusterError, is_not_found, request};
use crate::render::hash::hex;
use crate::render::manifest::Manifest;

/// Label naming the app a revision Secret belongs to.
pub const REVISION_OF: &str = "zeppelin.dev/revision-of";
/// Label holding the revision number.
pub const REVISION: &str = "zeppelin.dev/revision";
/// Label holding how the revision's rollout ended (see [`RevisionStatus`]).
pub const STATUS: &str = "zeppelin.dev/status";

/// How a revision's rollout ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevisionStatus {
    /// Applied and rolled out.
    Deployed,
    /// Applied with `--no-wait`: whether it rolled out was not watched.
    Applied,
    /// Applied, but the rollout failed.
    Failed,
    /// Rolled out, then replaced by a later revision.
    Superseded,
}

impl RevisionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deployed => "deployed",
            Self::Applied => "applied",
            Self::Failed => "failed",
            Self::Superseded => "superseded",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [
            Self::Deployed,
            Self::Applied,
            Self::Failed,
            Self::Superseded,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// One recorded deploy.
#[derive(Debug, Clone)]
pub struct Revision {
    pub number: u64,
    pub status: RevisionStatus,
    /// SHA-256 of the app file the revision was rendered from.
    pub app_hash: String,
    /// SHA-256 of the applied objects: equal hashes mean nothing changed.
    pub objects_hash: String,
    /// When it was recorded (RFC 3339).
    pub created: Option<String>,
    /// What `rollback` to this revision does, in a word (`deploy`, `rollback to 3`).
    pub cause: String,
    pub objects: Vec<Value>,
}

impl Revision {
    /// The applied objects, ready to apply again.
    pub fn manifest(&self, app: &str) -> Result<Manifest, ClusterError> {
        Manifest::from_values(self.objects.clone()).map_err(|reason| ClusterError::BadRevision {
            name: secret_name(app, self.number),
            reason,
        })
    }
}

/// The hash a revision records for `manifest`.
pub fn objects_hash(manifest: &Manifest) -> String {
    let text = serde_json::to_string(&manifest.to_values()).expect("JSON values serialize");
    hex(&Sha256::digest(text.as_bytes()))
}

/// The hash a revision records for the app file's text.
pub fn app_hash(text: &[u8]) -> String {
    hex(&Sha256::digest(text))
}

fn secret_name(app: &str, number: u64) -> String {
    format!("{app}-rev-{number}")
}

/// Every kept revision of `app`, oldest first.
pub async fn list(
    cluster: &Cluster,
    namespace: &str,
    app: &str,
) -> Result<Vec<Revision>, ClusterError> {
    let api: Api<Secret> = Api::namespaced(cluster.client.clone(), namespace);
    let list = match api
        .list(&ListParams::default().labels(&format!("{REVISION_OF}={app}")))
        .await
    {
        Ok(list) => list,
        Err(error) if is_not_found(&error) => return Ok(Vec::new()),
        Err(source) => {
            return Err(request(format!(
                "list the revisions of {app} in namespace {namespace}"
            ))(source));
        }
    };
    let mut revisions = list
        .items
        .into_iter()
        .map(decode)
        .collect::<Result<Vec<_>, _>>()?;
    revisions.sort_by_key(|r| r.number);
    Ok(revisions)
}

fn decode(secret: Secret) -> Result<Revision, ClusterError> {
    let name = secret.metadata.name.clone().unwrap_or_default();
    let bad = |reason: &str| ClusterError::BadRevision {
        name: name.clone(),
        reason: reason.to_owned(),
    };
    let labels = secret.metadata.labels.clone().unwrap_or_default();
    let number = labels
        .get(REVISION)
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| bad("its revision label is missing"))?;
    let status = labels
        .get(STATUS)
        .and_then(|s| RevisionStatus::parse(s))
        .ok_or_else(|| bad("its status label is missing"))?;
    let data = secret.data.unwrap_or_default();
    let text = |key: &str| {
        data.get(key)
            .map(|b| String::from_utf8_lossy(&b.0).into_owned())
            .unwrap_or_default()
    };
    let objects: Vec<Value> =
        serde_json::from_str(&text("objects")).map_err(|_| bad("its objects are not JSON"))?;
    Ok(Revision {
        number,
        status,
        app_hash: text("app-hash"),
        objects_hash: text("objects-hash"),
        created: secret.metadata.creation_timestamp.map(|t| t.0.to_string()),
        cause: text("cause"),
        objects,
    })
}

/// What a new revision holds.
#[derive(Debug, Clone)]
pub struct NewRevision<'a> {
    pub manifest: &'a Manifest,
    /// [`objects_hash`] of `manifest`.
    pub objects_hash: String,
    pub app_hash: String,
    pub status: RevisionStatus,
    pub cause: String,
}

/// Records a revision numbered after the highest of `existing` (the kept ones, as [`list`]
/// returns them) and deletes the oldest beyond `keep`, also from `existing`. Returns its
/// number.
pub async fn record(
    cluster: &Cluster,
    namespace: &str,
    app: &str,
    new: &NewRevision<'_>,
    keep: usize,
    existing: &mut Vec<Revision>,
) -> Result<u64, ClusterError> {
    let number = existing.last().map_or(1, |r| r.number + 1);
    let api: Api<Secret> = Api::namespaced(cluster.client.clone(), namespace);
    let data = BTreeMap::from([
        (
            "objects".to_owned(),
            ByteString(serde_json::to_vec(&new.manifest.to_values()).expect("JSON serializes")),
        ),
        (
            "objects-hash".to_owned(),
            ByteString(new.objects_hash.clone().into_bytes()),
        ),
        (
            "app-hash".to_owned(),
            ByteString(new.app_hash.clone().into_bytes()),
        ),
        (
            "cause".to_owned(),
            ByteString(new.cause.clone().into_bytes()),
        ),
    ]);
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(secret_name(app, number)),
            namespace: Some(namespace.to_owned()),
            labels: Some(BTreeMap::from([
                (REVISION_OF.to_owned(), app.to_owned()),
                (REVISION.to_owned(), number.to_string()),
                (STATUS.to_owned(), new.status.as_str().to_owned()),
            ])),
            ..ObjectMeta::default()
        },
        type_: Some("zeppelin.dev/revision".to_owned()),
        data: Some(data),
        ..Secret::default()
    };
    let params = PostParams {
        field_manager: Some(FIELD_MANAGER.to_owned()),
        ..PostParams::default()
    };
    api.create(&params, &secret)
        .await
        .map_err(request(format!("record revision {number} of {app}")))?;
    let excess = (existing.len() + 1).saturating_sub(keep.max(1));
    for old in existing.drain(..excess.min(existing.len())) {
        match api
            .delete(&secret_name(app, old.number), &DeleteParams::default())
            .await
        {
            Ok(_) => {}
            Err(error) if is_not_found(&error) => {}
            Err(source) => {
                return Err(request(format!(
                    "delete revision {} of {app}, beyond the history kept",
                    old.number
                ))(source));
            }
        }
    }
    Ok(number)
}

/// Changes how a revision's rollout is recorded to have ended.
pub async fn set_status(
    cluster: &Cluster,
    namespace: &str,
    app: &str,
    number: u64,
    status: RevisionStatus,
) -> Result<(), ClusterError> {
    let api: Api<Secret> = Api::namespaced(cluster.client.clone(), namespace);
    let patch = json!({ "metadata": { "labels": { STATUS: status.as_str() } } });
    api.patch(
        &secret_name(app, number),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await
    .map_err(request(format!(
        "mark revision {number} of {app} {}",
        status.as_str()
    )))?;
    Ok(())
}

/// Deletes every revision of `app`.
pub async fn delete_all(cluster: &Cluster, namespace: &str, app: &str) -> Result<(), ClusterError> {
    let api: Api<Secret> = Api::namespaced(cluster.client.clone(), namespace);
    for revision in list(cluster, namespace, app).await? {
        match api
            .delete(&secret_name(app, revision.number), &DeleteParams::default())
            .await
        {
            Ok(_) => {}
            Err(error) if is_not_found(&error) => {}
            Err(source) => {
                return Err(request(format!(
                    "delete revision {} of {app}",
                    revision.number
                ))(source));
            }
        }
    }
    Ok(())
}
