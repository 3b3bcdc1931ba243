//! The HTTP side: the page's three files, the JSON API it reads, the event
//! stream that keeps it current, and the actions. Every `/api` route checks
//! the token; the actions check read-only mode.

use std::convert::Infallible;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::{Path, Query, Request, State as Shared};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use fauxtp::process::{self, AnyPid};
use fauxtp::supervisor::{SupervisorClient, SupervisorMsg};
use fauxtp::sys::{self, SysError};
use fauxtp::{Ctx, ExitReason};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::sync::watch;

use crate::snapshot::{self, Cache, Row};
use crate::REFRESH;

/// How long a `sys` request or a supervisor request from the page may
/// take.
const ASK_TIMEOUT: Duration = Duration::from_secs(2);

/// The most rows one page of the table may ask for.
const MAX_LIMIT: usize = 1_000;

/// What every request shares.
pub(crate) struct State {
    read_only: bool,
    token: Option<String>,
    /// True once the observer closes: event streams end.
    closed: watch::Receiver<bool>,
    cache: Mutex<Cache>,
}

impl State {
    pub(crate) fn new(
        read_only: bool,
        token: Option<String>,
        closed: watch::Receiver<bool>,
    ) -> Self {
        State {
            read_only,
            token,
            closed,
            cache: Mutex::default(),
        }
    }

    fn cache(&self) -> MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A scan of every process no older than half a refresh. A new one
    /// runs on tokio's blocking threads: with 100,000 processes it takes
    /// tens of milliseconds, which a worker thread's processes should not
    /// wait for.
    async fn scan(self: &Arc<Self>) -> Arc<snapshot::Scan> {
        let state = self.clone();
        match tokio::task::spawn_blocking(move || state.cache().scan(REFRESH / 2)).await {
            Ok(scan) => scan,
            // The blocking pool is shutting down: scan here.
            Err(_) => self.cache().scan(REFRESH / 2),
        }
    }

    /// Trees, registry, recent exits and the cost of the scan: what the
    /// event stream sends each second.
    async fn overview(self: &Arc<Self>) -> Value {
        let scan = self.scan().await;
        let exits: Vec<_> = self.cache().exits.iter().cloned().collect();
        let trees = snapshot::trees(&scan).await;
        let exits: Vec<Value> = exits
            .into_iter()
            .map(|ended| {
                let ago = scan.taken.saturating_duration_since(ended.seen);
                let mut value = serde_json::to_value(&ended).unwrap_or(Value::Null);
                value["ago_ms"] = json!(ago.as_millis() as u64);
                value
            })
            .collect();
        json!({
            "processes": scan.rows.len(),
            "scan_us": scan.took.as_micros() as u64,
            "trees": trees,
            "registry": snapshot::registry(),
            "exits": exits,
        })
    }
}

type Api = Arc<State>;

pub(crate) fn router(state: Api) -> Router {
    let api = Router::new()
        .route("/config", get(config))
        .route("/overview", get(overview))
        .route("/events", get(events))
        .route("/processes", get(processes))
        .route("/processes/{id}", get(process_page))
        .route("/processes/{id}/{action}", post(process_action))
        .route(
            "/supervisors/{id}/children/{child}/{action}",
            post(child_action),
        )
        .fallback(|| async { ApiError::NotFound("no such API route".into()) })
        .route_layer(middleware::from_fn_with_state(state.clone(), check_token))
        .with_state(state);
    Router::new()
        .route("/", get(|| asset("text/html; charset=utf-8", INDEX)))
        .route(
            "/app.js",
            get(|| asset("text/javascript; charset=utf-8", APP)),
        )
        .route(
            "/style.css",
            get(|| asset("text/css; charset=utf-8", STYLE)),
        )
        .nest("/api", api)
}

const INDEX: &str = include_str!("assets/index.html");
const APP: &str = include_str!("assets/app.js");
const STYLE: &str = include_str!("assets/style.css");

