//! What the gateway answers with: a replica's answer streamed through, or its own short text.
//!
//! A replica's answer carries the replica's [`Lease`], so the replica counts as busy until
//! the last byte is sent: a drain waits for long downloads and event streams too.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Frame, Incoming, SizeHint};

use crate::balancer::Lease;

/// The body of every gateway response.
#[derive(Debug)]
pub(crate) enum Body {
    /// A replica's answer, frame by frame as it arrives.
    Replica {
        body: Incoming,
        /// Released when the answer ends (or is dropped half-way).
        lease: Option<Lease>,
    },
    /// The gateway's own answer (404, 502, 503), or nothing (`101 Switching Protocols`).
    Own(Option<Bytes>),
}

impl Body {
    pub(crate) fn replica(body: Incoming, lease: Lease) -> Self {
        Self::Replica {
            body,
            lease: Some(lease),
        }
    }
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        match self.get_mut() {
            Self::Replica { body, lease } => {
                let polled = Pin::new(body).poll_frame(cx);
                if let Poll::Ready(None | Some(Err(_))) = polled {
                    lease.take();
                }
                polled
            }
            Self::Own(data) => Poll::Ready(data.take().map(|data| Ok(Frame::data(data)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Replica { body, .. } => body.is_end_stream(),
            Self::Own(data) => data.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Replica { body, .. } => body.size_hint(),
            Self::Own(data) => SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64)),
        }
    }
}
