"use strict";
// The operator UI: polls the operator API every few seconds and redraws each panel. No framework, no CDN: charts
// are uPlot, vendored into /static/vendor from npm by `make`. Number formats live in format.js (shared with /demo).
// Every value from the server goes through textContent, never innerHTML.

const REFRESH_MS = 3000;
const PAGE_SIZE = 25;
const FETCH_ROWS = 200;  // rows fetched for the paged tables (the API takes up to 500)
const COLORS = {kalshi_st: "#5aa2ff", kalshi_lt: "#b27cff", fx: "#3fb27f", stocks: "#e0a84f", total: "#d8dde6"};
// The ten gates in the order the risk chain runs them (ARCHITECTURE.md); a stopped candidate never reaches the rest.
const GATES = ["stop_file", "dedup", "per_market_cap", "direction", "category_suspension", "risk_validation",
  "slippage", "min_edge", "min_confidence", "api_cost_cap"];
const filters = {surface: "", sub: ""};
const curveSources = {};  // surface (and "total") -> where its P&L comes from, set by the overview for the legend
let subStrategies = [];  // "surface/sub" pairs from the signals endpoint

// An API error as a sentence: a string detail as is; a validation list as "field: what is wrong." per item.
function describe(detail) {
  if (typeof detail === "string") return detail;
  if (!Array.isArray(detail)) return "the request was refused";
  return detail.map((e) => {
    const msg = String(e.msg || "invalid value").replace(/\.$/, "");
    const loc = Array.isArray(e.loc) ? e.loc.filter((p) => p !== "body" && p !== "query") : [];
    const field = loc.length ? String(loc[loc.length - 1]) : "";
    const text = field && !msg.includes(field) && !/^[A-Z]/.test(msg) ? field + ": " + msg : msg;
    const first = text.split(/[\s:]/)[0];
    return (first.includes("_") ? text : text.charAt(0).toUpperCase() + text.slice(1)) + ".";  // keep setting names
  }).join(" ");
}

async function api(path, options = {}) {
  const init = {credentials: "same-origin", ...options};
  if (init.method && init.method !== "GET") {
    init.headers = {"Content-Type": "application/json", "X-Tbot-Operator": "1", ...(init.headers || {})};
  }
  const response = await fetch(path, init);
  if (response.status === 401) {
    window.location.href = "/login";
    throw new Error("signed out");
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(describe(body.detail));
  return body;
}

function cell(row, value, cls) {
  const td = document.createElement("td");
  if (value instanceof Node) td.appendChild(value); else td.textContent = value === null || value === undefined ? "–" : String(value);
  if (cls) td.className = cls;
  row.appendChild(td);
  return td;
}
function badge(text, cls) {
  const span = document.createElement("span");
  span.className = "badge " + (cls || "");
  span.textContent = text;
  return span;
}
function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}
function signed(cents) { return cents > 0 ? "pos" : cents < 0 ? "neg" : ""; }
// Where a result comes from (the server's result_kind, shared/audit/provenance.py): sim results are synthetic.
const KIND_LABELS = {sim: ["synthetic (sim)", "warn"], real_data_paper: ["real-data paper", "dry"], live: ["live", "live"]};
function kindBadge(kind) { const [text, cls] = KIND_LABELS[kind] || ["unknown source", "warn"]; return badge(text, cls); }
// A surface's P&L by resolution source: a sim venue always tags "sim", so those figures are synthetic.
function sourceLabel(source) { return source === "sim" ? "synthetic (sim)" : source + " (real data)"; }
function sourcesOf(s) {
  if (s.by_result_kind) {  // counts per result kind, when the overview carries them: the one rule, server-side
    const kinds = Object.keys(s.by_result_kind).filter((k) => s.by_result_kind[k] > 0);
    return kinds.length ? kinds.map((k) => (KIND_LABELS[k] || [k])[0]).join(" + ") : "–";
  }
  const names = Object.keys(s.by_resolution_source || {});
  if (!names.length) return "–";
  if (names.every((n) => n === "sim")) return "synthetic (sim)";
  return names.some((n) => n === "sim") ? "mixed: synthetic (sim) + real data" : "real data";
}
function body(id) { const tb = document.querySelector(id + " tbody"); tb.replaceChildren(); return tb; }
// Two lines in one cell: a main value and a muted second one (keeps the tables narrow).
function stacked(main, second, mainCls) {
  const wrap = document.createElement("span");
  wrap.append(el("span", main, mainCls));
  if (second) wrap.append(el("span", second, "sub"));
  return wrap;
}
function timeCell(row, iso) { cell(row, clock(iso), "time").title = stamp(iso); }

