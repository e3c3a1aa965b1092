//! kube-rs (the client `zeppelin-kube` uses) against the fake API server: status bodies,
//! resource versions, selectors and paging, subresources, server-side apply, watches from a
//! resource version, bookmarks, `410 Gone`, logs, and the injected faults.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{ConfigMap, Endpoints, Namespace, Pod, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{
    Api, DeleteParams, ListParams, LogParams, Patch, PatchParams, PostParams, WatchEvent,
    WatchParams,
};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Client, Config as KubeConfig, ResourceExt};
use serde_json::json;
use zeppelin_kubefake::{Config, FakeApiServer};

const LIMIT: Duration = Duration::from_secs(30);

async fn client(server: &FakeApiServer) -> Client {
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&server.kubeconfig_yaml())
        .expect("the kubeconfig parses");
    let config =
        KubeConfig::from_custom_kubeconfig(kubeconfig, &kube::config::KubeConfigOptions::default())
            .await
            .expect("the kubeconfig is usable");
    Client::try_from(config).expect("a client")
}

fn status_of(error: kube::Error) -> (u16, String, String) {
    match error {
        kube::Error::Api(status) => (status.code, status.reason.clone(), status.message.clone()),
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn config_map(name: &str, labels: &[(&str, &str)]) -> ConfigMap {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": labels.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect::<serde_json::Map<_, _>>()},
        "data": {"key": "value"}
    }))
    .unwrap()
}

