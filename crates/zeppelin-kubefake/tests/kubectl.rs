//! The real `kubectl` against the fake API server: every kind Zeppelin writes, server-side
//! apply and re-apply, watches, rollouts that finish and ones that get stuck, logs, delete,
//! and `StatefulSet`s with their claims (`get statefulset,pvc`, `rollout status`, deletes
//! that keep claims until they are named).
//!
//! No `--validate=false` is needed: the server publishes the `fieldValidation` parameter in
//! its `OpenAPI` v3 document, so kubectl leaves validation to it.

mod harness;

use harness::{Cluster, deployment, namespace, path_str, require_kubectl, row};
use serde_json::Value;

const EVERY_KIND: &str = "apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: shop, namespace: shop}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: shop-conf, namespace: shop}
data: {LOG_LEVEL: info, EXTRA: 'yes'}
---
apiVersion: v1
kind: Secret
metadata: {name: shop-secrets, namespace: shop}
stringData: {API_TOKEN: hunter2}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{port: 8080, name: http}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {app: web, tier: front}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: 'ghcr.io/acme/web:1', ports: [{containerPort: 8080}]}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: shop}
spec:
  minAvailable: 1
  selector: {matchLabels: {app: web}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web, namespace: shop}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 10
  metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{ports: [{port: 8080}]}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: shop}
