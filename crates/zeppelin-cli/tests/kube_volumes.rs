//! The data of stateful subs on Kubernetes, through the real binary against the test API
//! server (`zeppelin-kubefake`): `examples/guestbook` deployed with its Redis claim bound
//! and its `StatefulSet` waited for; the claim kept (and named, with the command that deletes
//! it) when Redis leaves the file, on a rollback to a revision without it, on `scale` to
//! zero and on `delete`; deleted only by `delete --delete-data`, confirmed. A claim that
//! cannot bind fails the deploy within `--timeout`, saying why.
//!
//! These tests need the fake's storage-class marker and its quick binding, so they always
//! run against the fake.

mod harness;

use std::path::PathBuf;
use std::process::Output;

use harness::cluster;
use harness::{TestDir, code};
use kube::api::{Api, DynamicObject};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::Value;
use zeppelin_kubefake::FakeApiServer;

const GUESTBOOK: &str = include_str!("../../../examples/guestbook/zeppelin.toml");
const NAMESPACE: &str = "guestbook";
const CLAIM: &str = "data-redis-0";

/// The test API server, a folder with the app file, and a client to inspect the world.
struct World {
    dir: TestDir,
    kubeconfig: PathBuf,
    _fake: FakeApiServer,
    runtime: tokio::runtime::Runtime,
    client: kube::Client,
}

impl World {
    fn new() -> Self {
        let dir = TestDir::new();
        let (fake, kubeconfig) = cluster::start_fake(dir.path());
        let (runtime, client) = cluster::connect(&kubeconfig);
        Self {
            dir,
            kubeconfig,
            _fake: fake,
            runtime,
            client,
        }
    }

    fn app_file(&self, text: &str) {
        self.dir.write("zeppelin.toml", text);
    }

    fn zeppelin(&self, args: &[&str]) -> Output {
        cluster::zeppelin(self.dir.path(), &self.kubeconfig, args)
            .output()
            .unwrap()
    }

    /// `zeppelin ARGS`, which must succeed; returns stdout and stderr.
    fn ok(&self, args: &[&str]) -> (String, String) {
        let out = self.zeppelin(args);
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert_eq!(code(&out), 0, "zeppelin {args:?} failed:\n{stderr}");
        (stdout, stderr)
    }

    /// One object in the app's namespace (or a Namespace), as JSON, if it exists.
    fn get(&self, group: &str, kind: &str, name: &str) -> Option<Value> {
        let ar = ApiResource::from_gvk(&GroupVersionKind::gvk(group, "v1", kind));
        let api: Api<DynamicObject> = if kind == "Namespace" {
            Api::all_with(self.client.clone(), &ar)
        } else {
            Api::namespaced_with(self.client.clone(), NAMESPACE, &ar)
        };
        self.runtime
            .block_on(api.get_opt(name))
            .expect("the object can be read")
            .map(|o| serde_json::to_value(o).unwrap())
    }

    fn claim(&self) -> Option<Value> {
        self.get("", "PersistentVolumeClaim", CLAIM)
    }

