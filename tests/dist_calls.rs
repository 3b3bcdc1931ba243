//! A fauxtp node calling gen_servers on Erlang and Elixir nodes: replies,
//! casts, servers that are not there or crash, nodes that die mid-call, and
//! two fauxtp nodes calling each other through epmd.

mod erlang;

use std::time::{Duration, Instant};

use erlang::{unique, Beam};
use fauxtp::dist::{DistError, FromTerm, Remote, ToTerm};
use fauxtp::prelude::*;

/// What `ecounter` (tests/erlang/ecounter.erl) takes, as OTP writes it.
#[derive(Debug, ToTerm, FromTerm)]
enum CounterReq {
    Add(u64),
    Get,
    Crash,
    Slow,
}

const COOKIE: &str = "dist-calls";

/// An Erlang node running `ecounter` as `ecounter`, up once it says so.
async fn erlang_counter() -> Beam {
    let mut erl = Beam::erl_with_modules(
        &unique("e"),
        COOKIE,
        "{ok, _} = ecounter:start(ecounter), io:format(\"ready~n\"), receive stop -> ok end.",
    );
    assert_eq!(erl.line().await, "ready");
    erl
}

#[tokio::test]
async fn a_fauxtp_node_calls_and_casts_an_erlang_gen_server() {
    let node = erlang::node(COOKIE).await;
    let erl = erlang_counter().await;
    let counter = Remote::name("ecounter", &erl.name);
    let n: u64 = node.call(&counter, CounterReq::Add(7)).await.unwrap();
    assert_eq!(n, 7);
    node.cast(&counter, atom_bump()).await.unwrap();
    let n: u64 = node.call(&counter, CounterReq::Get).await.unwrap();
    assert_eq!(n, 8);
    // A reply of another type is a typed error, not a panic.
    let error = node
        .call::<String>(&counter, CounterReq::Get)
        .await
        .unwrap_err();
    assert!(matches!(error, DistError::BadReply { .. }), "{error}");
}

fn atom_bump() -> fauxtp::dist::term::Term {
    fauxtp::dist::term::atom("bump")
}

#[tokio::test]
async fn a_missing_or_crashing_server_fails_the_call_at_once() {
    let node = erlang::node(COOKIE).await;
    let erl = erlang_counter().await;
    let started = Instant::now();
    let error = node
        .call::<u64>(&Remote::name("nosuch", &erl.name), CounterReq::Get)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, DistError::Exited { reason, .. } if reason == "'noproc'"),
        "{error}"
    );
    let error = node
        .call::<u64>(&Remote::name("ecounter", &erl.name), CounterReq::Crash)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, DistError::Exited { reason, .. } if reason == "'boom'"),
        "{error}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_node_killed_mid_call_fails_the_call_at_once() {
    let node = erlang::node(COOKIE).await;
    let mut erl = erlang_counter().await;
    let counter = Remote::name("ecounter", &erl.name);
    let call = tokio::spawn({
        let node = node.clone();
        async move {
            node.call_timeout::<u64>(&counter, CounterReq::Slow, Duration::from_secs(30))
                .await
        }
    });
    // The server says so when it has the call; then its node goes.
    assert_eq!(erl.line().await, "slow");
    drop(erl);
    let killed = Instant::now();
    let error = call.await.unwrap().unwrap_err();
    assert!(matches!(error, DistError::ConnectionLost { .. }), "{error}");
    assert!(killed.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_fauxtp_node_calls_an_elixir_genserver() {
    let node = erlang::node(COOKIE).await;
    let name = unique("ex");
    let code = "defmodule Stack do \
                  use GenServer; \
                  def init(items), do: {:ok, items}; \
                  def handle_call(:pop, _from, [top | rest]), do: {:reply, top, rest}; \
                  def handle_cast({:push, item}, items), do: {:noreply, [item | items]} \
                end; \
                {:ok, _} = GenServer.start(Stack, [\"a\"], name: :stack); \
                IO.puts(\"ready\"); \
                Process.sleep(:infinity)";
    let mut elixir = Beam::elixir(&name, COOKIE, code);
    assert_eq!(elixir.line().await, "ready");
    let stack = Remote::name("stack", &name);
    node.cast(&stack, (fauxtp::dist::term::atom("push"), "b"))
        .await
        .unwrap();
    let top: String = node
        .call(&stack, fauxtp::dist::term::atom("pop"))
        .await
        .unwrap();
    assert_eq!(top, "b");
    let next: String = node
        .call(&stack, fauxtp::dist::term::atom("pop"))
        .await
        .unwrap();
    assert_eq!(next, "a");
}

struct Greeter;

#[genserver(remote)]
impl Greeter {
    fn init() -> Self {
        Greeter
    }

    #[call]
    fn hello(&self, name: String) -> String {
        format!("hello, {name}")
    }
}

#[tokio::test]
async fn two_fauxtp_nodes_call_each_other_through_epmd() {
    let a = erlang::node(COOKIE).await;
    let b = erlang::node(COOKIE).await;
    let greeter = Greeter::start(()).await.unwrap();
    b.register("greeter", &greeter).unwrap();
    let reply: String = a
        .call(
            &Remote::name("greeter", b.name()),
            (fauxtp::dist::term::atom("hello"), "a"),
        )
        .await
        .unwrap();
    assert_eq!(reply, "hello, a");
    b.ping(a.name()).await.unwrap();
    assert_eq!(a.connected(), vec![b.name().to_owned()]);
}

#[tokio::test]
async fn erlang_calls_an_exposed_rust_function_with_erpc_and_rpc() {
    use fauxtp::dist::term::Term;
    use fauxtp::dist::{FromTerm, ToTerm};
    let node = erlang::node("dist-calls").await;
    node.expose("math", "add", |args: &[Term]| match args {
        [a, b] => match (i64::from_term(a), i64::from_term(b)) {
            (Ok(a), Ok(b)) => Ok((a + b).to_term()),
            _ => Err("badarg".to_owned().to_term()),
        },
        _ => Err("badarity".to_owned().to_term()),
    })
    .unwrap();
    node.expose("math", "boom", |_: &[Term]| panic!("kaboom"))
        .unwrap();
    // An `Err` is an `error` exception with that reason; an unknown
    // function is `undef`; a panic is `{panic, Message}`.
    let eval = format!(
        "N = '{node}', \
         A = erpc:call(N, math, add, [1, 2]), \
         B = rpc:call(N, math, add, [40, 2]), \
         C = try erpc:call(N, math, add, [x, 2]) catch error:{{exception, R1, _}} -> R1 end, \
         D = try erpc:call(N, math, nosuch, []) catch error:{{exception, R2, _}} -> R2 end, \
         E = try erpc:call(N, math, boom, []) catch error:{{exception, R3, _}} -> R3 end, \
         io:format(\"~p ~p ~p ~p ~p~n\", [A, B, C, D, E]), halt().",
        node = node.name()
    );
    let mut erl = Beam::erl(&unique("e"), "dist-calls", &eval);
    assert_eq!(
        erl.line().await,
        "3 42 <<\"badarg\">> undef {panic,<<\"kaboom\">>}"
    );
}
