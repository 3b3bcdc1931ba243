//! The distribution header, both ways: the atom cache a peer fills and
//! refers to (`DIST_HDR_ATOM_CACHE`), and messages in fragments
//! (`FRAGMENTS`).
//!
//! A frame that starts with 131 and 68 (`D`) carries a header whose atom
//! cache references the terms after it use (`ATOM_CACHE_REF`, tag 82),
//! and those terms have no version byte of their own. A message larger
//! than a fragment comes as a frame with 69 (`E`), the header of the whole
//! message and its first bytes, then frames with 70 (`F`), each the next
//! bytes, numbered down to 1. Fragments of several messages may come
//! between each other, so each message in progress is kept by its
//! sequence number.
//!
//! The atoms of a header's new entries go into the cache when the header
//! is read, even when it begins a fragmented message: later messages may
//! refer to them before that one is whole.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::Arc;

use eetf::Term;

use super::in_place::{self, Message};
use super::{decode, Frame, FrameError, HeaderAtoms};
use crate::gen::__private::{CastArgs, CastRequest};

/// The version byte of the external format.
const VERSION: u8 = 131;
/// A frame with a distribution header: one whole message.
const DIST_HEADER: u8 = 68;
/// The first fragment of a message: its header and first bytes.
const DIST_FRAG_HEADER: u8 = 69;
/// A later fragment of a message.
const DIST_FRAG_CONT: u8 = 70;
/// How many atoms a peer's cache holds: 8 segments of 256.
const CACHE_SIZE: usize = 2048;

/// How many bytes of a message go in one fragment, as OTP's
/// `ERTS_DIST_FRAGMENT_SIZE`.
pub(crate) const FRAGMENT_SIZE: usize = 64 * 1024;

/// How many bytes of messages not yet whole a connection keeps, all
/// sequences together; a peer that sends more ends the connection, as one
/// that sends a frame larger than [`super::MAX_FRAME`].
pub(crate) const MAX_PARTIAL: usize = 256 * 1024 * 1024;

/// What a connection's reader keeps between frames: the atoms the peer
/// put in its cache, and its messages that are still coming in fragments.
pub(crate) struct Incoming {
    cache: Box<[Option<Arc<str>>]>,
    partial: HashMap<u64, Partial>,
    /// The bytes held in `partial`.
    partial_bytes: usize,
    /// The cache slot of each reference of the header being read. Kept
    /// here rather than made for each frame.
    refs: Vec<u16>,
    /// The atom of each reference, for a header in which a reference put
    /// another atom in a slot that an earlier one of it used (`owned`):
    /// then the slots no longer say what the earlier reference was.
    atoms: Vec<Arc<str>>,
    owned: bool,
    /// The last header read, from its count to its last reference, if it
    /// put nothing in the cache: `refs` holds its slots. A stream of
    /// messages of one kind comes with the same header each time, and one
    /// that begins with these bytes has these slots.
    repeat: Vec<u8>,
}

/// The atoms of a header's references, read from the cache.
struct InCache<'a> {
    refs: &'a [u16],
    cache: &'a [Option<Arc<str>>],
}

impl HeaderAtoms for InCache<'_> {
    fn count(&self) -> usize {
        self.refs.len()
    }
    fn atom_at(&self, index: usize) -> Option<&Arc<str>> {
        self.cache[usize::from(*self.refs.get(index)?)].as_ref()
    }
}

/// A message whose last fragment has not come yet.
struct Partial {
    /// The number the next fragment must have.
    next: u64,
    /// The atoms of its header's references, as they were when it came.
    atoms: Vec<Arc<str>>,
    bytes: Vec<u8>,
}

impl Default for Incoming {
    fn default() -> Self {
        Incoming {
            cache: vec![None; CACHE_SIZE].into_boxed_slice(),
            partial: HashMap::new(),
            partial_bytes: 0,
            refs: Vec::with_capacity(255),
            atoms: Vec::new(),
            owned: false,
            repeat: Vec::new(),
        }
    }
}

