//! The most common message read without decoding all of it: a send to a
//! registered name (`REG_SEND`, what `gen_server:cast({Name, Node}, ...)`
//! and `{Name, Node} ! Msg` send), of whose control message fauxtp needs
//! only the name, and the `{'$gen_cast', Request}` around a cast's request.
//!
//! Decoded whole, the control message `{6, From, '', Name}` is a
//! tuple and three atoms, each an allocation, and the cast's tuple two
//! more, all made on the connection's thread and freed on the server's.
//! Read in place, they are none: the name is the atom cache's (or, from a
//! peer without the cache, one allocation).
//!
//! These readers only recognise: whatever they do not read exactly (another
//! control message, another shape, a Latin-1 atom beyond ASCII) goes the
//! general way: checked, then decoded whole.

use std::sync::Arc;

use eetf::Term;

use crate::gen::__private::CastRequest;

use super::tags::*;
use super::HeaderAtoms;

/// A message a frame carries, as far as it was read in place.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Message {
    /// A term.
    Term(Term),
    /// The request of a `{'$gen_cast', Request}`; the tuple around it was
    /// not built.
    Cast(Term),
    /// The request of a `{'$gen_cast', {Handler, Arg...}}` (or of a bare
    /// `Handler`), read in parts: the handler's name in place, each
    /// argument a term. Neither the request's tuple nor its atom was made.
    CastParts(CastRequest),
}

impl Message {
    /// The term as it came: a cast's tuple built again around its request.
    pub(crate) fn into_term(self) -> Term {
        match self {
            Message::Term(term) => term,
            Message::Cast(request) => cast_tuple(request),
            Message::CastParts(request) => cast_tuple(request.into_term()),
        }
    }
}

fn cast_tuple(request: Term) -> Term {
    Term::from(eetf::Tuple::from(vec![
        Term::from(eetf::Atom::from("$gen_cast")),
        request,
    ]))
}

/// An atom at the front of some bytes: one of the header's (cached), or
/// written in full.
enum AtomAt<'a> {
    Cached(&'a Arc<str>),
    Inline(&'a str),
}

impl AtomAt<'_> {
    fn text(&self) -> &str {
        match self {
            AtomAt::Cached(atom) => atom,
            AtomAt::Inline(text) => text,
        }
    }

    fn into_arc(self) -> Arc<str> {
        match self {
            AtomAt::Cached(atom) => atom.clone(),
            AtomAt::Inline(text) => Arc::from(text),
        }
    }
}

/// Reads the atom at the front of `bytes`, whose cache references are
/// `atoms`: the atom and its length. `None` for anything else, and for a
/// Latin-1 atom beyond ASCII (left to the decoder, which converts it).
fn atom<'a, A: HeaderAtoms + ?Sized>(bytes: &'a [u8], atoms: &'a A) -> Option<(AtomAt<'a>, usize)> {
    let (len, at, utf8) = match *bytes.first()? {
        ATOM_CACHE_REF => {
            let atom = atoms.atom_at(usize::from(*bytes.get(1)?))?;
            return Some((AtomAt::Cached(atom), 2));
        }
        SMALL_ATOM_UTF8_EXT => (usize::from(*bytes.get(1)?), 2, true),
        SMALL_ATOM_EXT => (usize::from(*bytes.get(1)?), 2, false),
        ATOM_UTF8_EXT => (
            usize::from(u16::from_be_bytes(*bytes.get(1..3)?.first_chunk()?)),
            3,
            true,
        ),
        ATOM_EXT => (
            usize::from(u16::from_be_bytes(*bytes.get(1..3)?.first_chunk()?)),
            3,
            false,
        ),
        _ => return None,
    };
    let text = bytes.get(at..at + len)?;
    if !utf8 && !text.is_ascii() {
        return None;
    }
    let text = std::str::from_utf8(text).ok()?;
    Some((AtomAt::Inline(text), at + len))
}

/// The length of the pid at the front of `bytes`, if there is one.
fn pid_len<A: HeaderAtoms + ?Sized>(bytes: &[u8], atoms: &A) -> Option<usize> {
    let numbers = match *bytes.first()? {
        NEW_PID_EXT => 12,
        PID_EXT => 9,
        _ => return None,
    };
    let (_, node) = atom(bytes.get(1..)?, atoms)?;
    let len = 1 + node + numbers;
    (bytes.len() >= len).then_some(len)
}

/// Reads a `REG_SEND`'s control message, `{6, From, Unused, Name}`, at the
/// front of `bytes` (a term without its version byte, whose cache
/// references are `atoms`): the name, and the control message's length.
/// `None` for any other control message, or one of another shape.
pub(super) fn reg_send<A: HeaderAtoms + ?Sized>(
    bytes: &[u8],
    atoms: &A,
) -> Option<(Arc<str>, usize)> {
    let [SMALL_TUPLE_EXT, 4, SMALL_INTEGER_EXT, op, ..] = *bytes else {
        return None;
    };
    if i32::from(op) != crate::control::op::REG_SEND {
        return None;
    }
    let mut at = 4;
    at += pid_len(bytes.get(at..)?, atoms)?;
    at += atom(bytes.get(at..)?, atoms)?.1;
    let (name, len) = atom(bytes.get(at..)?, atoms)?;
    Some((name.into_arc(), at + len))
}

