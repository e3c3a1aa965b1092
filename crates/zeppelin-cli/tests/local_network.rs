//! End-to-end tests of local networking through the real `zeppelin` binary: a balancer on
//! each sub's port, the gateway for routes, and restarts that lose no request.

mod harness;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use harness::app::{TestApp, free_port, free_ports, get, wait_for};
use harness::sub::{Sub, subs};

/// An app file body: the echo sub `web` with `replicas` on port `web`, routed from
/// `shop.test` (under `path`, when given) by the gateway on port `gateway`.
fn routed_web_body(web: u16, replicas: u32, gateway: u16, path: Option<&str>) -> String {
    let path = path.map_or_else(String::new, |path| format!("path = \"{path}\"\n"));
    format!(
        "{}\n[gateway]\nport = {gateway}\n\n[[route]]\nhost = \"shop.test\"\n{path}sub = \"web\"\n",
        Sub::echo("web", web, replicas)
    )
}

/// Which replica answered each of `count` requests to the balancer on `port`.
fn spread(port: u16, count: usize) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    for _ in 0..count {
        let (status, body) = get(port, "x", "/").expect("the balancer answers");
        assert_eq!(status, 200, "{body}");
        let replica = body
            .split(' ')
            .nth(1)
            .unwrap_or_else(|| panic!("not an echo answer: {body:?}"))
            .to_owned();
        *seen.entry(replica).or_insert(0) += 1;
    }
    seen
}

#[test]
fn the_balancer_spreads_connections_over_three_replicas_in_turn() {
    let port = free_port();
    let app = TestApp::new(&subs(&[Sub::echo("api", port, 3)]));
    app.start();
    app.wait_healthy("api", 3);
    let seen = spread(port, 30);
    assert_eq!(
        seen,
        BTreeMap::from([("0".into(), 10), ("1".into(), 10), ("2".into(), 10)])
    );
    let ps = app.zeppelin(&["ps"]).output().unwrap();
    let table = String::from_utf8(ps.stdout).unwrap();
    let address = format!("127.0.0.1:{port}");
    let row: Vec<&str> = table
        .lines()
        .find(|line| line.contains(&address))
        .unwrap_or_else(|| panic!("a row with the balancer's address: {table}"))
        .split_whitespace()
        .collect();
    assert_eq!(
        row,
        ["api", "3", "3", "-", "-", address.as_str()],
        "{table}"
    );
}

#[test]
fn a_killed_replica_drops_out_and_comes_back() {
    let port = free_port();
    let app = TestApp::new(&subs(&[Sub::echo("api", port, 2)]));
    app.start();
    let replicas = app.wait_healthy("api", 2);
    let victim = replicas[1]["pid"].as_i64().unwrap();
    std::process::Command::new("kill")
        .args(["-9", &victim.to_string()])
        .status()
        .unwrap();
    // Once the supervisor has seen it die, it gets no traffic: every request goes to api.0.
    wait_for("api.1 to be seen dead", || {
        (app.replicas("api")[1]["state"] != "healthy").then_some(())
    });
    let seen = spread(port, 20);
    assert_eq!(seen, BTreeMap::from([("0".into(), 20)]));
    wait_for("api.1 to be restarted and healthy", || {
        let replicas = app.replicas("api");
        (replicas.len() == 2
            && replicas.iter().all(|r| r["state"] == "healthy")
            && replicas[1]["restarts"].as_u64() >= Some(1))
        .then_some(())
    });
    let seen = spread(port, 10);
    assert_eq!(
        seen.get("1"),
        Some(&5),
        "api.1 gets traffic again: {seen:?}"
    );
}