impl Incoming {
    /// Reads a frame that starts with the version byte: a whole message,
    /// or a fragment (`None` until its message is whole). `TooLarge` when
    /// the fragments held would pass [`MAX_PARTIAL`].
    pub(super) fn read(&mut self, bytes: &[u8]) -> Result<Option<Frame>, FrameError> {
        let malformed = |e: String| FrameError::Malformed(e);
        match bytes {
            [VERSION, DIST_HEADER, rest @ ..] => {
                let used = self.read_refs(rest).map_err(malformed)?;
                match self.owned {
                    false => decode_terms(&rest[used..], &self.in_cache()),
                    true => decode_terms(&rest[used..], &self.atoms[..]),
                }
                .map(Some)
            }
            [VERSION, DIST_FRAG_HEADER, rest @ ..] => {
                let (sequence, count, rest) = fragment_numbers(rest)?;
                let used = self.read_refs(rest).map_err(malformed)?;
                let chunk = &rest[used..];
                if count == 0 {
                    return Err(malformed("a message of 0 fragments".to_owned()));
                }
                let atoms = self.header_atoms();
                if count == 1 {
                    return decode_terms(chunk, &atoms[..]).map(Some);
                }
                hold(&mut self.partial_bytes, chunk.len())?;
                // Room for the whole message, as far as the first fragment
                // can be believed about its size.
                let whole = (count as usize).saturating_mul(chunk.len());
                let mut bytes = Vec::with_capacity(whole.min(16 * 1024 * 1024));
                bytes.extend_from_slice(chunk);
                let partial = Partial {
                    next: count - 1,
                    atoms,
                    bytes,
                };
                if let Some(old) = self.partial.insert(sequence, partial) {
                    self.partial_bytes -= old.bytes.len();
                    return Err(malformed(format!("message {sequence} begun twice")));
                }
                Ok(None)
            }
            [VERSION, DIST_FRAG_CONT, rest @ ..] => {
                let (sequence, id, chunk) = fragment_numbers(rest)?;
                let Entry::Occupied(mut entry) = self.partial.entry(sequence) else {
                    return Err(malformed(format!(
                        "a fragment of message {sequence}, not begun"
                    )));
                };
                if entry.get().next != id {
                    let dropped = entry.remove();
                    self.partial_bytes -= dropped.bytes.len();
                    return Err(malformed(format!(
                        "fragment {id} of message {sequence}, expected {}",
                        dropped.next
                    )));
                }
                hold(&mut self.partial_bytes, chunk.len())?;
                let partial = entry.get_mut();
                partial.bytes.extend_from_slice(chunk);
                if id > 1 {
                    partial.next -= 1;
                    return Ok(None);
                }
                let partial = entry.remove();
                self.partial_bytes -= partial.bytes.len();
                decode_terms(&partial.bytes, &partial.atoms[..]).map(Some)
            }
            [VERSION, tag, ..] => Err(malformed(format!(
                "a distribution header of kind {tag}, which fauxtp does not read"
            ))),
            _ => Err(malformed("truncated distribution header".to_owned())),
        }
    }

    /// Reads the atom cache references of a header, from its count on:
    /// puts new entries in the cache and the slot of each reference in
    /// `refs` (and, once the header puts a new atom in a slot an earlier
    /// reference of it used, the atom of each in `atoms`), and returns how
    /// many bytes the references took.
    fn read_refs(&mut self, bytes: &[u8]) -> Result<usize, String> {
        if !self.repeat.is_empty() && bytes.starts_with(&self.repeat) {
            return Ok(self.repeat.len());
        }
        self.repeat.clear();
        let truncated = || "truncated distribution header".to_owned();
        self.refs.clear();
        self.atoms.clear();
        self.owned = false;
        let refs = *bytes.first().ok_or_else(truncated)? as usize;
        if refs == 0 {
            return Ok(1);
        }
        // A half byte of flags per reference, and one more (long atoms).
        let flags = bytes.get(1..2 + refs / 2).ok_or_else(truncated)?;
        let flag = |i: usize| (flags[i / 2] >> ((i % 2) * 4)) & 0xf;
        let long_atoms = flag(refs) & 1 != 0;
        let mut at = 1 + flags.len();
        // Whether this header puts an atom in the cache.
        let mut fresh = false;
        let mut take = |n: usize| -> Result<&[u8], String> {
            let taken = bytes.get(at..at + n).ok_or_else(truncated)?;
            at += n;
            Ok(taken)
        };
        for i in 0..refs {
            let segment = (flag(i) & 7) as usize;
            let slot = segment * 256 + take(1)?[0] as usize;
            if flag(i) & 8 != 0 {
                fresh = true;
                let len = match long_atoms {
                    true => u16::from_be_bytes([take(1)?[0], take(1)?[0]]) as usize,
                    false => take(1)?[0] as usize,
                };
                let text = std::str::from_utf8(take(len)?)
                    .map_err(|_| "an atom cache entry that is not UTF-8".to_owned())?;
                if self.cache[slot].as_deref() != Some(text) {
                    // An earlier reference of this header read the atom
                    // this one replaces: from here on, each reference
                    // keeps its atom.
                    if !self.owned && self.refs.contains(&(slot as u16)) {
                        self.atoms = self.header_atoms();
                        self.owned = true;
                    }
                    self.cache[slot] = Some(Arc::from(text));
                }
            }
            match &self.cache[slot] {
                Some(atom) if self.owned => self.atoms.push(atom.clone()),
                Some(_) => {}
                None => return Err(format!("atom cache slot {slot} used before it was filled")),
            }
            self.refs.push(slot as u16);
        }
        if !fresh {
            self.repeat.extend_from_slice(&bytes[..at]);
        }
        Ok(at)
    }

    /// The header's references, read from the cache.
    fn in_cache(&self) -> InCache<'_> {
        InCache {
            refs: &self.refs,
            cache: &self.cache,
        }
    }

    /// The atom of each of the header's references so far, as a vector
    /// of their own (a message in fragments keeps them until its last).
    fn header_atoms(&self) -> Vec<Arc<str>> {
        if self.owned {
            return self.atoms.clone();
        }
        let refs = self.in_cache();
        (0..refs.count())
            .filter_map(|i| refs.atom_at(i).cloned())
            .collect()
    }
}

/// Counts `more` bytes of fragments in `held`; `TooLarge` past the limit
/// (the connection ends, and with it what is held).
fn hold(held: &mut usize, more: usize) -> Result<(), FrameError> {
    *held += more;
    if *held > MAX_PARTIAL {
        return Err(FrameError::TooLarge(*held));
    }
    Ok(())
}

/// The sequence and fragment numbers at the front of a fragment, and the
/// bytes after them.
fn fragment_numbers(bytes: &[u8]) -> Result<(u64, u64, &[u8]), FrameError> {
    let truncated = || FrameError::Malformed("truncated fragment header".to_owned());
    let (sequence, rest) = bytes.split_first_chunk::<8>().ok_or_else(truncated)?;
    let (id, rest) = rest.split_first_chunk::<8>().ok_or_else(truncated)?;
    Ok((u64::from_be_bytes(*sequence), u64::from_be_bytes(*id), rest))
}

