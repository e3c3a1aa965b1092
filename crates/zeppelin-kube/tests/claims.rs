//! The data of stateful subs against the test API server: waiting on a `StatefulSet`, a claim
//! that cannot bind explained with its events, and claims that survive prune and `delete`
//! until the data is asked for. (The commands are tested through the binary in
//! `zeppelin-cli`.)

use std::time::Duration;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Namespace, PersistentVolumeClaim};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use zeppelin_kube::apply::ApplyOptions;
use zeppelin_kube::deploy::{DeployOptions, Target, deploy};
use zeppelin_kube::rollout::{self, WaitEvent, WaitOptions, Workload, WorkloadKind};
use zeppelin_kube::teardown::{self, DeleteOptions};
use zeppelin_kube::{Cluster, ConnectOptions, Manifest, RenderOptions, claims, render};
use zeppelin_kubefake::{Config, FakeApiServer};

const LIMIT: Duration = Duration::from_secs(60);
const APP: &str = "data";

/// Zeppelin's connection, and a client of the test's own to set up and inspect the world.
async fn connect(server: &FakeApiServer, dir: &std::path::Path) -> (Cluster, kube::Client) {
    let path = dir.join("kubeconfig");
    server.write_kubeconfig(&path).unwrap();
    let cluster = Cluster::connect(&ConnectOptions {
        context: None,
        kubeconfig: Some(path.clone()),
    })
    .await
    .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let config = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::from_yaml(&text).unwrap(),
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .unwrap();
    (cluster, kube::Client::try_from(config).unwrap())
}

fn target() -> Target {
    Target {
        app: APP.to_owned(),
        namespace: APP.to_owned(),
    }
}

/// The labels Zeppelin puts on a sub's objects, which its claim templates carry too.
fn labels(sub: &str) -> Value {
    json!({
        "app.kubernetes.io/managed-by": "zeppelin",
        "app.kubernetes.io/instance": APP,
        "app.kubernetes.io/name": sub,
    })
}

