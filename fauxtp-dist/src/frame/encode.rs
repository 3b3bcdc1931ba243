//! Writing a message's terms with their atoms through the peer's atom
//! cache, as OTP writes its own: each distinct atom once in the header,
//! and a two-byte reference wherever the term has it. A peer decodes a
//! reference with an index where an atom written in full has to be looked
//! up by its text (on a BEAM, in the atom table, under its lock).
//!
//! Tuples, lists, maps, pids, references and binaries are written here;
//! any other term (numbers beyond 32 bits, floats, ports, funs, strings)
//! is written by eetf, its atoms in full.

use eetf::{FixInteger, Term};

use super::tags::*;
use super::{write_atom, Framing};

/// How many atoms one message refers to through the cache at most; the
/// others are written in full. (OTP allows 255; a message with more than a
/// few distinct atoms is rare, and the list lives on the stack.)
pub(crate) const MAX_CACHED: usize = 16;

/// The atoms a message's header refers to, in the order of their indexes.
pub(crate) struct CachedAtoms<'a> {
    atoms: [&'a str; MAX_CACHED],
    len: usize,
}

impl<'a> CachedAtoms<'a> {
    /// A list that begins with `first` (the control message's atoms).
    pub(crate) fn new(first: &[&'a str]) -> Self {
        let mut cached = CachedAtoms {
            atoms: [""; MAX_CACHED],
            len: first.len().min(MAX_CACHED),
        };
        cached.atoms[..cached.len].copy_from_slice(&first[..cached.len]);
        cached
    }

    /// The atoms, in the order of their indexes.
    pub(crate) fn as_slice(&self) -> &[&'a str] {
        &self.atoms[..self.len]
    }

    /// The index of `atom`, given one if there is room.
    fn index_of(&mut self, atom: &'a str) -> Option<u8> {
        if let Some(i) = self.as_slice().iter().position(|cached| *cached == atom) {
            return Some(i as u8);
        }
        if self.len == MAX_CACHED || atom.len() > usize::from(u16::MAX) {
            return None;
        }
        self.atoms[self.len] = atom;
        self.len += 1;
        Some((self.len - 1) as u8)
    }

    /// Appends `atom` as a reference, or in full if there is no room.
    pub(super) fn write_atom(&mut self, bytes: &mut Vec<u8>, atom: &'a str) -> bool {
        match self.index_of(atom) {
            Some(index) => {
                bytes.extend_from_slice(&[ATOM_CACHE_REF, index]);
                true
            }
            None => write_atom(bytes, atom),
        }
    }
}

/// Appends `term` without a version byte, its atoms as references into
/// `atoms` where there is room; false if it cannot be written.
pub(crate) fn write_term<'a>(
    term: &'a Term,
    bytes: &mut Vec<u8>,
    atoms: &mut CachedAtoms<'a>,
) -> bool {
    match term {
        Term::Atom(atom) => atoms.write_atom(bytes, &atom.name),
        Term::FixInteger(FixInteger { value }) => {
            match u8::try_from(*value) {
                Ok(small) => bytes.extend_from_slice(&[SMALL_INTEGER_EXT, small]),
                Err(_) => {
                    bytes.push(INTEGER_EXT);
                    bytes.extend_from_slice(&value.to_be_bytes());
                }
            }
            true
        }
        Term::Binary(binary) => match u32::try_from(binary.bytes.len()) {
            Ok(len) => {
                bytes.push(BINARY_EXT);
                bytes.extend_from_slice(&len.to_be_bytes());
                bytes.extend_from_slice(&binary.bytes);
                true
            }
            Err(_) => false,
        },
        Term::Tuple(tuple) => {
            match u8::try_from(tuple.elements.len()) {
                Ok(n) => bytes.extend_from_slice(&[SMALL_TUPLE_EXT, n]),
                Err(_) => match u32::try_from(tuple.elements.len()) {
                    Ok(n) => {
                        bytes.push(LARGE_TUPLE_EXT);
                        bytes.extend_from_slice(&n.to_be_bytes());
                    }
                    Err(_) => return false,
                },
            }
            tuple.elements.iter().all(|e| write_term(e, bytes, atoms))
        }
        // eetf writes a list of small integers as a string: left to it.
        Term::List(list)
            if !list
                .elements
                .iter()
                .all(|e| matches!(e, Term::FixInteger(_))) =>
        {
            let Ok(n) = u32::try_from(list.elements.len()) else {
                return false;
            };
            bytes.push(LIST_EXT);
            bytes.extend_from_slice(&n.to_be_bytes());
            let written = list.elements.iter().all(|e| write_term(e, bytes, atoms));
            bytes.push(NIL_EXT);
            written
        }
        Term::ImproperList(list) => {
            let Ok(n) = u32::try_from(list.elements.len()) else {
                return false;
            };
            bytes.push(LIST_EXT);
            bytes.extend_from_slice(&n.to_be_bytes());
            list.elements.iter().all(|e| write_term(e, bytes, atoms))
                && write_term(&list.last, bytes, atoms)
        }
        Term::Map(map) => {
            let Ok(n) = u32::try_from(map.map.len()) else {
                return false;
            };
            bytes.push(MAP_EXT);
            bytes.extend_from_slice(&n.to_be_bytes());
            map.map
                .iter()
                .all(|(k, v)| write_term(k, bytes, atoms) && write_term(v, bytes, atoms))
        }
        Term::Pid(pid) => {
            bytes.push(NEW_PID_EXT);
            atoms.write_atom(bytes, &pid.node.name) && {
                bytes.extend_from_slice(&pid.id.to_be_bytes());
                bytes.extend_from_slice(&pid.serial.to_be_bytes());
                bytes.extend_from_slice(&pid.creation.to_be_bytes());
                true
            }
        }
        Term::Reference(reference) => {
            let Ok(len) = u16::try_from(reference.id.len()) else {
                return false;
            };
            bytes.push(NEWER_REFERENCE_EXT);
            bytes.extend_from_slice(&len.to_be_bytes());
            atoms.write_atom(bytes, &reference.node.name) && {
                bytes.extend_from_slice(&reference.creation.to_be_bytes());
                for id in &reference.id {
                    bytes.extend_from_slice(&id.to_be_bytes());
                }
                true
            }
        }
        other => Framing::Header.write_term(other, bytes),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use eetf::{Atom, Binary, ImproperList, List, Map, Pid, Tuple};

    use super::*;

    fn atom(name: &str) -> Term {
        Term::from(Atom::from(name))
    }

    /// What is written with references reads back as the term, through
    /// the decoder and the atoms the references name.
    fn round_trip(term: &Term) -> usize {
        let mut atoms = CachedAtoms::new(&["node@h", ""]);
        let mut bytes = Vec::new();
        assert!(write_term(term, &mut bytes, &mut atoms));
        let cached: Vec<Arc<str>> = atoms.as_slice().iter().map(|a| Arc::from(*a)).collect();
        let len = super::super::check::walk_term(&bytes, cached.len(), &mut |_, _| {}).unwrap();
        assert_eq!(len, bytes.len());
        let (read, used) = super::super::decode::decode_term(&bytes, &cached[..]).unwrap();
        assert_eq!((&read, used), (term, bytes.len()));
        atoms.as_slice().len()
    }

    #[test]
    fn terms_written_with_references_read_back() {
        let mut map = HashMap::new();
        map.insert(atom("key"), atom("value"));
        let term = Term::from(Tuple::from(vec![
            atom("data"),
            atom("data"),
            Term::from(FixInteger::from(-5)),
            Term::from(FixInteger::from(200)),
            Term::from(Binary::from(vec![1; 1024])),
            Term::from(List::from(vec![atom("a"), Term::from(FixInteger::from(1))])),
            Term::from(eetf::ByteList::from(vec![104, 105])),
            Term::from(List::nil()),
            Term::from(ImproperList::from((vec![atom("a")], atom("b")))),
            Term::from(Map::from(map)),
            Term::from(Pid::new("node@h", 1, 2, 3)),
            Term::from(eetf::Reference {
                node: Atom::from("other@h"),
                id: vec![1, 2, 3],
                creation: 7,
            }),
            Term::from(eetf::Reference {
                node: Atom::from("node@h"),
                id: vec![u32::MAX; 5],
                creation: 0,
            }),
            Term::from(eetf::Float::try_from(0.5).unwrap()),
            Term::from(eetf::BigInteger::from(1_i64 << 40)),
        ]));
        // node@h, '', then data, a, b, key, value, other@h: each atom once.
        assert_eq!(round_trip(&term), 8);
    }

    #[test]
    fn atoms_past_the_limit_are_written_in_full() {
        let many: Vec<Term> = (0..40).map(|n| atom(&format!("a{n}"))).collect();
        let term = Term::from(Tuple::from(many));
        assert_eq!(round_trip(&term), MAX_CACHED);
        let long = atom(&"x".repeat(300));
        round_trip(&long);
    }
}