// ---------------------------------------------------------------- paging (client-side)
class Pager {
  constructor(panelId) {
    this.page = 0;
    this.rows = [];
    this.panel = document.getElementById(panelId);
    const bar = this.panel.querySelector(".pager");
    this.prev = bar.querySelector("[data-page=prev]");
    this.next = bar.querySelector("[data-page=next]");
    this.label = bar.querySelector(".page-label");
    this.prev.addEventListener("click", () => { this.page -= 1; this.draw(); });
    this.next.addEventListener("click", () => { this.page += 1; this.draw(); });
  }
  show(rows, drawRow) {
    this.rows = rows;
    this.drawRow = drawRow;
    this.draw();
  }
  draw() {
    const pages = Math.max(1, Math.ceil(this.rows.length / PAGE_SIZE));
    this.page = Math.min(Math.max(0, this.page), pages - 1);
    const start = this.page * PAGE_SIZE, slice = this.rows.slice(start, start + PAGE_SIZE);
    const tb = this.panel.querySelector("tbody");
    tb.replaceChildren();
    for (const item of slice) this.drawRow(tb.insertRow(), item);
    this.label.textContent = this.rows.length
      ? (start + 1) + "–" + (start + slice.length) + " of " + this.rows.length + " · page " + (this.page + 1) + "/" + pages
      : "none";
    this.prev.disabled = this.page === 0;
    this.next.disabled = this.page >= pages - 1;
  }
  reset() { this.page = 0; }
}
let signalPager, tradePager;

// ---------------------------------------------------------------- panels
const HEALTH_CLASS = {ok: "ok", stale: "warn", errored: "halted", stopped: "halted", unknown: "dry"};

function renderAlerts(data) {
  const box = document.getElementById("alerts");
  box.replaceChildren();
  const bad = data.surfaces.filter((s) => s.health && ["errored", "stopped", "stale"].includes(s.health.state));
  box.hidden = !bad.length;
  for (const s of bad) {
    const h = s.health;
    const line = el("div", null, "alert " + (h.state === "stale" ? "alert-warn" : "alert-bad"));
    line.dataset.surface = s.surface;
    const head = el("strong", s.surface + " " + h.state.toUpperCase());
    const facts = [h.reason];
    if (h.pm2_status) facts.push("PM2 " + h.pm2_status);
    if (h.restarts) facts.push(h.restarts + " restart" + (h.restarts === 1 ? "" : "s"));
    line.append(head, " ", el("span", "(" + h.process + ") " + facts.join(" · ")));
    if (h.last_error) {
      const err = el("div", null, "alert-error");
      err.append(el("span", "last error" + (h.last_error_at ? " " + h.last_error_at : "") + ": ", "muted"),
        el("code", h.last_error));
      line.append(err);
    } else if (h.state !== "stale") {
      line.append(el("div", "no error output in logs/pm2/" + h.process + ".err.log", "muted"));
    }
    box.append(line);
  }
}

