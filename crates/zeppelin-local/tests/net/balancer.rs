//! The TCP balancer over real sockets: spreading, draining and refusing.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use zeppelin_core::model::Balance;
use zeppelin_local::balancer::{Balancer, BindError, Drained};

use crate::support::{Replica, bounded, greeting, loopback, until};

async fn balancer(policy: Balance, replicas: &[&Replica]) -> Balancer {
    let balancer = Balancer::bind("api", loopback(), policy).await.unwrap();
    balancer.set_backends(replicas.iter().map(|r| r.backend));
    balancer
}

/// Opens a connection through the balancer and returns it with the replica's greeting.
async fn open(balancer: &Balancer) -> (TcpStream, String) {
    let mut stream = TcpStream::connect(balancer.local_addr()).await.unwrap();
    let hello = greeting(&mut stream).await;
    (stream, hello)
}

async fn echo(stream: &mut TcpStream, text: &str) -> String {
    stream.write_all(text.as_bytes()).await.unwrap();
    let mut buf = vec![0; text.len()];
    stream.read_exact(&mut buf).await.unwrap();
    String::from_utf8(buf).unwrap()
}

#[tokio::test]
async fn round_robin_spreads_connections_over_three_replicas() {
    bounded(async {
        let replicas = [
            Replica::tcp_echo(1).await,
            Replica::tcp_echo(2).await,
            Replica::tcp_echo(3).await,
        ];
        let balancer = balancer(Balance::RoundRobin, &replicas.each_ref()).await;
        let mut seen = BTreeMap::<String, u32>::new();
        for _ in 0..9 {
            let (mut stream, hello) = open(&balancer).await;
            assert_eq!(echo(&mut stream, "ping").await, "ping");
            *seen.entry(hello).or_default() += 1;
        }
        let expected: BTreeMap<String, u32> =
            (1..=3).map(|i| (format!("replica {i}"), 3)).collect();
        assert_eq!(seen, expected);
        assert_eq!(balancer.pool().in_rotation(), 3);
    })
    .await;
}

#[tokio::test]
async fn least_connections_picks_the_least_busy_replica() {
    bounded(async {
        let replicas = [
            Replica::tcp_echo(1).await,
            Replica::tcp_echo(2).await,
            Replica::tcp_echo(3).await,
        ];
        let balancer = balancer(Balance::LeastConnections, &replicas.each_ref()).await;
        let (one, _) = open(&balancer).await;
        let (two, hello) = open(&balancer).await;
        assert_eq!(hello, "replica 2");
        let (three, _) = open(&balancer).await;
        drop(two);
        until(|| {
            balancer
                .pool()
                .loads()
                .iter()
                .any(|load| load.backend.replica == 2 && load.open == 0)
        })
        .await;
        // Round-robin would pick replica 1 next; least-connections picks the idle one.
        let (_four, hello) = open(&balancer).await;
        assert_eq!(hello, "replica 2");
        drop((one, three));
    })
    .await;
}

#[tokio::test]
async fn removed_replica_finishes_open_connections_but_gets_no_new_ones() {
    bounded(async {
        let replicas = [Replica::tcp_echo(1).await, Replica::tcp_echo(2).await];
        let balancer = balancer(Balance::RoundRobin, &replicas.each_ref()).await;
        let (mut old, hello) = open(&balancer).await;
        assert_eq!(hello, "replica 1");

        balancer.set_backends([replicas[1].backend]);
        for _ in 0..4 {
            assert_eq!(open(&balancer).await.1, "replica 2");
        }
        let drain = tokio::spawn({
            let pool = balancer.pool().clone();
            let addr = replicas[0].addr();
            async move { pool.drain(addr, Duration::from_secs(60)).await }
        });
        assert_eq!(echo(&mut old, "still here").await, "still here");
        assert!(
            !drain.is_finished(),
            "drain ended while a connection was open"
        );
        drop(old);
        assert_eq!(drain.await.unwrap(), Drained::Idle);
        assert!(balancer.pool().loads().iter().all(|l| l.in_rotation));
    })
    .await;
}

