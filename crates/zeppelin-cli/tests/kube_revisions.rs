//! Revisions through the real binary against the test API server (`zeppelin-kubefake`):
//! they hold no secret values, `rollback` reads each secret from its source now (warning
//! when it differs from the revision's, refusing when it cannot be read), revisions written
//! before that still roll back, and a 200-sub app's revision fits.

mod harness;

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use harness::cluster;
use harness::{TestDir, code};
use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams, PostParams};
use serde_json::Value;
use sha2::Digest as _;
use zeppelin_kubefake::FakeApiServer;

const IMAGE_V1: &str = "registry.k8s.io/pause:3.10";
const IMAGE_V2: &str = "registry.k8s.io/pause:3.9";
const VAR: &str = "T_REV_TOKEN";
const FIRST: &str = "first-secret-value";
const SECOND: &str = "second-secret-value";

/// The test API server, a folder with the app file, and a client to inspect the world.
struct World {
    dir: TestDir,
    kubeconfig: PathBuf,
    fake: FakeApiServer,
    runtime: tokio::runtime::Runtime,
    client: kube::Client,
    app: &'static str,
}

impl World {
    fn new(app: &'static str) -> Self {
        let dir = TestDir::new();
        let (fake, kubeconfig) = cluster::start_fake(dir.path());
        let (runtime, client) = cluster::connect(&kubeconfig);
        Self {
            dir,
            kubeconfig,
            fake,
            runtime,
            client,
            app,
        }
    }

    /// An app with one sub running `image` and the secret TOKEN read from `$T_REV_TOKEN`.
    fn app_file(&self, image: &str) {
        self.dir.write(
            "zeppelin.toml",
            &format!(
                "name = \"{}\"\n[secrets]\nTOKEN = {{ env = \"{VAR}\" }}\n\n[sub.api]\nrun = \"serve\"\nimage = \"{image}\"\nport = 8080\n",
                self.app
            ),
        );
    }

    /// `zeppelin ARGS` with `$T_REV_TOKEN` set to `token`, or unset.
    fn zeppelin(&self, args: &[&str], token: Option<&str>) -> Output {
        let mut command = assert_cmd::Command::cargo_bin("zeppelin").unwrap();
        command
            .current_dir(self.dir.path())
            .env_remove("ZEPPELIN_FILE")
            .env_remove(VAR)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("NO_COLOR", "1")
            .args(args)
            .timeout(Duration::from_secs(180));
        if let Some(token) = token {
            command.env(VAR, token);
        }
        command.output().unwrap()
    }

    /// Like [`World::zeppelin`], which must succeed; returns stderr.
    fn ok(&self, args: &[&str], token: Option<&str>) -> String {
        let out = self.zeppelin(args, token);
        let stderr = stderr(&out);
        assert_eq!(code(&out), 0, "zeppelin {args:?} failed:\n{stderr}");
        stderr
    }

    fn secrets(&self) -> Api<Secret> {
        Api::namespaced(self.client.clone(), self.app)
    }

    /// The value the app's Secret holds for TOKEN now.
    fn live_token(&self) -> String {
        let secret = self
            .runtime
            .block_on(self.secrets().get(&format!("{}-secrets", self.app)))
            .unwrap();
        String::from_utf8(secret.data.unwrap()["TOKEN"].0.clone()).unwrap()
    }

    /// Every Secret recording a revision (or a part of one), as stored.
    fn revision_secrets(&self) -> Vec<Secret> {
        let mut all = Vec::new();
        for label in ["zeppelin.dev/revision-of", "zeppelin.dev/revision-part-of"] {
            let selector = format!("{label}={}", self.app);
            let list = self
                .runtime
                .block_on(
                    self.secrets()
                        .list(&ListParams::default().labels(&selector)),
                )
                .unwrap();
            all.extend(list.items);
        }
        all
    }

    fn image(&self, deployment: &str) -> String {
        let api: Api<Deployment> = Api::namespaced(self.client.clone(), self.app);
        let deployment = self.runtime.block_on(api.get(deployment)).unwrap();
        deployment.spec.unwrap().template.spec.unwrap().containers[0]
            .image
            .clone()
            .unwrap()
    }

