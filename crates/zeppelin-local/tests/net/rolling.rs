//! Replacing replicas one at a time, as a rolling restart does, under a steady stream of
//! requests: not one may fail.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use http::StatusCode;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use zeppelin_core::model::{Balance, Route};
use zeppelin_local::balancer::{Balancer, Drained, Pool};
use zeppelin_local::gateway::Gateway;

use crate::support::{Client, Replica, bounded, loopback};

/// Requests each client makes at least, and at most while the replacements go on.
const MIN_REQUESTS: usize = 200;
const MAX_REQUESTS: usize = 20_000;

/// Replaces every replica of a 2-replica sub one at a time, twice over: start the new one,
/// put it in rotation, drain the old one, then kill it. Returns the replicas left running.
async fn roll(pool: &Pool, mut running: Vec<Replica>) -> Vec<Replica> {
    for replica in 10..14 {
        let fresh = Replica::http(replica).await;
        let old = running.remove(0);
        running.push(fresh);
        pool.set_backends(running.iter().map(|r| r.backend).chain([old.backend]));
        // Drain takes the old replica out of rotation, then waits for its requests.
        assert_eq!(
            pool.drain(old.addr(), Duration::from_secs(30)).await,
            Drained::Idle
        );
        drop(old);
        pool.set_backends(running.iter().map(|r| r.backend));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    running
}

/// Runs `request` in a loop on `clients` tasks until `done` and the minimum count, and
/// returns how many requests were made and which ones failed.
async fn load<F, Fut>(clients: usize, done: Arc<AtomicBool>, request: F) -> (usize, Vec<String>)
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let request = request.clone();
            let done = Arc::clone(&done);
            tokio::spawn(async move {
                let (mut made, mut failed) = (0, Vec::new());
                while made < MAX_REQUESTS && (made < MIN_REQUESTS || !done.load(Ordering::SeqCst)) {
                    if let Err(error) = request().await {
                        failed.push(error);
                    }
                    made += 1;
                }
                (made, failed)
            })
        })
        .collect();
    let (mut made, mut failed) = (0, Vec::new());
    for task in tasks {
        let (m, f) = task.await.unwrap();
        made += m;
        failed.extend(f);
    }
    (made, failed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_drops_nothing_while_replicas_are_replaced() {
    bounded(async {
        let running = vec![Replica::http(1).await, Replica::http(2).await];
        let pool = Pool::new("web", Balance::RoundRobin);
        pool.set_backends(running.iter().map(|r| r.backend));
        let routes = [Route {
            host: "shop.test".to_owned(),
            path: "/".to_owned(),
            sub: "web".to_owned(),
        }];
        let pools = [("web".to_owned(), pool.clone())].into();
        let gateway = Gateway::bind(loopback(), &routes, &pools).await.unwrap();
        let addr = gateway.local_addr();
        let done = Arc::new(AtomicBool::new(false));
        // Kept-alive client connections: the case an L4 balancer alone would get wrong.
        let load = tokio::spawn(load(3, Arc::clone(&done), move || async move {
            let mut client = Client::connect(addr).await;
            for _ in 0..5 {
                let answer = client
                    .get("shop.test", "/")
                    .await
                    .map_err(|e| e.to_string())?;
                if answer.status != StatusCode::OK {
                    return Err(format!("{}: {}", answer.status, answer.body));
                }
            }
            Ok(())
        }));
        let running = roll(&pool, running).await;
        done.store(true, Ordering::SeqCst);
        let (made, failed) = load.await.unwrap();
        assert!(
            failed.is_empty(),
            "{} of {made} failed: {failed:?}",
            failed.len()
        );
        assert_eq!(pool.in_rotation(), running.len());
    })
    .await;
}

/// One HTTP request on its own connection through the balancer.
async fn request_through(addr: std::net::SocketAddr) -> Result<(), String> {
    let mut stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n")
        .await
        .map_err(|e| e.to_string())?;
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .await
        .map_err(|e| e.to_string())?;
    if answer.starts_with("HTTP/1.1 200") && answer.contains("replica ") {
        Ok(())
    } else {
        Err(format!("bad answer: {answer:?}"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn balancer_drops_nothing_while_replicas_are_replaced() {
    bounded(async {
        let running = vec![Replica::http(1).await, Replica::http(2).await];
        let balancer = Balancer::bind("api", loopback(), Balance::RoundRobin)
            .await
            .unwrap();
        balancer.set_backends(running.iter().map(|r| r.backend));
        let addr = balancer.local_addr();
        let done = Arc::new(AtomicBool::new(false));
        let load = tokio::spawn(load(3, Arc::clone(&done), move || request_through(addr)));
        let running = roll(balancer.pool(), running).await;
        done.store(true, Ordering::SeqCst);
        let (made, failed) = load.await.unwrap();
        assert!(
            failed.is_empty(),
            "{} of {made} failed: {failed:?}",
            failed.len()
        );
        assert_eq!(balancer.pool().in_rotation(), running.len());
    })
    .await;
}
