//! Erlang terms, and the conversions between them and Rust values.
//!
//! The term type is eetf's (the one erl_dist uses), re-exported here. Rust
//! values cross to other nodes through [`ToTerm`] and [`FromTerm`]:
//!
//! | Rust | Erlang |
//! |---|---|
//! | `bool` | `true`, `false` |
//! | integers | integers (small or big) |
//! | `f64`, `f32` | floats |
//! | `String`, `&str` | binaries (Elixir strings); charlists are read too |
//! | `()` | `ok` |
//! | `Vec<T>` | lists |
//! | `Option<T>` | `undefined` for `None` (`nil` is read too), the value for `Some` |
//! | `(A, B, ...)` | tuples |
//! | [`Atom`] | atoms |
//! | [`Pid`] | pids (see [`Node::pid_of`](crate::Node::pid_of)) |
//! | [`Reference`] | references |
//! | [`Term`] | itself |
//!
//! A GenServer's handlers map to requests the way OTP writes them: a call
//! to handler `add(n)` is `{add, N}`, to `get()` is the atom `get`.

pub use eetf::{
    Atom, BigInteger, Binary, ByteList, FixInteger, Float, List, Map, Pid, Reference, Term, Tuple,
};

/// A value that can be sent to another node as an Erlang term.
pub trait ToTerm {
    /// The term for this value.
    fn to_term(&self) -> Term;

    /// The value itself, if it is a [`Term`] already: what is sent to
    /// another node is then written from it, not from a copy. The default
    /// is `None` (the value is written from [`to_term`](Self::to_term)).
    fn as_term(&self) -> Option<&Term> {
        None
    }
}

/// A value that can be read from an Erlang term.
pub trait FromTerm: Sized {
    /// Reads the value; fails if the term has another shape.
    fn from_term(term: &Term) -> Result<Self, TermError>;

    /// Reads the value from a term it may take apart: what arrives from
    /// another node is read this way, so a [`Term`] or a `String` argument
    /// is moved out rather than copied. The default reads it as
    /// [`from_term`](FromTerm::from_term) does.
    fn from_term_owned(term: Term) -> Result<Self, TermError> {
        Self::from_term(&term)
    }
}

/// A term that does not have the shape a Rust type needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected}, got {got}")]
pub struct TermError {
    expected: &'static str,
    got: String,
}

impl TermError {
    /// An error: `expected` describes the shape wanted, `got` is the term.
    pub fn new(expected: &'static str, got: &Term) -> TermError {
        TermError {
            expected,
            got: got.to_string(),
        }
    }
}

/// The atom `name`.
pub fn atom(name: &str) -> Term {
    Term::from(Atom::from(name))
}

/// The tuple of `elements`.
pub fn tuple(elements: Vec<Term>) -> Term {
    Term::from(Tuple::from(elements))
}

impl ToTerm for Term {
    fn to_term(&self) -> Term {
        self.clone()
    }

    fn as_term(&self) -> Option<&Term> {
        Some(self)
    }
}

impl FromTerm for Term {
    fn from_term(term: &Term) -> Result<Self, TermError> {
        Ok(term.clone())
    }

    fn from_term_owned(term: Term) -> Result<Self, TermError> {
        Ok(term)
    }
}

impl ToTerm for Atom {
    fn to_term(&self) -> Term {
        Term::from(self.clone())
    }
}

impl FromTerm for Atom {
    fn from_term(term: &Term) -> Result<Self, TermError> {
        match term {
            Term::Atom(atom) => Ok(atom.clone()),
            other => Err(TermError::new("an atom", other)),
        }
    }
}

impl ToTerm for Pid {
    fn to_term(&self) -> Term {
        Term::from(self.clone())
    }
}

impl FromTerm for Pid {
    fn from_term(term: &Term) -> Result<Self, TermError> {
        match term {
            Term::Pid(pid) => Ok(pid.clone()),
            other => Err(TermError::new("a pid", other)),
        }
    }
}

