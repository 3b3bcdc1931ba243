//! The distribution handshake's framing under TLS.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The handshake's framing under TLS. OTP's `inet_tls_dist` frames the
/// handshake messages with a 4-byte length (the TLS socket is in
/// `{packet, 4}` from the start), where plain TCP uses 2 bytes. This
/// stream sits between the handshake, which writes and reads 2-byte
/// lengths, and TLS, and turns the one into the other.
///
/// It reads exactly one message at a time from the stream below, never
/// beyond it, so that the frames that follow the handshake stay where the
/// connection's task finds them.
pub(crate) struct Packet4<S> {
    inner: S,
    /// Written by the handshake, not yet a whole message.
    written: Vec<u8>,
    /// Whole messages, reframed, to write below.
    outgoing: Vec<u8>,
    /// What is being read from below: a header, then a body.
    reading: Vec<u8>,
    /// Messages read and reframed, for the handshake to read.
    incoming: Vec<u8>,
}

impl<S> Packet4<S> {
    pub(crate) fn new(inner: S) -> Packet4<S> {
        Packet4 {
            inner,
            written: Vec::new(),
            outgoing: Vec::new(),
            reading: Vec::new(),
            incoming: Vec::new(),
        }
    }

    /// The stream below, once the handshake is over.
    pub(crate) fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Packet4<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        while this.incoming.is_empty() {
            // A header first, then as many bytes as it says.
            let mut wanted = 4;
            if let Some(header) = this.reading.first_chunk::<4>() {
                let len = u32::from_be_bytes(*header);
                let Ok(len) = u16::try_from(len) else {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("a handshake message of {len} bytes"),
                    )));
                };
                wanted = 4 + usize::from(len);
                if this.reading.len() == wanted {
                    this.incoming.extend_from_slice(&len.to_be_bytes());
                    this.incoming.extend_from_slice(&this.reading[4..]);
                    this.reading.clear();
                    continue;
                }
            }
            let from = this.reading.len();
            this.reading.resize(wanted, 0);
            let mut read = ReadBuf::new(&mut this.reading[from..]);
            let polled = Pin::new(&mut this.inner).poll_read(cx, &mut read);
            let got = read.filled().len();
            this.reading.truncate(from + got);
            match polled {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                // The end of the stream.
                Poll::Ready(Ok(())) if got == 0 => return Poll::Ready(Ok(())),
                Poll::Ready(Ok(())) => {}
            }
        }
        let n = buf.remaining().min(this.incoming.len());
        buf.put_slice(&this.incoming[..n]);
        this.incoming.drain(..n);
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Packet4<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        this.written.extend_from_slice(bytes);
        while this.written.len() >= 2 {
            let len = usize::from(u16::from_be_bytes([this.written[0], this.written[1]]));
            if this.written.len() < 2 + len {
                break;
            }
            this.outgoing.extend_from_slice(&(len as u32).to_be_bytes());
            this.outgoing.extend_from_slice(&this.written[2..2 + len]);
            this.written.drain(..2 + len);
        }
        Poll::Ready(Ok(bytes.len()))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        while !this.outgoing.is_empty() {
            match ready!(Pin::new(&mut this.inner).poll_write(cx, &this.outgoing)) {
                Err(e) => return Poll::Ready(Err(e)),
                Ok(0) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Ok(n) => {
                    this.outgoing.drain(..n);
                }
            }
        }
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
