//! Starting, steering and stopping the server: the [`FakeApiServer`] handle tests hold.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::faults::Faults;
use crate::logs::LogBook;
use crate::resources::{self, RESOURCES};
use crate::store::Store;

/// The shortest timer period used: interval settings below it (zero, say) are raised to it.
pub(crate) const MIN_INTERVAL: Duration = Duration::from_millis(10);

/// How the server behaves; `Config::default()` suits most tests.
#[derive(Debug, Clone)]
pub struct Config {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Whether the simulated controllers (Deployment, `ReplicaSet`, `StatefulSet`, claim
    /// binding...) and the kubelet stand-in run.
    pub controllers: bool,
    /// How often the controllers look at the objects.
    pub controller_interval: Duration,
    /// Time from a pod's creation to Running.
    pub pod_start_delay: Duration,
    /// Time from Running to Ready.
    pub pod_ready_delay: Duration,
    /// A container image containing this never pulls: the pod stays in `ImagePullBackOff`.
    pub image_pull_failure_marker: String,
    /// A container image containing this crashes on start: `CrashLoopBackOff`.
    pub crash_marker: String,
    /// Time from a `PersistentVolumeClaim`'s creation to Bound.
    pub claim_bind_delay: Duration,
    /// A claim whose storage class name contains this never binds: it stays Pending with a
    /// `ProvisioningFailed` event, and pods using it stay unschedulable.
    pub provisioning_failure_marker: String,
    /// Time between restarts of a crashing container.
    pub crash_restart_interval: Duration,
    /// Time a Job's pod runs, once Running, before its container exits (with 0, unless its
    /// image carries the crash marker).
    pub job_run_time: Duration,
    /// How many times faster than real time the `CronJob` controller's clock runs, from the
    /// server's start: at 60 a schedule of every minute fires every second, so tests of
    /// schedules need not wait real minutes. 1 is real time.
    pub clock_speed: f64,
    /// How often watches that allow bookmarks receive one.
    pub bookmark_interval: Duration,
    /// Watch events kept for watches that resume from a resource version; older ones get
    /// `410 Gone`.
    pub history_limit: usize,
    /// Events (the Event objects controllers and clients write) kept per namespace; the
    /// oldest are deleted beyond it, as a real server's event TTL would, so a server that
    /// runs rollouts and restarts for hours does not grow its store without end.
    pub event_limit: usize,
    /// Print each request and its status code to stderr (for people running the binary).
    pub log_requests: bool,
    /// Serve HTTPS with a certificate authority made at start (put in the kubeconfig)
    /// instead of plain HTTP.
    pub tls: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            port: 0,
            controllers: true,
            controller_interval: Duration::from_millis(50),
            pod_start_delay: Duration::from_millis(200),
            pod_ready_delay: Duration::from_millis(200),
            image_pull_failure_marker: "does-not-exist".to_owned(),
            crash_marker: "crashloop".to_owned(),
            claim_bind_delay: Duration::from_millis(200),
            provisioning_failure_marker: "no-provisioner".to_owned(),
            crash_restart_interval: Duration::from_secs(1),
            job_run_time: Duration::from_millis(300),
            clock_speed: 1.0,
            bookmark_interval: Duration::from_secs(5),
            history_limit: 10_000,
            event_limit: crate::store::DEFAULT_EVENT_LIMIT,
            log_requests: false,
            tls: false,
        }
    }
}

/// State every request handler and controller shares.
pub(crate) struct Shared {
    pub(crate) store: Store,
    pub(crate) logs: LogBook,
    pub(crate) faults: Faults,
    pub(crate) config: Config,
    pub(crate) controllers: AtomicBool,
    pub(crate) shutdown: CancellationToken,
    pub(crate) address: SocketAddr,
    /// The certificate authority clients must trust, when serving HTTPS.
    pub(crate) ca_pem: Option<String>,
}