function renderOverview(data) {
  const mode = document.getElementById("mode");
  mode.textContent = data.mode;
  mode.className = "badge " + (data.mode === "live" ? "live" : "dry");
  const stop = document.getElementById("stop-state");
  stop.textContent = data.stop.global ? "STOPPED (all)" : "STOP off";
  stop.className = "badge " + (data.stop.global ? "halted" : "ok");
  stop.title = data.stop.global ? "logs/STOP exists: no surface places orders" : "no global STOP file";
  renderAlerts(data);
  const tb = body("#allocations");
  for (const s of data.surfaces) {
    const row = tb.insertRow();
    row.dataset.surface = s.surface;
    const h = s.health || {state: "unknown", reason: ""};
    if (h.state === "errored" || h.state === "stopped") row.classList.add("row-bad");
    else if (h.state === "stale") row.classList.add("row-warn");
    cell(row, s.surface);
    const proc = badge(h.state, HEALTH_CLASS[h.state] || "warn");
    proc.title = (h.process ? h.process + ": " : "") + h.reason + (h.last_error ? "\n" + h.last_error : "");
    cell(row, proc).className = "health";
    cell(row, money(s.bankroll_cents));
    cell(row, money(s.exposure_cents));
    cell(row, s.open_positions);
    cell(row, money(s.caps.max_position_cents));
    cell(row, money(s.caps.per_market_cap_cents));
    cell(row, money(s.daily_pnl_cents), signed(s.daily_pnl_cents));
    cell(row, money(s.caps.daily_loss_limit_cents));
    const tripped = s.breakers.filter((b) => b.tripped).map((b) => b.breaker);
    cell(row, badge(tripped.length ? "tripped: " + tripped.join(", ") : "ok", tripped.length ? "halted" : "ok"));
    // STOP: the surface's own file or the global one; both halt orders, only the surface's can be lifted here.
    const own = data.stop.surfaces[s.surface];
    const stopText = own ? "halted" : data.stop.global ? "halted (all)" : "orders on";
    cell(row, badge(stopText, own || data.stop.global ? "halted" : "ok")).className = "stop";
    const button = document.createElement("button");
    button.className = "surface-stop";
    if (data.stop.global && !own) {
      button.textContent = "halted (all)";
      button.disabled = true;
      button.title = "A global STOP is set: use Resume all to lift it";
    } else {
      button.textContent = own ? "resume" : "stop";
      button.addEventListener("click", () => toggleSurface(s.surface, own));
    }
    cell(row, button);
  }
  const perf = body("#pnl-table");
  for (const s of data.surfaces) {
    const row = perf.insertRow();
    cell(row, s.surface + " · " + sourcesOf(s));
    curveSources[s.surface] = sourcesOf(s);
    cell(row, money(s.realized_cents), signed(s.realized_cents));
    cell(row, money(s.fees_cents));
    cell(row, s.resolved);
    cell(row, pct(s.win_rate));
    cell(row, Object.entries(s.by_resolution_source).map(([k, v]) => sourceLabel(k) + ": " + v).join(", ") || "–");
  }
  const total = document.getElementById("pnl-total");
  const labels = data.surfaces.map(sourcesOf).filter((l) => l !== "–");
  const allSim = labels.length > 0 && labels.every((l) => l === "synthetic (sim)");
  const anySim = labels.some((l) => l.includes("synthetic (sim)"));
  curveSources.total = !labels.length ? "" : allSim ? "synthetic (sim)" : anySim ? "includes synthetic (sim)" : "real data";
  total.textContent = "total " + money(data.total.realized_cents) + (curveSources.total ? " · " + curveSources.total : "");
  total.className = "big " + signed(data.total.realized_cents);
}

// ---------------------------------------------------------------- charts (uPlot)
// Each curve is cumulative realized P&L, a step function: on the union of every curve's times, a curve holds its
// last value (and is empty before its first point). Drawdown is each curve's distance below its own running peak.
function alignCurves(series) {
  const names = Object.keys(series).filter((n) => series[n].length);
  const times = [...new Set(names.flatMap((n) => series[n].map((p) => Date.parse(p[0]) / 1000)))].sort((a, b) => a - b);
  const columns = names.map((n) => {
    const points = series[n].map((p) => [Date.parse(p[0]) / 1000, p[1]]);
    let i = 0, last = null;
    return times.map((t) => {
      while (i < points.length && points[i][0] <= t) last = points[i++][1];
      return last;
    });
  });
  return {names, times, columns};
}
function drawdowns(columns) {
  return columns.map((values) => {
    let peak = 0;  // cumulative P&L starts at 0: a first loss is a drawdown from the starting bankroll
    return values.map((v) => {
      if (v === null) return null;
      peak = Math.max(peak, v);
      return v - peak;
    });
  });
}