/// A `StatefulSet` named `sub` of `replicas` pods, each with a 1Gi `data` claim of `class`.
fn stateful_set(sub: &str, replicas: i32, class: Option<&str>) -> Value {
    let mut claim_spec = json!({
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": "1Gi"}},
    });
    if let Some(class) = class {
        claim_spec["storageClassName"] = json!(class);
    }
    json!({
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": sub, "namespace": APP, "labels": labels(sub)},
        "spec": {
            "serviceName": format!("{sub}-headless"),
            "replicas": replicas,
            "selector": {"matchLabels": {"app.kubernetes.io/instance": APP,
                                         "app.kubernetes.io/name": sub}},
            "template": {
                "metadata": {"labels": labels(sub)},
                "spec": {"containers": [{
                    "name": sub, "image": "redis:7.4",
                    "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                }]},
            },
            "volumeClaimTemplates": [{
                "metadata": {"name": "data", "labels": labels(sub)},
                "spec": claim_spec,
            }],
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
        },
    })
}

async fn apply(client: &kube::Client, object: &Value) {
    let api: Api<StatefulSet> = Api::namespaced(client.clone(), APP);
    let name = object["metadata"]["name"].as_str().unwrap();
    api.patch(name, &PatchParams::apply("test"), &Patch::Apply(object))
        .await
        .unwrap();
}

fn wait_options(subs: &[&str], timeout: Duration) -> WaitOptions {
    WaitOptions {
        namespace: APP.to_owned(),
        app: APP.to_owned(),
        subs: subs
            .iter()
            .map(|s| Workload {
                sub: (*s).to_owned(),
                kind: WorkloadKind::StatefulSet,
            })
            .collect(),
        timeout,
    }
}

/// The app deployed with `deploy`: the namespace (made by Zeppelin, so `delete` may remove
/// it) and one stateless sub.
fn app(dir: &std::path::Path) -> Manifest {
    let text =
        format!("name = \"{APP}\"\n[sub.api]\nrun = \"true\"\nimage = \"api:1\"\nport = 8081\n");
    let app = zeppelin_core::parse(&text, &dir.join("zeppelin.toml")).unwrap();
    let options = RenderOptions {
        secrets: Some(zeppelin_kube::SecretValues::new()),
        include_secret: true,
    };
    Manifest::from_rendered(&render(&app, &options).unwrap())
}

fn deploy_options() -> DeployOptions {
    DeployOptions {
        apply: ApplyOptions::default(),
        wait: Some(LIMIT),
        atomic: false,
        prune: true,
        history: 10,
        app_hash: "test".to_owned(),
    }
}

/// The app deployed to `server`: the cluster Zeppelin talks to, a client to inspect the
/// world, and the manifest deployed.
async fn deployed(
    server: &FakeApiServer,
    dir: &std::path::Path,
) -> (Cluster, kube::Client, Manifest) {
    let (cluster, client) = connect(server, dir).await;
    let manifest = app(dir);
    deploy(
        &cluster,
        &target(),
        &manifest,
        &deploy_options(),
        "deploy",
        &mut |_| {},
    )
    .await
    .unwrap();
    (cluster, client, manifest)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stateful_set_is_waited_for_and_a_claim_that_cannot_bind_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeApiServer::start(Config::default()).await.unwrap();
    let (cluster, client, _) = deployed(&server, dir.path()).await;

    apply(&client, &stateful_set("db", 2, None)).await;
    let mut seen = Vec::new();
    rollout::wait(&cluster, &wait_options(&["db"], LIMIT), |event| {
        if let WaitEvent::Progress(progress) = event {
            seen.push(progress.to_vec());
        }
    })
    .await
    .unwrap();
    let last = &seen.last().unwrap()[0];
    assert!(last.done && last.ready == 2, "{seen:?}");
    let listed = claims::list(&cluster, &target()).await.unwrap();
    let names: Vec<&str> = listed.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["data-db-0", "data-db-1"]);
    assert!(listed.iter().all(claims::Claim::is_bound), "{listed:?}");
    assert_eq!(listed[1].replica.as_deref(), Some("db-1"));

    apply(
        &client,
        &stateful_set("stuck", 1, Some("slow-no-provisioner")),
    )
    .await;
    let failed = rollout::wait(
        &cluster,
        &wait_options(&["db", "stuck"], Duration::from_secs(3)),
        |_| {},
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        failed.contains("timed out after 3s waiting for stuck"),
        "{failed}"
    );
    assert!(
        failed.contains("volume claim data-stuck-0 (storage class `slow-no-provisioner`, 1Gi) is Pending and cannot bind"),
        "{failed}"
    );
    assert!(
        failed.contains(
            "ProvisioningFailed: storageclass.storage.k8s.io \"slow-no-provisioner\" not found"
        ),
        "{failed}"
    );
    assert!(
        failed.contains("FailedScheduling: 0/1 nodes are available"),
        "{failed}"
    );
    assert!(failed.contains("[kubernetes.sub.stuck]"), "{failed}");
    assert!(!failed.contains("add nodes"), "{failed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_survive_prune_and_delete_until_the_data_is_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeApiServer::start(Config::default()).await.unwrap();
    let (cluster, client, manifest) = deployed(&server, dir.path()).await;
    // A claim with every label prune selects by, of a sub the app does not have.
    let claim: PersistentVolumeClaim = serde_json::from_value(json!({
        "metadata": {"name": "data-gone-0", "namespace": APP, "labels": labels("gone")},
        "spec": {"accessModes": ["ReadWriteOnce"],
                 "resources": {"requests": {"storage": "1Gi"}}},
    }))
    .unwrap();
    let api: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), APP);
    api.create(&PostParams::default(), &claim).await.unwrap();

    let mut pruned = Vec::new();
    let report = deploy(
        &cluster,
        &target(),
        &manifest,
        &deploy_options(),
        "deploy",
        &mut |event| {
            if let zeppelin_kube::deploy::DeployEvent::Pruned(object) = event {
                pruned.push(object.to_owned());
            }
        },
    )
    .await
    .unwrap();
    assert!(pruned.is_empty(), "{pruned:?}");
    assert!(api.get_opt("data-gone-0").await.unwrap().is_some());
    let kept: Vec<&str> = report.kept_claims.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(kept, ["data-gone-0"]);

    let keep = DeleteOptions {
        timeout: LIMIT,
        delete_claims: Vec::new(),
    };
    let deleted = teardown::delete(&cluster, &target(), &keep).await.unwrap();
    assert!(deleted.objects.contains(&"Deployment/api".to_owned()));
    assert!(
        !deleted.objects.iter().any(|o| o.contains("data-gone-0")),
        "{deleted:?}"
    );
    assert_eq!(deleted.kept_claims.len(), 1);
    assert_eq!(
        deleted.kept_namespace,
        Some((APP.to_owned(), vec!["data-gone-0".to_owned()]))
    );
    let namespaces: Api<Namespace> = Api::all(client.clone());
    assert!(namespaces.get_opt(APP).await.unwrap().is_some());
    assert!(api.get_opt("data-gone-0").await.unwrap().is_some());

    // The user confirms the claims listed now; then a claim of the app appears, one is made
    // again under a confirmed name (other data), and another app has a claim in the same
    // namespace. Only the confirmed claim, still the same object, goes.
    let listed = claims::list(&cluster, &target()).await.unwrap();
    let mut second = claim.clone();
    second.metadata.name = Some("data-gone-1".to_owned());
    api.create(&PostParams::default(), &second).await.unwrap();
    let confirmed = claims::list(&cluster, &target()).await.unwrap();
    assert_eq!(confirmed.len(), 2, "{confirmed:?}");
    api.delete("data-gone-1", &kube::api::DeleteParams::default())
        .await
        .unwrap();
    wait_until_gone(&api, "data-gone-1").await;
    api.create(&PostParams::default(), &second).await.unwrap();
    let mut late = claim.clone();
    late.metadata.name = Some("data-late-0".to_owned());
    api.create(&PostParams::default(), &late).await.unwrap();
    let mut foreign = claim;
    foreign.metadata.name = Some("other-app-data".to_owned());
    foreign.metadata.labels = None;
    api.create(&PostParams::default(), &foreign).await.unwrap();
    assert_eq!(listed.len(), 1);
    let with_data = DeleteOptions {
        timeout: LIMIT,
        delete_claims: confirmed,
    };
    let deleted = teardown::delete(&cluster, &target(), &with_data)
        .await
        .unwrap();
    assert_eq!(
        deleted.objects,
        ["PersistentVolumeClaim/data-gone-0".to_owned()]
    );
    let kept: Vec<&str> = deleted
        .kept_claims
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(kept, ["data-late-0", "data-gone-1"]);
    assert_eq!(
        deleted.kept_namespace,
        Some((
            APP.to_owned(),
            vec![
                "data-gone-1".to_owned(),
                "data-late-0".to_owned(),
                "other-app-data".to_owned()
            ]
        ))
    );
    assert!(api.get_opt("data-gone-0").await.unwrap().is_none());
    assert!(api.get_opt("other-app-data").await.unwrap().is_some());
    assert!(namespaces.get_opt(APP).await.unwrap().is_some());

    // Nothing confirmed (none listed when asked): nothing goes, whatever appeared since.
    let none = DeleteOptions {
        timeout: LIMIT,
        delete_claims: Vec::new(),
    };
    let deleted = teardown::delete(&cluster, &target(), &none).await.unwrap();
    assert_eq!(deleted.kept_claims.len(), 2, "{deleted:?}");
    assert!(api.get_opt("data-late-0").await.unwrap().is_some());
}

/// Waits until the claim `name` is gone (a claim protected by a finalizer goes later).
async fn wait_until_gone(api: &Api<PersistentVolumeClaim>, name: &str) {
    let uid = api.get(name).await.ok().and_then(|c| c.metadata.uid);
    if let Some(uid) = uid {
        kube::runtime::wait::await_condition(
            api.clone(),
            name,
            kube::runtime::wait::conditions::is_deleted(&uid),
        )
        .await
        .unwrap();
    }
}