impl ToTerm for Reference {
    fn to_term(&self) -> Term {
        Term::from(self.clone())
    }
}

impl FromTerm for Reference {
    fn from_term(term: &Term) -> Result<Self, TermError> {
        match term {
            Term::Reference(reference) => Ok((**reference).clone()),
            other => Err(TermError::new("a reference", other)),
        }
    }
}

impl ToTerm for bool {
    fn to_term(&self) -> Term {
        atom(if *self { "true" } else { "false" })
    }
}

impl FromTerm for bool {
    fn from_term(term: &Term) -> Result<Self, TermError> {
        match term {
            Term::Atom(a) if a.name == "true" => Ok(true),
            Term::Atom(a) if a.name == "false" => Ok(false),
            other => Err(TermError::new("true or false", other)),
        }
    }
}

impl ToTerm for () {
    fn to_term(&self) -> Term {
        atom("ok")
    }
}

impl FromTerm for () {
    fn from_term(term: &Term) -> Result<Self, TermError> {
        match term {
            Term::Atom(a) if a.name == "ok" => Ok(()),
            other => Err(TermError::new("ok", other)),
        }
    }
}

macro_rules! integers {
    ($($ty:ty),*) => {$(
        impl ToTerm for $ty {
            fn to_term(&self) -> Term {
                match i32::try_from(*self) {
                    Ok(small) => Term::from(FixInteger::from(small)),
                    Err(_) => Term::from(BigInteger::from(*self)),
                }
            }
        }

        impl FromTerm for $ty {
            fn from_term(term: &Term) -> Result<Self, TermError> {
                let fits = match term {
                    Term::FixInteger(i) => <$ty>::try_from(i.value).ok(),
                    Term::BigInteger(i) => <$ty>::try_from(&i.value).ok(),
                    _ => None,
                };
                fits.ok_or_else(|| TermError::new(concat!("an integer that fits ", stringify!($ty)), term))
            }
        }
    )*};
}

integers!(i8, u8, i16, u16, i32, u32, i64, u64, isize, usize);

impl ToTerm for f64 {
    fn to_term(&self) -> Term {
        match Float::try_from(*self) {
            Ok(float) => Term::from(float),
            // Erlang has no NaN or infinity.
            Err(_) => atom("nan"),
        }
    }
}

impl FromTerm for f64 {
    fn from_term(term: &Term) -> Result<Self, TermError> {
        match term {
            Term::Float(f) => Ok(f.value),
            Term::FixInteger(i) => Ok(f64::from(i.value)),
            other => Err(TermError::new("a number", other)),
        }
    }
}

impl ToTerm for f32 {
    fn to_term(&self) -> Term {
        f64::from(*self).to_term()
    }
}

impl FromTerm for f32 {
    fn from_term(term: &Term) -> Result<Self, TermError> {
        f64::from_term(term).map(|f| f as f32)
    }
}

impl ToTerm for str {
    fn to_term(&self) -> Term {
        Term::from(Binary::from(self.as_bytes()))
    }
}

impl ToTerm for String {
    fn to_term(&self) -> Term {
        self.as_str().to_term()
    }
}

impl FromTerm for String {
    fn from_term(term: &Term) -> Result<Self, TermError> {
        let bytes = match term {
            Term::Binary(b) => b.bytes.clone(),
            Term::ByteList(l) => l.bytes.clone(),
            Term::List(l) if l.is_nil() => Vec::new(),
            other => return Err(TermError::new("a string (a binary or a charlist)", other)),
        };
        String::from_utf8(bytes).map_err(|_| TermError::new("a UTF-8 string", term))
    }

    fn from_term_owned(term: Term) -> Result<Self, TermError> {
        let bytes = match term {
            Term::Binary(b) => b.bytes,
            Term::ByteList(l) => l.bytes,
            other => return Self::from_term(&other),
        };
        String::from_utf8(bytes).map_err(|e| {
            TermError::new("a UTF-8 string", &Term::from(Binary::from(e.into_bytes())))
        })
    }
}