spec:
  rules:
  - host: shop.localhost
    http:
      paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 8080}}}}]
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_shows_every_kind_after_a_server_side_apply() {
    require_kubectl();
    let cluster = Cluster::start().await;
    let file = cluster.write("shop.yaml", EVERY_KIND);
    let applied = cluster.apply_server_side(&file).await;
    assert_eq!(applied.lines().count(), 10, "{applied}");
    assert!(
        applied.contains("deployment.apps/web serverside-applied"),
        "{applied}"
    );
    cluster
        .wait_for("pods", "two web pods", |pods| pods.len() == 2)
        .await;
    for (kind, name) in [
        ("namespaces", "shop"),
        ("serviceaccounts", "shop"),
        ("configmaps", "shop-conf"),
        ("secrets", "shop-secrets"),
        ("services", "web"),
        ("deployments", "web"),
        ("replicasets", "web-"),
        ("pods", "web-"),
        ("events", "ScalingReplicaSet"),
        ("poddisruptionbudgets", "web"),
        ("horizontalpodautoscalers", "web"),
        ("networkpolicies", "web"),
        ("ingresses", "web"),
    ] {
        let listed = cluster.kubectl_ok(&["get", kind, "-n", "shop"]).await;
        assert!(
            listed.contains(name),
            "kubectl get {kind} lacks {name}:\n{listed}"
        );
    }
    let service = cluster
        .kubectl_ok(&["get", "svc", "web", "-n", "shop", "-o", "json"])
        .await;
    let service: Value = serde_json::from_str(&service).unwrap();
    assert!(
        service["spec"]["clusterIP"]
            .as_str()
            .unwrap()
            .starts_with("10.96.")
    );
    let selected = cluster
        .kubectl_ok(&[
            "get",
            "deploy",
            "-n",
            "shop",
            "-l",
            "tier in (front),app!=api",
            "-o",
            "name",
        ])
        .await;
    assert_eq!(selected.trim(), "deployment.apps/web");
    let none = cluster
        .kubectl_ok(&[
            "get",
            "deploy",
            "-n",
            "shop",
            "-l",
            "tier=back",
            "-o",
            "name",
        ])
        .await;
    assert_eq!(none.trim(), "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reapply_without_a_field_removes_it_and_other_managers_conflict() {
    require_kubectl();
    let cluster = Cluster::start().await;
    let file = cluster.write("shop.yaml", EVERY_KIND);
    cluster.apply_server_side(&file).await;
    let trimmed = EVERY_KIND
        .replace(", EXTRA: 'yes'", "")
        .replace(", tier: front", "");
    let file = cluster.write("shop-trimmed.yaml", &trimmed);
    cluster.apply_server_side(&file).await;
    let conf = cluster
        .server
        .object("configmaps", "shop", "shop-conf")
        .unwrap();
    assert_eq!(conf["data"], serde_json::json!({"LOG_LEVEL": "info"}));
    let web = cluster.server.object("deployments", "shop", "web").unwrap();
    assert_eq!(web["metadata"]["labels"], serde_json::json!({"app": "web"}));
    let managers: Vec<&str> = web["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert!(managers.contains(&"kubectl"), "{managers:?}");

    let other = trimmed.replace("replicas: 2", "replicas: 5");
    let file = cluster.write("shop-other.yaml", &other);
    let refused = cluster
        .kubectl(&[
            "apply",
            "--server-side",
            "--field-manager",
            "zeppelin",
            "-f",
            path_str(&file),
        ])
        .await;
    assert!(!refused.success);
    assert!(
        refused
            .stderr
            .contains(r#"conflict with "kubectl" using apps/v1: .spec.replicas"#),
        "{}",
        refused.stderr
    );
    cluster
        .kubectl_ok(&[
            "apply",
            "--server-side",
            "--field-manager",
            "zeppelin",
            "--force-conflicts",
            "-f",
            path_str(&file),
        ])
        .await;
    let web = cluster.server.object("deployments", "shop", "web").unwrap();
    assert_eq!(web["spec"]["replicas"], 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_changes_nothing() {
    require_kubectl();
    let cluster = Cluster::start().await;
    let file = cluster.write("other.yaml", &namespace("other"));
    let out = cluster
        .kubectl_ok(&[
            "apply",
            "--server-side",
            "--dry-run=server",
            "-f",
            path_str(&file),
        ])
        .await;
    assert!(
        out.contains("namespace/other serverside-applied (server dry run)"),
        "{out}"
    );
    assert!(cluster.server.object("namespaces", "", "other").is_none());

    // Objects in a namespace need it to exist, dry run or not, as on a real server.
    let file = cluster.write("ns.yaml", &namespace("shop"));
    cluster.apply_server_side(&file).await;
    let before = cluster.server.object("namespaces", "", "shop").unwrap();
    let file = cluster.write("shop.yaml", EVERY_KIND);
    let out = cluster
        .kubectl_ok(&[
            "apply",
            "--server-side",
            "--dry-run=server",
            "-f",
            path_str(&file),
        ])
        .await;
    assert!(
        out.contains("deployment.apps/web serverside-applied (server dry run)"),
        "{out}"
    );
    assert!(cluster.server.objects("deployments").is_empty());
    assert!(cluster.server.objects("configmaps").is_empty());
    assert_eq!(
        cluster.server.object("namespaces", "", "shop").unwrap(),
        before
    );
    let out = cluster
        .kubectl_ok(&["delete", "namespace", "shop", "--dry-run=server"])
        .await;
    assert!(out.contains("(server dry run)"), "{out}");
    assert_eq!(
        cluster.server.object("namespaces", "", "shop").unwrap(),
        before
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_watch_sees_the_rollout_and_rollout_status_finishes() {
    require_kubectl();
    let cluster = Cluster::start().await;
    let file = cluster.write("ns.yaml", &namespace("shop"));
    cluster.apply_server_side(&file).await;
    let file = cluster.write("web.yaml", &deployment("shop", "web", "nginx:1.27", 3, 600));
    let apply_args = ["apply", "--server-side", "-f", path_str(&file)];
    let apply = cluster.kubectl_ok(&apply_args);
    let watch = cluster.kubectl_until(&["get", "deploy", "-n", "shop", "-w"], |line| {
        line.split_whitespace().take(2).eq(["web", "3/3"])
    });
    let (_, lines) = tokio::join!(apply, watch);
    assert!(lines[0].starts_with("NAME"), "{lines:?}");
    let status = cluster.rollout_status_of_web().await;
    assert!(
        status.contains("deployment \"web\" successfully rolled out"),
        "{status}"
    );

    let updated = cluster
        .kubectl_ok(&[
            "set",
            "image",
            "deployment/web",
            "-n",
            "shop",
            "web=nginx:1.28",
        ])
        .await;
    assert!(updated.contains("image updated"), "{updated}");
    let status = cluster.rollout_status_of_web().await;
    assert!(status.contains("successfully rolled out"), "{status}");
    let pods = cluster.server.objects("pods");
    assert_eq!(pods.len(), 3);
    assert!(
        pods.iter()
            .all(|p| p["spec"]["containers"][0]["image"] == "nginx:1.28")
    );
    let sets = cluster.server.objects("replicasets");
    assert_eq!(sets.len(), 2);
    let revisions: Vec<&str> = sets
        .iter()
        .map(|rs| {
            rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert!(
        revisions.contains(&"1") && revisions.contains(&"2"),
        "{revisions:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollout_status_fails_for_a_stuck_rollout() {
    require_kubectl();
    let cluster = Cluster::start().await;
    let file = cluster.write("ns.yaml", &namespace("shop"));
    cluster.apply_server_side(&file).await;
    let file = cluster.write(
        "web.yaml",
        &deployment("shop", "web", "registry.invalid/does-not-exist:1", 2, 2),
    );
    cluster.apply_server_side(&file).await;
    let status = cluster
        .kubectl(&[
            "rollout",
            "status",
            "deployment/web",
            "-n",
            "shop",
            "--timeout=60s",
        ])
        .await;
    assert!(!status.success);
    assert!(
        status.stderr.contains("exceeded its progress deadline"),
        "{}",
        status.stderr
    );
    let pods = cluster.kubectl_ok(&["get", "pods", "-n", "shop"]).await;
    assert!(pods.contains("ImagePullBackOff"), "{pods}");
    let events = cluster.kubectl_ok(&["get", "events", "-n", "shop"]).await;
    assert!(
        events.contains("Back-off pulling image \"registry.invalid/does-not-exist:1\""),
        "{events}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_come_from_simulated_pods_including_crashing_ones() {
    require_kubectl();
    let cluster = Cluster::start().await;
    let file = cluster.write("ns.yaml", &namespace("shop"));
    cluster.apply_server_side(&file).await;
    let manifests = format!(
        "{}---\n{}",
        deployment("shop", "web", "nginx:1.27", 1, 600),
        deployment("shop", "worker", "ghcr.io/acme/crashloop:1", 1, 600)
    );
    let file = cluster.write("apps.yaml", &manifests);
    cluster.apply_server_side(&file).await;
    cluster.rollout_status_of_web().await;
    let logs = cluster
        .kubectl_ok(&["logs", "deployment/web", "-n", "shop"])
        .await;
    assert!(
        logs.contains("started container web (image nginx:1.27)"),
        "{logs}"
    );

    cluster
        .wait_for("pods", "the worker pod to restart twice", |pods| {
            pods.iter().any(|p| {
                p.pointer("/status/containerStatuses/0/restartCount")
                    .and_then(Value::as_u64)
                    >= Some(2)
            })
        })
        .await;
    let pods = cluster
        .kubectl_ok(&["get", "pods", "-n", "shop", "-l", "app=worker"])
        .await;
    assert!(pods.contains("CrashLoopBackOff"), "{pods}");
    let worker = cluster
        .server
        .objects("pods")
        .into_iter()
        .find(|p| p["metadata"]["labels"]["app"] == "worker")
        .unwrap();
    let name = worker["metadata"]["name"].as_str().unwrap();
    let tail = cluster
        .kubectl_ok(&["logs", name, "-n", "shop", "--tail=1"])
        .await;
    assert_eq!(tail.lines().count(), 1, "{tail}");
    assert!(
        tail.contains("fatal: container worker exited with code 1"),
        "{tail}"
    );
    let followed = cluster
        .kubectl_until(&["logs", "-f", name, "-n", "shop"], |line| {
            line.contains("attempt 4")
        })
        .await;
    assert!(followed.len() >= 4, "{followed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_removes_owned_objects() {
    require_kubectl();
    let cluster = Cluster::start().await;
    let file = cluster.write("shop.yaml", EVERY_KIND);
    cluster.apply_server_side(&file).await;
    cluster.rollout_status_of_web().await;
    let deleted = cluster
        .kubectl_ok(&["delete", "deployment", "web", "-n", "shop"])
        .await;
    assert!(
        deleted.contains("deployment.apps \"web\" deleted"),
        "{deleted}"
    );
    assert!(cluster.server.objects("replicasets").is_empty());
    assert!(cluster.server.objects("pods").is_empty());
    let missing = cluster
        .kubectl(&["get", "deployment", "web", "-n", "shop"])
        .await;
    assert!(!missing.success);
    assert!(
        missing
            .stderr
            .contains("deployments.apps \"web\" not found"),
        "{}",
        missing.stderr
    );
    cluster.kubectl_ok(&["delete", "namespace", "shop"]).await;
    assert!(cluster.server.objects("configmaps").is_empty());
    assert!(cluster.server.object("namespaces", "", "shop").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_undo_and_client_side_apply_work() {
    require_kubectl();
    let cluster = Cluster::start().await;
    let manifests = format!(
        "{}---\n{}",
        namespace("shop"),
        deployment("shop", "web", "nginx:1.27", 2, 600)
    );
    let file = cluster.write("web.yaml", &manifests);
    let created = cluster.kubectl_ok(&["apply", "-f", path_str(&file)]).await;
    assert!(created.contains("deployment.apps/web created"), "{created}");
    let again = cluster.kubectl_ok(&["apply", "-f", path_str(&file)]).await;
    assert!(again.contains("deployment.apps/web unchanged"), "{again}");
    cluster.rollout_status_of_web().await;

    cluster
        .kubectl_ok(&["scale", "deployment/web", "-n", "shop", "--replicas=3"])
        .await;
    cluster
        .kubectl_ok(&[
            "wait",
            "--for=jsonpath={.status.availableReplicas}=3",
            "deployment/web",
            "-n",
            "shop",
            "--timeout=60s",
        ])
        .await;
    assert_eq!(cluster.server.objects("pods").len(), 3);

    cluster
        .kubectl_ok(&[
            "set",
            "image",
            "deployment/web",
            "-n",
            "shop",
            "web=nginx:1.28",
        ])
        .await;
    cluster.rollout_status_of_web().await;
    let undone = cluster
        .kubectl_ok(&["rollout", "undo", "deployment/web", "-n", "shop"])
        .await;
    assert!(undone.contains("rolled back"), "{undone}");
    cluster.rollout_status_of_web().await;
    let web = cluster.server.object("deployments", "shop", "web").unwrap();
    assert_eq!(
        web["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.27"
    );
    let sets = cluster.server.objects("replicasets");
    assert_eq!(sets.len(), 2, "the rollback reuses the first ReplicaSet");
    let history = cluster
        .kubectl_ok(&["rollout", "history", "deployment/web", "-n", "shop"])
        .await;
    let revisions: Vec<&str> = history
        .lines()
        .skip(2)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(revisions, ["2", "3"], "{history}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_the_generated_certificate_authority() {
    require_kubectl();
    let cluster = Cluster::with_config(zeppelin_kubefake::Config {
        tls: true,
        ..zeppelin_kubefake::Config::default()
    })
    .await;
    assert!(cluster.server.url().starts_with("https://127.0.0.1:"));
    let file = cluster.write(
        "web.yaml",
        &format!(
            "{}---\n{}",
            namespace("shop"),
            deployment("shop", "web", "nginx:1.27", 2, 600)
        ),
    );
    cluster.apply_server_side(&file).await;
    let status = cluster.rollout_status_of_web().await;
    assert!(status.contains("successfully rolled out"), "{status}");
}

/// A headless Service and a `StatefulSet` `redis` of two pods of `image`, each with a 1Gi
/// `data` claim.
fn redis(image: &str) -> String {
    format!(
        "apiVersion: v1
kind: Service
metadata: {{name: redis}}
spec:
  clusterIP: None
  selector: {{app: redis}}
  ports: [{{port: 6379}}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: redis, labels: {{app: redis}}}}
spec:
  serviceName: redis
  replicas: 2
  selector: {{matchLabels: {{app: redis}}}}
  template:
    metadata: {{labels: {{app: redis}}}}
    spec:
      containers:
      - name: redis
        image: '{image}'
        ports: [{{containerPort: 6379}}]
        volumeMounts: [{{name: data, mountPath: /data}}]
  volumeClaimTemplates:
  - metadata: {{name: data}}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {{requests: {{storage: 1Gi}}}}
"
    )
}

const ROLLOUT: [&str; 4] = ["rollout", "status", "statefulset/redis", "--timeout=60s"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_rollout_status_get_and_delete_keep_claims() {
    require_kubectl();
    let cluster = Cluster::start().await;
    let file = cluster.write("redis.yaml", &redis("redis:7.4"));
    let applied = cluster
        .kubectl_ok(&["apply", "--server-side", "-f", path_str(&file)])
        .await;
    assert!(
        applied.contains("statefulset.apps/redis serverside-applied"),
        "{applied}"
    );
    let status = cluster.kubectl_ok(&ROLLOUT).await;
    assert!(
        status.contains("partitioned roll out complete: 2 new pods have been updated"),
        "{status}"
    );

    let listed = cluster.kubectl_ok(&["get", "statefulset,pvc"]).await;
    let headers: Vec<&str> = listed.lines().filter(|l| l.starts_with("NAME")).collect();
    assert_eq!(headers.len(), 2, "{listed}");
    assert_eq!(
        headers[0].split_whitespace().collect::<Vec<_>>(),
        ["NAME", "READY", "AGE"]
    );
    assert_eq!(
        headers[1].split_whitespace().collect::<Vec<_>>(),
        [
            "NAME",
            "STATUS",
            "VOLUME",
            "CAPACITY",
            "ACCESS",
            "MODES",
            "STORAGECLASS",
            "VOLUMEATTRIBUTESCLASS",
            "AGE"
        ]
    );
    assert_eq!(row(&listed, "statefulset.apps/redis")[1], "2/2");
    for ordinal in 0..2 {
        let claim = row(
            &listed,
            &format!("persistentvolumeclaim/data-redis-{ordinal}"),
        );
        assert_eq!(claim[1], "Bound", "{listed}");
        assert!(claim[2].starts_with("pvc-"), "{listed}");
        assert_eq!(&claim[3..6], ["1Gi", "RWO", "standard"], "{listed}");
    }
    let wide = cluster
        .kubectl_ok(&["get", "statefulset,pvc", "-o", "wide"])
        .await;
    assert_eq!(
        &row(&wide, "statefulset.apps/redis")[3..],
        ["redis", "redis:7.4"],
        "{wide}"
    );
    assert_eq!(
        row(&wide, "persistentvolumeclaim/data-redis-0").last(),
        Some(&"Filesystem"),
        "{wide}"
    );
    let revisions = cluster.kubectl_ok(&["get", "controllerrevisions"]).await;
    assert!(revisions.contains("statefulset.apps/redis"), "{revisions}");

    // A re-apply with a new image rolls the pods over; rollout status waits for all of them.
    let file = cluster.write("redis.yaml", &redis("redis:8.0"));
    let applied = cluster
        .kubectl_ok(&["apply", "--server-side", "-f", path_str(&file)])
        .await;
    assert!(
        applied.contains("statefulset.apps/redis serverside-applied"),
        "{applied}"
    );
    cluster.kubectl_ok(&ROLLOUT).await;
    let set = cluster
        .kubectl_ok(&["get", "statefulset", "redis", "-o", "json"])
        .await;
    let set: Value = serde_json::from_str(&set).unwrap();
    assert_eq!(
        set["status"]["currentRevision"],
        set["status"]["updateRevision"]
    );
    assert_eq!(set["status"]["updatedReplicas"], 2);
    let pods = cluster.server.objects("pods");
    assert_eq!(pods.len(), 2);
    assert!(
        pods.iter()
            .all(|p| p["spec"]["containers"][0]["image"] == "redis:8.0")
    );

    let history = cluster
        .kubectl_ok(&["rollout", "history", "statefulset/redis"])
        .await;
    let numbers: Vec<&str> = history
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.parse::<u32>().is_ok())
        .collect();
    assert_eq!(numbers, ["1", "2"], "{history}");
    let undone = cluster
        .kubectl_ok(&["rollout", "undo", "statefulset/redis"])
        .await;
    assert!(
        undone.contains("statefulset.apps/redis rolled back"),
        "{undone}"
    );
    cluster.kubectl_ok(&ROLLOUT).await;
    cluster
        .wait_for("pods", "both pods back on redis:7.4", |pods| {
            pods.len() == 2
                && pods
                    .iter()
                    .all(|p| p["spec"]["containers"][0]["image"] == "redis:7.4")
        })
        .await;

    let scaled = cluster
        .kubectl_ok(&["scale", "statefulset", "redis", "--replicas=1"])
        .await;
    assert!(scaled.contains("statefulset.apps/redis scaled"), "{scaled}");
    cluster
        .wait_for("pods", "redis-1 removed", |pods| {
            pods.len() == 1 && pods[0]["metadata"]["name"] == "redis-0"
        })
        .await;

    let deleted = cluster
        .kubectl_ok(&["delete", "statefulset", "redis"])
        .await;
    assert!(
        deleted.contains("statefulset.apps \"redis\" deleted"),
        "{deleted}"
    );
    assert!(cluster.server.objects("pods").is_empty());
    let claims = cluster.kubectl_ok(&["get", "pvc", "-o", "name"]).await;
    assert_eq!(
        claims.lines().collect::<Vec<_>>(),
        [
            "persistentvolumeclaim/data-redis-0",
            "persistentvolumeclaim/data-redis-1"
        ]
    );
    let deleted = cluster
        .kubectl_ok(&["delete", "pvc", "data-redis-0", "data-redis-1"])
        .await;
    assert!(
        deleted.contains("persistentvolumeclaim \"data-redis-1\" deleted"),
        "{deleted}"
    );
    let none = cluster.kubectl(&["get", "pvc"]).await;
    assert!(none.success);
    assert!(
        none.stderr.contains("No resources found"),
        "{}",
        none.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollout_status_waits_on_a_claim_that_cannot_bind() {
    require_kubectl();
    let cluster = Cluster::start().await;
    let manifest = redis("redis:7.4").replace(
        "accessModes: [ReadWriteOnce]",
        "accessModes: [ReadWriteOnce]\n      storageClassName: no-provisioner",
    );
    let file = cluster.write("redis.yaml", &manifest);
    cluster
        .kubectl_ok(&["apply", "--server-side", "-f", path_str(&file)])
        .await;
    let stuck = cluster
        .kubectl(&["rollout", "status", "statefulset/redis", "--timeout=2s"])
        .await;
    assert!(!stuck.success, "{}", stuck.stdout);
    assert!(
        stuck.stdout.contains("Waiting for 2 pods to be ready"),
        "{}",
        stuck.stdout
    );
    let claims = cluster.kubectl_ok(&["get", "pvc"]).await;
    assert_eq!(row(&claims, "data-redis-0")[1], "Pending", "{claims}");
    let described = cluster
        .kubectl_ok(&[
            "get",
            "events",
            "--field-selector",
            "reason=FailedScheduling",
        ])
        .await;
    assert!(described.contains("pod/redis-0"), "{described}");
}