async fn asset(kind: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}

/// An API error: a status and a JSON `{"error": ...}`.
#[derive(Debug)]
enum ApiError {
    BadRequest(String),
    Unauthorized,
    Forbidden(String),
    NotFound(String),
    Conflict(String),
    Unavailable(String),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "a valid token is needed (the `token` query parameter or the x-fauxtp-token header)"
                    .into(),
            ),
            ApiError::Forbidden(m) => (StatusCode::FORBIDDEN, m),
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, m),
            ApiError::Conflict(m) => (StatusCode::CONFLICT, m),
            ApiError::Unavailable(m) => (StatusCode::SERVICE_UNAVAILABLE, m),
        };
        (status, Json(json!({ "error": message }))).into_response()
    }
}

/// Percent-encodes a token for a URL's query.
pub(crate) fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Decodes a percent-encoded query value; `None` if it is malformed.
fn decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Compares two strings in time that does not depend on where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0, |acc, (x, y)| acc | (x ^ y))
            == 0
}

async fn check_token(Shared(state): Shared<Api>, request: Request, next: Next) -> Response {
    if let Some(token) = &state.token {
        let from_header = request
            .headers()
            .get("x-fauxtp-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let from_query = request.uri().query().and_then(|query| {
            query
                .split('&')
                .find_map(|pair| pair.strip_prefix("token="))
                .and_then(decode)
        });
        let given = from_header.or(from_query);
        if !given.is_some_and(|given| same(&given, token)) {
            return ApiError::Unauthorized.into_response();
        }
    }
    next.run(request).await
}

async fn config(Shared(state): Shared<Api>) -> Json<Value> {
    Json(json!({
        "read_only": state.read_only,
        "refresh_ms": REFRESH.as_millis() as u64,
        "version": env!("CARGO_PKG_VERSION"),
    }))
}

async fn overview(Shared(state): Shared<Api>) -> Json<Value> {
    Json(state.overview().await)
}

/// The overview once a second, as server-sent events named `overview`,
/// until the page goes or the observer closes.
async fn events(Shared(state): Shared<Api>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let stream = futures_util::stream::unfold((state, true), |(state, first)| async move {
        if !first {
            let mut closed = state.closed.clone();
            tokio::select! {
                _ = tokio::time::sleep(REFRESH) => {}
                _ = closed.wait_for(|closed| *closed) => return None,
            }
        }
        if *state.closed.borrow() {
            return None;
        }
        let overview = state.overview().await;
        let event = Event::default()
            .event("overview")
            .data(overview.to_string());
        Some((Ok(event), (state, false)))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// The table's query: `sort`, `order`, `filter`, `offset`, `limit`.
#[derive(Debug, Deserialize)]
struct TableQuery {
    sort: Option<String>,
    order: Option<String>,
    filter: Option<String>,
    offset: Option<usize>,
    limit: Option<usize>,
}

/// One page of the process table, sorted and filtered.
#[derive(Debug, Serialize)]
struct Table {
    total: usize,
    matched: usize,
    offset: usize,
    scan_us: u64,
    rows: Vec<Row>,
}

async fn processes(
    Shared(state): Shared<Api>,
    query: Result<Query<TableQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Table>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let scan = state.scan().await;
    let filter = query.filter.unwrap_or_default().to_lowercase();
    let mut rows: Vec<&Row> = scan
        .rows
        .iter()
        .filter(|row| {
            filter.is_empty()
                || row.pid.contains(&filter)
                || row
                    .name
                    .as_deref()
                    .is_some_and(|n| n.to_lowercase().contains(&filter))
                || row
                    .server
                    .is_some_and(|s| s.to_lowercase().contains(&filter))
        })
        .collect();
    let sort = query.sort.as_deref().unwrap_or("pid");
    match sort {
        "pid" => rows.sort_by_key(|r| r.id),
        "name" => rows.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id))),
        "server" => rows.sort_by(|a, b| a.server.cmp(&b.server).then(a.id.cmp(&b.id))),
        "status" => rows.sort_by(|a, b| a.status.cmp(b.status).then(a.id.cmp(&b.id))),
        "mailbox" => rows.sort_by_key(|r| (r.mailbox_len, r.id)),
        "handled" => rows.sort_by_key(|r| (r.messages_handled, r.id)),
        "links" => rows.sort_by_key(|r| (r.links, r.id)),
        "monitors" => rows.sort_by_key(|r| (r.monitors + r.monitored_by, r.id)),
        "uptime" => rows.sort_by_key(|r| (r.uptime_ms, r.id)),
        other => {
            return Err(ApiError::BadRequest(format!(
                "cannot sort by {other:?}: use pid, name, server, status, mailbox, handled, links, monitors or uptime"
            )))
        }
    }
    match query.order.as_deref() {
        None | Some("asc") => {}
        Some("desc") => rows.reverse(),
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "order {other:?}: use asc or desc"
            )))
        }
    }
    let offset = query.offset.unwrap_or(0);
    let limit = query.limit.unwrap_or(100).min(MAX_LIMIT);
    Ok(Json(Table {
        total: scan.rows.len(),
        matched: rows.len(),
        offset,
        scan_us: scan.took.as_micros() as u64,
        rows: rows.into_iter().skip(offset).take(limit).cloned().collect(),
    }))
}

