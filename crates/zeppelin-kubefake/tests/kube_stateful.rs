//! kube-rs against the fake API server's `StatefulSet` controller and claim binder: ordered
//! creation, claims created and bound, the status fields, rolling updates from the highest
//! ordinal, scale-down, and claims kept through scale-down and delete. Pod order is checked
//! on a watch, whose events come in the order the server made the changes.

mod fixtures;

use std::collections::BTreeMap;

use fixtures::{LIMIT, client, stateful_set, status_of};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::{Event, PersistentVolumeClaim, Pod};
use kube::ResourceExt;
use kube::api::{
    Api, DeleteParams, ListParams, ObjectList, Patch, PatchParams, PostParams, WatchEvent,
};
use kube::runtime::wait::await_condition;
use serde_json::json;
use zeppelin_kubefake::{Config, FakeApiServer};

/// The pods of `db` as a watch has shown them so far, by name.
type Pods = BTreeMap<String, Pod>;

fn running_and_ready(pod: &Pod) -> bool {
    let status = pod.status.as_ref();
    status.and_then(|s| s.phase.as_deref()) == Some("Running")
        && status
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn revision_of(pod: &Pod) -> &str {
    pod.labels()
        .get("controller-revision-hash")
        .map_or("", String::as_str)
}

/// Follows pod events from the list `from` until `done` holds; `seen` gets each event with
/// the pods as they stood just before it. Fails the test if that takes longer than the limit.
async fn follow_pods(
    pods: &Api<Pod>,
    from: ObjectList<Pod>,
    mut seen: impl FnMut(&WatchEvent<Pod>, &Pods),
    done: impl Fn(&Pods) -> bool,
) -> Pods {
    let version = from.metadata.resource_version.clone().unwrap();
    let params = kube::api::WatchParams::default();
    let mut stream = pods.watch(&params, &version).await.unwrap().boxed();
    let mut state: Pods = from.into_iter().map(|p| (p.name_any(), p)).collect();
    let followed = tokio::time::timeout(LIMIT, async {
        while let Some(event) = stream.try_next().await.unwrap() {
            seen(&event, &state);
            match event {
                WatchEvent::Added(pod) | WatchEvent::Modified(pod) => {
                    state.insert(pod.name_any(), pod);
                }
                WatchEvent::Deleted(pod) => {
                    state.remove(&pod.name_any());
                }
                WatchEvent::Bookmark(_) => {}
                WatchEvent::Error(error) => panic!("the pod watch failed: {error:?}"),
            }
            if done(&state) {
                return;
            }
        }
        panic!("the pod watch ended early");
    })
    .await;
    assert!(followed.is_ok(), "the pods did not get there in time");
    state
}

/// Waits until `db`'s status says every one of `replicas` pods is ready on one revision.
async fn settled(sets: &Api<StatefulSet>, replicas: i32) -> StatefulSet {
    let settled = move |set: Option<&StatefulSet>| {
        set.is_some_and(|set| {
            let status = set.status.as_ref();
            status.is_some_and(|s| {
                s.observed_generation == set.metadata.generation
                    && s.replicas == replicas
                    && s.ready_replicas.unwrap_or(0) == replicas
                    && s.updated_replicas.unwrap_or(0) == replicas
                    && s.current_revision.is_some()
                    && s.current_revision == s.update_revision
            })
        })
    };
    let done = tokio::time::timeout(LIMIT, await_condition(sets.clone(), "db", settled)).await;
    done.expect("the StatefulSet settles in time")
        .unwrap()
        .unwrap()
}

async fn claim_names(claims: &Api<PersistentVolumeClaim>) -> Vec<String> {
    let mut names: Vec<String> = claims
        .list(&ListParams::default())
        .await
        .unwrap()
        .iter()
        .map(ResourceExt::name_any)
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn pods_start_in_order_with_bound_claims_and_the_real_status() {
    let server = FakeApiServer::start(Config::default()).await.unwrap();
    let client = client(&server).await;
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let from = pods.list(&ListParams::default()).await.unwrap();
    let created = sets
        .create(&PostParams::default(), &stateful_set("redis:7.4", 3, None))
        .await
        .unwrap();
    let spec = created.spec.unwrap();
    assert_eq!(spec.pod_management_policy.as_deref(), Some("OrderedReady"));
    assert_eq!(spec.revision_history_limit, Some(10));
    let strategy = spec.update_strategy.unwrap();
    assert_eq!(strategy.type_.as_deref(), Some("RollingUpdate"));
    assert_eq!(strategy.rolling_update.unwrap().partition, Some(0));
    let retention = spec.persistent_volume_claim_retention_policy.unwrap();
    assert_eq!(
        (
            retention.when_deleted.as_deref(),
            retention.when_scaled.as_deref()
        ),
        (Some("Retain"), Some("Retain"))
    );

    let mut created_order = Vec::new();
    follow_pods(
        &pods,
        from,
        |event, before| {
            if let WatchEvent::Added(pod) = event {
                let name = pod.name_any();
                let ordinal: u32 = name.trim_start_matches("db-").parse().unwrap();
                if ordinal > 0 {
                    let previous = before.get(&format!("db-{}", ordinal - 1));
                    assert!(
                        previous.is_some_and(running_and_ready),
                        "{name} was created before db-{} was Running and Ready",
                        ordinal - 1
                    );
                }
                created_order.push(name);
            }
        },
        |pods| pods.len() == 3 && pods.values().all(running_and_ready),
    )
    .await;
    assert_eq!(created_order, ["db-0", "db-1", "db-2"]);

    let set = settled(&sets, 3).await;
    let status = set.status.unwrap();
    assert_eq!(
        (
            status.current_replicas,
            status.available_replicas,
            status.collision_count
        ),
        (Some(3), Some(3), Some(0))
    );
    let revision = status.update_revision.unwrap();
    let revisions: Api<ControllerRevision> = Api::namespaced(client.clone(), "default");
    let stored = revisions.get(&revision).await.unwrap();
    assert_eq!(stored.revision, 1);
    assert_eq!(stored.owner_references()[0].kind, "StatefulSet");
    let data = stored.data.unwrap().0;
    assert_eq!(
        data.pointer("/spec/template/spec/containers/0/image"),
        Some(&json!("redis:7.4"))
    );

    for ordinal in 0..3 {
        let pod = pods.get(&format!("db-{ordinal}")).await.unwrap();
        let labels = pod.labels();
        assert_eq!(revision_of(&pod), revision);
        assert_eq!(
            labels["statefulset.kubernetes.io/pod-name"],
            format!("db-{ordinal}")
        );
        assert_eq!(labels["apps.kubernetes.io/pod-index"], ordinal.to_string());
        let spec = pod.spec.unwrap();
        assert_eq!(spec.subdomain.as_deref(), Some("db"));
        let volume = &spec.volumes.unwrap()[0];
        assert_eq!(
            volume.persistent_volume_claim.as_ref().unwrap().claim_name,
            format!("data-db-{ordinal}")
        );
    }

    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), "default");
    assert_eq!(
        claim_names(&claims).await,
        ["data-db-0", "data-db-1", "data-db-2"]
    );
    for claim in claims.list(&ListParams::default()).await.unwrap() {
        let name = claim.name_any();
        assert_eq!(claim.labels()["app"], "db", "{name}");
        assert!(claim.owner_references().is_empty(), "{name} has an owner");
        let spec = claim.spec.unwrap();
        assert_eq!(spec.storage_class_name.as_deref(), Some("standard"));
        assert!(spec.volume_name.unwrap().starts_with("pvc-"), "{name}");
        let status = claim.status.unwrap();
        assert_eq!(status.phase.as_deref(), Some("Bound"), "{name}");
        assert_eq!(status.capacity.unwrap()["storage"].0, "1Gi");
    }

    let bigger = json!({"spec": {"volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "2Gi"}}}}]}});
    let (code, reason, message) = status_of(
        sets.patch("db", &PatchParams::default(), &Patch::Merge(bigger))
            .await
            .unwrap_err(),
    );
    assert_eq!((code, reason.as_str()), (422, "Invalid"));
    // The real server's words, so a client's explanation of them can be tested here.
    assert_eq!(
        message,
        "StatefulSet.apps \"db\" is invalid: spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn rolling_updates_replace_pods_from_the_highest_ordinal_down() {
    let server = FakeApiServer::start(Config::default()).await.unwrap();
    let client = client(&server).await;
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    sets.create(&PostParams::default(), &stateful_set("redis:7.4", 3, None))
        .await
        .unwrap();
    let before = settled(&sets, 3).await;
    let old = before.status.unwrap().update_revision.unwrap();
    let from = pods.list(&ListParams::default()).await.unwrap();
    let image = json!({"spec": {"template": {"spec": {"containers": [{"name": "db", "image": "redis:8.0"}]}}}});
    sets.patch("db", &PatchParams::default(), &Patch::Strategic(image))
        .await
        .unwrap();

    let mut updated_order = Vec::new();
    follow_pods(
        &pods,
        from,
        |event, before| {
            if let WatchEvent::Added(pod) = event {
                let name = pod.name_any();
                assert_ne!(
                    revision_of(pod),
                    old,
                    "{name} came back on the old revision"
                );
                let ordinal: u32 = name.trim_start_matches("db-").parse().unwrap();
                for (other, pod) in before {
                    let higher: u32 = other.trim_start_matches("db-").parse().unwrap();
                    if higher > ordinal {
                        assert!(
                            revision_of(pod) != old && running_and_ready(pod),
                            "{name} was replaced before {other} was updated and Ready"
                        );
                    }
                }
                updated_order.push(name);
            }
        },
        |pods| {
            pods.len() == 3
                && pods
                    .values()
                    .all(|p| revision_of(p) != old && running_and_ready(p))
        },
    )
    .await;
    assert_eq!(updated_order, ["db-2", "db-1", "db-0"]);

    let after = settled(&sets, 3).await;
    let status = after.status.unwrap();
    let new = status.update_revision.unwrap();
    assert_ne!(new, old);
    assert_eq!(status.current_revision.as_deref(), Some(new.as_str()));
    assert_eq!(
        (status.current_replicas, status.updated_replicas),
        (Some(3), Some(3))
    );
    let revisions: Api<ControllerRevision> = Api::namespaced(client.clone(), "default");
    assert_eq!(revisions.get(&new).await.unwrap().revision, 2);
    assert_eq!(revisions.get(&old).await.unwrap().revision, 1);
    for pod in pods.list(&ListParams::default()).await.unwrap() {
        let image = pod.spec.unwrap().containers[0].image.clone();
        assert_eq!(image.as_deref(), Some("redis:8.0"));
    }

    // Going back to the first template makes its revision the newest again.
    let image = json!({"spec": {"template": {"spec": {"containers": [{"name": "db", "image": "redis:7.4"}]}}}});
    sets.patch("db", &PatchParams::default(), &Patch::Strategic(image))
        .await
        .unwrap();
    let back = settled(&sets, 3).await;
    assert_eq!(
        back.status.unwrap().current_revision.as_deref(),
        Some(old.as_str())
    );
    assert_eq!(revisions.get(&old).await.unwrap().revision, 3);
    server.shutdown().await;
}

#[tokio::test]
async fn scale_down_and_delete_keep_every_claim() {
    let server = FakeApiServer::start(Config::default()).await.unwrap();
    let client = client(&server).await;
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), "default");
    sets.create(&PostParams::default(), &stateful_set("redis:7.4", 3, None))
        .await
        .unwrap();
    settled(&sets, 3).await;
    let claim_uid = claims.get("data-db-1").await.unwrap().uid();
    let from = pods.list(&ListParams::default()).await.unwrap();
    let scale = sets
        .patch_scale(
            "db",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 1}})),
        )
        .await
        .unwrap();
    assert_eq!(scale.spec.unwrap().replicas, Some(1));

    let mut deleted_order = Vec::new();
    let left = follow_pods(
        &pods,
        from,
        |event, _| {
            if let WatchEvent::Deleted(pod) = event {
                deleted_order.push(pod.name_any());
            }
        },
        |pods| pods.len() == 1,
    )
    .await;
    assert_eq!(deleted_order, ["db-2", "db-1"]);
    assert!(left.contains_key("db-0"));
    settled(&sets, 1).await;
    assert_eq!(
        claim_names(&claims).await,
        ["data-db-0", "data-db-1", "data-db-2"]
    );

    // Scaling up again gives db-1 its old claim back.
    sets.patch_scale(
        "db",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": 2}})),
    )
    .await
    .unwrap();
    settled(&sets, 2).await;
    assert_eq!(claims.get("data-db-1").await.unwrap().uid(), claim_uid);

    sets.delete("db", &DeleteParams::default()).await.unwrap();
    assert!(
        pods.list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let revisions: Api<ControllerRevision> = Api::namespaced(client.clone(), "default");
    assert!(
        revisions
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    // The controllers run a few more times with the StatefulSet gone: claims stay.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        claim_names(&claims).await,
        ["data-db-0", "data-db-1", "data-db-2"]
    );
    claims
        .delete("data-db-0", &DeleteParams::default())
        .await
        .unwrap();
    assert_eq!(claim_names(&claims).await, ["data-db-1", "data-db-2"]);
    server.shutdown().await;
}