fn web_deployment(image: &str) -> Deployment {
    serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": image}]}}
        }
    }))
    .unwrap()
}

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
async fn watches_resume_from_a_resource_version_and_report_gone() {
    let server = FakeApiServer::start(Config {
        history_limit: 5,
        bookmark_interval: Duration::from_millis(100),
        ..Config::default()
    })
    .await
    .unwrap();
    let maps: Api<ConfigMap> = Api::namespaced(client(&server).await, "default");
    let created = maps
        .create(&PostParams::default(), &config_map("conf", &[]))
        .await
        .unwrap();
    let from = created.resource_version().unwrap();
    maps.patch(
        "conf",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"key": "2"}})),
    )
    .await
    .unwrap();
    maps.delete("conf", &DeleteParams::default()).await.unwrap();

    let events = maps
        .watch(&WatchParams::default().timeout(5), &from)
        .await
        .unwrap();
    let kinds: Vec<&str> = tokio::time::timeout(
        LIMIT,
        events
            .take(2)
            .map(|e| match e.unwrap() {
                WatchEvent::Added(_) => "ADDED",
                WatchEvent::Modified(_) => "MODIFIED",
                WatchEvent::Deleted(_) => "DELETED",
                WatchEvent::Bookmark(_) => "BOOKMARK",
                WatchEvent::Error(_) => "ERROR",
            })
            .collect(),
    )
    .await
    .unwrap();
    assert_eq!(kinds, ["MODIFIED", "DELETED"]);

    let mut bookmarks = maps
        .watch(&WatchParams::default().timeout(5), "0")
        .await
        .unwrap()
        .boxed();
    let first = tokio::time::timeout(LIMIT, bookmarks.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(matches!(first, WatchEvent::Bookmark(_)), "{first:?}");

    for i in 0..10 {
        maps.create(
            &PostParams::default(),
            &config_map(&format!("churn-{i}"), &[]),
        )
        .await
        .unwrap();
    }
    let mut gone = maps
        .watch(&WatchParams::default(), &from)
        .await
        .unwrap()
        .boxed();
    match tokio::time::timeout(LIMIT, gone.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap()
    {
        WatchEvent::Error(status) => assert_eq!(status.code, 410),
        other => panic!("expected 410 Gone, got {other:?}"),
    }
    server.shutdown().await;
}

#[tokio::test]
async fn rollouts_complete_for_kube_rs_wait_conditions_and_pods_log() {
    let server = FakeApiServer::start(Config::default()).await.unwrap();
    let client = client(&server).await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .patch(
            "shop",
            &PatchParams::apply("zeppelin"),
            &Patch::Apply(
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}),
            ),
        )
        .await
        .unwrap();
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "shop");
    deployments
        .patch(
            "web",
            &PatchParams::apply("zeppelin"),
            &Patch::Apply(web_deployment("nginx:1")),
        )
        .await
        .unwrap();
    let services: Api<Service> = Api::namespaced(client.clone(), "shop");
    let service = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}});
    services
        .patch(
            "web",
            &PatchParams::apply("zeppelin"),
            &Patch::Apply(service),
        )
        .await
        .unwrap();
    let done = tokio::time::timeout(
        LIMIT,
        await_condition(
            deployments.clone(),
            "web",
            conditions::is_deployment_completed(),
        ),
    )
    .await;
    let web = done
        .expect("the rollout completes in time")
        .unwrap()
        .unwrap();
    let status = web.status.unwrap();
    assert_eq!(
        (
            status.ready_replicas,
            status.available_replicas,
            status.updated_replicas
        ),
        (Some(2), Some(2), Some(2))
    );

    let endpoints: Api<Endpoints> = Api::namespaced(client.clone(), "shop");
    let two_ready = |e: Option<&Endpoints>| {
        e.and_then(|e| e.subsets.as_ref())
            .and_then(|s| s.first())
            .and_then(|s| s.addresses.as_ref())
            .is_some_and(|a| a.len() == 2)
    };
    let ready = tokio::time::timeout(LIMIT, await_condition(endpoints, "web", two_ready)).await;
    let ready = ready
        .expect("the endpoints list both pods in time")
        .unwrap()
        .unwrap();
    assert_eq!(
        ready.subsets.unwrap()[0].ports.as_ref().unwrap()[0].port,
        8080
    );

    let pods: Api<Pod> = Api::namespaced(client.clone(), "shop");
    let listed = pods
        .list(&ListParams::default().labels("app=web"))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 2);
    let pod = listed.items[0].name_any();
    assert_eq!(listed.items[0].owner_references()[0].kind, "ReplicaSet");
    let logs = pods
        .logs(
            &pod,
            &LogParams {
                tail_lines: Some(1),
                ..LogParams::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        logs,
        "zeppelin-kubefake: started container web (image nginx:1)\n"
    );

    deployments
        .delete("web", &DeleteParams::foreground())
        .await
        .unwrap();
    assert!(
        pods.list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    server.shutdown().await;
}

#[tokio::test]
async fn selector_watches_see_objects_enter_and_leave() {
    let server = FakeApiServer::start(Config::default()).await.unwrap();
    let maps: Api<ConfigMap> = Api::namespaced(client(&server).await, "default");
    let mut events = maps
        .watch(
            &WatchParams::default().labels("tier=front").timeout(10),
            "0",
        )
        .await
        .unwrap()
        .boxed();
    maps.create(
        &PostParams::default(),
        &config_map("conf", &[("tier", "back")]),
    )
    .await
    .unwrap();
    maps.patch(
        "conf",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"tier": "front"}}})),
    )
    .await
    .unwrap();
    maps.patch(
        "conf",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"key": "2"}})),
    )
    .await
    .unwrap();
    maps.patch(
        "conf",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"tier": null}}})),
    )
    .await
    .unwrap();
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let event = tokio::time::timeout(LIMIT, events.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        seen.push(match event {
            WatchEvent::Added(_) => "ADDED",
            WatchEvent::Modified(_) => "MODIFIED",
            WatchEvent::Deleted(_) => "DELETED",
            WatchEvent::Bookmark(_) => continue,
            WatchEvent::Error(status) => panic!("{status:?}"),
        });
    }
    assert_eq!(seen, ["ADDED", "MODIFIED", "DELETED"]);
    server.shutdown().await;
}

