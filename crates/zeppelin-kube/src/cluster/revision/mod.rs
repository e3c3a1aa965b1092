//! Revisions: every deploy records what it applied in the cluster, as a Secret of the app's
//! own (`<app>-rev-<N>`), so `zeppelin history` can list them and `zeppelin rollback`
//! re-apply one from any machine.
//!
//! A revision holds no secret values, only their hashes ([`sealed`]); its objects are
//! compressed, and split over `<app>-rev-<N>-<part>` Secrets when one is not enough
//! (`payload`). Revisions recorded before either still read back.
//!
//! A revision also records how its `before` jobs ended ([`job_runs`]), once they have.
//!
//! Revision Secrets carry `zeppelin.dev/revision-of` (their parts
//! `zeppelin.dev/revision-part-of`), not the ownership labels, so a prune never removes them;
//! only `zeppelin delete` does. The oldest beyond the history limit are deleted whenever one
//! is recorded.

pub mod job_runs;
mod payload;
pub mod sealed;

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
use job_runs::JobRun;
use sealed::{CurrentSecret, SecretDrift, SecretHashes};

/// Label naming the app a revision Secret belongs to.
pub const REVISION_OF: &str = "zeppelin.dev/revision-of";
/// Label naming the app whose revision a part Secret continues.
pub const PART_OF: &str = "zeppelin.dev/revision-part-of";
/// Label holding the revision number.
pub const REVISION: &str = "zeppelin.dev/revision";
/// Label holding a part's place, from 2 (the revision Secret itself is part 1).
pub const PART: &str = "zeppelin.dev/part";
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
    /// The applied objects, their Secrets without values.
    pub objects: Vec<Value>,
    /// The hashes of the secret values the Secrets held.
    pub secret_hashes: SecretHashes,
    /// The `before` jobs the deploy ran (or found already run), and how each ended.
    pub jobs: Vec<JobRun>,
    /// How many Secrets store it.
    parts: usize,
}

impl Revision {
    /// The applied objects, ready to apply again with secret values from `current` (by
    /// secret name), and the secrets whose value differs from the one recorded.
    pub fn manifest<E: From<ClusterError>>(
        &self,
        app: &str,
        current: impl FnMut(&str) -> Result<CurrentSecret, E>,
    ) -> Result<(Manifest, Vec<SecretDrift>), E> {
        let mut objects = self.objects.clone();
        let drift = sealed::unseal(&mut objects, &self.secret_hashes, current)?;
        let manifest =
            Manifest::from_values(objects).map_err(|reason| ClusterError::BadRevision {
                name: secret_name(app, self.number),
                reason,
            })?;
        Ok((manifest, drift))
    }

    /// Whether the revision recorded `manifest`, whose [`objects_hash`] is `hash`. A revision
    /// recorded before secrets were sealed hashed the objects as applied, values and all;
    /// that hash is checked too, so the first deploy after an upgrade records nothing new.
    pub fn holds(&self, manifest: &Manifest, hash: &str) -> bool {
        if self.objects_hash == hash {
            return true;
        }
        let legacy = serde_json::to_string(&manifest.to_values()).expect("JSON values serialize");
        self.objects_hash == hex(&Sha256::digest(legacy.as_bytes()))
    }
}

/// The hash a revision records for `manifest`: of its objects with secret values replaced
/// by their hashes, so comparing revisions needs no values.
pub fn objects_hash(manifest: &Manifest) -> String {
    let mut objects = manifest.to_values();
    let secrets = sealed::seal(&mut objects);
    let text = serde_json::to_string(&json!({ "objects": objects, "secrets": secrets }))
        .expect("JSON values serialize");
    hex(&Sha256::digest(text.as_bytes()))
}

/// The hash a revision records for the app file's text.
pub fn app_hash(text: &[u8]) -> String {
    hex(&Sha256::digest(text))
}

fn secret_name(app: &str, number: u64) -> String {
    format!("{app}-rev-{number}")
}

fn part_name(app: &str, number: u64, part: usize) -> String {
    format!("{app}-rev-{number}-{part}")
}

/// The Secrets labelled `selector`, or none when the namespace is not there.
async fn list_secrets(
    api: &Api<Secret>,
    selector: &str,
    what: &str,
) -> Result<Vec<Secret>, ClusterError> {
    match api.list(&ListParams::default().labels(selector)).await {
        Ok(list) => Ok(list.items),
        Err(error) if is_not_found(&error) => Ok(Vec::new()),
        Err(source) => Err(request(what.to_owned())(source)),
    }
}

