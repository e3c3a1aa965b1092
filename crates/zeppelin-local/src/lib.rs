//! Zeppelin's local runtime: runs an app's subs as supervised processes on this machine,
//! with a TCP load balancer per sub and an HTTP gateway for the app's routes, so an app
//! behaves here as it does behind a Kubernetes Service and Ingress.

pub mod balancer;
pub mod gateway;
