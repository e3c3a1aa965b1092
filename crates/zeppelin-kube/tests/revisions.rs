//! Revisions of big apps against the test API server, which refuses objects over 1.5 MiB
//! as etcd does: a revision is compressed, split over numbered Secrets when one is not
//! enough, and read back whole. (Rollback and secrets through the binary are tested in
//! `zeppelin-cli/tests/kube_revisions.rs`.)
//!
//! `cargo test -p zeppelin-kube --test revisions -- --ignored --nocapture` prints the sizes
//! BENCHMARKS.md reports.

use std::fmt::Write as _;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams};
use sha2::{Digest as _, Sha256};
use zeppelin_kube::revision::{self, NewRevision, PART_OF, REVISION_OF, RevisionStatus};
use zeppelin_kube::{Cluster, ConnectOptions, Manifest, RenderOptions, render};
use zeppelin_kubefake::{Config, FakeApiServer};

/// An app of `subs` subs that each listen on a port, so every pod learns every address.
fn generated(subs: usize, conf: &str) -> String {
    let mut text = format!("name = \"big\"\n[conf]\n{conf}\n");
    for i in 0..subs {
        write!(
            text,
            "[sub.s{i}]\nrun = \"serve\"\nimage = \"big/s{i}:1.0.{i}\"\nport = {}\nreplicas = 2\n",
            10_000 + i
        )
        .unwrap();
    }
    text
}

fn manifest(dir: &std::path::Path, text: &str) -> Manifest {
    let app = zeppelin_core::parse(text, &dir.join("zeppelin.toml")).unwrap();
    let options = RenderOptions {
        secrets: Some(zeppelin_kube::SecretValues::new()),
        include_secret: true,
    };
    Manifest::from_rendered(&render(&app, &options).unwrap())
}

/// Zeppelin's connection, and a plain client to look at what it stored.
async fn connect(server: &FakeApiServer, dir: &std::path::Path) -> (Cluster, kube::Client) {
    let path = dir.join("kubeconfig");
    server.write_kubeconfig(&path).unwrap();
    let cluster = Cluster::connect(&ConnectOptions {
        context: None,
        kubeconfig: Some(path),
    })
    .await
    .unwrap();
    let config = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::from_yaml(&server.kubeconfig_yaml()).unwrap(),
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .unwrap();
    (cluster, kube::Client::try_from(config).unwrap())
}

/// Creates the namespace `big` through the API, as a deploy's first stage would.
async fn namespace(client: &kube::Client) {
    let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    let ns = serde_json::from_value(serde_json::json!({"metadata": {"name": "big"}})).unwrap();
    api.create(&kube::api::PostParams::default(), &ns)
        .await
        .unwrap();
}

async fn record(cluster: &Cluster, manifest: &Manifest) -> u64 {
    let mut existing = revision::list(cluster, "big", "big").await.unwrap();
    let new = NewRevision {
        manifest,
        objects_hash: revision::objects_hash(manifest),
        app_hash: "app".to_owned(),
        status: RevisionStatus::Applied,
        cause: "deploy".to_owned(),
    };
    revision::record(cluster, "big", "big", &new, 10, &mut existing)
        .await
        .unwrap()
}

/// The Secrets labelled `selector`, as stored.
async fn secrets(client: &kube::Client, selector: &str) -> Vec<Secret> {
    let api: Api<Secret> = Api::namespaced(client.clone(), "big");
    api.list(&ListParams::default().labels(selector))
        .await
        .unwrap()
        .items
}

/// Bytes of data a revision's Secrets hold, all parts together.
async fn stored_bytes(client: &kube::Client) -> (usize, usize) {
    let mut all = secrets(client, &format!("{REVISION_OF}=big")).await;
    all.extend(secrets(client, &format!("{PART_OF}=big")).await);
    let bytes = all
        .iter()
        .flat_map(|s| s.data.iter().flatten())
        .map(|(_, v)| v.0.len())
        .sum();
    (bytes, all.len())
}

