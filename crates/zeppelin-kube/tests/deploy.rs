//! The deploy library against the test API server: stage order, waiting through dropped
//! watches, and the revision cap. (The commands themselves are tested through the binary
//! in `zeppelin-cli`.)

use std::time::Duration;

use serde_json::Value;
use zeppelin_kube::apply::ApplyOptions;
use zeppelin_kube::deploy::{DeployEvent, DeployOptions, Target, deploy};
use zeppelin_kube::{Cluster, ConnectOptions, Manifest, RenderOptions, Stage, render};
use zeppelin_kubefake::{Config, FakeApiServer};

const LIMIT: Duration = Duration::from_secs(60);

fn app(dir: &std::path::Path, image: &str) -> zeppelin_core::App {
    let text = format!(
        r#"
name = "stages"
[conf]
LEVEL = "info"
[sub.api]
run = "true"
image = "{image}"
port = 8081
replicas = 2
[sub.web]
run = "true"
image = "web:1"
port = 8080
autoscale = {{ min = 2, max = 3, cpu_percent = 70 }}
[[route]]
host = "stages.localhost"
path = "/"
sub = "web"
"#
    );
    zeppelin_core::parse(&text, &dir.join("zeppelin.toml")).unwrap()
}

fn manifest(app: &zeppelin_core::App) -> Manifest {
    let options = RenderOptions {
        secrets: Some(zeppelin_kube::SecretValues::new()),
        include_secret: true,
    };
    Manifest::from_rendered(&render(app, &options).unwrap())
}

async fn connect(server: &FakeApiServer, dir: &std::path::Path) -> Cluster {
    let path = dir.join("kubeconfig");
    server.write_kubeconfig(&path).unwrap();
    Cluster::connect(&ConnectOptions {
        context: None,
        kubeconfig: Some(path),
    })
    .await
    .unwrap()
}

fn options(history: usize) -> DeployOptions {
    DeployOptions {
        apply: ApplyOptions::default(),
        wait: Some(LIMIT),
        atomic: false,
        prune: true,
        history,
        app_hash: "test".to_owned(),
    }
}

fn target() -> Target {
    Target {
        app: "stages".to_owned(),
        namespace: "stages".to_owned(),
    }
}

fn version(object: &Value) -> u64 {
    object["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_stage_is_stored_before_the_next_one_starts() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeApiServer::start(Config {
        controllers: false,
        ..Config::default()
    })
    .await
    .unwrap();
    server.set_latency(Duration::from_millis(5));
    let cluster = connect(&server, dir.path()).await;
    let app = app(dir.path(), "api:1");
    let manifest = manifest(&app);
    let options = DeployOptions {
        wait: None,
        ..options(10)
    };
    let report = tokio::time::timeout(
        LIMIT,
        deploy(
            &cluster,
            &target(),
            &manifest,
            &options,
            "deploy",
            &mut |_| {},
        ),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(report.applied.len(), manifest.items.len());
    // Resource versions grow with every write, so each stage's objects must all have
    // smaller versions than any object of a later stage.
    let mut last_stage_max = 0;
    for stage in manifest.stages() {
        let versions: Vec<u64> = stage
            .iter()
            .map(|item| {
                let applied = report
                    .applied
                    .iter()
                    .find(|a| a.object == item.display_name())
                    .unwrap();
                version(&applied.live)
            })
            .collect();
        let min = *versions.iter().min().unwrap();
        assert!(
            min > last_stage_max,
            "stage {:?} started before the previous one was stored",
            stage[0].stage
        );
        last_stage_max = *versions.iter().max().unwrap();
    }
    assert!(manifest.stages().len() >= 6);
    assert_eq!(manifest.stages()[0][0].stage, Stage::Namespace);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_survives_dropped_watches_and_history_is_capped() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeApiServer::start(Config::default()).await.unwrap();
    let cluster = connect(&server, dir.path()).await;
    let mut progress_seen = 0;
    for version in 1..=3 {
        let manifest = manifest(&app(dir.path(), &format!("api:{version}")));
        let mut on_event = |event: DeployEvent<'_>| {
            if let DeployEvent::Progress(_) = event {
                progress_seen += 1;
                // Every watch ends mid-rollout, as when the API server restarts.
                server.drop_watches();
            }
        };
        tokio::time::timeout(
            LIMIT,
            deploy(
                &cluster,
                &target(),
                &manifest,
                &options(2),
                "deploy",
                &mut on_event,
            ),
        )
        .await
        .expect("the rollout finishes despite dropped watches")
        .unwrap();
    }
    assert!(progress_seen > 0);
    let revisions = zeppelin_kube::revision::list(&cluster, "stages", "stages")
        .await
        .unwrap();
    let numbers: Vec<u64> = revisions.iter().map(|r| r.number).collect();
    assert_eq!(numbers, vec![2, 3]);
    let api = server.object("deployments", "stages", "api").unwrap();
    assert_eq!(
        api["spec"]["template"]["spec"]["containers"][0]["image"],
        "api:3"
    );
    assert_eq!(api["status"]["availableReplicas"], 2);
}
