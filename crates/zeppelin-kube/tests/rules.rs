//! One test per mapping rule: what the app file says, and the object field it becomes.

mod support;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Container;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use support::{find, rendered};
use zeppelin_core::App;
use zeppelin_kube::{Object, RenderError, RenderOptions, Rendered, Stage, labels, render};

const SHOP: &str = r#"
name = "shop"
[conf]
LOG_LEVEL = "info"
[secrets]
TOKEN = { env = "SHOP_TOKEN" }
[sub.api]
image = "ghcr.io/acme/api:1.4.2"
port = 8081
replicas = 3
health = { http = "/healthz" }
[sub.web]
image = "ghcr.io/acme/web@sha256:0f4e6b2d8a9c1e3f5a7b9d0c2e4f6a8b0c1d3e5f7a9b1c3d5e7f9a0b2c4d6e8f"
port = 8080
depends_on = ["api"]
env = { MOTTO = "$(HOME) costs $5" }
autoscale = { min = 2, max = 4 }
[sub.worker]
image = "ghcr.io/acme/worker:1.4.2"
depends_on = ["api"]
replicas = 1
[[route]]
host = "shop.example.com"
sub = "web"
[kubernetes]
ingress_class = "nginx"
tls = { cluster_issuer = "letsencrypt" }
"#;

fn deployment<'a>(r: &'a Rendered, name: &str) -> &'a Deployment {
    match find(r, "Deployment", name) {
        Some(Object::Deployment(d)) => d,
        _ => panic!("no Deployment {name}"),
    }
}

fn container<'a>(r: &'a Rendered, name: &str) -> &'a Container {
    &deployment(r, name)
        .spec
        .as_ref()
        .unwrap()
        .template
        .spec
        .as_ref()
        .unwrap()
        .containers[0]
}

fn env<'a>(c: &'a Container, name: &str) -> Option<&'a str> {
    c.env
        .iter()
        .flatten()
        .find(|v| v.name == name)
        .and_then(|v| v.value.as_deref())
}

fn config_hash(r: &Rendered, sub: &str) -> String {
    support::pod_metadata(deployment(r, sub))
        .annotations
        .as_ref()
        .unwrap()[labels::CONFIG_HASH]
        .clone()
}

#[test]
fn a_sub_without_image_is_an_error_that_names_it() {
    let app = support::parse("name = \"shop\"\n[sub.api]\nrun = \"./api\"\nport = 8081\n");
    let err = render(&app, &RenderOptions::default()).unwrap_err();
    assert!(matches!(&err, RenderError::MissingImage { sub } if sub == "api"));
    assert!(err.to_string().contains("[sub.api]"), "{err}");
}

#[test]
fn names_too_long_for_kubernetes_are_errors() {
    let mut app: App = support::parse(SHOP);
    app.namespace = Some("n".repeat(64));
    let err = render(&app, &RenderOptions::default()).unwrap_err();
    assert!(
        matches!(
            &err,
            RenderError::NameTooLong {
                kind: "Namespace",
                len: 64,
                ..
            }
        ),
        "{err}"
    );
    let mut app: App = support::parse(SHOP);
    app.kubernetes
        .labels
        .insert("team".to_owned(), "t".repeat(64));
    let err = render(&app, &RenderOptions::default()).unwrap_err();
    assert!(
        matches!(err, RenderError::LabelTooLong { len: 64, .. }),
        "{err}"
    );
}

#[test]
fn replicas_are_left_to_the_autoscaler() {
    let r = rendered(SHOP);
    assert_eq!(deployment(&r, "web").spec.as_ref().unwrap().replicas, None);
    assert_eq!(
        deployment(&r, "api").spec.as_ref().unwrap().replicas,
        Some(3)
    );
    let Some(Object::HorizontalPodAutoscaler(hpa)) = find(&r, "HorizontalPodAutoscaler", "web")
    else {
        panic!("no HPA for web");
    };
    let spec = hpa.spec.as_ref().unwrap();
    assert_eq!((spec.min_replicas, spec.max_replicas), (Some(2), 4));
    assert_eq!(spec.scale_target_ref.name, "web");
    let target = &spec.metrics.as_ref().unwrap()[0]
        .resource
        .as_ref()
        .unwrap()
        .target;
    assert_eq!(target.average_utilization, Some(80));
    assert!(find(&r, "HorizontalPodAutoscaler", "api").is_none());
}

