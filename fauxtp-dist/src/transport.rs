//! The byte stream under a connection: plain TCP, or TLS over TCP (the
//! `tls` feature). Both are driven the same way, by the readiness of the
//! TCP socket: the connection's task asks which readiness to wait for,
//! reads what came, and writes what it can without blocking.

use std::io;

use tokio::io::{Interest, Ready};
use tokio::net::TcpStream;

/// A connection's byte stream, after its handshakes.
pub(crate) enum Transport {
    /// Plain TCP.
    Tcp(TcpStream),
    /// TLS over TCP: the socket and the TLS session that encrypts it.
    #[cfg(feature = "tls")]
    Tls(TcpStream, Box<rustls::Connection>),
}

impl Transport {
    /// Waits until the socket is ready for `interest`; at once, as
    /// readable, when TLS holds plain text it decrypted earlier (frames
    /// that came with the handshake's last record, or beyond what one read
    /// hands over) that no readiness of the socket would announce.
    pub(crate) async fn ready(&mut self, interest: Interest) -> io::Result<Ready> {
        #[cfg(feature = "tls")]
        if let Transport::Tls(_, session) = self {
            let held = session
                .process_new_packets()
                .map_or(true, |state| state.plaintext_bytes_to_read() > 0);
            if held && interest.is_readable() {
                return Ok(Ready::READABLE);
            }
            // Records the session made since the interest was chosen (an
            // alert, an answer to a key update): out at once.
            if session.wants_write() && !interest.is_writable() {
                return Ok(Ready::WRITABLE);
            }
        }
        self.socket().ready(interest).await
    }

    fn socket(&self) -> &TcpStream {
        match self {
            Transport::Tcp(socket) => socket,
            #[cfg(feature = "tls")]
            Transport::Tls(socket, _) => socket,
        }
    }

    /// Whether bytes the stream took are still to be written to the socket
    /// (TLS records it made of them).
    pub(crate) fn has_pending(&self) -> bool {
        match self {
            Transport::Tcp(_) => false,
            #[cfg(feature = "tls")]
            Transport::Tls(_, session) => session.wants_write(),
        }
    }

    /// Writes what the stream holds that the socket takes now.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        match self {
            Transport::Tcp(_) => Ok(()),
            #[cfg(feature = "tls")]
            Transport::Tls(socket, session) => tls::flush(socket, session),
        }
    }

    /// Reads what came, appending it to `buffer`: how many bytes, 0 when
    /// the peer closed the stream; `WouldBlock` when nothing came.
    pub(crate) fn try_read_buf(&mut self, buffer: &mut Vec<u8>) -> io::Result<usize> {
        match self {
            Transport::Tcp(socket) => socket.try_read_buf(buffer),
            #[cfg(feature = "tls")]
            Transport::Tls(socket, session) => tls::read(socket, session, buffer),
        }
    }

    /// Writes from `bytes` what can be written now: how many it took;
    /// `WouldBlock` when it takes none.
    pub(crate) fn try_write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Tcp(socket) => socket.try_write(bytes),
            #[cfg(feature = "tls")]
            Transport::Tls(socket, session) => tls::write(socket, session, bytes),
        }
    }
}

#[cfg(feature = "tls")]
mod tls {
    use std::io::{self, Read, Write};

    use tokio::net::TcpStream;

    /// The socket as blocking I/O that says `WouldBlock`, which is what rustls
    /// reads records from and writes them to.
    struct NonBlocking<'a>(&'a TcpStream);

    impl Read for NonBlocking<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.0.try_read(buf)
        }
    }

    impl Write for NonBlocking<'_> {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.try_write(buf)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// How many bytes of plain text one read hands over at most.
    const READ_AT_MOST: usize = 64 * 1024;

    pub(super) fn flush(socket: &TcpStream, session: &mut rustls::Connection) -> io::Result<()> {
        while session.wants_write() {
            match session.write_tls(&mut NonBlocking(socket)) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    pub(super) fn write(
        socket: &TcpStream,
        session: &mut rustls::Connection,
        bytes: &[u8],
    ) -> io::Result<usize> {
        flush(socket, session)?;
        // The session takes plain text up to its buffer's limit, as records.
        let taken = session.writer().write(bytes)?;
        flush(socket, session)?;
        if taken == 0 && !bytes.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(taken)
    }

    /// Appends the plain text the session holds to `buffer`: how much.
    fn take_plaintext(session: &mut rustls::Connection, buffer: &mut Vec<u8>) -> io::Result<usize> {
        let held = session
            .process_new_packets()
            .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))?
            .plaintext_bytes_to_read();
        if held > 0 {
            let from = buffer.len();
            buffer.resize(from + held, 0);
            session.reader().read_exact(&mut buffer[from..])?;
        }
        Ok(held)
    }

    pub(super) fn read(
        socket: &TcpStream,
        session: &mut rustls::Connection,
        buffer: &mut Vec<u8>,
    ) -> io::Result<usize> {
        // Plain text the session holds already goes first: it takes no
        // more records while it holds too much.
        let mut got = take_plaintext(session, buffer)?;
        let mut ended = false;
        loop {
            let mut drained = false;
            match session.read_tls(&mut NonBlocking(socket)) {
                Ok(0) => ended = true,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => drained = true,
                Err(e) => return Err(e),
            }
            let state = match session.process_new_packets() {
                Ok(state) => state,
                Err(error) => {
                    // The alert that says why goes to the peer first.
                    let _ = flush(socket, session);
                    return Err(io::Error::new(io::ErrorKind::InvalidData, error));
                }
            };
            got += take_plaintext(session, buffer)?;
            ended |= state.peer_has_closed();
            if ended || drained || got >= READ_AT_MOST {
                break;
            }
        }
        // What the session answers by itself (a key update) goes out.
        flush(socket, session)?;
        match got {
            0 if ended => Ok(0),
            0 => Err(io::ErrorKind::WouldBlock.into()),
            got => Ok(got),
        }
    }
}
