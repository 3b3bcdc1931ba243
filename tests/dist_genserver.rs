//! GenServers that Erlang and Elixir nodes call by name, with
//! `#[genserver(remote)]`: calls, casts, info messages, requests that fit
//! no handler, and a server that dies while it is being called; and a
//! stream of casts from another node, handed over in small shares.

mod erlang;

use erlang::{unique, Beam};
use fauxtp::dist::term::atom;
use fauxtp::dist::term::Term;
use fauxtp::dist::{DistError, FromTerm, Remote, ToTerm};
use fauxtp::prelude::*;
use std::sync::Arc;
use tokio::sync::Notify;

/// `{point, X, Y}` in Erlang.
#[derive(Debug, ToTerm, FromTerm)]
struct Point {
    x: i32,
    y: i32,
}

struct Counter {
    count: u64,
    seen: Option<Pid<Term>>,
    held: Vec<ReplyTo<u64>>,
}

#[genserver(remote)]
impl Counter {
    fn init(seen: Option<Pid<Term>>) -> Self {
        Counter {
            count: 0,
            seen,
            held: Vec::new(),
        }
    }

    #[call]
    fn add(&mut self, n: u64) -> u64 {
        self.count += n;
        self.count
    }

    #[call]
    fn get(&self) -> u64 {
        self.count
    }

    #[call]
    fn greet(&self, name: String, times: u8) -> String {
        format!("hello {name}").repeat(times.into())
    }

    #[call]
    fn double(&self, point: Point) -> Point {
        Point {
            x: point.x * 2,
            y: point.y * 2,
        }
    }

    #[call]
    fn crash(&mut self) -> u64 {
        panic!("boom")
    }

    /// Answered by the next `release` only.
    #[call]
    fn hold(&mut self, reply: ReplyTo<u64>) {
        self.held.push(reply);
    }

    /// Answers the held calls, then this one: how many there were.
    #[call]
    fn release(&mut self) -> u64 {
        let held = std::mem::take(&mut self.held);
        let n = held.len() as u64;
        for reply in held {
            reply.reply(self.count);
        }
        n
    }

    #[cast]
    fn bump(&mut self) {
        self.count += 1;
    }

    #[info]
    fn raw(&mut self, message: Term) {
        if let Some(seen) = &self.seen {
            let _ = seen.send(message);
        }
    }
}

#[tokio::test]
async fn erlang_calls_and_casts_a_fauxtp_genserver_by_name() {
    let node = erlang::node("dist-gs").await;
    let counter = Counter::start(None).await.unwrap();
    node.register("counter", &counter).unwrap();
    let eval = format!(
        "S = {{counter, '{node}'}}, \
         A = gen_server:call(S, {{add, 7}}), \
         ok = gen_server:cast(S, bump), \
         G = gen_server:call(S, get), \
         H = gen_server:call(S, {{greet, <<\"erl\">>, 2}}), \
         D = gen_server:call(S, {{double, {{point, 1, -2}}}}), \
         io:format(\"~p ~p ~p ~p~n\", [A, G, H, D]), halt().",
        node = node.name()
    );
    let mut erl = Beam::erl(&unique("e"), "dist-gs", &eval);
    assert_eq!(
        erl.line().await,
        "7 8 <<\"hello erlhello erl\">> {point,2,-4}"
    );
    assert_eq!(counter.get().await.unwrap(), 8);
}

/// OTP 24 and later tag a call with a process alias, which the caller drops
/// when it gives up: a reply that comes after the timeout must go to the
/// alias, not to the caller's pid, or it would sit in the caller's mailbox.
#[tokio::test]
async fn a_reply_after_the_callers_timeout_does_not_reach_its_mailbox() {
    let node = erlang::node("dist-gs").await;
    let counter = Counter::start(None).await.unwrap();
    node.register("counter", &counter).unwrap();
    // The late reply to `hold` goes out before the reply to `release`, on
    // the same connection: once `release` is answered, it has arrived.
    let eval = format!(
        "S = {{counter, '{node}'}}, \
         {{'EXIT', {{timeout, _}}}} = (catch gen_server:call(S, hold, 100)), \
         N = gen_server:call(S, release), \
         receive M -> io:format(\"stray ~p~n\", [M]) after 0 -> io:format(\"clean ~p~n\", [N]) end, \
         halt().",
        node = node.name()
    );
    let mut erl = Beam::erl(&unique("e"), "dist-gs", &eval);
    assert_eq!(erl.line().await, "clean 1");
}

