//! `pg` across nodes: a fauxtp node shares a scope with real Erlang and
//! Elixir nodes (kernel's `pg`) and with another fauxtp node. Members are
//! listed on both sides, messages sent to a group reach both kinds, members
//! that leave or end go everywhere, and a lost node's members disappear.

mod erlang;

use erlang::{unique, Beam, WAIT};
use fauxtp::dist::term::{atom, tuple, Pid as ErlPid, Term};
use fauxtp::dist::{DistError, Node, PgScope, Remote};
use fauxtp::prelude::*;
use fauxtp::testing::wait_for;

const COOKIE: &str = "dist-pg";

/// The next line `beam` prints that starts with `result: `, without it.
async fn result(beam: &mut Beam) -> String {
    loop {
        if let Some(result) = beam.line().await.strip_prefix("result: ") {
            return result.to_owned();
        }
    }
}

/// Waits until `group` of `scope` has `n` members on all nodes.
async fn members(scope: &PgScope, group: &str, n: usize) -> Vec<ErlPid> {
    let waited = wait_for(|| scope.members(group).len() == n, WAIT).await;
    let now = scope.members(group);
    assert!(
        waited.is_ok(),
        "{group} has {} members, not {n}: {now:?}",
        now.len()
    );
    now
}

/// A process that takes terms and hands them to the test.
fn worker(tell: Pid<Term>) -> Pid<Term> {
    fauxtp::spawn(move |mut ctx: Ctx<Term>| async move {
        loop {
            if let Envelope::Message(term) = ctx.recv().await {
                let _ = tell.send(term);
            }
        }
    })
}

#[tokio::test]
async fn a_scope_is_shared_with_an_erlang_node() {
    let node = erlang::node(COOKIE).await;
    // The Erlang scope starts after the connection is made: the fauxtp
    // scope asks again until it answers.
    let eval = format!("Rust = '{}', register(ctl, self()), io:format(\"result: ready~n\"), \
         receive go -> ok end, \
         {{ok, _}} = pg:start_link(), \
         Me = self(), \
         P = spawn(fun Loop() -> receive M -> Me ! {{got, M}}, Loop() end end), \
         ok = pg:join(workers, P), \
         Wait = fun W(N) -> case length(pg:get_members(workers)) of N -> ok; _ -> timer:sleep(5), W(N) end end, \
         Wait(3), \
         io:format(\"result: ~p~n\", [lists:sort([node(M) || M <- pg:get_members(workers)])]), \
         receive {{got, M1}} -> io:format(\"result: P got ~p~n\", [M1]) end, \
         [M ! {{from_erlang, hi}} || M <- pg:get_members(workers), node(M) =/= node()], \
         receive check_leave -> ok end, \
         Wait(2), io:format(\"result: ~p~n\", [lists:sort([node(M) || M <- pg:get_members(workers)])]), \
         receive check_gone -> ok end, \
         Wait(1), io:format(\"result: gone~n\"), \
         {{pg, Rust}} ! garbage, \
         {{pg, Rust}} ! {{leave, self(), self(), [nosuch]}}, \
         {{pg, Rust}} ! {{join, self(), workers}}, \
         io:format(\"result: garbage sent~n\"), \
         receive stop -> ok end.", node.name());
    let mut erl = Beam::erl(&unique("e"), COOKIE, &eval);
    assert_eq!(result(&mut erl).await, "ready");

    let scope = node.pg_scope("pg").unwrap();
    let mut me = Ctx::<Term>::detached();
    let a = worker(me.pid());
    let b = worker(me.pid());
    scope.join("workers", &a).unwrap();
    scope.join("workers", &b).unwrap();
    node.ping(&erl.name).await.unwrap();
    node.send(&Remote::name("ctl", &erl.name), atom("go"))
        .await
        .unwrap();

    // Both sides list all three members.
    let all = members(&scope, "workers", 3).await;
    assert_eq!(
        all.iter().filter(|p| p.node.name == erl.name).count(),
        1,
        "{all:?}"
    );
    assert_eq!(scope.local_members("workers").len(), 2);
    assert_eq!(scope.remote_members("workers").len(), 1);
    assert_eq!(
        result(&mut erl).await,
        format!("[{},{},{}]", erl.name, node.name(), node.name())
    );
    assert_eq!(scope.which_groups(), vec!["workers".to_owned()]);
    // The local scope of the same name has the local members, typed.
    assert_eq!(scope.local().members::<Term>("workers").unwrap().len(), 2);

    // A message to the group reaches both kinds.
    assert_eq!(scope.send("workers", atom("hello")), 3);
    for _ in 0..2 {
        fauxtp::assert_receives!(me, Term::Atom(a) if a.name == "hello", WAIT);
    }
    assert_eq!(result(&mut erl).await, "P got hello");
    // And Erlang's sends to the fauxtp members reach them.
    for _ in 0..2 {
        fauxtp::assert_receives!(me, t if t == tuple(vec![atom("from_erlang"), atom("hi")]), WAIT);
    }

    // A member that leaves, then one that ends, leave on the Erlang node.
    scope.leave("workers", &a).unwrap();
    assert!(matches!(
        scope.leave("workers", &a),
        Err(DistError::Pg(fauxtp::pg::PgError::NotJoined { .. }))
    ));
    node.send(&Remote::name("ctl", &erl.name), atom("check_leave"))
        .await
        .unwrap();
    assert_eq!(
        result(&mut erl).await,
        format!("[{},{}]", erl.name, node.name())
    );
    me.exit(&b, ExitReason::Kill);
    members(&scope, "workers", 1).await;
    node.send(&Remote::name("ctl", &erl.name), atom("check_gone"))
        .await
        .unwrap();
    assert_eq!(result(&mut erl).await, "gone");

    // What is not pg's is dropped; the scope goes on.
    assert_eq!(result(&mut erl).await, "garbage sent");
    let c = worker(me.pid());
    scope.join("others", &c).unwrap();
    scope.send("others", atom("still"));
    fauxtp::assert_receives!(me, Term::Atom(a) if a.name == "still", WAIT);
    assert_eq!(scope.remote_members("workers").len(), 1);

    // The Erlang node goes: its member goes with it.
    drop(erl);
    members(&scope, "workers", 0).await;
    assert_eq!(scope.which_groups(), vec!["others".to_owned()]);
}

