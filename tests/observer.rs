//! The observer, tested in a real headless Chromium driven over WebDriver
//! (Debian's chromium and chromium-driver, which `scripts/test` installs),
//! on the observer example's tree; and its API's answers to bad requests,
//! over plain HTTP.
//!
//! The page is read as a user sees it: the tests wait, with a bound, for
//! what it shows after the event stream has brought it up to date.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use fauxtp::observer::{ObserverError, ObserverOptions};
use fauxtp::prelude::*;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[path = "../examples/observer.rs"]
#[allow(dead_code)]
mod example;

/// How long the page may take to show what a test waits for.
const PAGE_WAIT: Duration = Duration::from_secs(10);

/// A headless Chromium and the chromedriver that drives it; both end when
/// this is dropped.
struct Browser {
    client: Option<Client>,
    driver: tokio::process::Child,
    _profile: TempDir,
}

/// A directory removed when dropped.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn chromium() -> &'static str {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|path| std::path::Path::new(path).exists())
        .expect("Chromium is installed (scripts/test installs Debian's chromium)")
}

impl Browser {
    async fn start() -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = tokio::process::Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver runs (scripts/test installs Debian's chromium-driver)");
        // Up once it accepts a connection.
        let deadline = tokio::time::Instant::now() + PAGE_WAIT;
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "chromedriver did not listen"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = std::env::temp_dir().join(format!("fauxtp-observer-test-{port}"));
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium(),
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1400,900",
                    format!("--user-data-dir={}", profile.display()),
                ],
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a browser session");
        Browser {
            client: Some(client),
            driver,
            _profile: TempDir(profile),
        }
    }

    fn client(&self) -> &Client {
        self.client.as_ref().expect("open")
    }

    /// Runs `script` in the page and gives its value.
    async fn eval(&self, script: &str) -> Value {
        self.client()
            .execute(script, vec![])
            .await
            .expect("the script runs")
    }

    /// Waits until `script` gives a value that `ready` accepts.
    async fn wait_until(&self, what: &str, script: &str, ready: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + PAGE_WAIT;
        loop {
            let value = self.eval(script).await;
            if ready(&value) {
                return value;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the page did not show {what} within {PAGE_WAIT:?}; it shows {value}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn close(mut self) {
        if let Some(client) = self.client.take() {
            let _ = client.close().await;
        }
        let _ = self.driver.kill().await;
    }
}

/// The children the tree on the page shows: id -> pid ("" for none).
const TREE_CHILDREN: &str = "return Object.fromEntries([...document.querySelectorAll('li.child')]
    .map(e => [e.dataset.child, e.dataset.pid]));";

fn children(value: &Value) -> BTreeMap<String, String> {
    serde_json::from_value(value.clone()).unwrap_or_default()
}

/// The pids the live tree has now, by child id.
async fn live_children(app: &Pid<fauxtp::supervisor::SupervisorMsg>) -> BTreeMap<String, String> {
    fn walk(node: &fauxtp::supervisor::SupervisorNode, out: &mut BTreeMap<String, String>) {
        for child in &node.children {
            out.insert(
                child.id.clone(),
                child
                    .pid
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            );
            if let Some(subtree) = &child.subtree {
                walk(subtree, out);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&fauxtp::supervisor::tree(app).await.unwrap(), &mut out);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_shows_the_tree_kills_a_worker_sorts_and_has_a_read_only_mode() {
    let (app, observer) = example::start("127.0.0.1:0", ObserverOptions::new())
        .await
        .unwrap();
    let read_only = ObserverOptions::new()
        .read_only(true)
        .serve("127.0.0.1:0")
        .await
        .unwrap();
    let browser = Browser::start().await;
    browser.client().goto(&observer.url()).await.unwrap();

    // Every child of the tree, each with its pid.
    let shown = browser
        .wait_until("every child of the tree", TREE_CHILDREN, |v| {
            let shown = children(v);
            example::CHILDREN
                .iter()
                .all(|id| shown.get(*id).is_some_and(|pid| pid.starts_with("<0.")))
        })
        .await;
    let live = live_children(&app).await;
    for (id, pid) in children(&shown) {
        // The flaky worker may have been restarted in between.
        if id != "flaky" {
            assert_eq!(live.get(&id), Some(&pid), "{id}");
        }
    }

    // Kill writer_a from the process table, confirming; the tree shows the
    // pid its supervisor starts next.
    let old = fauxtp::registry::whereis_any("observer-writer-a").unwrap();
    let kill = format!("tr[data-id=\"{}\"] button.kill", old.id());
    browser
        .wait_until(
            "writer_a's row",
            &format!("return !!document.querySelector('{kill}');"),
            |v| v == &json!(true),
        )
        .await;
    browser
        .client()
        .find(Locator::Css(&kill))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.client().accept_alert().await.unwrap();
    let old_text = old.to_string();
    let shown = browser
        .wait_until("a new pid for writer_a", TREE_CHILDREN, |v| {
            children(v)
                .get("writer_a")
                .is_some_and(|pid| pid.starts_with("<0.") && *pid != old_text)
        })
        .await;
    assert!(!old.is_alive());
    assert_eq!(old.exit_reason(), Some(ExitReason::Killed));
    let new = fauxtp::registry::whereis_any("observer-writer-a").unwrap();
    assert_eq!(children(&shown)["writer_a"], new.to_string());

    // A process's page: its status, its ancestors, and its state, since
    // the writer's state is `Debug`.
    let writer_b = fauxtp::registry::whereis_any("observer-writer-b").unwrap();
    browser
        .client()
        .find(Locator::Css(&format!(
            "li.child[data-child=writer_b] .pid[data-id=\"{}\"]",
            writer_b.id()
        )))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let page = browser
        .wait_until(
            "writer_b's page",
            "const state = document.querySelector('#process pre.state');
             return state && [document.getElementById('process-title').textContent, state.textContent];",
            |v| v.is_array(),
        )
        .await;
    assert_eq!(page[0], json!(writer_b.to_string()));
    assert!(
        page[1]
            .as_str()
            .unwrap()
            .starts_with("Writer { label: \"b\", written: "),
        "{page}"
    );

    // A process with a long mailbox comes first when sorted by mailbox.
    let stuck = fauxtp::spawn(|_: Ctx<u32>| std::future::pending::<ProcessResult>());
    for n in 0..50u32 {
        stuck.send(n).unwrap();
    }
    browser
        .client()
        .find(Locator::Css("th[data-sort=mailbox]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let mailboxes = browser
        .wait_until(
            "the stuck process first",
            "return [...document.querySelectorAll('#processes tbody tr')]
                .map(r => [Number(r.dataset.id), Number(r.querySelector('.mailbox').textContent)]);",
            |v| v[0][0] == json!(stuck.id()),
        )
        .await;
    let lengths: Vec<u64> = mailboxes
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row[1].as_u64().unwrap())
        .collect();
    assert_eq!(lengths[0], 50);
    assert!(lengths.windows(2).all(|w| w[0] >= w[1]), "{lengths:?}");

    // The screenshot the guide shows, once the flaky worker has crashed
    // and been restarted (every few seconds): the crash-looping child the
    // guide walks through.
    browser
        .wait_until(
            "the flaky worker restarted",
            "return Number(document.querySelector('li.child[data-child=flaky]').dataset.restarts) > 0
                && document.querySelectorAll('#exits li .error').length > 1;",
            |v| v == &json!(true),
        )
        .await;
    let screenshot = browser.client().screenshot().await.unwrap();
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("observer.png");
    std::fs::write(&path, screenshot).unwrap();

    // Read-only: the same system, no action offered.
    browser.client().goto(&read_only.url()).await.unwrap();
    browser
        .wait_until(
            "the read-only table",
            "return document.querySelectorAll('#processes tbody tr').length;",
            |v| v.as_u64().is_some_and(|n| n > 0),
        )
        .await;
    let actions = browser
        .eval("return [document.querySelectorAll('button.action').length, !document.getElementById('mode').hidden];")
        .await;
    assert_eq!(actions, json!([0, true]));

    browser.close().await;
    fauxtp::genserver::stop(&app, ExitReason::Shutdown, Duration::from_secs(5))
        .await
        .unwrap();
    observer.shutdown().await;
    read_only.shutdown().await;
}

/// Sends one HTTP/1.1 request; gives the status and the JSON body.
async fn http(addr: SocketAddr, method: &str, path: &str, token: Option<&str>) -> (u16, Value) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let token = token.map_or(String::new(), |t| format!("x-fauxtp-token: {t}\r\n"));
    let request = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\n{token}content-length: 0\r\nconnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

async fn get(addr: SocketAddr, path: &str) -> (u16, Value) {
    http(addr, "GET", path, None).await
}

async fn post(addr: SocketAddr, path: &str) -> (u16, Value) {
    http(addr, "POST", path, None).await
}

/// A server whose state is not `Debug`.
struct Secret;

#[genserver]
impl Secret {
    fn init() -> Self {
        Secret
    }
}

/// A server whose state is `Debug`: the page shows it.
#[derive(Debug)]
struct Open {
    #[allow(dead_code)] // read through `Debug`
    visible: u32,
}

#[genserver]
impl Open {
    fn init() -> Self {
        Open { visible: 7 }
    }
}

#[tokio::test]
async fn the_api_answers_bad_requests_with_a_clear_4xx() {
    let observer = fauxtp::observer::serve("127.0.0.1:0").await.unwrap();
    let addr = observer.local_addr();
    let secret = Secret::start(()).await.unwrap();
    let open = Open::start(()).await.unwrap();

    let (status, body) = get(addr, "/api/processes/abc").await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("not a pid number"));
    let (status, _) = get(addr, "/api/processes/999999999").await;
    assert_eq!(status, 404);
    let (status, _) = get(addr, "/api/processes?sort=colour").await;
    assert_eq!(status, 400);
    let (status, _) = get(addr, "/api/processes?limit=many").await;
    assert_eq!(status, 400);
    let (status, _) = post(addr, &format!("/api/processes/{}/explode", open.id())).await;
    assert_eq!(status, 404);
    let (status, _) = post(addr, "/api/supervisors/1/children/x/terminate").await;
    assert!(status == 404 || status == 409, "{status}");

    // A state is shown only for a server whose state is `Debug`.
    let (status, page) = get(addr, &format!("/api/processes/{}", secret.id())).await;
    assert_eq!(status, 200);
    assert!(
        page["state"]["text"].is_null() && page["state"]["hidden"].is_string(),
        "{page}"
    );
    let (_, page) = get(addr, &format!("/api/processes/{}", open.id())).await;
    assert_eq!(page["state"]["text"], json!("Open { visible: 7 }"));

    // Suspend and resume a server; its page says so.
    let (status, _) = post(addr, &format!("/api/processes/{}/suspend", open.id())).await;
    assert_eq!(status, 200);
    let (_, page) = get(addr, &format!("/api/processes/{}", open.id())).await;
    assert_eq!(page["status"], json!("suspended"), "{page}");
    assert_eq!(page["sys"]["status"], json!("suspended"), "{page}");
    let (status, _) = post(addr, &format!("/api/processes/{}/resume", open.id())).await;
    assert_eq!(status, 200);
    let (_, page) = get(addr, &format!("/api/processes/{}", open.id())).await;
    assert_eq!(page["sys"]["status"], json!("running"), "{page}");
    // A plain process is no server.
    let plain = fauxtp::spawn(|_: Ctx<()>| std::future::pending::<ProcessResult>());
    let (status, _) = post(addr, &format!("/api/processes/{}/suspend", plain.id())).await;
    assert_eq!(status, 409);

    // Read-only refuses actions; a token keeps out requests without it.
    let read_only = ObserverOptions::new()
        .read_only(true)
        .serve("127.0.0.1:0")
        .await
        .unwrap();
    let (status, _) = post(
        read_only.local_addr(),
        &format!("/api/processes/{}/kill", open.id()),
    )
    .await;
    assert_eq!(status, 403);
    assert!(open.is_alive());
    let guarded = ObserverOptions::new()
        .token("s3cret")
        .serve("127.0.0.1:0")
        .await
        .unwrap();
    let (status, _) = get(guarded.local_addr(), "/api/overview").await;
    assert_eq!(status, 401);
    let (status, _) = http(guarded.local_addr(), "GET", "/api/overview", Some("wrong")).await;
    assert_eq!(status, 401);
    let (status, overview) =
        http(guarded.local_addr(), "GET", "/api/overview", Some("s3cret")).await;
    assert_eq!(status, 200, "{overview}");
    assert!(guarded.url().ends_with("/?token=s3cret"));
    // The page itself carries no data and needs no token.
    let (status, _) = get(guarded.local_addr(), "/").await;
    assert_eq!(status, 200);

    // Killing works, and a killed process's page says why it ended.
    let (status, _) = get(addr, "/api/overview").await;
    assert_eq!(status, 200);
    let (status, _) = post(addr, &format!("/api/processes/{}/kill", secret.id())).await;
    assert_eq!(status, 200);
    fauxtp::testing::wait_for(|| !secret.is_alive(), Duration::from_secs(5))
        .await
        .unwrap();
    let (status, page) = get(addr, &format!("/api/processes/{}", secret.id())).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["alive"], json!(false));
    assert_eq!(page["exit_reason"], json!(ExitReason::Killed.to_string()));

    // A supervisor's child, terminated and restarted through the API.
    let spec = fauxtp::supervisor::SupervisorSpec::new(fauxtp::supervisor::Strategy::OneForOne)
        .child(Open::child(()).id("open"));
    let sup = fauxtp::supervisor::Supervisor::start(spec).await.unwrap();
    let child_path = |action: &str| format!("/api/supervisors/{}/children/open/{action}", sup.id());
    let (status, body) = post(addr, &child_path("terminate")).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = post(addr, &child_path("restart")).await;
    assert_eq!(status, 200, "{body}");
    let restarted = body["pid"].as_str().unwrap().to_owned();
    let (status, body) = post(addr, &child_path("restart")).await;
    assert_eq!(status, 200, "a running child is restarted too: {body}");
    assert_ne!(body["pid"].as_str().unwrap(), restarted);
    let (status, _) = post(
        addr,
        &format!("/api/supervisors/{}/children/nobody/terminate", sup.id()),
    )
    .await;
    assert_eq!(status, 409);
    let (status, _) = post(
        addr,
        &format!("/api/supervisors/{}/children/open/terminate", open.id()),
    )
    .await;
    assert_eq!(status, 409, "not a supervisor");

    // Loopback only, unless told otherwise.
    let refused = fauxtp::observer::serve("0.0.0.0:0").await.unwrap_err();
    assert!(
        matches!(refused, ObserverError::NotLoopback { .. }),
        "{refused}"
    );

    observer.shutdown().await;
    read_only.shutdown().await;
    guarded.shutdown().await;
}
