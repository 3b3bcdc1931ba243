//! Frames of a distribution connection, after the handshake.
//!
//! Each frame is a 4-byte big-endian length, then that many bytes: none for
//! a tick, else the pass-through tag 112, the control message as an external
//! term (with its own version byte 131), and for some control messages a
//! second term, the payload. Peers may also send frames with a
//! distribution header instead of the tag: an atom cache and fragments
//! (see [`header`]). fauxtp writes pass-through frames, and large messages
//! in fragments to peers that take them.
//!
//! A frame is read whole before it is decoded, so a frame that does not
//! decode is an error for that frame only: the connection goes on with the
//! next one.

mod check;
mod decode;
mod encode;
mod header;
mod in_place;
mod tags;

use std::io::Read;
use std::sync::Arc;

use eetf::Term;

use tags::{
    ATOM_CACHE_REF, ATOM_UTF8_EXT, NEW_PID_EXT, SMALL_ATOM_UTF8_EXT, SMALL_INTEGER_EXT,
    SMALL_TUPLE_EXT,
};

pub(crate) use check::check_term;
pub(crate) use encode::CachedAtoms;
pub(crate) use header::{write_fragment, AtomCacheOut, Head, Incoming, FRAGMENT_SIZE};
pub(crate) use in_place::Message;

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
    /// A message to a registered name (`REG_SEND`) whose control message
    /// was read in place ([`in_place`]): the name, and the message. The
    /// sender's pid, which fauxtp does not use, is not read.
    ToName { name: Arc<str>, message: Message },
}

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FrameError {
    /// The length prefix is beyond [`MAX_FRAME`]; the connection cannot be
    /// trusted to be in step any more.
    #[error("frame of {0} bytes is larger than the limit")]
    TooLarge(usize),
    /// This frame was read whole but does not hold what it should; the
    /// connection can go on.
    #[error("malformed frame: {0}")]
    Malformed(String),
}

/// What the front of the bytes read so far holds.
pub(crate) enum Split {
    /// Not a whole frame yet: more bytes are needed.
    Partial,
    /// A whole frame, `taken` bytes with its length: the frame (`None` for
    /// a fragment of a message not whole yet), or why it does not decode.
    Whole {
        taken: usize,
        frame: Result<Option<Frame>, FrameError>,
    },
}

/// The first frame of `bytes`, if they hold a whole one; an error if the
/// connection cannot go on. `incoming` is what earlier frames left: the
/// peer's atom cache and the fragments of messages not whole yet.
pub(crate) fn split_frame(bytes: &[u8], incoming: &mut Incoming) -> Result<Split, FrameError> {
    let Some((len, rest)) = bytes.split_first_chunk::<4>() else {
        return Ok(Split::Partial);
    };
    let len = u32::from_be_bytes(*len) as usize;
    if len > MAX_FRAME {
        return Err(FrameError::TooLarge(len));
    }
    Ok(match rest.get(..len) {
        Some(body) => Split::Whole {
            taken: 4 + len,
            frame: match decode_body(body, incoming) {
                Err(FrameError::TooLarge(held)) => return Err(FrameError::TooLarge(held)),
                frame => frame,
            },
        },
        None => Split::Partial,
    })
}

/// Decodes the bytes of a frame after its length; `None` for a fragment
/// of a message that is not whole yet.
pub(crate) fn decode_body(
    bytes: &[u8],
    incoming: &mut Incoming,
) -> Result<Option<Frame>, FrameError> {
    let rest = match bytes {
        [] => return Ok(Some(Frame::Tick)),
        [PASS_THROUGH, rest @ ..] => rest,
        [131, ..] => return incoming.read(bytes),
        [tag, ..] => {
            return Err(FrameError::Malformed(format!(
                "tag {tag}, expected {PASS_THROUGH} (pass-through) or a distribution header"
            )))
        }
    };
    // Each term is checked before it is decoded (see `check`).
    let control_len =
        check_term(rest).map_err(|e| FrameError::Malformed(format!("control message: {e}")))?;
    let (control, payload) = rest.split_at(control_len);
    let decoded = |what: &str, term: &[u8]| {
        decode::decode_term(&term[1..], NO_ATOMS)
            .map(|(term, _)| term)
            .map_err(|e| FrameError::Malformed(format!("{what}: {e}")))
    };
    let control = decoded("control message", control)?;
    let payload = match payload {
        [] => None,
        payload => {
            let len =
                check_term(payload).map_err(|e| FrameError::Malformed(format!("payload: {e}")))?;
            if len != payload.len() {
                return Err(FrameError::Malformed(
                    "bytes left after the payload".to_owned(),
                ));
            }
            Some(decoded("payload", payload)?)
        }
    };
    Ok(Some(Frame::Message { control, payload }))
}

