//! `zeppelin deploy` and the other cluster commands, run as the real binary against the
//! test API server (`zeppelin-kubefake`), or against a real cluster when
//! `ZEPPELIN_E2E_KUBECONFIG` names its kubeconfig.
//!
//! Each test deploys an app of its own name (so its own namespace), inspects the world
//! through kube-rs, and deletes the app at the end. Tests that need the fake's simulated
//! crash are skipped on a real cluster.

mod harness;

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use harness::cluster;
use harness::snapshot;
use harness::sub::Sub;
use harness::{TestDir, code};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};
use zeppelin_kubefake::FakeApiServer;

/// Images that exist on a real cluster, run as non-root, and need no command.
const IMAGE_V1: &str = "registry.k8s.io/pause:3.10";
const IMAGE_V2: &str = "registry.k8s.io/pause:3.9";
/// An image no registry has (and the fake's pull-failure marker).
const MISSING_IMAGE: &str = "registry.k8s.io/does-not-exist:1";

/// A cluster to deploy into, a folder for the app file, and a client to inspect the world.
struct World {
    dir: TestDir,
    kubeconfig: PathBuf,
    fake: Option<FakeApiServer>,
    runtime: tokio::runtime::Runtime,
    client: kube::Client,
    app: String,
}

impl World {
    fn new(app: &str) -> Self {
        let dir = TestDir::new();
        let (kubeconfig, fake) = match std::env::var_os("ZEPPELIN_E2E_KUBECONFIG") {
            Some(path) => (PathBuf::from(path), None),
            None => {
                let (fake, path) = cluster::start_fake(dir.path());
                (path, Some(fake))
            }
        };
        let (runtime, client) = cluster::connect(&kubeconfig);
        Self {
            dir,
            kubeconfig,
            fake,
            runtime,
            client,
            app: app.to_owned(),
        }
    }

    fn is_fake(&self) -> bool {
        self.fake.is_some()
    }

    /// Writes the app file.
    fn app_file(&self, body: &str) {
        self.dir
            .write("zeppelin.toml", &format!("name = \"{}\"\n{body}", self.app));
    }

    fn command(&self, args: &[&str]) -> assert_cmd::Command {
        harness::cluster::zeppelin(self.dir.path(), &self.kubeconfig, args)
    }

    fn zeppelin(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// `zeppelin ARGS`, which must succeed; returns stderr.
    fn ok(&self, args: &[&str]) -> String {
        harness::cluster::ok(self.dir.path(), &self.kubeconfig, args)
    }

    /// One object in the app's namespace, as JSON, if it exists.
    fn get(&self, group: &str, version: &str, kind: &str, name: &str) -> Option<Value> {
        self.get_in(&self.app, group, version, kind, name)
    }

    fn get_in(
        &self,
        namespace: &str,
        group: &str,
        version: &str,
        kind: &str,
        name: &str,
    ) -> Option<Value> {
        let ar = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
        let api: Api<DynamicObject> = if kind == "Namespace" {
            Api::all_with(self.client.clone(), &ar)
        } else {
            Api::namespaced_with(self.client.clone(), namespace, &ar)
        };
        self.runtime
            .block_on(api.get_opt(name))
            .expect("the object can be read")
            .map(|o| serde_json::to_value(o).unwrap())
    }

    fn deployment(&self, name: &str) -> Option<Value> {
        self.get("apps", "v1", "Deployment", name)
    }

    fn config_map(&self, name: &str) -> Option<Value> {
        self.get("", "v1", "ConfigMap", name)
    }

    /// Server-side applies `object` as another field manager.
    fn apply_as(&self, manager: &str, group: &str, version: &str, kind: &str, object: &Value) {
        let ar = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
        let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), &self.app, &ar);
        let name = object["metadata"]["name"].as_str().unwrap();
        self.runtime
            .block_on(api.patch(
                name,
                &PatchParams::apply(manager).force(),
                &Patch::Apply(object),
            ))
            .expect("the other manager's apply succeeds");
    }
}

impl Drop for World {
    fn drop(&mut self) {
        if !self.is_fake() {
            // Leave a real cluster as it was found.
            let _ = self.zeppelin(&["delete"]);
        }
    }
}

