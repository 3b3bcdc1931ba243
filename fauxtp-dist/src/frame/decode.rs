//! Decoding a peer's term straight from its bytes into eetf's [`Term`].
//!
//! eetf reads through `io::Read` a few bytes at a time, copies each atom
//! into a buffer before making its `String` (so a term with atoms costs one
//! allocation more), and reads neither atom cache references nor terms
//! without a version byte: a term with references had to be written again
//! with its atoms in place first, a copy of the whole term. This decoder
//! reads slices, takes cached atoms from the header, and allocates what
//! the term holds and nothing else. It makes the same terms eetf makes,
//! except Latin-1 atoms, which it converts (eetf reads them as UTF-8).
//!
//! Integers too large for 32 bits and floats in the old text format are
//! rare: they go through eetf.
//!
//! Terms after a distribution header come here unchecked (the walk of
//! [`check`](super::check) cost a small message a tenth of its reading),
//! so the decoder takes the same care itself: every read is bounded by the
//! bytes, nesting by [`MAX_DEPTH`] as the walk counts it, and what a count
//! makes room for by [`ROOM_AHEAD`], so that a count the bytes do not hold
//! fails before it has allocated much.

use std::collections::HashMap;

use super::check::MAX_DEPTH;
use super::tags::*;
use super::HeaderAtoms;

use eetf::{
    Atom, Binary, BitBinary, ByteList, ExternalFun, FixInteger, Float, ImproperList, List, Map,
    Pid, Port, Reference, Term, Tuple,
};

/// How many elements a container's count makes room for before they are
/// read; more come as they are read. Each level of a term as deep as
/// [`MAX_DEPTH`] claiming more than its bytes hold takes this much at
/// most: 511 levels of 256 terms of 56 bytes, about 7 MiB, before the
/// decoder finds the bytes short.
const ROOM_AHEAD: usize = 256;

/// A term's bytes, read from the front.
struct Reader<'a, A: ?Sized> {
    bytes: &'a [u8],
    at: usize,
    /// The atoms of the header's cache references.
    atoms: &'a A,
    /// How many levels are open, the term's own first: as
    /// [`walk_term`](super::check::walk_term) counts them, a container
    /// with something in it opens one.
    depth: usize,
}

/// Decodes the term at the front of `bytes` (without its version byte;
/// its cache references are `atoms`): the term and its length. A term
/// nested deeper than [`MAX_DEPTH`], with a tag fauxtp does not read, or
/// cut short is an error.
pub(super) fn decode_term<A: HeaderAtoms + ?Sized>(
    bytes: &[u8],
    atoms: &A,
) -> Result<(Term, usize), String> {
    let mut reader = Reader {
        bytes,
        at: 0,
        atoms,
        depth: 1,
    };
    let term = reader.term()?;
    Ok((term, reader.at))
}