const charts = {equity: null, drawdown: null, key: ""};
function moneyAxis(u, values) { return values.map((v) => moneyShort(v)); }
function chartOptions(names, height, title, legend = true) {
  const width = document.getElementById("equity-chart").clientWidth || 900;
  const axis = {stroke: "#8a93a3", grid: {stroke: "#232a35", width: 1}, ticks: {stroke: "#2a303a", width: 1}};
  return {
    width, height, title,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
    cursor: {sync: {key: "pnl"}, points: {size: 6}},
    legend: {show: legend, live: true},
    scales: {x: {time: true}},
    axes: [{...axis, label: "time (UTC)", labelSize: 18}, {...axis, values: moneyAxis, size: 70}],
    series: [
      {label: "time (UTC)", value: (u, ts) => ts === null ? "–" : new Date(ts * 1000).toISOString().slice(0, 19).replace("T", " ")},
      ...names.map((n) => ({
        label: n, stroke: COLORS[n] || "#fff", width: n === "total" ? 2.5 : 1.5, spanGaps: false,
        paths: uPlot.paths && uPlot.paths.stepped ? uPlot.paths.stepped({align: 1}) : undefined,
        value: (u, v) => money(v),
      })),
    ],
  };
}

function renderEquity(data) {
  const note = document.getElementById("charts-note");
  const legend = document.getElementById("equity-legend");
  legend.replaceChildren();
  const series = {...data.surfaces, total: data.total};
  for (const [name, pts] of Object.entries(series)) {
    if (!pts.length) continue;
    const item = document.createElement("span");
    item.style.setProperty("--swatch", COLORS[name] || "#fff");
    item.textContent = name + " " + money(pts[pts.length - 1][1]) + (curveSources[name] ? " · " + curveSources[name] : "");
    legend.appendChild(item);
  }
  if (typeof window.uPlot !== "function") {
    note.textContent = "charts unavailable: the charting library (static/vendor/uPlot.iife.min.js) is missing; run make";
    note.className = "warn-text";
    note.hidden = false;
    return;
  }
  const {names, times, columns} = alignCurves(series);
  if (!times.length) {
    note.textContent = "no resolved trades yet: the equity and drawdown charts start with the first resolution";
    note.className = "muted";
    note.hidden = false;
    for (const k of ["equity", "drawdown"]) if (charts[k]) { charts[k].destroy(); charts[k] = null; }
    charts.key = "";
    return;
  }
  note.hidden = true;
  const key = names.join(",");
  const equityData = [times, ...columns], drawdownData = [times, ...drawdowns(columns)];
  if (charts.key !== key || !charts.equity) {
    for (const k of ["equity", "drawdown"]) if (charts[k]) charts[k].destroy();
    charts.equity = new uPlot(chartOptions(names, 240, "Equity: cumulative realized P&L"), equityData,
      document.getElementById("equity-chart"));
    charts.drawdown = new uPlot(chartOptions(names, 150, "Drawdown: distance below each curve's running peak", false), drawdownData,
      document.getElementById("drawdown-chart"));
    charts.key = key;
  } else {
    charts.equity.setData(equityData);
    charts.drawdown.setData(drawdownData);
  }
}
window.addEventListener("resize", () => {
  const width = document.getElementById("equity-chart").clientWidth;
  if (charts.equity) charts.equity.setSize({width, height: 240});
  if (charts.drawdown) charts.drawdown.setSize({width, height: 150});
});

// ---------------------------------------------------------------- signals and trades
function fillSubStrategies() {
  const select = document.getElementById("filter-sub");
  const wanted = subStrategies
    .map((pair) => pair.split("/"))
    .filter(([surface]) => !filters.surface || surface === filters.surface)
    .map(([, sub]) => sub);
  const names = [...new Set(wanted)].sort();
  const current = [...select.options].slice(1).map((o) => o.value);
  if (names.join("\n") !== current.join("\n")) {
    select.replaceChildren(new Option("all sub-strategies", ""));
    for (const name of names) select.add(new Option(name, name));
  }
  select.value = names.includes(filters.sub) ? filters.sub : "";
}

function signalRow(row, s) {
  row.className = "clickable";
  row.dataset.signalId = s.id;
  row.addEventListener("click", () => openAudit("signal", s.id));
  timeCell(row, s.published_at);
  cell(row, stacked(s.surface, s.sub_strategy));
  cell(row, stacked(s.instrument, s.side, "instrument")).className = "wrap";
  cell(row, price(s.limit_price, s.surface), "num");
  cell(row, points(s.edge), "num " + (s.edge >= 0 ? "pos" : "neg"));
  cell(row, pct(s.confidence, 0), "num");
  const mode = document.createElement("span");
  mode.className = "badges";
  mode.append(badge(s.dry_run ? "dry-run" : "LIVE", s.dry_run ? "dry" : "live"));
  if (s.result_kind === "sim") mode.append(" ", kindBadge("sim"));
  cell(row, mode);
  const status = s.expired && !s.trade_status ? "expired" : s.trade_status || "published";
  cell(row, stacked(status, s.pnl === null || s.pnl === undefined ? "" : money(s.pnl)));
}

