//! `zeppelin logs --k8s`: the logs of every pod of the chosen subs, line by line, and with
//! `follow` also of pods that appear later (during a rollout, a scale-up, a restart).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use futures::{AsyncBufReadExt, StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, LogParams};
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::mpsc;

use crate::Cluster;
use crate::cluster_error::{ClusterError, request};
use crate::deploy::Target;
use crate::labels::NAME;

/// One line a container wrote.
#[derive(Debug, Clone)]
pub struct LogLine {
    pub sub: String,
    pub pod: String,
    pub text: String,
}

/// Which lines to read.
#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    /// Subs to read; every sub when empty.
    pub subs: Vec<String>,
    pub follow: bool,
    /// Lines per pod from its end (for pods present at the start).
    pub tail: Option<i64>,
    /// Only lines of the last this many seconds.
    pub since_seconds: Option<i64>,
    /// Prefix each line with the time the cluster recorded it.
    pub timestamps: bool,
}

fn selector(target: &Target, subs: &[String]) -> String {
    let mut selector = target.owner_selector();
    if !subs.is_empty() {
        let _ = write!(selector, ",{NAME} in ({})", subs.join(","));
    }
    selector
}

fn sub_of(pod: &Pod) -> String {
    pod.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(NAME))
        .cloned()
        .unwrap_or_default()
}

/// Sends the lines to `lines` until done (or, with `follow`, until the receiver is
/// dropped).
pub async fn stream(
    cluster: &Cluster,
    target: &Target,
    options: &LogOptions,
    lines: mpsc::Sender<LogLine>,
) -> Result<(), ClusterError> {
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), &target.namespace);
    let selector = selector(target, &options.subs);
    let params = LogParams {
        tail_lines: options.tail,
        since_seconds: options.since_seconds,
        timestamps: options.timestamps,
        ..LogParams::default()
    };
    if !options.follow {
        let mut list = pods
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(request(format!(
                "list the pods of {} in namespace {}",
                target.app, target.namespace
            )))?
            .items;
        list.sort_by_key(|p| (sub_of(p), p.metadata.name.clone()));
        for pod in list {
            let name = pod.metadata.name.clone().unwrap_or_default();
            // A pod whose container has not started has no logs yet; that is no error.
            let Ok(text) = pods.logs(&name, &params).await else {
                continue;
            };
            for line in text.lines() {
                let line = LogLine {
                    sub: sub_of(&pod),
                    pod: name.clone(),
                    text: line.to_owned(),
                };
                if lines.send(line).await.is_err() {
                    return Ok(());
                }
            }
        }
        return Ok(());
    }
    follow(pods, &selector, params, lines).await
}

async fn follow(
    pods: Api<Pod>,
    selector: &str,
    params: LogParams,
    lines: mpsc::Sender<LogLine>,
) -> Result<(), ClusterError> {
    // Pods followed, with their containers' restart count when they were: a container
    // that restarts ends its log stream, and its successor is followed from its first line.
    let mut followed: BTreeMap<String, i32> = BTreeMap::new();
    let start = k8s_openapi::jiff::Timestamp::now();
    let events = watcher(pods.clone(), watcher::Config::default().labels(selector))
        .default_backoff()
        .touched_objects();
    let mut events = std::pin::pin!(events);
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            () = lines.closed() => return Ok(()),
            event = events.try_next() => {
                let Ok(Some(pod)) = event else {
                    // Watch errors are retried by the backoff; an ended stream ends following.
                    if matches!(event, Ok(None)) { return Ok(()); }
                    continue;
                };
                let name = pod.metadata.name.clone().unwrap_or_default();
                let statuses = pod
                    .status
                    .as_ref()
                    .and_then(|s| s.container_statuses.clone())
                    .unwrap_or_default();
                let running = statuses
                    .iter()
                    .any(|c| c.state.as_ref().is_some_and(|s| s.running.is_some()));
                let terminated = statuses
                    .iter()
                    .any(|c| c.state.as_ref().is_some_and(|s| s.terminated.is_some()));
                let restarts: i32 = statuses.iter().map(|c| c.restart_count).sum();
                let mut params = params.clone();
                params.follow = true;
                let appeared_later = pod
                    .metadata
                    .creation_timestamp
                    .as_ref()
                    .is_some_and(|t| t.0 > start);
                match followed.get(&name) {
                    // A pod that appeared while following is read from its first line, and
                    // so is a restarted container.
                    Some(&seen) if restarts > seen && running => params.tail_lines = None,
                    None if running || terminated => {
                        if appeared_later {
                            params.tail_lines = None;
                        }
                    }
                    _ => continue,
                }
                followed.insert(name.clone(), restarts);
                let pods = pods.clone();
                let lines = lines.clone();
                let sub = sub_of(&pod);
                tasks.spawn(async move {
                    let Ok(reader) = pods.log_stream(&name, &params).await else {
                        return;
                    };
                    let mut reader = std::pin::pin!(reader.lines());
                    while let Some(Ok(text)) = reader.next().await {
                        let line = LogLine { sub: sub.clone(), pod: name.clone(), text };
                        if lines.send(line).await.is_err() {
                            return;
                        }
                    }
                });
            }
        }
    }
}
