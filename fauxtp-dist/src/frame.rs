//! Frames of a distribution connection, after the handshake.
//!
//! Each frame is a 4-byte big-endian length, then that many bytes: none for
//! a tick, else the pass-through tag 112, the control message as an external
//! term (with its own version byte 131), and for some control messages a
//! second term, the payload. fauxtp does not negotiate the atom cache
//! (`DIST_HDR_ATOM_CACHE`) or fragments, so peers send only pass-through
//! frames.
//!
//! A frame is read whole before it is decoded, so a frame that does not
//! decode is an error for that frame only: the connection goes on with the
//! next one.

use std::io::Cursor;

use eetf::Term;
use tokio::io::{AsyncRead, AsyncReadExt};

/// The tag of a frame that is not compressed with the atom cache.
const PASS_THROUGH: u8 = 112;

/// The largest frame fauxtp reads: larger ones end the connection (a peer
/// that sends them is broken, or not a peer).
pub(crate) const MAX_FRAME: usize = 64 * 1024 * 1024;

/// One frame read from a peer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Frame {
    /// Keeps the connection alive; says nothing else.
    Tick,
    /// A control message, and the payload that some carry.
    Message {
        control: Term,
        payload: Option<Term>,
    },
}

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FrameError {
    /// The connection failed or closed; nothing more can be read.
    #[error("connection lost: {0}")]
    Io(#[from] std::io::Error),
    /// The length prefix is beyond [`MAX_FRAME`]; the connection cannot be
    /// trusted to be in step any more.
    #[error("frame of {0} bytes is larger than the limit")]
    TooLarge(usize),
    /// This frame was read whole but does not hold what it should; the
    /// connection can go on.
    #[error("malformed frame: {0}")]
    Malformed(String),
}

impl FrameError {
    /// Whether the connection can go on after this error.
    pub(crate) fn is_fatal(&self) -> bool {
        !matches!(self, FrameError::Malformed(_))
    }
}

/// Reads the next frame.
pub(crate) async fn read_frame<R: AsyncRead + Unpin>(reader: &mut R) -> Result<Frame, FrameError> {
    let len = reader.read_u32().await? as usize;
    if len == 0 {
        return Ok(Frame::Tick);
    }
    if len > MAX_FRAME {
        return Err(FrameError::TooLarge(len));
    }
    let mut bytes = vec![0; len];
    reader.read_exact(&mut bytes).await?;
    decode_body(&bytes)
}

/// Decodes the bytes of a frame after its length.
pub(crate) fn decode_body(bytes: &[u8]) -> Result<Frame, FrameError> {
    let Some((&tag, rest)) = bytes.split_first() else {
        return Ok(Frame::Tick);
    };
    if tag != PASS_THROUGH {
        return Err(FrameError::Malformed(format!(
            "tag {tag}, expected {PASS_THROUGH} (pass-through)"
        )));
    }
    let mut cursor = Cursor::new(rest);
    let control = Term::decode(&mut cursor)
        .map_err(|e| FrameError::Malformed(format!("control message: {e}")))?;
    let payload = if (cursor.position() as usize) < rest.len() {
        let payload = Term::decode(&mut cursor)
            .map_err(|e| FrameError::Malformed(format!("payload: {e}")))?;
        Some(payload)
    } else {
        None
    };
    if (cursor.position() as usize) != rest.len() {
        return Err(FrameError::Malformed(
            "bytes left after the payload".to_owned(),
        ));
    }
    Ok(Frame::Message { control, payload })
}

/// Encodes a frame, length included.
pub(crate) fn encode(frame: &Frame) -> Vec<u8> {
    let mut bytes = vec![0, 0, 0, 0];
    if let Frame::Message { control, payload } = frame {
        bytes.push(PASS_THROUGH);
        encode_term(control, &mut bytes);
        if let Some(payload) = payload {
            encode_term(payload, &mut bytes);
        }
    }
    let len = u32::try_from(bytes.len() - 4).unwrap_or(u32::MAX);
    bytes[..4].copy_from_slice(&len.to_be_bytes());
    bytes
}

fn encode_term(term: &Term, out: &mut Vec<u8>) {
    // Writing into a Vec cannot fail on I/O; eetf fails only on terms it
    // cannot represent, which fauxtp never builds.
    if let Err(e) = term.encode(&mut *out) {
        unreachable!("a term fauxtp built does not encode: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eetf::{Atom, FixInteger, Tuple};

    fn tuple(elements: Vec<Term>) -> Term {
        Term::from(Tuple::from(elements))
    }

    #[tokio::test]
    async fn frames_round_trip() {
        let frames = [
            Frame::Tick,
            Frame::Message {
                control: tuple(vec![
                    Term::from(FixInteger::from(6)),
                    Term::from(Atom::from("x")),
                ]),
                payload: Some(Term::from(Atom::from("hello"))),
            },
            Frame::Message {
                control: tuple(vec![Term::from(FixInteger::from(5))]),
                payload: None,
            },
        ];
        let mut wire = Vec::new();
        for frame in &frames {
            wire.extend(encode(frame));
        }
        let mut reader = &wire[..];
        for frame in &frames {
            assert_eq!(&read_frame(&mut reader).await.unwrap(), frame);
        }
        assert!(read_frame(&mut reader).await.unwrap_err().is_fatal());
    }

    #[tokio::test]
    async fn a_malformed_frame_is_an_error_for_itself_only() {
        let mut wire = vec![0, 0, 0, 3, 112, 131, 255];
        wire.extend(encode(&Frame::Tick));
        let mut reader = &wire[..];
        let error = read_frame(&mut reader).await.unwrap_err();
        assert!(!error.is_fatal(), "{error}");
        assert_eq!(read_frame(&mut reader).await.unwrap(), Frame::Tick);

        let mut reader = &[0, 0, 0, 2, 113, 0][..];
        assert!(!read_frame(&mut reader).await.unwrap_err().is_fatal());

        let mut reader = &[255, 255, 255, 255][..];
        assert!(matches!(
            read_frame(&mut reader).await,
            Err(FrameError::TooLarge(_))
        ));
    }
}