/// The atoms of a header's cache references, by index: read from the
/// connection's cache where they are, without a copy of each per message.
trait HeaderAtoms {
    /// How many references the header has.
    fn count(&self) -> usize;
    /// The atom of reference `index`.
    fn atom_at(&self, index: usize) -> Option<&Arc<str>>;
}

impl HeaderAtoms for [Arc<str>] {
    fn count(&self) -> usize {
        self.len()
    }
    fn atom_at(&self, index: usize) -> Option<&Arc<str>> {
        self.get(index)
    }
}

/// A header without references, for terms that have none.
const NO_ATOMS: &[Arc<str>] = &[];

/// Decodes one term with eetf (the rare terms [`decode`] leaves to it), a
/// panic inside eetf included as an error (the shape was checked, so none
/// is expected).
fn decode(reader: &mut impl Read) -> Result<Term, String> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Term::decode(&mut *reader))) {
        Ok(Ok(term)) => Ok(term),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the term decoder failed".to_owned()),
    }
}

/// How messages to one peer are framed. A peer that negotiated the atom
/// cache or fragments takes only frames with a distribution header (OTP
/// refuses pass-through frames from it and drops the connection).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// The pass-through tag, then terms with their version bytes.
    PassThrough,
    /// A distribution header of no atom cache references (`131, 68, 0`),
    /// then terms without version bytes.
    Header,
}

impl Framing {
    /// The bytes of a frame of this framing before its first term.
    pub(crate) const fn prefix(self) -> &'static [u8] {
        match self {
            Framing::PassThrough => &[PASS_THROUGH],
            Framing::Header => &[131, 68, 0],
        }
    }

    /// Appends `term` as this framing has terms; false if it cannot be
    /// written.
    fn write_term(self, term: &Term, bytes: &mut Vec<u8>) -> bool {
        match self {
            Framing::PassThrough => term.encode(bytes).is_ok(),
            Framing::Header => term
                .encode(&mut WithoutVersion { bytes, first: true })
                .is_ok(),
        }
    }
}

/// The payload of a message to a process: a term, or a term in the
/// `{'$gen_cast', Request}` of a cast, written without building that
/// tuple (a cast's request is not copied into one).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Payload<'a> {
    Term(&'a Term),
    Cast(&'a Term),
}

impl<'a> Payload<'a> {
    /// Appends the payload without its version byte, its atoms as
    /// references into `atoms` where there is room; false if it cannot be
    /// written.
    fn write_cached(self, bytes: &mut Vec<u8>, atoms: &mut CachedAtoms<'a>) -> bool {
        match self {
            Payload::Term(term) => encode::write_term(term, bytes, atoms),
            Payload::Cast(request) => {
                bytes.extend_from_slice(&[SMALL_TUPLE_EXT, 2]);
                atoms.write_atom(bytes, "$gen_cast") && encode::write_term(request, bytes, atoms)
            }
        }
    }

    /// Appends the payload as `framing` has terms; false if it cannot be
    /// written.
    pub(crate) fn write(self, framing: Framing, bytes: &mut Vec<u8>) -> bool {
        match self {
            Payload::Term(term) => framing.write_term(term, bytes),
            Payload::Cast(request) => {
                if framing == Framing::PassThrough {
                    bytes.push(131);
                }
                bytes.extend_from_slice(&[SMALL_TUPLE_EXT, 2]);
                write_atom(bytes, "$gen_cast") && Framing::Header.write_term(request, bytes)
            }
        }
    }
}

/// Writes a term without the version byte that eetf writes first.
struct WithoutVersion<'a> {
    bytes: &'a mut Vec<u8>,
    first: bool,
}

impl std::io::Write for WithoutVersion<'_> {
    #[inline]
    fn write(&mut self, mut buf: &[u8]) -> std::io::Result<usize> {
        let len = buf.len();
        if self.first && !buf.is_empty() {
            self.first = false;
            buf = &buf[1..];
        }
        self.bytes.extend_from_slice(buf);
        Ok(len)
    }

    #[inline]
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.write(buf).map(|_| ())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Encodes a frame, length included; `None` if a term cannot be written
/// (an atom too long once in UTF-8, say: some come from peers), or for a
/// message read in place, which has lost its sender.
#[cfg(test)]
pub(crate) fn encode(frame: &Frame, framing: Framing) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    match frame {
        Frame::Tick => bytes.extend_from_slice(&[0, 0, 0, 0]),
        Frame::Message { control, payload } => {
            encode_into(&mut bytes, framing, control, payload.as_ref()).then_some(())?
        }
        Frame::ToName { .. } => return None,
    }
    Some(bytes)
}

