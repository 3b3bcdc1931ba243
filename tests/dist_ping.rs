//! A fauxtp node and real Erlang and Elixir nodes: connecting both ways,
//! ping, cookies, hidden nodes, and names this node does not have.

mod erlang;

use std::time::Duration;

use erlang::{unique, Beam, WAIT};
use fauxtp::dist::{Cookie, DistError, Node};

/// An Erlang node that says "ready" once its distribution runs (it is
/// registered with epmd by then) and waits.
async fn erlang_node(cookie: &str) -> Beam {
    let mut erl = Beam::erl(
        &unique("e"),
        cookie,
        "io:format(\"ready~n\"), receive stop -> ok end.",
    );
    assert_eq!(erl.line().await, "ready");
    erl
}

#[tokio::test]
async fn erlang_pings_a_fauxtp_node_which_is_hidden() {
    let node = erlang::node("dist-ping").await;
    let eval = format!(
        "R = net_adm:ping('{}'), io:format(\"~p ~p ~p~n\", [R, nodes(), nodes(hidden)]), halt().",
        node.name()
    );
    let mut erl = Beam::erl(&unique("e"), "dist-ping", &eval);
    assert_eq!(erl.line().await, format!("pong [] [{}]", node.name()));
}

#[tokio::test]
async fn a_fauxtp_node_pings_erlang() {
    let node = erlang::node("dist-ping").await;
    let erl = erlang_node("dist-ping").await;
    node.ping(&erl.name).await.unwrap();
    assert_eq!(node.connected(), vec![erl.name.clone()]);
    // Connected: a second ping uses the same connection.
    node.ping(&erl.name).await.unwrap();
    // The node notices the lost connection: its node monitor says so, and
    // by then the connection is gone from the list.
    let mut me = fauxtp::Ctx::<fauxtp::dist::NodeDown>::detached();
    node.monitor_node(&erl.name, &me.pid()).await;
    drop(erl);
    fauxtp::assert_receives!(me, fauxtp::dist::NodeDown { .. }, WAIT);
    assert!(node.connected().is_empty());
}

#[tokio::test]
async fn elixir_pings_a_fauxtp_node() {
    let node = erlang::node("dist-ping").await;
    let code = format!("IO.inspect(Node.ping(:\"{}\"))", node.name());
    let mut elixir = Beam::elixir(&unique("ex"), "dist-ping", &code);
    assert_eq!(elixir.line().await, ":pong");
}

#[tokio::test]
async fn a_wrong_cookie_fails_on_both_sides() {
    let node = erlang::node("right-cookie").await;
    let eval = format!(
        "io:format(\"~p~n\", [net_adm:ping('{}')]), receive stop -> ok end.",
        node.name()
    );
    let mut erl = Beam::erl(&unique("e"), "wrong-cookie", &eval);
    assert_eq!(erl.line().await, "pang");
    assert!(node.connected().is_empty());
    let error = node.ping(&erl.name).await.unwrap_err();
    assert!(
        matches!(&error, DistError::CookieMismatch { node } if *node == erl.name),
        "{error}"
    );
    assert!(node.connected().is_empty());
}

#[tokio::test]
async fn a_call_to_a_name_this_node_does_not_have_fails_at_once() {
    let node = erlang::node("dist-ping").await;
    // gen_server:call monitors the name first: the monitor fires with
    // noproc at once, long before the call's own 5 s timeout.
    let eval = format!(
        "T = erlang:monotonic_time(millisecond), \
         {{'EXIT', {{Reason, _}}}} = (catch gen_server:call({{nosuch, '{}'}}, hello, 5000)), \
         io:format(\"~p ~p~n\", [Reason, erlang:monotonic_time(millisecond) - T < 2000]), halt().",
        node.name()
    );
    let mut erl = Beam::erl(&unique("e"), "dist-ping", &eval);
    assert_eq!(erl.line().await, "noproc true");
}

#[tokio::test]
async fn a_node_that_does_not_run_is_a_typed_error() {
    let node = erlang::node("dist-ping").await;
    let error = node.ping(&unique("nobody")).await.unwrap_err();
    assert!(matches!(error, DistError::UnknownNode { .. }), "{error}");
    let error = node.ping("no-at-sign").await.unwrap_err();
    assert!(matches!(error, DistError::InvalidName { .. }), "{error}");
}

#[tokio::test]
async fn erpc_of_a_function_the_node_does_not_expose_is_undef_and_spawn_is_refused() {
    let node = erlang::node("dist-ping").await;
    // A fauxtp node runs no Erlang code: erpc reaches only the functions
    // it exposes (`Node::expose`), and a spawn of anything else is refused.
    let eval = format!(
        "N = '{}', \
         R = try erpc:call(N, erlang, node, [], 2000) catch error:{{exception, E, _}} -> E end, \
         S = try erlang:spawn_request(N, erlang, node, [], [monitor]) of \
               Id -> receive {{spawn_reply, Id, error, Why}} -> Why; {{'DOWN', Id, _, _, Why}} -> Why after 2000 -> timeout end \
             catch error:W -> W end, \
         io:format(\"~p ~p~n\", [R, S]), halt().",
        node.name()
    );
    let mut erl = Beam::erl(&unique("e"), "dist-ping", &eval);
    assert_eq!(erl.line().await, "undef notsup");
}