#[tokio::test]
async fn elixir_calls_a_fauxtp_genserver() {
    let node = erlang::node("dist-gs").await;
    let counter = Counter::start(None).await.unwrap();
    node.register("counter", &counter).unwrap();
    let code = format!(
        "s = {{:counter, :\"{}\"}}; GenServer.cast(s, :bump); IO.inspect(GenServer.call(s, {{:add, 2}}))",
        node.name()
    );
    let mut elixir = Beam::elixir(&unique("ex"), "dist-gs", &code);
    assert_eq!(elixir.line().await, "3");
}

#[tokio::test]
async fn a_request_that_fits_no_handler_gets_an_error_reply() {
    let node = erlang::node("dist-gs").await;
    let counter = Counter::start(None).await.unwrap();
    node.register("counter", &counter).unwrap();
    let eval = format!(
        "S = {{counter, '{}'}}, \
         io:format(\"~p~n\", [gen_server:call(S, {{add, <<\"seven\">>}})]), \
         io:format(\"~p~n\", [gen_server:call(S, {{nosuch, 1}})]), \
         io:format(\"~p~n\", [gen_server:call(S, get)]), halt().",
        node.name()
    );
    let mut erl = Beam::erl(&unique("e"), "dist-gs", &eval);
    assert_eq!(
        erl.line().await,
        "{error,{unknown_call,{add,<<\"seven\">>}}}"
    );
    assert_eq!(erl.line().await, "{error,{unknown_call,{nosuch,1}}}");
    // The server went on.
    assert_eq!(erl.line().await, "0");
}

/// A fauxtp node with a `Counter` registered as `counter`, which passes
/// the other messages it gets to `me`, and an Erlang node that has run
/// `send` (Erlang expressions, with `C` bound to the counter).
struct ToCounter {
    me: Ctx<Term>,
    _node: fauxtp::dist::Node,
    _counter: Pid<CounterMsg>,
    _erl: Beam,
}

async fn erlang_sends_to_counter(send: &str) -> ToCounter {
    let node = erlang::node("dist-gs").await;
    let me = Ctx::<Term>::detached();
    let counter = Counter::start(Some(me.pid())).await.unwrap();
    node.register("counter", &counter).unwrap();
    let eval = format!(
        "C = {{counter, '{}'}}, {send}, io:format(\"sent~n\"), receive stop -> ok end.",
        node.name()
    );
    let mut erl = Beam::erl(&unique("e"), "dist-gs", &eval);
    assert_eq!(erl.line().await, "sent");
    ToCounter {
        me,
        _node: node,
        _counter: counter,
        _erl: erl,
    }
}

/// The next term `me` gets; `what` names it if it does not come.
async fn next_term(me: &mut Ctx<Term>, what: &str) -> Term {
    receive!(me, {
        term => term,
        after erlang::WAIT => panic!("{what} did not arrive"),
    })
}

#[tokio::test]
async fn other_messages_reach_an_info_handler_that_takes_a_term() {
    let mut to = erlang_sends_to_counter("C ! {hello, [1, 2]}").await;
    let got = next_term(&mut to.me, "the message").await;
    assert_eq!(got.to_string(), "{'hello',[1,2]}");
}

/// How many 1-tuples `term` is nested in, around its innermost term.
fn nesting(mut term: &Term) -> usize {
    let mut depth = 0;
    while let Term::Tuple(tuple) = term {
        match tuple.elements.as_slice() {
            [inner] => term = inner,
            _ => break,
        }
        depth += 1;
    }
    depth
}

