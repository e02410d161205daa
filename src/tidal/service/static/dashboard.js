// tidal's live dashboard: state from GET /v1/dashboard/state, then server-sent events.
"use strict";
const KEY = "tidal.token";
let token = sessionStorage.getItem(KEY);
let source = null, retry = null, style = null, state = null, lostShown = false;
const drawn = {};
window.tidalRenders = 0;
const $ = (id) => document.getElementById(id);
// plotly.js is deferred after this file, so that the data is on its way while it is parsed
const plotlyReady = new Promise((resolve, reject) => {
  if (window.Plotly) { resolve(); return; }
  $("plotly-js").addEventListener("load", () => resolve());
  $("plotly-js").addEventListener("error", () => reject(new Error("plotly.js did not load")));
});

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else if (k.startsWith("data-")) e.setAttribute(k, v); else e[k] = v;
  }
  for (const k of kids) e.append(k);
  return e;
}

function banner(text) {
  const b = $("banner");
  b.hidden = !text;
  b.textContent = text || "";
}

function detail(data) {
  if (data && Array.isArray(data.detail)) return data.detail.map((d) => d.msg).join("; ");
  if (data && typeof data.detail === "string") return data.detail;
  return "";
}

async function api(method, path, body) {
  const opts = { method, headers: {} };
  if (token) opts.headers.Authorization = "Bearer " + token;
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const r = await fetch(path, opts);
  let data = null;
  try { data = await r.json(); } catch (e) { data = null; }
  return { status: r.status, ok: r.ok, data };
}

function stop() {
  if (source) { source.close(); source = null; }
  clearTimeout(retry);
}

function askToken(msg) {
  stop();
  $("login").hidden = false;
  $("login-msg").textContent = msg;
  $("models").replaceChildren();
  for (const k of Object.keys(drawn)) delete drawn[k];
  $("audit-section").hidden = true;
  $("signout").hidden = true;
  $("who").textContent = "";
}

function refused(r) {
  const why = detail(r.data);
  if (r.status === 403) {
    askToken("This token may not see the dashboard (403): " + why + ". Enter a token with role read or higher.");
  } else if (token) {
    sessionStorage.removeItem(KEY);
    token = null;
    askToken("That token is wrong, expired or revoked (401: " + why + "). Enter a valid token.");
  } else {
    askToken("Enter an API token (role read or higher) to see the dashboard.");
  }
}

function lost() {
  lostShown = true;
  banner("connection lost — retrying");
  clearTimeout(retry);
  retry = setTimeout(style ? connect : start, 1000);
}

function back() {
  if (lostShown) { lostShown = false; banner(null); }
}

async function start() {
  let r;
  try { r = await api("GET", "/v1/dashboard/state"); } catch (e) { lost(); return; }
  performance.mark("tidal-state");
  if (r.status === 401 || r.status === 403) { refused(r); return; }
  if (!r.ok) { lost(); return; }
  try { await plotlyReady; performance.mark("tidal-plotly"); } catch (e) {
    banner("The charts library (/dashboard/plotly.js) did not load from this server: reload the page.");
    return;
  }
  back();
  $("login").hidden = true;
  $("signout").hidden = !token;
  style = r.data.style;
  await render(r.data).catch((e) => console.error(e));  // logged, and the stream still starts
  connect();  // after the first paint: the stream's first state would only slow it down
}

async function refresh() {
  try {
    const r = await api("GET", "/v1/dashboard/state");
    if (r.ok) render(r.data);
  } catch (e) { /* the stream's error handler reports a lost server */ }
}

async function connect() {
  stop();
  let t;
  try { t = await api("GET", "/v1/dashboard/ticket"); } catch (e) { lost(); return; }
  if (t.status === 401 || t.status === 403) { refused(t); return; }
  if (!t.ok) { lost(); return; }
  back();
  source = new EventSource("/v1/dashboard/stream?ticket=" + encodeURIComponent(t.data.ticket));
  source.onopen = back;
  source.addEventListener("state", (ev) => { back(); render(JSON.parse(ev.data)); });
  source.addEventListener("bye", () => connect());  // the server ends streams now and then
  source.onerror = () => { stop(); lost(); };
}

const FAMILY = { online: "online", batch: "batch", shadow: "hybrid" };

