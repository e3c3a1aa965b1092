//! One test per mapping rule of a stateful sub (a sub with volumes): the `StatefulSet`, its
//! claim templates, its headless Service, and what its container is told.

mod support;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet, StatefulSetSpec};
use k8s_openapi::api::core::v1::{Container, EnvVar, Service};
use k8s_openapi::api::networking::v1::{NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicySpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use support::{find, rendered};
use zeppelin_core::App;
use zeppelin_kube::{Object, RenderError, RenderOptions, Rendered, Stage, labels, render};

const LEDGER: &str = r#"
name = "ledger"
[conf]
LOG_LEVEL = "info"
[sub.db]
image = "ghcr.io/acme/db:3.1.0"
port = 5432
replicas = 3
volumes = { data = { path = "/var/lib/db", size = "20Gi" }, wal = { path = "/wal", size = "2Gi" } }
health = { tcp = true }
[sub.api]
image = "ghcr.io/acme/api:1.0.0"
port = 8080
depends_on = ["db"]
[kubernetes.sub.db]
storage_class = "fast-ssd"
"#;

fn stateful_set<'a>(r: &'a Rendered, name: &str) -> &'a StatefulSet {
    match find(r, "StatefulSet", name) {
        Some(Object::StatefulSet(s)) => s,
        _ => panic!("no StatefulSet {name}"),
    }
}

fn spec<'a>(r: &'a Rendered, name: &str) -> &'a StatefulSetSpec {
    stateful_set(r, name).spec.as_ref().unwrap()
}

fn service<'a>(r: &'a Rendered, name: &str) -> &'a Service {
    match find(r, "Service", name) {
        Some(Object::Service(s)) => s,
        _ => panic!("no Service {name}"),
    }
}

fn container<'a>(r: &'a Rendered, name: &str) -> &'a Container {
    &spec(r, name).template.spec.as_ref().unwrap().containers[0]
}

fn env<'a>(c: &'a Container, name: &str) -> Option<&'a EnvVar> {
    c.env.iter().flatten().find(|v| v.name == name)
}

#[test]
fn a_stateful_sub_is_a_statefulset_and_no_deployment() {
    let r = rendered(LEDGER);
    assert!(find(&r, "Deployment", "db").is_none());
    assert!(find(&r, "Deployment", "api").is_some());
    let set = stateful_set(&r, "db");
    assert_eq!(set.metadata.namespace.as_deref(), Some("ledger"));
    assert_eq!(
        set.metadata.labels.as_ref().unwrap()[labels::VERSION],
        "3.1.0"
    );
    let spec = spec(&r, "db");
    assert_eq!(spec.replicas, Some(3));
    assert_eq!(spec.service_name.as_deref(), Some("db-pods"));
    assert_eq!(spec.pod_management_policy.as_deref(), Some("OrderedReady"));
    let update = spec.update_strategy.as_ref().unwrap();
    assert_eq!(update.type_.as_deref(), Some("RollingUpdate"));
    let retention = spec
        .persistent_volume_claim_retention_policy
        .as_ref()
        .unwrap();
    assert_eq!(retention.when_deleted.as_deref(), Some("Retain"));
    assert_eq!(retention.when_scaled.as_deref(), Some("Retain"));
    assert_eq!(
        spec.selector.match_labels.as_ref().unwrap(),
        &[
            (labels::INSTANCE.to_owned(), "ledger".to_owned()),
            (labels::NAME.to_owned(), "db".to_owned()),
        ]
        .into()
    );
    // Objects come in apply order: both workloads in one stage, Deployments first.
    let workloads: Vec<&str> = r
        .stages()
        .into_iter()
        .find(|(stage, _)| *stage == Stage::Workload)
        .unwrap()
        .1
        .iter()
        .map(|o| o.kind())
        .collect();
    assert_eq!(workloads, ["Deployment", "StatefulSet"]);
}