#[test]
fn cluster_replicas_override_the_sub_and_default_to_two() {
    let text = SHOP.replace("replicas = 1\n", "") + "[kubernetes.sub.api]\nreplicas = 5\n";
    let r = rendered(&text);
    assert_eq!(
        deployment(&r, "api").spec.as_ref().unwrap().replicas,
        Some(5)
    );
    assert_eq!(
        deployment(&r, "worker").spec.as_ref().unwrap().replicas,
        Some(2)
    );
}

#[test]
fn disruption_budgets_only_with_two_or_more_replicas() {
    let r = rendered(SHOP);
    assert!(find(&r, "PodDisruptionBudget", "api").is_some());
    assert!(
        find(&r, "PodDisruptionBudget", "web").is_some(),
        "autoscaled"
    );
    assert!(
        find(&r, "PodDisruptionBudget", "worker").is_none(),
        "one replica"
    );
    let Some(Object::PodDisruptionBudget(pdb)) = find(&r, "PodDisruptionBudget", "api") else {
        unreachable!()
    };
    let spec = pdb.spec.as_ref().unwrap();
    assert_eq!(spec.max_unavailable, Some(IntOrString::Int(1)));
    assert_eq!(
        spec.unhealthy_pod_eviction_policy.as_deref(),
        Some("AlwaysAllow")
    );
    assert!(
        r.warnings
            .iter()
            .any(|w| w.sub.as_deref() == Some("worker")),
        "a single replica is warned about"
    );
}

fn policy<'a>(r: &'a Rendered, name: &str) -> &'a NetworkPolicy {
    match find(r, "NetworkPolicy", name) {
        Some(Object::NetworkPolicy(p)) => p,
        _ => panic!("no NetworkPolicy {name}"),
    }
}

/// The subs a policy's rules name as peers, by `app.kubernetes.io/name`.
fn peer_subs(
    peers: Option<&Vec<k8s_openapi::api::networking::v1::NetworkPolicyPeer>>,
) -> Vec<String> {
    peers
        .into_iter()
        .flatten()
        .filter(|p| p.namespace_selector.is_none())
        .filter_map(|p| {
            p.pod_selector
                .as_ref()?
                .match_labels
                .as_ref()?
                .get(labels::NAME)
                .cloned()
        })
        .collect()
}

#[test]
fn network_policy_edges_follow_depends_on() {
    let r = rendered(SHOP);
    let api = policy(&r, "api").spec.as_ref().unwrap();
    let from: Vec<String> = api
        .ingress
        .iter()
        .flatten()
        .flat_map(|rule| peer_subs(rule.from.as_ref()))
        .collect();
    assert_eq!(
        from,
        ["web", "worker"],
        "api is reached by the subs that depend on it"
    );
    assert!(api.egress.is_none(), "api depends on nothing");
    let ports = &api.ingress.as_ref().unwrap()[0].ports.as_ref().unwrap()[0];
    assert_eq!(ports.port, Some(IntOrString::Int(8081)));

    let web = policy(&r, "web").spec.as_ref().unwrap();
    let to: Vec<String> = web
        .egress
        .iter()
        .flatten()
        .flat_map(|rule| peer_subs(rule.to.as_ref()))
        .collect();
    assert_eq!(to, ["api"]);
    let controller = web.ingress.as_ref().unwrap().iter().find_map(|rule| {
        rule.from
            .as_ref()?
            .iter()
            .find_map(|p| p.namespace_selector.clone())
    });
    assert_eq!(
        controller.unwrap().match_labels.unwrap()["kubernetes.io/metadata.name"],
        "ingress-nginx",
        "the ingress controller reaches routed subs"
    );
    let worker = policy(&r, "worker").spec.as_ref().unwrap();
    assert!(
        worker.ingress.is_none(),
        "nothing depends on worker and it has no port"
    );
}