function traces(m) {
  const out = [];
  const p = style.palettes;
  const used = {};
  const order = (k) => ["metric:online", "metric:batch"].indexOf(k) + 1 || 3;
  const keys = Object.keys(m.series).filter((k) => k.startsWith("metric:"));
  keys.sort((a, b) => order(a) - order(b) || a.localeCompare(b));
  for (const key of keys) {  // online, batch, then every shadow, side by side
    const fam = key.slice(7);
    const family = FAMILY[fam.split(" ")[0]] || "baseline";
    const i = used[family] = (used[family] ?? -1) + 1;
    const s = m.series[key];
    out.push({ type: "scatter", mode: "lines", name: fam + " " + m.metric, x: s.t, y: s.v,
      line: { color: p[family][i % p[family].length], width: 1.6 }, xaxis: "x", yaxis: "y" });
  }
  const rates = [["predict", p.baseline[0]], ["learn", p.engine[0]]];
  for (const [what, colour] of rates) {
    const s = m.series["rate:" + what];
    if (!s) continue;
    out.push({ type: "scatter", mode: "lines", name: what + " rows/s", x: s.t, y: s.v,
      line: { color: colour, width: 1.2 }, xaxis: "x", yaxis: "y2" });
  }
  const drift = m.marks.filter((k) => k.kind === "drift");
  if (drift.length) {
    out.push({ type: "scatter", mode: "markers", name: "drift alarm", x: drift.map((k) => k.t),
      y: drift.map(() => 1), yaxis: "y3", text: drift.map((k) => k.text), hoverinfo: "text+x",
      marker: { color: style.change, symbol: "triangle-down", size: 10 } });
  }
  return out;
}

function layout(name, m, legendItems) {
  const base = JSON.parse(JSON.stringify(style.layout));
  const drift = m.marks.filter((k) => k.kind === "drift");
  return Object.assign(base, {
    title: Object.assign(base.title, { text: name + " — rolling " + m.metric + " and rates" }),
    height: 420,
    // the margin Plotly would grow to for the legend below (a row of ~6 items is 29 px), given:
    // Plotly then draws each chart once, not twice
    margin: Object.assign(base.margin, { b: 62 + 29 * Math.ceil(legendItems / 6), autoexpand: false }),
    xaxis: { type: "date", anchor: "y2" },
    // axis types given: Plotly would otherwise scan every value to guess them
    yaxis: { type: "linear", domain: [0.45, 1], title: { text: m.metric } },
    yaxis2: { type: "linear", domain: [0, 0.33], title: { text: "rows/s" } },
    yaxis3: { type: "linear", domain: [0.45, 1], overlaying: "y", visible: false, range: [0, 1.05] },
    shapes: drift.map((k) => ({ type: "line", xref: "x", yref: "paper", x0: k.t, x1: k.t,
      y0: 0.45, y1: 1, line: { color: style.change, width: 1, dash: "dot" } })),
    uirevision: name,
  });
}

function card(name) {
  let c = $("model-" + name);
  if (c) return c;
  c = el("section", { class: "model", id: "model-" + name },
    el("h2", {}, name),
    el("div", { class: "plot", id: "plot-" + name }),
    el("div", { class: "guards", id: "guards-" + name }),
    el("div", { class: "features", id: "features-" + name }),
    el("div", { class: "msg", id: "msg-" + name, hidden: true }),
    el("div", { class: "registry", id: "registry-" + name }));
  $("models").append(c);
  return c;
}

const when = (ms) => new Date(ms).toISOString().slice(0, 19).replace("T", " ");

// guard rejections: per rule, rows quarantined (guarded models) and learn requests it hit
// (the rule fired, whatever its policy), then the latest quarantined rows
function guards(name, m) {
  const box = $("guards-" + name);
  const rows = m.rejections || {}, hits = m.guard_rules || {}, latest = m.quarantine || [];
  const rules = [...new Set([...Object.keys(rows), ...Object.keys(hits)])].sort();
  if (!rules.length && !latest.length) { box.replaceChildren(); return; }
  const panels = [el("div", { class: "panel" }, el("h3", {}, "Guard rejections"),
    el("table", {}, el("tr", {}, ...["rule", "rows quarantined", "learn requests hit"].map((h) => el("th", {}, h))),
      ...rules.map((r) => el("tr", { "data-rule": r }, el("td", {}, r), el("td", {}, m.rejections ? String(rows[r] || 0) : "—"), el("td", {}, String(hits[r] || 0))))))];
  if (m.rejections) {  // a guarded model: it has a quarantine
    panels.push(el("div", { class: "panel" }, el("h3", {}, "Latest quarantined rows"),
      latest.length ? el("table", { class: "quarantined" }, el("tr", {}, ...["time (UTC)", "rule", "reason", "record"].map((h) => el("th", {}, h))),
        ...latest.map((r) => el("tr", {}, el("td", {}, when(r.time * 1000)), el("td", {}, r.rule),
          el("td", {}, r.reason), el("td", {}, el("code", {}, JSON.stringify(r.record))))))
        : el("p", { class: "stamp" }, "none")));
  }
  box.replaceChildren(...panels);
}