#[tokio::test]
async fn a_term_nested_as_deep_as_a_node_takes_arrives_and_a_deeper_one_is_dropped() {
    // Decoded on a tokio worker's stack, in a test's unoptimised build: a
    // term 511 deep (the most a node takes) must fit there.
    let mut to = erlang_sends_to_counter(
        "Nest = fun(N) -> lists:foldl(fun(_, T) -> {T} end, leaf, lists:seq(1, N)) end, \
         C ! Nest(512), C ! Nest(511), C ! after_them",
    )
    .await;
    let deep = next_term(&mut to.me, "the term 511 deep").await;
    assert_eq!(nesting(&deep), 511);
    let after = next_term(&mut to.me, "what came after the deep terms").await;
    assert_eq!(after.to_string(), "'after_them'");
}

#[tokio::test]
async fn a_server_that_dies_during_a_call_fails_the_caller_at_once() {
    let node = erlang::node("dist-gs").await;
    let counter = Counter::start(None).await.unwrap();
    node.register("counter", &counter).unwrap();
    let eval = format!(
        "T = erlang:monotonic_time(millisecond), \
         {{'EXIT', {{Reason, _}}}} = (catch gen_server:call({{counter, '{}'}}, crash, 5000)), \
         io:format(\"~p ~p~n\", [Reason, erlang:monotonic_time(millisecond) - T < 2000]), halt().",
        node.name()
    );
    let mut erl = Beam::erl(&unique("e"), "dist-gs", &eval);
    assert_eq!(erl.line().await, "{panic,<<\"boom\">>} true");
}

#[tokio::test]
async fn a_name_is_taken_while_its_server_lives() {
    let node = erlang::node("dist-gs").await;
    let counter = Counter::start(None).await.unwrap();
    node.register("counter", &counter).unwrap();
    let other = Counter::start(None).await.unwrap();
    let error = node.register("counter", &other).unwrap_err();
    assert!(matches!(error, DistError::NameTaken { .. }), "{error}");
    fauxtp::genserver::stop(&counter, ExitReason::Normal, erlang::WAIT)
        .await
        .unwrap();
    node.register("counter", &other).unwrap();
}

#[tokio::test]
async fn a_supervised_server_is_reachable_by_its_registered_name_across_restarts() {
    use fauxtp::supervisor::{Strategy, Supervisor, SupervisorSpec};
    let node = erlang::node("dist-gs").await;
    // Not registered with the node: the name is fauxtp's registry's, given
    // by the supervisor at each (re)start.
    let spec = SupervisorSpec::new(Strategy::OneForOne).child(
        Counter::child(None)
            .id("counter")
            .named("supervised_counter"),
    );
    let _tree = Supervisor::start(spec).await.unwrap();
    let code = format!(
        "s = {{:supervised_counter, :\"{node}\"}}; \
         IO.inspect(GenServer.call(s, {{:add, 5}})); \
         IO.inspect(try do GenServer.call(s, :crash) catch :exit, _ -> :crashed end); \
         again = fn again, n -> \
           try do GenServer.call(s, :get) catch :exit, _ -> \
             if n > 0, do: (Process.sleep(10); again.(again, n - 1)), else: :gave_up \
           end \
         end; \
         IO.inspect(again.(again, 200))",
        node = node.name()
    );
    let mut elixir = Beam::elixir(&unique("ex"), "dist-gs", &code);
    assert_eq!(elixir.line().await, "5");
    assert_eq!(elixir.line().await, ":crashed");
    // The restarted server, with a fresh count.
    assert_eq!(elixir.line().await, "0");
}