function renderSignals(data) {
  subStrategies = data.sub_strategies;
  fillSubStrategies();
  signalPager.show(data.items, signalRow);
}

function tradeRow(row, t) {
  row.className = "clickable";
  row.dataset.tradeId = t.id;
  row.addEventListener("click", () => openAudit("trade", t.id));
  timeCell(row, t.ts);
  cell(row, stacked(t.surface, t.sub_strategy));
  cell(row, stacked(t.instrument, t.side, "instrument")).className = "wrap";
  cell(row, t.status);
  cell(row, price(t.fill_price, t.surface), "num");
  cell(row, money(t.fees), "num");
  cell(row, t.pnl === null || t.pnl === undefined ? "–" : money(t.pnl), "num " + signed(t.pnl || 0));
  const source = document.createElement("span");
  source.className = "badges";
  source.append(kindBadge(t.result_kind));
  if (t.resolution_source) source.append(el("span", t.resolution_source, "sub"));
  cell(row, source);
}

function renderTrades(data) { tradePager.show(data.items, tradeRow); }

// ---------------------------------------------------------------- skill
function interval(low, high, fmt) {
  return low === null || low === undefined || high === null || high === undefined ? "" : "[" + fmt(low) + ", " + fmt(high) + "]";
}
function score(x) { return x === null || x === undefined ? "–" : (x >= 0 ? "+" : "") + Number(x).toFixed(2); }
function renderSkill(data) {
  const tb = body("#skill");
  const rows = data.rows || [];
  document.getElementById("skill-empty").hidden = rows.length > 0;
  for (const r of rows) {
    const row = tb.insertRow();
    cell(row, kindBadge(r.kind === "real" ? "real_data_paper" : r.kind)).title = r.label;
    if (r.kind === "real") row.cells[0].firstChild.textContent = r.label;
    cell(row, r.surface);
    cell(row, r.sub_strategy === "*" ? "all" : r.sub_strategy);
    cell(row, r.n, "num");
    cell(row, Number(r.brier_model).toFixed(3) + " / " + Number(r.brier_market).toFixed(3), "num");
    const skill = stacked(score(r.skill), interval(r.skill_low, r.skill_high, score),
      r.skill === null ? "" : r.skill > 0 ? "pos" : "neg");
    cell(row, skill, "num");
    const realized = stacked(points(r.realized_edge), interval(r.realized_edge_low, r.realized_edge_high, (x) => points(x, 0)),
      r.realized_edge === null ? "" : r.realized_edge > 0 ? "pos" : "neg");
    cell(row, realized, "num");
    cell(row, points(r.claimed_edge), "num");
  }
}

// ---------------------------------------------------------------- subscribers, health, settings
function renderSubscribers(data) {
  document.getElementById("sub-summary").textContent =
    "active subscribers: " + (data.active_subscribers === null ? "fewer than " + data.min_cohort : data.active_subscribers) +
    " · held connections: " + data.held_connections +
    " · commission: " + (data.commission.suppressed ? "suppressed (small cohort)" : money(data.commission.total_cents));
  const tb = body("#subscribers");
  for (const s of data.surfaces) {
    const row = tb.insertRow();
    cell(row, s.surface);
    if (s.suppressed) { cell(row, "cohort < " + data.min_cohort).colSpan = 6; continue; }
    cell(row, s.subscribers);
    cell(row, s.acks);
    cell(row, s.executions);
    cell(row, s.resolved);
    cell(row, money(s.pnl_cents), signed(s.pnl_cents));
    cell(row, s.avg_slippage_bps === null || s.avg_slippage_bps === undefined ? "–" : Number(s.avg_slippage_bps).toFixed(1) + " bps");
  }
}

