//! A sub's container, its volumes and pod security: environment, probes, resources, the
//! `/tmp` and secret volumes it mounts (and a stateful sub's claims), and the hardening
//! that meets every control of the Pod Security Standards `restricted` profile.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMapEnvSource, Container, ContainerPort, EmptyDirVolumeSource,
    EnvFromSource, EnvVar, EnvVarSource, KeyToPath, Lifecycle, LifecycleHandler,
    ObjectFieldSelector, PodSecurityContext, ResourceRequirements, SeccompProfile,
    SecretKeySelector, SecretVolumeSource, SecurityContext, SleepAction, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use zeppelin_core::kubernetes::SecurityOptOuts;
use zeppelin_core::model::{Health, HealthCheck};
use zeppelin_core::{App, Sub};

use crate::render::app_wide::{conf_name, secret_name};
use crate::render::probes::{PORT_NAME, probes};
use crate::render::secrets;
use crate::render::warning::Skips;

/// Requests used when `resources` leaves one out.
pub(crate) const DEFAULT_CPU: &str = "100m";
pub(crate) const DEFAULT_MEMORY: &str = "128Mi";
pub(crate) const DEFAULT_EPHEMERAL_STORAGE: &str = "256Mi";

/// How long a terminating pod waits before its process gets SIGTERM, so that endpoints and
/// load balancers stop sending it traffic first.
pub(crate) const PRE_STOP_PAUSE_SECS: i64 = 5;

/// The writable `/tmp` every container gets, its root filesystem being read-only.
pub(crate) const TMP_VOLUME: &str = zeppelin_core::POD_VOLUME_NAMES[0];
/// The app's Secret, mounted as one file per secret.
pub(crate) const SECRETS_VOLUME: &str = zeppelin_core::POD_VOLUME_NAMES[1];

/// The variable giving a replica its number, as the local runtime does.
const REPLICA_VAR: &str = "ZEPPELIN_REPLICA";
/// Where a stateful sub's pod finds its ordinal: the StatefulSet controller labels every
/// pod with it (Kubernetes 1.28 and later).
const POD_INDEX_FIELD: &str = "metadata.labels['apps.kubernetes.io/pod-index']";

/// Read-only for the owner and the pod's group; secret files need nothing more.
const SECRET_FILE_MODE: i32 = 0o440;

/// The container of a sub.
pub(crate) fn container(app: &App, sub: &Sub, skips: &mut Skips) -> Container {
    let kube = app.kubernetes.subs.get(&sub.name);
    let image = sub.image.clone().unwrap_or_default();
    let health = sub.health.clone().or_else(|| {
        // A sub with a port and no health check is at least expected to accept connections.
        sub.port.map(|_| Health {
            check: HealthCheck::Tcp,
            interval: Health::DEFAULT_INTERVAL,
            timeout: Health::DEFAULT_TIMEOUT,
            retries: Health::DEFAULT_RETRIES,
            grace: Health::DEFAULT_GRACE,
        })
    });
    let probes = health.as_ref().map(probes);
    let mut mounts = vec![VolumeMount {
        name: TMP_VOLUME.to_owned(),
        mount_path: "/tmp".to_owned(),
        ..VolumeMount::default()
    }];
    if !app.secrets.is_empty() {
        mounts.push(VolumeMount {
            name: SECRETS_VOLUME.to_owned(),
            mount_path: secrets::MOUNT_DIR.to_owned(),
            read_only: Some(true),
            ..VolumeMount::default()
        });
    }
    // A stateful sub's claims, which its StatefulSet's templates add to the pod by name.
    mounts.extend(sub.volumes.values().map(|volume| VolumeMount {
        name: volume.name.clone(),
        mount_path: volume.path.clone(),
        ..VolumeMount::default()
    }));
    let (readiness, liveness, startup) = match probes {
        Some(p) => (Some(p.readiness), Some(p.liveness), Some(p.startup)),
        None => (None, None, None),
    };
    Container {
        name: sub.name.clone(),
        image_pull_policy: Some(
            if crate::render::labels::image_has_digest(&image) {
                "IfNotPresent"
            } else {
                "Always"
            }
            .to_owned(),
        ),
        image: Some(image),
        command: kube.and_then(|k| k.command.clone()),
        ports: sub.port.map(|port| {
            vec![ContainerPort {
                name: Some(PORT_NAME.to_owned()),
                container_port: i32::from(port),
                protocol: Some("TCP".to_owned()),
                ..ContainerPort::default()
            }]
        }),
        env: Some(env(app, sub, skips)),
        env_from: (!app.conf.is_empty()).then(|| {
            vec![EnvFromSource {
                config_map_ref: Some(ConfigMapEnvSource {
                    name: conf_name(app),
                    optional: Some(false),
                }),
                ..EnvFromSource::default()
            }]
        }),
        readiness_probe: readiness,
        liveness_probe: liveness,
        startup_probe: startup,
        resources: Some(resources(sub)),
        security_context: Some(container_security(&security(app, sub))),
        lifecycle: Some(Lifecycle {
            pre_stop: Some(LifecycleHandler {
                sleep: Some(SleepAction {
                    seconds: PRE_STOP_PAUSE_SECS,
                }),
                ..LifecycleHandler::default()
            }),
            ..Lifecycle::default()
        }),
        termination_message_policy: Some("FallbackToLogsOnError".to_owned()),
        volume_mounts: Some(mounts),
        ..Container::default()
    }
}