#[test]
fn the_gateway_routes_by_host_and_longest_prefix_and_explains_failures() {
    let [web, api, down, gateway] = free_ports::<4>();
    let body = format!(
        "{}{}{}
[gateway]
port = {gateway}

[[route]]
host = \"shop.test\"
sub = \"web\"

[[route]]
host = \"shop.test\"
path = \"/api\"
sub = \"api\"

[[route]]
host = \"*.shop.test\"
sub = \"api\"

[[route]]
host = \"down.test\"
sub = \"down\"
",
        Sub::echo("web", web, 1),
        Sub::echo("api", api, 1),
        Sub::echo("down", down, 0),
    );
    let app = TestApp::new(&body);
    app.start();
    let answer = |host: &str, path: &str| get(gateway, host, path).expect("the gateway answers");

    let (status, text) = answer("shop.test", "/");
    assert_eq!(status, 200);
    assert!(
        text.starts_with("web 0 / host=shop.test xff=127.0.0.1"),
        "{text}"
    );
    assert!(
        answer("shop.test", "/api/items")
            .1
            .starts_with("api 0 /api/items")
    );
    assert!(
        answer("shop.test", "/apis").1.starts_with("web 0"),
        "whole segments only"
    );
    assert!(
        answer("eu.shop.test", "/").1.starts_with("api 0"),
        "one-label wildcard"
    );

    let (status, text) = answer("a.b.shop.test", "/");
    assert_eq!(status, 404, "a wildcard covers one label only");
    assert!(
        text.contains("shop.test/api -> api"),
        "404 names the routes: {text}"
    );
    assert_eq!(answer("down.test", "/").0, 503, "no healthy replica");
    assert_eq!(answer("shop.test", "/boom").0, 502, "the replica hung up");
}

#[test]
fn restarts_and_changes_under_steady_traffic_lose_no_request() {
    let [web, gateway] = free_ports::<2>();
    let app = TestApp::new(&routed_web_body(web, 2, gateway, None));
    app.start();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = {
        let stop = std::sync::Arc::clone(&stop);
        std::thread::spawn(move || {
            let (mut ok, mut failed) = (0, Vec::new());
            let deadline = Instant::now() + Duration::from_secs(120);
            while !stop.load(std::sync::atomic::Ordering::Relaxed)
                && Instant::now() < deadline
                && ok + failed.len() < 20_000
            {
                for port in [web, gateway] {
                    match get(port, "shop.test", "/") {
                        Ok((200, _)) => ok += 1,
                        other => failed.push(format!("{port}: {other:?}")),
                    }
                }
            }
            (ok, failed)
        })
    };
    app.zeppelin(&["restart", "web"]).assert().success();
    // A changed environment rolls the sub the same way.
    let file = app.path().join("zeppelin.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replace("[sub.web]", "[sub.web]\nenv = { V = \"2\" }"),
    )
    .unwrap();
    let applied = app.zeppelin(&["run", "-d"]).output().unwrap();
    assert!(String::from_utf8_lossy(&applied.stderr).contains("replaced web"));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (ok, failed) = load.join().unwrap();
    assert!(
        failed.is_empty(),
        "{} failed of {}: {:?}",
        failed.len(),
        ok + failed.len(),
        &failed[..failed.len().min(5)]
    );
    assert!(
        ok > 20,
        "the load kept running during the restarts ({ok} requests)"
    );
}

#[test]
fn a_port_in_use_is_named_and_nothing_is_left_running() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let app = TestApp::new(&subs(&[
        Sub::echo("web", free_port(), 1),
        Sub::echo("api", port, 1),
    ]));
    let out = app.zeppelin(&["run", "-d"]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("port {port} for sub \"api\" is already in use")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("(by pid {}", std::process::id())),
        "names the holder: {stderr}"
    );
    assert!(app.try_status().is_none(), "no supervisor is left running");
}

