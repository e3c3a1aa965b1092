//! Real servers and clients on loopback for the balancer and gateway tests: stand-in
//! replicas that say who they are, echo, hash uploads and stream answers on cue.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt as _, StreamExt as _};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use zeppelin_local::balancer::Backend;

/// The bound on every test: a broken proxy fails the test instead of hanging it.
pub(crate) async fn bounded<T>(test: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(120), test)
        .await
        .expect("test did not finish within its time bound")
}

/// Polls `condition` until it holds (bounded by the test's own timeout).
pub(crate) async fn until(mut condition: impl FnMut() -> bool) {
    while !condition() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

pub(crate) fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// A stand-in replica; dropping it stops it and closes its connections, like a kill.
pub(crate) struct Replica {
    pub(crate) backend: Backend,
    stop: CancellationToken,
    accepting: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Replica {
    pub(crate) fn addr(&self) -> SocketAddr {
        self.backend.addr
    }

    /// Stops the replica and returns once its port refuses connections.
    pub(crate) async fn kill(mut self) {
        self.stop.cancel();
        if let Some(accepting) = self.accepting.take() {
            accepting.await.unwrap();
        }
    }

    /// A TCP replica that greets each connection with `replica N\n`, then echoes.
    pub(crate) async fn tcp_echo(replica: u32) -> Self {
        Self::tcp_echo_at(replica, loopback()).await
    }

    /// Like [`Replica::tcp_echo`], on a given address: a replica restarted on its old port.
    pub(crate) async fn tcp_echo_at(replica: u32, addr: SocketAddr) -> Self {
        Self::spawn_at(replica, addr, move |mut stream, stop| async move {
            let mut buf = vec![0; 4096];
            let work = async {
                stream
                    .write_all(format!("replica {replica}\n").as_bytes())
                    .await?;
                loop {
                    let n = stream.read(&mut buf).await?;
                    if n == 0 {
                        return Ok::<_, std::io::Error>(());
                    }
                    stream.write_all(&buf[..n]).await?;
                }
            };
            tokio::select! {
                _ = work => {}
                () = stop.cancelled() => {}
            }
        })
        .await
    }

    /// An HTTP replica: `/headers` lists the request headers, `/upload` answers with the
    /// length and hash of the streamed body (telling `first_bytes` when data starts to
    /// arrive), `/stream` sends one chunk, waits for `release`, then sends another; any
    /// other path answers `replica N`.
    pub(crate) async fn http(replica: u32) -> Self {
        Self::http_with(replica, Cues::default()).await
    }

    pub(crate) async fn http_with(replica: u32, cues: Cues) -> Self {
        Self::spawn(replica, move |stream, stop| {
            let cues = cues.clone();
            async move {
                let service = service_fn(move |req| answer(replica, req, cues.clone()));
                let conn = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .with_upgrades();
                tokio::select! {
                    _ = conn => {}
                    () = stop.cancelled() => {}
                }
            }
        })
        .await
    }

    /// An HTTP/1.0 replica that answers `replica N` without a length, ending the answer by
    /// closing the connection, as simple servers do.
    pub(crate) async fn http10(replica: u32) -> Self {
        Self::spawn(replica, move |mut stream, _stop| async move {
            let mut head = Vec::new();
            let mut buf = [0; 1024];
            while !head.ends_with(b"\r\n\r\n") {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let answer =
                format!("HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\n\r\nreplica {replica}");
            let _ = stream.write_all(answer.as_bytes()).await;
        })
        .await
    }

    /// A WebSocket replica that echoes every message.
    pub(crate) async fn websocket_echo(replica: u32) -> Self {
        Self::spawn(replica, move |stream, stop| async move {
            let echo = async {
                let mut ws = tokio_tungstenite::accept_async(stream).await.ok()?;
                while let Some(Ok(message)) = ws.next().await {
                    if message.is_close() {
                        break;
                    }
                    ws.send(message).await.ok()?;
                }
                Some(())
            };
            tokio::select! {
                _ = echo => {}
                () = stop.cancelled() => {}
            }
        })
        .await
    }

    async fn spawn<F, Fut>(replica: u32, handle: F) -> Self
    where
        F: Fn(TcpStream, CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Self::spawn_at(replica, loopback(), handle).await
    }

    async fn spawn_at<F, Fut>(replica: u32, addr: SocketAddr, handle: F) -> Self
    where
        F: Fn(TcpStream, CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        // A port just released by a stopped replica frees up as soon as its accept task
        // ends; retry until then (bounded by the test's timeout).
        let listener = loop {
            match TcpListener::bind(addr).await {
                Ok(listener) => break listener,
                Err(error) if error.kind() == std::io::ErrorKind::AddrInUse => {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err(error) => panic!("cannot listen on {addr}: {error}"),
            }
        };
        let addr = listener.local_addr().unwrap();
        let stop = CancellationToken::new();
        let accept_stop = stop.clone();
        let accepting = tokio::spawn(async move {
            loop {
                let stream = tokio::select! {
                    () = accept_stop.cancelled() => return,
                    accepted = listener.accept() => accepted.unwrap().0,
                };
                tokio::spawn(handle(stream, accept_stop.clone()));
            }
        });
        Self {
            backend: Backend { replica, addr },
            stop,
            accepting: Some(accepting),
        }
    }
}

/// Signals between a test and an HTTP replica, to prove bodies stream.
#[derive(Clone, Default)]
pub(crate) struct Cues {
    /// Told once the first bytes of an upload arrive.
    pub(crate) first_bytes: Option<mpsc::Sender<()>>,
    /// `/stream` waits for a message here before its second chunk.
    pub(crate) release: Option<std::sync::Arc<tokio::sync::Mutex<mpsc::Receiver<()>>>>,
}

type AnswerBody = http_body_util::combinators::BoxBody<Bytes, Infallible>;

async fn answer(
    replica: u32,
    req: Request<Incoming>,
    cues: Cues,
) -> Result<Response<AnswerBody>, hyper::Error> {
    let body = match req.uri().path() {
        "/headers" => {
            let text: Vec<String> = req
                .headers()
                .iter()
                .map(|(name, value)| format!("{name}: {}\n", value.to_str().unwrap_or("?")))
                .collect();
            full(text.concat())
        }
        "/upload" => {
            let mut body = req.into_body();
            let (mut length, mut hash) = (0_u64, Fnv::new());
            while let Some(frame) = body.frame().await {
                if let Ok(data) = frame?.into_data() {
                    if length == 0
                        && let Some(first) = &cues.first_bytes
                    {
                        let _ = first.try_send(());
                    }
                    length += data.len() as u64;
                    hash.write(&data);
                }
            }
            full(format!("{length} {:016x}", hash.finish()))
        }
        "/stream" => {
            let release = cues
                .release
                .clone()
                .expect("a /stream test gives a release cue");
            let (tx, rx) = mpsc::channel::<Bytes>(1);
            tokio::spawn(async move {
                tx.send(Bytes::from_static(b"first\n")).await.ok()?;
                release.lock().await.recv().await?;
                tx.send(Bytes::from_static(b"second\n")).await.ok()
            });
            channel_body(rx)
        }
        _ => full(format!("replica {replica}")),
    };
    Ok(Response::new(body))
}

fn full(text: String) -> AnswerBody {
    Full::new(Bytes::from(text)).boxed()
}

/// A body fed chunk by chunk from a channel; it ends when the sender is dropped.
pub(crate) fn channel_body(rx: mpsc::Receiver<Bytes>) -> AnswerBody {
    let frames = futures_util::stream::unfold(rx, |mut rx| async move {
        let data = rx.recv().await?;
        Some((Ok::<_, Infallible>(Frame::data(data)), rx))
    });
    BodyExt::boxed(StreamBody::new(frames))
}

/// FNV-1a, 64-bit: a hash that does not depend on how the bytes were split into chunks.
pub(crate) struct Fnv(u64);

impl Fnv {
    pub(crate) fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }

    pub(crate) fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    pub(crate) fn finish(&self) -> u64 {
        self.0
    }
}

/// One HTTP/1.1 connection from a test client, for requests with a chosen Host.
pub(crate) struct Client {
    sender: hyper::client::conn::http1::SendRequest<AnswerBody>,
}

/// What a test looks at in an answer.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) body: String,
}

impl Client {
    pub(crate) async fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.unwrap();
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(conn);
        Self { sender }
    }

    /// Sends a request and returns the answer's head, with its body still streaming.
    pub(crate) async fn send(
        &mut self,
        host: &str,
        path: &str,
        body: AnswerBody,
    ) -> Result<Response<Incoming>, hyper::Error> {
        self.sender.ready().await?;
        let req = Request::post(path)
            .header(http::header::HOST, host)
            .body(body)
            .unwrap();
        self.sender.send_request(req).await
    }

    pub(crate) async fn get(&mut self, host: &str, path: &str) -> Result<Answer, hyper::Error> {
        self.sender.ready().await?;
        let req = Request::get(path)
            .header(http::header::HOST, host)
            .body(Empty::new().boxed())
            .unwrap();
        let response = self.sender.send_request(req).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok(Answer {
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }
}

/// One GET on a fresh connection.
pub(crate) async fn get(addr: SocketAddr, host: &str, path: &str) -> Answer {
    Client::connect(addr).await.get(host, path).await.unwrap()
}

/// Reads what a replica behind the balancer greets a new connection with.
pub(crate) async fn greeting(stream: &mut TcpStream) -> String {
    let mut line = Vec::new();
    let mut byte = [0; 1];
    while stream.read(&mut byte).await.unwrap() == 1 && byte[0] != b'\n' {
        line.push(byte[0]);
    }
    String::from_utf8(line).unwrap()
}