/// Seconds a pod gets to stop: the pre-stop pause plus the sub's own `stop_timeout`.
pub(crate) fn termination_grace(sub: &Sub) -> i64 {
    PRE_STOP_PAUSE_SECS + i64::try_from(sub.stop_timeout.ceil_secs()).unwrap_or(i64::MAX / 2)
}

/// The sub's environment: its own `env`, then what Zeppelin sets in every runtime (`PORT`,
/// every `<SUB>_ADDR`, every `<SECRET>_FILE`, and for a stateful sub every `<VOLUME>_DIR`
/// and `ZEPPELIN_REPLICA`), then secrets exposed as variables.
fn env(app: &App, sub: &Sub, skips: &mut Skips) -> Vec<EnvVar> {
    let mut vars: BTreeMap<String, EnvVar> = BTreeMap::new();
    let mut plain = |name: String, value: String| {
        vars.insert(
            name.clone(),
            EnvVar {
                name,
                value: Some(value),
                value_from: None,
            },
        );
    };
    for (name, value) in &sub.env {
        // Kubernetes expands `$(VAR)` in values; `$$` keeps a literal `$`.
        plain(name.clone(), value.replace('$', "$$"));
    }
    if let Some(port) = sub.port {
        plain("PORT".to_owned(), port.to_string());
    }
    for other in app.subs.values() {
        if let Some(port) = other.port {
            plain(App::addr_var(&other.name), format!("{}:{port}", other.name));
        }
    }
    for name in app.secrets.keys() {
        plain(App::secret_file_var(name), secrets::file_path(name));
    }
    for volume in sub.volumes.values() {
        // The mount path as given; `$$` keeps Kubernetes from expanding a `$(...)` in it.
        plain(volume.dir_var(), volume.path.replace('$', "$$"));
    }
    if sub.is_stateful() {
        vars.insert(
            REPLICA_VAR.to_owned(),
            EnvVar {
                name: REPLICA_VAR.to_owned(),
                value: None,
                value_from: Some(EnvVarSource {
                    field_ref: Some(ObjectFieldSelector {
                        api_version: None,
                        field_path: POD_INDEX_FIELD.to_owned(),
                    }),
                    ..EnvVarSource::default()
                }),
            },
        );
    }
    let exposed = app.exposed_secrets();
    for name in &exposed {
        vars.insert(
            (*name).to_owned(),
            EnvVar {
                name: (*name).to_owned(),
                value: None,
                value_from: Some(EnvVarSource {
                    secret_key_ref: Some(SecretKeySelector {
                        name: secret_name(app),
                        key: (*name).to_owned(),
                        optional: Some(false),
                    }),
                    ..EnvVarSource::default()
                }),
            },
        );
    }
    if !exposed.is_empty() {
        skips.skip_quietly(&["CKV_K8S_35"], &exposed_reason(&exposed));
    }
    vars.into_values().collect()
}

/// Why secrets reach a container as environment variables.
pub(crate) fn exposed_reason(exposed: &[&str]) -> String {
    format!(
        "the app file exposes secret {} as environment variables with expose_env, which leak into child processes and crash dumps",
        exposed.join(", ")
    )
}