#[test]
fn routes_are_listed_with_their_targets() {
    let [web, gateway] = free_ports::<2>();
    let app = TestApp::new(&routed_web_body(web, 1, gateway, Some("/shop")));
    let listed = |app: &TestApp| -> serde_json::Value {
        let out = app
            .zeppelin(&["routes", "--format", "json"])
            .output()
            .unwrap();
        assert!(out.status.success());
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let stopped = listed(&app);
    assert_eq!(stopped["running"], false);
    app.start();
    let running = listed(&app);
    assert_eq!(running["running"], true);
    let route = &running["routes"][0];
    assert_eq!(route["target"], format!("127.0.0.1:{web}"));
    assert_eq!(route["url"], format!("http://shop.test:{gateway}/shop"));
}

/// An app with one sub `web` routed from `shop.test` on the gateway; (app, gateway port).
fn routed_web() -> (TestApp, u16) {
    let [web, gateway] = free_ports::<2>();
    let app = TestApp::new(&routed_web_body(web, 1, gateway, None));
    app.start();
    (app, gateway)
}

#[test]
fn websocket_messages_pass_through_the_gateway() {
    use tungstenite::client::IntoClientRequest;
    use tungstenite::{Message, http::HeaderValue};

    let (_app, gateway) = routed_web();
    let mut request = format!("ws://127.0.0.1:{gateway}/chat")
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("Host", HeaderValue::from_static("shop.test"));
    let (mut socket, answer) = tungstenite::connect(request).expect("the upgrade goes through");
    assert_eq!(answer.status(), 101);
    socket.send(Message::text("hello, airship")).unwrap();
    assert_eq!(socket.read().unwrap(), Message::text("hello, airship"));
    let cargo: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
    socket.send(Message::binary(cargo.clone())).unwrap();
    assert_eq!(socket.read().unwrap(), Message::binary(cargo));
    socket.close(None).unwrap();
}

#[test]
fn a_large_upload_streams_through_the_gateway_intact() {
    use sha2::{Digest, Sha256};
    use std::fmt::Write as _;

    const SIZE: usize = 64 << 20;
    let (_app, gateway) = routed_web();
    let mut stream = TcpStream::connect(("127.0.0.1", gateway)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(
        stream,
        "POST /upload HTTP/1.1\r\nHost: shop.test\r\nContent-Length: {SIZE}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut digest = Sha256::new();
    let mut chunk = vec![0u8; 1 << 20];
    let mut state = 0x2545_f491_u32;
    for _ in 0..SIZE / chunk.len() {
        for byte in &mut chunk {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            *byte = state.to_le_bytes()[0];
        }
        digest.update(&chunk);
        stream.write_all(&chunk).unwrap();
    }
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    let hex = digest
        .finalize()
        .iter()
        .fold(String::new(), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        });
    let expected = format!("{SIZE} {hex}");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(body, expected);
}

#[test]
fn the_sample_app_runs_and_serves_its_storefront() {
    let (app, api, _) = TestApp::sample("shop");
    let gateway = free_port();
    app.zeppelin(&["run", "-d", "--gateway-port", &gateway.to_string()])
        .assert()
        .success();
    let status = app.try_status().expect("the sample answers `zeppelin ps`");
    let states: Vec<(String, String)> = status["subs"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|sub| sub["replicas"].as_array().unwrap().clone())
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_owned(),
                r["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        states
            .iter()
            .map(|(name, _)| name.as_str())
            .collect::<Vec<_>>(),
        ["api.0", "api.1", "web.0", "web.1", "worker.0"]
    );
    assert!(
        states.iter().all(|(_, state)| state == "healthy"),
        "{states:?}"
    );

    let (code, page) = get(gateway, "shop.localhost", "/").unwrap();
    assert_eq!(code, 200, "{page}");
    assert!(
        page.contains("<h1>Shop</h1>") && page.contains("Airship model"),
        "the storefront shows the api's catalogue: {page}"
    );
    let (code, items) = get(api, "x", "/items").unwrap();
    assert_eq!(code, 200);
    assert!(items.contains("\"currency\": \"EUR\""), "{items}");
}

#[test]
fn running_again_with_another_gateway_port_moves_the_gateway() {
    let (app, _) = routed_web();
    let moved = free_port();
    let applied = app
        .zeppelin(&["run", "-d", "--gateway-port", &moved.to_string()])
        .output()
        .unwrap();
    assert!(
        applied.status.success(),
        "{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    let (code, text) = get(moved, "shop.test", "/").expect("the gateway moved");
    assert_eq!(code, 200, "{text}");
    let out = app
        .zeppelin(&["routes", "--format", "json"])
        .output()
        .unwrap();
    let routes: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(routes["gateway_port"], moved);
}

#[test]
fn a_routed_sub_moved_to_another_port_is_still_served_by_the_gateway() {
    let (app, gateway) = routed_web();
    let file = app.path().join("zeppelin.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    let moved = free_port();
    let old = text
        .lines()
        .find(|line| line.starts_with("port = ") && !text.contains(&format!("[gateway]\n{line}")))
        .unwrap()
        .to_owned();
    std::fs::write(&file, text.replacen(&old, &format!("port = {moved}"), 1)).unwrap();
    app.zeppelin(&["run", "-d"]).assert().success();
    let (code, body) = get(gateway, "shop.test", "/").expect("the gateway answers");
    assert_eq!(
        code, 200,
        "the route reaches the sub's new balancer: {body}"
    );
    let (code, _) = get(moved, "x", "/").expect("the new balancer answers");
    assert_eq!(code, 200);
}