#[tokio::test]
async fn a_claim_that_cannot_bind_keeps_its_pod_pending_and_says_why() {
    let server = FakeApiServer::start(Config::default()).await.unwrap();
    let client = client(&server).await;
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), "default");
    sets.create(
        &PostParams::default(),
        &stateful_set("redis:7.4", 2, Some("fast-no-provisioner")),
    )
    .await
    .unwrap();
    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    let find = |reason: &'static str, object: &'static str| {
        let events = events.clone();
        async move {
            loop {
                let listed = events.list(&ListParams::default()).await.unwrap();
                if let Some(event) = listed.items.into_iter().find(|e| {
                    e.reason.as_deref() == Some(reason)
                        && e.involved_object.name.as_deref() == Some(object)
                }) {
                    return event;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    };
    let failed = tokio::time::timeout(LIMIT, find("ProvisioningFailed", "data-db-0"))
        .await
        .expect("the claim's provisioning fails in time");
    assert_eq!(failed.type_.as_deref(), Some("Warning"));
    assert!(
        failed
            .message
            .as_deref()
            .is_some_and(|m| m.contains("\"fast-no-provisioner\" not found")),
        "{:?}",
        failed.message
    );
    let unschedulable = tokio::time::timeout(LIMIT, find("FailedScheduling", "db-0"))
        .await
        .expect("the pod is reported unschedulable in time");
    assert_eq!(unschedulable.type_.as_deref(), Some("Warning"));
    let message = unschedulable.message.unwrap_or_default();
    assert!(message.contains("\"data-db-0\""), "{message}");
    assert!(
        message.contains("unbound immediate PersistentVolumeClaims"),
        "{message}"
    );

    // Well past the bind and pod delays, nothing has moved.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), "default");
    let claim = claims.get("data-db-0").await.unwrap();
    assert_eq!(claim.status.unwrap().phase.as_deref(), Some("Pending"));
    assert!(claim.spec.unwrap().volume_name.is_none());
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let pod = pods.get("db-0").await.unwrap();
    assert!(pod.spec.unwrap().node_name.is_none());
    let status = pod.status.unwrap();
    assert_eq!(status.phase.as_deref(), Some("Pending"));
    let scheduled = &status.conditions.unwrap()[0];
    assert_eq!(
        (scheduled.type_.as_str(), scheduled.status.as_str()),
        ("PodScheduled", "False")
    );
    assert_eq!(scheduled.reason.as_deref(), Some("Unschedulable"));
    let (code, _, _) = status_of(pods.get("db-1").await.unwrap_err());
    assert_eq!(code, 404, "db-1 must wait for db-0 to be Ready");
    let set = sets.get("db").await.unwrap();
    assert_eq!(set.status.unwrap().ready_replicas.unwrap_or(0), 0);
    server.shutdown().await;
}