/// `lines` lines of hex digests: about half of it survives compression.
fn noise(lines: usize) -> String {
    (0..lines)
        .map(|i| {
            let digest = Sha256::digest(i.to_le_bytes());
            digest.iter().fold(String::new(), |mut s, b| {
                write!(s, "{b:02x}").unwrap();
                s
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_sub_revision_fits_one_secret_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeApiServer::start(Config::default()).await.unwrap();
    let (cluster, client) = connect(&server, dir.path()).await;
    namespace(&client).await;
    let manifest = manifest(dir.path(), &generated(200, ""));
    assert_eq!(record(&cluster, &manifest).await, 1);
    let (_, count) = stored_bytes(&client).await;
    assert_eq!(count, 1, "one Secret holds it");
    let revisions = revision::list(&cluster, "big", "big").await.unwrap();
    assert_eq!(revisions.len(), 1);
    assert_eq!(revisions[0].objects.len(), manifest.items.len());
    assert_eq!(revisions[0].objects_hash, revision::objects_hash(&manifest));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revision_too_big_for_one_secret_is_split_and_read_back_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeApiServer::start(Config::default()).await.unwrap();
    let (cluster, client) = connect(&server, dir.path()).await;
    namespace(&client).await;
    let noise = noise(40_000);
    let manifest = manifest(dir.path(), &generated(2, &format!("NOISE = \"{noise}\"")));
    record(&cluster, &manifest).await;
    let parts = secrets(&client, &format!("{PART_OF}=big")).await;
    assert!(parts.len() >= 2, "{} parts", parts.len());
    let revisions = revision::list(&cluster, "big", "big").await.unwrap();
    assert_eq!(revisions.len(), 1, "parts are not listed as revisions");
    let conf = revisions[0]
        .objects
        .iter()
        .find(|o| o["kind"] == "ConfigMap")
        .unwrap();
    assert_eq!(conf["data"]["NOISE"], noise.as_str());
    revision::delete_all(&cluster, "big", "big").await.unwrap();
    assert!(secrets(&client, &format!("{PART_OF}=big")).await.is_empty());
    assert!(
        secrets(&client, &format!("{REVISION_OF}=big"))
            .await
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_test_api_server_refuses_an_object_over_etcds_limit() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeApiServer::start(Config::default()).await.unwrap();
    let (_cluster, client) = connect(&server, dir.path()).await;
    namespace(&client).await;
    let api: Api<Secret> = Api::namespaced(client, "big");
    let secret: Secret = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "huge"},
        "stringData": {"NOISE": noise(30_000)},
    }))
    .unwrap();
    let err = api
        .create(&kube::api::PostParams::default(), &secret)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("etcdserver: request is too large"),
        "{err}"
    );
}

/// Prints the sizes BENCHMARKS.md reports: the app's objects as JSON (what a revision
/// stored before compression) and the data its Secrets hold now.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a test: run with --ignored --nocapture"]
async fn revision_sizes() {
    let shop = include_str!("../../../examples/shop/zeppelin.toml").replace("\"shop\"", "\"big\"");
    for (label, text) in [
        ("shop", shop),
        ("200 subs", generated(200, "")),
        ("1000 subs", generated(1000, "")),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let server = FakeApiServer::start(Config::default()).await.unwrap();
        let (cluster, client) = connect(&server, dir.path()).await;
        namespace(&client).await;
        let manifest = manifest(dir.path(), &text);
        let json =
            serde_json::to_vec(&manifest.items.iter().map(|i| &i.object).collect::<Vec<_>>())
                .unwrap()
                .len();
        record(&cluster, &manifest).await;
        let (stored, count) = stored_bytes(&client).await;
        println!("{label}: objects {json} bytes as JSON; stored {stored} bytes in {count} Secrets");
    }
}