#[test]
fn every_pod_is_denied_by_default_and_may_resolve_names() {
    let r = rendered(SHOP);
    let deny = policy(&r, "shop-default-deny").spec.as_ref().unwrap();
    assert_eq!(deny.policy_types.as_deref().unwrap(), ["Ingress", "Egress"]);
    assert!(deny.ingress.is_none() && deny.egress.is_none());
    let selector = deny
        .pod_selector
        .as_ref()
        .unwrap()
        .match_labels
        .as_ref()
        .unwrap();
    for sub in ["api", "web", "worker"] {
        let pod_labels = support::pod_metadata(deployment(&r, sub))
            .labels
            .as_ref()
            .unwrap();
        assert!(
            selector.iter().all(|(k, v)| pod_labels.get(k) == Some(v)),
            "{sub} is selected"
        );
    }
    let dns = policy(&r, "shop-dns").spec.as_ref().unwrap();
    let ports: Vec<_> = dns.egress.as_ref().unwrap()[0]
        .ports
        .iter()
        .flatten()
        .map(|p| (p.protocol.clone().unwrap(), p.port.clone()))
        .collect();
    assert_eq!(
        ports,
        [
            ("UDP".to_owned(), Some(IntOrString::Int(53))),
            ("TCP".to_owned(), Some(IntOrString::Int(53)))
        ]
    );
}

#[test]
fn declared_egress_becomes_ip_blocks() {
    let text = SHOP.to_owned()
        + "[kubernetes.sub.worker]\negress = [{ cidr = \"10.0.0.0/8\", ports = [5432] }]\n";
    let r = rendered(&text);
    let worker = policy(&r, "worker").spec.as_ref().unwrap();
    let block = worker.egress.as_ref().unwrap().iter().find_map(|rule| {
        let peer = rule.to.as_ref()?.iter().find_map(|p| p.ip_block.clone())?;
        Some((peer.cidr, rule.ports.clone().unwrap()[0].port.clone()))
    });
    assert_eq!(
        block,
        Some(("10.0.0.0/8".to_owned(), Some(IntOrString::Int(5432))))
    );
}

#[test]
fn the_config_hash_changes_only_for_subs_that_use_the_changed_value() {
    let base = SHOP.to_owned() + "[sub.api.env]\nLOG_LEVEL = \"warn\"\n";
    let before = rendered(&base);
    let after = rendered(&base.replace("LOG_LEVEL = \"info\"", "LOG_LEVEL = \"debug\""));
    assert_eq!(
        config_hash(&before, "api"),
        config_hash(&after, "api"),
        "api overrides LOG_LEVEL"
    );
    assert_ne!(config_hash(&before, "web"), config_hash(&after, "web"));
    assert_ne!(
        config_hash(&before, "worker"),
        config_hash(&after, "worker")
    );
    let again = rendered(&base);
    assert_eq!(config_hash(&before, "web"), config_hash(&again, "web"));
}

#[test]
fn containers_get_the_same_interface_as_locally() {
    let r = rendered(SHOP);
    let web = container(&r, "web");
    assert_eq!(env(web, "PORT"), Some("8080"));
    assert_eq!(env(web, "API_ADDR"), Some("api:8081"));
    assert_eq!(env(web, "WEB_ADDR"), Some("web:8080"));
    assert_eq!(env(web, "TOKEN_FILE"), Some("/run/secrets/zeppelin/TOKEN"));
    assert_eq!(env(web, "TOKEN"), None, "secrets are files unless exposed");
    assert_eq!(
        env(web, "MOTTO"),
        Some("$$(HOME) costs $$5"),
        "no $(VAR) expansion"
    );
    assert_eq!(env(container(&r, "worker"), "PORT"), None);
    let from = &web.env_from.as_ref().unwrap()[0];
    assert_eq!(from.config_map_ref.as_ref().unwrap().name, "shop-conf");
    let mount = web
        .volume_mounts
        .iter()
        .flatten()
        .find(|m| m.mount_path == "/run/secrets/zeppelin")
        .unwrap();
    assert_eq!(mount.read_only, Some(true));
}

#[test]
fn exposed_secrets_are_explicit_on_the_object() {
    let r = rendered(&SHOP.replace(
        "{ env = \"SHOP_TOKEN\" }",
        "{ env = \"SHOP_TOKEN\", expose_env = true }",
    ));
    let api = deployment(&r, "api");
    let annotations = api.metadata.annotations.as_ref().unwrap();
    assert_eq!(annotations[labels::SECRETS_AS_ENV], "TOKEN");
    assert!(annotations.values().any(|v| v.starts_with("CKV_K8S_35=")));
    let var = container(&r, "api")
        .env
        .iter()
        .flatten()
        .find(|v| v.name == "TOKEN")
        .unwrap();
    assert_eq!(
        var.value_from
            .as_ref()
            .unwrap()
            .secret_key_ref
            .as_ref()
            .unwrap()
            .name,
        "shop-secrets"
    );
    assert!(r.warnings.iter().any(|w| w.message.contains("TOKEN")));
}

