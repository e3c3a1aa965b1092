//! Forwarding one request to a replica of the routed sub, and its answer back.
//!
//! Bodies stream both ways frame by frame, so a large upload or a server-sent event stream
//! is never held in memory. The gateway picks the replica itself from the sub's [`Pool`]
//! (the balancer's set of healthy replicas) rather than going through the balancer's port:
//! that way every request, not every kept-alive connection, is balanced, and a replica
//! taken out of rotation gets no new request even on a reused connection.

use std::net::SocketAddr;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode, Uri, Version};
use hyper::body::Incoming;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio_util::sync::CancellationToken;

use super::body::Body;
use super::routes::RouteTable;
use super::upstream::{self, SendError, Upstreams};
use crate::balancer::{Lease, Pool};

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// Headers that describe one hop's connection, never forwarded (RFC 9110, section 7.6.1).
static HOP_BY_HOP: [HeaderName; 7] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// The gateway's request handler, shared by all its connections.
#[derive(Debug)]
pub(crate) struct Proxy {
    routes: RouteTable<Pool>,
    /// Cancelled when the gateway stops; ends upgraded (WebSocket) tunnels too.
    stop: CancellationToken,
}

impl Proxy {
    pub(crate) fn new(routes: RouteTable<Pool>, stop: CancellationToken) -> Self {
        Self { routes, stop }
    }

    /// Routes and forwards one request; every failure becomes a response saying what broke.
    pub(crate) async fn handle(
        &self,
        mut req: Request<Incoming>,
        client_ip: &HeaderValue,
        upstreams: &Upstreams,
    ) -> Response<Body> {
        let Some(host) = request_host(&req) else {
            return text(
                StatusCode::BAD_REQUEST,
                "the request names no host; send a Host header\n".to_owned(),
            );
        };
        let Some((_, pool)) = self.routes.find(host, req.uri().path()) else {
            let body = format!(
                "no route for {host}{}\n{}",
                req.uri().path(),
                self.routes.known()
            );
            return text(StatusCode::NOT_FOUND, body);
        };
        let upgrade = upgrade_protocol(req.headers());
        let client_upgrade = upgrade.is_some().then(|| hyper::upgrade::on(&mut req));
        let upgrading = client_upgrade.is_some();
        let (mut parts, body) = req.into_parts();
        forward_headers(&mut parts.headers, client_ip, upgrade);
        // Replicas get the origin form (`/path?query`) even when the client sent a full URL.
        parts.uri = parts
            .uri
            .path_and_query()
            .cloned()
            .map_or_else(|| Uri::from_static("/"), Uri::from);
        parts.version = Version::HTTP_11;
        let mut req = Request::from_parts(parts, body);
        let mut refused = Vec::new();
        loop {
            let Some(lease) = pool.pick_avoiding(&refused) else {
                return no_replica(pool.sub(), refused.len());
            };
            let addr = lease.backend().addr;
            let sent = if upgrading {
                upstream::send_upgrade(addr, req).await
            } else {
                upstreams.send(addr, req).await
            };
            match sent {
                Ok(response) => return self.respond(response, lease, client_upgrade),
                Err(SendError::Connect(unsent, error)) => {
                    tracing::debug!(sub = pool.sub(), backend = %addr, %error, "replica refused a connection; trying another");
                    refused.push(addr);
                    req = *unsent;
                }
                Err(SendError::Exchange(error)) => {
                    // The client gets the reason in the 502; a failing replica would
                    // otherwise write a warning per request into the supervisor's log.
                    tracing::debug!(sub = pool.sub(), backend = %addr, error = %zeppelin_core::error_chain(&error), "request to replica failed");
                    return text(
                        StatusCode::BAD_GATEWAY,
                        format!(
                            "sub \"{}\" failed to answer: {}\n",
                            pool.sub(),
                            zeppelin_core::error_chain(&error)
                        ),
                    );
                }
            }
        }
    }

    /// Passes a replica's answer back; a `101 Switching Protocols` also joins the two
    /// upgraded connections into a tunnel.
    fn respond(
        &self,
        mut response: Response<Incoming>,
        lease: Lease,
        client_upgrade: Option<OnUpgrade>,
    ) -> Response<Body> {
        if response.status() == StatusCode::SWITCHING_PROTOCOLS
            && let Some(client_upgrade) = client_upgrade
        {
            let upstream_upgrade = hyper::upgrade::on(&mut response);
            tokio::spawn(tunnel(
                client_upgrade,
                upstream_upgrade,
                lease,
                self.stop.clone(),
            ));
            return response.map(|_| Body::Own(None));
        }
        strip_hop_by_hop(response.headers_mut());
        // The client talks to the gateway, not to the replica: an HTTP/1.0 replica must not
        // turn the client's kept-alive connection into a one-shot one.
        *response.version_mut() = Version::HTTP_11;
        response.map(|body| Body::replica(body, lease))
    }
}