/// A pid's number from the path (`42` or `<0.42.0>`).
fn parse_id(text: &str) -> Result<u64, ApiError> {
    let inner = text
        .strip_prefix("<0.")
        .and_then(|rest| rest.strip_suffix(".0>"))
        .unwrap_or(text);
    inner.parse().map_err(|_| {
        ApiError::BadRequest(format!("{text:?} is not a pid number (42, or <0.42.0>)"))
    })
}

fn pid_list(pids: &[AnyPid]) -> Vec<Value> {
    pids.iter()
        .map(|pid| json!({ "id": pid.id(), "pid": pid.to_string(), "name": pid.registered_name() }))
        .collect()
}

async fn process_page(
    Shared(state): Shared<Api>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let Some(pid) = process::find(id) else {
        // Ended since the page listed it: say why, if the observer saw it.
        let known = state.cache().known(id);
        return match known.and_then(|pid| pid.exit_reason().map(|r| (pid, r))) {
            Some((pid, reason)) => Ok(Json(json!({
                "id": id,
                "pid": pid.to_string(),
                "alive": false,
                "exit_reason": reason.to_string(),
            }))),
            None => Err(ApiError::NotFound(format!("no process <0.{id}.0>"))),
        };
    };
    let Some(info) = process::info(&pid) else {
        return Ok(Json(json!({
            "id": id,
            "pid": pid.to_string(),
            "alive": false,
            "exit_reason": pid.exit_reason().map(|r| r.to_string()),
        })));
    };
    let mut page = json!({
        "id": id,
        "pid": pid.to_string(),
        "alive": true,
        "name": info.name,
        "server": info.server,
        "status": snapshot::status_text(info.status),
        "mailbox_len": info.mailbox_len,
        "messages_handled": info.messages_handled,
        "trap_exit": info.trap_exit,
        "uptime_ms": info.uptime.as_millis() as u64,
        "links": pid_list(&info.links),
        "monitors": pid_list(&info.monitors),
        "monitored_by": pid_list(&info.monitored_by),
        "parent": info.parent.as_ref().map(|p| pid_list(std::slice::from_ref(p))[0].clone()),
        "ancestors": pid_list(&info.ancestors),
    });
    if info.server.is_some() {
        let ask = sys::with_timeout(ASK_TIMEOUT);
        page["sys"] = match ask.get_status(&pid).await {
            Ok(status) => json!({
                "status": format!("{:?}", status.status).to_lowercase(),
                "parent": status.parent.map(|p| p.to_string()),
                "messages_handled": status.messages_handled,
                "traced": status.traced,
            }),
            Err(error) => json!({ "error": error.to_string() }),
        };
        page["state"] = match ask.get_state(&pid).await {
            Ok(text) => json!({ "text": text }),
            // Nothing of a state that is not `Debug` is shown.
            Err(SysError::NoDebug { .. }) => {
                json!({ "hidden": "its state does not implement Debug" })
            }
            Err(error) => json!({ "error": error.to_string() }),
        };
    }
    Ok(Json(page))
}