impl<'a, A: HeaderAtoms + ?Sized> Reader<'a, A> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let taken = self
            .at
            .checked_add(n)
            .and_then(|end| self.bytes.get(self.at..end))
            .ok_or("truncated term")?;
        self.at += n;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let taken = self.take(N)?;
        Ok(taken.try_into().expect("N bytes"))
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16, String> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    /// A count of things that each take a byte at least: never more than
    /// the bytes left, so that a wrong count is not an allocation.
    fn count(&mut self, n: u32) -> Result<usize, String> {
        let n = n as usize;
        if n > self.bytes.len() - self.at {
            return Err("a count larger than the term".to_owned());
        }
        Ok(n)
    }

    /// Opens a level for a container's elements; an error past
    /// [`MAX_DEPTH`].
    fn enter(&mut self) -> Result<(), String> {
        if self.depth >= MAX_DEPTH {
            return Err("nested too deep".to_owned());
        }
        self.depth += 1;
        Ok(())
    }

    /// `n` terms, the elements of a container (in a level of their own
    /// if there are any).
    fn terms(&mut self, n: usize) -> Result<Vec<Term>, String> {
        let mut elements = Vec::with_capacity(n.min(ROOM_AHEAD));
        if n > 0 {
            self.enter()?;
            for _ in 0..n {
                elements.push(self.term()?);
            }
            self.depth -= 1;
        }
        Ok(elements)
    }

    /// A term. Tuples, lists and maps recurse (as deep as [`MAX_DEPTH`]
    /// lets terms nest, 511 levels), so each level's stack frame must stay
    /// small. An optimised build makes it so with [`leaf`](Self::leaf),
    /// [`map`](Self::map) and [`list`](Self::list) inlined (the fastest
    /// way: 511 levels fit in 512 KiB); an unoptimised one would give every
    /// arm its own slots, 300 levels overflowing a tokio worker's 2 MiB, so
    /// there they stay out of line. Nothing else recurses.
    fn term(&mut self) -> Result<Term, String> {
        let tag = self.u8()?;
        Ok(match tag {
            SMALL_TUPLE_EXT => {
                let n = usize::from(self.u8()?);
                Term::from(Tuple::from(self.terms(n)?))
            }
            LARGE_TUPLE_EXT => {
                let n = self.u32()?;
                let n = self.count(n)?;
                Term::from(Tuple::from(self.terms(n)?))
            }
            MAP_EXT => self.map()?,
            LIST_EXT => self.list()?,
            _ => self.leaf(tag)?,
        })
    }

    /// A map, after its tag. Out of line in an unoptimised build, as
    /// [`leaf`](Self::leaf), so that [`term`](Self::term)'s frame stays small.
    #[cfg_attr(debug_assertions, inline(never))]
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn map(&mut self) -> Result<Term, String> {
        let n = self.u32()?;
        let n = self.count(n)?;
        // Grown as it fills: pairs with the same key take two bytes each
        // and make one entry.
        let mut map = HashMap::with_capacity(n.min(ROOM_AHEAD / 4));
        if n > 0 {
            self.enter()?;
            for _ in 0..n {
                let key = self.term()?;
                map.insert(key, self.term()?);
            }
            self.depth -= 1;
        }
        Ok(Term::from(Map::from(map)))
    }

    /// A list, after its tag: its elements and its tail, which share a
    /// level. Out of line in an unoptimised build, as [`map`](Self::map).
    #[cfg_attr(debug_assertions, inline(never))]
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn list(&mut self) -> Result<Term, String> {
        let n = self.u32()?;
        let n = self.count(n)?;
        self.enter()?;
        let mut elements = Vec::with_capacity(n.min(ROOM_AHEAD));
        for _ in 0..n {
            elements.push(self.term()?);
        }
        let tail = self.term()?;
        self.depth -= 1;
        Ok(match tail {
            Term::List(tail) if tail.is_nil() => Term::from(List::from(elements)),
            last => Term::from(ImproperList::from((elements, last))),
        })
    }

    /// A term that is not a tuple, map or list, after its tag.
    #[cfg_attr(debug_assertions, inline(never))]
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn leaf(&mut self, tag: u8) -> Result<Term, String> {
        Ok(match tag {
            SMALL_INTEGER_EXT => Term::from(FixInteger::from(i32::from(self.u8()?))),
            INTEGER_EXT => Term::from(FixInteger::from(i32::from_be_bytes(self.array()?))),
            NEW_FLOAT_EXT => {
                let value = f64::from_be_bytes(self.array()?);
                Term::from(Float::try_from(value).map_err(|e| e.to_string())?)
            }
            ATOM_EXT | SMALL_ATOM_EXT | ATOM_UTF8_EXT | SMALL_ATOM_UTF8_EXT | ATOM_CACHE_REF => {
                Term::from(self.atom_with_tag(tag)?)
            }
            NIL_EXT => Term::from(List::nil()),
            STRING_EXT => {
                let len = usize::from(self.u16()?);
                Term::from(ByteList::from(self.take(len)?.to_vec()))
            }
            BINARY_EXT => {
                let len = self.u32()? as usize;
                Term::from(Binary::from(self.take(len)?.to_vec()))
            }
            BIT_BINARY_EXT => {
                let len = self.u32()? as usize;
                let bits = self.u8()?;
                let mut bytes = self.take(len)?.to_vec();
                if let Some(last) = bytes.last_mut() {
                    if !(1..=8).contains(&bits) {
                        return Err(format!("a bit binary with {bits} bits in its last byte"));
                    }
                    // eetf keeps the bits of the last byte at its low end.
                    *last >>= 8 - bits;
                }
                Term::from(BitBinary::from((bytes, bits)))
            }
            PID_EXT | NEW_PID_EXT => {
                let node = self.atom()?;
                let (id, serial) = (self.u32()?, self.u32()?);
                let creation = match tag {
                    PID_EXT => u32::from(self.u8()?),
                    _ => self.u32()?,
                };
                Term::from(Pid {
                    node,
                    id,
                    serial,
                    creation,
                })
            }
            PORT_EXT | NEW_PORT_EXT | V4_PORT_EXT => {
                let node = self.atom()?;
                let (id, creation) = match tag {
                    PORT_EXT => (u64::from(self.u32()?), u32::from(self.u8()?)),
                    NEW_PORT_EXT => (u64::from(self.u32()?), self.u32()?),
                    _ => (u64::from_be_bytes(self.array()?), self.u32()?),
                };
                Term::from(Port { node, id, creation })
            }
            NEW_REFERENCE_EXT | NEWER_REFERENCE_EXT => {
                let ids = usize::from(self.u16()?);
                let node = self.atom()?;
                let creation = match tag {
                    NEW_REFERENCE_EXT => u32::from(self.u8()?),
                    _ => self.u32()?,
                };
                let id = self
                    .take(ids.checked_mul(4).ok_or("reference too large")?)?
                    .chunks_exact(4)
                    .map(|id| u32::from_be_bytes(id.try_into().expect("4 bytes")))
                    .collect();
                Term::from(Reference { node, id, creation })
            }
            EXPORT_EXT => {
                // Its three parts are a level, as the walk counts them.
                self.enter()?;
                let module = self.atom()?;
                let function = self.atom()?;
                // The arity is an integer, read as one: read as a term, an
                // export whose arity is an export would recurse.
                let arity = match self.u8()? {
                    SMALL_INTEGER_EXT => self.u8()?,
                    INTEGER_EXT => u8::try_from(u32::from_be_bytes(self.array()?))
                        .map_err(|_| "an export of arity above 255".to_owned())?,
                    tag => return Err(format!("an export whose arity has tag {tag}")),
                };
                self.depth -= 1;
                Term::from(ExternalFun {
                    module,
                    function,
                    arity,
                })
            }
            FLOAT_EXT | SMALL_BIG_EXT | LARGE_BIG_EXT => self.through_eetf(tag)?,
            other => return Err(format!("a tag fauxtp does not read ({other})")),
        })
    }

    /// An atom, as the node of a pid, port or reference, or in an export.
    fn atom(&mut self) -> Result<Atom, String> {
        let tag = self.u8()?;
        self.atom_with_tag(tag)
    }

    fn atom_with_tag(&mut self, tag: u8) -> Result<Atom, String> {
        let name = match tag {
            ATOM_CACHE_REF => {
                let index = usize::from(self.u8()?);
                let atom = self
                    .atoms
                    .atom_at(index)
                    .ok_or_else(|| format!("atom cache reference {index} to nothing"))?;
                String::from(&**atom)
            }
            SMALL_ATOM_UTF8_EXT | ATOM_UTF8_EXT => {
                let len = match tag {
                    SMALL_ATOM_UTF8_EXT => usize::from(self.u8()?),
                    _ => usize::from(self.u16()?),
                };
                std::str::from_utf8(self.take(len)?)
                    .map_err(|_| "an atom that is not UTF-8".to_owned())?
                    .to_owned()
            }
            SMALL_ATOM_EXT | ATOM_EXT => {
                let len = match tag {
                    SMALL_ATOM_EXT => usize::from(self.u8()?),
                    _ => usize::from(self.u16()?),
                };
                // Latin-1: each byte is the character of that number.
                self.take(len)?
                    .iter()
                    .map(|&byte| char::from(byte))
                    .collect()
            }
            _ => return Err("an atom expected".to_owned()),
        };
        Ok(Atom { name })
    }

    /// A term without atoms that is rare enough to be left to eetf: its
    /// bytes (after `tag`) are copied behind a version byte.
    fn through_eetf(&mut self, tag: u8) -> Result<Term, String> {
        let len = match tag {
            FLOAT_EXT => 31,
            // The count of digits, the sign, the digits.
            SMALL_BIG_EXT => 2 + usize::from(*self.bytes.get(self.at).ok_or("truncated term")?),
            _ => {
                let count = self
                    .bytes
                    .get(self.at..self.at + 4)
                    .ok_or("truncated term")?;
                // The count, the sign and the digits; no sum that overflows
                // where `usize` has 32 bits.
                usize::try_from(u32::from_be_bytes(count.try_into().expect("4 bytes")))
                    .ok()
                    .and_then(|digits| digits.checked_add(5))
                    .ok_or("truncated term")?
            }
        };
        let body = self.take(len)?;
        let versioned = [&[131, tag][..], body].concat();
        super::decode(&mut &versioned[..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::NO_ATOMS;
    use std::sync::Arc;

    /// What eetf writes for `term`, decoded by this decoder, is `term`.
    fn round_trip(term: Term) {
        let mut bytes = Vec::new();
        term.encode(&mut bytes).unwrap();
        let body = &bytes[1..];
        let len = super::super::check::walk_term(body, 0, &mut |_, _| {}).unwrap();
        assert_eq!(len, body.len());
        let (decoded, used) = decode_term(body, NO_ATOMS).unwrap();
        assert_eq!((decoded, used), (term, body.len()));
    }

    fn atom(name: &str) -> Term {
        Term::from(Atom::from(name))
    }

    #[test]
    fn every_kind_of_term_decodes_as_eetf_wrote_it() {
        let pid = Pid::new("a@h", 1, 2, 3);
        let reference = Reference {
            node: Atom::from("a@h"),
            id: vec![1, 2, 3],
            creation: 7,
        };
        let mut map = HashMap::new();
        map.insert(atom("k"), Term::from(FixInteger::from(-1)));
        let terms = vec![
            Term::from(FixInteger::from(200)),
            Term::from(FixInteger::from(-70000)),
            Term::from(Float::try_from(1.5).unwrap()),
            atom("ok"),
            atom(&"ü".repeat(200)),
            atom(""),
            Term::from(List::nil()),
            Term::from(List::from(vec![atom("a"), atom("b")])),
            Term::from(ImproperList::from((vec![atom("a")], atom("b")))),
            Term::from(Binary::from(vec![1, 2, 3])),
            Term::from(BitBinary::from((vec![1, 0b101], 3))),
            Term::from(ByteList::from(vec![104, 105])),
            Term::from(Tuple::from(vec![])),
            Term::from(Tuple::from((0..300).map(|_| atom("x")).collect::<Vec<_>>())),
            Term::from(Map::from(map)),
            Term::from(pid),
            Term::from(Port {
                node: Atom::from("a@h"),
                id: 1 << 40,
                creation: 9,
            }),
            Term::from(reference),
            Term::from(ExternalFun {
                module: Atom::from("m"),
                function: Atom::from("f"),
                arity: 2,
            }),
            Term::from(ExternalFun {
                module: Atom::from("m"),
                function: Atom::from("f"),
                arity: 255,
            }),
            Term::from(eetf::BigInteger::from(1_i64 << 40)),
            Term::from(eetf::BigInteger::from(-(1_i64 << 62))),
        ];
        for term in terms {
            round_trip(term.clone());
            round_trip(Term::from(Tuple::from(vec![atom("in"), term])));
        }
    }

    #[test]
    fn rare_terms_read_through_eetf_take_their_whole_length() {
        let mut large_big = vec![111, 0, 0, 1, 0, 0];
        large_big.extend([1; 256]);
        let mut old_float = vec![99];
        old_float.extend(
            format!("{:<31}", "1.50000000000000000000e+00")
                .bytes()
                .map(|b| if b == b' ' { 0 } else { b }),
        );
        for term in [large_big, old_float] {
            let with_tail = [&term[..], &[97, 1]].concat();
            let (decoded, used) = decode_term(&with_tail, NO_ATOMS).unwrap();
            let eetf = Term::decode(&[&[131][..], &term].concat()[..]).unwrap();
            assert_eq!((decoded, used), (eetf, term.len()));
        }
        // A count of digits the bytes do not hold is refused, the largest
        // too.
        for count in [257u32, u32::MAX - 4, u32::MAX] {
            let mut term = vec![111];
            term.extend(count.to_be_bytes());
            term.extend([0; 257]);
            assert_eq!(
                decode_term(&term, NO_ATOMS),
                Err("truncated term".to_owned()),
                "{count}"
            );
        }
    }

    #[test]
    fn cached_and_latin1_atoms_are_read() {
        let atoms: [Arc<str>; 2] = [Arc::from("cached"), Arc::from("node@h")];
        // {cached, 'café' (Latin-1), <node@h.1.2.3>}
        let mut bytes = vec![104, 3, 82, 0, 115, 4, b'c', b'a', b'f', 0xe9, 88, 82, 1];
        bytes.extend([0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3]);
        let (term, used) = decode_term(&bytes, &atoms[..]).unwrap();
        let expected = Term::from(Tuple::from(vec![
            atom("cached"),
            atom("café"),
            Term::from(Pid::new("node@h", 1, 2, 3)),
        ]));
        assert_eq!((term, used), (expected, bytes.len()));
        // A reference past the header's is an error, not a panic.
        assert!(decode_term(&[82, 2], &atoms[..]).is_err());
    }

    /// `fun m:f/Arity` up to its arity.
    const EXPORT_M_F: [u8; 7] = [
        EXPORT_EXT,
        SMALL_ATOM_UTF8_EXT,
        1,
        b'm',
        SMALL_ATOM_UTF8_EXT,
        1,
        b'f',
    ];

    /// Containers nested `depth` deep around `[]`, each opened by `open`.
    fn nested(open: &[u8], depth: usize) -> Vec<u8> {
        [open.repeat(depth), vec![NIL_EXT]].concat()
    }

    /// Nesting is counted as the check's walk counts it: 511 levels of
    /// tuples, lists or maps are read, 512 are not, and only containers
    /// with something in them open a level.
    #[test]
    fn terms_nest_as_deep_as_the_walk_lets_them_and_no_deeper() {
        let map_of_one = [MAP_EXT, 0, 0, 0, 1, NIL_EXT];
        for open in [
            &[SMALL_TUPLE_EXT, 1][..],
            &[LARGE_TUPLE_EXT, 0, 0, 0, 1],
            // A list of one element (the next list) and its tail [].
            &[LIST_EXT, 0, 0, 0, 1],
            // A map whose one key is [] and whose value is the next map.
            &map_of_one[..5],
        ] {
            for (depth, taken) in [(511, true), (512, false)] {
                let mut bytes = nested(open, depth);
                if open[0] == LIST_EXT {
                    bytes.extend(vec![NIL_EXT; depth]);
                }
                if open[0] == MAP_EXT {
                    // Each map's key, [], comes before its value.
                    bytes = [open, &[NIL_EXT]].concat().repeat(depth);
                    bytes.push(NIL_EXT);
                }
                let walked = super::super::check::walk_term(&bytes, 0, &mut |_, _| {});
                let decoded = decode_term(&bytes, NO_ATOMS);
                assert_eq!(walked.is_ok(), taken, "{open:?} {depth} deep");
                assert_eq!(decoded.is_ok(), taken, "{open:?} {depth} deep");
                if let Err(e) = decoded {
                    assert_eq!(e, "nested too deep");
                }
            }
        }
        // Empty tuples and maps open no level: 600 of them side by side in
        // one tuple are one level.
        let mut flat = vec![LARGE_TUPLE_EXT, 0, 0, 2, 88];
        for _ in 0..300 {
            flat.extend([SMALL_TUPLE_EXT, 0, MAP_EXT, 0, 0, 0, 0]);
        }
        assert!(decode_term(&flat, NO_ATOMS).is_ok());
        // An export's three parts are a level: at 511 levels it is one
        // too many.
        let export = [&EXPORT_M_F[..], &[SMALL_INTEGER_EXT, 0]].concat();
        for (depth, taken) in [(510, true), (511, false)] {
            let bytes = [[SMALL_TUPLE_EXT, 1].repeat(depth), export.to_vec()].concat();
            let walked = super::super::check::walk_term(&bytes, 0, &mut |_, _| {});
            assert_eq!(walked.is_ok(), taken, "export {depth} deep");
            assert_eq!(
                decode_term(&bytes, NO_ATOMS).is_ok(),
                taken,
                "export {depth} deep"
            );
        }
    }

    /// An export whose arity is another export, 510 deep (within the
    /// walk's limit): refused, without a level of recursion for each.
    #[test]
    fn an_export_whose_arity_is_not_an_integer_is_refused_at_once() {
        let mut bytes = EXPORT_M_F.repeat(510);
        bytes.extend([SMALL_INTEGER_EXT, 0]);
        let error = decode_term(&bytes, NO_ATOMS).unwrap_err();
        assert!(error.contains("arity"), "{error}");
        // An arity written as a four-byte integer is read too.
        let mut four = EXPORT_M_F.to_vec();
        four.extend([INTEGER_EXT, 0, 0, 0, 255]);
        let (term, _) = decode_term(&four, NO_ATOMS).unwrap();
        assert!(matches!(term, Term::ExternalFun(f) if f.arity == 255));
    }

    /// Counts the bytes do not hold fail, and before they have made room
    /// for what they claim: here, 500 levels of lists each claiming a
    /// million elements would be 20 GB if each made room for all.
    #[test]
    fn counts_larger_than_the_bytes_hold_fail_without_making_room_for_them() {
        let mut bytes = [LIST_EXT, 0, 0x0f, 0x42, 0x40].repeat(500);
        bytes.extend(vec![SMALL_INTEGER_EXT; 1_000_000]);
        assert!(decode_term(&bytes, NO_ATOMS).is_err());
        let mut maps = [MAP_EXT, 0, 0x0f, 0x42, 0x40, NIL_EXT].repeat(500);
        maps.extend(vec![SMALL_INTEGER_EXT; 1_000_000]);
        assert!(decode_term(&maps, NO_ATOMS).is_err());
        // A long list that is there is read whole, past the room made ahead.
        let mut long = vec![LIST_EXT, 0, 0, 0x27, 0x10];
        long.extend([SMALL_INTEGER_EXT, 7].repeat(10_000));
        long.push(NIL_EXT);
        let (term, used) = decode_term(&long, NO_ATOMS).unwrap();
        assert_eq!(used, long.len());
        assert!(matches!(term, Term::List(list) if list.elements.len() == 10_000));
    }

    #[test]
    fn bad_bytes_are_errors() {
        for bad in [
            &[][..],
            &[104, 2, 97],
            &[109, 0, 0, 0, 9, 1],
            &[108, 255, 255, 255, 255, 106],
            &[77, 0, 0, 0, 1, 0, 1],
            &[119, 2, 0xff, 0xfe],
            &[88, 97, 1],
            &[113, 119, 1, b'm', 119, 1, b'f', 98, 0, 0, 1, 0], // arity 256
            &[70, 0x7f, 0xf0, 0, 0, 0, 0, 0, 0],
            &[1],
        ] {
            assert!(decode_term(bad, NO_ATOMS).is_err(), "{bad:?}");
        }
    }
}
