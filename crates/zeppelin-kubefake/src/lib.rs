//! A Kubernetes API server in a process, for Zeppelin's tests and for trying `zeppelin
//! deploy` without a cluster.
//!
//! It serves HTTP (or HTTPS with a certificate made at start) on 127.0.0.1 and writes a
//! kubeconfig, so kube-rs, the real `kubectl`
//! and `zeppelin` use it unchanged: discovery, create/get/list/update/patch/delete with
//! selectors and paging, server-side apply with field ownership and conflicts, dry runs,
//! watches, pod logs, the status and scale subresources, and simulated Deployment/ReplicaSet,
//! `StatefulSet`, Job and `CronJob` controllers, claim binding and a kubelet so rollouts
//! progress (or get stuck) and Jobs run to completion (or fail) as on a cluster.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use zeppelin_kubefake::{Config, FakeApiServer};
//! let server = FakeApiServer::start(Config::default()).await?;
//! server.write_kubeconfig("fake.kubeconfig")?;
//! // run kubectl --kubeconfig fake.kubeconfig ..., then inspect:
//! let deployments = server.objects("deployments");
//! # drop(deployments);
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! Why not kube-fake-client: it keeps objects, selectors and apply ownership in memory
//! behind a `kube::Client`, but only inside the test process — it has no HTTP server, so
//! neither `kubectl` nor the `zeppelin` binary can reach it — and it has no watch, dry run or
//! discovery. It also pins kube 4 and k8s-openapi 0.28, while the workspace uses kube 5 and
//! k8s-openapi 0.29, and its store is typed through k8s-openapi where this server must keep
//! whatever JSON clients send. So the store here is untyped `serde_json` and written anew.

mod api_error;
mod base64;
mod clock;
mod connections;
mod controllers;
mod defaults;
mod discovery;
mod faults;
mod fieldset;
mod json_patch;
mod kubeconfig;
mod logs;
mod managed_fields;
mod openapi;
mod protobuf;
mod resources;
mod routes;
mod selector;
mod server;
mod store;
mod table;
mod tls;
mod watch;

pub use kubeconfig::CONTEXT;
pub use server::{Config, FakeApiServer, KubeconfigError, StartError};
pub use tls::TlsError;
