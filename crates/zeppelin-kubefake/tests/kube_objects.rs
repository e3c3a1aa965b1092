//! kube-rs (the client `zeppelin-kube` uses) against the fake API server, object by object:
//! status bodies, resource versions and generations, selectors and paging, subresources,
//! server-side apply, namespaces, discovery and HTTPS.

mod fixtures;

use std::collections::BTreeMap;

use fixtures::{LIMIT, client, config_map, status_of, web_deployment};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Event, Namespace, Pod};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::wait::{await_condition, conditions};
use serde_json::json;
use zeppelin_kubefake::{Config, FakeApiServer};

#[tokio::test]
async fn errors_come_back_as_status_objects() {
    let server = FakeApiServer::start(Config::default()).await.unwrap();
    let maps: Api<ConfigMap> = Api::namespaced(client(&server).await, "default");
    let created = maps
        .create(&PostParams::default(), &config_map("conf", &[]))
        .await
        .unwrap();
    assert!(created.uid().is_some());
    assert!(created.creation_timestamp().is_some());

    let (code, reason, message) = status_of(
        maps.create(&PostParams::default(), &config_map("conf", &[]))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (code, reason.as_str(), message.as_str()),
        (409, "AlreadyExists", "configmaps \"conf\" already exists")
    );
    let (code, reason, _) = status_of(maps.get("missing").await.unwrap_err());
    assert_eq!((code, reason.as_str()), (404, "NotFound"));

    let mut stale = created.clone();
    maps.patch(
        "conf",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"key": "new"}})),
    )
    .await
    .unwrap();
    stale.data = Some(BTreeMap::from([("key".to_owned(), "old".to_owned())]));
    let (code, reason, _) = status_of(
        maps.replace("conf", &PostParams::default(), &stale)
            .await
            .unwrap_err(),
    );
    assert_eq!((code, reason.as_str()), (409, "Conflict"));

    let elsewhere: Api<ConfigMap> = Api::namespaced(client(&server).await, "nowhere");
    let (code, _, message) = status_of(
        elsewhere
            .create(&PostParams::default(), &config_map("conf", &[]))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (code, message.as_str()),
        (404, "namespaces \"nowhere\" not found")
    );

    let deployments: Api<Deployment> = Api::namespaced(client(&server).await, "default");
    let mut bad = web_deployment("nginx");
    bad.spec.as_mut().unwrap().selector.match_labels =
        Some(BTreeMap::from([("app".to_owned(), "other".to_owned())]));
    let (code, reason, message) = status_of(
        deployments
            .create(&PostParams::default(), &bad)
            .await
            .unwrap_err(),
    );
    assert_eq!((code, reason.as_str()), (422, "Invalid"));
    assert!(
        message.contains("spec.template.metadata.labels"),
        "{message}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn resource_versions_increase_and_generation_follows_the_spec() {
    let server = FakeApiServer::start(Config {
        controllers: false,
        ..Config::default()
    })
    .await
    .unwrap();
    let deployments: Api<Deployment> = Api::namespaced(client(&server).await, "default");
    let first = deployments
        .create(&PostParams::default(), &web_deployment("nginx:1"))
        .await
        .unwrap();
    assert_eq!(first.metadata.generation, Some(1));
    let labelled = deployments
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"team": "a"}}})),
        )
        .await
        .unwrap();
    assert_eq!(labelled.metadata.generation, Some(1));
    let rv = |d: &Deployment| d.resource_version().unwrap().parse::<u64>().unwrap();
    assert!(rv(&labelled) > rv(&first));
    let changed = deployments
        .patch("web", &PatchParams::default(), &Patch::Strategic(json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:2"}]}}}})))
        .await
        .unwrap();
    assert_eq!(changed.metadata.generation, Some(2));
    assert!(rv(&changed) > rv(&labelled));
    assert_eq!(
        changed
            .spec
            .clone()
            .unwrap()
            .template
            .spec
            .unwrap()
            .containers[0]
            .image
            .as_deref(),
        Some("nginx:2")
    );

    let mut with_status = changed.clone();
    with_status.status =
        Some(serde_json::from_value(json!({"replicas": 7, "observedGeneration": 2})).unwrap());
    let written = deployments
        .replace_status("web", &PostParams::default(), &with_status)
        .await
        .unwrap();
    assert_eq!(written.status.as_ref().unwrap().replicas, Some(7));
    assert_eq!(written.metadata.generation, Some(2));
    let kept = deployments
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"replicas": 1}})),
        )
        .await
        .unwrap();
    assert_eq!(
        kept.status.unwrap().replicas,
        Some(7),
        "the main resource does not write status"
    );

    let scaled = deployments
        .patch_scale(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 4}})),
        )
        .await
        .unwrap();
    assert_eq!(scaled.spec.unwrap().replicas, Some(4));
    assert_eq!(
        deployments.get("web").await.unwrap().spec.unwrap().replicas,
        Some(4)
    );
    server.shutdown().await;
}

