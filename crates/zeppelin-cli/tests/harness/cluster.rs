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
