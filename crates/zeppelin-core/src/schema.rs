//! The JSON Schema of `zeppelin.toml`, for editors (taplo, Even Better TOML) to complete and
//! check the file as it is typed.
//!
//! The types here describe the file's shape, not the model: the decoder in `decode` reads
//! the file into [`crate::App`] with spanned diagnostics and never goes through them. A unit
//! test walks the schema and a file that sets every key, so a key added to the decoder but
//! not here (or the reverse) fails the build's tests.

// The types exist for their derived schema: nothing reads their fields, and their doc
// comments are the descriptions editors show, written as prose rather than rustdoc.
#![allow(dead_code, clippy::doc_markdown)]

use std::collections::BTreeMap;

use schemars::JsonSchema;

/// Schema URL editors see in `$id`.
const SCHEMA_ID: &str = "https://zeppelin.invalid/schema/zeppelin.toml.json";

/// The JSON Schema of the app file, as a JSON value.
pub fn app_file_schema() -> serde_json::Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(AppFile))
        .expect("a derived schema always serializes");
    drop_null(&mut schema);
    if let Some(object) = schema.as_object_mut() {
        object.insert("$id".to_owned(), SCHEMA_ID.into());
    }
    schema
}

/// Removes the `null` that schemars allows for `Option` fields: TOML has no null, an
/// optional key is simply absent.
fn drop_null(node: &mut serde_json::Value) {
    use serde_json::Value;
    match node {
        Value::Object(object) => {
            if let Some(Value::Array(types)) = object.get_mut("type") {
                types.retain(|t| t != "null");
                if let [only] = types.as_slice() {
                    let only = only.clone();
                    object.insert("type".to_owned(), only);
                }
            }
            for key in ["anyOf", "oneOf"] {
                if let Some(Value::Array(alternatives)) = object.get_mut(key) {
                    alternatives.retain(|a| a.get("type").is_none_or(|t| t != "null"));
                }
            }
            object.values_mut().for_each(drop_null);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_null),
        _ => {}
    }
}

/// A Zeppelin app: its sub-components, configuration, secrets and routes.
#[derive(JsonSchema)]
#[schemars(title = "zeppelin.toml", deny_unknown_fields)]
struct AppFile {
    /// The app's name: a DNS-1123 label of at most 50 characters. Also the Kubernetes
    /// namespace unless `namespace` is set.
    #[schemars(regex(pattern = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"), length(max = 50))]
    name: String,
    /// The Kubernetes namespace, when it differs from `name`.
    namespace: Option<String>,
    /// Plain settings given to every sub as environment variables (a ConfigMap on Kubernetes).
    conf: Option<BTreeMap<String, Scalar>>,
    /// Secrets: where each value is read at run or deploy time. Apps receive each secret
    /// `NAME` as a file announced by `NAME_FILE`.
    secrets: Option<BTreeMap<String, SecretFile>>,
    /// The sub-components, by name (DNS-1123 labels).
    sub: Option<BTreeMap<String, SubFile>>,
    /// Work that runs to completion: migrations `before` subs, tasks on a `schedule`, or
    /// commands run on demand with `zeppelin run-job`; by name (DNS-1123 labels).
    job: Option<BTreeMap<String, JobFile>>,
    /// Host and path routes: the local gateway, an Ingress on Kubernetes.
    route: Option<Vec<RouteFile>>,
    /// The local gateway serving `[[route]]` entries.
    gateway: Option<GatewayFile>,
    /// Local log files, `log/<sub>.log`, rotated by size.
    logs: Option<LogsFile>,
    /// Settings that only apply on Kubernetes.
    kubernetes: Option<KubernetesFile>,
}

/// A string, number or boolean; numbers and booleans become their TOML text.
#[derive(JsonSchema)]
#[schemars(untagged)]
enum Scalar {
    String(String),
    Integer(i64),
    Float(f64),
    Boolean(bool),
}

/// Where a secret's value comes from: exactly one of `env` and `file`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct SecretFile {
    /// An environment variable of whoever runs Zeppelin.
    env: Option<String>,
    /// A file, relative to the app folder unless absolute.
    file: Option<String>,
    /// Also give the value as a plain environment variable `NAME` (off by default: variables
    /// leak into child processes and crash dumps).
    expose_env: Option<bool>,
}