function renderHealth(data) {
  const tb = body("#heartbeats");
  for (const b of data.heartbeats) {
    const row = tb.insertRow();
    cell(row, b.process);
    cell(row, b.surface);
    timeCell(row, b.at);
    cell(row, b.tick);
    cell(row, badge(b.stale ? "stale" : "alive", b.stale ? "warn" : "ok"));
  }
  const pm2 = body("#pm2");
  if (data.pm2 === null) {
    cell(pm2.insertRow(), "PM2 not running").colSpan = 5;
  } else {
    for (const app of data.pm2) {
      const row = pm2.insertRow();
      cell(row, app.name);
      const bad = app.status === "errored" || app.status === "stopped" || app.status === "waiting restart";
      cell(row, badge(app.status || "?", app.status === "online" ? "ok" : bad ? "halted" : "warn"));
      cell(row, app.restart_time);
      cell(row, app.cpu === null ? "–" : app.cpu + "%");
      cell(row, app.memory === null ? "–" : (app.memory / 1048576).toFixed(0) + " MB");
    }
  }
  document.getElementById("feed-load").textContent =
    "feed: " + data.feed.held_connections + " held, " + data.feed.polls + " polls · corrupt lines skipped: " + data.corrupt_lines;
}

let settingsLoaded = false;
function renderSettings(data) {
  if (!settingsLoaded) {
    const surface = document.getElementById("ov-surface"), key = document.getElementById("ov-key");
    for (const name of Object.keys(data.surfaces)) surface.add(new Option(name, name));
    for (const action of data.list_actions) key.add(new Option(action.replaceAll("_", " "), action));
    for (const name of data.overridable) key.add(new Option(name, name));
    const filter = document.getElementById("filter-surface");
    for (const name of Object.keys(data.surfaces)) filter.add(new Option(name, name));
    settingsLoaded = true;
  }
  const tb = body("#overrides");
  for (const [name, s] of Object.entries(data.surfaces)) {
    const row = tb.insertRow();
    row.dataset.surface = name;
    cell(row, name);
    cell(row, s.suspended_categories.join(", ") || "–");
    cell(row, s.suspended_sub_strategies.join(", ") || "–");
    cell(row, s.overrides.filter((o) => o.value !== null && !o.key.startsWith("suspend") && !o.key.startsWith("resume"))
      .map((o) => o.key + " = " + (typeof o.value === "string" ? o.value : JSON.stringify(o.value))).join("; ") || "–");
  }
}

// ---------------------------------------------------------------- actions
async function act(promise) {
  const note = document.getElementById("action-error");
  try {
    await promise;
    note.hidden = true;
  } catch (error) {
    note.textContent = error.message;
    note.hidden = false;
  }
  refresh();
}
function toggleSurface(surface, halted) {
  return act(api(halted ? "/api/operator/resume" : "/api/operator/stop", {method: "POST", body: JSON.stringify({surface})}));
}
function stopAll() {
  if (!window.confirm("Halt order placement on every surface?")) return;
  act(api("/api/operator/stop", {method: "POST", body: JSON.stringify({surface: null, reason: "operator stop (dashboard)"})}));
}
function resumeAll() { act(api("/api/operator/resume", {method: "POST", body: JSON.stringify({surface: null})})); }

// Values go as text, validated server-side exactly like the env file ("0.05", "5", "politics,sports");
// an empty value reverts the key to the env file's setting (and it leaves the overrides list).
function parseValue(text) {
  const trimmed = text.trim();
  return trimmed === "" ? null : trimmed;
}
async function submitOverride(event) {
  event.preventDefault();
  const result = document.getElementById("ov-result");
  const key = document.getElementById("ov-key").value;
  const value = parseValue(document.getElementById("ov-value").value);
  try {
    await api("/api/operator/overrides", {method: "POST", body: JSON.stringify({
      surface: document.getElementById("ov-surface").value, key, value})});
    result.textContent = value === null ? "reverted " + key + " to the env file's value" : "saved: " + key;
    result.className = "pos";
    refresh();
  } catch (error) {
    result.textContent = error.message;
    result.className = "neg";
  }
}

