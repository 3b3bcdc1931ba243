// The fauxtp observer page: reads the JSON API, follows the event stream,
// and asks for confirmation before any action.
"use strict";

const token = new URLSearchParams(location.search).get("token");
const table = { sort: "pid", order: "asc", filter: "", offset: 0, limit: 100 };
let readOnly = true;
let shownProcess = null;
// "supervisor id/child id" -> pid text, from the last render of the trees.
let lastPids = new Map();

function withToken(path) {
  if (!token) return path;
  return path + (path.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token);
}

async function api(path, options = {}) {
  const response = await fetch(withToken("api/" + path), options);
  const body = await response.json().catch(() => ({ error: response.statusText }));
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

function escape(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
  })[c]);
}

function pidLink(id, text) {
  return `<span class="pid" data-id="${id}">${escape(text)}</span>`;
}

function duration(ms) {
  const s = Math.floor(ms / 1000);
  if (s < 60) return s + " s";
  if (s < 3600) return Math.floor(s / 60) + " min";
  return Math.floor(s / 3600) + " h";
}

function button(action, attributes, label) {
  if (readOnly) return "";
  return `<button type="button" class="action ${action}" data-action="${action}" ${attributes}>${label}</button>`;
}

// --- Trees -----------------------------------------------------------

function intensity(sup) {
  const hot = sup.restarts_in_window > 0 ? " hot" : "";
  return `<span class="intensity${hot}">${escape(sup.strategy)}, restarts ` +
    `${sup.restarts_in_window}/${sup.max_restarts} within ${duration(sup.within_ms)}</span>`;
}

function renderSupervisor(sup) {
  const name = sup.name ? ` ${escape(sup.name)}` : "";
  const children = sup.children.map((child) => renderChild(sup, child)).join("");
  return `<ul class="tree root"><li class="sup" data-supervisor="${sup.id}">` +
    `${pidLink(sup.id, sup.pid)}${name} ${intensity(sup)}<ul class="tree">${children}</ul></li></ul>`;
}

function renderChild(sup, child) {
  const key = sup.id + "/" + child.id;
  const before = lastPids.get(key);
  const classes = ["child"];
  if (child.pid === null) classes.push("gone");
  else if (before !== undefined && before !== child.pid) classes.push("restarted");
  const pid = child.pid === null ? "not running" : pidLink(child.pid_id, child.pid);
  const target = `data-supervisor="${sup.id}" data-child="${escape(child.id)}"`;
  const actions = button("terminate", target, "terminate") + button("restart", target, "restart");
  const sub = child.subtree;
  const subIntensity = sub ? ` · ${intensity(sub)}` : "";
  const subChildren = sub ? `<ul class="tree">${sub.children.map((c) => renderChild(sub, c)).join("")}</ul>` : "";
  return `<li class="${classes.join(" ")}" ${target} data-pid="${escape(child.pid ?? "")}" ` +
    `data-restarts="${child.restarts}"><span class="label"><b>${escape(child.id)}</b> ${pid} ` +
    `${escape(child.kind)} ${escape(child.restart)}, restarts ${child.restarts}${subIntensity}</span>` +
    `${actions}${subChildren}</li>`;
}

function rememberPids(sup) {
  for (const child of sup.children) {
    lastPids.set(sup.id + "/" + child.id, child.pid);
    if (child.subtree) rememberPids(child.subtree);
  }
}

function renderTrees(trees) {
  const element = document.getElementById("trees");
  element.innerHTML = trees.length
    ? trees.map(renderSupervisor).join("")
    : `<p class="empty">No supervisor is running.</p>`;
  lastPids = new Map();
  trees.forEach(rememberPids);
}

// --- Registry, crashes, summary --------------------------------------