/// Where the request starts, if `bytes` (a term without its version byte)
/// are a cast's `{'$gen_cast', Request}`.
pub(super) fn cast_request<A: HeaderAtoms + ?Sized>(bytes: &[u8], atoms: &A) -> Option<usize> {
    let [SMALL_TUPLE_EXT, 2, ..] = *bytes else {
        return None;
    };
    let (kind, len) = atom(&bytes[2..], atoms)?;
    (kind.text() == "$gen_cast").then_some(2 + len)
}

/// A cast's request of the shape `{Handler, Arg...}` or `Handler` at the
/// front of `bytes`: the handler's name, where its arguments start, how
/// many there are, and whether it is the atom alone.
pub(super) fn cast_handler<A: HeaderAtoms + ?Sized>(
    bytes: &[u8],
    atoms: &A,
) -> Option<(Arc<str>, usize, usize, bool)> {
    if let Some((name, len)) = atom(bytes, atoms) {
        return Some((name.into_arc(), len, 0, true));
    }
    let [SMALL_TUPLE_EXT, arity, ..] = *bytes else {
        return None;
    };
    if arity == 0 {
        return None;
    }
    let (name, len) = atom(&bytes[2..], atoms)?;
    Some((name.into_arc(), 2 + len, usize::from(arity) - 1, false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{write_atom, write_reg_send_control, PidParts, NO_ATOMS};

    fn pid(node: &str) -> PidParts<'_> {
        PidParts {
            node,
            id: 7,
            serial: 0,
            creation: 3,
        }
    }

    #[test]
    fn a_reg_send_is_read_in_place_to_its_name_and_length() {
        let mut bytes = Vec::new();
        assert!(write_reg_send_control(&mut bytes, &pid("a@h"), "sink"));
        let control_len = bytes.len();
        bytes.extend_from_slice(&[SMALL_INTEGER_EXT, 1]);
        let (name, len) = reg_send(&bytes, NO_ATOMS).expect("read in place");
        assert_eq!((&*name, len), ("sink", control_len));
        // Every prefix is too short: refused, never read past the end.
        for end in 0..control_len {
            assert!(reg_send(&bytes[..end], NO_ATOMS).is_none(), "{end} bytes");
        }
    }

    #[test]
    fn cached_atoms_are_read_as_the_header_has_them() {
        let atoms: Vec<Arc<str>> = vec![Arc::from("a@h"), Arc::from(""), Arc::from("sink")];
        let mut bytes = vec![SMALL_TUPLE_EXT, 4, SMALL_INTEGER_EXT, 6];
        bytes.extend_from_slice(&[NEW_PID_EXT, ATOM_CACHE_REF, 0]);
        bytes.extend_from_slice(&[0; 12]);
        bytes.extend_from_slice(&[ATOM_CACHE_REF, 1, ATOM_CACHE_REF, 2]);
        let (name, len) = reg_send(&bytes, &atoms[..]).expect("read in place");
        assert_eq!((&*name, len), ("sink", bytes.len()));
        assert!(
            Arc::ptr_eq(&name, &atoms[2]),
            "the cache's atom, not a copy"
        );
        // A reference past the header's is refused.
        *bytes.last_mut().unwrap() = 3;
        assert!(reg_send(&bytes, &atoms[..]).is_none());
    }

    #[test]
    fn other_shapes_are_left_to_the_general_path() {
        // Another operation: SEND, `{2, '', To}`.
        let mut send = vec![SMALL_TUPLE_EXT, 3, SMALL_INTEGER_EXT, 2];
        assert!(write_atom(&mut send, ""));
        assert!(reg_send(&send, NO_ATOMS).is_none());
        // A name in Latin-1 beyond ASCII: the decoder converts it.
        let mut latin1 = Vec::new();
        assert!(write_reg_send_control(&mut latin1, &pid("a@h"), "x"));
        let at = latin1.len() - 3;
        latin1.truncate(at);
        latin1.extend_from_slice(&[SMALL_ATOM_EXT, 2, b'x', 0xe9]);
        assert!(reg_send(&latin1, NO_ATOMS).is_none());
        // The same name in ASCII is read.
        *latin1.last_mut().unwrap() = b'y';
        assert_eq!(&*reg_send(&latin1, NO_ATOMS).unwrap().0, "xy");
        // A sender that is not a pid.
        let mut odd = vec![SMALL_TUPLE_EXT, 4, SMALL_INTEGER_EXT, 6];
        for _ in 0..3 {
            assert!(write_atom(&mut odd, "x"));
        }
        assert!(reg_send(&odd, NO_ATOMS).is_none());
    }

    #[test]
    fn a_cast_is_recognised_by_its_tuple() {
        let mut cast = vec![SMALL_TUPLE_EXT, 2];
        assert!(write_atom(&mut cast, "$gen_cast"));
        let at = cast.len();
        cast.extend_from_slice(&[SMALL_INTEGER_EXT, 1]);
        assert_eq!(cast_request(&cast, NO_ATOMS), Some(at));
        let cached = [SMALL_TUPLE_EXT, 2, ATOM_CACHE_REF, 0, SMALL_INTEGER_EXT, 1];
        assert_eq!(
            cast_request(&cached, &[Arc::from("$gen_cast")][..]),
            Some(4)
        );
        assert_eq!(cast_request(&cached, &[Arc::from("$gen_call")][..]), None);
        let mut three = cast.clone();
        three[1] = 3;
        assert_eq!(cast_request(&three, NO_ATOMS), None);
    }
}