/// Every kept revision of `app`, oldest first.
pub async fn list(
    cluster: &Cluster,
    namespace: &str,
    app: &str,
) -> Result<Vec<Revision>, ClusterError> {
    let api: Api<Secret> = Api::namespaced(cluster.client.clone(), namespace);
    let what = format!("list the revisions of {app} in namespace {namespace}");
    let heads = list_secrets(&api, &format!("{REVISION_OF}={app}"), &what).await?;
    let split = heads.iter().any(|h| part_count(h) > 1);
    let parts = if split {
        list_secrets(&api, &format!("{PART_OF}={app}"), &what).await?
    } else {
        Vec::new()
    };
    let mut revisions = heads
        .iter()
        .map(|head| decode(head, &parts))
        .collect::<Result<Vec<_>, _>>()?;
    revisions.sort_by_key(|r| r.number);
    Ok(revisions)
}

fn label<'a>(secret: &'a Secret, key: &str) -> Option<&'a str> {
    secret
        .metadata
        .labels
        .as_ref()?
        .get(key)
        .map(String::as_str)
}

fn text(secret: &Secret, key: &str) -> Option<String> {
    let bytes = secret.data.as_ref()?.get(key)?;
    Some(String::from_utf8_lossy(&bytes.0).into_owned())
}

/// How many Secrets store a revision, as its own Secret says.
fn part_count(head: &Secret) -> usize {
    text(head, "parts")
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
}