/// Appends a frame of `control` and `payload` if it has one, length
/// included; false, with `bytes` as they were, if a term cannot be written.
pub(crate) fn encode_into(
    bytes: &mut Vec<u8>,
    framing: Framing,
    control: &Term,
    payload: Option<&Term>,
) -> bool {
    let start = bytes.len();
    bytes.extend_from_slice(&[0, 0, 0, 0]);
    bytes.extend_from_slice(framing.prefix());
    let written = framing.write_term(control, bytes)
        && payload.is_none_or(|payload| framing.write_term(payload, bytes));
    finish_frame(bytes, start, written)
}

/// Appends a frame of `control` and `payload`, length included; false,
/// with `bytes` as they were, if a term cannot be written.
pub(crate) fn encode_message_into(
    bytes: &mut Vec<u8>,
    framing: Framing,
    control: &Term,
    payload: Payload<'_>,
) -> bool {
    let start = bytes.len();
    bytes.extend_from_slice(&[0, 0, 0, 0]);
    bytes.extend_from_slice(framing.prefix());
    let written = framing.write_term(control, bytes) && payload.write(framing, bytes);
    finish_frame(bytes, start, written)
}

/// Puts the length of the frame begun at `start` in its first 4 bytes, if
/// it was `written` whole and fits; else takes it back out.
pub(crate) fn finish_frame(bytes: &mut Vec<u8>, start: usize, written: bool) -> bool {
    match u32::try_from(bytes.len() - start - 4) {
        Ok(len) if written => {
            bytes[start..start + 4].copy_from_slice(&len.to_be_bytes());
            true
        }
        _ => {
            bytes.truncate(start);
            false
        }
    }
}

/// A pid of this node by its parts, written without building a term.
pub(crate) struct PidParts<'a> {
    pub(crate) node: &'a str,
    pub(crate) id: u32,
    pub(crate) serial: u32,
    pub(crate) creation: u32,
}

impl PidParts<'_> {
    /// Appends what `NEW_PID_EXT` has after the node: id, serial, creation.
    fn write_numbers(&self, bytes: &mut Vec<u8>) {
        bytes.extend_from_slice(&self.id.to_be_bytes());
        bytes.extend_from_slice(&self.serial.to_be_bytes());
        bytes.extend_from_slice(&self.creation.to_be_bytes());
    }
}

/// Appends a `REG_SEND` frame, `{6, From, '', To}` and `payload`, length
/// included, writing the control message's bytes directly: every send and
/// cast by name goes this way, and building its terms was three
/// allocations. The bytes are eetf's for the same terms. False, with
/// `bytes` as they were, if a name or the payload cannot be written.
pub(crate) fn encode_reg_send_into(
    bytes: &mut Vec<u8>,
    framing: Framing,
    from: &PidParts<'_>,
    to: &str,
    payload: Payload<'_>,
) -> bool {
    let start = bytes.len();
    bytes.extend_from_slice(&[0, 0, 0, 0]);
    match framing {
        Framing::PassThrough => bytes.extend_from_slice(&[PASS_THROUGH, 131]),
        Framing::Header => bytes.extend_from_slice(Framing::Header.prefix()),
    }
    let written = write_reg_send_control(bytes, from, to) && payload.write(framing, bytes);
    finish_frame(bytes, start, written)
}

/// Appends `{6, From, '', To}` without its version byte, its atoms in
/// full; false if `to` is too long for an atom (what was written stays).
pub(crate) fn write_reg_send_control(bytes: &mut Vec<u8>, from: &PidParts<'_>, to: &str) -> bool {
    bytes.extend_from_slice(&[SMALL_TUPLE_EXT, 4]);
    bytes.extend_from_slice(&[SMALL_INTEGER_EXT, crate::control::op::REG_SEND as u8]);
    bytes.push(NEW_PID_EXT);
    write_atom(bytes, from.node) && {
        from.write_numbers(bytes);
        write_atom(bytes, "") && write_atom(bytes, to)
    }
}