#[test]
fn the_statefulset_keeps_the_deployment_rules_it_shares() {
    let r = rendered(LEDGER);
    let Some(Object::Deployment(api)) = find(&r, "Deployment", "api") else {
        panic!("no Deployment api")
    };
    let api: &Deployment = api;
    let deployment = api.spec.as_ref().unwrap();
    let set = spec(&r, "db");
    assert_eq!(
        set.revision_history_limit,
        deployment.revision_history_limit
    );
    assert_eq!(set.min_ready_seconds, deployment.min_ready_seconds);
    let pod = set.template.spec.as_ref().unwrap();
    let spread = &pod.topology_spread_constraints.as_ref().unwrap()[0];
    // The StatefulSet controller labels a revision's pods with this, not pod-template-hash.
    assert_eq!(
        spread.match_label_keys.as_deref(),
        Some(&["controller-revision-hash".to_owned()][..])
    );
    let hash = &set
        .template
        .metadata
        .as_ref()
        .unwrap()
        .annotations
        .as_ref()
        .unwrap()[labels::CONFIG_HASH];
    assert!(hash.starts_with("sha256:"), "{hash}");
}

/// The pod of a stateful sub is the pod the same sub gets as a Deployment, plus its claims:
/// one pod builder, not two.
#[test]
fn the_pod_is_the_one_every_sub_gets_plus_its_claims() {
    let app = support::parse(LEDGER);
    let mut stateless = app.clone();
    stateless.subs.get_mut("db").unwrap().volumes.clear();
    let with = render(&app, &RenderOptions::default()).unwrap();
    let without = render(&stateless, &RenderOptions::default()).unwrap();
    let Some(Object::Deployment(d)) = find(&without, "Deployment", "db") else {
        panic!("no Deployment db")
    };
    let expected = &d.spec.as_ref().unwrap().template;
    let mut template = spec(&with, "db").template.clone();
    let pod = template.spec.as_mut().unwrap();
    pod.topology_spread_constraints.as_mut().unwrap()[0].match_label_keys =
        Some(vec!["pod-template-hash".to_owned()]);
    let c = &mut pod.containers[0];
    c.volume_mounts
        .as_mut()
        .unwrap()
        .retain(|m| m.name != "data" && m.name != "wal");
    c.env
        .as_mut()
        .unwrap()
        .retain(|v| !["DATA_DIR", "WAL_DIR", "ZEPPELIN_REPLICA"].contains(&v.name.as_str()));
    assert_eq!(&template, expected);
}

#[test]
fn each_volume_is_a_claim_template_with_size_class_and_stable_labels() {
    let r = rendered(LEDGER);
    let claims = spec(&r, "db").volume_claim_templates.as_ref().unwrap();
    let names: Vec<&str> = claims
        .iter()
        .map(|c| c.metadata.name.as_deref().unwrap())
        .collect();
    assert_eq!(names, ["data", "wal"]);
    for (claim, size) in claims.iter().zip(["20Gi", "2Gi"]) {
        let spec = claim.spec.as_ref().unwrap();
        assert_eq!(
            spec.access_modes.as_deref(),
            Some(&["ReadWriteOnce".to_owned()][..])
        );
        assert_eq!(
            spec.resources.as_ref().unwrap().requests.as_ref().unwrap()["storage"],
            Quantity(size.to_owned())
        );
        assert_eq!(spec.storage_class_name.as_deref(), Some("fast-ssd"));
        let l = claim.metadata.labels.as_ref().unwrap();
        assert_eq!(l[labels::MANAGED_BY], "zeppelin");
        assert_eq!(l[labels::INSTANCE], "ledger");
        assert_eq!(l[labels::NAME], "db");
        // Claim templates can never change, so nothing that changes between deploys.
        assert!(!l.contains_key(labels::VERSION), "{l:?}");
        assert!(claim.metadata.namespace.is_none());
    }
    let without_class = rendered(&LEDGER.replace("storage_class = \"fast-ssd\"", ""));
    for claim in spec(&without_class, "db")
        .volume_claim_templates
        .iter()
        .flatten()
    {
        assert_eq!(claim.spec.as_ref().unwrap().storage_class_name, None);
    }
}

