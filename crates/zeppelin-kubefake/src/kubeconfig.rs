//! The kubeconfig that points any client (kubectl, kube-rs, zeppelin) at the server.

use std::net::SocketAddr;

/// The name used for the cluster, user and context entries.
pub const CONTEXT: &str = "zeppelin-kubefake";

/// A kubeconfig for the server at `address`, with `namespace` as the context's default;
/// `ca_pem` is the certificate authority of an HTTPS server, `None` for plain HTTP.
pub(crate) fn render(address: SocketAddr, namespace: &str, ca_pem: Option<&str>) -> String {
    let cluster = match ca_pem {
        Some(pem) => format!(
            "    server: https://{address}\n    certificate-authority-data: {}",
            crate::base64::encode(pem.as_bytes())
        ),
        None => format!("    server: http://{address}"),
    };
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: {CONTEXT}
  cluster:
{cluster}
contexts:
- name: {CONTEXT}
  context:
    cluster: {CONTEXT}
    user: {CONTEXT}
    namespace: {namespace}
current-context: {CONTEXT}
users:
- name: {CONTEXT}
  user:
    token: zeppelin-kubefake
preferences: {{}}
"
    )
}
