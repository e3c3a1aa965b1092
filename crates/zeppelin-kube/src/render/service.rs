//! A ClusterIP Service per sub with a port, named after the sub so `<SUB>_ADDR` (`api:8081`)
//! resolves inside the namespace.

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use zeppelin_core::{App, Sub};

use crate::render::labels::{annotations, selector, sub_labels};
use crate::render::probes::PORT_NAME;

pub(crate) fn service(app: &App, sub: &Sub) -> Option<Service> {
    let port = sub.port?;
    Some(Service {
        metadata: sub_meta(app, sub),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".to_owned()),
            selector: Some(selector(app, &sub.name)),
            ports: Some(vec![ServicePort {
                name: Some(PORT_NAME.to_owned()),
                port: i32::from(port),
                target_port: Some(IntOrString::String(PORT_NAME.to_owned())),
                protocol: Some("TCP".to_owned()),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
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