// guarded models: per-feature drift (PSI as a bar); every model: its latest drift alarms
function features(name, m) {
  const box = $("features-" + name);
  const drift = m.drift || [];
  const alarms = m.marks.filter((k) => k.kind === "drift").slice(-5).reverse();
  if (!m.drift && !alarms.length) { box.replaceChildren(); return; }
  const top = Math.max(0.25, ...drift.map((d) => d.psi || 0));
  const bar = (d) => el("div", { class: "bar" + (d.drifted ? " drifted" : ""),
    style: "width:" + Math.round(100 * Math.min(1, (d.psi || 0) / top)) + "%" });
  const fmt = (v) => (typeof v === "number" ? v.toFixed(3) : "");
  const panels = [];
  if (m.drift) {
    panels.push(el("div", { class: "panel" }, el("h3", {}, "Feature drift (PSI)"),
      drift.length ? el("table", {}, el("tr", {}, el("th", {}, "feature"), el("th", {}, "PSI"), el("th", {}, ""), el("th", {}, "drifted")),
        ...drift.map((d) => el("tr", { "data-feature": d.feature }, el("td", {}, d.feature), el("td", {}, fmt(d.psi)),
          el("td", { class: "barcell" }, bar(d)), el("td", {}, d.drifted ? "yes" : "no"))))
        : el("p", { class: "stamp" }, "waiting for a full reference window of learned rows")));
  }
  panels.push(el("div", { class: "panel alarms" }, el("h3", {}, "Drift alarms"),
    alarms.length ? el("ul", {}, ...alarms.map((k) => el("li", {}, when(k.t) + " UTC — " + k.text)))
      : el("p", { class: "stamp" }, "none")));
  box.replaceChildren(...panels);
}

function evidence(name, v) {
  const metric = state.registry.metric;
  const versions = state.registry.models[name] || [];
  const champ = versions.find((x) => x.stage === "production");
  const ev = {};
  if (v.metrics && typeof v.metrics[metric] === "number") {
    ev.challenger_metric = v.metrics[metric];
    ev.n_events = v.metrics.n_events || 0;
    if (champ && champ.version !== v.version && typeof champ.metrics[metric] === "number") {
      ev.champion_metric = champ.metrics[metric];
    }
  }
  return ev;
}

function say(name, text, ok) {
  const m = $("msg-" + name);
  m.hidden = false;
  m.className = "msg" + (ok ? " ok" : "");
  m.textContent = text;
}

async function act(name, what, version) {
  const v = (state.registry.models[name] || []).find((x) => x.version === version);
  let path = `/v1/models/${name}/versions/${version}/${what}`;
  const body = { why: "from the dashboard" };
  if (what === "promote") Object.assign(body, evidence(name, v));
  if (what === "rollback") { path = `/v1/models/${name}/rollback`; body.to_version = version; }
  let r;
  try { r = await api("POST", path, body); } catch (e) {
    say(name, `No answer to ${what}: connection lost, try again when the server is back.`, false);
    return;
  }
  const why = detail(r.data);
  if (r.ok) say(name, `${what} version ${version}: done, stage is now ${r.data.stage}.`, true);
  else if (r.status === 401 || r.status === 403) say(name, `Refused: ${what} needs an admin token (${r.status}: ${why}).`, false);
  else if (r.status === 409) say(name, `The gate refused to ${what} version ${version}: ${why}`, false);
  else say(name, `${what} version ${version} failed (${r.status}): ${why}`, false);
  refresh();
}