/// The app most tests deploy: a conf value, `api` (two replicas) and `web` (which
/// overrides the conf value).
fn two_subs(api_image: &str, web_image: &str, greeting: &str) -> String {
    format!(
        "\n[conf]\nGREETING = \"{greeting}\"\n\n{}\n{}",
        Sub::image("api", api_image).replicas(2),
        Sub::image("web", web_image).field("env", r#"{ GREETING = "its own" }"#),
    )
}

/// `autoscale` between 2 and 4 replicas at 70 % CPU.
const AUTOSCALE: &str = "{ min = 2, max = 4, cpu_percent = 70 }";

fn generation(deployment: &Value) -> i64 {
    deployment["metadata"]["generation"].as_i64().unwrap()
}

fn image(deployment: &Value) -> &str {
    deployment["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn first_deploy_rolls_out_and_a_redeploy_changes_nothing() {
    let world = World::new("t-first");
    world.app_file(&two_subs(IMAGE_V1, IMAGE_V1, "hello"));
    let first = world.ok(&["deploy", "--timeout", "2m"]);
    assert!(first.contains("Deployment/api created"), "{first}");
    assert!(first.contains("recorded revision 1"), "{first}");
    assert!(first.contains("rolled out"), "{first}");
    let api = world.deployment("api").expect("the Deployment exists");
    assert_eq!(api["status"]["availableReplicas"], 2, "{api}");
    let managers: Vec<&str> = api["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert!(managers.contains(&"zeppelin"), "{managers:?}");

    let versions = |w: &World| {
        (
            w.deployment("api").unwrap()["metadata"]["resourceVersion"].clone(),
            w.deployment("web").unwrap()["metadata"]["resourceVersion"].clone(),
            w.config_map("t-first-conf").unwrap()["metadata"]["resourceVersion"].clone(),
        )
    };
    let before = versions(&world);
    let again = world.ok(&["deploy", "--timeout", "2m"]);
    assert!(again.contains(" 0 created, 0 configured"), "{again}");
    assert!(!again.contains("recorded revision"), "{again}");
    assert_eq!(
        versions(&world),
        before,
        "a no-op redeploy changed an object"
    );
    let history = world.zeppelin(&["history"]);
    assert_eq!(stdout(&history).lines().count(), 2, "{}", stdout(&history));
}

#[test]
fn a_changed_conf_value_rolls_only_the_subs_that_use_it() {
    let world = World::new("t-conf");
    world.app_file(&two_subs(IMAGE_V1, IMAGE_V1, "hello"));
    world.ok(&["deploy"]);
    let api = generation(&world.deployment("api").unwrap());
    let web = generation(&world.deployment("web").unwrap());
    world.app_file(&two_subs(IMAGE_V1, IMAGE_V1, "bonjour"));
    let out = world.ok(&["deploy"]);
    assert!(out.contains("Deployment/api configured"), "{out}");
    assert!(!out.contains("Deployment/web configured"), "{out}");
    assert_eq!(generation(&world.deployment("api").unwrap()), api + 1);
    assert_eq!(generation(&world.deployment("web").unwrap()), web);
    let conf = world.config_map("t-conf-conf").unwrap();
    assert_eq!(conf["data"]["GREETING"], "bonjour");
}

#[test]
fn an_image_that_cannot_be_pulled_fails_the_deploy_with_the_reason() {
    let world = World::new("t-pull");
    world.app_file(&two_subs(MISSING_IMAGE, IMAGE_V1, "hello"));
    let out = world.zeppelin(&["deploy", "--timeout", "2m"]);
    let text = stderr(&out);
    assert_ne!(code(&out), 0, "{text}");
    assert!(text.contains("sub `api` did not roll out"), "{text}");
    assert!(
        text.contains("ImagePullBackOff") || text.contains("ErrImagePull"),
        "{text}"
    );
    assert!(text.contains("check the image name"), "{text}");
    let history = stdout(&world.zeppelin(&["history"]));
    assert!(history.contains("failed"), "{history}");
    let ps = stdout(&world.zeppelin(&["ps", "--k8s"]));
    assert!(
        ps.contains("pending (ImagePullBackOff)") || ps.contains("pending (ErrImagePull)"),
        "{ps}"
    );
}

#[test]
fn a_crashing_container_fails_the_deploy_with_its_last_log_lines() {
    let world = World::new("t-crash");
    if !world.is_fake() {
        // A real cluster would need an image that crashes on purpose.
        return;
    }
    world.app_file(&two_subs("acme/api:crashloop", IMAGE_V1, "hello"));
    let out = world.zeppelin(&["deploy", "--timeout", "1m"]);
    let text = stderr(&out);
    assert_ne!(code(&out), 0, "{text}");
    assert!(text.contains("CrashLoopBackOff"), "{text}");
    assert!(text.contains("last log lines of container api"), "{text}");
    assert!(text.contains("      | "), "{text}");
}

#[test]
fn atomic_rolls_back_a_failed_rollout() {
    let world = World::new("t-atomic");
    world.app_file(&two_subs(IMAGE_V1, IMAGE_V1, "hello"));
    world.ok(&["deploy"]);
    world.app_file(&two_subs(MISSING_IMAGE, IMAGE_V1, "hello"));
    let out = world.zeppelin(&["deploy", "--atomic", "--timeout", "2m"]);
    let text = stderr(&out);
    assert_ne!(code(&out), 0, "{text}");
    assert!(text.contains("rolled back to revision 1"), "{text}");
    assert!(text.contains("did not roll out"), "{text}");
    let api = world.deployment("api").unwrap();
    assert_eq!(image(&api), IMAGE_V1);
    let history = stdout(&world.zeppelin(&["history"]));
    assert!(history.contains("rollback to 1"), "{history}");
}

#[test]
fn prune_removes_a_dropped_sub_and_nothing_else() {
    let world = World::new("t-prune");
    world.app_file(&two_subs(IMAGE_V1, IMAGE_V1, "hello"));
    world.ok(&["deploy"]);
    // Objects zeppelin must never touch: one without labels, one of another app.
    let foreign = |name: &str, labels: Value| {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": name, "namespace": "t-prune", "labels": labels},
               "data": {"k": "v"}})
    };
    world.apply_as(
        "kubectl",
        "",
        "v1",
        "ConfigMap",
        &foreign("hand-made", json!({})),
    );
    world.apply_as(
        "kubectl",
        "",
        "v1",
        "ConfigMap",
        &foreign(
            "other-app",
            json!({"app.kubernetes.io/managed-by": "zeppelin", "app.kubernetes.io/instance": "other"}),
        ),
    );
    world.app_file(&format!(
        "\n[conf]\nGREETING = \"hello\"\n\n{}",
        Sub::image("api", IMAGE_V1).replicas(2)
    ));
    let diff = world.zeppelin(&["diff"]);
    assert_eq!(code(&diff), 1, "{}", stderr(&diff));
    assert!(
        stdout(&diff).contains("- Deployment/web (pruned"),
        "{}",
        stdout(&diff)
    );
    assert!(!stdout(&diff).contains("hand-made"), "{}", stdout(&diff));
    let out = world.ok(&["deploy"]);
    assert!(out.contains("Deployment/web pruned"), "{out}");
    assert!(world.deployment("web").is_none());
    assert!(world.deployment("api").is_some());
    assert!(world.config_map("hand-made").is_some());
    assert!(world.config_map("other-app").is_some());
    assert!(world.config_map("t-prune-conf").is_some());
}

#[test]
fn no_prune_keeps_a_dropped_sub() {
    let world = World::new("t-noprune");
    world.app_file(&two_subs(IMAGE_V1, IMAGE_V1, "hello"));
    world.ok(&["deploy", "--no-wait"]);
    world.app_file(&format!("\n{}", Sub::image("api", IMAGE_V1)));
    let out = world.ok(&["deploy", "--no-wait", "--no-prune"]);
    assert!(!out.contains("pruned:"), "{out}");
    assert!(world.deployment("web").is_some());
}

#[test]
fn a_conflict_names_the_field_and_the_manager_and_force_takes_over() {
    let world = World::new("t-conflict");
    world.app_file(&two_subs(IMAGE_V1, IMAGE_V1, "hello"));
    world.ok(&["deploy"]);
    world.apply_as(
        "ops-team",
        "apps",
        "v1",
        "Deployment",
        &json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "api", "namespace": "t-conflict"},
                "spec": {"replicas": 3}}),
    );
    let out = world.zeppelin(&["deploy"]);
    let text = stderr(&out);
    assert_ne!(code(&out), 0, "{text}");
    assert!(text.contains("Deployment/api conflicts"), "{text}");
    assert!(
        text.contains(".spec.replicas is owned by \"ops-team\""),
        "{text}"
    );
    assert!(text.contains("--force-conflicts"), "{text}");
    assert_eq!(world.deployment("api").unwrap()["spec"]["replicas"], 3);
    world.ok(&["deploy", "--force-conflicts"]);
    assert_eq!(world.deployment("api").unwrap()["spec"]["replicas"], 2);
}