#[tokio::test]
async fn lists_filter_by_selectors_and_page_with_continue() {
    let server = FakeApiServer::start(Config::default()).await.unwrap();
    let maps: Api<ConfigMap> = Api::namespaced(client(&server).await, "default");
    for i in 0..5 {
        let tier = if i % 2 == 0 { "front" } else { "back" };
        maps.create(
            &PostParams::default(),
            &config_map(&format!("conf-{i}"), &[("tier", tier)]),
        )
        .await
        .unwrap();
    }
    let front = maps
        .list(&ListParams::default().labels("tier=front"))
        .await
        .unwrap();
    assert_eq!(front.items.len(), 3);
    let not_front = maps
        .list(&ListParams::default().labels("tier notin (front)"))
        .await
        .unwrap();
    assert_eq!(not_front.items.len(), 2);
    let named = maps
        .list(&ListParams::default().fields("metadata.name=conf-3"))
        .await
        .unwrap();
    assert_eq!(
        named
            .items
            .iter()
            .map(ResourceExt::name_any)
            .collect::<Vec<_>>(),
        ["conf-3"]
    );

    let mut names = Vec::new();
    let mut params = ListParams::default().limit(2);
    loop {
        let page = maps.list(&params).await.unwrap();
        assert!(page.items.len() <= 2);
        names.extend(page.items.iter().map(ResourceExt::name_any));
        match page.metadata.continue_ {
            Some(token) if !token.is_empty() => params = params.continue_token(&token),
            _ => break,
        }
    }
    assert_eq!(names, ["conf-0", "conf-1", "conf-2", "conf-3", "conf-4"]);
    server.shutdown().await;
}

#[tokio::test]
async fn server_side_apply_owns_fields_and_honours_dry_run_and_force() {
    let server = FakeApiServer::start(Config {
        controllers: false,
        ..Config::default()
    })
    .await
    .unwrap();
    let deployments: Api<Deployment> = Api::namespaced(client(&server).await, "default");
    let zeppelin = PatchParams::apply("zeppelin");
    let dry = PatchParams::apply("zeppelin").dry_run();
    let planned = deployments
        .patch("web", &dry, &Patch::Apply(web_deployment("nginx:1")))
        .await
        .unwrap();
    assert_eq!(planned.name_any(), "web");
    assert!(server.object("deployments", "default", "web").is_none());

    let applied = deployments
        .patch("web", &zeppelin, &Patch::Apply(web_deployment("nginx:1")))
        .await
        .unwrap();
    let managers = applied.metadata.managed_fields.unwrap();
    assert_eq!(managers.len(), 1);
    assert_eq!(managers[0].manager.as_deref(), Some("zeppelin"));
    assert_eq!(managers[0].operation.as_deref(), Some("Apply"));

    let other = PatchParams::apply("someone-else");
    let (code, _, message) = status_of(
        deployments
            .patch("web", &other, &Patch::Apply(web_deployment("nginx:2")))
            .await
            .unwrap_err(),
    );
    assert_eq!(code, 409);
    assert!(message.contains(r#"conflict with "zeppelin""#), "{message}");
    let forced = deployments
        .patch(
            "web",
            &other.force(),
            &Patch::Apply(web_deployment("nginx:2")),
        )
        .await
        .unwrap();
    assert_eq!(
        forced.spec.unwrap().template.spec.unwrap().containers[0]
            .image
            .as_deref(),
        Some("nginx:2")
    );
    server.shutdown().await;
}

#[tokio::test]
async fn delete_collection_skips_items_a_cascade_already_deleted() {
    let server = FakeApiServer::start(Config {
        controllers: false,
        ..Config::default()
    })
    .await
    .unwrap();
    let maps: Api<ConfigMap> = Api::namespaced(client(&server).await, "default");
    let owner = maps
        .create(&PostParams::default(), &config_map("a-owner", &[]))
        .await
        .unwrap();
    let mut owned = config_map("b-owned", &[]);
    owned.metadata.owner_references = Some(vec![
        serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "ConfigMap", "name": "a-owner",
            "uid": owner.uid().unwrap(),
        }))
        .unwrap(),
    ]);
    maps.create(&PostParams::default(), &owned).await.unwrap();
    let deleted = maps
        .delete_collection(&DeleteParams::default(), &ListParams::default())
        .await
        .unwrap()
        .left()
        .expect("the deleted items");
    let names: Vec<String> = deleted.items.iter().map(ResourceExt::name_any).collect();
    assert_eq!(names, ["a-owner"]);
    assert!(server.objects("configmaps").is_empty());
    server.shutdown().await;
}