function registry(name) {
  const versions = state.registry.models[name] || [];
  const box = $("registry-" + name);
  if (!versions.length) { box.replaceChildren(el("p", { class: "stamp" }, "No registered versions.")); return; }
  const metric = state.registry.metric;
  const rows = versions.map((v) => {
    const buttons = [];
    const btn = (what, label) => {
      const b = el("button", { "data-action": what, "data-version": String(v.version) }, label);
      b.onclick = () => act(name, what, v.version);
      buttons.push(b);
    };
    if (v.stage === "candidate" || v.stage === "shadow") btn("promote", "Promote");
    if (v.kind !== "online" && !v.approved_by && v.stage !== "archived") btn("approve", "Approve");
    if (v.stage === "archived") btn("rollback", "Roll back to this");
    const value = v.metrics && v.metrics[metric] !== undefined ? String(v.metrics[metric]) : "";
    return el("tr", { id: `version-${name}-${v.version}` },
      el("td", {}, "v" + v.version), el("td", { class: "stage stage-" + v.stage }, v.stage),
      el("td", {}, v.kind), el("td", {}, value), el("td", {}, v.approved_by || ""),
      el("td", {}, v.created_at.slice(0, 19).replace("T", " ")), el("td", {}, ...buttons));
  });
  box.replaceChildren(el("h3", {}, "Registry"), el("table", {},
    el("tr", {}, ...["version", "stage", "kind", metric, "approved by", "created", ""].map((h) => el("th", {}, h))),
    ...rows));
}

function audit(entries) {
  $("audit-section").hidden = false;
  if (entries === null) {
    $("audit").replaceChildren(el("p", { class: "stamp" }, "The audit log needs an admin token."));
    return;
  }
  $("audit").replaceChildren(el("table", { id: "audit-table" },
    el("tr", {}, ...["when", "who", "what", "model", "version", "to", "why"].map((h) => el("th", {}, h))),
    ...entries.slice().reverse().map((e) => el("tr", {},
      el("td", {}, e.at.slice(0, 19).replace("T", " ")), el("td", {}, e.actor), el("td", {}, e.action),
      el("td", {}, e.name || ""), el("td", {}, e.version == null ? "" : String(e.version)),
      el("td", {}, e.to_stage || ""), el("td", {}, e.reason || "")))));
}

const CHART_CONFIG = { displaylogo: false, displayModeBar: false, responsive: true };
const nextTask = () => new Promise((resolve) => setTimeout(resolve, 0));
let pending = null, painting = false, painted = Promise.resolve();

// a state arrives every second; only the newest one not yet painted is kept. The promise
// resolves once ``data`` (or a newer state) is on screen.
function render(data) {
  pending = data;
  if (!painting) painted = paintAll();
  return painted;
}

async function paintAll() {
  painting = true;
  try {
    while (pending) { const data = pending; pending = null; await paint(data); }
  } finally { painting = false; }
}

async function paint(data) {
  if (data.style) style = data.style;
  state = data;
  $("who").textContent = "role: " + data.role;
  const names = Object.keys(data.models).sort();
  for (const name of names) {  // cards and tables first: the page takes its final shape
    card(name);
    guards(name, data.models[name]);
    features(name, data.models[name]);
    registry(name);
  }
  audit(data.registry.audit);
  // then the charts, top first, handing the main thread back every 50 ms so that the page
  // answers clicks and scrolls while ten charts are drawn
  let slice = performance.now();
  for (const name of names) {
    const m = data.models[name];
    const key = JSON.stringify(m);
    const chart = $("plot-" + name);  // gone if the token was refused meanwhile
    if (!chart || drawn[name] === key) continue;  // redraw only the models that changed
    const lines = traces(m);
    Plotly.react(chart, lines, layout(name, m, lines.length), CHART_CONFIG);
    drawn[name] = key;
    if (performance.now() - slice > 50) { await nextTask(); slice = performance.now(); }
  }
  window.tidalRenders += 1;
  if (window.tidalRenders === 1) performance.mark("tidal-first-render");
}

function begin() {
  if (token) { start(); return; }  // the usual visit: no round trip before the data
  fetch("/dashboard/config").then((r) => r.json()).then((cfg) => {
    if (cfg.auth) askToken("Enter an API token (role read or higher) to see the dashboard.");
    else start();
  }).catch(() => start());
}

$("login").addEventListener("submit", (ev) => {
  ev.preventDefault();
  token = $("token").value.trim();
  $("token").value = "";
  if (token) sessionStorage.setItem(KEY, token);
  begin();
});
$("signout").addEventListener("click", () => {
  sessionStorage.removeItem(KEY);
  token = null;
  askToken("Signed out. Enter an API token (role read or higher) to see the dashboard.");
});
begin();
