// The console: pages over the native API (/api/v1), with the session cookie and its CSRF
// token. Routes are URL fragments (#/flows, #/executions?flow=…, #/execution/FLOW/NAME, …).
"use strict";

const main = document.getElementById("main");
let session = null;
// What the current page must close when another one opens (event streams, timers).
let cleanups = [];

// ---- the API -------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, detail) { super(detail); this.status = status; }
}

async function api(path, options = {}) {
  const headers = { Accept: "application/json" };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  if (options.method && options.method !== "GET" && session) headers["X-CSRF-Token"] = session.csrf_token;
  const response = await fetch(path, {
    method: options.method || "GET", headers, credentials: "same-origin",
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  const body = text ? JSON.parse(text) : null;
  if (!response.ok) {
    if (response.status === 401 && !path.startsWith("/console/login")) showLogin();
    throw new ApiError(response.status, (body && (body.detail || body.title)) || response.statusText);
  }
  return body;
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  const s = q.toString();
  return s ? "?" + s : "";
}

const enc = encodeURIComponent;
const executionPath = (flow, name) => `/api/v1/flows/${enc(flow)}/executions/${enc(name)}`;

// Live updates: an event stream that calls `onEvent` (at most every `ms`) for each event.
function live(params, onEvent, ms = 150) {
  const source = new EventSource("/api/v1/events" + query(params));
  let timer = null;
  const fire = () => { timer = null; onEvent(); };
  source.onmessage = () => { if (!timer) timer = setTimeout(fire, ms); };
  for (const type of ["execution", "state", "lagged"]) source.addEventListener(type, source.onmessage);
  cleanups.push(() => { source.close(); clearTimeout(timer); });
  return source;
}

function every(ms, fn) {
  const id = setInterval(fn, ms);
  cleanups.push(() => clearInterval(id));
}

// ---- helpers for pages ---------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v === true) node.setAttribute(k, "");
    else if (v !== false && v !== undefined && v !== null) node.setAttribute(k, v);
  }
  for (const child of children.flat()) if (child !== null && child !== undefined) node.append(child);
  return node;
}

function statusPill(status, id) {
  return el("span", { class: `status ${status}`, id, "data-status": status }, status.replace("_", " "));
}

function time(value) {
  if (!value) return "";
  const d = new Date(value);
  return isNaN(d) ? String(value) : d.toLocaleString();
}

function json(value) {
  return value === undefined || value === null ? "" : typeof value === "string" ? value : JSON.stringify(value, null, 2);
}

function table(headings, rows, id) {
  const body = rows instanceof HTMLElement ? rows : el("tbody", {}, rows);
  return el("table", { id },
    el("thead", {}, el("tr", {}, headings.map((h) => el("th", {}, h)))), body);
}

// Fills a page's own element: a page still loading when another one opens writes into its
// element, no longer shown, and never over the new page.
function page(root, title, ...children) {
  root.replaceChildren(el("h1", {}, title), ...children);
}

function failure(error) {
  return el("p", { class: "error" }, error.message || String(error));
}

// ---- log in and out --------------------------------------------------------------------

function showLogin() {
  session = null;
  closePage();
  document.getElementById("nav").hidden = true;
  document.getElementById("logout").hidden = true;
  document.getElementById("who").textContent = "";
  main.textContent = "";
  main.append(document.getElementById("login-page").content.cloneNode(true));
  document.getElementById("login").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    try {
      session = await api("/console/login", { method: "POST", body: { key_id: form.get("key_id"), secret: form.get("secret") } });
      loggedIn();
    } catch (e) {
      document.getElementById("login-error").textContent = e.message;
    }
  });
}

function loggedIn() {
  document.getElementById("nav").hidden = false;
  document.getElementById("logout").hidden = false;
  document.getElementById("who").textContent = `${session.key_id} · tenant ${session.tenant}`;
  route();
}

document.getElementById("logout").addEventListener("click", async () => {
  try { await api("/console/logout", { method: "POST" }); } finally { showLogin(); }
});

// ---- routing -------------------------------------------------------------------------

function closePage() {
  for (const cleanup of cleanups) cleanup();
  cleanups = [];
}