// ---------------------------------------------------------------- the audit drawer: a trade ticket
function section(title, node) {
  const wrap = document.createElement("div");
  wrap.append(el("h3", title), node);
  return wrap;
}
function factsTable(pairs) {
  const table = el("table", null, "facts");
  for (const [label, value, cls] of pairs) {
    const row = table.insertRow();
    cell(row, label, "muted");
    cell(row, value, cls);
  }
  return table;
}
function sizeText(signal, trade, surface) {
  const parts = [];
  if (signal && signal.size_fraction !== undefined) parts.push(pct(signal.size_fraction, 1) + " of bankroll");
  if (trade && trade.count) parts.push(trade.count.toLocaleString("en-US") + " contracts");
  if (trade && trade.units) parts.push(trade.units.toLocaleString("en-US") + " units");
  if (trade && trade.cost_cents) parts.push("cost " + money(trade.cost_cents));
  return parts.join(" · ") || "–";
}
function gatesTable(decision) {
  const gates = document.createElement("table");
  gates.id = "audit-gates";
  const head = gates.insertRow();
  ["#", "gate", "result", "reason"].forEach((h) => cell(head, h, "muted"));
  const byName = new Map(decision.gates.map((g) => [g.gate, g]));
  const names = [...GATES, ...decision.gates.map((g) => g.gate).filter((g) => !GATES.includes(g))];
  names.forEach((name, i) => {
    const g = byName.get(name);
    const row = gates.insertRow();
    cell(row, i + 1, "muted");
    cell(row, name.replaceAll("_", " "));
    if (!g) { cell(row, "not reached", "muted"); cell(row, ""); return; }
    cell(row, g.passed ? "pass" : "STOP", g.passed ? "pos" : "neg");
    cell(row, [g.reason_code, g.detail].filter(Boolean).join(": ") || "");
  });
  return gates;
}
function answersNode(data) {
  const answers = (data.model_answers || []).filter((a) => a && a.model && a.model !== "offline-baseline");
  if (!answers.length) {
    const models = ((data.signal && data.signal.models) || (data.decision && data.decision.models) || [])
      .filter((m) => m !== "offline-baseline");
    const baseline = (data.model_answers || []).length > 0 || ((data.signal && data.signal.models) || []).length > 0;
    const why = models.length ? "no answers recorded from " + models.join(", ")
      : baseline ? "offline baseline, no model consulted" : "no model consulted";
    const p = el("p", "strategy only (" + why + ")", "muted");
    p.id = "audit-models";
    return p;
  }
  const table = document.createElement("table");
  table.id = "audit-models";
  const head = table.insertRow();
  ["model", "p", "confidence", "note"].forEach((h) => cell(head, h, "muted"));
  for (const a of answers) {
    const row = table.insertRow();
    cell(row, a.model);
    cell(row, a.abstained ? "–" : prob(a.p), "num");
    cell(row, a.abstained ? "–" : pct(a.confidence, 0), "num");
    cell(row, a.abstained ? "abstained: " + (a.reason || "") : a.reason || "");
  }
  return table;
}
function timeline(states, surface) {
  const list = el("ol", null, "timeline");
  list.id = "audit-timeline";
  if (!states.length) { list.append(el("li", "no trade: the signal was published only", "muted")); return list; }
  for (const t of states) {
    const item = el("li", null, "state-" + t.status);
    const facts = [];
    if (t.status === "placed" && t.venue_order_id) facts.push("order " + t.venue_order_id);
    if (t.fill_price) facts.push("fill " + price(t.fill_price, surface));
    if (t.exit_price) facts.push("exit " + price(t.exit_price, surface));
    if (t.fees) facts.push("fees " + money(t.fees));
    if (t.pnl !== null && t.pnl !== undefined) facts.push("P&L " + money(t.pnl));
    if (t.resolution_source) facts.push(t.resolution_source);
    if (t.reason) facts.push(t.reason);
    item.append(el("strong", t.status), " ", el("span", stamp(t.ts || t.resolved_at || t.opened_at), "muted"),
      facts.length ? el("div", facts.join(" · ")) : "");
    list.append(item);
  }
  return list;
}

