//! The listening socket and the connections it accepts, plain or TLS, built so the go-away
//! fault can make the server vanish the way a crashed API server does: the socket is closed
//! (new connections are refused) and every open connection is cut mid-stream, without the
//! clean end of an HTTP response.
//!
//! Accepting runs in a task of its own that hands over ready connections, so one slow TLS
//! handshake never holds up the others.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

/// How long a client may take over its TLS handshake before it is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What the accept loop needs to know when to stop.
pub(crate) struct Stops {
    /// Stopping the server: no more connections.
    pub(crate) shutdown: CancellationToken,
    /// The go-away fault: no more connections, and the open ones cut.
    pub(crate) gone: CancellationToken,
    /// Cancelled by the accept loop once it closed the socket for the go-away fault.
    pub(crate) closed: CancellationToken,
}

/// Accepted connections, ready to serve HTTP on.
pub(crate) struct Listener {
    ready: mpsc::Receiver<(Connection, SocketAddr)>,
    address: SocketAddr,
}

impl Listener {
    /// Accepts on `tcp` (finishing a TLS handshake first when `tls` is given) until either
    /// stop comes, then closes the socket.
    pub(crate) fn spawn(
        tcp: TcpListener,
        tls: Option<TlsAcceptor>,
        stops: Stops,
    ) -> io::Result<Self> {
        let address = tcp.local_addr()?;
        let (tx, ready) = mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    () = stops.shutdown.cancelled() => return,
                    () = stops.gone.cancelled() => {
                        drop(tcp);
                        stops.closed.cancel();
                        return;
                    }
                    accepted = tcp.accept() => accepted,
                };
                let Ok((stream, peer)) = accepted else {
                    // A client gone before it was accepted concerns only it; a full file table
                    // clears up with time, so wait a little rather than spin.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let (tls, tx, gone) = (tls.clone(), tx.clone(), stops.gone.clone());
                tokio::spawn(async move {
                    let stream = match tls {
                        None => Stream::Plain(stream),
                        // A client that fails its handshake gets no connection; others go on.
                        // So does one that never finishes it: a silent client must not
                        // hold a task and a socket for ever.
                        Some(acceptor) => {
                            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream))
                                .await
                            {
                                Ok(Ok(stream)) => Stream::Tls(Box::new(stream)),
                                Ok(Err(_)) | Err(_) => return,
                            }
                        }
                    };
                    let _ = tx.send((Connection::new(stream, gone), peer)).await;
                });
            }
        });
        Ok(Self { ready, address })
    }
}

impl axum::serve::Listener for Listener {
    type Io = Connection;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accept loop has stopped: nothing will connect again.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.address)
    }
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// One client connection; every read and write fails once the server has gone away, so
/// the HTTP layer drops it and the client sees the connection break.
pub(crate) struct Connection {
    stream: Stream,
    gone: CancellationToken,
    /// Wakes a connection waiting to read (an idle keep-alive, a client that sends nothing
    /// while its watch streams) when the server goes away.
    went: Pin<Box<WaitForCancellationFutureOwned>>,
}

impl Connection {
    fn new(stream: Stream, gone: CancellationToken) -> Self {
        let went = Box::pin(gone.clone().cancelled_owned());
        Self { stream, gone, went }
    }

    /// The error every operation returns once the server has gone away.
    fn cut(&mut self, cx: &mut Context<'_>) -> Option<io::Error> {
        (self.gone.is_cancelled() || self.went.as_mut().poll(cx).is_ready()).then(|| {
            io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "the fake API server went away",
            )
        })
    }
}

impl AsyncRead for Connection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Some(error) = this.cut(cx) {
            return Poll::Ready(Err(error));
        }
        match &mut this.stream {
            Stream::Plain(stream) => Pin::new(stream).poll_read(cx, buf),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let Some(error) = this.cut(cx) {
            return Poll::Ready(Err(error));
        }
        match &mut this.stream {
            Stream::Plain(stream) => Pin::new(stream).poll_write(cx, buf),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let Some(error) = this.cut(cx) {
            return Poll::Ready(Err(error));
        }
        match &mut this.stream {
            Stream::Plain(stream) => Pin::new(stream).poll_write_vectored(cx, bufs),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.stream {
            Stream::Plain(stream) => stream.is_write_vectored(),
            Stream::Tls(stream) => stream.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Some(error) = this.cut(cx) {
            return Poll::Ready(Err(error));
        }
        match &mut this.stream {
            Stream::Plain(stream) => Pin::new(stream).poll_flush(cx),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Some(error) = this.cut(cx) {
            return Poll::Ready(Err(error));
        }
        match &mut this.stream {
            Stream::Plain(stream) => Pin::new(stream).poll_shutdown(cx),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_shutdown(cx),
        }
    }
}