function route() {
  if (!session) return showLogin();
  closePage();
  const [path, search] = location.hash.replace(/^#/, "").split("?");
  const params = Object.fromEntries(new URLSearchParams(search || ""));
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const pages = { flows: flowsPage, executions: executionsPage, execution: executionPage, schedules: schedulesPage, jobs: jobsPage };
  const show = pages[parts[0]] || flowsPage;
  const root = el("div");
  main.replaceChildren(root);
  show(root, params, ...parts.slice(1)).catch((e) => root.append(failure(e)));
}

window.addEventListener("hashchange", route);

// ---- Flows -----------------------------------------------------------------------------

async function allPages(path, params, field, cap = 10) {
  let items = [], token = undefined, more = false;
  for (let i = 0; i < cap; i++) {
    const body = await api(path + query({ ...params, limit: 1000, page_token: token }));
    items = items.concat(body[field] || []);
    token = body.next_page_token;
    more = !!token;
    if (!token) break;
  }
  return { items, more };
}

async function flowsPage(root) {
  const { items: flows } = await allPages("/api/v1/flows", {}, "flows");
  const body = el("tbody");
  page(root, "Flows", table(["Flow", "Dialect", "State", "Running", "Revision", "Created"], body, "flows"));
  for (const flow of flows) {
    const running = el("td", { class: "running" }, "…");
    body.append(el("tr", { "data-flow": flow.name },
      el("td", {}, el("a", { href: `#/executions?flow=${enc(flow.name)}` }, flow.name)),
      el("td", {}, flow.dialect),
      el("td", { class: flow.open ? "open" : "closed" }, flow.open ? "open" : "closed"),
      running,
      el("td", {}, String(flow.revision ?? "")),
      el("td", {}, time(flow.created_at))));
    allPages("/api/v1/executions", { flow: flow.name, status: "running" }, "executions", 1)
      .then(({ items, more }) => { running.textContent = `${items.length}${more ? "+" : ""}`; })
      .catch(() => { running.textContent = "?"; });
  }
  if (!flows.length) root.append(el("p", {}, "No flows yet."));
}

// ---- Executions ------------------------------------------------------------------------

const STATUSES = ["running", "succeeded", "failed", "timed_out", "stopped"];

function isoOrEmpty(local) {
  return local ? new Date(local).toISOString() : "";
}

async function executionsPage(root, params) {
  const filter = {
    flow: params.flow || "", status: params.status || "", name_prefix: params.name_prefix || "",
    started_after: params.started_after || "", started_before: params.started_before || "",
  };
  const { items: flows } = await allPages("/api/v1/flows", {}, "flows");
  const form = el("form", { class: "filters card", id: "filters" },
    el("label", {}, "Flow", el("select", { name: "flow" }, el("option", { value: "" }, "all"),
      flows.map((f) => el("option", { value: f.name, selected: f.name === filter.flow }, f.name)))),
    el("label", {}, "Status", el("select", { name: "status" }, el("option", { value: "" }, "any"),
      STATUSES.map((s) => el("option", { value: s, selected: s === filter.status }, s)))),
    el("label", {}, "Name prefix", el("input", { name: "name_prefix", value: filter.name_prefix })),
    el("label", {}, "Started after", el("input", { name: "started_after", type: "datetime-local", value: localValue(filter.started_after) })),
    el("label", {}, "Started before", el("input", { name: "started_before", type: "datetime-local", value: localValue(filter.started_before) })),
    el("button", { type: "submit" }, "Filter"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    data.started_after = isoOrEmpty(data.started_after);
    data.started_before = isoOrEmpty(data.started_before);
    location.hash = "#/executions" + query(data);
  });
  const body = el("tbody");
  const pager = el("div", { class: "pager" });
  const bulk = el("div", { id: "bulk" });
  page(root, "Executions", form, bulk,
    table(["Flow", "Execution", "Dialect", "Status", "Started", "Stopped"], body, "executions"), pager);

  const tokens = [undefined];
  let index = 0;
  const load = async () => {
    const result = await api("/api/v1/executions" + query({ ...filter, limit: 50, page_token: tokens[index] }));
    body.replaceChildren(...(result.executions || []).map((e) =>
      el("tr", { "data-execution": e.name, "data-status": e.status },
        el("td", {}, e.flow),
        el("td", {}, el("a", { href: `#/execution/${enc(e.flow)}/${enc(e.name)}` }, e.name)),
        el("td", {}, e.dialect),
        el("td", {}, statusPill(e.status)),
        el("td", {}, time(e.started_at)),
        el("td", {}, time(e.stopped_at)))));
    tokens[index + 1] = result.next_page_token;
    pager.replaceChildren(
      el("button", { class: "secondary", type: "button", disabled: index === 0, onclick: () => { index--; load(); } }, "Previous"),
      el("span", {}, `page ${index + 1}`),
      el("button", { class: "secondary", type: "button", id: "next-page", disabled: !result.next_page_token, onclick: () => { index++; load(); } }, "Next"));
  };
  await load();
  live(filter.flow ? { flow: filter.flow } : {}, () => load().catch(() => {}), 300);
  if (session.may_bulk_stop) bulk.append(bulkStopButton(filter, () => load().catch(() => {})));
}

function localValue(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (isNaN(d)) return "";
  return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}

// "Stop all N": counts what the filter matches, asks, then follows the job to its end.
function bulkStopButton(filter, onDone) {
  const button = el("button", { class: "danger", type: "button", id: "stop-all" }, "Stop all…");
  const refusal = !filter.flow ? "choose a flow: a bulk stop stops the executions of one flow"
    : filter.started_after ? "a bulk stop takes a flow, a name prefix and a start before; clear 'Started after'"
    : filter.status && filter.status !== "running" ? "only running executions can be stopped" : "";
  if (refusal) {
    button.disabled = true;
    button.title = refusal;
    return button;
  }
  button.addEventListener("click", async () => {
    const running = { ...filter, status: filter.status || "running" };
    const { items, more } = await allPages("/api/v1/executions", running, "executions");
    const count = `${items.length}${more ? "+" : ""}`;
    const dialog = el("dialog", { id: "confirm-stop" });
    const form = el("form", { method: "dialog" },
      el("h2", {}, `Stop all ${count} ${running.status} executions?`),
      el("p", {}, describeFilter(running)),
      el("label", {}, "Error", el("input", { name: "error", value: "Stopped" })),
      el("label", {}, "Cause", el("input", { name: "cause", value: "stopped from the console" })),
      el("div", { class: "pager" },
        el("button", { class: "danger", value: "stop", id: "confirm-stop-all" }, `Stop all ${count}`),
        el("button", { class: "secondary", value: "cancel" }, "Cancel")));
    dialog.append(form);
    document.body.append(dialog);
    dialog.addEventListener("close", async () => {
      const data = Object.fromEntries(new FormData(form));
      dialog.remove();
      if (dialog.returnValue !== "stop") return;
      const f = { flow: running.flow, status: running.status, name_prefix: running.name_prefix, started_before: running.started_before };
      for (const k of Object.keys(f)) if (!f[k]) delete f[k];
      try {
        const job = await api("/api/v1/stop-jobs", { method: "POST", body: { filter: f, error: data.error, cause: data.cause } });
        followJob(job, document.getElementById("bulk"), onDone);
      } catch (e) {
        document.getElementById("bulk").append(failure(e));
      }
    });
    dialog.showModal();
  });
  return button;
}

function describeFilter(f) {
  return Object.entries(f).filter(([, v]) => v).map(([k, v]) => `${k.replace("_", " ")}: ${v}`).join(" · ");
}

function jobDone(job) {
  return !["running", "pending", "queued"].includes(job.status);
}

function jobPercent(job) {
  const done = (job.stopped || 0) + (job.already_completed || 0) + (job.failed || 0);
  if (jobDone(job)) return 100;
  return job.matched ? Math.min(100, Math.floor((done * 100) / job.matched)) : 0;
}

// A progress bar and counters fed by polling the job until it ends; then `onDone`.
function followJob(job, into, onDone) {
  const bar = el("div", { id: "job-bar" });
  const counters = el("p", { id: "job-counters" });
  const box = el("div", { class: "card", id: "job", "data-job": job.id },
    el("h2", {}, `Job ${job.id}`), el("div", { class: "progress", id: "job-progress" }, bar), counters);
  into.replaceChildren(box);
  const show = (j) => {
    const percent = jobPercent(j);
    bar.style.width = `${percent}%`;
    box.dataset.percent = percent;
    box.dataset.status = j.status;
    counters.textContent = `${percent}% · ${j.status} · matched ${j.matched ?? "?"} · stopped ${j.stopped ?? 0} · already completed ${j.already_completed ?? 0} · failed ${j.failed ?? 0}`;
  };
  show(job);
  const poll = async () => {
    const j = await api(`/api/v1/jobs/${enc(job.id)}`);
    show(j);
    if (jobDone(j)) onDone();
    else timer = setTimeout(poll, 250);
  };
  let timer = setTimeout(poll, 250);
  cleanups.push(() => clearTimeout(timer));
}

// ---- An execution ------------------------------------------------------------------------

// Each state's status from its runs: the last run decides; a failed run whose failure the
// execution went on from was caught; a run still open when the execution stopped was stopped.
function stateStatus(runs, execution) {
  if (!runs || !runs.length) return "not-reached";
  const last = runs[runs.length - 1];
  const status = last.status;
  if (status === "running" && execution.status !== "running") return execution.status === "succeeded" ? "succeeded" : "stopped";
  if (status === "failed" && (execution.status === "succeeded" || last.caught)) return "caught";
  return status;
}

function runsByName(execution) {
  const map = new Map();
  for (const state of execution.states || []) {
    const runs = map.get(state.name) || [];
    map.set(state.name, runs.concat(state.runs || []));
  }
  return map;
}

function millis(value) {
  if (value === undefined || value === null) return null;
  const t = typeof value === "number" ? value : Date.parse(value);
  return isNaN(t) ? null : t;
}

async function executionPage(root, params, flow, name) {
  const graphBox = el("div", { class: "card", id: "graph" }, "Laying out…");
  const detail = el("div", { class: "card side", id: "state-detail" }, el("p", {}, "Select a state to see its runs."));
  const header = el("div", { class: "card", id: "execution-header" });
  const timeline = el("div", { class: "card", id: "timeline" });
  const history = el("div", { id: "history" });
  const legend = el("div", { class: "legend" }, ["running", "succeeded", "failed", "caught", "stopped", "not-reached"]
    .map((s) => el("span", {}, el("i", { class: `status ${s}` }), s.replace("-", " "))));
  page(root, `${flow} / ${name}`, header, el("div", { class: "row" }, el("div", { class: "grow" }, legend, graphBox), detail),
    el("h2", {}, "Timeline"), timeline, el("h2", {}, "History"), history);

  let execution = null;
  let selected = null;
  const [graph, first] = await Promise.all([api(`/api/v1/flows/${enc(flow)}/graph`), api(executionPath(flow, name))]);
  execution = first;
  const drawing = await drawGraph(graphBox, graph, (node) => { selected = node; drawing.select(node.id); showState(); });

  const showState = () => {
    if (!selected) return;
    const runs = runsByName(execution).get(selected.name) || [];
    detail.replaceChildren(el("h2", {}, `${selected.name} (${selected.type})`),
      ...(runs.length ? [] : [el("p", {}, "Not reached.")]),
      ...runs.map((run, i) => el("div", { class: "run" },
        el("p", {}, `Run ${i + 1}: `, statusPill(stateStatus([run], execution)),
          ` · attempts ${run.attempts ?? 1} · ${time(run.entered_at)} → ${time(run.exited_at)}`),
        el("div", {}, "Input"), el("pre", {}, json(run.input)),
        run.output !== undefined && run.output !== null ? [el("div", {}, "Output"), el("pre", {}, json(run.output))] : null,
        run.error ? [el("div", {}, "Error"), el("pre", { class: "error" }, json(run.error))] : null)));
  };

  const show = async (fresh) => {
    execution = fresh;
    const runs = runsByName(execution);
    drawing.colour((node) => stateStatus(runs.get(node.name), execution));
    header.replaceChildren(headerOf(execution, flow, name, show));
    const now = millis(execution.stopped_at) || Date.now();
    drawTimeline(timeline, [...runs.entries()].flatMap(([state, rs]) => rs.map((r) => ({
      name: state, status: stateStatus([r], execution), attempts: r.attempts || 1,
      start: millis(r.entered_at), end: millis(r.exited_at),
    }))).filter((r) => r.start !== null).sort((a, b) => a.start - b.start), now);
    showState();
    const events = await api(`${executionPath(flow, name)}/history` + query({ limit: 1000 }));
    history.replaceChildren(table(["#", "Time", "Event", "State", "Detail"], (events.events || []).map((e) =>
      el("tr", {}, el("td", {}, String(e.id)), el("td", {}, time(e.time)), el("td", {}, e.type),
        el("td", {}, e.state || ""), el("td", { class: "json" }, json(e.detail)))), "history-table"));
  };
  const refresh = async () => show(await api(executionPath(flow, name)));
  await show(execution);
  live({ flow, execution: name }, () => refresh().catch(() => {}), 100);
  // The stream carries every change; the clock still moves the bars of running states.
  every(1000, () => { if (execution.status === "running") show(execution).catch(() => {}); });
}

function headerOf(execution, flow, name, show) {
  const parts = [
    el("p", {}, "Status ", statusPill(execution.status, "execution-status"),
      ` · started ${time(execution.started_at)}`, execution.stopped_at ? ` · ended ${time(execution.stopped_at)}` : ""),
  ];
  if (execution.error || execution.cause) {
    parts.push(el("p", { id: "execution-error" }, `Error ${execution.error || ""}: ${execution.cause || ""}`));
  }
  if (execution.status === "running" && session.may_stop) {
    const form = el("form", { class: "filters", id: "stop-form" },
      el("label", {}, "Error", el("input", { name: "error", value: "Stopped" })),
      el("label", {}, "Cause", el("input", { name: "cause", value: "" })),
      el("button", { class: "danger", type: "submit", id: "stop" }, "Stop"));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = Object.fromEntries(new FormData(form));
      try {
        show(await api(`${executionPath(flow, name)}/stop`, { method: "POST", body: data }));
      } catch (e) {
        form.append(failure(e));
      }
    });
    parts.push(form);
  }
  // A failed, stopped or timed-out execution runs on from where it ended (within 14 days).
  if (execution.redrivable && session.may_redrive) {
    const button = el("button", { type: "button", id: "redrive" }, "Redrive");
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        show(await api(`${executionPath(flow, name)}/redrive`, { method: "POST" }));
      } catch (e) {
        button.disabled = false;
        button.after(failure(e));
      }
    });
    parts.push(el("p", {}, button,
      execution.redrive_count ? ` · redriven ${execution.redrive_count} time${execution.redrive_count > 1 ? "s" : ""}` : ""));
  } else if (execution.redrive_count) {
    parts.push(el("p", { id: "redrive-count" }, `Redriven ${execution.redrive_count} time${execution.redrive_count > 1 ? "s" : ""}`));
  }
  return el("div", {}, parts);
}