#[tokio::test]
async fn streaming_list_watchers_and_orphaning_deletes() {
    let server = FakeApiServer::start(Config::default()).await.unwrap();
    let client = client(&server).await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    deployments
        .create(&PostParams::default(), &web_deployment("nginx:1"))
        .await
        .unwrap();

    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let config = kube::runtime::watcher::Config::default()
        .labels("app=web")
        .streaming_lists();
    let mut store = std::pin::pin!(kube::runtime::WatchStreamExt::default_backoff(
        kube::runtime::watcher(pods.clone(), config)
    ));
    let mut seen = std::collections::BTreeSet::new();
    let listed = tokio::time::timeout(LIMIT, async {
        while let Some(event) = store.try_next().await.unwrap() {
            match event {
                kube::runtime::watcher::Event::InitApply(pod)
                | kube::runtime::watcher::Event::Apply(pod) => {
                    seen.insert(pod.name_any());
                }
                kube::runtime::watcher::Event::Delete(_)
                | kube::runtime::watcher::Event::Init
                | kube::runtime::watcher::Event::InitDone => {}
            }
            if seen.len() == 2 {
                return;
            }
        }
    })
    .await;
    assert!(listed.is_ok(), "the watcher saw {seen:?}");

    let sets: Api<k8s_openapi::api::apps::v1::ReplicaSet> =
        Api::namespaced(client.clone(), "default");
    let set = sets
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .remove(0);
    deployments
        .delete("web", &DeleteParams::orphan())
        .await
        .unwrap();
    sets.delete(&set.name_any(), &DeleteParams::orphan())
        .await
        .unwrap();
    let left = pods.list(&ListParams::default()).await.unwrap().items;
    assert_eq!(left.len(), 2);
    assert!(left.iter().all(|p| p.owner_references().is_empty()));
    pods.delete_collection(
        &DeleteParams::default(),
        &ListParams::default().labels("app=web"),
    )
    .await
    .unwrap();
    assert!(
        pods.list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
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
async fn autoscalers_keep_replicas_in_range_and_budgets_count_healthy_pods() {
    let server = FakeApiServer::start(Config::default()).await.unwrap();
    let client = client(&server).await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    deployments
        .patch(
            "web",
            &PatchParams::apply("zeppelin"),
            &Patch::Apply(web_deployment("nginx:1")),
        )
        .await
        .unwrap();
    let zeppelin = PatchParams::apply("zeppelin");
    let hpa: Api<HorizontalPodAutoscaler> = Api::namespaced(client.clone(), "default");
    let autoscaler = json!({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "web"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "minReplicas": 3, "maxReplicas": 6}
    });
    hpa.patch("web", &zeppelin, &Patch::Apply(autoscaler))
        .await
        .unwrap();
    let budgets: Api<PodDisruptionBudget> = Api::namespaced(client.clone(), "default");
    let budget = json!({
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}
    });
    budgets
        .patch("web", &zeppelin, &Patch::Apply(budget))
        .await
        .unwrap();

    let scaled = |d: Option<&Deployment>| {
        d.and_then(|d| d.status.as_ref())
            .is_some_and(|s| s.ready_replicas == Some(3))
    };
    tokio::time::timeout(LIMIT, await_condition(deployments.clone(), "web", scaled))
        .await
        .expect("scaled to minReplicas in time")
        .unwrap();
    assert_eq!(
        deployments.get("web").await.unwrap().spec.unwrap().replicas,
        Some(3)
    );
    let allowed = |b: Option<&PodDisruptionBudget>| {
        b.and_then(|b| b.status.as_ref())
            .is_some_and(|s| s.disruptions_allowed == 2)
    };
    let budget = tokio::time::timeout(LIMIT, await_condition(budgets, "web", allowed))
        .await
        .expect("the budget counts pods in time")
        .unwrap()
        .unwrap();
    let status = budget.status.unwrap();
    assert_eq!(
        (
            status.expected_pods,
            status.current_healthy,
            status.desired_healthy
        ),
        (3, 3, 1)
    );
    let autoscaler = hpa.get("web").await.unwrap().status.unwrap();
    assert_eq!(autoscaler.desired_replicas, 3);
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
async fn faults_fail_requests_delay_them_and_drop_watches() {
    let server = FakeApiServer::start(Config::default()).await.unwrap();
    let maps: Api<ConfigMap> = Api::namespaced(client(&server).await, "default");
    server.fail_requests_after(1);
    maps.list(&ListParams::default()).await.unwrap();
    let (code, reason, _) = status_of(maps.list(&ListParams::default()).await.unwrap_err());
    assert_eq!((code, reason.as_str()), (500, "InternalError"));
    server.clear_faults();
    maps.list(&ListParams::default()).await.unwrap();

    let watch = maps.watch(&WatchParams::default(), "0").await.unwrap();
    server.drop_watches();
    let ended: Vec<_> = tokio::time::timeout(LIMIT, watch.try_collect::<Vec<_>>())
        .await
        .expect("the dropped watch ends")
        .unwrap();
    assert!(ended.is_empty());

    server.set_latency(Duration::from_secs(5));
    let slow = tokio::time::timeout(
        Duration::from_millis(300),
        maps.list(&ListParams::default()),
    )
    .await;
    assert!(slow.is_err(), "a request must wait out the added latency");
    server.shutdown().await;
}