/// Appends the terms of a `REG_SEND` for a header whose atom cache
/// references are `atoms` (see [`AtomCacheOut`]), 0, 1 and 2 being the
/// sender's node, `''` and the name it is sent to: `{6, From, '', To}`
/// with those references, then `payload`, whose atoms join `atoms` (see
/// [`CachedAtoms`]). False, with `bytes` as they were, if the payload
/// cannot be written.
pub(crate) fn encode_reg_send_terms<'a>(
    bytes: &mut Vec<u8>,
    from: &PidParts<'_>,
    payload: Payload<'a>,
    atoms: &mut CachedAtoms<'a>,
) -> bool {
    let start = bytes.len();
    bytes.extend_from_slice(&[SMALL_TUPLE_EXT, 4, SMALL_INTEGER_EXT]);
    bytes.extend_from_slice(&[crate::control::op::REG_SEND as u8, NEW_PID_EXT]);
    bytes.extend_from_slice(&[ATOM_CACHE_REF, 0]);
    from.write_numbers(bytes);
    bytes.extend_from_slice(&[ATOM_CACHE_REF, 1, ATOM_CACHE_REF, 2]);
    let written = payload.write_cached(bytes, atoms);
    if !written {
        bytes.truncate(start);
    }
    written
}

/// Appends the terms of a frame for a header whose atom cache references
/// are `atoms` (see [`AtomCacheOut`]): `control`, then `payload` if there
/// is one, their atoms joining `atoms` (see [`CachedAtoms`]). False, with
/// `bytes` as they were, if a term cannot be written.
pub(crate) fn encode_terms<'a>(
    bytes: &mut Vec<u8>,
    control: &'a Term,
    payload: Option<Payload<'a>>,
    atoms: &mut CachedAtoms<'a>,
) -> bool {
    let start = bytes.len();
    let written = encode::write_term(control, bytes, atoms)
        && payload.is_none_or(|payload| payload.write_cached(bytes, atoms));
    if !written {
        bytes.truncate(start);
    }
    written
}