impl<T: ToTerm + ?Sized> ToTerm for &T {
    fn to_term(&self) -> Term {
        (**self).to_term()
    }

    fn as_term(&self) -> Option<&Term> {
        (**self).as_term()
    }
}

impl<T: ToTerm> ToTerm for Box<T> {
    fn to_term(&self) -> Term {
        (**self).to_term()
    }
}

impl<T: FromTerm> FromTerm for Box<T> {
    fn from_term(term: &Term) -> Result<Self, TermError> {
        T::from_term(term).map(Box::new)
    }
}

impl<T: ToTerm> ToTerm for Vec<T> {
    fn to_term(&self) -> Term {
        Term::from(List::from(
            self.iter().map(ToTerm::to_term).collect::<Vec<_>>(),
        ))
    }
}

impl<T: FromTerm> FromTerm for Vec<T> {
    fn from_term(term: &Term) -> Result<Self, TermError> {
        match term {
            Term::List(list) => list.elements.iter().map(T::from_term).collect(),
            // Erlang sends a list of small integers as a "string".
            Term::ByteList(list) => list
                .bytes
                .iter()
                .map(|b| T::from_term(&Term::from(FixInteger::from(*b))))
                .collect(),
            other => Err(TermError::new("a list", other)),
        }
    }
}

impl<T: ToTerm> ToTerm for Option<T> {
    fn to_term(&self) -> Term {
        match self {
            Some(value) => value.to_term(),
            None => atom("undefined"),
        }
    }
}

impl<T: FromTerm> FromTerm for Option<T> {
    fn from_term(term: &Term) -> Result<Self, TermError> {
        match term {
            Term::Atom(a) if a.name == "undefined" || a.name == "nil" => Ok(None),
            other => T::from_term(other).map(Some),
        }
    }
}

macro_rules! tuples {
    ($(($($name:ident: $ty:ident),+) = $len:literal;)*) => {$(
        impl<$($ty: ToTerm),+> ToTerm for ($($ty,)+) {
            fn to_term(&self) -> Term {
                let ($($name,)+) = self;
                tuple(vec![$($name.to_term()),+])
            }
        }

        impl<$($ty: FromTerm),+> FromTerm for ($($ty,)+) {
            fn from_term(term: &Term) -> Result<Self, TermError> {
                match term {
                    Term::Tuple(t) if t.elements.len() == $len => {
                        let mut elements = t.elements.iter();
                        $(let $name = $ty::from_term(elements.next().unwrap_or(term))?;)+
                        Ok(($($name,)+))
                    }
                    other => Err(TermError::new(concat!("a tuple of ", $len), other)),
                }
            }
        }
    )*};
}

tuples! {
    (a: A) = 1;
    (a: A, b: B) = 2;
    (a: A, b: B, c: C) = 3;
    (a: A, b: B, c: C, d: D) = 4;
    (a: A, b: B, c: C, d: D, e: E) = 5;
}

/// An exit reason as Erlang writes it: `normal`, `shutdown`, `killed`,
/// `noproc`, `{shutdown, Text}`, `{error, Text}` and `{panic, Message}`
/// (text as binaries). A
/// process killed by `Kill` ended `killed`, as in Erlang.
impl ToTerm for fauxtp::ExitReason {
    fn to_term(&self) -> Term {
        use fauxtp::ExitReason;
        let text = |t: &str| Term::from(Binary::from(t.as_bytes()));
        match self {
            ExitReason::Normal => atom("normal"),
            ExitReason::Shutdown => atom("shutdown"),
            ExitReason::Kill | ExitReason::Killed => atom("killed"),
            ExitReason::NoProc => atom("noproc"),
            ExitReason::Error(e) => tuple(vec![atom("error"), text(e)]),
            ExitReason::Panic(p) => tuple(vec![atom("panic"), text(p)]),
            ExitReason::ShutdownWith(v) => tuple(vec![atom("shutdown"), text(v)]),
            _ => atom("unknown"),
        }
    }
}

