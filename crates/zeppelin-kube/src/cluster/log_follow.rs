//! Following pods' logs as a watch reports the pods: one task per pod streams its lines
//! (again from the first line when its container restarts), so `logs -f` and `run-job`
//! both see every pod that comes and goes. A run that has finished catches up: every
//! pod's log is read once more and the lines its stream had not delivered are sent, so no
//! line is lost to a stream still open when the run ended.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::{AsyncBufReadExt, StreamExt};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, LogParams};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::cluster::error::{ClusterError, api_code, is_not_found, request};
use crate::render::labels::NAME;

/// One line a container wrote.
#[derive(Debug, Clone)]
pub struct LogLine {
    /// The sub, or the job, whose pod wrote it.
    pub sub: String,
    pub pod: String,
    pub text: String,
}

/// One pod being followed.
struct Followed {
    /// Its containers' restart count when its stream started.
    restarts: i32,
    /// Lines its current stream has sent.
    sent: Arc<AtomicUsize>,
}

/// The log streams of the pods seen so far.
pub(crate) struct Streams {
    pods: Api<Pod>,
    params: LogParams,
    lines: mpsc::Sender<LogLine>,
    /// When following began: a pod made later is read from its first line.
    start: Timestamp,
    followed: BTreeMap<String, Followed>,
    tasks: JoinSet<Result<(), ClusterError>>,
}

impl Streams {
    /// Streams that send to `lines`, reading each pod with `params` (`tail_lines` only for
    /// pods that were there at the start).
    pub(crate) fn new(pods: Api<Pod>, params: LogParams, lines: mpsc::Sender<LogLine>) -> Self {
        Self {
            pods,
            params,
            lines,
            start: Timestamp::now(),
            followed: BTreeMap::new(),
            tasks: JoinSet::new(),
        }
    }

    /// Starts following `pod` if it has a log to follow now and its current container is
    /// not followed yet.
    pub(crate) fn add(&mut self, pod: &Pod) {
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
        let mut params = self.params.clone();
        params.follow = true;
        let appeared_later = pod
            .metadata
            .creation_timestamp
            .as_ref()
            .is_some_and(|t| t.0 > self.start);
        match self.followed.get(&name) {
            // A pod that appeared while following is read from its first line, and so is
            // a restarted container.
            Some(seen) if restarts > seen.restarts && running => params.tail_lines = None,
            None if running || terminated => {
                if appeared_later {
                    params.tail_lines = None;
                }
            }
            _ => return,
        }
        let sent = Arc::new(AtomicUsize::new(0));
        self.followed.insert(
            name.clone(),
            Followed {
                restarts,
                sent: sent.clone(),
            },
        );
        let pods = self.pods.clone();
        let lines = self.lines.clone();
        let sub = sub_of(pod);
        self.tasks.spawn(async move {
            let reader = match pods.log_stream(&name, &params).await {
                Ok(reader) => reader,
                Err(error) if no_logs_yet(&error) => return Ok(()),
                Err(error) => {
                    return Err(request(format!("follow the logs of pod {name}"))(error));
                }
            };
            let mut reader = std::pin::pin!(reader.lines());
            // The stream ends (or breaks off) when the container stops or the pod goes
            // away; a restart is picked up from the watch.
            while let Some(Ok(text)) = reader.next().await {
                let line = LogLine {
                    sub: sub.clone(),
                    pod: name.clone(),
                    text,
                };
                if lines.send(line).await.is_err() {
                    return Ok(());
                }
                // Counted right after the send, with no await between: a stream stopped
                // by `catch_up` has counted exactly the lines it sent.
                sent.fetch_add(1, Ordering::SeqCst);
            }
            Ok(())
        });
    }

    /// The error of the first stream that failed; pending while none has.
    pub(crate) async fn failed(&mut self) -> ClusterError {
        loop {
            match self.tasks.join_next().await {
                Some(Ok(Err(error))) => return error,
                Some(_) => {}
                None => std::future::pending().await,
            }
        }
    }

    /// Stops every stream, then sends each of `pods`' lines that its stream had not sent
    /// (every line of a pod never followed), pod after pod in the order given. Meant for
    /// pods whose containers have exited, read without `tail_lines` or `since_seconds`.
    pub(crate) async fn catch_up(mut self, pods: &[Pod]) -> Result<(), ClusterError> {
        self.tasks.abort_all();
        while let Some(joined) = self.tasks.join_next().await {
            if let Ok(Err(error)) = joined {
                return Err(error);
            }
        }
        for pod in pods {
            let name = pod.metadata.name.clone().unwrap_or_default();
            let sent = self
                .followed
                .get(&name)
                .map_or(0, |f| f.sent.load(Ordering::SeqCst));
            let text = match self.pods.logs(&name, &self.params).await {
                Ok(text) => text,
                Err(error) if no_logs_yet(&error) => continue,
                Err(error) => return Err(request(format!("read the logs of pod {name}"))(error)),
            };
            for text in text.lines().skip(sent) {
                let line = LogLine {
                    sub: sub_of(pod),
                    pod: name.clone(),
                    text: text.to_owned(),
                };
                if self.lines.send(line).await.is_err() {
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}

/// The sub (or job) a pod runs.
pub(crate) fn sub_of(pod: &Pod) -> String {
    pod.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(NAME))
        .cloned()
        .unwrap_or_default()
}

/// A pod whose container has not started yet has no logs (the API answers 400), and one
/// deleted since it was listed has none any more (404, as pods come and go in a rollout):
/// neither is an error.
pub(crate) fn no_logs_yet(error: &kube::Error) -> bool {
    is_not_found(error) || api_code(error) == Some(400)
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
}