#[test]
fn images_by_tag_are_pulled_always_and_noted_for_scanners() {
    let r = rendered(SHOP);
    assert_eq!(
        container(&r, "api").image_pull_policy.as_deref(),
        Some("Always")
    );
    assert_eq!(
        container(&r, "web").image_pull_policy.as_deref(),
        Some("IfNotPresent")
    );
    let skip = |sub: &str| {
        deployment(&r, sub)
            .metadata
            .annotations
            .iter()
            .flatten()
            .any(|(k, v)| k.starts_with("checkov.io/skip") && v.starts_with("CKV_K8S_43="))
    };
    assert!(skip("api"));
    assert!(!skip("web"), "a digest-pinned image needs no skip");
    let labels = deployment(&r, "api").metadata.labels.as_ref().unwrap();
    assert_eq!(labels[labels::VERSION], "1.4.2");
}

#[test]
fn rollouts_never_drop_below_the_desired_count_and_drain_first() {
    let r = rendered(SHOP);
    let spec = deployment(&r, "api").spec.as_ref().unwrap();
    let rolling = spec
        .strategy
        .as_ref()
        .unwrap()
        .rolling_update
        .as_ref()
        .unwrap();
    assert_eq!(rolling.max_unavailable, Some(IntOrString::Int(0)));
    assert_eq!(
        rolling.max_surge,
        Some(IntOrString::String("25%".to_owned()))
    );
    let pod = spec.template.spec.as_ref().unwrap();
    assert_eq!(
        pod.termination_grace_period_seconds,
        Some(15),
        "5s pause + 10s stop_timeout"
    );
    let pause = container(&r, "api")
        .lifecycle
        .as_ref()
        .unwrap()
        .pre_stop
        .as_ref()
        .unwrap();
    assert_eq!(pause.sleep.as_ref().unwrap().seconds, 5);
}

#[test]
fn resources_have_documented_defaults_and_memory_limit_equals_request() {
    let text = SHOP.replace(
        "replicas = 3\n",
        "replicas = 3\nresources = { cpu = \"250m\", memory = \"256Mi\" }\n",
    );
    let r = rendered(&text);
    let res = container(&r, "api").resources.clone().unwrap();
    let (req, lim) = (res.requests.unwrap(), res.limits.unwrap());
    assert_eq!(req["cpu"].0, "250m");
    assert_eq!(lim["cpu"].0, "500m");
    assert_eq!(req["memory"].0, "256Mi");
    assert_eq!(lim["memory"].0, "256Mi");
    assert_eq!(req["ephemeral-storage"].0, "256Mi");
    let defaults = container(&r, "worker")
        .resources
        .clone()
        .unwrap()
        .requests
        .unwrap();
    assert_eq!(
        (defaults["cpu"].0.as_str(), defaults["memory"].0.as_str()),
        ("100m", "128Mi")
    );
}

#[test]
fn a_port_without_health_is_probed_by_tcp() {
    let r = rendered(SHOP);
    let web = container(&r, "web");
    assert!(web.readiness_probe.as_ref().unwrap().tcp_socket.is_some());
    let worker = container(&r, "worker");
    assert!(
        worker.readiness_probe.is_none(),
        "no port and no health: nothing to probe"
    );
    assert!(
        r.warnings
            .iter()
            .any(|w| w.sub.as_deref() == Some("worker") && w.message.contains("health"))
    );
}

#[test]
fn the_ingress_routes_hosts_with_tls() {
    let r = rendered(SHOP);
    let Some(Object::Ingress(ingress)) = find(&r, "Ingress", "shop") else {
        panic!("no Ingress")
    };
    let spec = ingress.spec.as_ref().unwrap();
    assert_eq!(spec.ingress_class_name.as_deref(), Some("nginx"));
    let path = &spec.rules.as_ref().unwrap()[0].http.as_ref().unwrap().paths[0];
    assert_eq!(path.path_type, "Prefix");
    assert_eq!(path.backend.service.as_ref().unwrap().name, "web");
    let tls = &spec.tls.as_ref().unwrap()[0];
    assert_eq!(tls.secret_name.as_deref(), Some("shop-tls"));
    assert_eq!(tls.hosts.as_deref().unwrap(), ["shop.example.com"]);
    assert_eq!(
        ingress.metadata.annotations.as_ref().unwrap()["cert-manager.io/cluster-issuer"],
        "letsencrypt"
    );
}

