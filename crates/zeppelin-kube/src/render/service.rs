//! A sub's Services: a ClusterIP Service per sub with a port, named after the sub so
//! `<SUB>_ADDR` (`api:8081`) resolves inside the namespace, and for a stateful sub the
//! headless Service that gives each of its pods a stable DNS name.

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use zeppelin_core::{App, Sub};

use crate::render::labels::{annotations, selector, sub_labels};
use crate::render::probes::PORT_NAME;

pub(crate) fn service(app: &App, sub: &Sub) -> Option<Service> {
    sub.port?;
    Some(Service {
        metadata: sub_meta(app, sub),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".to_owned()),
            selector: Some(selector(app, &sub.name)),
            ports: ports(sub),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    })
}

/// The name of a stateful sub's headless Service: its pods are
/// `<sub>-<N>.<sub>-pods.<namespace>.svc`.
pub(crate) fn pods_service_name(sub: &str) -> String {
    format!("{sub}-pods")
}

/// The headless Service a StatefulSet names as its `serviceName`: no virtual IP, one DNS
/// record per ready pod, so replica N is always reachable as `<sub>-N.<sub>-pods`. Pods
/// that are not ready are not published, like the sub's own Service.
pub(crate) fn headless(app: &App, sub: &Sub) -> Service {
    Service {
        metadata: ObjectMeta {
            name: Some(pods_service_name(&sub.name)),
            ..sub_meta(app, sub)
        },
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".to_owned()),
            cluster_ip: Some("None".to_owned()),
            publish_not_ready_addresses: Some(false),
            selector: Some(selector(app, &sub.name)),
            ports: ports(sub),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// The sub's port, by name, if it has one.
fn ports(sub: &Sub) -> Option<Vec<ServicePort>> {
    sub.port.map(|port| {
        vec![ServicePort {
            name: Some(PORT_NAME.to_owned()),
            port: i32::from(port),
            target_port: Some(IntOrString::String(PORT_NAME.to_owned())),
            protocol: Some("TCP".to_owned()),
            ..ServicePort::default()
        }]
    })
}

/// Metadata of an object named after a sub.
pub(crate) fn sub_meta(app: &App, sub: &Sub) -> ObjectMeta {
    ObjectMeta {
        name: Some(sub.name.clone()),
        namespace: Some(app.namespace().to_owned()),
        labels: Some(sub_labels(app, &sub.name)),
        annotations: annotations(app),
        ..ObjectMeta::default()
    }
}