/// A node remembers, for each connection, which server a name led to, so
/// that a stream of messages to it does not look it up each time; each
/// message still goes where the name leads when it arrives, as the name
/// moves between fauxtp's registry and the node's names and from one
/// server to another.
#[tokio::test]
async fn messages_from_another_node_follow_a_name_as_it_changes_hands() {
    let here = erlang::node("dist-gs").await;
    let there = erlang::node("dist-gs").await;
    // fauxtp's registry is one for the whole test program.
    let name = format!("moving_{}", std::process::id());
    let to = Remote::name(&name, here.name());
    // Casts one bump, then asks for the count, both by name.
    let bump_and_get = || async {
        there.cast(&to, atom("bump")).await.unwrap();
        there.call::<u64>(&to, atom("get")).await.unwrap()
    };

    let first = Counter::start(None).await.unwrap();
    fauxtp::registry::register(&name, &first).unwrap();
    assert_eq!(bump_and_get().await, 1);
    assert_eq!(bump_and_get().await, 2);

    // The name goes to a second server; the first lives on without it.
    fauxtp::registry::unregister(&name).unwrap();
    let second = Counter::start(None).await.unwrap();
    fauxtp::registry::register(&name, &second).unwrap();
    assert_eq!(bump_and_get().await, 1, "the second server has the name");

    // The node's own names come before the registry's.
    let third = Counter::start(None).await.unwrap();
    here.register(&name, &third).unwrap();
    assert_eq!(
        bump_and_get().await,
        1,
        "the node's name leads to the third"
    );

    // The third ends: the registry's holder has the name again.
    fauxtp::genserver::stop(&third, ExitReason::Normal, erlang::WAIT)
        .await
        .unwrap();
    assert_eq!(bump_and_get().await, 2, "back to the second server");
    assert_eq!(
        first.get().await.unwrap(),
        2,
        "nothing more went to the first"
    );
}

/// Holds in its `hold` cast until `release` is notified, so that what
/// arrives meanwhile stays in its mailbox, where it can be counted.
struct Holder {
    entered: Arc<Notify>,
    release: Arc<Notify>,
    count: u64,
}

#[genserver(remote)]
impl Holder {
    fn init(entered: Arc<Notify>, release: Arc<Notify>) -> Self {
        Holder {
            entered,
            release,
            count: 0,
        }
    }

    #[cast]
    async fn hold(&mut self) {
        self.entered.notify_one();
        self.release.notified().await;
    }

    #[cast]
    fn data(&mut self, _n: u64) {
        self.count += 1;
    }

    #[call]
    fn count(&self) -> u64 {
        self.count
    }
}

/// Lets every other task that is ready run once: wakes itself and waits,
/// which puts it at the back of the runtime's queue.
async fn pass() {
    let mut waited = false;
    std::future::poll_fn(|cx| {
        if waited {
            return std::task::Poll::Ready(());
        }
        waited = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    })
    .await
}

#[tokio::test]
async fn a_node_hands_a_stream_on_in_shares_between_which_other_tasks_run() {
    // Both nodes, the stream's sender and this watcher share one thread.
    let a = erlang::node("dist-gs").await;
    let b = erlang::node("dist-gs").await;
    let (entered, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let holder = Holder::start((entered.clone(), release.clone()))
        .await
        .unwrap();
    b.register("holder", &holder).unwrap();
    let to = Remote::name("holder", b.name());
    a.cast(&to, atom("hold")).await.unwrap();
    entered.notified().await;

    const CASTS: usize = 20_000;
    let stream = tokio::spawn(async move {
        for n in 0..CASTS as u64 {
            a.cast(&to, (atom("data"), n)).await.unwrap();
        }
        a
    });
    // A connection reads up to 64 KiB at once, more than a thousand such
    // casts; it hands on 128 frames, then lets the other tasks run.
    // A task, as the others: the test's own future is polled less often.
    let held = holder.clone();
    let watcher = tokio::spawn(async move {
        let (mut queued, mut largest) = (0, 0);
        while queued < CASTS {
            pass().await;
            let now = fauxtp::process::info(held.clone())
                .expect("the holder lives")
                .mailbox_len;
            largest = largest.max(now - queued);
            queued = now;
        }
        largest
    });
    let largest_share = tokio::time::timeout(erlang::WAIT * 6, watcher)
        .await
        .expect("every cast arrives")
        .unwrap();
    assert!(
        largest_share <= 128,
        "{largest_share} casts arrived between two turns of another task"
    );
    release.notify_one();
    let _a = stream.await.unwrap();
    let count: u64 = holder.count().await.unwrap();
    assert_eq!(count, CASTS as u64);
}
