//! `#[derive(ToTerm, FromTerm)]`: Rust types written the way OTP writes
//! messages (shown in eetf's notation: quoted atoms, binaries as bytes).
//! tests/dist_genserver.rs sends such terms to and from real Erlang nodes.

use fauxtp::dist::term::{atom, Term};
use fauxtp::dist::{FromTerm, ToTerm};

#[derive(Debug, Clone, PartialEq, ToTerm, FromTerm)]
enum Request {
    Get,
    Add(u64),
    Move(i32, i32),
    Put { key: String, value: Option<u8> },
    ResetAll,
}

#[derive(Debug, Clone, PartialEq, ToTerm, FromTerm)]
struct Point {
    x: i32,
    y: i32,
}

#[derive(Debug, Clone, PartialEq, ToTerm, FromTerm)]
struct Meters(f64);

#[derive(Debug, Clone, PartialEq, ToTerm, FromTerm)]
struct Ping;

#[derive(Debug, Clone, PartialEq, ToTerm, FromTerm)]
struct Labelled<T> {
    label: String,
    value: T,
}

fn round_trip<T: ToTerm + FromTerm + PartialEq + std::fmt::Debug>(value: T, erlang: &str) {
    let term = value.to_term();
    assert_eq!(term.to_string(), erlang);
    assert_eq!(T::from_term(&term), Ok(value));
}

#[test]
fn derived_types_are_written_as_otp_writes_messages() {
    round_trip(Request::Get, "'get'");
    round_trip(Request::Add(7), "{'add',7}");
    round_trip(Request::Move(-1, 2), "{'move',-1,2}");
    round_trip(
        Request::Put {
            key: "k".into(),
            value: None,
        },
        "{'put',<<107>>,'undefined'}",
    );
    round_trip(Request::ResetAll, "'reset_all'");
    round_trip(Point { x: 1, y: 2 }, "{'point',1,2}");
    round_trip(Meters(1.5), "{'meters',1.5}");
    round_trip(Ping, "'ping'");
    round_trip(
        Labelled {
            label: "p".into(),
            value: Point { x: 0, y: 0 },
        },
        "{'labelled',<<112>>,{'point',0,0}}",
    );
}

#[test]
fn terms_of_another_shape_are_typed_errors() {
    let error = Request::from_term(&atom("nope")).unwrap_err();
    assert_eq!(
        error.to_string(),
        "expected get or {add, _} or {move, _, _} or {put, _, _} or reset_all, got 'nope'"
    );
    let wrong_field = Request::Add(1).to_term();
    let Term::Tuple(mut t) = wrong_field else {
        unreachable!()
    };
    t.elements[1] = atom("seven");
    assert!(Request::from_term(&Term::from(t)).is_err());
}