    fn history(&self) -> Vec<Value> {
        let out = self.zeppelin(&["history", "--format", "json"], None);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        serde_json::from_slice::<Value>(&out.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn base64(text: &str) -> String {
    serde_json::to_value(ByteString(text.as_bytes().to_vec()))
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

fn gunzip(bytes: &[u8]) -> String {
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut text)
        .unwrap();
    text
}

#[test]
fn rollback_applies_the_current_secret_and_warns_that_it_differs() {
    let world = World::new("t-rev-secret");
    world.app_file(IMAGE_V1);
    world.ok(&["deploy"], Some(FIRST));
    world.app_file(IMAGE_V2);
    world.ok(&["deploy"], Some(SECOND));
    assert_eq!(world.live_token(), SECOND);

    let out = world.ok(&["rollback", "1"], Some(SECOND));
    assert!(
        out.contains(&format!(
            "secret TOKEN differs from revision 1's: using the current value from env {VAR}"
        )),
        "{out}"
    );
    assert_eq!(
        world.live_token(),
        SECOND,
        "the retired value stays retired"
    );
    assert_eq!(world.image("api"), IMAGE_V1);

    // Nothing stored for a revision holds a value, plain, in base64 or compressed.
    let stored = world.revision_secrets();
    assert_eq!(stored.len(), 3, "one Secret per revision");
    for secret in &stored {
        let mut text = serde_json::to_string(secret).unwrap();
        for value in secret.data.iter().flatten().map(|(_, v)| &v.0) {
            // The compressed objects are searched decompressed (gzip starts 1f 8b).
            if value.starts_with(&[0x1f, 0x8b]) {
                text.push_str(&gunzip(value));
            } else {
                text.push_str(&String::from_utf8_lossy(value));
            }
        }
        assert!(
            text.contains("t-rev-secret-secrets"),
            "the app's Secret is recorded"
        );
        for leak in [FIRST, SECOND, &base64(FIRST), &base64(SECOND)] {
            assert!(!text.contains(leak), "a revision holds {leak}:\n{text}");
        }
    }
}

#[test]
fn rollback_is_refused_when_a_secret_cannot_be_read_now() {
    let world = World::new("t-rev-unset");
    world.app_file(IMAGE_V1);
    world.ok(&["deploy"], Some(FIRST));
    world.app_file(IMAGE_V2);
    world.ok(&["deploy"], Some(SECOND));

    let out = world.zeppelin(&["rollback", "1"], None);
    let text = stderr(&out);
    assert_ne!(code(&out), 0, "{text}");
    assert!(
        text.contains("secret `TOKEN`") && text.contains(VAR),
        "{text}"
    );
    assert!(text.contains("nothing was applied"), "{text}");
    assert_eq!(world.image("api"), IMAGE_V2, "nothing was applied");
    assert_eq!(world.live_token(), SECOND);
    assert_eq!(world.history().len(), 2, "no revision was recorded");
}

#[test]
fn a_revision_recorded_with_secret_values_still_lists_and_rolls_back() {
    let world = World::new("t-rev-old");
    world.app_file(IMAGE_V1);
    world.ok(&["deploy"], Some(FIRST));
    // Rewrite revision 1 as revisions were written before: plain JSON objects, the
    // Secret's values inside.
    let name = "t-rev-old-rev-1";
    let mut old = world.runtime.block_on(world.secrets().get(name)).unwrap();
    let data = old.data.take().unwrap();
    let mut objects: Value = serde_json::from_str(&gunzip(&data["objects.gz"].0)).unwrap();
    for object in objects.as_array_mut().unwrap() {
        if object["kind"] == "Secret" {
            object["data"] = serde_json::json!({ "TOKEN": base64(FIRST) });
        }
    }
    // The hash then covered the objects as applied, values and all.
    let legacy = serde_json::to_string(&objects).unwrap();
    let legacy = sha2::Sha256::digest(legacy.as_bytes())
        .iter()
        .fold(String::new(), |mut s, b| {
            write!(s, "{b:02x}").unwrap();
            s
        });
    let keep = ["app-hash", "cause"];
    let mut data: std::collections::BTreeMap<_, _> = data
        .into_iter()
        .filter(|(k, _)| keep.contains(&k.as_str()))
        .collect();
    data.insert(
        "objects".to_owned(),
        ByteString(serde_json::to_vec(&objects).unwrap()),
    );
    data.insert("objects-hash".to_owned(), ByteString(legacy.into_bytes()));
    old.data = Some(data);
    old.metadata.resource_version = None;
    world.runtime.block_on(async {
        let api = world.secrets();
        api.delete(name, &kube::api::DeleteParams::default())
            .await
            .unwrap();
        api.create(&PostParams::default(), &old).await.unwrap();
    });

    let out = world.ok(&["deploy"], Some(FIRST));
    assert!(
        !out.contains("recorded revision"),
        "nothing changed:\n{out}"
    );
    world.app_file(IMAGE_V2);
    world.ok(&["deploy"], Some(SECOND));
    let history = world.history();
    assert_eq!(history.len(), 2, "{history:?}");
    assert_eq!(history[0]["revision"], 1);
    let out = world.ok(&["rollback", "1"], Some(SECOND));
    assert!(
        out.contains("secret TOKEN differs from revision 1's"),
        "{out}"
    );
    assert_eq!(world.live_token(), SECOND);
    assert_eq!(world.image("api"), IMAGE_V1);
}

/// An app of 200 subs that each listen on a port, so every pod learns every address: its
/// objects are 2.5 MB of JSON, over the API server's limit for one object.
fn big_app(image: &str) -> String {
    let mut text = String::from("name = \"t-rev-big\"\n");
    for i in 0..200 {
        write!(
            text,
            "[sub.s{i}]\nrun = \"serve\"\nimage = \"{image}\"\nport = {}\n",
            10_000 + i
        )
        .unwrap();
    }
    text
}

#[test]
fn a_200_sub_app_records_revisions_that_history_and_rollback_read_back() {
    let world = World::new("t-rev-big");
    // Only the revisions are under test: without the fake's controllers, no pods start.
    world.fake.set_controllers(false);
    world.dir.write("zeppelin.toml", &big_app(IMAGE_V1));
    world.ok(&["deploy", "--no-wait"], None);
    world.dir.write("zeppelin.toml", &big_app(IMAGE_V2));
    world.ok(&["deploy", "--no-wait"], None);
    let history = world.history();
    assert_eq!(history.len(), 2, "{history:?}");
    assert!(history[0]["objects"].as_u64().unwrap() > 400, "{history:?}");
    let out = world.ok(&["rollback", "1", "--no-wait"], None);
    assert!(out.contains("rolled back to revision 1"), "{out}");
    assert_eq!(world.image("s199"), IMAGE_V1);
}