#[tokio::test]
async fn namespaces_terminate_through_the_namespace_controller() {
    let server = FakeApiServer::start(Config {
        controllers: false,
        ..Config::default()
    })
    .await
    .unwrap();
    let client = client(&server).await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let shop = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}});
    namespaces
        .patch("shop", &PatchParams::apply("zeppelin"), &Patch::Apply(shop))
        .await
        .unwrap();
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), "shop");
    maps.create(&PostParams::default(), &config_map("conf", &[]))
        .await
        .unwrap();
    assert_eq!(
        maps.get("conf").await.unwrap().metadata.generation,
        None,
        "config maps keep no generation"
    );

    namespaces
        .delete("shop", &DeleteParams::default())
        .await
        .unwrap();
    let terminating = namespaces.get("shop").await.unwrap();
    assert_eq!(
        terminating.status.unwrap().phase.as_deref(),
        Some("Terminating")
    );
    let (code, reason, message) = status_of(
        maps.create(&PostParams::default(), &config_map("late", &[]))
            .await
            .unwrap_err(),
    );
    assert_eq!((code, reason.as_str()), (403, "Forbidden"));
    assert!(
        message.contains("because it is being terminated"),
        "{message}"
    );

    server.set_controllers(true);
    let gone = tokio::time::timeout(
        LIMIT,
        await_condition(
            namespaces,
            "shop",
            conditions::is_deleted(&terminating.metadata.uid.unwrap()),
        ),
    )
    .await;
    gone.expect("the namespace goes away in time").unwrap();
    assert!(server.objects("configmaps").is_empty());
    server.shutdown().await;
}