/// A sub-component: one kind of process, run as one or more replicas.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct SubFile {
    /// The local command, run through `sh -c` in the app folder with `PORT` set.
    run: Option<String>,
    /// The container image, needed for Kubernetes only.
    image: Option<String>,
    /// The stable port other subs use; locally a load balancer listens here.
    #[schemars(range(min = 1, max = 65535))]
    port: Option<u32>,
    /// Replicas to run (default 1).
    #[schemars(range(min = 0))]
    replicas: Option<u32>,
    /// Subs that must be healthy before this one starts.
    depends_on: Option<Vec<String>>,
    /// Environment for this sub; overrides `[conf]`.
    env: Option<BTreeMap<String, Scalar>>,
    /// How to tell the sub is healthy.
    health: Option<HealthFile>,
    /// When an exited replica is started again.
    restart: Option<RestartFile>,
    /// Compute requests (Kubernetes quantities such as `250m`, `256Mi`).
    resources: Option<ResourcesFile>,
    /// Horizontal autoscaling (a HorizontalPodAutoscaler on Kubernetes).
    autoscale: Option<AutoscaleFile>,
    /// Time between SIGTERM and SIGKILL when stopping a replica (default `10s`).
    stop_timeout: Option<DurationText>,
    /// How the local balancer spreads connections.
    balance: Option<BalanceFile>,
    /// Directories that belong to one replica each and persist; a sub with volumes is
    /// stateful (a StatefulSet on Kubernetes). Each gives the app `<NAME>_DIR`.
    volumes: Option<BTreeMap<String, VolumeFile>>,
}

/// A job: a command that runs to completion (a Job or CronJob on Kubernetes).
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct JobFile {
    /// The local command, run through `sh -c` in the app folder.
    run: Option<String>,
    /// The container image, needed for Kubernetes only.
    image: Option<String>,
    /// Subs that must be healthy before the job starts.
    depends_on: Option<Vec<String>>,
    /// Subs that start, and roll out, only after this job succeeded; it re-runs only when
    /// what it runs changed.
    before: Option<Vec<String>>,
    /// When the job runs by itself: five cron fields such as `0 3 * * *`, or `@daily`.
    schedule: Option<String>,
    /// The IANA time zone of `schedule`, such as `Europe/Berlin` (UTC otherwise).
    timezone: Option<String>,
    /// The longest one run may take, all attempts together (default `3m`).
    timeout: Option<DurationText>,
    /// How many times a failed run is tried again (default 0).
    #[schemars(range(min = 0))]
    retries: Option<u32>,
    /// Environment for this job; overrides `[conf]`.
    env: Option<BTreeMap<String, Scalar>>,
    /// Compute requests (Kubernetes quantities such as `250m`, `256Mi`).
    resources: Option<ResourcesFile>,
}

/// One volume of a stateful sub.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct VolumeFile {
    /// Where the container mounts it on Kubernetes (absolute).
    path: String,
    /// The storage to claim on Kubernetes, such as `1Gi`; needed when the sub has an image.
    size: Option<QuantityText>,
}

/// A duration such as `500ms`, `5s`, `2m` or `1m30s`.
#[derive(JsonSchema)]
#[schemars(transparent)]
struct DurationText(#[schemars(regex(pattern = r"^([0-9]+(ms|s|m|h))+$"))] String);

/// A Kubernetes quantity such as `250m`, `1.5`, `256Mi` or `1G`.
#[derive(JsonSchema)]
#[schemars(untagged)]
enum QuantityText {
    Text(String),
    Number(f64),
}

/// One kind of check (`http`, `tcp` or `exec`) and optional timing.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct HealthFile {
    /// `GET` this path on the replica's port; 2xx and 3xx are healthy.
    http: Option<String>,
    /// `true`: connect to the replica's port.
    tcp: Option<bool>,
    /// Run this command through `sh -c`; exit status 0 is healthy.
    exec: Option<String>,
    /// Time between probes (default `5s`).
    interval: Option<DurationText>,
    /// How long one probe may take (default `2s`).
    timeout: Option<DurationText>,
    /// Failures in a row that make a healthy replica unhealthy (default 3).
    #[schemars(range(min = 1))]
    retries: Option<u32>,
    /// Time after start during which failures do not count (default `0s`).
    grace: Option<DurationText>,
}

#[derive(JsonSchema)]
#[schemars(rename_all = "kebab-case")]
enum RestartFile {
    /// Always start it again (default).
    Always,
    /// Only when it exits with a non-zero status or a signal.
    OnFailure,
    /// Never.
    Never,
}

