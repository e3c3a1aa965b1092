//! The HTTP gateway over real sockets: routing, errors, headers, upgrades and streaming.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt as _, StreamExt as _};
use http::StatusCode;
use http_body_util::BodyExt as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use zeppelin_core::model::{Balance, Route};
use zeppelin_local::balancer::Pool;
use zeppelin_local::gateway::{BindError, Gateway, RouteTarget, route_targets};

use crate::support::{Client, Cues, Fnv, Replica, bounded, channel_body, get, loopback};

fn route(host: &str, path: &str, sub: &str) -> Route {
    Route {
        host: host.to_owned(),
        path: path.to_owned(),
        sub: sub.to_owned(),
    }
}

fn pool(sub: &str, replicas: &[&Replica]) -> Pool {
    let pool = Pool::new(sub, Balance::RoundRobin);
    pool.set_backends(replicas.iter().map(|r| r.backend));
    pool
}

async fn gateway(routes: &[Route], pools: &[&Pool]) -> Gateway {
    let pools: BTreeMap<String, Pool> = pools
        .iter()
        .map(|p| (p.sub().to_owned(), (*p).clone()))
        .collect();
    Gateway::bind(loopback(), routes, &pools).await.unwrap()
}

#[tokio::test]
async fn routes_by_exact_host_wildcard_and_longest_prefix() {
    bounded(async {
        let (web, api, tenant) = (
            Replica::http(1).await,
            Replica::http(2).await,
            Replica::http(3).await,
        );
        let pools = [
            pool("web", &[&web]),
            pool("api", &[&api]),
            pool("tenant", &[&tenant]),
        ];
        let routes = [
            route("shop.test", "/", "web"),
            route("shop.test", "/api", "api"),
            route("*.shop.test", "/", "tenant"),
        ];
        let gateway = gateway(&routes, &pools.each_ref()).await;
        let addr = gateway.local_addr();
        let cases = [
            ("shop.test:8000", "/", "replica 1"),
            ("shop.test", "/cart?x=1", "replica 1"),
            ("shop.test", "/apix", "replica 1"),
            ("shop.test", "/api", "replica 2"),
            ("SHOP.test", "/api/orders/7", "replica 2"),
            ("acme.shop.test", "/api", "replica 3"),
        ];
        for (host, path, expected) in cases {
            let answer = get(addr, host, path).await;
            assert_eq!(answer.status, StatusCode::OK, "{host}{path}");
            assert_eq!(answer.body, expected, "{host}{path}");
        }
        for (host, path) in [("a.b.shop.test", "/"), ("other.test", "/api")] {
            assert_eq!(get(addr, host, path).await.status, StatusCode::NOT_FOUND);
        }
    })
    .await;
}

#[tokio::test]
async fn unknown_route_is_404_naming_the_known_routes() {
    bounded(async {
        let web = Replica::http(1).await;
        let web_pool = pool("web", &[&web]);
        let gateway = gateway(&[route("shop.test", "/", "web")], &[&web_pool]).await;
        let answer = get(gateway.local_addr(), "nope.test", "/x").await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND);
        assert_eq!(
            answer.body,
            "no route for nope.test/x\nknown routes:\n  shop.test/ -> web\n"
        );
    })
    .await;
}

#[tokio::test]
async fn sub_without_healthy_replica_is_503() {
    bounded(async {
        let empty = pool("web", &[]);
        let gateway = gateway(&[route("shop.test", "/", "web")], &[&empty]).await;
        let answer = get(gateway.local_addr(), "shop.test", "/").await;
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            answer.body.contains("\"web\" has no healthy replica"),
            "{}",
            answer.body
        );
    })
    .await;
}

#[tokio::test]
async fn failing_replica_is_502() {
    bounded(async {
        // One replica speaks no HTTP; another is gone (connection refused).
        let garbled = Replica::tcp_echo(1).await;
        let gone = Replica::http(2).await;
        let (garbled_pool, gone_pool) = (pool("web", &[&garbled]), pool("api", &[&gone]));
        gone.kill().await;
        let routes = [
            route("shop.test", "/", "web"),
            route("shop.test", "/api", "api"),
        ];
        let gateway = gateway(&routes, &[&garbled_pool, &gone_pool]).await;
        for path in ["/", "/api"] {
            let answer = get(gateway.local_addr(), "shop.test", path).await;
            assert_eq!(
                answer.status,
                StatusCode::BAD_GATEWAY,
                "{path}: {}",
                answer.body
            );
        }
    })
    .await;
}

#[tokio::test]
async fn dead_replica_is_passed_over_for_a_live_one() {
    bounded(async {
        let (dead, alive) = (Replica::http(1).await, Replica::http(2).await);
        let web = pool("web", &[&dead, &alive]);
        dead.kill().await;
        let gateway = gateway(&[route("shop.test", "/", "web")], &[&web]).await;
        for _ in 0..4 {
            let answer = get(gateway.local_addr(), "shop.test", "/").await;
            assert_eq!(answer.body, "replica 2");
        }
    })
    .await;
}