#[tokio::test]
async fn discovery_both_ways_resolves_kinds_for_dynamic_apply() {
    let server = FakeApiServer::start(Config {
        controllers: false,
        ..Config::default()
    })
    .await
    .unwrap();
    let client = client(&server).await;
    let gvk = kube::api::GroupVersionKind::gvk("autoscaling", "v2", "HorizontalPodAutoscaler");
    let legacy = kube::discovery::Discovery::new(client.clone())
        .run()
        .await
        .unwrap();
    let aggregated = kube::discovery::Discovery::new(client.clone())
        .run_aggregated()
        .await
        .unwrap();
    for discovery in [&legacy, &aggregated] {
        let (resource, caps) = discovery.resolve_gvk(&gvk).expect("HPA v2 is discovered");
        assert_eq!(resource.plural, "horizontalpodautoscalers");
        assert_eq!(caps.scope, kube::discovery::Scope::Namespaced);
        assert!(caps.supports_operation(kube::discovery::verbs::PATCH));
        let (deployments, caps) = discovery
            .resolve_gvk(&kube::api::GroupVersionKind::gvk(
                "apps",
                "v1",
                "Deployment",
            ))
            .unwrap();
        assert_eq!(deployments.plural, "deployments");
        assert!(
            caps.subresources
                .iter()
                .any(|(sub, _)| sub.plural == "deployments/scale" || sub.plural == "scale"),
            "{caps:?}"
        );
    }
    let (resource, _) = kube::discovery::pinned_kind(&client, &gvk).await.unwrap();
    let api: Api<kube::api::DynamicObject> = Api::namespaced_with(client, "default", &resource);
    let hpa: kube::api::DynamicObject = serde_json::from_value(json!({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "minReplicas": 2, "maxReplicas": 5}
    }))
    .unwrap();
    let applied = api
        .patch("web", &PatchParams::apply("zeppelin"), &Patch::Apply(&hpa))
        .await
        .unwrap();
    assert_eq!(applied.data["spec"]["maxReplicas"], 5);
    assert_eq!(server.objects("hpa").len(), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn https_clients_trust_the_kubeconfig_certificate_authority() {
    let server = FakeApiServer::start(Config {
        tls: true,
        ..Config::default()
    })
    .await
    .unwrap();
    assert!(server.url().starts_with("https://"));
    assert!(
        server
            .ca_pem()
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    let namespaces: Api<Namespace> = Api::all(client(&server).await);
    let names: Vec<String> = namespaces
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .iter()
        .map(ResourceExt::name_any)
        .collect();
    assert!(names.contains(&"default".to_owned()), "{names:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn events_stay_bounded_and_a_deleted_namespace_leaves_nothing_behind() {
    let fast = std::time::Duration::from_millis(10);
    let server = FakeApiServer::start(Config {
        event_limit: 5,
        controller_interval: fast,
        pod_start_delay: fast,
        pod_ready_delay: fast,
        crash_restart_interval: std::time::Duration::from_millis(20),
        ..Config::default()
    })
    .await
    .unwrap();
    let client = client(&server).await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let busy: Namespace = serde_json::from_value(json!({"metadata": {"name": "busy"}})).unwrap();
    let uid = namespaces
        .create(&PostParams::default(), &busy)
        .await
        .unwrap()
        .uid()
        .unwrap();
    let events: Api<Event> = Api::namespaced(client.clone(), "busy");
    for n in 0..12 {
        let event: Event = serde_json::from_value(json!({
            "metadata": {"name": format!("e{n:02}")},
            "involvedObject": {"kind": "Pod", "name": "crasher", "namespace": "busy"},
            "reason": "Test",
            "message": format!("event {n}"),
        }))
        .unwrap();
        events.create(&PostParams::default(), &event).await.unwrap();
    }
    let kept: Vec<String> = events
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .iter()
        .map(ResourceExt::name_any)
        .collect();
    assert_eq!(kept, ["e07", "e08", "e09", "e10", "e11"]);

    let pods: Api<Pod> = Api::namespaced(client.clone(), "busy");
    let crasher: Pod = serde_json::from_value(json!({
        "metadata": {"name": "crasher"},
        "spec": {"containers": [{"name": "app", "image": "example/crashloop:1"}]},
    }))
    .unwrap();
    pods.create(&PostParams::default(), &crasher).await.unwrap();
    let restarted = await_condition(pods.clone(), "crasher", |pod: Option<&Pod>| {
        pod.and_then(|p| {
            p.status
                .as_ref()?
                .container_statuses
                .as_ref()?
                .first()
                .map(|c| c.restart_count)
        })
        .is_some_and(|restarts| restarts >= 30)
    });
    tokio::time::timeout(LIMIT, restarted)
        .await
        .unwrap()
        .unwrap();
    assert!(server.logs("busy", "crasher", "app").len() >= 30);
    assert!(
        events
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .len()
            <= 5
    );

    namespaces
        .delete("busy", &DeleteParams::default())
        .await
        .unwrap();
    let gone = await_condition(namespaces.clone(), "busy", conditions::is_deleted(&uid));
    tokio::time::timeout(LIMIT, gone).await.unwrap().unwrap();
    for kind in ["pods", "events", "configmaps", "secrets", "serviceaccounts"] {
        let left: Vec<_> = server
            .objects(kind)
            .into_iter()
            .filter(|o| o["metadata"]["namespace"] == "busy")
            .collect();
        assert!(
            left.is_empty(),
            "{kind} left in a deleted namespace: {left:?}"
        );
    }
    // The kubelet forgets a deleted pod's logs on its next round.
    let forgotten = async {
        while !server.logs("busy", "crasher", "app").is_empty() {
            tokio::time::sleep(fast).await;
        }
    };
    tokio::time::timeout(LIMIT, forgotten)
        .await
        .expect("the deleted pod's logs are freed");
    server.shutdown().await;
}