fn refuse_if_read_only(state: &State) -> Result<(), ApiError> {
    if state.read_only {
        Err(ApiError::Forbidden("this observer is read-only".into()))
    } else {
        Ok(())
    }
}

async fn process_action(
    Shared(state): Shared<Api>,
    Path((id, action)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    refuse_if_read_only(&state)?;
    let id = parse_id(&id)?;
    let pid =
        process::find(id).ok_or_else(|| ApiError::NotFound(format!("no process <0.{id}.0>")))?;
    let ask = sys::with_timeout(ASK_TIMEOUT);
    let sys_error = |error: SysError| match error {
        SysError::NotAServer { .. } => ApiError::Conflict(error.to_string()),
        error => ApiError::Unavailable(error.to_string()),
    };
    match action.as_str() {
        "kill" => {
            // From a short-lived process of the observer's own, as
            // Erlang's observer does `exit(Pid, kill)`.
            Ctx::<()>::detached().exit(&pid, ExitReason::Kill);
        }
        "suspend" => ask.suspend(&pid).await.map_err(sys_error)?,
        "resume" => ask.resume(&pid).await.map_err(sys_error)?,
        other => {
            return Err(ApiError::NotFound(format!(
                "no action {other:?} on a process: use kill, suspend or resume"
            )))
        }
    }
    Ok(Json(
        json!({ "ok": true, "pid": pid.to_string(), "action": action }),
    ))
}

async fn child_action(
    Shared(state): Shared<Api>,
    Path((id, child, action)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    refuse_if_read_only(&state)?;
    let id = parse_id(&id)?;
    let pid =
        process::find(id).ok_or_else(|| ApiError::NotFound(format!("no process <0.{id}.0>")))?;
    let sup = pid
        .downcast::<SupervisorMsg>()
        .ok_or_else(|| ApiError::Conflict(format!("{pid} is not a supervisor")))?;
    let failed = |error: fauxtp::supervisor::SupervisorError| ApiError::Conflict(error.to_string());
    let timed_out =
        |_| ApiError::Unavailable(format!("{pid} did not answer within {ASK_TIMEOUT:?}"));
    let answer = match action.as_str() {
        "terminate" => {
            tokio::time::timeout(ASK_TIMEOUT, sup.terminate_child(&child))
                .await
                .map_err(timed_out)?
                .map_err(failed)?;
            json!({ "ok": true, "child": child, "action": action })
        }
        "restart" => {
            // A running child is terminated first (OTP's restart_child
            // takes only a terminated one): what the page's button means.
            let running = tokio::time::timeout(ASK_TIMEOUT, sup.which_children())
                .await
                .map_err(timed_out)?
                .map_err(failed)?
                .iter()
                .any(|c| c.id == child && c.pid.is_some());
            if running {
                tokio::time::timeout(ASK_TIMEOUT, sup.terminate_child(&child))
                    .await
                    .map_err(timed_out)?
                    .map_err(failed)?;
            }
            let new = tokio::time::timeout(ASK_TIMEOUT, sup.restart_child(&child))
                .await
                .map_err(timed_out)?
                .map_err(failed)?;
            json!({ "ok": true, "child": child, "action": action, "pid": new.to_string() })
        }
        other => {
            return Err(ApiError::NotFound(format!(
                "no action {other:?} on a child: use terminate or restart"
            )))
        }
    };
    Ok(Json(answer))
}