/// Decodes the control message, and the payload if there is one, that
/// follow a distribution header: terms without version bytes, which may
/// refer to the header's atom cache references (`atoms`). A message to a
/// registered name is read in place ([`in_place`]).
fn decode_terms<A: HeaderAtoms + ?Sized>(bytes: &[u8], atoms: &A) -> Result<Frame, FrameError> {
    let malformed = |what: &str, e: String| FrameError::Malformed(format!("{what}: {e}"));
    let decode = |bytes: &[u8]| decode_term(bytes, atoms);
    let left_over = || FrameError::Malformed("bytes left after the payload".to_owned());
    if let Some((name, len)) = in_place::reg_send(bytes, atoms) {
        let payload = &bytes[len..];
        if !payload.is_empty() {
            let (message, used) = match in_place::cast_request(payload, atoms) {
                Some(at) => match in_place::cast_handler(&payload[at..], atoms) {
                    Some((handler, len, arity, bare)) => {
                        let mut used = at + len;
                        let mut arg = || -> Result<Term, FrameError> {
                            let (arg, len) =
                                decode(&payload[used..]).map_err(|e| malformed("payload", e))?;
                            used += len;
                            Ok(arg)
                        };
                        let args = match arity {
                            0 => CastArgs::None,
                            1 => CastArgs::One(arg()?),
                            n => CastArgs::Many((0..n).map(|_| arg()).collect::<Result<_, _>>()?),
                        };
                        let request = CastRequest::new(handler, args, bare);
                        (Message::CastParts(request), used)
                    }
                    None => {
                        let (request, used) =
                            decode(&payload[at..]).map_err(|e| malformed("payload", e))?;
                        (Message::Cast(request), at + used)
                    }
                },
                None => {
                    let (term, used) = decode(payload).map_err(|e| malformed("payload", e))?;
                    (Message::Term(term), used)
                }
            };
            if used != payload.len() {
                return Err(left_over());
            }
            return Ok(Frame::ToName { name, message });
        }
    }
    let (control, len) = decode(bytes).map_err(|e| malformed("control message", e))?;
    let payload = match &bytes[len..] {
        [] => None,
        rest => {
            let (payload, used) = decode(rest).map_err(|e| malformed("payload", e))?;
            if used != rest.len() {
                return Err(left_over());
            }
            Some(payload)
        }
    };
    Ok(Frame::Message { control, payload })
}

/// Decodes one term without its version byte, which may refer to the
/// header's atom cache references (`atoms`), and returns its length (the
/// decoder checks as it reads).
fn decode_term<A: HeaderAtoms + ?Sized>(bytes: &[u8], atoms: &A) -> Result<(Term, usize), String> {
    decode::decode_term(bytes, atoms)
}

/// How many slots of a peer's cache this node uses, as OTP's
/// `ERTS_USE_ATOM_CACHE_SIZE` (a prime, for the hash).
const CACHE_SLOTS_USED: usize = 2039;

/// The atoms this node has put in a peer's atom cache, slot by slot. The
/// peer's cache holds the same, as long as headers are written in the
/// order the peer reads them: the queue's lock orders both.
pub(crate) struct AtomCacheOut {
    slots: Box<[Option<Box<str>>]>,
    /// Headers written lately that put nothing new in the cache, most
    /// recent at `next - 1`: a stream of messages of one kind writes the
    /// same header again and again, and one of these is copied while
    /// each of its slots still holds its atom.
    recent: [Recent; RECENT_HEADERS],
    next: usize,
}

/// How many headers [`AtomCacheOut`] keeps to write again.
const RECENT_HEADERS: usize = 4;

/// A header that referred to cached entries only.
#[derive(Default)]
struct Recent {
    /// The slot of each reference, in order.
    slots: Vec<u16>,
    /// What the header has after its count of references: flags, then
    /// the references.
    refs: Vec<u8>,
}

impl Default for AtomCacheOut {
    fn default() -> Self {
        AtomCacheOut {
            slots: vec![None; CACHE_SLOTS_USED].into_boxed_slice(),
            recent: Default::default(),
            next: 0,
        }
    }
}

impl AtomCacheOut {
    /// Appends a distribution header whose references are `atoms`, in
    /// order: a cached reference where an atom's slot holds it, else a new
    /// entry, which its slot holds from then on. Two atoms of one header
    /// never share a slot. False, with nothing written, if there are more
    /// than 255 atoms or one is longer than 65,535 bytes.
    pub(crate) fn write_header(&mut self, bytes: &mut Vec<u8>, atoms: &[&str]) -> bool {
        if !refs_fit(atoms) {
            return false;
        }
        bytes.extend_from_slice(&[VERSION, DIST_HEADER]);
        self.write_refs(bytes, atoms);
        true
    }

