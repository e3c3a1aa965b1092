//! `zeppelin logs --k8s`: the logs of every pod of the chosen subs, line by line, and with
//! `follow` also of pods that appear later (during a rollout, a scale-up, a restart).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use futures::{AsyncBufReadExt, StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, LogParams};
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::mpsc;

use crate::cluster::connect::Cluster;
use crate::cluster::error::{ClusterError, api_code, is_not_found, request};
use crate::cluster::target::Target;
use crate::render::labels::{NAME, owner_selector};

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
    let mut selector = owner_selector(&target.app);
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
            let text = match pods.logs(&name, &params).await {
                Ok(text) => text,
                Err(error) if no_logs_yet(&error) => continue,
                Err(error) => return Err(request(format!("read the logs of pod {name}"))(error)),
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
    let what = format!(
        "the pods of {} in namespace {}",
        target.app, target.namespace
    );
    follow(pods, &selector, &what, params, lines).await
}

/// A pod whose container has not started yet has no logs (the API answers 400), and one
/// deleted since it was listed has none any more (404, as pods come and go in a rollout):
/// neither is an error.
fn no_logs_yet(error: &kube::Error) -> bool {
    is_not_found(error) || api_code(error) == Some(400)
}

/// The API error of a watch refused for lack of permission (403): retrying cannot help.
fn forbidden(error: &watcher::Error) -> Option<kube::Error> {
    match error {
        watcher::Error::InitialListFailed(kube::Error::Api(status))
        | watcher::Error::WatchStartFailed(kube::Error::Api(status))
        | watcher::Error::WatchFailed(kube::Error::Api(status))
        | watcher::Error::WatchError(status)
            if status.code == 403 =>
        {
            Some(kube::Error::Api(status.clone()))
        }
        _ => None,
    }
}

async fn follow(
    pods: Api<Pod>,
    selector: &str,
    what: &str,
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
            Some(Ok(Err(error))) = tasks.join_next() => return Err(error),
            event = events.try_next() => {
                let pod = match event {
                    Ok(Some(pod)) => pod,
                    // An ended stream ends following.
                    Ok(None) => return Ok(()),
                    Err(error) => match forbidden(&error) {
                        Some(error) => return Err(request(format!("watch {what}"))(error)),
                        // Other watch errors are retried by the backoff.
                        None => continue,
                    },
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
                    let reader = match pods.log_stream(&name, &params).await {
                        Ok(reader) => reader,
                        Err(error) if no_logs_yet(&error) => return Ok(()),
                        Err(error) => {
                            return Err(request(format!("follow the logs of pod {name}"))(error));
                        }
                    };
                    let mut reader = std::pin::pin!(reader.lines());
                    // The stream ends (or breaks off) when the container stops or the pod
                    // goes away; a restart is picked up from the watch.
                    while let Some(Ok(text)) = reader.next().await {
                        let line = LogLine { sub: sub.clone(), pod: name.clone(), text };
                        if lines.send(line).await.is_err() {
                            return Ok(());
                        }
                    }
                    Ok(())
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api_error(code: u16) -> kube::Error {
        let status: kube::core::Status = serde_json::from_value(serde_json::json!({
            "status": "Failure", "message": "no", "code": code}))
        .unwrap();
        kube::Error::Api(Box::new(status))
    }

    #[test]
    fn only_a_container_not_started_or_a_pod_gone_has_no_logs_without_error() {
        assert!(no_logs_yet(&api_error(400)));
        assert!(no_logs_yet(&api_error(404)));
        assert!(!no_logs_yet(&api_error(403)));
        assert!(!no_logs_yet(&api_error(500)));
    }

    #[test]
    fn a_forbidden_watch_stops_following() {
        let status = |code| match api_error(code) {
            kube::Error::Api(status) => status,
            _ => unreachable!(),
        };
        assert!(forbidden(&watcher::Error::WatchError(status(403))).is_some());
        assert!(forbidden(&watcher::Error::InitialListFailed(api_error(403))).is_some());
        assert!(forbidden(&watcher::Error::WatchError(status(410))).is_none());
    }
}
