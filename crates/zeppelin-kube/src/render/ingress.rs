//! The app's Ingress: one rule per routed host, `Prefix` paths, and TLS from an existing
//! Secret or a cert-manager issuer.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule,
    IngressServiceBackend, IngressSpec, IngressTLS, ServiceBackendPort,
};
use zeppelin_core::App;

use crate::render::app_wide::meta;

/// The annotation cert-manager reads to issue the TLS certificate.
const CLUSTER_ISSUER: &str = "cert-manager.io/cluster-issuer";

pub(crate) fn ingress(app: &App) -> Option<Ingress> {
    if app.routes.is_empty() {
        return None;
    }
    let mut hosts: BTreeMap<&str, Vec<HTTPIngressPath>> = BTreeMap::new();
    for route in &app.routes {
        // Validation guarantees a routed sub has a port; a route without one has no backend.
        let Some(port) = app.subs.get(&route.sub).and_then(|s| s.port) else {
            continue;
        };
        hosts.entry(&route.host).or_default().push(HTTPIngressPath {
            path: Some(route.path.clone()),
            path_type: "Prefix".to_owned(),
            backend: IngressBackend {
                service: Some(IngressServiceBackend {
                    name: route.sub.clone(),
                    port: Some(ServiceBackendPort {
                        number: Some(i32::from(port)),
                        name: None,
                    }),
                }),
                resource: None,
            },
        });
    }
    if hosts.is_empty() {
        return None;
    }
    let mut metadata = meta(app, app.name.clone());
    let tls = app.kubernetes.tls.as_ref().map(|tls| {
        if let Some(issuer) = &tls.cluster_issuer {
            metadata
                .annotations
                .get_or_insert_default()
                .insert(CLUSTER_ISSUER.to_owned(), issuer.clone());
        }
        vec![IngressTLS {
            hosts: Some(hosts.keys().map(|h| (*h).to_owned()).collect()),
            secret_name: Some(
                tls.secret
                    .clone()
                    .unwrap_or_else(|| format!("{}-tls", app.name)),
            ),
        }]
    });
    let rules = hosts
        .into_iter()
        .map(|(host, paths)| IngressRule {
            host: Some(host.to_owned()),
            http: Some(HTTPIngressRuleValue { paths }),
        })
        .collect();
    Some(Ingress {
        metadata,
        spec: Some(IngressSpec {
            ingress_class_name: app.kubernetes.ingress_class.clone(),
            rules: Some(rules),
            tls,
            default_backend: None,
        }),
        ..Ingress::default()
    })
}