#[test]
fn claim_templates_ignore_labels_that_may_change() {
    let r = rendered(&format!(
        "{LEDGER}[kubernetes]\nlabels = {{ team = \"ledger\" }}\n"
    ));
    let set = stateful_set(&r, "db");
    assert_eq!(set.metadata.labels.as_ref().unwrap()["team"], "ledger");
    for claim in set
        .spec
        .as_ref()
        .unwrap()
        .volume_claim_templates
        .iter()
        .flatten()
    {
        assert!(!claim.metadata.labels.as_ref().unwrap().contains_key("team"));
    }
}

#[test]
fn a_headless_service_names_the_pods_and_the_usual_one_serves_the_addr() {
    let r = rendered(LEDGER);
    let headless = service(&r, "db-pods");
    let spec = headless.spec.as_ref().unwrap();
    assert_eq!(spec.cluster_ip.as_deref(), Some("None"));
    assert_eq!(spec.publish_not_ready_addresses, Some(false));
    let usual = service(&r, "db").spec.as_ref().unwrap();
    assert_eq!(usual.type_.as_deref(), Some("ClusterIP"));
    assert_eq!(usual.cluster_ip, None);
    assert_eq!(spec.selector, usual.selector);
    assert_eq!(spec.ports, usual.ports);
    assert_eq!(
        spec.selector.as_ref(),
        spec_selector(&r, "db").match_labels.as_ref()
    );
    assert_eq!(
        headless.metadata.labels.as_ref().unwrap()[labels::COMPONENT],
        "db"
    );
    // Stateless subs get no headless Service.
    assert!(find(&r, "Service", "api-pods").is_none());
}

fn spec_selector<'a>(
    r: &'a Rendered,
    name: &str,
) -> &'a k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector {
    &spec(r, name).selector
}

#[test]
fn the_container_mounts_each_claim_and_is_told_where_and_which_replica() {
    let r = rendered(LEDGER);
    let c = container(&r, "db");
    let mounts: Vec<(&str, &str)> = c
        .volume_mounts
        .iter()
        .flatten()
        .map(|m| (m.name.as_str(), m.mount_path.as_str()))
        .collect();
    assert_eq!(
        mounts,
        [("tmp", "/tmp"), ("data", "/var/lib/db"), ("wal", "/wal")]
    );
    let value = |name: &str| env(c, name).and_then(|v| v.value.as_deref());
    assert_eq!(value("DATA_DIR"), Some("/var/lib/db"));
    assert_eq!(value("WAL_DIR"), Some("/wal"));
    assert_eq!(value("PORT"), Some("5432"));
    let replica = env(c, "ZEPPELIN_REPLICA").unwrap();
    assert_eq!(replica.value, None);
    assert_eq!(
        replica
            .value_from
            .as_ref()
            .unwrap()
            .field_ref
            .as_ref()
            .unwrap()
            .field_path,
        "metadata.labels['apps.kubernetes.io/pod-index']"
    );
    // The other subs reach it at its usual address, and know nothing of its volumes.
    let Some(Object::Deployment(api)) = find(&r, "Deployment", "api") else {
        panic!()
    };
    let api = &api
        .spec
        .as_ref()
        .unwrap()
        .template
        .spec
        .as_ref()
        .unwrap()
        .containers[0];
    assert_eq!(
        env(api, "DB_ADDR").and_then(|v| v.value.as_deref()),
        Some("db:5432")
    );
    for name in ["DATA_DIR", "ZEPPELIN_REPLICA"] {
        assert!(env(api, name).is_none(), "{name}");
    }
}

#[test]
fn a_dollar_in_a_mount_path_reaches_the_app_unexpanded() {
    let r = rendered(&LEDGER.replace("/wal", "/wal$(HOME)"));
    let c = container(&r, "db");
    assert_eq!(
        env(c, "WAL_DIR").and_then(|v| v.value.as_deref()),
        Some("/wal$$(HOME)")
    );
}