#[derive(JsonSchema)]
#[schemars(rename_all = "kebab-case")]
enum BalanceFile {
    /// Each new connection to the next healthy replica (default).
    RoundRobin,
    /// Each new connection to the healthy replica with the fewest open ones.
    LeastConnections,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct ResourcesFile {
    /// CPU request, such as `250m` or `1.5`.
    cpu: Option<QuantityText>,
    /// Memory request and limit, such as `256Mi`.
    memory: Option<QuantityText>,
    /// Ephemeral storage request, such as `1Gi`.
    ephemeral_storage: Option<QuantityText>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct AutoscaleFile {
    /// Fewest replicas (at least 1).
    #[schemars(range(min = 1))]
    min: u32,
    /// Most replicas (at least `min`).
    #[schemars(range(min = 1))]
    max: u32,
    /// Target average CPU use, in percent of the request (default 80).
    #[schemars(range(min = 1, max = 1000))]
    cpu_percent: Option<u32>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct RouteFile {
    /// Exact host, or `*.example.com` for any one-label subdomain.
    host: String,
    /// Path prefix (default `/`).
    path: Option<String>,
    /// The sub that serves it; it must have a port.
    sub: String,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct GatewayFile {
    /// The gateway's port (default 8000).
    #[schemars(range(min = 1, max = 65535))]
    port: Option<u32>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct LogsFile {
    /// Rotate a log file when it reaches this size (default `10Mi`).
    max_size: Option<QuantityText>,
    /// Rotated files kept besides the current one (default 5).
    #[schemars(range(min = 1))]
    keep: Option<u32>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct KubernetesFile {
    /// Render and apply the Namespace (default true); false when it is managed elsewhere.
    create_namespace: Option<bool>,
    /// `ingressClassName` of the Ingress.
    ingress_class: Option<String>,
    /// TLS for routed hosts.
    tls: Option<TlsFile>,
    /// Pull secrets added to every pod.
    image_pull_secrets: Option<Vec<String>>,
    /// Extra labels on every object.
    labels: Option<BTreeMap<String, String>>,
    /// Extra annotations on every object.
    annotations: Option<BTreeMap<String, String>>,
    /// Where the ingress controller runs, so network policies let it reach routed subs.
    ingress_controller: Option<IngressControllerFile>,
    /// Per-sub cluster overrides.
    sub: Option<BTreeMap<String, KubeSubFile>>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct TlsFile {
    /// The Secret holding the certificate (default `<app>-tls`).
    secret: Option<String>,
    /// A cert-manager ClusterIssuer that issues the certificate.
    cluster_issuer: Option<String>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct IngressControllerFile {
    /// The controller's namespace (default `ingress-nginx`).
    namespace: Option<String>,
    /// The controller pods' labels (default `app.kubernetes.io/name = "ingress-nginx"`).
    pod_labels: Option<BTreeMap<String, String>>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct KubeSubFile {
    /// Replicas on the cluster, when different from the sub's `replicas`.
    #[schemars(range(min = 0))]
    replicas: Option<u32>,
    /// The container's command, instead of the image's entrypoint.
    command: Option<Vec<String>>,
    /// Destinations outside the app this sub may reach.
    egress: Option<Vec<EgressFile>>,
    /// The StorageClass of a stateful sub's claims (the cluster's default otherwise).
    storage_class: Option<String>,
    /// Opt-out: `false` gives the container a writable root filesystem (default `true`:
    /// read-only, with a writable `/tmp`).
    read_only_root_filesystem: Option<bool>,
    /// Opt-out: the user the container runs as instead of 10001 (never 0).
    #[schemars(range(min = 1))]
    run_as_user: Option<u32>,
    /// Opt-out: the group the container runs as instead of 10001 (never 0).
    #[schemars(range(min = 1))]
    run_as_group: Option<u32>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct EgressFile {
    /// An IP block in CIDR notation.
    cidr: String,
    /// TCP ports; every port when absent.
    ports: Option<Vec<u16>>,
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::app_file_schema;

    /// A file that sets every key the app file has.
    const EVERY_KEY: &str = r#"
name = "shop"
namespace = "shop-prod"

[conf]
LOG_LEVEL = "info"

[secrets]
API_TOKEN = { env = "SHOP_API_TOKEN", expose_env = true }
DB_PASSWORD = { file = "secrets/db" }

[sub.api]
run = "python3 app/api.py"
image = "ghcr.io/acme/api:1"
port = 8081
replicas = 2
env = { WORKERS = "2" }
health = { http = "/healthz", interval = "5s", timeout = "1s", retries = 3, grace = "2s" }
restart = "always"
resources = { cpu = "250m", memory = "256Mi", ephemeral_storage = "1Gi" }
autoscale = { min = 2, max = 4, cpu_percent = 70 }
stop_timeout = "10s"
balance = "least-connections"

[sub.db]
run = "db --dir $DATA_DIR"
image = "db:1"
volumes = { data = { path = "/data", size = "1Gi" } }

[sub.web]
run = "python3 app/web.py"
port = 8080
depends_on = ["api"]
health = { tcp = true }

[sub.worker]
run = "python3 app/worker.py"
health = { exec = "true" }

[job.migrate]
run = "python3 app/migrate.py"
image = "ghcr.io/acme/api:1"
depends_on = ["db"]
before = ["api"]
timeout = "2m"
retries = 1
env = { STEP = "all" }
resources = { cpu = "100m", memory = "128Mi", ephemeral_storage = "1Gi" }

[job.cleanup]
run = "python3 app/cleanup.py"
schedule = "0 3 * * *"
timezone = "Europe/Berlin"

[[route]]
host = "shop.localhost"
path = "/"
sub = "web"

[gateway]
port = 8000

[logs]
max_size = "10Mi"
keep = 5

[kubernetes]
create_namespace = false
ingress_class = "nginx"
tls = { secret = "shop-tls", cluster_issuer = "letsencrypt" }
image_pull_secrets = ["regcred"]
labels = { team = "shop" }
annotations = { owner = "shop" }
ingress_controller = { namespace = "ingress-nginx", pod_labels = { app = "nginx" } }

[kubernetes.sub.api]
replicas = 3
command = ["python3", "app/api.py"]
egress = [{ cidr = "10.0.0.0/8", ports = [5432] }]
read_only_root_filesystem = false
run_as_user = 1000
run_as_group = 1000

[kubernetes.sub.db]
storage_class = "fast"
"#;

    /// Dotted key paths the schema allows, with `*` for names the user picks.
    fn schema_paths(schema: &Value, node: &Value, prefix: &str, out: &mut BTreeSet<String>) {
        let node = resolve(schema, node);
        for key in ["anyOf", "oneOf"] {
            for alternative in node
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                schema_paths(schema, alternative, prefix, out);
            }
        }
        if let Some(items) = node.get("items") {
            schema_paths(schema, items, prefix, out);
        }
        if let Some(properties) = node.get("properties").and_then(Value::as_object) {
            for (name, child) in properties {
                let path = join(prefix, name);
                out.insert(path.clone());
                schema_paths(schema, child, &path, out);
            }
        }
        if let Some(values) = node.get("additionalProperties").filter(|v| v.is_object()) {
            schema_paths(schema, values, &join(prefix, "*"), out);
        }
    }

    fn resolve<'a>(schema: &'a Value, node: &'a Value) -> &'a Value {
        match node.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let name = reference.trim_start_matches("#/$defs/");
                resolve(schema, &schema["$defs"][name])
            }
            None => node,
        }
    }

    fn join(prefix: &str, name: &str) -> String {
        if prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{prefix}.{name}")
        }
    }

    /// Dotted key paths a TOML document sets; tables whose keys are user-chosen names
    /// (`conf`, `sub`, …) get `*`.
    fn file_paths(value: &toml::Value, prefix: &str, out: &mut BTreeSet<String>) {
        const NAMED: [&str; 11] = [
            "conf",
            "secrets",
            "sub",
            "sub.*.env",
            "job",
            "job.*.env",
            "sub.*.volumes",
            "kubernetes.labels",
            "kubernetes.annotations",
            "kubernetes.ingress_controller.pod_labels",
            "kubernetes.sub",
        ];
        match value {
            toml::Value::Table(table) => {
                for (name, child) in table {
                    let name = if NAMED.contains(&prefix) { "*" } else { name };
                    let path = join(prefix, name);
                    if name != "*" {
                        out.insert(path.clone());
                    }
                    file_paths(child, &path, out);
                }
            }
            toml::Value::Array(items) => {
                for item in items {
                    file_paths(item, prefix, out);
                }
            }
            _ => {}
        }
    }

    #[test]
    fn schema_and_decoder_know_the_same_keys() {
        crate::parse(EVERY_KEY, std::path::Path::new("zeppelin.toml"))
            .expect("the file that sets every key is valid");
        let schema = app_file_schema();
        let mut allowed = BTreeSet::new();
        schema_paths(&schema, &schema, "", &mut allowed);
        let mut set = BTreeSet::new();
        let file: toml::Table = toml::from_str(EVERY_KEY).unwrap();
        file_paths(&toml::Value::Table(file), "", &mut set);
        let missing_from_schema: Vec<_> = set.difference(&allowed).collect();
        let missing_from_file: Vec<_> = allowed.difference(&set).collect();
        assert!(
            missing_from_schema.is_empty(),
            "keys the decoder accepts but the schema lacks: {missing_from_schema:?}"
        );
        assert!(
            missing_from_file.is_empty(),
            "keys the schema has but the test file does not set: {missing_from_file:?}"
        );
    }

    #[test]
    fn schema_refuses_unknown_top_level_keys() {
        let schema = app_file_schema();
        assert_eq!(schema["additionalProperties"], Value::Bool(false));
        assert_eq!(schema["required"], serde_json::json!(["name"]));
        assert!(
            !schema.to_string().contains("\"null\""),
            "TOML has no null; no key may allow it"
        );
    }
}
