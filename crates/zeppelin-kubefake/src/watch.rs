//! Watch streams: newline-delimited JSON `WatchEvent`s, from a resource version or from the
//! current objects, with bookmarks when asked, ending on timeout, shutdown or a dropped-watch
//! fault.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;

use crate::api_error::ApiError;
use crate::resources::{RESOURCES, ResourceId};
use crate::selector::{FieldSelector, LabelSelector};
use crate::server::Shared;
use crate::store::WatchEvent;

/// What a watch request asked for.
pub(crate) struct WatchRequest {
    pub(crate) resource: ResourceId,
    pub(crate) namespace: Option<String>,
    pub(crate) labels: LabelSelector,
    pub(crate) fields: FieldSelector,
    pub(crate) resource_version: Option<u64>,
    pub(crate) bookmarks: bool,
    pub(crate) send_initial_events: bool,
    pub(crate) timeout: Option<Duration>,
    /// Send each object as a one-row Table (`kubectl get -w`).
    pub(crate) table: bool,
}

/// Turns objects into one-row Tables when the watch asked for them; headers go only with the
/// first.
struct Encoder {
    resource: ResourceId,
    table: bool,
    headers_sent: bool,
}

impl Encoder {
    fn event(&mut self, kind: &str, object: &Value) -> Bytes {
        if !self.table || kind == "BOOKMARK" || kind == "ERROR" {
            return line(kind, object);
        }
        let rv = crate::store::resource_version(object);
        let table = crate::table::table(
            &RESOURCES[self.resource],
            std::slice::from_ref(object),
            rv,
            !self.headers_sent,
        );
        self.headers_sent = true;
        line(kind, &table)
    }
}

fn line(kind: &str, object: &Value) -> Bytes {
    let mut text = json!({"type": kind, "object": object}).to_string();
    text.push('\n');
    Bytes::from(text)
}

fn bookmark(resource: ResourceId, resource_version: u64, initial_end: bool) -> Value {
    let kind = &RESOURCES[resource];
    let mut object = json!({
        "kind": kind.kind,
        "apiVersion": kind.api_version(),
        "metadata": {"resourceVersion": resource_version.to_string()}
    });
    if initial_end {
        object["metadata"]["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    object
}

fn response(rx: mpsc::Receiver<Result<Bytes, Infallible>>) -> Response {
    Response::builder()
        .header("content-type", "application/json")
        .body(Body::from_stream(ReceiverStream::new(rx)))
        .expect("static headers are valid")
}

/// Starts streaming the watch; the stream runs in its own task.
pub(crate) fn serve(shared: &Arc<Shared>, request: WatchRequest) -> Response {
    let (tx, rx) = mpsc::channel(256);
    let start = match shared.store.watch(
        request.resource,
        request.namespace.as_deref(),
        request.resource_version,
    ) {
        Ok(start) => start,
        Err(gone) => {
            // The real server reports an expired version as an ERROR event in a 200 stream.
            let _ = tx.try_send(Ok(line("ERROR", &gone.status())));
            return response(rx);
        }
    };
    // Taken before the response goes out, so a drop requested after it is never missed.
    let mut drops = shared.faults.watch_drops();
    drops.mark_unchanged();
    let shared = shared.clone();
    tokio::spawn(async move {
        if let Err(_closed) = stream(&shared, &request, start, drops, &tx).await {
            // The client went away; nothing is left to do.
        }
    });
    response(rx)
}

/// The event type to send for `event`, if any: a change that moves an object into or out of
/// the selectors is sent as `ADDED` or `DELETED`, as the real server does.
fn translate(request: &WatchRequest, event: &WatchEvent) -> Option<&'static str> {
    if event.resource != request.resource
        || request
            .namespace
            .as_deref()
            .is_some_and(|n| n != event.namespace)
    {
        return None;
    }
    let matches = |object: &Value| request.labels.matches(object) && request.fields.matches(object);
    let now = matches(&event.object);
    if event.kind != "MODIFIED" {
        return now.then_some(event.kind);
    }
    let before = event.previous.as_ref().is_some_and(matches);
    match (before, now) {
        (true, true) => Some("MODIFIED"),
        (true, false) => Some("DELETED"),
        (false, true) => Some("ADDED"),
        (false, false) => None,
    }
}

async fn stream(
    shared: &Shared,
    request: &WatchRequest,
    start: crate::store::WatchStart,
    mut drops: tokio::sync::watch::Receiver<u64>,
    tx: &mpsc::Sender<Result<Bytes, Infallible>>,
) -> Result<(), mpsc::error::SendError<Result<Bytes, Infallible>>> {
    let mut encoder = Encoder {
        resource: request.resource,
        table: request.table,
        headers_sent: false,
    };
    let mut feed = start.feed;
    let mut last = start.resource_version;
    for event in &start.backlog {
        if let Some(kind) = translate(request, event) {
            tx.send(Ok(encoder.event(kind, &event.object))).await?;
        }
    }
    if request.send_initial_events && request.bookmarks {
        tx.send(Ok(line(
            "BOOKMARK",
            &bookmark(request.resource, last, true),
        )))
        .await?;
    }
    let timeout = tokio::time::sleep(request.timeout.unwrap_or(Duration::MAX / 4));
    tokio::pin!(timeout);
    let mut bookmarks = tokio::time::interval(
        shared
            .config
            .bookmark_interval
            .max(crate::server::MIN_INTERVAL),
    );
    bookmarks.tick().await;
    loop {
        tokio::select! {
            () = shared.shutdown.cancelled() => return Ok(()),
            _ = drops.changed() => return Ok(()),
            () = &mut timeout => return Ok(()),
            () = tx.closed() => return Ok(()),
            _ = bookmarks.tick(), if request.bookmarks => {
                tx.send(Ok(line("BOOKMARK", &bookmark(request.resource, last, false)))).await?;
            }
            received = feed.recv() => match received {
                Ok(event) => {
                    last = last.max(event.resource_version);
                    if let Some(kind) = translate(request, &event) {
                        tx.send(Ok(encoder.event(kind, &event.object))).await?;
                    }
                }
                // A watcher that fell behind is ended, as the real server does; it re-lists.
                Err(broadcast::error::RecvError::Lagged(_) | broadcast::error::RecvError::Closed) => return Ok(()),
            },
        }
    }
}

/// Reports an invalid watch request the way the server does for lists.
pub(crate) fn parse_resource_version(text: Option<&str>) -> Result<Option<u64>, ApiError> {
    match text.filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(text) => text.parse().map(Some).map_err(|_| {
            ApiError::bad_request(format!(
                "invalid resourceVersion \"{text}\"; it must be a number this server gave out"
            ))
        }),
    }
}
