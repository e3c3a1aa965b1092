//! The server on a runtime of its own, driven from a synchronous test the way the `zeppelin`
//! binary's tests will drive it (`std::process::Command`, no async runtime in the test).

use std::process::Command;

use zeppelin_kubefake::{Config, FakeApiServer};

#[test]
fn a_synchronous_test_can_run_kubectl_against_it() {
    let found = Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("skipped: the real kubectl is not on PATH");
        return;
    }
    let server = FakeApiServer::start_blocking(Config::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();
    let manifest = dir.path().join("ns.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n",
    )
    .unwrap();
    let output = Command::new("timeout")
        .args(["60", "kubectl", "--kubeconfig"])
        .arg(&kubeconfig)
        .arg("--cache-dir")
        .arg(dir.path().join("cache"))
        .args(["create", "-f"])
        .arg(&manifest)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(server.object("namespaces", "", "shop").is_some());
    let namespace = server.object("ns", "", "shop").unwrap();
    assert_eq!(
        namespace["metadata"]["labels"]["kubernetes.io/metadata.name"],
        "shop"
    );
    assert!(server.request_count() > 0);
}