/// The server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("could not listen on 127.0.0.1:{port}; pick another port or pass 0 for a free one")]
    Bind {
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error("could not start a runtime for the fake API server")]
    Runtime(#[source] std::io::Error),
    #[error("could not set up HTTPS for the fake API server; start it without TLS instead")]
    Tls(#[source] crate::tls::TlsError),
}

/// The kubeconfig could not be written.
#[derive(Debug, thiserror::Error)]
#[error("could not write the kubeconfig to {path}; check that its folder exists and is writable")]
pub struct KubeconfigError {
    path: String,
    #[source]
    source: std::io::Error,
}

/// A running fake API server. Dropping it stops the server.
pub struct FakeApiServer {
    shared: Arc<Shared>,
    server: Option<JoinHandle<()>>,
    /// Set when the server runs on a runtime of its own ([`FakeApiServer::start_blocking`]).
    runtime: Option<tokio::runtime::Runtime>,
}

impl FakeApiServer {
    /// Starts the server on the current tokio runtime.
    pub async fn start(config: Config) -> Result<Self, StartError> {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, config.port))
            .await
            .map_err(|source| StartError::Bind {
                port: config.port,
                source,
            })?;
        let address = listener.local_addr().map_err(|source| StartError::Bind {
            port: config.port,
            source,
        })?;
        let identity = if config.tls {
            Some(crate::tls::identity().map_err(StartError::Tls)?)
        } else {
            None
        };
        let shared = Arc::new(Shared {
            store: Store::new(config.history_limit).with_event_limit(config.event_limit),
            logs: LogBook::default(),
            faults: Faults::default(),
            controllers: AtomicBool::new(config.controllers),
            config,
            shutdown: CancellationToken::new(),
            address,
            ca_pem: identity.as_ref().map(|i| i.ca_pem.clone()),
        });
        let app = axum::Router::new()
            .fallback(crate::routes::handle)
            .with_state(shared.clone());
        let stops = crate::connections::Stops {
            shutdown: shared.shutdown.clone(),
            gone: shared.faults.gone(),
            closed: shared.faults.closed(),
        };
        let listener = crate::connections::Listener::spawn(
            listener,
            identity.map(|identity| identity.acceptor),
            stops,
        )
        .map_err(|source| StartError::Bind {
            port: address.port(),
            source,
        })?;
        let token = shared.shutdown.clone();
        let server = tokio::spawn(async move {
            // Serving ends only on shutdown; a failing accept loop has nobody to report to.
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(token.cancelled_owned())
                .await;
        });
        tokio::spawn(crate::controllers::run(shared.clone()));
        Ok(Self {
            shared,
            server: Some(server),
            runtime: None,
        })
    }

    /// Starts the server on a runtime of its own, for synchronous tests (ones that run a
    /// client binary with `std::process::Command`, for instance). Call it, and drop the
    /// handle, outside any async runtime: a runtime cannot be dropped inside another.
    pub fn start_blocking(config: Config) -> Result<Self, StartError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(StartError::Runtime)?;
        let mut server = runtime.block_on(Self::start(config))?;
        server.runtime = Some(runtime);
        Ok(server)
    }

    /// `http://127.0.0.1:PORT`, or `https://` when serving TLS.
    pub fn url(&self) -> String {
        let scheme = if self.shared.ca_pem.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.shared.address)
    }

    /// PEM of the certificate authority clients must trust, when serving HTTPS.
    pub fn ca_pem(&self) -> Option<&str> {
        self.shared.ca_pem.as_deref()
    }

    pub fn address(&self) -> SocketAddr {
        self.shared.address
    }

    /// A kubeconfig pointing at this server, with `default` as the namespace.
    pub fn kubeconfig_yaml(&self) -> String {
        crate::kubeconfig::render(
            self.shared.address,
            "default",
            self.shared.ca_pem.as_deref(),
        )
    }

    pub fn write_kubeconfig(&self, path: impl AsRef<Path>) -> Result<(), KubeconfigError> {
        let path = path.as_ref();
        std::fs::write(path, self.kubeconfig_yaml()).map_err(|source| KubeconfigError {
            path: path.display().to_string(),
            source,
        })
    }

    /// Turns the simulated controllers and kubelet on or off.
    pub fn set_controllers(&self, on: bool) {
        self.shared.controllers.store(on, Ordering::SeqCst);
    }

    /// Delays every request by `latency`.
    pub fn set_latency(&self, latency: Duration) {
        self.shared.faults.set_latency(latency);
    }

    /// Lets the next `count` requests through, then fails every request with a 500 until
    /// [`FakeApiServer::clear_faults`].
    pub fn fail_requests_after(&self, count: u64) {
        self.shared.faults.fail_after(count);
    }

    /// Makes discovery answer 404 for a group version (`networking.k8s.io/v1`), as a
    /// cluster without that API would; its objects are still served to clients that skip
    /// discovery.
    pub fn hide_api(&self, group_version: &str) {
        self.shared.faults.hide(group_version);
    }

    /// Removes added latency and failing requests.
    pub fn clear_faults(&self) {
        self.shared.faults.clear();
    }

    /// Ends every open watch stream, as a restarting API server would.
    pub fn drop_watches(&self) {
        self.shared.faults.drop_watches();
    }

    /// Makes the server vanish mid-conversation, as a crashed API server or a lost network
    /// would: new connections are refused and open ones (watches and log streams included)
    /// are cut without the clean end of a response. There is no coming back; the handle
    /// still answers [`FakeApiServer::objects`] and friends. Returns once the listening
    /// socket is closed, so a connection made afterwards is refused.
    pub async fn go_away(&self) {
        self.shared.faults.go_away();
        self.shared.faults.closed().cancelled().await;
    }

    /// Requests served so far (failed ones included).
    pub fn request_count(&self) -> u64 {
        self.shared.faults.requests()
    }

    /// Every stored object of a kind, by any name kubectl accepts (`deploy`, `pods`,
    /// `Deployment`, `ingresses.networking.k8s.io`); empty for an unknown kind.
    pub fn objects(&self, kind: &str) -> Vec<Value> {
        resources::find_by_name(kind)
            .map(|r| self.shared.store.all(r))
            .unwrap_or_default()
    }

    /// One stored object, if present; `namespace` is ignored for cluster-scoped kinds.
    pub fn object(&self, kind: &str, namespace: &str, name: &str) -> Option<Value> {
        let resource = resources::find_by_name(kind)?;
        let namespace = if RESOURCES[resource].namespaced {
            namespace
        } else {
            ""
        };
        self.shared.store.get(resource, namespace, name).ok()
    }

    /// The lines a simulated container has logged.
    pub fn logs(&self, namespace: &str, pod: &str, container: &str) -> Vec<String> {
        self.shared.logs.read(namespace, pod, container, None).0
    }

    /// Stops serving and ends open watches and log streams.
    pub async fn shutdown(mut self) {
        self.shared.shutdown.cancel();
        if let Some(server) = self.server.take()
            && tokio::time::timeout(Duration::from_secs(5), server)
                .await
                .is_err()
        {
            // Connections that outlive the grace period are dropped with the runtime.
        }
    }
}

impl Drop for FakeApiServer {
    fn drop(&mut self) {
        self.shared.shutdown.cancel();
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(2));
        }
    }
}