fn decode(head: &Secret, parts: &[Secret]) -> Result<Revision, ClusterError> {
    let name = head.metadata.name.clone().unwrap_or_default();
    let bad = |reason: String| ClusterError::BadRevision {
        name: name.clone(),
        reason,
    };
    let number: u64 = label(head, REVISION)
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| bad("its revision label is missing".to_owned()))?;
    let status = label(head, STATUS)
        .and_then(RevisionStatus::parse)
        .ok_or_else(|| bad("its status label is missing".to_owned()))?;
    let count = part_count(head);
    let data = head.data.as_ref();
    let compressed = data.and_then(|d| d.get(payload::COMPRESSED_KEY));
    let (mut objects, recorded_hashes) = if let Some(first) = compressed {
        let mut chunks = vec![first.0.as_slice()];
        for place in 2..=count {
            let part = parts
                .iter()
                .find(|p| {
                    label(p, REVISION) == Some(&*number.to_string())
                        && label(p, PART) == Some(&*place.to_string())
                })
                .and_then(|p| p.data.as_ref()?.get(payload::COMPRESSED_KEY))
                .ok_or_else(|| bad(format!("its part {place} of {count} is missing")))?;
            chunks.push(part.0.as_slice());
        }
        let hashes = match text(head, "secret-hashes") {
            Some(json) => serde_json::from_str(&json)
                .map_err(|_| bad("its secret hashes are not JSON".to_owned()))?,
            None => SecretHashes::new(),
        };
        (payload::decode(chunks).map_err(bad)?, hashes)
    } else {
        let plain = data
            .and_then(|d| d.get(payload::PLAIN_KEY))
            .map_or(&[][..], |b| &b.0);
        (
            payload::decode_plain(plain).map_err(bad)?,
            SecretHashes::new(),
        )
    };
    // A revision recorded before sealing holds secret values: they are dropped here.
    let mut secret_hashes = sealed::seal(&mut objects);
    secret_hashes.extend(recorded_hashes);
    Ok(Revision {
        number,
        status,
        app_hash: text(head, "app-hash").unwrap_or_default(),
        objects_hash: text(head, "objects-hash").unwrap_or_default(),
        created: head
            .metadata
            .creation_timestamp
            .as_ref()
            .map(|t| t.0.to_string()),
        cause: text(head, "cause").unwrap_or_default(),
        jobs: job_runs::decode(
            data.and_then(|d| d.get(job_runs::KEY))
                .map(|b| b.0.as_slice()),
        ),
        objects,
        secret_hashes,
        parts: count,
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

fn bytes(text: &str) -> ByteString {
    ByteString(text.as_bytes().to_vec())
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
    let mut objects = new.manifest.to_values();
    let hashes = sealed::seal(&mut objects);
    let mut chunks = payload::encode(&objects).into_iter();
    let first = chunks.next().unwrap_or_default();
    let params = PostParams {
        field_manager: Some(FIELD_MANAGER.to_owned()),
        ..PostParams::default()
    };
    // Parts first: a revision Secret that lists is always whole.
    let mut count = 1;
    for chunk in chunks {
        count += 1;
        let part = Secret {
            metadata: ObjectMeta {
                name: Some(part_name(app, number, count)),
                namespace: Some(namespace.to_owned()),
                labels: Some(BTreeMap::from([
                    (PART_OF.to_owned(), app.to_owned()),
                    (REVISION.to_owned(), number.to_string()),
                    (PART.to_owned(), count.to_string()),
                ])),
                ..ObjectMeta::default()
            },
            type_: Some("zeppelin.dev/revision-part".to_owned()),
            data: Some(BTreeMap::from([(
                payload::COMPRESSED_KEY.to_owned(),
                ByteString(chunk),
            )])),
            ..Secret::default()
        };
        api.create(&params, &part).await.map_err(request(format!(
            "record part {count} of revision {number} of {app}"
        )))?;
    }
    let mut data = BTreeMap::from([
        (payload::COMPRESSED_KEY.to_owned(), ByteString(first)),
        (
            "secret-hashes".to_owned(),
            bytes(&serde_json::to_string(&hashes).expect("JSON serializes")),
        ),
        ("objects-hash".to_owned(), bytes(&new.objects_hash)),
        ("app-hash".to_owned(), bytes(&new.app_hash)),
        ("cause".to_owned(), bytes(&new.cause)),
    ]);
    if count > 1 {
        data.insert("parts".to_owned(), bytes(&count.to_string()));
    }
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
    api.create(&params, &secret)
        .await
        .map_err(request(format!("record revision {number} of {app}")))?;
    let excess = (existing.len() + 1).saturating_sub(keep.max(1));
    for old in existing.drain(..excess.min(existing.len())) {
        delete_one(&api, app, &old, ", beyond the history kept").await?;
    }
    Ok(number)
}

/// Deletes a revision's Secret and its parts; `why` ends the error message.
async fn delete_one(
    api: &Api<Secret>,
    app: &str,
    revision: &Revision,
    why: &str,
) -> Result<(), ClusterError> {
    let number = revision.number;
    let names = std::iter::once(secret_name(app, number))
        .chain((2..=revision.parts).map(|part| part_name(app, number, part)));
    for name in names {
        match api.delete(&name, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(error) if is_not_found(&error) => {}
            Err(source) => {
                return Err(request(format!(
                    "delete revision {number} of {app} ({name}){why}"
                ))(source));
            }
        }
    }
    Ok(())
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

/// Records how revision `number`'s `before` jobs ended.
pub async fn set_jobs(
    cluster: &Cluster,
    namespace: &str,
    app: &str,
    number: u64,
    runs: &[JobRun],
) -> Result<(), ClusterError> {
    let api: Api<Secret> = Api::namespaced(cluster.client.clone(), namespace);
    let patch = json!({ "data": { job_runs::KEY: ByteString(job_runs::encode(runs)) } });
    api.patch(
        &secret_name(app, number),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await
    .map_err(request(format!(
        "record the jobs of revision {number} of {app}"
    )))?;
    Ok(())
}

/// Whether a kept revision records that the Job `object` (`<job>-<hash>`) ran to success.
pub fn job_succeeded(revisions: &[Revision], object: &str) -> bool {
    revisions
        .iter()
        .flat_map(|r| &r.jobs)
        .any(|run| run.object == object && run.outcome.succeeded())
}

/// Deletes every revision of `app`, with any part left behind by a revision whose
/// recording was cut off.
pub async fn delete_all(cluster: &Cluster, namespace: &str, app: &str) -> Result<(), ClusterError> {
    let api: Api<Secret> = Api::namespaced(cluster.client.clone(), namespace);
    for revision in list(cluster, namespace, app).await? {
        delete_one(&api, app, &revision, "").await?;
    }
    let what = format!("list the revision parts of {app} in namespace {namespace}");
    for part in list_secrets(&api, &format!("{PART_OF}={app}"), &what).await? {
        let name = part.metadata.name.unwrap_or_default();
        match api.delete(&name, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(error) if is_not_found(&error) => {}
            Err(source) => {
                return Err(request(format!("delete revision part {name} of {app}"))(
                    source,
                ));
            }
        }
    }
    Ok(())
}