#[test]
fn the_pod_may_write_its_volumes_and_nothing_else() {
    let r = rendered(&format!("{LEDGER}run_as_group = 20000\n"));
    let pod = spec(&r, "db").template.spec.as_ref().unwrap();
    let sc = pod.security_context.as_ref().unwrap();
    assert_eq!(sc.fs_group, Some(20000));
    assert_eq!(sc.fs_group_change_policy.as_deref(), Some("OnRootMismatch"));
    let c = &pod.containers[0].security_context.as_ref().unwrap();
    assert_eq!(c.read_only_root_filesystem, Some(true));
    assert_eq!(c.run_as_group, Some(20000));
    assert!(
        pod.containers[0]
            .volume_mounts
            .iter()
            .flatten()
            .filter(|m| m.name == "data" || m.name == "wal")
            .all(|m| m.read_only.is_none())
    );
}

#[test]
fn replicas_come_from_the_cluster_override_or_the_sub_else_one() {
    let r = rendered(&format!("{LEDGER}replicas = 5\n"));
    assert_eq!(spec(&r, "db").replicas, Some(5));
    let one = rendered(&LEDGER.replace("replicas = 3\n", ""));
    assert_eq!(spec(&one, "db").replicas, Some(1));
    assert!(
        one.warnings
            .iter()
            .any(|w| w.sub.as_deref() == Some("db") && w.message.contains("single replica")),
        "{:?}",
        one.warnings
    );
}

#[test]
fn a_budget_from_two_replicas_on_and_never_an_autoscaler() {
    let three = rendered(LEDGER);
    let Some(Object::PodDisruptionBudget(pdb)) = find(&three, "PodDisruptionBudget", "db") else {
        panic!("no PodDisruptionBudget db")
    };
    assert_eq!(
        pdb.spec.as_ref().unwrap().selector.as_ref().unwrap(),
        spec_selector(&three, "db")
    );
    let one = rendered(&LEDGER.replace("replicas = 3\n", ""));
    assert!(find(&one, "PodDisruptionBudget", "db").is_none());
    let two = rendered(&LEDGER.replace("replicas = 3\n", "replicas = 2\n"));
    assert!(find(&two, "PodDisruptionBudget", "db").is_some());
    for r in [&one, &two, &three] {
        assert!(
            r.objects
                .iter()
                .all(|o| o.kind() != "HorizontalPodAutoscaler"),
        );
    }
}

fn network_policy(r: &Rendered, name: &str) -> NetworkPolicySpec {
    match find(r, "NetworkPolicy", name) {
        Some(Object::NetworkPolicy(policy)) => policy.spec.clone().unwrap(),
        _ => panic!("no NetworkPolicy {name}"),
    }
}

/// Whether a rule's peers are exactly the pods of `sub`, on `port`.
fn peers_of(
    peers: Option<&Vec<NetworkPolicyPeer>>,
    ports: Option<&Vec<NetworkPolicyPort>>,
    r: &Rendered,
    sub: &str,
    port: i32,
) -> bool {
    let own = spec_selector(r, sub).match_labels.as_ref();
    peers.is_some_and(|p| {
        p.len() == 1 && p[0].pod_selector.as_ref().unwrap().match_labels.as_ref() == own
    }) && ports.is_some_and(|p| p.len() == 1 && p[0].port == Some(IntOrString::Int(port)))
}