    /// Appends a header's references to `atoms`, from their count on, as
    /// [`write_header`](Self::write_header) does; `atoms` must fit
    /// ([`refs_fit`]).
    fn write_refs(&mut self, bytes: &mut Vec<u8>, atoms: &[&str]) {
        let n = atoms.len();
        bytes.push(n as u8);
        if n == 0 {
            return;
        }
        if let Some(recent) = self.recent_for(atoms) {
            bytes.extend_from_slice(&recent.refs);
            return;
        }
        let start = bytes.len();
        let long_atoms = atoms.iter().any(|atom| atom.len() > 255);
        let flags = bytes.len();
        bytes.resize(flags + n / 2 + 1, 0);
        let nibble = |bytes: &mut Vec<u8>, i: usize, value: u8| {
            bytes[flags + i / 2] |= value << ((i % 2) * 4);
        };
        // The slots this header's atoms take, in order. Only the first `n`
        // are read; the array is small (510 bytes), so that filling it
        // costs next to nothing beside the header.
        let mut taken = [0u16; 255];
        // Whether this header puts an atom in the cache.
        let mut fresh = false;
        for (i, atom) in atoms.iter().enumerate() {
            let mut slot = slot_of(atom);
            // Another atom of this header holds the slot: the next one.
            while taken[..i]
                .iter()
                .zip(atoms)
                .any(|(s, a)| *s as usize == slot && a != atom)
            {
                slot = (slot + 1) % CACHE_SLOTS_USED;
            }
            taken[i] = slot as u16;
            let new = self.slots[slot].as_deref() != Some(*atom);
            fresh |= new;
            nibble(bytes, i, (slot / 256) as u8 | if new { 8 } else { 0 });
            bytes.push((slot % 256) as u8);
            if new {
                match long_atoms {
                    true => bytes.extend_from_slice(&(atom.len() as u16).to_be_bytes()),
                    false => bytes.push(atom.len() as u8),
                }
                bytes.extend_from_slice(atom.as_bytes());
                self.slots[slot] = Some(Box::from(*atom));
            }
        }
        if long_atoms {
            nibble(bytes, n, 1);
        }
        if !fresh {
            let recent = &mut self.recent[self.next];
            self.next = (self.next + 1) % RECENT_HEADERS;
            recent.slots.clear();
            recent.slots.extend_from_slice(&taken[..n]);
            recent.refs.clear();
            recent.refs.extend_from_slice(&bytes[start..]);
        }
    }

    /// A recent header whose slots hold `atoms`, in order, today.
    fn recent_for(&self, atoms: &[&str]) -> Option<&Recent> {
        (1..=RECENT_HEADERS)
            .map(|back| &self.recent[(self.next + RECENT_HEADERS - back) % RECENT_HEADERS])
            .find(|recent| {
                recent.slots.len() == atoms.len()
                    && recent.slots.iter().zip(atoms).all(|(&slot, atom)| {
                        self.slots[usize::from(slot)].as_deref() == Some(*atom)
                    })
            })
    }
}

/// Whether a header can refer to `atoms`: at most 255 of them, none
/// longer than 65,535 bytes.
fn refs_fit(atoms: &[&str]) -> bool {
    atoms.len() <= 255 && atoms.iter().all(|atom| atom.len() <= usize::from(u16::MAX))
}

/// The home slot of an atom: FNV-1a of its text.
fn slot_of(atom: &str) -> usize {
    let hash = atom.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    (hash % CACHE_SLOTS_USED as u64) as usize
}