#[tokio::test]
async fn http10_replica_keeps_the_client_connection_alive() {
    bounded(async {
        let old = Replica::http10(1).await;
        let old_pool = pool("web", &[&old]);
        let gateway = gateway(&[route("shop.test", "/", "web")], &[&old_pool]).await;
        let mut client = Client::connect(gateway.local_addr()).await;
        for _ in 0..3 {
            let answer = client.get("shop.test", "/").await.unwrap();
            assert_eq!(answer.status, StatusCode::OK);
            assert_eq!(answer.body, "replica 1");
        }
    })
    .await;
}

#[tokio::test]
async fn replica_sees_forwarded_headers() {
    bounded(async {
        let web = Replica::http(1).await;
        let web_pool = pool("web", &[&web]);
        let gateway = gateway(&[route("shop.test", "/", "web")], &[&web_pool]).await;
        let mut client = Client::connect(gateway.local_addr()).await;
        let answer = client.get("shop.test:8000", "/headers").await.unwrap();
        let lines: Vec<&str> = answer.body.lines().collect();
        for expected in [
            "host: shop.test:8000",
            "x-forwarded-for: 127.0.0.1",
            "x-forwarded-proto: http",
            "x-forwarded-host: shop.test:8000",
        ] {
            assert!(
                lines.contains(&expected),
                "{expected} missing in:\n{}",
                answer.body
            );
        }
    })
    .await;
}

#[tokio::test]
async fn websocket_echoes_through_the_gateway() {
    bounded(async {
        let chat = Replica::websocket_echo(1).await;
        let chat_pool = pool("chat", &[&chat]);
        let gateway = gateway(&[route("chat.test", "/ws", "chat")], &[&chat_pool]).await;
        let stream = TcpStream::connect(gateway.local_addr()).await.unwrap();
        let request = "ws://chat.test/ws/room".into_client_request().unwrap();
        let (mut ws, response) = tokio_tungstenite::client_async(request, stream)
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
        for text in ["hello", "zeppelin"] {
            ws.send(Message::text(text)).await.unwrap();
            let echoed = ws.next().await.unwrap().unwrap();
            assert_eq!(echoed, Message::text(text));
        }
        assert_eq!(
            chat_pool.loads()[0].open,
            1,
            "the tunnel holds its replica busy"
        );
        ws.close(None).await.unwrap();
    })
    .await;
}

const CHUNK: usize = 1024 * 1024;

fn chunk(i: usize) -> Bytes {
    let seed = u8::try_from(i % 251).unwrap();
    (0..CHUNK)
        .map(|j| seed.wrapping_add(u8::try_from(j % 253).unwrap()))
        .collect::<Vec<u8>>()
        .into()
}

#[tokio::test]
async fn large_upload_streams_through_intact() {
    bounded(async {
        const CHUNKS: usize = 64;
        let (first_tx, mut first_rx) = mpsc::channel(1);
        let cues = Cues {
            first_bytes: Some(first_tx),
            ..Cues::default()
        };
        let web = Replica::http_with(1, cues).await;
        let web_pool = pool("web", &[&web]);
        let gateway = gateway(&[route("shop.test", "/", "web")], &[&web_pool]).await;

        let (tx, rx) = mpsc::channel::<Bytes>(2);
        let mut client = Client::connect(gateway.local_addr()).await;
        let sent = tokio::spawn(async move {
            client
                .send("shop.test", "/upload", channel_body(rx))
                .await
                .unwrap()
                .into_body()
                .collect()
                .await
                .unwrap()
                .to_bytes()
        });
        let mut hash = Fnv::new();
        let first = chunk(0);
        hash.write(&first);
        tx.send(first).await.unwrap();
        // The replica has data while the client still holds 63 MiB back: nothing waits
        // for the whole body.
        first_rx.recv().await.unwrap();
        for i in 1..CHUNKS {
            let data = chunk(i);
            hash.write(&data);
            tx.send(data).await.unwrap();
        }
        drop(tx);
        let answer = sent.await.unwrap();
        let expected = format!("{} {:016x}", CHUNKS * CHUNK, hash.finish());
        assert_eq!(String::from_utf8_lossy(&answer), expected);
    })
    .await;
}

/// A replica `events` whose `/stream` answer holds after its first line until `release_tx`
/// gets a value, routed from `shop.test` by `gateway`, with that answer requested.
struct HeldStream {
    release_tx: mpsc::Sender<()>,
    events: Replica,
    events_pool: Pool,
    gateway: Gateway,
    /// The connection the answer streams on.
    _client: Client,
    body: hyper::body::Incoming,
}