#[test]
fn the_secret_is_rendered_only_with_values() {
    let app = support::parse(SHOP);
    let without = render(&app, &RenderOptions::default()).unwrap();
    assert!(without.secrets_left_out);
    assert!(find(&without, "Secret", "shop-secrets").is_none());
    let hashed_only = render(
        &app,
        &RenderOptions {
            secrets: Some(support::fixed_secrets(&app)),
            include_secret: false,
        },
    )
    .unwrap();
    assert!(hashed_only.secrets_left_out);
    assert!(find(&hashed_only, "Secret", "shop-secrets").is_none());
    let with = support::render_with_secrets(&app);
    assert!(!with.secrets_left_out);
    assert_eq!(
        config_hash(&hashed_only, "api"),
        config_hash(&with, "api"),
        "the hash covers the values whether or not the Secret is rendered"
    );
    let Some(Object::Secret(secret)) = find(&with, "Secret", "shop-secrets") else {
        panic!()
    };
    assert_eq!(secret.data.as_ref().unwrap()["TOKEN"].0, b"value-of-TOKEN");
    assert_ne!(config_hash(&without, "api"), config_hash(&with, "api"));
}

#[test]
fn objects_come_in_apply_stages_with_ownership_labels() {
    let app = support::parse(SHOP);
    let r = support::render_with_secrets(&app);
    let stages: Vec<Stage> = r.stages().into_iter().map(|(stage, _)| stage).collect();
    assert_eq!(
        stages,
        [
            Stage::Namespace,
            Stage::ServiceAccount,
            Stage::Config,
            Stage::Service,
            Stage::Workload,
            Stage::PodDisruptionBudget,
            Stage::HorizontalPodAutoscaler,
            Stage::NetworkPolicy,
            Stage::Ingress,
        ]
    );
    assert_eq!(
        labels::owner_selector(&app.name),
        "app.kubernetes.io/managed-by=zeppelin,app.kubernetes.io/instance=shop"
    );
    for object in &r.objects {
        let l = object.metadata().labels.as_ref().unwrap();
        assert_eq!(
            l[labels::MANAGED_BY],
            "zeppelin",
            "{}",
            object.display_name()
        );
        assert_eq!(l[labels::INSTANCE], "shop", "{}", object.display_name());
        if object.kind() != "Namespace" {
            assert_eq!(
                object.namespace(),
                Some("shop"),
                "{}",
                object.display_name()
            );
        }
        let dynamic = object.to_dynamic();
        assert_eq!(dynamic.types.as_ref().unwrap().kind, object.kind());
        assert_eq!(object.api_resource().kind, object.kind());
    }
}

#[test]
fn an_existing_namespace_is_not_rendered() {
    let r = rendered(&(SHOP.to_owned() + "create_namespace = false\n"));
    assert!(r.objects.iter().all(|o| o.kind() != "Namespace"));
}

#[test]
fn a_sub_named_like_an_app_object_is_a_clash() {
    let text = SHOP.to_owned() + "[sub.shop-dns]\nimage = \"dns:1\"\nreplicas = 2\n";
    let err = render(&support::parse(&text), &RenderOptions::default()).unwrap_err();
    assert!(
        matches!(&err, RenderError::NameClash { kind: "NetworkPolicy", name } if name == "shop-dns"),
        "{err}"
    );
}

#[test]
fn routes_without_tls_are_warned_about() {
    let plain = rendered(&SHOP.replace("tls = { cluster_issuer = \"letsencrypt\" }\n", ""));
    assert!(
        plain
            .warnings
            .iter()
            .any(|w| w.sub.is_none() && w.message.contains("plain HTTP"))
    );
    let tls = rendered(SHOP);
    assert!(
        !tls.warnings
            .iter()
            .any(|w| w.message.contains("plain HTTP"))
    );
}
