//! kube-rs against the fake API server over time: watches from a resource version,
//! bookmarks and `410 Gone`, selector watches, watchers, the simulated controllers and logs,
//! and the injected faults.

mod fixtures;

use std::time::Duration;

use fixtures::{LIMIT, client, config_map, status_of, web_deployment};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{ConfigMap, Endpoints, Namespace, Pod, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::ResourceExt;
use kube::api::{
    Api, DeleteParams, ListParams, LogParams, Patch, PatchParams, PostParams, WatchEvent,
    WatchParams,
};
use kube::runtime::wait::{await_condition, conditions};
use serde_json::json;
use zeppelin_kubefake::{Config, FakeApiServer};

#[tokio::test]
async fn zero_intervals_are_raised_rather_than_panicking() {
    let server = FakeApiServer::start(Config {
        controller_interval: Duration::ZERO,
        bookmark_interval: Duration::ZERO,
        ..Config::default()
    })
    .await
    .unwrap();
    let client = client(&server).await;
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let mut bookmarks = maps
        .watch(&WatchParams::default().timeout(5), "0")
        .await
        .unwrap()
        .boxed();
    for _ in 0..3 {
        let event = tokio::time::timeout(LIMIT, bookmarks.next())
            .await
            .unwrap()
            .expect("the watch goes on")
            .unwrap();
        assert!(matches!(event, WatchEvent::Bookmark(_)), "{event:?}");
    }
    let deployments: Api<Deployment> = Api::namespaced(client, "default");
    deployments
        .create(&PostParams::default(), &web_deployment("nginx:1"))
        .await
        .unwrap();
    tokio::time::timeout(
        LIMIT,
        await_condition(deployments, "web", conditions::is_deployment_completed()),
    )
    .await
    .expect("the controllers run")
    .unwrap();
    server.shutdown().await;
}

#[tokio::test]
async fn settled_objects_keep_their_resource_versions() {
    let server = FakeApiServer::start(Config {
        controller_interval: Duration::from_millis(20),
        ..Config::default()
    })
    .await
    .unwrap();
    let deployments: Api<Deployment> = Api::namespaced(client(&server).await, "default");
    deployments
        .create(&PostParams::default(), &web_deployment("nginx:1"))
        .await
        .unwrap();
    tokio::time::timeout(
        LIMIT,
        await_condition(deployments, "web", conditions::is_deployment_completed()),
    )
    .await
    .expect("the rollout completes in time")
    .unwrap();
    let versions = || {
        let mut versions: Vec<(String, String)> = ["pods", "replicasets", "deployments"]
            .into_iter()
            .flat_map(|kind| server.objects(kind))
            .map(|o| {
                let meta = &o["metadata"];
                (
                    meta["name"].as_str().unwrap().to_owned(),
                    meta["resourceVersion"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        versions.sort();
        versions
    };
    // Once every pod is available, the controllers change nothing: no new resource versions.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let settled = versions();
    assert!(settled.len() >= 4, "{settled:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(versions(), settled);
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

#[tokio::test]
async fn going_away_cuts_open_watches_and_refuses_connections_over_https_too() {
    let server = FakeApiServer::start(Config {
        tls: true,
        ..Config::default()
    })
    .await
    .unwrap();
    let maps: Api<ConfigMap> = Api::namespaced(client(&server).await, "default");
    maps.create(&PostParams::default(), &config_map("before", &[]))
        .await
        .unwrap();
    let mut watch = maps
        .watch(&WatchParams::default(), "0")
        .await
        .unwrap()
        .boxed();
    let first = tokio::time::timeout(LIMIT, watch.next()).await.unwrap();
    assert!(matches!(first, Some(Ok(WatchEvent::Added(_)))), "{first:?}");

    server.go_away().await;
    // kube-rs ends a watch cut mid-body quietly, for its watcher to resume; the binary's
    // tests show over raw HTTP that the stream is cut rather than finished.
    let rest: Vec<_> = tokio::time::timeout(LIMIT, watch.collect::<Vec<_>>())
        .await
        .expect("the cut watch ends");
    assert!(
        rest.iter()
            .all(|event| !matches!(event, Ok(WatchEvent::Added(_)))),
        "nothing new comes after the go-away: {rest:?}"
    );
    let refused = tokio::time::timeout(LIMIT, maps.list(&ListParams::default()))
        .await
        .expect("a request to a server that went away fails at once");
    assert!(
        matches!(refused, Err(ref e) if !matches!(e, kube::Error::Api(_))),
        "no server answers: {refused:?}"
    );
    assert!(server.object("cm", "default", "before").is_some());
    server.shutdown().await;
}