#[tokio::test]
async fn elixir_lists_fauxtp_members_and_the_other_way_round() {
    let node = erlang::node(COOKIE).await;
    let scope = node.pg_scope("pg").unwrap();
    let mut me = Ctx::<Term>::detached();
    let w = worker(me.pid());
    scope.join("chat", &w).unwrap();
    let code = format!(
        "{{:ok, _}} = :pg.start_link(); \
         me = self(); \
         p = spawn(fn -> receive do m -> send(me, {{:got, m}}) end end); \
         :ok = :pg.join(:chat, p); \
         true = Node.connect(:\"{}\"); \
         wait = fn wait -> if length(:pg.get_members(:chat)) == 2, do: :ok, else: (Process.sleep(5); wait.(wait)) end; \
         wait.(wait); \
         IO.puts(\"result: #{{inspect(Enum.sort(Enum.map(:pg.get_members(:chat), &node/1)))}}\"); \
         for m <- :pg.get_members(:chat), node(m) != node(), do: send(m, {{:from_elixir, 1}}); \
         receive do {{:got, m}} -> IO.puts(\"result: got #{{inspect(m)}}\") end; \
         Process.sleep(:infinity)",
        node.name()
    );
    let mut elixir = Beam::elixir(&unique("ex"), COOKIE, &code);
    let names = result(&mut elixir).await;
    assert!(
        names.contains(node.name()) && names.contains(&elixir.name),
        "{names}"
    );
    let all = members(&scope, "chat", 2).await;
    assert!(all.iter().any(|p| p.node.name == elixir.name), "{all:?}");
    fauxtp::assert_receives!(me, t if t == tuple(vec![atom("from_elixir"), Term::from(fauxtp::dist::term::FixInteger::from(1))]), WAIT);
    scope.send("chat", atom("hi"));
    assert_eq!(result(&mut elixir).await, "got :hi");
}