/// Requests and limits: memory and ephemeral storage are limited to their request (a pod
/// never relies on memory it was not promised); CPU may burst to twice its request.
fn resources(sub: &Sub) -> ResourceRequirements {
    let cpu = sub
        .resources
        .cpu
        .as_ref()
        .map_or(DEFAULT_CPU, |q| q.as_str());
    let memory = sub
        .resources
        .memory
        .as_ref()
        .map_or(DEFAULT_MEMORY, |q| q.as_str());
    let storage = sub
        .resources
        .ephemeral_storage
        .as_ref()
        .map_or(DEFAULT_EPHEMERAL_STORAGE, |q| q.as_str());
    let cpu_cores = sub
        .resources
        .cpu
        .as_ref()
        .map_or(0.1, zeppelin_core::Quantity::value);
    let cpu_limit = format!("{}m", millicores(2.0 * cpu_cores));
    let q = |s: &str| Quantity(s.to_owned());
    let requests = BTreeMap::from([
        ("cpu".to_owned(), q(cpu)),
        ("memory".to_owned(), q(memory)),
        ("ephemeral-storage".to_owned(), q(storage)),
    ]);
    let limits = BTreeMap::from([
        ("cpu".to_owned(), q(&cpu_limit)),
        ("memory".to_owned(), q(memory)),
        ("ephemeral-storage".to_owned(), q(storage)),
    ]);
    ResourceRequirements {
        requests: Some(requests),
        limits: Some(limits),
        ..ResourceRequirements::default()
    }
}

/// Whole millicores, rounded up, at least 1.
fn millicores(cores: f64) -> u64 {
    let m = (cores * 1000.0).ceil().max(1.0);
    // Quantities in an app file are far below u64's range.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let m = m as u64;
    m
}

/// The sub's security settings: the hardened defaults with its explicit opt-outs applied.
pub(crate) struct Security {
    pub(crate) user: i64,
    pub(crate) group: i64,
    pub(crate) read_only_root: bool,
}

pub(crate) fn security(app: &App, sub: &Sub) -> Security {
    let opt = app
        .kubernetes
        .subs
        .get(&sub.name)
        .map(|k| k.security.clone())
        .unwrap_or_default();
    Security {
        user: i64::from(opt.run_as_user.unwrap_or(SecurityOptOuts::DEFAULT_ID)),
        group: i64::from(opt.run_as_group.unwrap_or(SecurityOptOuts::DEFAULT_ID)),
        read_only_root: opt.read_only_root_filesystem,
    }
}

/// The opt-outs a sub took, as `field=value` texts, with the checkov checks each affects.
pub(crate) fn opt_outs(app: &App, sub: &Sub) -> Vec<(String, Option<&'static str>)> {
    let Some(opt) = app.kubernetes.subs.get(&sub.name).map(|k| &k.security) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if !opt.read_only_root_filesystem {
        out.push((
            "readOnlyRootFilesystem=false".to_owned(),
            Some("CKV_K8S_22"),
        ));
    }
    if let Some(uid) = opt.run_as_user {
        let check = (uid < 10000).then_some("CKV_K8S_40");
        out.push((format!("runAsUser={uid}"), check));
    }
    if let Some(gid) = opt.run_as_group {
        out.push((format!("runAsGroup={gid}"), None));
    }
    out
}

pub(crate) fn pod_security(security: &Security) -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(security.user),
        run_as_group: Some(security.group),
        fs_group: Some(security.group),
        fs_group_change_policy: Some("OnRootMismatch".to_owned()),
        seccomp_profile: Some(runtime_default()),
        ..PodSecurityContext::default()
    }
}

fn container_security(security: &Security) -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        privileged: Some(false),
        read_only_root_filesystem: Some(security.read_only_root),
        run_as_non_root: Some(true),
        run_as_user: Some(security.user),
        run_as_group: Some(security.group),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".to_owned()]),
            add: None,
        }),
        seccomp_profile: Some(runtime_default()),
        ..SecurityContext::default()
    }
}

fn runtime_default() -> SeccompProfile {
    SeccompProfile {
        type_: "RuntimeDefault".to_owned(),
        localhost_profile: None,
    }
}

/// The pod's volumes, which [`container`] mounts: `/tmp`, and the app's secrets if it has any.
pub(crate) fn volumes(app: &App) -> Vec<Volume> {
    let mut volumes = vec![Volume {
        name: TMP_VOLUME.to_owned(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Volume::default()
    }];
    if !app.secrets.is_empty() {
        volumes.push(Volume {
            name: SECRETS_VOLUME.to_owned(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(secret_name(app)),
                default_mode: Some(SECRET_FILE_MODE),
                items: Some(
                    app.secrets
                        .keys()
                        .map(|name| KeyToPath {
                            key: name.clone(),
                            path: name.clone(),
                            mode: None,
                        })
                        .collect(),
                ),
                optional: Some(false),
            }),
            ..Volume::default()
        });
    }
    volumes
}