impl HeldStream {
    async fn start() -> Self {
        let (release_tx, release_rx) = mpsc::channel(1);
        let cues = Cues {
            release: Some(Arc::new(tokio::sync::Mutex::new(release_rx))),
            ..Cues::default()
        };
        let events = Replica::http_with(1, cues).await;
        let events_pool = pool("events", &[&events]);
        let gateway = gateway(&[route("shop.test", "/", "events")], &[&events_pool]).await;
        let mut client = Client::connect(gateway.local_addr()).await;
        let empty = http_body_util::Empty::new().boxed();
        let body = client
            .send("shop.test", "/stream", empty)
            .await
            .unwrap()
            .into_body();
        Self {
            release_tx,
            events,
            events_pool,
            gateway,
            _client: client,
            body,
        }
    }
}

#[tokio::test]
async fn answers_stream_back_before_they_end() {
    bounded(async {
        let HeldStream {
            release_tx,
            events: _events,
            events_pool: _events_pool,
            gateway: _gateway,
            _client,
            mut body,
        } = HeldStream::start().await;
        let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(first, "first\n");
        release_tx.send(()).await.unwrap();
        let second = body.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(second, "second\n");
        assert!(body.frame().await.is_none());
    })
    .await;
}

#[tokio::test]
async fn busy_gateway_port_is_a_clear_error() {
    bounded(async {
        let taken = TcpListener::bind(loopback()).await.unwrap();
        let addr = taken.local_addr().unwrap();
        let error = Gateway::bind(addr, &[], &BTreeMap::new())
            .await
            .unwrap_err();
        assert!(matches!(error, BindError::InUse { .. }), "{error:?}");
        let message = error.to_string();
        assert!(
            message.contains(&format!("gateway port {}", addr.port())),
            "{message}"
        );
    })
    .await;
}

#[tokio::test]
async fn route_to_a_sub_without_balancer_is_refused_before_listening() {
    bounded(async {
        let error = Gateway::bind(
            loopback(),
            &[route("shop.test", "/", "web")],
            &BTreeMap::new(),
        )
        .await
        .unwrap_err();
        assert!(matches!(error, BindError::NoBalancer { .. }), "{error:?}");
    })
    .await;
}

#[test]
fn route_targets_are_listed_in_matching_order() {
    let text = r#"
name = "shop"

[sub.web]
run = "python3 app/web.py"
port = 8080

[sub.api]
run = "python3 app/api.py"
port = 8081

[[route]]
host = "*.shop.localhost"
sub = "web"

[[route]]
host = "shop.localhost"
sub = "web"

[[route]]
host = "shop.localhost"
path = "/api"
sub = "api"
"#;
    let app = zeppelin_core::parse(text, Path::new("zeppelin.toml")).unwrap();
    let targets = route_targets(&app);
    let target = |host: &str, path: &str, sub: &str, port: u16| RouteTarget {
        host: host.to_owned(),
        path: path.to_owned(),
        sub: sub.to_owned(),
        target: ([127, 0, 0, 1], port).into(),
    };
    assert_eq!(
        targets,
        [
            target("shop.localhost", "/api", "api", 8081),
            target("shop.localhost", "/", "web", 8080),
            target("*.shop.localhost", "/", "web", 8080),
        ]
    );
    assert_eq!(targets[0].url(8000), "http://shop.localhost:8000/api");
}

#[tokio::test]
async fn drain_waits_for_a_streamed_answer_to_finish() {
    bounded(async {
        let HeldStream {
            release_tx,
            events,
            events_pool,
            gateway,
            _client,
            mut body,
        } = HeldStream::start().await;
        body.frame().await.unwrap().unwrap();
        let drain = tokio::spawn({
            let pool = events_pool.clone();
            let addr = events.addr();
            async move { pool.drain(addr, Duration::from_secs(60)).await }
        });
        // A new request finds no replica while the old answer still streams.
        let answer = get(gateway.local_addr(), "shop.test", "/").await;
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            !drain.is_finished(),
            "drain ended while an answer was streaming"
        );
        release_tx.send(()).await.unwrap();
        while body.frame().await.is_some() {}
        assert_eq!(
            drain.await.unwrap(),
            zeppelin_local::balancer::Drained::Idle
        );
    })
    .await;
}

#[tokio::test]
async fn shutdown_frees_the_port_for_a_gateway_with_new_routes() {
    bounded(async {
        let (web, api) = (Replica::http(1).await, Replica::http(2).await);
        let (web_pool, api_pool) = (pool("web", &[&web]), pool("api", &[&api]));
        let first = gateway(&[route("shop.test", "/", "web")], &[&web_pool]).await;
        let addr = first.local_addr();
        assert_eq!(get(addr, "shop.test", "/").await.body, "replica 1");
        first.shutdown().await;
        let pools = BTreeMap::from([("api".to_owned(), api_pool.clone())]);
        let _second = Gateway::bind(addr, &[route("shop.test", "/", "api")], &pools)
            .await
            .unwrap();
        assert_eq!(get(addr, "shop.test", "/").await.body, "replica 2");
    })
    .await;
}
