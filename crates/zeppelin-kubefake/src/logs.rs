//! Container logs of the simulated pods: what the kubelet stand-in writes, and what
//! `/pods/NAME/log` reads, including `follow`. Each container keeps its newest lines only,
//! as a kubelet's log rotation would, so a container crash-looping for hours stays bounded.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use tokio::sync::broadcast;

/// A new log line: pod namespace, pod name, container, text.
#[derive(Debug, Clone)]
pub(crate) struct LogLine {
    pub(crate) namespace: String,
    pub(crate) pod: String,
    pub(crate) container: String,
    pub(crate) text: String,
}

/// Lines kept per container; older ones are dropped.
const LINES_KEPT: usize = 10_000;

type Lines = HashMap<(String, String, String), VecDeque<String>>;

/// Every container's log, kept in memory while its pod exists.
pub(crate) struct LogBook {
    lines: Mutex<Lines>,
    feed: broadcast::Sender<LogLine>,
}

impl Default for LogBook {
    fn default() -> Self {
        Self {
            lines: Mutex::new(HashMap::new()),
            feed: broadcast::channel(1024).0,
        }
    }
}

impl LogBook {
    fn lock(&self) -> MutexGuard<'_, Lines> {
        self.lines
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn write(&self, namespace: &str, pod: &str, container: &str, text: &str) {
        let mut lines = self.lock();
        let log = lines
            .entry((namespace.to_owned(), pod.to_owned(), container.to_owned()))
            .or_default();
        if log.len() == LINES_KEPT {
            log.pop_front();
        }
        log.push_back(text.to_owned());
        // No receivers is fine: nobody follows this log.
        let _ = self.feed.send(LogLine {
            namespace: namespace.to_owned(),
            pod: pod.to_owned(),
            container: container.to_owned(),
            text: text.to_owned(),
        });
    }

    /// The last `tail` lines (all when `None`) and, taken at the same moment, a feed of the
    /// lines written after them.
    pub(crate) fn read(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        tail: Option<usize>,
    ) -> (Vec<String>, broadcast::Receiver<LogLine>) {
        let lines = self.lock();
        let all = lines.get(&(namespace.to_owned(), pod.to_owned(), container.to_owned()));
        let count = all.map_or(0, VecDeque::len);
        let skip = tail.map_or(0, |t| count.saturating_sub(t));
        let kept = all.into_iter().flatten().skip(skip).cloned().collect();
        (kept, self.feed.subscribe())
    }

    /// Forgets the logs of a deleted pod.
    pub(crate) fn forget(&self, namespace: &str, pod: &str) {
        self.lock()
            .retain(|(ns, p, _), _| !(ns == namespace && p == pod));
    }
}

/// Answers `GET /api/v1/namespaces/NS/pods/NAME/log` (`container`, `tailLines`, `follow`).
pub(crate) fn serve(
    shared: &std::sync::Arc<crate::server::Shared>,
    namespace: &str,
    pod_name: &str,
    query: &HashMap<String, String>,
) -> Result<axum::response::Response, crate::api_error::ApiError> {
    use crate::api_error::ApiError;
    let pods = crate::resources::find("", "v1", "pods").expect("pods are served");
    let pod = shared.store.get(pods, namespace, pod_name)?;
    let containers: Vec<String> = pod
        .pointer("/spec/containers")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str().map(str::to_owned))
        .collect();
    let container = match query.get("container") {
        Some(name) if containers.contains(name) => name.clone(),
        Some(name) => {
            return Err(ApiError::bad_request(format!(
                "container {name} is not valid for pod {pod_name}; choose one of: [{}]",
                containers.join(" ")
            )));
        }
        None if containers.len() == 1 => containers[0].clone(),
        None => {
            return Err(ApiError::bad_request(format!(
                "a container name must be specified for pod {pod_name}, choose one of: [{}]",
                containers.join(" ")
            )));
        }
    };
    let tail = query.get("tailLines").and_then(|t| t.parse().ok());
    let follow = matches!(query.get("follow").map(String::as_str), Some("true" | "1"));
    let (lines, mut feed) = shared.logs.read(namespace, pod_name, &container, tail);
    let mut text: String = lines.iter().flat_map(|l| [l.as_str(), "\n"]).collect();
    let response = axum::response::Response::builder().header("content-type", "text/plain");
    if !follow {
        return Ok(response
            .body(axum::body::Body::from(text))
            .expect("static headers are valid"));
    }
    let (tx, rx) =
        tokio::sync::mpsc::channel::<Result<axum::body::Bytes, std::convert::Infallible>>(64);
    let shared = shared.clone();
    let (namespace, pod_name) = (namespace.to_owned(), pod_name.to_owned());
    tokio::spawn(async move {
        let mut gone_check = tokio::time::interval(std::time::Duration::from_millis(200));
        loop {
            if !text.is_empty() && tx.send(Ok(std::mem::take(&mut text).into())).await.is_err() {
                return;
            }
            tokio::select! {
                () = shared.shutdown.cancelled() => return,
                () = tx.closed() => return,
                _ = gone_check.tick() => {
                    if shared.store.get(pods, &namespace, &pod_name).is_err() {
                        return;
                    }
                }
                line = feed.recv() => match line {
                    Ok(line) if line.namespace == namespace && line.pod == pod_name && line.container == container => {
                        text = format!("{}\n", line.text);
                    }
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            }
        }
    });
    Ok(response
        .body(axum::body::Body::from_stream(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        ))
        .expect("static headers are valid"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_container_keeps_its_newest_lines_and_a_forgotten_pod_none() {
        let book = LogBook::default();
        for n in 0..LINES_KEPT + 5 {
            book.write("shop", "web-1", "web", &format!("line {n}"));
        }
        book.write("shop", "web-2", "web", "other pod");
        let (lines, _) = book.read("shop", "web-1", "web", None);
        assert_eq!(lines.len(), LINES_KEPT);
        assert_eq!(lines[0], "line 5");
        let (tail, _) = book.read("shop", "web-1", "web", Some(2));
        assert_eq!(
            tail,
            [
                format!("line {}", LINES_KEPT + 3),
                format!("line {}", LINES_KEPT + 4)
            ]
        );
        book.forget("shop", "web-1");
        assert!(book.read("shop", "web-1", "web", None).0.is_empty());
        assert_eq!(book.read("shop", "web-2", "web", None).0, ["other pod"]);
    }
}