/// Writes an atom as eetf does: `SMALL_ATOM_UTF8_EXT` up to 255 bytes,
/// `ATOM_UTF8_EXT` up to 65,535; false beyond.
pub(super) fn write_atom(bytes: &mut Vec<u8>, name: &str) -> bool {
    if let Ok(len) = u8::try_from(name.len()) {
        bytes.extend_from_slice(&[SMALL_ATOM_UTF8_EXT, len]);
    } else if let Ok(len) = u16::try_from(name.len()) {
        bytes.push(ATOM_UTF8_EXT);
        bytes.extend_from_slice(&len.to_be_bytes());
    } else {
        return false;
    }
    bytes.extend_from_slice(name.as_bytes());
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use eetf::{Atom, FixInteger, Tuple};

    fn tuple(elements: Vec<Term>) -> Term {
        Term::from(Tuple::from(elements))
    }

    /// The frames in `wire`, and the bytes left after them.
    fn split_all(mut wire: &[u8]) -> (Vec<Result<Frame, FrameError>>, &[u8]) {
        let mut frames = Vec::new();
        let mut incoming = Incoming::default();
        while let Split::Whole { taken, frame } = split_frame(wire, &mut incoming).unwrap() {
            frames.push(frame.map(|frame| frame.expect("not a fragment")));
            wire = &wire[taken..];
        }
        (frames, wire)
    }

    #[test]
    fn frames_round_trip() {
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
        // Where each frame ends; both framings, in turn.
        let mut ends = Vec::new();
        for framing in [Framing::PassThrough, Framing::Header] {
            for frame in &frames {
                wire.extend(encode(frame, framing).unwrap());
                ends.push(wire.len());
            }
        }
        let frames = [frames.clone(), frames].concat();
        // Cut anywhere, the bytes before the cut give the whole frames in
        // them, and leave the rest for later.
        for cut in 0..=wire.len() {
            let (read, left) = split_all(&wire[..cut]);
            let whole = ends.iter().filter(|end| **end <= cut).count();
            assert_eq!(read.len(), whole, "cut at {cut}");
            let taken = if whole == 0 { 0 } else { ends[whole - 1] };
            assert_eq!(left.len(), cut - taken);
            for (read, frame) in read.iter().zip(&frames) {
                assert_eq!(read.as_ref().unwrap(), frame);
            }
        }
        let (read, left) = split_all(&wire);
        assert_eq!(read.len(), frames.len());
        assert!(left.is_empty());
    }

    #[test]
    fn a_malformed_frame_is_an_error_for_itself_only() {
        let mut wire = vec![0, 0, 0, 3, 112, 131, 255];
        wire.extend(encode(&Frame::Tick, Framing::PassThrough).unwrap());
        wire.extend([0, 0, 0, 2, 113, 0]);
        let (read, left) = split_all(&wire);
        assert!(left.is_empty());
        assert!(matches!(read[0], Err(FrameError::Malformed(_))));
        assert_eq!(read[1].as_ref().unwrap(), &Frame::Tick);
        assert!(matches!(read[2], Err(FrameError::Malformed(_))));

        assert!(matches!(
            split_frame(&[255, 255, 255, 255], &mut Incoming::default()),
            Err(FrameError::TooLarge(_))
        ));
    }

    /// Bytes a decoder would panic on, or allocate or recurse without
    /// bound for: each is a malformed frame, nothing worse.
    #[test]
    fn terms_that_cannot_be_taken_safely_are_refused() {
        let frames: Vec<Vec<u8>> = vec![
            vec![112, 131, 68, 0],                        // a distribution header
            vec![112, 131, 104, 1, 82, 0],                // an atom cache reference
            vec![112, 131, 105, 255, 255, 255, 255],      // a tuple of 2^32 - 1 elements
            vec![112, 131, 108, 255, 255, 255, 255, 106], // a list as long
            vec![112, 131, 116, 0, 0, 0, 9, 106],         // a map of 9 pairs in 1 byte
            [vec![112, 131], [104u8, 1].repeat(100_000), vec![106]].concat(), // nested too deep
            vec![112, 131, 109, 0, 0, 0, 9, 1],           // a binary cut short
            vec![112, 131, 80, 0, 0, 0, 1, 0],            // compressed
        ];
        for bytes in frames {
            match decode_body(&bytes, &mut Incoming::default()) {
                Err(FrameError::Malformed(_)) => {}
                other => panic!("{bytes:?}: {other:?}"),
            }
        }
        // Nested, but within bounds, still reads.
        let nested = [vec![112, 131], [104u8, 1].repeat(100), vec![106]].concat();
        assert!(decode_body(&nested, &mut Incoming::default()).is_ok());
        // 511 tuples deep is the most taken.
        for (depth, taken) in [(511, true), (512, false)] {
            let nested = [vec![112, 131], [104u8, 1].repeat(depth), vec![106]].concat();
            let read = decode_body(&nested, &mut Incoming::default());
            assert_eq!(read.is_ok(), taken, "{depth} deep: {read:?}");
        }
    }

    /// A term whose levels each have more to read after a deep one: what
    /// is left at each level is kept however deep the term goes.
    #[test]
    fn a_deep_term_with_elements_after_each_level_reads_whole() {
        let mut term = Term::from(Atom::from("leaf"));
        for n in 0..300 {
            term = tuple(vec![term, Term::from(eetf::FixInteger::from(n))]);
        }
        let mut bytes = vec![112, 131];
        term.encode(&mut bytes).unwrap();
        bytes.remove(2); // encode writes its own version byte
        match decode_body(&bytes, &mut Incoming::default()) {
            Ok(Some(Frame::Message { control, .. })) => assert_eq!(control, term),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn what_fauxtp_writes_passes_the_check() {
        use eetf::{Pid, Reference};
        let term = tuple(vec![
            Term::from(Pid::new("a@b", 1, 2, 3)),
            Term::from(Reference {
                node: Atom::from("a@b"),
                id: vec![1, 2, 3],
                creation: 4,
            }),
            Term::from(eetf::List::from(vec![Term::from(FixInteger::from(
                1_000_000,
            ))])),
            Term::from(eetf::Binary::from(vec![1, 2, 3])),
            Term::from(eetf::Float::try_from(1.5).unwrap()),
            Term::from(eetf::BigInteger::from(u64::MAX)),
            Term::from(eetf::Map::from([(
                Term::from(Atom::from("k")),
                Term::from(Atom::from("v")),
            )])),
        ]);
        let frame = Frame::Message {
            control: term.clone(),
            payload: Some(term),
        };
        for framing in [Framing::PassThrough, Framing::Header] {
            let bytes = encode(&frame, framing).unwrap();
            assert_eq!(
                decode_body(&bytes[4..], &mut Incoming::default()).unwrap(),
                Some(frame.clone())
            );
        }
    }

    #[test]
    fn a_message_written_from_borrowed_terms_is_the_frame_of_those_terms() {
        let control = tuple(vec![
            Term::from(FixInteger::from(2)),
            Term::from(Atom::from("")),
            Term::from(eetf::Pid::new("a@b", 1, 2, 3)),
        ]);
        let payload = Term::from(eetf::Binary::from(vec![7; 300]));
        for framing in [Framing::PassThrough, Framing::Header] {
            let mut borrowed = Vec::new();
            assert!(encode_message_into(
                &mut borrowed,
                framing,
                &control,
                Payload::Term(&payload)
            ));
            let frame = Frame::Message {
                control: control.clone(),
                payload: Some(payload.clone()),
            };
            assert_eq!(borrowed, encode(&frame, framing).unwrap(), "{framing:?}");
        }
    }

    #[test]
    fn a_cast_written_around_its_request_is_the_tuple_of_the_cast() {
        let request = tuple(vec![
            Term::from(Atom::from("data")),
            Term::from(eetf::Binary::from(vec![1, 2, 3])),
        ]);
        let cast = tuple(vec![Term::from(Atom::from("$gen_cast")), request.clone()]);
        for framing in [Framing::PassThrough, Framing::Header] {
            let (mut around, mut whole) = (Vec::new(), Vec::new());
            assert!(Payload::Cast(&request).write(framing, &mut around));
            assert!(Payload::Term(&cast).write(framing, &mut whole));
            assert_eq!(around, whole, "{framing:?}");
        }
    }

    #[test]
    fn a_reg_send_written_directly_is_what_the_terms_make() {
        let payload = tuple(vec![
            Term::from(eetf::Atom::from("$gen_cast")),
            tuple(vec![
                Term::from(eetf::Atom::from("data")),
                Term::from(eetf::FixInteger::from(7)),
            ]),
        ]);
        let long = "n".repeat(300);
        let names = [
            ("rust@localhost", "counter"),
            ("rust_node_with_a_long_name@host.example.com", "é名前"),
            ("a@b", long.as_str()),
        ];
        let framings = [Framing::PassThrough, Framing::Header];
        for ((node, to), framing) in names.into_iter().flat_map(|n| framings.map(|f| (n, f))) {
            let from = PidParts {
                node,
                id: 1 << 20,
                serial: 1 << 31,
                creation: 0x1234_5678,
            };
            let mut direct = vec![9, 9];
            assert!(encode_reg_send_into(
                &mut direct,
                framing,
                &from,
                to,
                Payload::Term(&payload)
            ));
            let control = crate::control::Control::RegSend {
                from: eetf::Pid::new(node, from.id, from.serial, from.creation),
                to: eetf::Atom::from(to),
            };
            let mut terms = vec![9, 9];
            assert!(encode_into(
                &mut terms,
                framing,
                &control.encode(),
                Some(&payload)
            ));
            assert_eq!(direct, terms, "{to} {framing:?}");
        }
        // With the atoms as cache references: the control message and the
        // payload read back through the atoms the references name, a cast
        // as the tuple around its request.
        let from = PidParts {
            node: "a@b",
            id: 1,
            serial: 0,
            creation: 1,
        };
        let control = crate::control::Control::RegSend {
            from: eetf::Pid::new("a@b", 1, 0, 1),
            to: eetf::Atom::from("sink"),
        }
        .encode();
        let cast = Term::from(Tuple::from(vec![
            Term::from(Atom::from("$gen_cast")),
            payload.clone(),
        ]));
        for (sent, expected) in [
            (Payload::Term(&payload), &payload),
            (Payload::Cast(&payload), &cast),
        ] {
            let mut terms = Vec::new();
            let mut atoms = CachedAtoms::new(&["a@b", "", "sink"]);
            assert!(encode_reg_send_terms(&mut terms, &from, sent, &mut atoms));
            let atoms: Vec<Arc<str>> = atoms.as_slice().iter().map(|a| Arc::from(*a)).collect();
            let (read, used) = decode::decode_term(&terms, &atoms[..]).unwrap();
            assert_eq!(read, control);
            let (read, rest) = decode::decode_term(&terms[used..], &atoms[..]).unwrap();
            assert_eq!((&read, used + rest), (expected, terms.len()));
        }
        // A name too long for an atom is refused, and nothing is written.
        let mut bytes = vec![1];
        let from = PidParts {
            node: "a@b",
            id: 1,
            serial: 0,
            creation: 1,
        };
        assert!(!encode_reg_send_into(
            &mut bytes,
            Framing::Header,
            &from,
            &"x".repeat(70_000),
            Payload::Term(&payload)
        ));
        assert_eq!(bytes, vec![1]);
    }
}