    fn stateful_set(&self) -> Option<Value> {
        self.get("apps", "StatefulSet", "redis")
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The guestbook without Redis: its sub, the frontend's dependency on it and its
/// Kubernetes settings removed.
fn without_redis() -> String {
    let start = GUESTBOOK.find("[sub.redis]").unwrap();
    let end = GUESTBOOK.find("[sub.frontend]").unwrap();
    let text = format!("{}{}", &GUESTBOOK[..start], &GUESTBOOK[end..]);
    let text = text.replace("depends_on = [\"redis\"]\n", "");
    let cut = text.find("[kubernetes.sub.redis]").unwrap();
    text[..cut].to_owned()
}

#[test]
fn the_guestbook_keeps_its_data_until_delete_data_names_it() {
    let world = World::new();
    world.app_file(GUESTBOOK);
    let (_, first) = world.ok(&["deploy", "--timeout", "60s"]);
    assert!(first.contains("StatefulSet/redis created"), "{first}");
    assert!(first.contains("guestbook revision 1 rolled out"), "{first}");
    let claim = world.claim().expect("the claim exists");
    assert_eq!(claim["status"]["phase"], "Bound", "{claim}");
    let uid = claim["metadata"]["uid"].clone();
    let set = world.stateful_set().unwrap();
    assert_eq!(set["status"]["readyReplicas"], 1, "{set}");
    assert_eq!(
        set["status"]["currentRevision"],
        set["status"]["updateRevision"]
    );

    let (ps, _) = world.ok(&["ps", "--k8s"]);
    let redis: Vec<&str> = ps
        .lines()
        .find(|l| l.trim_start().starts_with("redis ") && l.contains("redis:6379"))
        .unwrap_or_else(|| panic!("no redis row in:\n{ps}"))
        .split_whitespace()
        .collect();
    assert_eq!(&redis[..3], ["redis", "1", "1"], "{ps}");
    assert!(ps.contains("redis-0"), "{ps}");
    let claim_row: Vec<&str> = ps
        .lines()
        .find(|l| l.contains(CLAIM))
        .unwrap_or_else(|| panic!("no claim row in:\n{ps}"))
        .split_whitespace()
        .collect();
    assert_eq!(
        claim_row,
        ["redis", "redis-0", CLAIM, "Bound", "1Gi", "standard"],
        "{ps}"
    );
    // The JSON gives each stateful replica its volumes: the claim and its bound capacity.
    let (json, _) = world.ok(&["ps", "--k8s", "--format", "json"]);
    let status: Value = serde_json::from_str(&json).expect("ps prints JSON");
    let replica = status["subs"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["replicas"].as_array().into_iter().flatten())
        .find(|r| r["name"] == "redis-0")
        .unwrap_or_else(|| panic!("no redis-0 in:\n{json}"));
    assert_eq!(
        replica["volumes"],
        serde_json::json!([{"name": "data", "path": CLAIM, "bytes": 1_073_741_824_u64, "bound": true}]),
        "{json}"
    );
    let (logs, _) = world.ok(&["logs", "--k8s", "redis"]);
    assert!(
        !logs.is_empty() && logs.lines().all(|l| l.starts_with("redis-0 | ")),
        "{logs}"
    );

    // Scaled to zero, the replica goes and its claim stays.
    let (_, scaled) = world.ok(&["scale", "--k8s", "redis=0"]);
    assert!(scaled.contains("scaled redis to 0"), "{scaled}");
    assert!(
        scaled.contains(&format!("  {CLAIM} (sub redis, 1Gi, Bound)")),
        "{scaled}"
    );
    assert_eq!(world.stateful_set().unwrap()["spec"]["replicas"], 0);
    assert!(world.claim().is_some());
    world.ok(&["deploy", "--timeout", "60s"]);
    assert_eq!(world.stateful_set().unwrap()["spec"]["replicas"], 1);

    // Redis leaves the file: its StatefulSet and Services go, its claim stays, named.
    world.app_file(&without_redis());
    let diff = world.zeppelin(&["diff"]);
    assert_eq!(code(&diff), 1, "{}", text(&diff.stderr));
    assert!(
        text(&diff.stdout).contains(
            "- StatefulSet/redis (pruned: no longer in the app; its volume claims are kept)"
        ),
        "{}",
        text(&diff.stdout)
    );
    let (_, pruned) = world.ok(&["deploy", "--timeout", "60s"]);
    for object in ["StatefulSet/redis", "Service/redis", "Service/redis-pods"] {
        assert!(pruned.contains(&format!("{object} pruned")), "{pruned}");
    }
    assert!(
        pruned.contains("kept 1 volume claim with the data of stateful subs"),
        "{pruned}"
    );
    assert!(
        pruned.contains(&format!("kubectl delete pvc -n {NAMESPACE} {CLAIM}")),
        "{pruned}"
    );
    assert!(world.stateful_set().is_none());
    assert_eq!(world.claim().unwrap()["metadata"]["uid"], uid);

    // Redis back: the same claim is mounted again. A rollback to the revision without
    // Redis prunes it again and keeps the claim.
    world.app_file(GUESTBOOK);
    world.ok(&["deploy", "--timeout", "60s"]);
    assert_eq!(world.claim().unwrap()["metadata"]["uid"], uid);
    let (history, _) = world.ok(&["history"]);
    assert!(
        history.lines().any(|l| l.trim_start().starts_with("3 ")),
        "{history}"
    );
    let (_, rolled_back) = world.ok(&["rollback", "2", "--timeout", "60s"]);
    assert!(
        rolled_back.contains("StatefulSet/redis pruned"),
        "{rolled_back}"
    );
    assert!(rolled_back.contains(CLAIM), "{rolled_back}");
    assert!(world.stateful_set().is_none());
    assert_eq!(world.claim().unwrap()["metadata"]["uid"], uid);

    // `delete` keeps the claim and the namespace that holds it.
    let (_, deleted) = world.ok(&["delete"]);
    assert!(deleted.contains("Deployment/frontend deleted"), "{deleted}");
    assert!(
        deleted.contains(&format!("  {CLAIM} (sub redis")),
        "{deleted}"
    );
    assert!(
        deleted.contains(&format!("namespace {NAMESPACE} kept")),
        "{deleted}"
    );
    assert!(
        !deleted.contains(&format!("Namespace/{NAMESPACE} deleted")),
        "{deleted}"
    );
    assert!(world.claim().is_some());
    assert!(world.get("", "Namespace", NAMESPACE).is_some());

    // Away from a terminal, deleting data needs --yes: without it nothing goes.
    let refused = world.zeppelin(&["delete", "--delete-data"]);
    let said = text(&refused.stderr);
    assert_ne!(code(&refused), 0, "{said}");
    assert!(
        said.contains("not deleting the data of guestbook"),
        "{said}"
    );
    assert!(said.contains(CLAIM), "{said}");
    assert!(said.contains("--yes"), "{said}");
    assert!(world.claim().is_some());
    assert!(world.get("", "Namespace", NAMESPACE).is_some());

    let (_, gone) = world.ok(&["delete", "--delete-data", "--yes"]);
    assert!(
        gone.contains(&format!("PersistentVolumeClaim/{CLAIM} deleted")),
        "{gone}"
    );
    assert!(
        gone.contains(&format!("Namespace/{NAMESPACE} deleted")),
        "{gone}"
    );
    assert!(world.claim().is_none());
    assert!(world.get("", "Namespace", NAMESPACE).is_none());
}

#[test]
fn a_claim_that_cannot_bind_fails_the_deploy_within_the_timeout_saying_why() {
    let world = World::new();
    world.app_file(&format!(
        "{GUESTBOOK}storage_class = \"missing-no-provisioner\"\n"
    ));
    let out = world.zeppelin(&["deploy", "--timeout", "5s", "--atomic"]);
    let said = text(&out.stderr);
    assert_ne!(code(&out), 0, "{said}");
    assert!(
        said.contains("timed out after 5s waiting for redis"),
        "{said}"
    );
    assert!(
        said.contains("did not roll out: still waiting for its volume claims to bind"),
        "{said}"
    );
    assert!(
        said.contains(&format!(
            "volume claim {CLAIM} (storage class `missing-no-provisioner`, 1Gi) is Pending and cannot bind"
        )),
        "{said}"
    );
    assert!(
        said.contains(
            "ProvisioningFailed: storageclass.storage.k8s.io \"missing-no-provisioner\" not found"
        ),
        "{said}"
    );
    assert!(said.contains("FailedScheduling"), "{said}");
    assert!(said.contains("[kubernetes.sub.redis]"), "{said}");
    // --atomic has nothing that rolled out to go back to, and says so.
    assert!(
        said.contains("no earlier revision that rolled out"),
        "{said}"
    );
    let (history, _) = world.ok(&["history"]);
    assert!(history.contains("failed"), "{history}");
    assert_eq!(world.claim().unwrap()["status"]["phase"], "Pending");
}

#[test]
fn a_changed_volume_size_is_refused_before_anything_is_applied() {
    let world = World::new();
    world.app_file(GUESTBOOK);
    world.ok(&["deploy", "--timeout", "60s"]);
    let frontend = world.get("apps", "Deployment", "frontend").unwrap();
    let set = world.stateful_set().unwrap();

    // Redis's volume grows and the frontend changes too: neither may reach the cluster.
    let changed = GUESTBOOK
        .replace("size = \"1Gi\"", "size = \"2Gi\"")
        .replace("guestbook-frontend:0.1.0", "guestbook-frontend:0.2.0");
    assert_ne!(changed, GUESTBOOK);
    world.app_file(&changed);
    let out = world.zeppelin(&["deploy", "--timeout", "60s"]);
    let said = text(&out.stderr);
    assert_ne!(code(&out), 0, "{said}");
    for line in [
        "sub `redis` changes what Kubernetes never changes on an existing StatefulSet, so nothing was applied:",
        "volume `data`: size 1Gi → 2Gi",
        "the claims it already made keep their size and storage class",
        &format!(
            "kubectl patch pvc -n {NAMESPACE} {CLAIM} -p '{{\"spec\":{{\"resources\":{{\"requests\":{{\"storage\":\"2Gi\"}}}}}}}}'"
        ),
        &format!("kubectl delete statefulset -n {NAMESPACE} redis --cascade=orphan"),
    ] {
        assert!(said.contains(line), "no {line:?} in:\n{said}");
    }
    assert!(!said.contains("configured"), "{said}");
    let unchanged = |before: &Value, after: &Value| {
        assert_eq!(
            before["metadata"]["resourceVersion"],
            after["metadata"]["resourceVersion"]
        );
    };
    unchanged(
        &frontend,
        &world.get("apps", "Deployment", "frontend").unwrap(),
    );
    unchanged(&set, &world.stateful_set().unwrap());
    assert_eq!(
        world.claim().unwrap()["spec"]["resources"]["requests"]["storage"],
        "1Gi"
    );
    let (history, _) = world.ok(&["history"]);
    assert!(
        !history.lines().any(|l| l.trim_start().starts_with("2 ")),
        "{history}"
    );

    // The way forward it gives: the StatefulSet deleted alone (as `kubectl delete
    // statefulset --cascade=orphan` does), the next deploy recreates it over the same claim.
    let uid = world.claim().unwrap()["metadata"]["uid"].clone();
    let sets: Api<DynamicObject> = Api::namespaced_with(
        world.client.clone(),
        NAMESPACE,
        &ApiResource::from_gvk(&GroupVersionKind::gvk("apps", "v1", "StatefulSet")),
    );
    world
        .runtime
        .block_on(sets.delete("redis", &kube::api::DeleteParams::orphan()))
        .expect("the StatefulSet is deleted");
    let (_, redeployed) = world.ok(&["deploy", "--timeout", "60s"]);
    assert!(
        redeployed.contains("StatefulSet/redis created"),
        "{redeployed}"
    );
    assert!(redeployed.contains("rolled out"), "{redeployed}");
    let claim = world.claim().unwrap();
    assert_eq!(claim["metadata"]["uid"], uid);
    assert_eq!(claim["spec"]["resources"]["requests"]["storage"], "1Gi");
    let set = world.stateful_set().unwrap();
    assert_eq!(
        set["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"],
        "2Gi"
    );
}

/// The guestbook with Redis stateless: no volume, so a Deployment.
fn redis_stateless() -> String {
    GUESTBOOK.replace(
        "volumes = { data = { path = \"/data\", size = \"1Gi\" } }\n",
        "",
    )
}

#[test]
fn a_leftover_deployment_does_not_stand_in_for_a_sub_turned_stateful() {
    let world = World::new();
    world.app_file(&redis_stateless());
    let (_, first) = world.ok(&["deploy", "--timeout", "60s"]);
    assert!(first.contains("Deployment/redis created"), "{first}");
    let generation =
        world.get("apps", "Deployment", "redis").unwrap()["metadata"]["generation"].clone();

    // Redis turns stateful, but nothing is deployed yet: scale names the mismatch rather
    // than scaling the Deployment.
    world.app_file(&format!(
        "{GUESTBOOK}storage_class = \"missing-no-provisioner\"\n"
    ));
    let refused = world.zeppelin(&["scale", "--k8s", "redis=2"]);
    let said = text(&refused.stderr);
    assert_ne!(code(&refused), 0, "{said}");
    assert!(
        said.contains("`redis` is a StatefulSet in the app file, but namespace guestbook has only a Deployment `redis`"),
        "{said}"
    );
    let deployment = world.get("apps", "Deployment", "redis").unwrap();
    assert_eq!(
        deployment["metadata"]["generation"], generation,
        "{deployment}"
    );

    // Deployed without pruning, the old Deployment stays ready while the StatefulSet's pod
    // waits for a claim that cannot bind: the wait judges the StatefulSet.
    let out = world.zeppelin(&["deploy", "--no-prune", "--timeout", "5s"]);
    let said = text(&out.stderr);
    assert_ne!(code(&out), 0, "{said}");
    assert!(said.contains("StatefulSet/redis created"), "{said}");
    assert!(
        said.contains("timed out after 5s waiting for redis"),
        "{said}"
    );
    assert!(said.contains("redis: 0/1 ready"), "{said}");
    assert!(!said.contains("guestbook revision 2 rolled out"), "{said}");
    assert!(world.get("apps", "Deployment", "redis").is_some());
}

/// The guestbook with Redis on an image the test API server makes crash.
fn redis_crashing() -> String {
    GUESTBOOK.replace("image = \"redis:7.4\"", "image = \"redis:crashloop\"")
}

/// The image and revision of `redis-0`, and the `StatefulSet`'s update revision.
fn redis_pod(world: &World) -> (Value, Value, Value) {
    let pod = world.get("", "Pod", "redis-0").expect("redis-0 exists");
    let set = world.stateful_set().unwrap();
    (
        pod["spec"]["containers"][0]["image"].clone(),
        pod["metadata"]["labels"]["controller-revision-hash"].clone(),
        set["status"]["updateRevision"].clone(),
    )
}

#[test]
fn a_crashing_stateful_deploy_fails_fast_and_rolls_back_past_the_broken_pod() {
    let world = World::new();
    world.app_file(GUESTBOOK);
    world.ok(&["deploy", "--timeout", "60s"]);
    let uid = world.claim().unwrap()["metadata"]["uid"].clone();

    world.app_file(&redis_crashing());
    let out = world.zeppelin(&["deploy", "--atomic", "--timeout", "20s"]);
    let said = text(&out.stderr);
    assert_ne!(code(&out), 0, "{said}");
    assert!(
        said.contains("sub `redis` did not roll out: CrashLoopBackOff"),
        "{said}"
    );
    assert!(!said.contains("timed out"), "{said}");
    assert!(
        said.contains(&format!(
            "deleted pod redis-0 stuck on the failed revision; its claim {CLAIM} is kept"
        )),
        "{said}"
    );
    assert!(
        said.contains("the app was rolled back to revision 1"),
        "{said}"
    );
    let (image, revision, update) = redis_pod(&world);
    assert_eq!(image, "redis:7.4");
    assert_eq!(revision, update);
    assert_eq!(world.claim().unwrap()["metadata"]["uid"], uid);

    // A failed deploy without --atomic, then the corrected one: it gets past the broken pod.
    let failed = world.zeppelin(&["deploy", "--timeout", "20s"]);
    assert_ne!(code(&failed), 0, "{}", text(&failed.stderr));
    world.app_file(GUESTBOOK);
    let (_, fixed) = world.ok(&["deploy", "--timeout", "20s"]);
    assert!(fixed.contains("deleted pod redis-0"), "{fixed}");
    let (image, revision, update) = redis_pod(&world);
    assert_eq!(image, "redis:7.4");
    assert_eq!(revision, update);
    assert_eq!(world.claim().unwrap()["metadata"]["uid"], uid);
}

#[test]
fn delete_data_leaves_another_apps_claim_and_the_namespace_holding_it() {
    let world = World::new();
    world.app_file(GUESTBOOK);
    world.ok(&["deploy", "--timeout", "60s"]);
    let claims: Api<k8s_openapi::api::core::v1::PersistentVolumeClaim> =
        Api::namespaced(world.client.clone(), NAMESPACE);
    let foreign = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "someone-elses-data"},
        "spec": {"accessModes": ["ReadWriteOnce"],
                 "resources": {"requests": {"storage": "1Gi"}}},
    }))
    .unwrap();
    world
        .runtime
        .block_on(claims.create(&kube::api::PostParams::default(), &foreign))
        .expect("the other claim is created");

    let (_, gone) = world.ok(&["delete", "--delete-data", "--yes"]);
    assert!(
        gone.contains(&format!("PersistentVolumeClaim/{CLAIM} deleted")),
        "{gone}"
    );
    assert!(!gone.contains("someone-elses-data deleted"), "{gone}");
    assert!(
        gone.contains(&format!(
            "namespace {NAMESPACE} kept: it still holds volume claims (someone-elses-data)"
        )),
        "{gone}"
    );
    assert!(world.claim().is_none());
    assert!(
        world
            .get("", "PersistentVolumeClaim", "someone-elses-data")
            .is_some()
    );
    assert!(world.get("", "Namespace", NAMESPACE).is_some());
}
