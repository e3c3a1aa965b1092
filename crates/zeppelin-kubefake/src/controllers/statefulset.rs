//! The `StatefulSet` controller: pods named by ordinal (`web-0`, `web-1`...), created in order
//! (with `OrderedReady`, pod N+1 once pod N is Running and Ready) and removed from the highest
//! ordinal down, rolling updates from the highest ordinal down one Ready pod at a time,
//! `ControllerRevision`s holding each template, a `PersistentVolumeClaim` per template and
//! ordinal, and the status `kubectl rollout status` reads.
//!
//! Claims are never deleted here: the retention policy is Retain/Retain, so they carry no owner
//! reference and outlive scale-downs and the `StatefulSet` itself.

use serde_json::{Map, Value, json};

use super::controlled::Controlled;
use super::replicaset::{is_available, is_ready};
use super::{CONTROLLER_MANAGER, Kinds, meta, owned_by, owner_reference, write_status, writer};
use crate::resources::ResourceId;
use crate::server::Shared;
use crate::store::Propagation;
use crate::table::int;

const COMPONENT: &str = "statefulset-controller";
const REVISION_LABEL: &str = "controller-revision-hash";
const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";
const POD_INDEX_LABEL: &str = "apps.kubernetes.io/pod-index";
const HASH_LABEL: &str = "controller.kubernetes.io/hash";

pub(super) fn reconcile_all(shared: &Shared, kinds: Kinds) {
    let pods = shared.store.all(kinds.pods);
    let revisions = shared.store.all(kinds.revisions);
    let claims = shared.store.all(kinds.claims);
    for set in shared.store.all(kinds.statefulsets) {
        let same_namespace = |o: &&Value| meta(o, "namespace") == meta(&set, "namespace");
        let owned = |list: &[Value]| -> Vec<Value> {
            list.iter()
                .filter(same_namespace)
                .filter(|o| owned_by(o, &set))
                .cloned()
                .collect()
        };
        let claims: Vec<&Value> = claims.iter().filter(same_namespace).collect();
        let set = StatefulSet(Controlled {
            shared,
            kinds,
            object: &set,
            component: COMPONENT,
        });
        // What was adopted is reconciled as owned on the next tick.
        if set.adopt(&pods, kinds.pods) | set.adopt(&revisions, kinds.revisions) {
            continue;
        }
        set.reconcile(&owned(&pods), &owned(&revisions), &claims);
    }
}

/// True for a pod whose phase is Running and whose Ready condition is True.
fn running_and_ready(pod: &Value) -> bool {
    pod.pointer("/status/phase") == Some(&json!("Running")) && is_ready(pod)
}

fn revision_number(revision: &Value) -> u64 {
    int(revision, "/revision")
}

fn label<'v>(object: &'v Value, key: &str) -> &'v str {
    object
        .pointer("/metadata/labels")
        .and_then(|l| l.get(key))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The pod template a `ControllerRevision` holds (its data is the patch that restores it).
fn template_of(revision: &Value) -> Value {
    let mut template = revision
        .pointer("/data/spec/template")
        .cloned()
        .unwrap_or_else(|| json!({}));
    if let Some(map) = template.as_object_mut() {
        map.remove("$patch");
    }
    template
}

/// The revision pods are on and the one they are being moved to.
struct Revisions {
    current: Value,
    update: Value,
}

/// One `StatefulSet` being reconciled.
struct StatefulSet<'a>(Controlled<'a>);

impl<'a> std::ops::Deref for StatefulSet<'a> {
    type Target = Controlled<'a>;

    fn deref(&self) -> &Controlled<'a> {
        &self.0
    }
}