async function openAudit(kind, id) {
  let data;
  try {
    data = await api("/api/operator/audit/" + kind + "/" + encodeURIComponent(id));
  } catch (error) {
    document.getElementById("action-error").textContent = "audit unavailable: " + error.message;
    document.getElementById("action-error").hidden = false;
    return;
  }
  const signal = data.signal || {}, decision = data.decision, states = data.trades || [];
  const last = states.length ? states[states.length - 1] : null;
  const surface = data.surface;
  const drawer = document.getElementById("drawer");
  const title = document.getElementById("drawer-title");
  title.replaceChildren(el("span", signal.instrument || (last && last.instrument) || id), " ",
    badge(signal.side || (last && last.side) || "?", "side"), " ",
    last ? kindBadge(last.mode === "live" ? "live" : last.venue === "sim" ? "sim" : "real_data_paper")
      : signal.venue === "sim" ? kindBadge("sim") : "");
  const out = document.getElementById("drawer-body");
  out.replaceChildren();
  out.append(el("p", surface + " · " + (signal.sub_strategy || (last && last.sub_strategy) || "") +
    " · " + (signal.dry_run === false ? "LIVE" : "dry-run") + " · " + kind + " " + id, "muted"));
  const ticket = factsTable([
    ["price", price(signal.limit_price || (last && last.limit_price), surface)],
    ["p model / market", prob(signal.p_model) + " / " + prob(signal.p_market)],
    ["edge (after fees)", points(signal.edge), signal.edge >= 0 ? "pos" : "neg"],
    ["confidence", pct(signal.confidence, 0)],
    ["model spread", data.model_spread === null || data.model_spread === undefined ? "–" : points(data.model_spread)],
    ["size", sizeText(signal, last, surface)],
    ["fees", money(data.fees_cents)],
    ["P&L", money(data.pnl_cents), signed(data.pnl_cents || 0)],
    ["status", last ? last.status : "published, no trade"],
    ["resolution source", data.resolution_source || "–"],
    ["published", stamp(signal.published_at)],
    ["expires", stamp(signal.expires_at)],
  ]);
  ticket.id = "audit-ticket";
  out.append(section("Ticket", ticket));
  if (decision) {
    out.append(section("Gates: " + (decision.accepted ? "accepted" : "stopped by " + String(decision.stopped_by).replaceAll("_", " ")),
      gatesTable(decision)));
  } else {
    out.append(section("Gates", el("p", "no decision record found", "muted")));
  }
  out.append(section("Model answers", answersNode(data)));
  out.append(section("Trade states", timeline(states, surface)));
  const raw = document.createElement("details");
  raw.id = "audit-raw";
  raw.append(el("summary", "raw JSON"), el("pre", JSON.stringify(data, null, 2)));
  out.append(raw);
  drawer.hidden = false;
}

// ---------------------------------------------------------------- loop
async function refresh() {
  const query = new URLSearchParams({limit: String(FETCH_ROWS)});
  if (filters.surface) query.set("surface", filters.surface);
  if (filters.sub) query.set("sub_strategy", filters.sub);
  try {
    const [overview, equity, signals, trades, subscribers, health, settings, skill] = await Promise.all([
      api("/api/operator/overview"), api("/api/operator/equity"), api("/api/operator/signals?" + query),
      api("/api/operator/trades?limit=" + FETCH_ROWS), api("/api/operator/subscribers"), api("/api/operator/health"),
      api("/api/operator/settings"), api("/api/operator/skill"),
    ]);
    renderSettings(settings);
    renderOverview(overview);
    renderEquity(equity);
    renderSignals(signals);
    renderTrades(trades);
    renderSkill(skill);
    renderSubscribers(subscribers);
    renderHealth(health);
    document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
    document.body.dataset.loaded = "1";
  } catch (error) {
    document.getElementById("updated").textContent = "update failed: " + error.message;
  }
}

signalPager = new Pager("feed");
tradePager = new Pager("trades");
document.getElementById("stop-all").addEventListener("click", stopAll);
document.getElementById("resume-all").addEventListener("click", resumeAll);
document.getElementById("logout").addEventListener("click", async () => {
  await api("/api/operator/logout", {method: "POST"}).catch(() => null);
  window.location.href = "/login";
});
document.getElementById("drawer-close").addEventListener("click", () => { document.getElementById("drawer").hidden = true; });
document.addEventListener("keydown", (e) => { if (e.key === "Escape") document.getElementById("drawer").hidden = true; });
document.getElementById("override-form").addEventListener("submit", submitOverride);
document.getElementById("filter-surface").addEventListener("change", (e) => {
  filters.surface = e.target.value;
  fillSubStrategies();
  filters.sub = document.getElementById("filter-sub").value;
  signalPager.reset();
  refresh();
});
document.getElementById("filter-sub").addEventListener("change", (e) => { filters.sub = e.target.value; signalPager.reset(); refresh(); });
refresh();
setInterval(refresh, REFRESH_MS);