function renderOverview(overview) {
  renderTrees(overview.trees);
  document.querySelector("#registry tbody").innerHTML = overview.registry
    .map((r) => `<tr data-name="${escape(r.name)}"><td>${escape(r.name)}</td><td>${pidLink(r.id, r.pid)}</td></tr>`)
    .join("") || `<tr><td class="empty">No registered name.</td></tr>`;
  document.getElementById("exits").innerHTML = overview.exits
    .map((e) => `<li>${pidLink(e.id, e.pid)} ${escape(e.name ?? e.server ?? "")}: ` +
      `<span class="error">${escape(e.reason)}</span> (${duration(e.ago_ms)} ago)</li>`)
    .join("") || `<li class="empty">None seen since the page opened.</li>`;
  document.getElementById("summary").textContent =
    `${overview.processes} processes, read in ${(overview.scan_us / 1000).toFixed(1)} ms`;
}

// --- Process table ---------------------------------------------------

async function refreshTable() {
  const query = new URLSearchParams({
    sort: table.sort, order: table.order, filter: table.filter,
    offset: table.offset, limit: table.limit,
  });
  let page;
  try {
    page = await api("processes?" + query);
  } catch (error) {
    document.getElementById("page").textContent = error.message;
    return;
  }
  document.querySelector("#processes tbody").innerHTML = page.rows.map((row) =>
    `<tr data-id="${row.id}" data-pid="${escape(row.pid)}">` +
    `<td>${pidLink(row.id, row.pid)}</td><td>${escape(row.name ?? "")}</td>` +
    `<td>${escape(row.server ?? "")}</td><td>${row.status}</td>` +
    `<td class="num mailbox">${row.mailbox_len}</td><td class="num">${row.messages_handled}</td>` +
    `<td class="num">${row.links}</td><td class="num">${row.monitors + row.monitored_by}</td>` +
    `<td class="num">${duration(row.uptime_ms)}</td>` +
    `<td>${button("kill", `data-id="${row.id}" data-pid="${escape(row.pid)}"`, "kill")}</td></tr>`
  ).join("");
  const last = Math.min(page.offset + page.rows.length, page.matched);
  document.getElementById("page").textContent =
    `${page.matched ? page.offset + 1 : 0}–${last} of ${page.matched}` +
    (page.matched !== page.total ? ` (of ${page.total})` : "");
  document.getElementById("prev").disabled = table.offset === 0;
  document.getElementById("next").disabled = last >= page.matched;
  for (const th of document.querySelectorAll("th[data-sort]")) {
    th.classList.toggle("sorted", th.dataset.sort === table.sort);
    th.classList.toggle("asc", th.dataset.sort === table.sort && table.order === "asc");
    th.classList.toggle("desc", th.dataset.sort === table.sort && table.order === "desc");
  }
}

// --- One process -----------------------------------------------------

function pidItems(list) {
  return list.length ? list.map((p) => pidLink(p.id, p.name ? `${p.pid} (${p.name})` : p.pid)).join(", ") : "none";
}

async function showProcess(id) {
  shownProcess = id;
  document.getElementById("process-section").hidden = false;
  let p;
  try {
    p = await api("processes/" + id);
  } catch (error) {
    document.getElementById("process").innerHTML = `<p class="error">${escape(error.message)}</p>`;
    return;
  }
  if (shownProcess !== id) return;
  document.getElementById("process-title").textContent = p.pid;
  if (!p.alive) {
    document.getElementById("process").innerHTML =
      `<p>Ended: <span class="error exit-reason">${escape(p.exit_reason ?? "unknown")}</span></p>`;
    return;
  }
  const actions = button("kill", `data-id="${p.id}" data-pid="${escape(p.pid)}"`, "kill") +
    (p.server ? button("suspend", `data-id="${p.id}" data-pid="${escape(p.pid)}"`, "suspend") +
      button("resume", `data-id="${p.id}" data-pid="${escape(p.pid)}"`, "resume") : "");
  let state = "";
  if (p.state) {
    state = p.state.text !== undefined
      ? `<dt>state</dt><dd><pre class="state">${escape(p.state.text)}</pre></dd>`
      : `<dt>state</dt><dd class="empty">${escape(p.state.hidden ?? p.state.error)}</dd>`;
  }
  const sys = p.sys && !p.sys.error ? `<dt>sys</dt><dd>${escape(p.sys.status)}${p.sys.traced ? ", traced" : ""}</dd>` : "";
  document.getElementById("process").innerHTML = `<dl>
    <dt>name</dt><dd>${escape(p.name ?? "none")}</dd>
    <dt>type</dt><dd>${escape(p.server ?? "process")}</dd>
    <dt>status</dt><dd class="status">${escape(p.status)}</dd>
    <dt>mailbox</dt><dd>${p.mailbox_len}</dd>
    <dt>handled</dt><dd>${p.messages_handled}</dd>
    <dt>uptime</dt><dd>${duration(p.uptime_ms)}</dd>
    <dt>trap_exit</dt><dd>${p.trap_exit}</dd>
    <dt>parent</dt><dd>${p.parent ? pidItems([p.parent]) : "none"}</dd>
    <dt>ancestors</dt><dd>${pidItems(p.ancestors)}</dd>
    <dt>links</dt><dd>${pidItems(p.links)}</dd>
    <dt>monitors</dt><dd>${pidItems(p.monitors)}</dd>
    <dt>monitored by</dt><dd>${pidItems(p.monitored_by)}</dd>
    ${sys}${state}
  </dl><p>${actions}</p>`;
}

