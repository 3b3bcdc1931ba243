//! The distribution header with real Erlang nodes: the atoms Erlang puts
//! in its atom cache for a fauxtp node, and large messages in fragments,
//! both ways, with other messages between their fragments.

mod erlang;

use erlang::{unique, Beam, WAIT};
use fauxtp::dist::term::{atom, Pid as ErlPid, Term};
use fauxtp::dist::{FromTerm, Node, Remote, ToTerm};
use fauxtp::prelude::*;

const COOKIE: &str = "dist-fragments";

/// An Erlang node whose shell prints "ready", waits for a fauxtp pid `P`
/// in a `{hello, P}` message, then runs `then` (Erlang expressions; `P`
/// is bound) in a process whose pid goes back to `P` first as `{me, W}`.
async fn erlang_worker(node: &Node, me: &mut Ctx<Term>, then: &str) -> (Beam, ErlPid) {
    let eval = format!(
        "register(shell, self()), io:format(\"ready~n\"), \
         receive {{hello, P}} -> spawn(fun() -> P ! {{me, self()}}, {then} end) end, \
         receive never -> ok end."
    );
    let mut erl = Beam::erl(&unique("e"), COOKIE, &eval);
    assert_eq!(erl.line().await, "ready");
    let hello = (atom("hello"), node.pid_of(&me.pid()));
    node.send(&Remote::name("shell", &erl.name), hello)
        .await
        .unwrap();
    let (_, worker) = <(Term, ErlPid)>::from_term(&next(me).await).unwrap();
    (erl, worker)
}

async fn next(me: &mut Ctx<Term>) -> Term {
    receive!(me, {
        message => message,
        after WAIT => panic!("nothing came within {WAIT:?}"),
    })
}

/// More atoms than the cache holds (2,048), more in one message than a
/// header refers to (255), and one too long for a one-byte length (255
/// characters of two bytes each): each arrives as the atom it is.
#[tokio::test]
async fn erlang_atoms_reach_fauxtp_through_the_atom_cache() {
    let node = erlang::node(COOKIE).await;
    let mut me = Ctx::<Term>::detached();
    let (_erl, _worker) = erlang_worker(
        &node,
        &mut me,
        "Atoms = [list_to_atom(\"atom_\" ++ integer_to_list(N)) || N <- lists:seq(1, 3000)], \
         [P ! {one, A} || A <- Atoms], \
         P ! {many, lists:sublist(Atoms, 2701, 300)}, \
         P ! {long, list_to_atom(lists:duplicate(255, 233))}, \
         [P ! {again, A} || A <- lists:sublist(Atoms, 10)]",
    )
    .await;
    let name = |n: usize| atom(&format!("atom_{n}"));
    for n in 1..=3000 {
        assert_eq!(next(&mut me).await, (atom("one"), name(n)).to_term());
    }
    let many: Vec<Term> = (2701..=3000).map(name).collect();
    assert_eq!(next(&mut me).await, (atom("many"), many).to_term());
    let long = "é".repeat(255);
    assert_eq!(next(&mut me).await, (atom("long"), atom(&long)).to_term());
    for n in 1..=10 {
        assert_eq!(next(&mut me).await, (atom("again"), name(n)).to_term());
    }
}

/// fauxtp names the node and the registered name of each send through
/// Erlang's cache: names enough to overwrite every slot, each send to a
/// name that exists between sends to names that do not, arrive as they
/// were sent.
#[tokio::test]
async fn fauxtp_names_reach_erlang_through_the_atom_cache() {
    let node = erlang::node(COOKIE).await;
    let mut me = Ctx::<Term>::detached();
    let (erl, _worker) = erlang_worker(
        &node,
        &mut me,
        "register(counted, self()), P ! registered, \
         Got = [receive {n, N} -> N end || _ <- lists:seq(1, 3000)], \
         P ! {got, Got =:= lists:seq(1, 3000)}",
    )
    .await;
    assert_eq!(next(&mut me).await, atom("registered"));
    let counted = Remote::name("counted", &erl.name);
    for n in 1..=3000u32 {
        let nobody = Remote::name(&format!("nobody_{n}"), &erl.name);
        node.send(&nobody, atom("lost")).await.unwrap();
        node.send(&counted, (atom("n"), n)).await.unwrap();
    }
    assert_eq!(next(&mut me).await, (atom("got"), atom("true")).to_term());
}