#[tokio::test]
async fn a_node_monitor_delivers_nodedown_when_the_connection_goes() {
    use fauxtp::dist::NodeDown;
    use fauxtp::prelude::*;

    let node = erlang::node("dist-ping").await;
    let mut me = Ctx::<NodeDown>::detached();
    let erl = erlang_node("dist-ping").await;
    node.ping(&erl.name).await.unwrap();
    node.monitor_node(&erl.name, &me.pid()).await;
    node.monitor_node(&erl.name, &me.pid()).await;
    // One taken off never fires.
    let removed = node.monitor_node(&erl.name, &me.pid()).await;
    assert!(node.demonitor_node(&removed));
    assert!(!node.demonitor_node(&removed));
    assert_eq!(node.stats().node_monitors, 2);
    let gone = erl.name.clone();
    drop(erl);
    // One nodedown per monitor.
    for _ in 0..2 {
        fauxtp::assert_receives!(me, NodeDown { node: down } if down == gone, WAIT);
    }
    fauxtp::assert_no_message!(me, Duration::from_millis(50));

    // A node that cannot be reached: at once.
    let nobody = unique("nobody");
    node.monitor_node(&nobody, &me.pid()).await;
    fauxtp::assert_receives!(me, NodeDown { node: down } if down == nobody, WAIT);
}

#[tokio::test]
async fn node_monitors_go_with_the_process_that_made_them() {
    use fauxtp::dist::NodeDown;
    use fauxtp::prelude::*;

    let node = erlang::node("dist-ping").await;
    let erl = erlang_node("dist-ping").await;
    node.ping(&erl.name).await.unwrap();
    let owner = fauxtp::spawn(|mut ctx: Ctx<NodeDown>| async move {
        loop {
            receive!(ctx, { _ => {} });
        }
    });
    node.monitor_node(&erl.name, &owner).await;
    node.monitor_node(&erl.name, &owner).await;
    assert_eq!(node.stats().node_monitors, 2);
    let me = Ctx::<()>::detached();
    me.exit(owner, ExitReason::Kill);
    fauxtp::testing::wait_for(|| node.stats().node_monitors == 0, WAIT)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_published_node_is_listed_in_nodes() {
    erlang::ensure_epmd();
    let options = fauxtp::dist::NodeOptions::new().published(true);
    let node = Node::start_with(&unique("rust"), Cookie::new("dist-ping"), options)
        .await
        .unwrap();
    let eval = format!(
        "pong = net_adm:ping('{}'), io:format(\"~p ~p~n\", [nodes(), nodes(hidden)]), halt().",
        node.name()
    );
    let mut erl = Beam::erl(&unique("e"), "dist-ping", &eval);
    assert_eq!(erl.line().await, format!("[{}] []", node.name()));
}

#[tokio::test]
async fn long_names_with_an_address_work_both_ways() {
    erlang::ensure_epmd();
    let rust_name = format!("rust_long_{}@127.0.0.1", std::process::id());
    let node = fauxtp::dist::Node::start(&rust_name, fauxtp::dist::Cookie::new("dist-long"))
        .await
        .unwrap();
    let erl_name = format!("e_long_{}@127.0.0.1", std::process::id());
    let eval = format!(
        "pong = net_adm:ping('{rust_name}'), io:format(\"ok~n\"), \
         receive stop -> ok after 10000 -> ok end, halt()."
    );
    let mut erl = Beam::erl(&erl_name, "dist-long", &eval);
    assert_eq!(erl.line().await, "ok");
    node.ping(&erl_name).await.unwrap();
}

#[tokio::test]
async fn a_peer_that_freezes_is_found_gone_within_net_ticktime() {
    use fauxtp::dist::{Cookie, Node, NodeDown, NodeOptions};
    use fauxtp::prelude::*;
    use std::time::Duration;

    erlang::ensure_epmd();
    let options = NodeOptions::new().net_ticktime(Duration::from_secs(2));
    let node = Node::start_with(&unique("rust"), Cookie::new("dist-tick"), options)
        .await
        .unwrap();
    let erl_name = unique("e");
    let mut erl = Beam::erl_with(
        &erl_name,
        "dist-tick",
        &["-kernel", "net_ticktime", "2"],
        "io:format(\"up~n\"), receive stop -> ok after 60000 -> ok end, halt().",
    );
    assert_eq!(erl.line().await, "up");
    node.ping(&erl_name).await.unwrap();
    let mut me = Ctx::<NodeDown>::detached();
    node.monitor_node(&erl_name, &me.pid()).await;

    // Frozen: the connection stays open, but nothing comes any more.
    let frozen = std::process::Command::new("kill")
        .args(["-STOP", &erl.os_pid().to_string()])
        .status()
        .unwrap();
    assert!(frozen.success());
    let started = tokio::time::Instant::now();
    fauxtp::assert_receives!(me, NodeDown { node: down } if down == erl_name, erlang::WAIT);
    // Four silent ticks of half a second, and the one that notices.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let _ = std::process::Command::new("kill")
        .args(["-CONT", &erl.os_pid().to_string()])
        .status();
}