#[test]
fn history_lists_revisions_and_rollback_restores_one() {
    let world = World::new("t-rollback");
    world.app_file(&two_subs(IMAGE_V1, IMAGE_V1, "hello"));
    world.ok(&["deploy"]);
    world.app_file(&two_subs(IMAGE_V2, IMAGE_V1, "hello"));
    world.ok(&["deploy"]);
    assert_eq!(image(&world.deployment("api").unwrap()), IMAGE_V2);
    let history = world.zeppelin(&["history", "--format", "json"]);
    let list: Value = serde_json::from_slice(&history.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
    assert_eq!(list[0]["status"], "superseded");
    assert_eq!(list[1]["status"], "deployed");
    let out = world.ok(&["rollback"]);
    assert!(out.contains("rolled back to revision 1"), "{out}");
    assert_eq!(image(&world.deployment("api").unwrap()), IMAGE_V1);
    let out = world.ok(&["rollback", "2"]);
    assert!(out.contains("rolled back to revision 2"), "{out}");
    assert_eq!(image(&world.deployment("api").unwrap()), IMAGE_V2);
    let missing = world.zeppelin(&["rollback", "42"]);
    assert_ne!(code(&missing), 0);
    assert!(
        stderr(&missing).contains("revision 42"),
        "{}",
        stderr(&missing)
    );
}

#[test]
fn scale_changes_replicas_and_is_refused_under_an_autoscaler() {
    let world = World::new("t-scale");
    world.app_file(&format!(
        "{}\n{}",
        two_subs(IMAGE_V1, IMAGE_V1, "hello"),
        Sub::image("worker", IMAGE_V1).field("autoscale", AUTOSCALE)
    ));
    world.ok(&["deploy"]);
    world.ok(&["scale", "--k8s", "api=3"]);
    assert_eq!(world.deployment("api").unwrap()["spec"]["replicas"], 3);
    let refused = world.zeppelin(&["scale", "--k8s", "worker=5"]);
    assert_ne!(code(&refused), 0);
    let text = stderr(&refused);
    assert!(text.contains("autoscaler (min 2, max 4)"), "{text}");
    let unknown = world.zeppelin(&["scale", "--k8s", "nope=1"]);
    assert!(
        stderr(&unknown).contains("no sub named"),
        "{}",
        stderr(&unknown)
    );
}

#[test]
fn ps_reports_subs_and_pods_in_the_status_model() {
    let world = World::new("t-ps");
    world.app_file(&two_subs(IMAGE_V1, IMAGE_V1, "hello"));
    world.ok(&["deploy"]);
    let out = world.zeppelin(&["ps", "--k8s", "--format", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["runtime"], "kubernetes");
    let api = &status["subs"][0];
    assert_eq!(api["name"], "api");
    assert_eq!(api["desired"], 2);
    assert_eq!(api["updated"], 2);
    assert_eq!(api["available"], 2);
    assert_eq!(api["replicas"].as_array().unwrap().len(), 2, "{api}");
    assert_eq!(api["replicas"][0]["state"], "healthy");
    let table = world.zeppelin(&["ps", "--k8s"]);
    let text = stdout(&table);
    assert!(text.contains("DESIRED") && text.contains("POD"), "{text}");
}

#[test]
fn logs_follow_picks_up_pods_of_a_rollout() {
    let world = World::new("t-logs");
    if !world.is_fake() {
        // The pause image writes no log lines to look for.
        return;
    }
    world.app_file(&two_subs("acme/api:1", IMAGE_V1, "hello"));
    world.ok(&["deploy"]);
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("zeppelin"))
        .current_dir(world.dir.path())
        .env("KUBECONFIG", &world.kubeconfig)
        .env("NO_COLOR", "1")
        .args(["logs", "--k8s", "api", "-f"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (lines, received) = mpsc::channel();
    let pipe = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { return };
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    let wait_for = |needle: &str| {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match received.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(err) => panic!("no log line with {needle:?} within a minute: {err}"),
            }
        }
    };
    let once = world.zeppelin(&["logs", "--k8s", "api", "--tail", "5"]);
    assert_eq!(code(&once), 0, "{}", stderr(&once));
    let lines = stdout(&once);
    assert!(lines.lines().count() >= 2, "{lines}");
    assert!(
        lines
            .lines()
            .all(|l| l.starts_with("api-") && l.contains(" | ")),
        "{lines}"
    );
    let old = wait_for("(image acme/api:1)");
    assert!(old.starts_with("api-"), "{old}");
    world.app_file(&two_subs("acme/api:2", IMAGE_V1, "hello"));
    world.ok(&["deploy"]);
    let new = wait_for("(image acme/api:2)");
    assert!(new.starts_with("api-") && new.contains(" | "), "{new}");
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn delete_removes_every_object_and_waits() {
    let world = World::new("t-delete");
    world.app_file(&two_subs(IMAGE_V1, IMAGE_V1, "hello"));
    world.ok(&["deploy"]);
    let out = world.ok(&["delete"]);
    assert!(out.contains("Deployment/api deleted"), "{out}");
    assert!(world.deployment("api").is_none());
    assert!(world.get("", "v1", "Namespace", "t-delete").is_none());
    let again = world.ok(&["delete"]);
    assert!(again.contains("nothing to delete"), "{again}");
}

#[test]
fn dry_run_and_diff_change_nothing() {
    let world = World::new("t-dry");
    world.app_file(&two_subs(IMAGE_V1, IMAGE_V1, "hello"));
    world.ok(&["deploy"]);
    let same = world.ok(&["deploy", "--dry-run"]);
    assert!(same.contains(" 0 created, 0 configured"), "{same}");
    world.app_file(&two_subs(IMAGE_V2, IMAGE_V1, "hello"));
    let dry = world.ok(&["deploy", "--dry-run"]);
    assert!(
        dry.contains("Deployment/api configured (server dry run)"),
        "{dry}"
    );
    assert_eq!(image(&world.deployment("api").unwrap()), IMAGE_V1);
    let diff = world.zeppelin(&["diff"]);
    assert_eq!(code(&diff), 1, "{}", stderr(&diff));
    let text = stdout(&diff);
    assert!(text.contains("~ Deployment/api"), "{text}");
    assert!(
        text.contains(&format!("+        image: {IMAGE_V2}"))
            || text.contains(&format!("+      - image: {IMAGE_V2}")),
        "{text}"
    );
    assert!(!text.contains("Deployment/web"), "{text}");
    assert_eq!(image(&world.deployment("api").unwrap()), IMAGE_V1);
}

#[test]
fn an_unreachable_cluster_is_a_clear_error_before_anything_is_applied() {
    let dir = TestDir::new();
    let (kubeconfig, port) = harness::cluster::unreachable_kubeconfig(dir.path());
    dir.write(
        "zeppelin.toml",
        &format!(
            "name = \"t-gone\"\n{}",
            two_subs(IMAGE_V1, IMAGE_V1, "hello")
        ),
    );
    let out = assert_cmd::Command::cargo_bin("zeppelin")
        .unwrap()
        .current_dir(dir.path())
        .env("KUBECONFIG", &kubeconfig)
        .env("NO_COLOR", "1")
        .args(["deploy"])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let text = stderr(&out);
    assert_ne!(code(&out), 0);
    assert!(
        text.contains(&format!(
            "cannot reach the cluster at http://127.0.0.1:{port}"
        )),
        "{text}"
    );
    assert!(!text.contains("created"), "{text}");
}

#[test]
fn a_missing_api_is_a_clear_error_before_anything_is_applied() {
    let world = World::new("t-noapi");
    let Some(fake) = &world.fake else {
        // A real cluster serves autoscaling/v2 since Kubernetes 1.23.
        return;
    };
    fake.hide_api("autoscaling/v2");
    world.app_file(&format!(
        "\n{}",
        Sub::image("web", IMAGE_V1).field("autoscale", AUTOSCALE)
    ));
    let out = world.zeppelin(&["deploy"]);
    let text = stderr(&out);
    assert_ne!(code(&out), 0, "{text}");
    assert!(
        text.contains("has no HorizontalPodAutoscaler API (autoscaling/v2)"),
        "{text}"
    );
    assert!(
        world.get("", "v1", "Namespace", "t-noapi").is_none(),
        "{text}"
    );
}

#[test]
fn a_first_dry_run_stores_nothing() {
    let world = World::new("t-dryfirst");
    world.app_file(&two_subs(IMAGE_V1, IMAGE_V1, "hello"));
    let out = world.ok(&["deploy", "--dry-run"]);
    assert!(
        out.contains("Namespace/t-dryfirst created (server dry run)"),
        "{out}"
    );
    assert!(
        out.contains("Deployment/api created (server dry run)"),
        "{out}"
    );
    assert!(world.get("", "v1", "Namespace", "t-dryfirst").is_none());
    let history = world.zeppelin(&["history", "--format", "json"]);
    assert_eq!(stdout(&history).trim(), "[]", "{}", stderr(&history));
}

#[test]
fn credentials_that_cannot_be_had_are_a_clear_error() {
    let world = World::new("t-auth");
    let Some(fake) = &world.fake else {
        // The kubeconfig below points at the test server.
        return;
    };
    // An exec credential plugin that fails, as an expired single sign-on session does.
    let kubeconfig = world.dir.write(
        "expired.kubeconfig",
        &format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {}\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\nusers:\n- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: \"false\"\n      interactiveMode: Never\n",
            fake.url()
        ),
    );
    world.app_file(&two_subs(IMAGE_V1, IMAGE_V1, "hello"));
    let out = world
        .command(&["deploy"])
        .env("KUBECONFIG", &kubeconfig)
        .output()
        .unwrap();
    let text = stderr(&out);
    assert_ne!(code(&out), 0, "{text}");
    assert!(text.contains("refused the credentials"), "{text}");
    assert!(
        world.get("", "v1", "Namespace", "t-auth").is_none(),
        "{text}"
    );
}

#[test]
fn a_deploy_that_waits_settles_a_revision_applied_without_waiting() {
    let world = World::new("t-settle");
    world.app_file(&two_subs(IMAGE_V1, IMAGE_V1, "hello"));
    let out = world.ok(&["deploy", "--no-wait"]);
    assert!(out.contains("applied, not waited for"), "{out}");
    let status = |w: &World| {
        let out = w.zeppelin(&["history", "--format", "json"]);
        let list: Value = serde_json::from_slice(&out.stdout).unwrap();
        (list.as_array().unwrap().len(), list[0]["status"].clone())
    };
    assert_eq!(status(&world), (1, json!("applied")));
    world.ok(&["deploy"]);
    assert_eq!(status(&world), (1, json!("deployed")));
}

#[test]
fn a_rollout_that_does_not_finish_in_time_fails_with_what_it_waited_for() {
    let world = World::new("t-timeout");
    let Some(fake) = &world.fake else {
        // A real cluster's controllers cannot be paused.
        return;
    };
    fake.set_controllers(false);
    world.app_file(&two_subs(IMAGE_V1, IMAGE_V1, "hello"));
    let out = world.zeppelin(&["deploy", "--timeout", "2s"]);
    let text = stderr(&out);
    assert_ne!(code(&out), 0, "{text}");
    assert!(
        text.contains("timed out after 2s waiting for api, web"),
        "{text}"
    );
    assert!(
        text.contains("sub `api` did not roll out: still waiting for the controller"),
        "{text}"
    );
}

#[test]
fn secrets_are_applied_and_diffed_without_showing_their_values() {
    let world = World::new("t-secret");
    world.app_file(&format!(
        "{}\n[secrets]\nTOKEN = {{ env = \"T_SECRET_TOKEN\" }}\n",
        two_subs(IMAGE_V1, IMAGE_V1, "hello")
    ));
    let deploy = |value: &str| {
        let out = world
            .command(&["deploy"])
            .env("T_SECRET_TOKEN", value)
            .output()
            .unwrap();
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    };
    deploy("first-value");
    let secret = world.get("", "v1", "Secret", "t-secret-secrets").unwrap();
    assert!(secret["data"]["TOKEN"].is_string(), "{secret}");
    let api = generation(&world.deployment("api").unwrap());
    let diff = world
        .command(&["diff"])
        .env("T_SECRET_TOKEN", "second-value")
        .output()
        .unwrap();
    let text = stdout(&diff);
    assert_eq!(code(&diff), 1, "{}", stderr(&diff));
    assert!(text.contains("~ Secret/t-secret-secrets"), "{text}");
    assert!(text.contains("(hidden, sha256 "), "{text}");
    for shown in [
        "first-value",
        "second-value",
        "Zmlyc3QtdmFsdWU",
        "c2Vjb25kLXZhbHVl",
    ] {
        assert!(
            !text.contains(shown),
            "the diff shows a secret value:\n{text}"
        );
    }
    deploy("second-value");
    assert_eq!(generation(&world.deployment("api").unwrap()), api + 1);
}

#[test]
fn namespace_flag_deploys_the_app_elsewhere() {
    let world = World::new("t-ns");
    world.app_file(&two_subs(IMAGE_V1, IMAGE_V1, "hello"));
    world.ok(&["--namespace", "t-ns-staging", "deploy"]);
    assert!(
        world
            .get_in("t-ns-staging", "apps", "v1", "Deployment", "api")
            .is_some()
    );
    assert!(world.deployment("api").is_none());
    let ps = world.zeppelin(&[
        "ps",
        "--k8s",
        "--namespace",
        "t-ns-staging",
        "--format",
        "json",
    ]);
    let status: Value = serde_json::from_slice(&ps.stdout).unwrap();
    assert_eq!(status["subs"].as_array().unwrap().len(), 2, "{status}");
    world.ok(&["delete", "--namespace", "t-ns-staging"]);
    assert!(
        world
            .get_in("t-ns-staging", "apps", "v1", "Deployment", "api")
            .is_none()
    );
}

#[test]
fn namespace_flag_renders_the_app_elsewhere() {
    let world = World::new("t-ns-render");
    world.app_file(&two_subs(IMAGE_V1, IMAGE_V1, "hello"));
    let out = world.zeppelin(&["--namespace", "t-ns-other", "render"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("namespace: t-ns-other"), "{text}");
    assert!(!text.contains("namespace: t-ns-render"), "{text}");
}

/// What a user sees from a first `deploy`, a redeploy that changes nothing, `delete` and a
/// second `delete`: exit code, stdout and stderr of each, with times and generated names
/// filtered. One sub, so the order of the rollout lines does not depend on which sub
/// finishes first.
#[test]
fn deploy_and_delete_print_what_a_user_sees() {
    let world = World::new("t-snap");
    if !world.is_fake() {
        // A real cluster reports other progress along the way.
        return;
    }
    world.app_file(&format!(
        "\n[conf]\nGREETING = \"hello\"\n\n{}",
        Sub::image("api", IMAGE_V1).replicas(2)
    ));
    let settings = snapshot::settings(&[world.dir.path()]);
    crate::zeppelin_snapshot!("deploy_first", settings, world.zeppelin(&["deploy"]));
    crate::zeppelin_snapshot!("deploy_again", settings, world.zeppelin(&["deploy"]));
    crate::zeppelin_snapshot!("delete", settings, world.zeppelin(&["delete"]));
    crate::zeppelin_snapshot!("delete_again", settings, world.zeppelin(&["delete"]));
}