#[tokio::test]
async fn drain_timeout_cuts_connections_still_open() {
    bounded(async {
        let replica = Replica::tcp_echo(1).await;
        let balancer = balancer(Balance::RoundRobin, &[&replica]).await;
        let (mut held, _) = open(&balancer).await;
        let drained = balancer
            .drain(replica.addr(), Duration::from_millis(100))
            .await;
        assert_eq!(drained, Drained::Cut { open: 1 });
        let mut buf = [0; 16];
        let read = held.read(&mut buf).await;
        assert!(
            matches!(read, Ok(0) | Err(_)),
            "cut connection still open: {read:?}"
        );
        assert_eq!(balancer.pool().in_rotation(), 0);
    })
    .await;
}

/// A refused connection must fail fast: a read that neither errors nor ends would hang
/// until the test's bound.
async fn assert_refused(balancer: &Balancer) {
    let mut stream = TcpStream::connect(balancer.local_addr()).await.unwrap();
    let mut buf = [0; 16];
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
        .await
        .expect("a connection with no replica behind it was left hanging");
    assert!(
        matches!(read, Ok(0) | Err(_)),
        "got data from nowhere: {read:?}"
    );
}

#[tokio::test]
async fn no_healthy_replica_refuses_promptly() {
    bounded(async {
        let balancer = Balancer::bind("api", loopback(), Balance::RoundRobin)
            .await
            .unwrap();
        assert_refused(&balancer).await;

        // A replica that died before the supervisor noticed refuses too.
        let gone = Replica::tcp_echo(1).await;
        balancer.set_backends([gone.backend]);
        gone.kill().await;
        assert_refused(&balancer).await;
    })
    .await;
}

#[tokio::test]
async fn killed_replica_is_passed_over_and_used_again_once_back() {
    bounded(async {
        let replicas = [Replica::tcp_echo(1).await, Replica::tcp_echo(2).await];
        let balancer = balancer(Balance::RoundRobin, &replicas.each_ref()).await;
        let [killed, alive] = replicas;
        let port = killed.addr();
        killed.kill().await;
        for _ in 0..4 {
            assert_eq!(open(&balancer).await.1, "replica 2");
        }
        // Restarted on its port while still in rotation: it takes its turns again.
        let _back = Replica::tcp_echo_at(1, port).await;
        let mut seen: Vec<String> = Vec::new();
        for _ in 0..4 {
            seen.push(open(&balancer).await.1);
        }
        seen.sort();
        assert_eq!(seen, ["replica 1", "replica 1", "replica 2", "replica 2"]);
        drop(alive);
    })
    .await;
}

#[tokio::test]
async fn busy_port_is_an_error_naming_port_and_sub() {
    bounded(async {
        let taken = TcpListener::bind(loopback()).await.unwrap();
        let addr = taken.local_addr().unwrap();
        let error = Balancer::bind("api", addr, Balance::RoundRobin)
            .await
            .unwrap_err();
        assert!(matches!(error, BindError::InUse { .. }), "{error:?}");
        let message = error.to_string();
        assert!(message.contains(&addr.port().to_string()), "{message}");
        assert!(message.contains("\"api\""), "{message}");
        let holder = format!("(by pid {},", std::process::id());
        assert!(message.contains(&holder), "{message}");
    })
    .await;
}

#[tokio::test]
async fn shutdown_frees_the_port_and_closes_connections() {
    bounded(async {
        let replica = Replica::tcp_echo(1).await;
        let first = balancer(Balance::RoundRobin, &[&replica]).await;
        let addr = first.local_addr();
        let (mut held, _) = open(&first).await;
        first.shutdown().await;
        let mut buf = [0; 16];
        let read = held.read(&mut buf).await;
        assert!(
            matches!(read, Ok(0) | Err(_)),
            "connection outlived its balancer: {read:?}"
        );
        let second = Balancer::bind("api", addr, Balance::RoundRobin)
            .await
            .unwrap();
        second.set_backends([replica.backend]);
        assert_eq!(open(&second).await.1, "replica 1");
    })
    .await;
}
