//! Checking a term from a peer before it is decoded, in a frame without a
//! distribution header: one walk without recursion and without
//! allocating, that takes only known tags, counts within the bytes and
//! nesting within a limit, and finds where the term ends.
//!
//! Terms after a header are not walked: the decoder ([`decode`](mod@super::decode))
//! keeps the same bounds as it reads, with the same [`MAX_DEPTH`]. The
//! walk can still check atom cache references (`ATOM_CACHE_REF`) against a
//! header's count.

/// How deep terms from peers may nest (OTP's decoder has no fixed limit,
/// but fauxtp's decoder recurses).
pub(super) const MAX_DEPTH: usize = 512;

/// Checks that `bytes` start with a well-formed external term, its
/// version byte (131) first, that can be decoded safely, and returns its
/// length: only known tags, every count within the bytes that are left,
/// nesting within [`MAX_DEPTH`]. Atom cache references are refused.
pub(crate) fn check_term(bytes: &[u8]) -> Result<usize, String> {
    match bytes.first() {
        Some(131) => Ok(1 + walk_term(&bytes[1..], 0, &mut |_, _| {})?),
        Some(version) => Err(format!("version {version}, expected 131")),
        None => Err("truncated term".to_owned()),
    }
}

/// Checks a term as [`check_term`] does, but without its version byte, and
/// returns its length. It may refer to the first `cache_refs` atom cache
/// references of a header; `on_ref(at, index)` is told of each reference,
/// `at` being where its two bytes start. (Terms that come after a header
/// are checked by the decoder as it reads; the tests hold the two to the
/// same answers.)
pub(crate) fn walk_term(
    bytes: &[u8],
    cache_refs: usize,
    on_ref: &mut dyn FnMut(usize, u8),
) -> Result<usize, String> {
    let mut at = 0usize;
    let take = |at: &mut usize, n: usize| -> Result<usize, String> {
        let start = *at;
        let end = start
            .checked_add(n)
            .filter(|end| *end <= bytes.len())
            .ok_or("truncated term")?;
        *at = end;
        Ok(start)
    };
    let u8_at = |i: usize| bytes[i] as usize;
    let u16_at = |i: usize| u16::from_be_bytes([bytes[i], bytes[i + 1]]) as usize;
    let u32_at = |i: usize| {
        u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]) as usize
    };
    let mut pending = Levels::new();
    while let Some(left) = pending.top() {
        if *left == 0 {
            pending.pop();
            continue;
        }
        *left -= 1;
        let tag = bytes[take(&mut at, 1)?];
        let children = match tag {
            97 => {
                take(&mut at, 1)?;
                0
            } // small integer
            98 => {
                take(&mut at, 4)?;
                0
            } // integer
            70 => {
                take(&mut at, 8)?;
                0
            } // new float
            99 => {
                take(&mut at, 31)?;
                0
            } // old float
            100 | 118 => {
                let i = take(&mut at, 2)?;
                take(&mut at, u16_at(i))?;
                0
            } // atoms
            115 | 119 => {
                let i = take(&mut at, 1)?;
                take(&mut at, u8_at(i))?;
                0
            } // small atoms
            106 => 0, // nil
            107 => {
                let i = take(&mut at, 2)?;
                take(&mut at, u16_at(i))?;
                0
            } // string
            109 => {
                let i = take(&mut at, 4)?;
                take(&mut at, u32_at(i))?;
                0
            } // binary
            77 => {
                let i = take(&mut at, 4)?;
                take(&mut at, 1)?;
                take(&mut at, u32_at(i))?;
                0
            } // bit binary
            110 => {
                let i = take(&mut at, 1)?;
                take(&mut at, 1)?;
                take(&mut at, u8_at(i))?;
                0
            } // small big
            111 => {
                let i = take(&mut at, 4)?;
                take(&mut at, 1)?;
                take(&mut at, u32_at(i))?;
                0
            } // large big
            104 => {
                let i = take(&mut at, 1)?;
                u8_at(i)
            } // small tuple
            105 | 116 => {
                // large tuple, map
                let i = take(&mut at, 4)?;
                let n = u32_at(i);
                let n = if tag == 116 {
                    n.checked_mul(2).ok_or("map too large")?
                } else {
                    n
                };
                // Every element takes a byte at least.
                if n > bytes.len() - at {
                    return Err("a count larger than the term".to_owned());
                }
                n
            }
            108 => {
                // list, with its tail
                let i = take(&mut at, 4)?;
                let n = u32_at(i);
                if n > bytes.len() - at {
                    return Err("a count larger than the term".to_owned());
                }
                n + 1
            }
            // pid (node, id, serial, creation), new pid
            103 => {
                take_node(&mut at, bytes, cache_refs, on_ref)?;
                take(&mut at, 9)?;
                0
            }
            88 => {
                take_node(&mut at, bytes, cache_refs, on_ref)?;
                take(&mut at, 12)?;
                0
            }
            // port, new port, v4 port
            102 => {
                take_node(&mut at, bytes, cache_refs, on_ref)?;
                take(&mut at, 5)?;
                0
            }
            89 => {
                take_node(&mut at, bytes, cache_refs, on_ref)?;
                take(&mut at, 8)?;
                0
            }
            120 => {
                take_node(&mut at, bytes, cache_refs, on_ref)?;
                take(&mut at, 12)?;
                0
            }
            // new and newer references: a count of ids, the node, creation, the ids
            114 | 90 => {
                let i = take(&mut at, 2)?;
                let ids = u16_at(i);
                take_node(&mut at, bytes, cache_refs, on_ref)?;
                take(&mut at, if tag == 114 { 1 } else { 4 })?;
                take(&mut at, ids.checked_mul(4).ok_or("reference too large")?)?;
                0
            }
            // export: module, function, arity
            113 => 3,
            82 => {
                let i = take(&mut at, 1)?;
                cache_ref(bytes[i], cache_refs)?;
                on_ref(i - 1, bytes[i]);
                0
            } // atom cache reference
            other => return Err(format!("a tag fauxtp does not read ({other})")),
        };
        if children > 0 {
            if pending.depth >= MAX_DEPTH {
                return Err("nested too deep".to_owned());
            }
            pending.push(u32::try_from(children).map_err(|_| "term too large")?);
        }
    }
    Ok(at)
}

