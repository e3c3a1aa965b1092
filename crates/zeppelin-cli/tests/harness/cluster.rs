//! A cluster for the Kubernetes tests: the test API server (`zeppelin-kubefake`) with its
//! kubeconfig written into the test's folder, and a kube-rs client on a runtime of its own,
//! so each test binary inspects the world the same way.

use std::path::{Path, PathBuf};

use zeppelin_kubefake::{Config, FakeApiServer};

/// Starts the test API server and writes its kubeconfig to `dir/kubeconfig`.
pub fn start_fake(dir: &Path) -> (FakeApiServer, PathBuf) {
    let fake = FakeApiServer::start_blocking(Config::default()).expect("the fake starts");
    let kubeconfig = dir.join("kubeconfig");
    fake.write_kubeconfig(&kubeconfig)
        .expect("the kubeconfig is written");
    (fake, kubeconfig)
}

/// `zeppelin ARGS…` run in `dir` against the cluster `kubeconfig` names, with a plain,
/// colourless environment: every Kubernetes test runs the binary this way.
pub fn zeppelin(dir: &Path, kubeconfig: &Path, args: &[&str]) -> assert_cmd::Command {
    let mut command = assert_cmd::Command::cargo_bin("zeppelin").unwrap();
    command
        .current_dir(dir)
        .env_remove("ZEPPELIN_FILE")
        .env("KUBECONFIG", kubeconfig)
        .env("NO_COLOR", "1")
        .args(args)
        .timeout(std::time::Duration::from_secs(180));
    command
}

/// [`zeppelin`], which must succeed; returns its stderr, where the cluster commands report.
pub fn ok(dir: &Path, kubeconfig: &Path, args: &[&str]) -> String {
    let out = zeppelin(dir, kubeconfig, args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "zeppelin {args:?} failed:\n{stderr}"
    );
    stderr
}

/// Writes `dir/kubeconfig` naming a cluster at a port that was free a moment ago, where
/// nothing listens (returned too): for the error every cluster command gives when it
/// cannot connect.
pub fn unreachable_kubeconfig(dir: &Path) -> (PathBuf, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: gone\n  cluster:\n    server: http://127.0.0.1:{port}\ncontexts:\n- name: gone\n  context:\n    cluster: gone\n    user: gone\ncurrent-context: gone\nusers:\n- name: gone\n  user: {{}}\n"
        ),
    )
    .unwrap();
    (path, port)
}

/// A current-thread runtime and a client for the cluster `kubeconfig` names.
pub fn connect(kubeconfig: &Path) -> (tokio::runtime::Runtime, kube::Client) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let client = runtime.block_on(async {
        let text = std::fs::read_to_string(kubeconfig).expect("the kubeconfig is readable");
        let config = kube::Config::from_custom_kubeconfig(
            kube::config::Kubeconfig::from_yaml(&text).expect("the kubeconfig parses"),
            &kube::config::KubeConfigOptions::default(),
        )
        .await
        .expect("the kubeconfig is usable");
        kube::Client::try_from(config).expect("a client")
    });
    (runtime, client)
}
