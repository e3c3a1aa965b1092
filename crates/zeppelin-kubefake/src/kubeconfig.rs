//! The kubeconfig that points any client (kubectl, kube-rs, zeppelin) at the server.

use std::net::SocketAddr;

/// The name used for the cluster, user and context entries.
pub const CONTEXT: &str = "zeppelin-kubefake";

/// A kubeconfig for the server at `address`, with `namespace` as the context's default.
pub(crate) fn render(address: SocketAddr, namespace: &str) -> String {
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: {CONTEXT}
  cluster:
    server: http://{address}
contexts:
- name: {CONTEXT}
  context:
    cluster: {CONTEXT}
    user: {CONTEXT}
    namespace: {namespace}
current-context: {CONTEXT}
users:
- name: {CONTEXT}
  user: {{}}
preferences: {{}}
"
    )
}