/// An Erlang exit reason as a fauxtp one: the reasons both know map to
/// each other, any other is an `Error` with the term's text.
pub(crate) fn exit_reason(term: &Term) -> fauxtp::ExitReason {
    use fauxtp::ExitReason;
    match term {
        Term::Atom(a) => match a.name.as_str() {
            "normal" => ExitReason::Normal,
            "shutdown" => ExitReason::Shutdown,
            "kill" => ExitReason::Kill,
            "killed" => ExitReason::Killed,
            "noproc" => ExitReason::NoProc,
            other => ExitReason::error(other),
        },
        // `{shutdown, Term}`: a clean stop with a value (a binary's text or
        // an atom's name as it is, any other term as Erlang prints it).
        Term::Tuple(t)
            if t.elements.len() == 2
                && matches!(&t.elements[0], Term::Atom(a) if a.name == "shutdown") =>
        {
            match &t.elements[1] {
                Term::Binary(b) => ExitReason::shutdown_with(String::from_utf8_lossy(&b.bytes)),
                Term::Atom(a) => ExitReason::shutdown_with(&a.name),
                value => ExitReason::shutdown_with(value),
            }
        }
        other => ExitReason::error(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: ToTerm + FromTerm + PartialEq + std::fmt::Debug>(value: T) {
        let term = value.to_term();
        assert_eq!(T::from_term(&term), Ok(value), "through {term}");
    }

    #[test]
    fn values_round_trip() {
        round_trip(true);
        round_trip(7u64);
        round_trip(u64::MAX);
        round_trip(-3i64);
        round_trip(i64::MIN);
        round_trip(1.5f64);
        round_trip(String::from("héllo"));
        round_trip(());
        round_trip(vec![1u8, 2, 3]);
        round_trip(Some(4i32));
        round_trip(None::<i32>);
        round_trip((1u8, String::from("a"), false));
    }

    #[test]
    fn exit_reasons_map_to_erlangs_both_ways() {
        use fauxtp::ExitReason;
        for reason in [
            ExitReason::Normal,
            ExitReason::Shutdown,
            ExitReason::shutdown_with("drained"),
            ExitReason::NoProc,
            ExitReason::Killed,
        ] {
            assert_eq!(exit_reason(&reason.to_term()), reason);
        }
        let drained = tuple(vec![atom("shutdown"), atom("drained")]);
        assert_eq!(exit_reason(&drained), ExitReason::shutdown_with("drained"));
        assert!(exit_reason(&drained).is_clean());
    }

    #[test]
    fn shapes_that_do_not_fit_are_errors() {
        assert!(u8::from_term(&300u32.to_term()).is_err());
        assert!(u64::from_term(&(-1i32).to_term()).is_err());
        assert!(bool::from_term(&atom("maybe")).is_err());
        assert!(<(u8, u8)>::from_term(&tuple(vec![atom("a")])).is_err());
        let error = String::from_term(&atom("x")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "expected a string (a binary or a charlist), got 'x'"
        );
    }

    #[test]
    fn erlang_strings_read_as_strings_and_lists() {
        let charlist = Term::from(ByteList::from("abc"));
        assert_eq!(String::from_term(&charlist), Ok("abc".to_owned()));
        assert_eq!(Vec::<u8>::from_term(&charlist), Ok(vec![97, 98, 99]));
    }

    #[test]
    fn what_arrives_is_read_by_moving_it() {
        let text = Term::from(Binary::from("héllo".as_bytes()));
        assert_eq!(String::from_term_owned(text.clone()).unwrap(), "héllo");
        assert_eq!(Term::from_term_owned(text.clone()).unwrap(), text);
        let bad = Term::from(Binary::from(&[0xff, 0xfe][..]));
        assert!(String::from_term_owned(bad).is_err());
        assert_eq!(
            String::from_term_owned(Term::from(List::nil())).unwrap(),
            ""
        );
        // A type without its own reads as `from_term` does.
        assert_eq!(u64::from_term_owned(7u64.to_term()).unwrap(), 7);
    }
}
