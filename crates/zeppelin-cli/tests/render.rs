//! `zeppelin render` through the real binary: output on stdout, notes on stderr, files with
//! `-o`, secrets only when asked for, and errors that name what to fix.

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;

const APP: &str = r#"
name = "shop"
[conf]
LOG_LEVEL = "info"
[secrets]
TOKEN = { env = "SHOP_TEST_TOKEN" }
DB = { file = "db_password" }
[sub.api]
image = "ghcr.io/acme/api:1.0.0"
port = 8081
replicas = 2
health = { http = "/healthz" }
[sub.web]
image = "ghcr.io/acme/web:1.0.0"
port = 8080
depends_on = ["api"]
autoscale = { min = 2, max = 4 }
[[route]]
host = "shop.localhost"
sub = "web"
"#;

fn app_dir(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("zeppelin.toml"), text).unwrap();
    std::fs::write(dir.path().join("db_password"), "hunter2").unwrap();
    dir
}

fn zeppelin(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("zeppelin").unwrap();
    cmd.current_dir(dir)
        .env_remove("ZEPPELIN_FILE")
        .env_remove("SHOP_TEST_TOKEN")
        .env("NO_COLOR", "1")
        .timeout(std::time::Duration::from_secs(60));
    cmd
}

fn kinds(yaml: &str) -> Vec<String> {
    yaml.lines()
        .filter_map(|l| l.strip_prefix("kind: "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn prints_a_yaml_stream_and_says_the_secret_is_left_out() {
    let dir = app_dir(APP);
    let out = zeppelin(dir.path()).arg("render").assert().success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(
        stdout.starts_with("---\napiVersion: v1\nkind: Namespace\n"),
        "{stdout}"
    );
    assert_eq!(
        kinds(&stdout),
        [
            "Namespace",
            "ServiceAccount",
            "ConfigMap",
            "Service",
            "Service",
            "Deployment",
            "Deployment",
            "PodDisruptionBudget",
            "PodDisruptionBudget",
            "HorizontalPodAutoscaler",
            "NetworkPolicy",
            "NetworkPolicy",
            "NetworkPolicy",
            "NetworkPolicy",
            "Ingress",
        ]
    );
    assert!(!stdout.contains("hunter2"));
    assert!(stderr.contains("`shop-secrets` is left out"), "{stderr}");
    assert!(stderr.contains("--include-secrets"), "{stderr}");
    assert!(stderr.contains("warning: sub `api`: image"), "{stderr}");
}

#[test]
fn the_same_app_renders_the_same_bytes() {
    let dir = app_dir(APP);
    let first = zeppelin(dir.path()).arg("render").output().unwrap().stdout;
    let second = zeppelin(dir.path()).arg("render").output().unwrap().stdout;
    assert!(!first.is_empty());
    assert_eq!(first, second);
}

#[test]
fn include_secrets_reads_env_and_files() {
    let dir = app_dir(APP);
    let out = zeppelin(dir.path())
        .args(["render", "--include-secrets"])
        .env("SHOP_TEST_TOKEN", "t0ken")
        .assert()
        .success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(kinds(&stdout).contains(&"Secret".to_owned()));
    // base64 of "hunter2" and "t0ken".
    assert!(stdout.contains("DB: aHVudGVyMg=="), "{stdout}");
    assert!(stdout.contains("TOKEN: dDBrZW4="), "{stdout}");
    assert!(!String::from_utf8_lossy(&out.get_output().stderr).contains("left out"));
}

#[test]
fn include_secrets_with_a_missing_variable_names_it() {
    let dir = app_dir(APP);
    zeppelin(dir.path())
        .args(["render", "--include-secrets"])
        .assert()
        .failure()
        .stdout(predicate::str::is_empty())
        .stderr(
            predicate::str::contains("`TOKEN`").and(predicate::str::contains("`SHOP_TEST_TOKEN`")),
        );
}

#[test]
fn json_is_a_kubernetes_list() {
    let dir = app_dir(APP);
    let out = zeppelin(dir.path())
        .args(["render", "--format", "json"])
        .assert()
        .success();
    let list: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(list["kind"], "List");
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 15);
    assert_eq!(items[0]["kind"], "Namespace");
    assert!(
        items
            .iter()
            .all(|i| i["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "zeppelin")
    );
}

#[test]
fn output_dir_gets_one_file_per_object_in_apply_order() {
    let dir = app_dir(APP);
    zeppelin(dir.path())
        .args(["render", "-o", "manifests"])
        .assert()
        .success()
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("wrote 15 objects"));
    let mut names: Vec<String> = std::fs::read_dir(dir.path().join("manifests"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 15);
    assert_eq!(names[0], "01-namespace-shop.yaml");
    assert_eq!(names[14], "15-ingress-shop.yaml");
    let deployment =
        std::fs::read_to_string(dir.path().join("manifests/06-deployment-api.yaml")).unwrap();
    assert!(
        deployment.starts_with("apiVersion: apps/v1\nkind: Deployment\n"),
        "{deployment}"
    );
}

#[test]
fn a_sub_without_image_is_refused_by_name() {
    let dir = app_dir("name = \"shop\"\n[sub.api]\nrun = \"./api\"\nport = 8081\n");
    zeppelin(dir.path())
        .arg("render")
        .assert()
        .failure()
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("sub `api` has no image"));
}

#[test]
fn an_invalid_app_file_is_explained_not_rendered() {
    let dir = app_dir("name = \"Shop!\"\n");
    zeppelin(dir.path())
        .arg("render")
        .assert()
        .failure()
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("zeppelin.toml"));
}

#[test]
fn renders_the_shop_example() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/shop/zeppelin.toml");
    let dir = tempfile::tempdir().unwrap();
    let out = zeppelin(dir.path())
        .arg("render")
        .arg("-f")
        .arg(&example)
        .assert()
        .success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert_eq!(
        kinds(&stdout).iter().filter(|k| *k == "Deployment").count(),
        3
    );
}

#[test]
fn output_dir_drops_files_of_objects_no_longer_rendered() {
    let dir = app_dir(APP);
    zeppelin(dir.path())
        .args(["render", "-o", "out"])
        .assert()
        .success();
    std::fs::write(dir.path().join("out/README.md"), "mine").unwrap();
    let fewer = APP.replace("[[route]]\nhost = \"shop.localhost\"\nsub = \"web\"\n", "");
    std::fs::write(dir.path().join("zeppelin.toml"), fewer).unwrap();
    zeppelin(dir.path())
        .args(["render", "-o", "out"])
        .assert()
        .success()
        .stderr(
            predicate::str::contains("wrote 14 objects")
                .and(predicate::str::contains("removed 1 files")),
        );
    let out = dir.path().join("out");
    assert!(!out.join("15-ingress-shop.yaml").exists());
    assert!(
        out.join("README.md").exists(),
        "files render did not write are kept"
    );
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 15);
}