impl StatefulSet<'_> {
    fn ordinal(&self, pod: &Value) -> Option<u64> {
        meta(pod, "name")
            .strip_prefix(self.name())?
            .strip_prefix('-')?
            .parse()
            .ok()
    }

    /// Adopts the pods (named after this set) and revisions in its namespace that match
    /// its selector and have no controller, as the real controller does: those of a
    /// `StatefulSet` deleted with `--cascade=orphan`, so a new one of the same name takes
    /// them over, rolls the pods to its template and mounts the same claims. Returns
    /// whether it adopted any.
    fn adopt(&self, objects: &[Value], resource: ResourceId) -> bool {
        let Some(selector) = self.object.pointer("/spec/selector") else {
            return false;
        };
        let selector = crate::selector::LabelSelector::from_object(selector);
        let is_pod = resource == self.kinds.pods;
        let mut adopted = false;
        for object in objects {
            let orphan = meta(object, "namespace") == self.namespace()
                && meta(object, "deletionTimestamp").is_empty()
                && !object["metadata"]["ownerReferences"]
                    .as_array()
                    .is_some_and(|refs| refs.iter().any(|r| r["controller"] == json!(true)));
            if !orphan || !selector.matches(object) || (is_pod && self.ordinal(object).is_none()) {
                continue;
            }
            let owner = owner_reference(self.object);
            let written = self.shared.store.modify(
                resource,
                self.namespace(),
                meta(object, "name"),
                &writer(CONTROLLER_MANAGER, false),
                |o| {
                    let refs = o["metadata"]["ownerReferences"].take();
                    let mut refs = refs.as_array().cloned().unwrap_or_default();
                    refs.push(owner);
                    o["metadata"]["ownerReferences"] = json!(refs);
                },
            );
            adopted |= written.is_ok();
        }
        adopted
    }

    fn reconcile(&self, pods: &[Value], revisions: &[Value], claims: &[&Value]) {
        let Some(revisions) = self.revisions(revisions, pods) else {
            return;
        };
        let mut pods: Vec<(u64, &Value)> = pods
            .iter()
            .filter_map(|p| Some((self.ordinal(p)?, p)))
            .collect();
        pods.sort_by_key(|(ordinal, _)| *ordinal);
        self.step(&pods, &revisions, claims);
        let pods: Vec<Value> = self
            .shared
            .store
            .all(self.kinds.pods)
            .into_iter()
            .filter(|p| meta(p, "namespace") == self.namespace() && owned_by(p, self.object))
            .collect();
        self.update_status(&pods, &revisions);
    }

    /// Finds or records the revision of the current template, and the one pods are on.
    fn revisions(&self, owned: &[Value], pods: &[Value]) -> Option<Revisions> {
        let template = &self.object["spec"]["template"];
        let hash = super::deployment::template_hash(template);
        let name = format!("{}-{hash}", self.name());
        let newest = owned.iter().map(revision_number).max().unwrap_or(0);
        let writer = writer(CONTROLLER_MANAGER, false);
        let update = match owned.iter().find(|r| meta(r, "name") == name) {
            Some(revision) if revision_number(revision) == newest => revision.clone(),
            // Back to an older template: its revision becomes the newest again.
            Some(_) => self
                .shared
                .store
                .modify(
                    self.kinds.revisions,
                    self.namespace(),
                    &name,
                    &writer,
                    |r| {
                        r["revision"] = json!(newest + 1);
                    },
                )
                .ok()?,
            None => {
                let mut labels = template
                    .pointer("/metadata/labels")
                    .cloned()
                    .unwrap_or_else(|| json!({}));
                labels[HASH_LABEL] = json!(hash);
                let mut data = template.clone();
                data["$patch"] = json!("replace");
                let revision = json!({
                    "metadata": {
                        "name": name,
                        "labels": labels,
                        "ownerReferences": [owner_reference(self.object)],
                    },
                    "data": {"spec": {"template": data}},
                    "revision": newest + 1,
                });
                self.shared
                    .store
                    .create_owned(self.kinds.revisions, self.namespace(), revision, &writer)
                    .ok()?
            }
        };
        let current = self
            .object
            .pointer("/status/currentRevision")
            .and_then(Value::as_str)
            .and_then(|current| owned.iter().find(|r| meta(r, "name") == current))
            .cloned()
            .unwrap_or_else(|| update.clone());
        self.trim_history(owned, pods, &[meta(&current, "name"), &name]);
        Some(Revisions { current, update })
    }

    /// Deletes the oldest revisions beyond `revisionHistoryLimit` that no pod uses.
    fn trim_history(&self, owned: &[Value], pods: &[Value], live: &[&str]) {
        let limit = usize::try_from(
            self.object
                .pointer("/spec/revisionHistoryLimit")
                .and_then(Value::as_u64)
                .unwrap_or(10),
        )
        .unwrap_or(usize::MAX);
        let mut old: Vec<&Value> = owned
            .iter()
            .filter(|r| {
                let name = meta(r, "name");
                !live.contains(&name) && !pods.iter().any(|p| label(p, REVISION_LABEL) == name)
            })
            .collect();
        old.sort_by_key(|r| revision_number(r));
        for revision in old.iter().take(old.len().saturating_sub(limit)) {
            // A revision deleted meanwhile is gone either way.
            let _ = self.shared.store.delete(
                self.kinds.revisions,
                self.namespace(),
                meta(revision, "name"),
                Propagation::Cascade,
                false,
            );
        }
    }

    fn claim_templates(&self) -> Vec<Value> {
        self.object
            .pointer("/spec/volumeClaimTemplates")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    }

    fn claim_name(&self, template: &Value, ordinal: u64) -> String {
        format!("{}-{}-{ordinal}", meta(template, "name"), self.name())
    }

    /// Creates the missing claims of the pod at `ordinal`, without an owner: they are kept.
    fn ensure_claims(&self, ordinal: u64, claims: &[&Value]) {
        let pod = format!("{}-{ordinal}", self.name());
        for template in self.claim_templates() {
            let name = self.claim_name(&template, ordinal);
            if claims.iter().any(|c| meta(c, "name") == name) {
                continue;
            }
            let mut metadata = template
                .get("metadata")
                .cloned()
                .unwrap_or_else(|| json!({}));
            metadata["name"] = json!(name);
            let selector = self
                .object
                .pointer("/spec/selector/matchLabels")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            for (key, value) in selector {
                metadata["labels"][key] = value;
            }
            let claim = json!({"metadata": metadata, "spec": template["spec"]});
            let created = self.shared.store.create(
                self.kinds.claims,
                self.namespace(),
                claim,
                &writer(CONTROLLER_MANAGER, false),
            );
            if created.is_ok() {
                let message = format!(
                    "create Claim {name} Pod {pod} in StatefulSet {} success",
                    self.name()
                );
                self.event("Normal", "SuccessfulCreate", &message);
            }
        }
    }

    fn create_pod(&self, ordinal: u64, revision: &Value) {
        let name = format!("{}-{ordinal}", self.name());
        let template = template_of(revision);
        let mut metadata = template
            .get("metadata")
            .cloned()
            .unwrap_or_else(|| json!({}));
        metadata["name"] = json!(name);
        metadata["labels"][REVISION_LABEL] = json!(meta(revision, "name"));
        metadata["labels"][POD_NAME_LABEL] = json!(name);
        metadata["labels"][POD_INDEX_LABEL] = json!(ordinal.to_string());
        metadata["ownerReferences"] = json!([owner_reference(self.object)]);
        let mut spec = template["spec"].clone();
        spec["hostname"] = json!(name);
        if let Some(service) = self
            .object
            .pointer("/spec/serviceName")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        {
            spec["subdomain"] = json!(service);
        }
        let mut volumes: Vec<Value> = spec["volumes"].as_array().cloned().unwrap_or_default();
        for template in self.claim_templates() {
            let volume = meta(&template, "name");
            volumes.retain(|v| v["name"] != json!(volume));
            volumes.push(json!({
                "name": volume,
                "persistentVolumeClaim": {"claimName": self.claim_name(&template, ordinal)},
            }));
        }
        if !volumes.is_empty() {
            spec["volumes"] = json!(volumes);
        }
        // No nodeName: the scheduler stand-in in the kubelet places it once its claims bind.
        let pod = json!({"metadata": metadata, "spec": spec});
        let created = self.shared.store.create_owned(
            self.kinds.pods,
            self.namespace(),
            pod,
            &writer(CONTROLLER_MANAGER, false),
        );
        if created.is_ok() {
            let message = format!(
                "create Pod {name} in StatefulSet {} successful",
                self.name()
            );
            self.event("Normal", "SuccessfulCreate", &message);
        }
    }

    fn delete_pod(&self, pod: &Value) {
        let name = meta(pod, "name");
        let deleted = self.shared.store.delete(
            self.kinds.pods,
            self.namespace(),
            name,
            Propagation::Cascade,
            false,
        );
        if deleted.is_ok() {
            let message = format!(
                "delete Pod {name} in StatefulSet {} successful",
                self.name()
            );
            self.event("Normal", "SuccessfulDelete", &message);
        }
    }

    /// One step towards the spec: create missing pods in order, remove condemned ones from the
    /// highest ordinal, then replace outdated ones from the highest ordinal down.
    fn step(&self, pods: &[(u64, &Value)], revisions: &Revisions, claims: &[&Value]) {
        let desired = int(self.object, "/spec/replicas");
        let ordered = self.object.pointer("/spec/podManagementPolicy") != Some(&json!("Parallel"));
        let rolling =
            self.object.pointer("/spec/updateStrategy/type") == Some(&json!("RollingUpdate"));
        let partition = if rolling {
            int(self.object, "/spec/updateStrategy/rollingUpdate/partition")
        } else {
            0
        };
        let at = |ordinal: u64| pods.iter().find(|(o, _)| *o == ordinal).map(|(_, p)| *p);
        for ordinal in 0..desired {
            self.ensure_claims(ordinal, claims);
            match at(ordinal) {
                None => {
                    // Below the partition, new pods keep the current revision.
                    let revision = if ordinal < partition {
                        &revisions.current
                    } else {
                        &revisions.update
                    };
                    self.create_pod(ordinal, revision);
                    if ordered {
                        return;
                    }
                }
                Some(pod) if ordered && !running_and_ready(pod) => return,
                Some(_) => {}
            }
        }
        let mut condemned: Vec<&Value> = pods
            .iter()
            .filter(|(o, _)| *o >= desired)
            .map(|(_, p)| *p)
            .collect();
        condemned.reverse();
        if !condemned.is_empty() {
            if ordered {
                self.delete_pod(condemned[0]);
            } else {
                for pod in condemned {
                    self.delete_pod(pod);
                }
            }
            return;
        }
        if !rolling {
            return;
        }
        let update = meta(&revisions.update, "name");
        for ordinal in (partition..desired).rev() {
            let Some(pod) = at(ordinal) else { return };
            if label(pod, REVISION_LABEL) != update {
                self.delete_pod(pod);
                return;
            }
            if !running_and_ready(pod) {
                return;
            }
        }
    }

    fn update_status(&self, pods: &[Value], revisions: &Revisions) {
        let min_ready = int(self.object, "/spec/minReadySeconds");
        let count = |keep: &dyn Fn(&Value) -> bool| pods.iter().filter(|p| keep(p)).count();
        let (current_name, update_name) = (
            meta(&revisions.current, "name"),
            meta(&revisions.update, "name"),
        );
        let replicas = pods.len();
        let ready = count(&running_and_ready);
        let available = count(&|p| running_and_ready(p) && is_available(p, min_ready));
        let mut current = count(&|p| label(p, REVISION_LABEL) == current_name);
        let updated = count(&|p| label(p, REVISION_LABEL) == update_name);
        let rolling =
            self.object.pointer("/spec/updateStrategy/type") == Some(&json!("RollingUpdate"));
        // A finished rolling update makes the update revision the current one.
        let mut current_revision = current_name;
        if rolling && updated == replicas && ready == replicas {
            current_revision = update_name;
            current = updated;
        }
        let mut status = Map::new();
        status.insert(
            "observedGeneration".to_owned(),
            self.object["metadata"]["generation"].clone(),
        );
        status.insert("replicas".to_owned(), json!(replicas));
        status.insert("availableReplicas".to_owned(), json!(available));
        for (field, value) in [
            ("readyReplicas", ready),
            ("currentReplicas", current),
            ("updatedReplicas", updated),
        ] {
            if value > 0 {
                status.insert(field.to_owned(), json!(value));
            }
        }
        status.insert("currentRevision".to_owned(), json!(current_revision));
        status.insert("updateRevision".to_owned(), json!(update_name));
        status.insert("collisionCount".to_owned(), json!(0));
        write_status(
            self.shared,
            self.kinds.statefulsets,
            self.object,
            CONTROLLER_MANAGER,
            Value::Object(status),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_revision_gives_back_its_template_without_the_patch_directive() {
        let revision = json!({"data": {"spec": {"template": {"$patch": "replace", "spec": {"containers": []}}}}});
        assert_eq!(template_of(&revision), json!({"spec": {"containers": []}}));
    }

    #[test]
    fn only_running_and_ready_pods_count() {
        let ready = json!({"type": "Ready", "status": "True"});
        let running = json!({"status": {"phase": "Running", "conditions": [ready]}});
        let pending = json!({"status": {"phase": "Pending", "conditions": [ready]}});
        assert!(running_and_ready(&running));
        assert!(!running_and_ready(&pending));
    }
}
