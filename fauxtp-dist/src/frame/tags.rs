//! The tags of Erlang's external term format that fauxtp reads and writes
//! itself (OTP's `erl_ext_dist`), in one place for the frame layer.

pub(super) const NEW_FLOAT_EXT: u8 = 70;
pub(super) const BIT_BINARY_EXT: u8 = 77;
pub(super) const ATOM_CACHE_REF: u8 = 82;
pub(super) const NEW_PID_EXT: u8 = 88;
pub(super) const NEW_PORT_EXT: u8 = 89;
pub(super) const NEWER_REFERENCE_EXT: u8 = 90;
pub(super) const SMALL_INTEGER_EXT: u8 = 97;
pub(super) const INTEGER_EXT: u8 = 98;
pub(super) const FLOAT_EXT: u8 = 99;
pub(super) const ATOM_EXT: u8 = 100;
pub(super) const PORT_EXT: u8 = 102;
pub(super) const PID_EXT: u8 = 103;
pub(super) const SMALL_TUPLE_EXT: u8 = 104;
pub(super) const LARGE_TUPLE_EXT: u8 = 105;
pub(super) const NIL_EXT: u8 = 106;
pub(super) const STRING_EXT: u8 = 107;
pub(super) const LIST_EXT: u8 = 108;
pub(super) const BINARY_EXT: u8 = 109;
pub(super) const SMALL_BIG_EXT: u8 = 110;
pub(super) const LARGE_BIG_EXT: u8 = 111;
pub(super) const EXPORT_EXT: u8 = 113;
pub(super) const NEW_REFERENCE_EXT: u8 = 114;
pub(super) const SMALL_ATOM_EXT: u8 = 115;
pub(super) const MAP_EXT: u8 = 116;
pub(super) const ATOM_UTF8_EXT: u8 = 118;
pub(super) const SMALL_ATOM_UTF8_EXT: u8 = 119;
pub(super) const V4_PORT_EXT: u8 = 120;