/// fauxtp writes the atoms of a message through Erlang's cache too (up to
/// 16 in one message, the rest in full): a message with more distinct
/// atoms than that, each more than once, in tuples, lists, a map and a
/// pid, sent and cast by name, comes back from Erlang as it went (and
/// Erlang writes it back through fauxtp's cache).
#[tokio::test]
async fn the_atoms_of_a_message_reach_erlang_through_the_atom_cache() {
    let node = erlang::node(COOKIE).await;
    let mut me = Ctx::<Term>::detached();
    let (erl, _worker) = erlang_worker(
        &node,
        &mut me,
        "register(echo, self()), P ! registered, \
         [receive {'$gen_cast', T} -> P ! {cast, T}; T -> P ! {sent, T} end \
          || _ <- lists:seq(1, 4)]",
    )
    .await;
    assert_eq!(next(&mut me).await, atom("registered"));
    let names: Vec<Term> = (0..40).map(|n| atom(&format!("key_{n}"))).collect();
    let mut map = std::collections::HashMap::new();
    for name in &names[..20] {
        map.insert(name.clone(), atom("value"));
    }
    let message = Term::from(fauxtp::dist::term::Tuple::from(vec![
        atom("data"),
        names.to_term(),
        names.to_term(),
        Term::from(fauxtp::dist::term::Map::from(map)),
        Term::from(node.pid_of(&me.pid())),
        (atom("data"), (atom("tail"), atom("data"))).to_term(),
    ]));
    let echo = Remote::name("echo", &erl.name);
    for _ in 0..2 {
        node.send(&echo, &message).await.unwrap();
        assert_eq!(next(&mut me).await, (atom("sent"), &message).to_term());
        node.cast(&echo, &message).await.unwrap();
        assert_eq!(next(&mut me).await, (atom("cast"), &message).to_term());
    }
}

/// A binary of `len` bytes (a multiple of 250): blocks of 250 bytes,
/// `fill` and a count, which fragments (of 64 KiB) do not line up with,
/// so that a fragment out of place would show.
fn pattern(len: usize, fill: u8) -> Vec<u8> {
    (0..len)
        .map(|i| match i % 2 {
            0 => fill,
            _ => (i % 250 / 2) as u8,
        })
        .collect()
}

/// [`pattern`] in Erlang.
const ERLANG_PATTERN: &str = "Pattern = fun(Len, Fill) -> \
        binary:copy(<< <<Fill, I>> || I <- lists:seq(0, 124) >>, Len div 250) end";

/// Megabytes from Erlang (two processes at once, their fragments between
/// each other's, and small messages between both) and from fauxtp, by pid
/// and by name: each arrives whole and in order.
#[tokio::test]
async fn large_messages_go_both_ways_in_fragments() {
    let node = erlang::node(COOKIE).await;
    let mut me = Ctx::<Term>::detached();
    let then = format!(
        "{ERLANG_PATTERN}, Self = self(), register(big, self()), \
         [spawn(fun() -> P ! {{fill, F, Pattern(3000000, F)}}, Self ! sent end) || F <- [1, 2]], \
         spawn(fun() -> [P ! {{tick, N}} || N <- lists:seq(1, 200)] end), \
         receive sent -> ok end, receive sent -> ok end, \
         receive M1 -> receive M2 -> \
           {{big, B}} = M1, \
           P ! {{got, byte_size(B), B =:= Pattern(byte_size(B), 7), M2}} end end, \
         receive {{named, B3}} -> P ! {{named, B3 =:= Pattern(byte_size(B3), 9)}} end, \
         receive {{named, B4}} -> P ! {{again, B4}} end"
    );
    let (_erl, worker) = erlang_worker(&node, &mut me, &then).await;
    let (mut fills, mut ticks) = (Vec::new(), 0);
    while fills.len() < 2 || ticks < 200 {
        let message = next(&mut me).await;
        if let Ok((_, n)) = <(Term, u32)>::from_term(&message) {
            ticks += 1;
            assert_eq!(n, ticks, "ticks in order");
            continue;
        }
        // Not printed if it fails: megabytes.
        let Term::Tuple(fill) = message else {
            panic!("neither a tick nor a fill")
        };
        let (Term::FixInteger(n), Term::Binary(bytes)) = (&fill.elements[1], &fill.elements[2])
        else {
            panic!("a fill of another shape")
        };
        let n = n.value as u8;
        assert!(
            bytes.bytes == pattern(3_000_000, n),
            "fill {n} arrived whole"
        );
        fills.push(n);
    }
    fills.sort();
    assert_eq!(fills, vec![1, 2]);
    // fauxtp to Erlang: the large message, then a small one, in that order.
    let big = Term::from(fauxtp::dist::term::Binary::from(pattern(5_000_000, 7)));
    node.send_to(&worker, (atom("big"), big)).await.unwrap();
    node.send_to(&worker, atom("after")).await.unwrap();
    let got = next(&mut me).await;
    assert_eq!(
        got,
        (atom("got"), 5_000_000u32, atom("true"), atom("after")).to_term()
    );
    // By name, through the atom cache: in fragments, the first of which
    // makes the references; then whole, with the same atoms, which the
    // Erlang node's cache must hold as fauxtp's picture of it says.
    let big = Term::from(fauxtp::dist::term::Binary::from(pattern(2_000_000, 9)));
    let named = Remote::name("big", &worker.node.name);
    node.send(&named, (atom("named"), big)).await.unwrap();
    assert_eq!(next(&mut me).await, (atom("named"), atom("true")).to_term());
    node.send(&named, (atom("named"), "small")).await.unwrap();
    assert_eq!(next(&mut me).await, (atom("again"), "small").to_term());
}