#[tokio::test]
async fn two_fauxtp_nodes_share_a_scope_until_one_stops() {
    let a = erlang::node(COOKIE).await;
    let b = erlang::node(COOKIE).await;
    let on_a = a.pg_scope("jobs").unwrap();
    let on_b = b.pg_scope("jobs").unwrap();
    // The same handle for the same name.
    assert_eq!(
        format!("{on_a:?}"),
        format!("{:?}", a.pg_scope("jobs").unwrap())
    );
    let mut me = Ctx::<Term>::detached();
    let x = worker(me.pid());
    let y = worker(me.pid());
    on_a.join("cruncher", &x).unwrap();
    a.ping(b.name()).await.unwrap();
    on_b.join("cruncher", &y).unwrap();
    members(&on_a, "cruncher", 2).await;
    members(&on_b, "cruncher", 2).await;
    assert_eq!(on_b.send("cruncher", atom("work")), 2);
    for _ in 0..2 {
        fauxtp::assert_receives!(me, Term::Atom(a) if a.name == "work", WAIT);
    }
    b.stop();
    members(&on_a, "cruncher", 1).await;
    assert_eq!(on_a.members("cruncher"), on_a.local_members("cruncher"));
}

#[tokio::test]
async fn bad_names_and_taken_names_are_typed_errors() {
    let node: Node = erlang::node(COOKIE).await;
    assert!(matches!(
        node.pg_scope(""),
        Err(DistError::InvalidGroup { .. })
    ));
    let scope = node.pg_scope("pg").unwrap();
    let me = Ctx::<Term>::detached();
    let long = "g".repeat(256);
    assert!(matches!(
        scope.join(&long, &me.pid()),
        Err(DistError::InvalidGroup { .. })
    ));
    let ended = worker(me.pid());
    me.exit(&ended, ExitReason::Kill);
    wait_for(|| !ended.is_alive(), WAIT).await.unwrap();
    assert!(matches!(
        scope.join("g", &ended),
        Err(DistError::Pg(fauxtp::pg::PgError::NoProc { .. }))
    ));
    assert!(scope.members("g").is_empty());
}

#[tokio::test]
async fn a_peer_met_through_its_sync_gets_this_nodes_sync() {
    // A scope that already knows this node answers a discover with a sync
    // only, and no discover back (OTP 25's pg). It must still get this
    // node's members before any join or leave, or a leave for a group it
    // has no record of would crash it. The fake scope here records the
    // first message it gets from the fauxtp scope.
    let node = erlang::node(COOKIE).await;
    let scope = node.pg_scope("pg").unwrap();
    let me = Ctx::<Term>::detached();
    let w = worker(me.pid());
    scope.join("workers", &w).unwrap();
    let eval = "register(pg, self()), io:format(\"result: ready~n\"), \
         receive {discover, S} -> gen_server:cast(S, {sync, self(), []}) end, \
         receive M -> io:format(\"result: ~p~n\", [element(1, M)]) end, \
         receive stop -> ok end.";
    let mut erl = Beam::erl(&unique("e"), COOKIE, eval);
    assert_eq!(result(&mut erl).await, "ready");
    node.ping(&erl.name).await.unwrap();
    assert_eq!(result(&mut erl).await, "'$gen_cast'");
}

#[tokio::test]
async fn a_discover_of_a_newer_pg_is_answered() {
    // OTP 26 and later may send `{discover, Pid, Version}`: answered as a
    // discover, in OTP 25's shapes.
    let node = erlang::node(COOKIE).await;
    let scope = node.pg_scope("pg").unwrap();
    let me = Ctx::<Term>::detached();
    let w = worker(me.pid());
    scope.join("workers", &w).unwrap();
    let eval = format!(
        "{{pg, '{}'}} ! {{discover, self(), 1}}, \
         receive {{'$gen_cast', {{sync, _, Groups}}}} -> io:format(\"result: ~p~n\", [[G || {{G, _}} <- Groups]]) end, \
         receive stop -> ok end.",
        node.name()
    );
    let mut erl = Beam::erl(&unique("e"), COOKIE, &eval);
    assert_eq!(result(&mut erl).await, "[workers]");
}