/// How many levels [`Levels`] keeps on the stack.
const SHALLOW: usize = 32;

/// The terms still to read at each open level of a term being walked. The
/// first [`SHALLOW`] levels are on the stack, since every frame is checked
/// (a `Vec` for all was two allocations per message) and a few levels are
/// cheap to clear for each term (all [`MAX_DEPTH`] were 2 KiB); deeper ones
/// go in a vector made only for terms that deep.
struct Levels {
    shallow: [u32; SHALLOW],
    deeper: Vec<u32>,
    /// How many levels are open.
    depth: usize,
}

impl Levels {
    /// One level open, with the one term to read.
    fn new() -> Self {
        let mut shallow = [0; SHALLOW];
        shallow[0] = 1;
        Levels {
            shallow,
            deeper: Vec::new(),
            depth: 1,
        }
    }

    /// The count of the innermost open level, if any is open.
    fn top(&mut self) -> Option<&mut u32> {
        let level = self.depth.checked_sub(1)?;
        Some(match level.checked_sub(SHALLOW) {
            None => &mut self.shallow[level],
            Some(deep) => &mut self.deeper[deep],
        })
    }

    fn pop(&mut self) {
        if self.depth > SHALLOW {
            self.deeper.pop();
        }
        self.depth -= 1;
    }

    fn push(&mut self, children: u32) {
        match self.depth.checked_sub(SHALLOW) {
            None => self.shallow[self.depth] = children,
            Some(_) => self.deeper.push(children),
        }
        self.depth += 1;
    }
}

/// Skips the node atom of a pid, port or reference.
fn take_node(
    at: &mut usize,
    bytes: &[u8],
    cache_refs: usize,
    on_ref: &mut dyn FnMut(usize, u8),
) -> Result<(), String> {
    let tag = *bytes.get(*at).ok_or("truncated term")?;
    let len = match tag {
        100 | 118 => {
            let i = *at + 1;
            let b = bytes.get(i..i + 2).ok_or("truncated term")?;
            3 + u16::from_be_bytes([b[0], b[1]]) as usize
        }
        115 | 119 => 2 + *bytes.get(*at + 1).ok_or("truncated term")? as usize,
        82 => {
            let index = *bytes.get(*at + 1).ok_or("truncated term")?;
            cache_ref(index, cache_refs)?;
            on_ref(*at, index);
            2
        }
        _ => return Err("a node that is not an atom".to_owned()),
    };
    let end = at
        .checked_add(len)
        .filter(|end| *end <= bytes.len())
        .ok_or("truncated term")?;
    *at = end;
    Ok(())
}

/// Checks an atom cache reference's index against the header's count.
fn cache_ref(index: u8, cache_refs: usize) -> Result<(), String> {
    if (index as usize) < cache_refs {
        Ok(())
    } else if cache_refs == 0 {
        Err("an atom cache reference without a distribution header".to_owned())
    } else {
        Err(format!(
            "atom cache reference {index}, but the header has {cache_refs}"
        ))
    }
}