// ---- Schedules and jobs ------------------------------------------------------------------

async function schedulesPage(root) {
  const { items } = await allPages("/api/v1/schedules", {}, "schedules");
  page(root, "Schedules", table(["Flow", "Schedule", "Dialect", "Expression", "Enabled", "Next firings"],
    items.map((s) => el("tr", { "data-schedule": s.name },
      el("td", {}, s.flow), el("td", {}, s.name), el("td", {}, s.dialect), el("td", {}, s.expression),
      el("td", {}, s.enabled ? "yes" : "no"),
      el("td", {}, (s.next_firings || []).map((t) => el("div", {}, time(t)))))), "schedules"));
  if (!items.length) root.append(el("p", {}, "No schedules."));
}

async function jobsPage(root) {
  const load = async () => {
    const { items } = await allPages("/api/v1/jobs", {}, "jobs", 1);
    return items.map((j) => el("tr", { "data-job": j.id, "data-status": j.status },
      el("td", {}, j.id), el("td", {}, j.kind), el("td", {}, j.status),
      el("td", {}, el("div", { class: "progress" }, progressBar(jobPercent(j)))),
      el("td", {}, `matched ${j.matched ?? "?"} · stopped ${j.stopped ?? 0} · already completed ${j.already_completed ?? 0} · failed ${j.failed ?? 0}`),
      el("td", {}, time(j.created_at))));
  };
  const body = el("tbody", {}, await load());
  page(root, "Jobs", table(["Job", "Kind", "Status", "Progress", "Counters", "Created"], body, "jobs"));
  every(1000, async () => body.replaceChildren(...(await load())));
}

function progressBar(percent) {
  const bar = el("div");
  bar.style.width = `${percent}%`;
  return bar;
}

// ---- start -----------------------------------------------------------------------------

api("/console/session").then((s) => { session = s; loggedIn(); }).catch(() => showLogin());