/// Which fragment of a message [`write_fragment`] writes, and the first's
/// header.
pub(crate) enum Head<'h> {
    /// The first, with a header of no atom cache references.
    First,
    /// The first, with a header whose references are these atoms, made
    /// through the peer's cache: the references of the whole message, as
    /// OTP writes them.
    FirstCached(&'h mut AtomCacheOut, &'h [&'h str]),
    /// A later one.
    Later,
}

/// Appends one fragment of a message, length included. `id` counts down
/// to 1 on the last; the first has the number of fragments. False, with
/// nothing written, if the first's references do not fit in a header
/// (more than 255 atoms, or one longer than 65,535 bytes).
pub(crate) fn write_fragment(
    bytes: &mut Vec<u8>,
    sequence: u64,
    id: u64,
    head: Head<'_>,
    chunk: &[u8],
) -> bool {
    if let Head::FirstCached(_, atoms) = &head {
        if !refs_fit(atoms) {
            return false;
        }
    }
    let start = bytes.len();
    bytes.extend_from_slice(&[0; 4]);
    bytes.push(VERSION);
    bytes.push(match head {
        Head::Later => DIST_FRAG_CONT,
        _ => DIST_FRAG_HEADER,
    });
    bytes.extend_from_slice(&sequence.to_be_bytes());
    bytes.extend_from_slice(&id.to_be_bytes());
    match head {
        Head::First => bytes.push(0),
        Head::FirstCached(cache, atoms) => cache.write_refs(bytes, atoms),
        Head::Later => {}
    }
    bytes.extend_from_slice(chunk);
    let len = u32::try_from(bytes.len() - start - 4).expect("a fragment is small");
    bytes[start..start + 4].copy_from_slice(&len.to_be_bytes());
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{write_reg_send_control, PidParts};
    use eetf::{Atom, FixInteger, Tuple};

    /// One atom cache reference of a header: its slot, and its atom when
    /// the reference is a new entry.
    struct Ref<'a> {
        slot: u16,
        new: Option<&'a str>,
    }

    /// A distribution header's references, from their count on.
    fn refs(refs: &[Ref<'_>], long_atoms: bool) -> Vec<u8> {
        let mut bytes = vec![refs.len() as u8];
        if refs.is_empty() {
            return bytes;
        }
        let mut flags = vec![0u8; refs.len() / 2 + 1];
        let mut set = |i: usize, nibble: u8| flags[i / 2] |= nibble << ((i % 2) * 4);
        for (i, r) in refs.iter().enumerate() {
            set(
                i,
                (r.slot / 256) as u8 | if r.new.is_some() { 8 } else { 0 },
            );
        }
        set(refs.len(), u8::from(long_atoms));
        bytes.extend(flags);
        for r in refs {
            bytes.push((r.slot % 256) as u8);
            if let Some(text) = r.new {
                match long_atoms {
                    true => bytes.extend((text.len() as u16).to_be_bytes()),
                    false => bytes.push(text.len() as u8),
                }
                bytes.extend(text.as_bytes());
            }
        }
        bytes
    }

    /// `{6, Pid, '', Name}` with the node, `''` and the name as atom
    /// cache references 0, 1 and 2, and a payload `{'$gen_cast', Ref 3}`.
    fn reg_send_with_refs() -> Vec<u8> {
        let mut terms = vec![104, 4, 97, 6, 88, 82, 0];
        terms.extend([0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3]);
        terms.extend([82, 1, 82, 2]);
        terms.extend([104, 2, 119, 9]);
        terms.extend(b"$gen_cast");
        terms.extend([82, 3]);
        terms
    }

    /// What [`reg_send_with_refs`] reads as, read in place (the sender's
    /// pid is not read).
    fn expected_reg_send(name: &str, cast: &str) -> Frame {
        Frame::ToName {
            name: Arc::from(name),
            message: Message::CastParts(
                CastRequest::from_term(Term::from(Atom::from(cast))).unwrap(),
            ),
        }
    }

    fn header_frame(header: Vec<u8>, terms: &[u8]) -> Vec<u8> {
        [vec![VERSION, DIST_HEADER], header, terms.to_vec()].concat()
    }

    #[test]
    fn atoms_in_a_header_fill_the_cache_and_later_headers_use_them() {
        let mut incoming = Incoming::default();
        // Slots in several segments, even and odd places in the flags.
        let first = refs(
            &[
                Ref {
                    slot: 5,
                    new: Some("erl@host"),
                },
                Ref {
                    slot: 256 + 7,
                    new: Some(""),
                },
                Ref {
                    slot: 2047,
                    new: Some("counter"),
                },
                Ref {
                    slot: 1024,
                    new: Some("bump"),
                },
            ],
            false,
        );
        let frame = incoming.read(&header_frame(first, &reg_send_with_refs()));
        assert_eq!(frame.unwrap(), Some(expected_reg_send("counter", "bump")));
        // The same slots, cached, in another order of references; one
        // slot gets a new atom.
        let second = refs(
            &[
                Ref { slot: 5, new: None },
                Ref {
                    slot: 256 + 7,
                    new: None,
                },
                Ref {
                    slot: 1024,
                    new: Some("other"),
                },
                Ref {
                    slot: 2047,
                    new: None,
                },
            ],
            false,
        );
        let mut terms = reg_send_with_refs();
        // The name is reference 3 now, the cast reference 2.
        let len = terms.len();
        terms[len - 1] = 2;
        // After the tuple's head, the pid's node reference and numbers, and
        // the `''` reference: the name's index.
        terms[7 + 12 + 3] = 3;
        let frame = incoming.read(&header_frame(second, &terms));
        assert_eq!(frame.unwrap(), Some(expected_reg_send("counter", "other")));
    }

    /// Headers that put nothing in the cache, read again and again, each
    /// between others: each reads as its own references say, with the
    /// atoms the cache holds at the time.
    #[test]
    fn a_header_read_again_names_its_own_slots() {
        let mut incoming = Incoming::default();
        let cached = |slots: &[u16]| {
            let entries: Vec<Ref<'_>> = slots.iter().map(|&slot| Ref { slot, new: None }).collect();
            refs(&entries, false)
        };
        let fill = |atoms: &[(u16, &'static str)]| {
            let entries: Vec<Ref<'_>> = atoms
                .iter()
                .map(|&(slot, new)| Ref {
                    slot,
                    new: Some(new),
                })
                .collect();
            refs(&entries, false)
        };
        // `{Ref 0, Ref 1}`
        let pair = [104, 2, 82, 0, 82, 1];
        let mut read = |header: Vec<u8>| match incoming.read(&header_frame(header, &pair)) {
            Ok(Some(Frame::Message { control, .. })) => Some(control),
            Err(FrameError::Malformed(_)) => None,
            other => panic!("{other:?}"),
        };
        let expect = |a: &str, b: &str| {
            Some(Term::from(Tuple::from(vec![
                Term::from(Atom::from(a)),
                Term::from(Atom::from(b)),
            ])))
        };
        assert_eq!(
            read(fill(&[(1, "a"), (2, "b"), (258, "c")])),
            expect("a", "b")
        );
        assert_eq!(read(cached(&[1, 2])), expect("a", "b"));
        assert_eq!(read(cached(&[1, 2])), expect("a", "b"));
        // The same count and flags, another slot; then another segment.
        assert_eq!(read(cached(&[1, 258])), expect("a", "c"));
        assert_eq!(read(cached(&[1, 2])), expect("a", "b"));
        assert_eq!(read(cached(&[258, 2])), expect("c", "b"));
        assert_eq!(read(cached(&[1, 2])), expect("a", "b"));
        // A slot of it gets another atom; read again, it names that one.
        assert_eq!(read(fill(&[(2, "d"), (1, "a")])), expect("d", "a"));
        assert_eq!(read(cached(&[1, 2])), expect("a", "d"));
        assert_eq!(read(cached(&[1, 2])), expect("a", "d"));
        // A slot never filled is refused, after a header read again too.
        assert_eq!(read(cached(&[1, 3])), None);
        assert_eq!(read(cached(&[1, 2])), expect("a", "d"));
    }

    #[test]
    fn two_references_of_a_header_to_one_slot_keep_their_own_atoms() {
        let mut incoming = Incoming::default();
        let header = refs(
            &[
                Ref {
                    slot: 5,
                    new: Some("first"),
                },
                Ref {
                    slot: 5,
                    new: Some("second"),
                },
            ],
            false,
        );
        // `{Ref 0, Ref 1}`
        let frame = incoming.read(&header_frame(header, &[104, 2, 82, 0, 82, 1]));
        let pair = Term::from(Tuple::from(vec![
            Term::from(Atom::from("first")),
            Term::from(Atom::from("second")),
        ]));
        assert_eq!(
            frame.unwrap(),
            Some(Frame::Message {
                control: pair,
                payload: None
            })
        );
        // The slot keeps the last.
        let again = header_frame(refs(&[Ref { slot: 5, new: None }], false), &[82, 0]);
        assert_eq!(
            incoming.read(&again).unwrap(),
            Some(Frame::Message {
                control: Term::from(Atom::from("second")),
                payload: None
            })
        );
    }

    /// A header frame of no references: `{6, Pid, '', name}` and `payload`.
    fn reg_send_frame(name: &str, payload: &[u8]) -> Vec<u8> {
        let mut frame = vec![VERSION, DIST_HEADER, 0];
        let from = PidParts {
            node: "a@b",
            id: 1,
            serial: 0,
            creation: 1,
        };
        assert!(write_reg_send_control(&mut frame, &from, name));
        frame.extend_from_slice(payload);
        frame
    }

    #[test]
    fn messages_to_names_are_read_in_place_and_others_as_before() {
        let mut incoming = Incoming::default();
        let cast_of_7 = [
            104, 2, 119, 9, b'$', b'g', b'e', b'n', b'_', b'c', b'a', b's', b't', 97, 7,
        ];
        let read = incoming.read(&reg_send_frame("sink", &cast_of_7)).unwrap();
        let seven = Term::from(FixInteger::from(7));
        let cast = Frame::ToName {
            name: Arc::from("sink"),
            message: Message::Cast(seven.clone()),
        };
        assert_eq!(read, Some(cast));
        // A request of a handler and its arguments: read in parts.
        let mut cast_of_add = vec![104, 2, 119, 9];
        cast_of_add.extend(b"$gen_cast");
        cast_of_add.extend([104, 3, 119, 3, b'a', b'd', b'd', 97, 7, 106]);
        let read = incoming
            .read(&reg_send_frame("sink", &cast_of_add))
            .unwrap();
        let add = Term::from(eetf::Tuple::from(vec![
            Term::from(Atom::from("add")),
            seven.clone(),
            Term::from(eetf::List::nil()),
        ]));
        let Some(Frame::ToName {
            message: Message::CastParts(request),
            ..
        }) = read
        else {
            panic!("not read in parts: {read:?}");
        };
        assert_eq!((request.handler(), request.arity()), ("add", 2));
        assert_eq!(request.into_term(), add);
        // Not a cast: the message as it is.
        let read = incoming.read(&reg_send_frame("sink", &[97, 7])).unwrap();
        let term = Frame::ToName {
            name: Arc::from("sink"),
            message: Message::Term(seven.clone()),
        };
        assert_eq!(read, Some(term));
        // A cast with bytes after it, or a request that does not decode.
        for bad in [&[&cast_of_7[..], &[1]].concat(), &cast_of_7[..14]] {
            let read = incoming.read(&reg_send_frame("sink", bad));
            assert!(matches!(read, Err(FrameError::Malformed(_))), "{bad:?}");
        }
        // A `REG_SEND` without a payload goes the general way, which
        // hands the node the control message as it is.
        let read = incoming.read(&reg_send_frame("sink", &[])).unwrap();
        assert!(matches!(read, Some(Frame::Message { payload: None, .. })));
    }

    /// Frames written with an [`AtomCacheOut`] and read with an
    /// [`Incoming`], as two nodes would: each reads as the terms it holds.
    #[test]
    fn what_the_sending_cache_writes_the_reading_cache_reads() {
        let (mut out, mut incoming) = (AtomCacheOut::default(), Incoming::default());
        // Two atoms with the same home slot.
        let mut names = (0..).map(|n| format!("name_{n}"));
        let first = names.next().unwrap();
        let twin = names.find(|n| slot_of(n) == slot_of(&first)).unwrap();
        let long = "ü".repeat(200);
        let cases: [(&str, &str, &str); 9] = [
            ("erl@host", "counter", "bump"),
            ("erl@host", "counter", "bump"),
            ("erl@host", "counter", "bump"),
            ("erl@host", &first, &twin),
            ("erl@host", &first, &twin),
            // The twins change slots: the header just written again
            // would now name each one's slot for the other.
            ("erl@host", &twin, &first),
            ("erl@host", &first, &twin),
            ("erl@host", "counter", "bump"),
            ("erl@host", &long, "x"),
        ];
        let mut sizes = Vec::new();
        for (node, name, cast) in cases {
            let mut frame = Vec::new();
            assert!(out.write_header(&mut frame, &[node, "", name, cast]));
            frame.extend(reg_send_with_refs());
            sizes.push(frame.len());
            let read = incoming.read(&frame).unwrap();
            assert_eq!(read, Some(expected_reg_send(name, cast)), "{name}");
        }
        // The second time, the atoms are references only, and so they are
        // each later time while their slots hold them.
        assert!(sizes[1] < sizes[0] - "erl@host".len() - "counter".len());
        assert_eq!(sizes[2], sizes[1]);
        assert_eq!(sizes[7], sizes[1]);
        assert!(sizes[4] < sizes[3]);
        assert_eq!(sizes[6], sizes[3]);
        // More than 255 atoms, or one too long, is refused; nothing is
        // written, and the cache does not change.
        let mut frame = Vec::new();
        assert!(!out.write_header(&mut frame, &["a"; 256]));
        assert!(!out.write_header(&mut frame, &[&"a".repeat(70_000)]));
        assert!(frame.is_empty());
    }

    /// Thousands of headers written and read in turn, their atoms drawn
    /// from names that share home slots, so that entries replace each
    /// other and headers are often written and read again: each frame
    /// reads as the atoms it was written with.
    #[test]
    fn many_headers_read_as_written() {
        let (mut out, mut incoming) = (AtomCacheOut::default(), Incoming::default());
        // Names in groups of three that share a home slot, and a long one.
        let mut pool: Vec<String> = Vec::new();
        let mut names = (0..).map(|n| format!("n{n}"));
        while pool.len() < 24 {
            let first = names.next().unwrap();
            let home = slot_of(&first);
            let twins: Vec<String> = (0..)
                .map(|n| format!("t{n}_{first}"))
                .filter(|n| slot_of(n) == home)
                .take(2)
                .collect();
            pool.push(first);
            pool.extend(twins);
        }
        pool.push("ü".repeat(200));
        // A small generator, so that the sequence is the same every run.
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |below: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % below as u64) as usize
        };
        let mut recent: Vec<Vec<usize>> = Vec::new();
        for round in 0..5_000 {
            // Often a header of a few rounds ago, else a new draw.
            let picks = match next(3) {
                0 | 1 if !recent.is_empty() => recent[next(recent.len())].clone(),
                _ => {
                    let n = 1 + next(6);
                    let mut picks: Vec<usize> = Vec::new();
                    while picks.len() < n {
                        let pick = next(pool.len());
                        if !picks.contains(&pick) {
                            picks.push(pick);
                        }
                    }
                    picks
                }
            };
            if recent.len() == 8 {
                recent.remove(0);
            }
            recent.push(picks.clone());
            let atoms: Vec<&str> = picks.iter().map(|&i| pool[i].as_str()).collect();
            let mut frame = Vec::new();
            assert!(out.write_header(&mut frame, &atoms));
            // `{Ref 0, ..., Ref n-1}`
            frame.extend([104, atoms.len() as u8]);
            for i in 0..atoms.len() {
                frame.extend([82, i as u8]);
            }
            let expected = Term::from(Tuple::from(
                atoms
                    .iter()
                    .map(|a| Term::from(Atom::from(*a)))
                    .collect::<Vec<_>>(),
            ));
            let read = incoming.read(&frame).unwrap();
            assert_eq!(
                read,
                Some(Frame::Message {
                    control: expected,
                    payload: None
                }),
                "round {round}"
            );
        }
    }

    #[test]
    fn atoms_are_put_in_place_around_a_large_binary() {
        let mut incoming = Incoming::default();
        let header = refs(
            &[
                Ref {
                    slot: 1,
                    new: Some("before"),
                },
                Ref {
                    slot: 2,
                    new: Some(&"a".repeat(300)),
                },
            ],
            true,
        );
        let binary: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
        // `{Ref 0, Binary, Ref 1, Ref 0}`
        let mut terms = vec![104, 4, 82, 0, 109];
        terms.extend((binary.len() as u32).to_be_bytes());
        terms.extend(&binary);
        terms.extend([82, 1, 82, 0]);
        let expected = Term::from(Tuple::from(vec![
            Term::from(Atom::from("before")),
            Term::from(eetf::Binary::from(binary)),
            Term::from(Atom::from("a".repeat(300))),
            Term::from(Atom::from("before")),
        ]));
        assert_eq!(
            incoming.read(&header_frame(header, &terms)).unwrap(),
            Some(Frame::Message {
                control: expected,
                payload: None
            })
        );
    }

    #[test]
    fn long_atoms_are_read_with_two_byte_lengths() {
        let mut incoming = Incoming::default();
        let long = "é".repeat(255);
        let header = refs(
            &[
                Ref {
                    slot: 1,
                    new: Some("a@b"),
                },
                Ref {
                    slot: 2,
                    new: Some(""),
                },
                Ref {
                    slot: 3,
                    new: Some(&long),
                },
                Ref {
                    slot: 4,
                    new: Some("x"),
                },
            ],
            true,
        );
        let frame = incoming.read(&header_frame(header, &reg_send_with_refs()));
        assert_eq!(frame.unwrap(), Some(expected_reg_send(&long, "x")));
    }

    #[test]
    fn bad_references_drop_the_frame_only() {
        let mut incoming = Incoming::default();
        let cases: Vec<Vec<u8>> = vec![
            // A slot used before it was filled.
            header_frame(refs(&[Ref { slot: 9, new: None }], false), &[82, 0]),
            // A reference past the header's count.
            header_frame(
                refs(
                    &[Ref {
                        slot: 9,
                        new: Some("a"),
                    }],
                    false,
                ),
                &[82, 1],
            ),
            // A reference in a term with no header references.
            header_frame(refs(&[], false), &[82, 0]),
            // An atom that is not UTF-8.
            header_frame(vec![1, 8, 9, 1, 0xff], &[82, 0]),
            // Cut short in the flags, and in an atom.
            vec![VERSION, DIST_HEADER, 3, 0],
            vec![VERSION, DIST_HEADER, 1, 8, 0, 5, b'a'],
            // A kind of header fauxtp does not know.
            vec![VERSION, 71, 0],
        ];
        for bytes in cases {
            assert!(
                matches!(incoming.read(&bytes), Err(FrameError::Malformed(_))),
                "{bytes:?}"
            );
        }
        // The cache still works after them.
        let ok = header_frame(refs(&[Ref { slot: 9, new: None }], false), &[82, 0]);
        assert_eq!(
            incoming.read(&ok).unwrap(),
            Some(Frame::Message {
                control: Term::from(Atom::from("a")),
                payload: None
            })
        );
    }

    /// The fragments of a message whose terms are `terms`, as fauxtp
    /// writes them, without their lengths.
    fn fragments(sequence: u64, terms: &[u8]) -> Vec<Vec<u8>> {
        let chunks: Vec<&[u8]> = terms.chunks(FRAGMENT_SIZE).collect();
        let count = chunks.len() as u64;
        chunks
            .iter()
            .enumerate()
            .map(|(i, chunk)| {
                let mut bytes = Vec::new();
                let head = match i {
                    0 => Head::First,
                    _ => Head::Later,
                };
                assert!(write_fragment(
                    &mut bytes,
                    sequence,
                    count - i as u64,
                    head,
                    chunk
                ));
                let len = u32::from_be_bytes(bytes[..4].try_into().unwrap()) as usize;
                assert_eq!(len, bytes.len() - 4);
                bytes.split_off(4)
            })
            .collect()
    }

    /// `{2, '', To}` and a binary of `size` bytes, without version bytes.
    fn send_with_binary(size: usize, fill: u8) -> Vec<u8> {
        let mut terms = vec![104, 3, 97, 2, 119, 0, 119, 1, b't'];
        terms.push(109);
        terms.extend((size as u32).to_be_bytes());
        terms.extend(std::iter::repeat_n(fill, size));
        terms
    }

    fn binary_of(frame: Frame) -> Vec<u8> {
        match frame {
            Frame::Message {
                payload: Some(Term::Binary(binary)),
                ..
            } => binary.bytes,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn fragments_of_messages_in_between_each_other_make_each_message() {
        let mut incoming = Incoming::default();
        let a = fragments(1, &send_with_binary(3 * FRAGMENT_SIZE, 1));
        let b = fragments(2, &send_with_binary(FRAGMENT_SIZE + 10, 2));
        assert_eq!((a.len(), b.len()), (4, 2));
        let mut whole = Vec::new();
        for fragment in [&a[0], &b[0], &a[1], &a[2], &b[1], &a[3]] {
            if let Some(frame) = incoming.read(fragment).unwrap() {
                whole.push(binary_of(frame));
            }
        }
        assert_eq!(whole.len(), 2);
        assert_eq!(whole[0], vec![2; FRAGMENT_SIZE + 10]);
        assert_eq!(whole[1], vec![1; 3 * FRAGMENT_SIZE]);
        assert_eq!(incoming.partial_bytes, 0);
        // One fragment is a whole message.
        let c = fragments(3, &send_with_binary(10, 3));
        assert_eq!(
            binary_of(incoming.read(&c[0]).unwrap().unwrap()),
            vec![3; 10]
        );
    }

    #[test]
    fn fragments_out_of_order_or_of_no_message_are_dropped() {
        let mut incoming = Incoming::default();
        let a = fragments(1, &send_with_binary(3 * FRAGMENT_SIZE, 1));
        // A later fragment with no first one.
        assert!(matches!(
            incoming.read(&a[1]),
            Err(FrameError::Malformed(_))
        ));
        // A fragment skipped: the message goes.
        incoming.read(&a[0]).unwrap();
        assert!(matches!(
            incoming.read(&a[2]),
            Err(FrameError::Malformed(_))
        ));
        assert!(incoming.partial.is_empty());
        assert_eq!(incoming.partial_bytes, 0);
        // A fragment header cut short.
        assert!(matches!(
            incoming.read(&[VERSION, DIST_FRAG_CONT, 0, 1]),
            Err(FrameError::Malformed(_))
        ));
        // The message sent again is read.
        for (i, fragment) in a.iter().enumerate() {
            let frame = incoming.read(fragment).unwrap();
            assert_eq!(frame.is_some(), i == a.len() - 1);
        }
    }

    #[test]
    fn fragments_held_past_the_limit_end_the_connection() {
        let mut incoming = Incoming::default();
        let first = fragments(1, &send_with_binary(3 * FRAGMENT_SIZE, 1)).remove(0);
        let mut sequence = 0;
        let error = loop {
            sequence += 1;
            let mut fragment = first.clone();
            fragment[2..10].copy_from_slice(&u64::to_be_bytes(sequence));
            match incoming.read(&fragment) {
                Ok(None) => {}
                other => break other,
            }
        };
        assert!(matches!(error, Err(FrameError::TooLarge(_))), "{error:?}");
        // Each first fragment holds a fragment's worth of bytes.
        assert_eq!(sequence as usize, MAX_PARTIAL / FRAGMENT_SIZE + 1);
    }
}