#[test]
fn replicas_of_a_stateful_sub_reach_each_other_from_two_on() {
    let three = rendered(LEDGER);
    let spec = network_policy(&three, "db");
    assert_eq!(
        spec.pod_selector.as_ref().unwrap().match_labels.as_ref(),
        spec_selector(&three, "db").match_labels.as_ref()
    );
    let ingress = spec.ingress.as_ref().unwrap();
    assert!(
        ingress.iter().any(|rule| peers_of(
            rule.from.as_ref(),
            rule.ports.as_ref(),
            &three,
            "db",
            5432
        )),
        "{ingress:?}"
    );
    // From api too, which depends on db: the peers' rule adds to it.
    assert_eq!(ingress.len(), 2, "{ingress:?}");
    let egress = spec.egress.as_ref().unwrap();
    assert!(
        egress.iter().any(|rule| peers_of(
            rule.to.as_ref(),
            rule.ports.as_ref(),
            &three,
            "db",
            5432
        )),
        "{egress:?}"
    );

    // One replica has no peer; a stateless sub's replicas share nothing to talk over.
    let one = rendered(&LEDGER.replace("replicas = 3\n", ""));
    let spec = network_policy(&one, "db");
    assert_eq!(spec.ingress.as_ref().map(Vec::len), Some(1));
    assert!(spec.egress.is_none(), "{:?}", spec.egress);
    // api runs the default two replicas, and nothing depends on it.
    let api = network_policy(&three, "api");
    assert!(api.ingress.is_none(), "{:?}", api.ingress);
}

fn without_size(mut app: App, sub: &str, volume: &str) -> App {
    app.subs
        .get_mut(sub)
        .unwrap()
        .volumes
        .get_mut(volume)
        .unwrap()
        .size = None;
    app
}

#[test]
fn a_volume_without_size_is_an_error_naming_sub_and_volume() {
    // `zeppelin check` refuses this already; render must not make a claim of no size.
    let app = without_size(support::parse(LEDGER), "db", "wal");
    let err = render(&app, &RenderOptions::default()).unwrap_err();
    assert!(
        matches!(&err, RenderError::MissingVolumeSize { sub, volume } if sub == "db" && volume == "wal"),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("volume `wal` of sub `db`"), "{text}");
    assert!(text.contains("size = \"1Gi\""), "{text}");
}

#[test]
fn a_volume_named_like_a_pod_volume_is_an_error() {
    // `zeppelin check` refuses the name first; render still refuses a model that skipped it.
    let mut app = support::parse(LEDGER);
    let volumes = &mut app.subs.get_mut("db").unwrap().volumes;
    let mut wal = volumes.remove("wal").unwrap();
    wal.name = "tmp".to_owned();
    volumes.insert("tmp".to_owned(), wal);
    let err = render(&app, &RenderOptions::default()).unwrap_err();
    assert!(
        matches!(&err, RenderError::ReservedVolumeName { sub, volume } if sub == "db" && volume == "tmp"),
        "{err:?}"
    );
}

#[test]
fn a_name_too_long_for_the_pods_revision_label_is_an_error() {
    let long = "d".repeat(53);
    let app = support::parse(
        &LEDGER
            .replace("[sub.db]", &format!("[sub.{long}]"))
            .replace(
                "depends_on = [\"db\"]",
                &format!("depends_on = [\"{long}\"]"),
            )
            .replace("[kubernetes.sub.db]", &format!("[kubernetes.sub.{long}]")),
    );
    let err = render(&app, &RenderOptions::default()).unwrap_err();
    assert!(
        matches!(
            &err,
            RenderError::NameTooLong {
                kind: "StatefulSet",
                limit: 52,
                ..
            }
        ),
        "{err:?}"
    );
    let ok = "d".repeat(52);
    let app = support::parse(
        &LEDGER
            .replace("[sub.db]", &format!("[sub.{ok}]"))
            .replace("depends_on = [\"db\"]", &format!("depends_on = [\"{ok}\"]"))
            .replace("[kubernetes.sub.db]", &format!("[kubernetes.sub.{ok}]")),
    );
    render(&app, &RenderOptions::default()).unwrap();
}

#[test]
fn a_sub_named_like_a_headless_service_is_a_clash() {
    let app = support::parse(&format!(
        "{LEDGER}[sub.db-pods]\nimage = \"ghcr.io/acme/x:1\"\nport = 9000\n"
    ));
    let err = render(&app, &RenderOptions::default()).unwrap_err();
    assert!(
        matches!(&err, RenderError::NameClash { kind: "Service", name } if name == "db-pods"),
        "{err:?}"
    );
    assert!(err.to_string().contains("`<sub>-pods`"), "{err}");
}