// --- Actions ---------------------------------------------------------

async function act(target) {
  const action = target.dataset.action;
  let path, what;
  if (target.dataset.child !== undefined) {
    path = `supervisors/${target.dataset.supervisor}/children/${encodeURIComponent(target.dataset.child)}/${action}`;
    what = `${action} child ${target.dataset.child}`;
  } else {
    path = `processes/${target.dataset.id}/${action}`;
    what = `${action} ${target.dataset.pid}`;
  }
  if (!confirm(`Really ${what}?`)) return;
  try {
    await api(path, { method: "POST" });
  } catch (error) {
    alert(`Could not ${what}: ${error.message}`);
  }
  refreshTable();
  if (shownProcess !== null) showProcess(shownProcess);
}

document.addEventListener("click", (event) => {
  const target = event.target;
  if (target.matches("button.action")) {
    act(target);
  } else if (target.matches(".pid[data-id]")) {
    showProcess(Number(target.dataset.id));
  } else if (target.matches("th[data-sort]")) {
    const sort = target.dataset.sort;
    table.order = table.sort === sort && table.order === "desc" ? "asc" : sort === table.sort ? "desc" : defaultOrder(sort);
    table.sort = sort;
    table.offset = 0;
    refreshTable();
  }
});

// Numbers sort biggest first on the first click: the busiest mailbox on top.
function defaultOrder(sort) {
  return ["mailbox", "handled", "links", "monitors", "uptime"].includes(sort) ? "desc" : "asc";
}

document.getElementById("filter").addEventListener("input", (event) => {
  table.filter = event.target.value;
  table.offset = 0;
  refreshTable();
});
document.getElementById("prev").addEventListener("click", () => {
  table.offset = Math.max(0, table.offset - table.limit);
  refreshTable();
});
document.getElementById("next").addEventListener("click", () => {
  table.offset += table.limit;
  refreshTable();
});
document.getElementById("close-process").addEventListener("click", () => {
  shownProcess = null;
  document.getElementById("process-section").hidden = true;
});

// --- Start -----------------------------------------------------------

async function start() {
  try {
    const config = await api("config");
    readOnly = config.read_only;
  } catch (error) {
    document.getElementById("summary").textContent = error.message;
    return;
  }
  document.getElementById("mode").hidden = !readOnly;
  document.body.classList.toggle("read-only", readOnly);
  const events = new EventSource(withToken("api/events"));
  const connection = document.getElementById("connection");
  events.addEventListener("open", () => { connection.textContent = "live"; connection.className = "up"; });
  events.addEventListener("error", () => { connection.textContent = "offline"; connection.className = "down"; });
  events.addEventListener("overview", (event) => {
    renderOverview(JSON.parse(event.data));
    refreshTable();
    if (shownProcess !== null) showProcess(shownProcess);
    document.body.dataset.updates = String(Number(document.body.dataset.updates ?? 0) + 1);
  });
}

start();
