//! `zeppelin logs --k8s`: the logs of every pod of the chosen subs and jobs, line by line,
//! and with `follow` also of pods that appear later (during a rollout, a scale-up, a
//! restart, a job's next attempt or run). A job's pods are found by its `zeppelin.dev/job`
//! label, whichever Job (deployed, scheduled or run by hand) made them.

use std::fmt::Write as _;

use futures::TryStreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, LogParams};
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::mpsc;

use crate::cluster::connect::Cluster;
use crate::cluster::error::{ClusterError, request};
use crate::cluster::job_runs::{JOB, job_name};
pub use crate::cluster::log_follow::LogLine;
use crate::cluster::log_follow::{Streams, no_logs_yet, sub_of};
use crate::cluster::target::Target;
use crate::render::labels::{NAME, owner_selector};

/// Which lines to read.
#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    /// Subs to read; every sub and job when both this and `jobs` are empty.
    pub subs: Vec<String>,
    /// Jobs to read: the pods of every run of each.
    pub jobs: Vec<String>,
    pub follow: bool,
    /// Lines per pod from its end (for pods present at the start).
    pub tail: Option<i64>,
    /// Only lines of the last this many seconds.
    pub since_seconds: Option<i64>,
    /// Prefix each line with the time the cluster recorded it.
    pub timestamps: bool,
}

impl LogOptions {
    /// The label selector the API server filters pods by: the app's pods, narrowed to the
    /// subs (by name) or the jobs (by job label) asked for. Both at once cannot be one
    /// selector, so the app's pods are listed and [`Self::wants`] picks.
    fn selector(&self, target: &Target) -> String {
        let mut selector = owner_selector(&target.app);
        match (self.subs.is_empty(), self.jobs.is_empty()) {
            (false, true) => {
                let _ = write!(selector, ",{NAME} in ({})", self.subs.join(","));
            }
            (true, false) => {
                let _ = write!(selector, ",{JOB} in ({})", self.jobs.join(","));
            }
            _ => {}
        }
        selector
    }

    /// Whether `pod`'s lines are wanted.
    fn wants(&self, pod: &Pod) -> bool {
        if self.subs.is_empty() || self.jobs.is_empty() {
            return true;
        }
        match job_name(&pod.metadata) {
            Some(job) => self.jobs.iter().any(|j| j == job),
            None => self.subs.contains(&sub_of(pod)),
        }
    }
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
    let selector = options.selector(target);
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
        list.retain(|p| options.wants(p));
        // A job's runs and attempts in the order they were made.
        list.sort_by_key(|p| {
            let made = job_name(&p.metadata)
                .and(p.metadata.creation_timestamp.as_ref())
                .map(|t| t.0);
            (sub_of(p), made, p.metadata.name.clone())
        });
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
    let events = watcher(pods.clone(), watcher::Config::default().labels(&selector))
        .default_backoff()
        .touched_objects();
    let mut events = std::pin::pin!(events);
    let mut streams = Streams::new(pods, params, lines.clone());
    loop {
        tokio::select! {
            () = lines.closed() => return Ok(()),
            error = streams.failed() => return Err(error),
            event = events.try_next() => match event {
                Ok(Some(pod)) if options.wants(&pod) => streams.add(&pod),
                Ok(Some(_)) => {}
                // An ended stream ends following.
                Ok(None) => return Ok(()),
                Err(error) => {
                    // Other watch errors are retried by the backoff.
                    if let Some(error) = forbidden(&error) {
                        return Err(request(format!("watch {what}"))(error));
                    }
                }
            },
        }
    }
}

/// The API error of a watch refused for lack of permission (403): retrying cannot help.
pub(crate) fn forbidden(error: &watcher::Error) -> Option<kube::Error> {
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
