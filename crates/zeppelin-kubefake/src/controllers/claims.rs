//! A volume provisioner and binder stand-in: each `PersistentVolumeClaim` is Bound to a
//! made-up volume (`spec.volumeName`, capacity, access modes) once the claim bind delay has
//! passed, except claims whose storage class name carries the provisioning-failure marker,
//! which stay Pending with the `ProvisioningFailed` Warning a real cluster records for a
//! storage class that does not exist. No `PersistentVolume` objects are made.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use serde_json::{Value, json};

use super::{Kinds, events, meta, write_status, writer};
use crate::server::Shared;

const BINDER: &str = "persistentvolume-controller";

/// True if `claim` can never bind: its storage class carries the failure marker.
pub(super) fn cannot_provision(shared: &Shared, claim: &Value) -> bool {
    let marker = &shared.config.provisioning_failure_marker;
    !marker.is_empty()
        && claim
            .pointer("/spec/storageClassName")
            .and_then(Value::as_str)
            .is_some_and(|class| class.contains(marker.as_str()))
}

/// True for a claim whose status phase is Bound.
pub(super) fn is_bound(claim: &Value) -> bool {
    claim.pointer("/status/phase") == Some(&json!("Bound"))
}

/// The binder's memory across ticks: when each claim (by uid) was first seen, and which
/// failures were already reported.
#[derive(Default)]
pub(super) struct Binder {
    seen: HashMap<String, Instant>,
    reported: HashSet<String>,
}

impl Binder {
    pub(super) fn reconcile_all(&mut self, shared: &Shared, kinds: Kinds) {
        let claims = shared.store.all(kinds.claims);
        let live: HashSet<&str> = claims.iter().map(|c| meta(c, "uid")).collect();
        self.seen.retain(|uid, _| live.contains(uid.as_str()));
        self.reported.retain(|uid| live.contains(uid.as_str()));
        for claim in claims.iter().filter(|c| !is_bound(c)) {
            self.reconcile(shared, kinds, claim);
        }
    }

    fn reconcile(&mut self, shared: &Shared, kinds: Kinds, claim: &Value) {
        let uid = meta(claim, "uid").to_owned();
        let class = claim
            .pointer("/spec/storageClassName")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if cannot_provision(shared, claim) {
            if self.reported.insert(uid) {
                let message = format!("storageclass.storage.k8s.io \"{class}\" not found");
                events::record(
                    shared,
                    kinds,
                    claim,
                    "Warning",
                    "ProvisioningFailed",
                    &message,
                    BINDER,
                );
            }
            return;
        }
        let seen = *self.seen.entry(uid.clone()).or_insert_with(Instant::now);
        if seen.elapsed() < shared.config.claim_bind_delay {
            return;
        }
        let volume = format!("pvc-{uid}");
        let (namespace, name) = (meta(claim, "namespace"), meta(claim, "name"));
        // A claim deleted meanwhile needs no volume.
        let Ok(bound) =
            shared
                .store
                .modify(kinds.claims, namespace, name, &writer(BINDER, false), |c| {
                    c["spec"]["volumeName"] = json!(volume);
                    let annotations = &mut c["metadata"]["annotations"];
                    annotations["pv.kubernetes.io/bind-completed"] = json!("yes");
                    annotations["pv.kubernetes.io/bound-by-controller"] = json!("yes");
                })
        else {
            return;
        };
        let status = json!({
            "phase": "Bound",
            "accessModes": claim["spec"]["accessModes"],
            "capacity": {"storage": claim.pointer("/spec/resources/requests/storage")},
        });
        write_status(shared, kinds.claims, &bound, BINDER, status);
        let message = format!("Successfully provisioned volume {volume}");
        events::record(
            shared,
            kinds,
            &bound,
            "Normal",
            "ProvisioningSucceeded",
            &message,
            BINDER,
        );
    }
}