fn hashes(stdout: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter(|l| l.contains("zeppelin.dev/config-hash"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_config_hash_covers_secret_values_even_when_the_secret_is_left_out() {
    let dir = app_dir(APP);
    let render = |args: &[&str], token: Option<&str>| {
        let mut cmd = zeppelin(dir.path());
        cmd.args(args);
        if let Some(token) = token {
            cmd.env("SHOP_TEST_TOKEN", token);
        }
        cmd.output().unwrap()
    };
    let left_out = render(&["render"], Some("one"));
    let included = render(&["render", "--include-secrets"], Some("one"));
    let changed = render(&["render"], Some("two"));
    assert!(left_out.status.success() && included.status.success());
    assert_eq!(hashes(&left_out.stdout).len(), 2);
    assert_eq!(hashes(&left_out.stdout), hashes(&included.stdout));
    assert_ne!(hashes(&left_out.stdout), hashes(&changed.stdout));
    let unreadable = render(&["render"], None);
    assert!(unreadable.status.success());
    assert!(String::from_utf8_lossy(&unreadable.stderr).contains("`SHOP_TEST_TOKEN`"));
}

#[test]
fn renders_the_guestbook_example_with_redis_as_a_statefulset() {
    let example =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/guestbook/zeppelin.toml");
    let dir = tempfile::tempdir().unwrap();
    let out = zeppelin(dir.path())
        .arg("render")
        .arg("-f")
        .arg(&example)
        .assert()
        .success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert_eq!(
        kinds(&stdout),
        [
            "Namespace",
            "ServiceAccount",
            "Service",
            "Service",
            "Service",
            "Deployment",
            "StatefulSet",
            "PodDisruptionBudget",
            "NetworkPolicy",
            "NetworkPolicy",
            "NetworkPolicy",
            "NetworkPolicy",
            "Ingress",
        ]
    );
    assert!(
        stderr.contains("warning: sub `redis`: runs a single replica"),
        "{stderr}"
    );
    insta::assert_snapshot!("guestbook", stdout);
}

#[test]
fn a_volume_without_size_is_refused_naming_sub_and_volume() {
    let dir = app_dir(
        "name = \"guestbook\"\n[sub.redis]\nimage = \"redis:7.4\"\nport = 6379\nvolumes = { data = { path = \"/data\" } }\n",
    );
    zeppelin(dir.path())
        .arg("render")
        .assert()
        .failure()
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains(
            "volume `data` of sub `redis` has no `size`",
        ));
}

#[test]
fn output_dir_names_the_statefulset_file_and_clears_it_when_the_sub_turns_stateless() {
    let stateful = "name = \"guestbook\"\n[sub.redis]\nimage = \"redis:7.4\"\nport = 6379\nvolumes = { data = { path = \"/data\", size = \"1Gi\" } }\n";
    let dir = app_dir(stateful);
    zeppelin(dir.path())
        .args(["render", "-o", "out"])
        .assert()
        .success();
    let out = dir.path().join("out");
    let set = std::fs::read_to_string(out.join("05-statefulset-redis.yaml")).unwrap();
    assert!(
        set.starts_with("apiVersion: apps/v1\nkind: StatefulSet\n"),
        "{set}"
    );
    assert!(out.join("04-service-redis-pods.yaml").exists());
    let stateless = stateful.replace(
        "volumes = { data = { path = \"/data\", size = \"1Gi\" } }\n",
        "",
    );
    std::fs::write(dir.path().join("zeppelin.toml"), stateless).unwrap();
    zeppelin(dir.path())
        .args(["render", "-o", "out"])
        .assert()
        .success();
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(
        names
            .iter()
            .all(|n| !n.contains("statefulset") && !n.contains("redis-pods")),
        "{names:?}"
    );
    assert!(
        names.iter().any(|n| n.ends_with("-deployment-redis.yaml")),
        "{names:?}"
    );
}