/// Copies bytes both ways between an upgraded client and replica until either closes.
async fn tunnel(client: OnUpgrade, upstream: OnUpgrade, lease: Lease, stop: CancellationToken) {
    let (client, upstream) = match tokio::try_join!(client, upstream) {
        Ok(both) => both,
        Err(error) => {
            tracing::debug!(backend = %lease.backend().addr, %error, "upgrade did not complete");
            return;
        }
    };
    let (mut client, mut upstream) = (TokioIo::new(client), TokioIo::new(upstream));
    tokio::select! {
        () = stop.cancelled() => {}
        () = lease.cut() => {}
        _ = tokio::io::copy_bidirectional(&mut client, &mut upstream) => {}
    }
}

fn no_replica(sub: &str, refused: usize) -> Response<Body> {
    if refused == 0 {
        text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "sub \"{sub}\" has no healthy replica; see `zeppelin ps` and `zeppelin logs {sub}`\n"
            ),
        )
    } else {
        text(
            StatusCode::BAD_GATEWAY,
            format!("every replica of sub \"{sub}\" refused the connection ({refused} tried)\n"),
        )
    }
}

/// A short plain-text answer from the gateway itself.
fn text(status: StatusCode, body: String) -> Response<Body> {
    let mut response = Response::new(Body::Own(Some(Bytes::from(body))));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// The host a request is for, without port: from an absolute URI, else the Host header.
fn request_host(req: &Request<Incoming>) -> Option<&str> {
    if let Some(host) = req.uri().host() {
        return Some(host.trim_start_matches('[').trim_end_matches(']'));
    }
    let value = req.headers().get(header::HOST)?.to_str().ok()?;
    Some(strip_port(value))
}

fn strip_port(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    }
}

/// The protocol a client asks to switch to (`websocket`), when it asks for an upgrade.
fn upgrade_protocol(headers: &HeaderMap) -> Option<HeaderValue> {
    let asks = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case("upgrade"));
    asks.then(|| headers.get(header::UPGRADE).cloned())
        .flatten()
}

/// Turns the client's headers into the ones the replica should see: this hop's connection
/// headers gone, the upgrade asked for kept, and the `X-Forwarded-*` headers added.
/// `client_ip` is the client's address as a header value, made once per connection.
fn forward_headers(headers: &mut HeaderMap, client_ip: &HeaderValue, upgrade: Option<HeaderValue>) {
    strip_hop_by_hop(headers);
    if let Some(protocol) = upgrade {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, protocol);
    }
    let earlier: Vec<&str> = headers
        .get_all(&X_FORWARDED_FOR)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let forwarded_for = if earlier.is_empty() {
        Some(client_ip.clone())
    } else {
        let client = client_ip.to_str().unwrap_or_default();
        HeaderValue::try_from(format!("{}, {client}", earlier.join(", "))).ok()
    };
    if let Some(value) = forwarded_for {
        headers.insert(X_FORWARDED_FOR.clone(), value);
    }
    headers.insert(X_FORWARDED_PROTO.clone(), HeaderValue::from_static("http"));
    if let Some(host) = headers.get(header::HOST).cloned() {
        headers.insert(X_FORWARDED_HOST.clone(), host);
    }
}

/// The client's address as `X-Forwarded-For` names it.
pub(crate) fn client_ip(peer: SocketAddr) -> HeaderValue {
    HeaderValue::try_from(peer.ip().to_string()).expect("an IP address is a valid header value")
}

/// Removes the fixed hop-by-hop headers and any header the `Connection` header names.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|token| HeaderName::try_from(token.trim()).ok())
        .collect();
    for name in named.iter().chain(&HOP_BY_HOP) {
        headers.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_stripped_from_hosts() {
        assert_eq!(strip_port("shop.localhost:8000"), "shop.localhost");
        assert_eq!(strip_port("shop.localhost"), "shop.localhost");
        assert_eq!(strip_port("[::1]:8000"), "::1");
    }

    #[test]
    fn forwarded_headers_extend_the_chain_and_drop_hop_headers() {
        let mut incoming = HeaderMap::new();
        incoming.insert(header::HOST, HeaderValue::from_static("shop.test:8000"));
        incoming.insert(&X_FORWARDED_FOR, HeaderValue::from_static("10.0.0.1"));
        incoming.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, x-secret"),
        );
        incoming.insert("x-secret", HeaderValue::from_static("hop only"));
        let mut out = incoming;
        forward_headers(
            &mut out,
            &client_ip(SocketAddr::from(([127, 0, 0, 2], 5555))),
            None,
        );
        assert_eq!(out[&X_FORWARDED_FOR], "10.0.0.1, 127.0.0.2");
        assert_eq!(out[&X_FORWARDED_PROTO], "http");
        assert_eq!(out[&X_FORWARDED_HOST], "shop.test:8000");
        assert_eq!(out[header::HOST], "shop.test:8000");
        assert!(!out.contains_key("x-secret"));
        assert!(!out.contains_key(header::CONNECTION));
    }

    #[test]
    fn upgrades_keep_their_protocol() {
        let mut incoming = HeaderMap::new();
        incoming.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, Upgrade"),
        );
        incoming.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        let protocol = upgrade_protocol(&incoming);
        assert_eq!(protocol, Some(HeaderValue::from_static("websocket")));
        let mut out = incoming;
        forward_headers(
            &mut out,
            &client_ip(SocketAddr::from(([127, 0, 0, 1], 1))),
            protocol,
        );
        assert_eq!(out[header::CONNECTION], "upgrade");
        assert_eq!(out[header::UPGRADE], "websocket");
    }
}
