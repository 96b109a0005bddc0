"use strict";
// The operator UI: polls the operator API every few seconds and redraws each panel. No framework, no CDN.
// Every value from the server goes through textContent, never innerHTML.

const REFRESH_MS = 3000;
const COLORS = {kalshi_st: "#5aa2ff", kalshi_lt: "#b27cff", fx: "#3fb27f", stocks: "#e0a84f", total: "#d8dde6"};
const filters = {surface: "", sub: ""};
const curveSources = {};  // surface (and "total") -> where its P&L comes from, set by the overview for the legend

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
  if (!response.ok) throw new Error(typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail));
  return body;
}

function money(cents) {
  if (cents === null || cents === undefined) return "–";
  const sign = cents < 0 ? "-" : "";
  return sign + "$" + (Math.abs(cents) / 100).toLocaleString(undefined, {minimumFractionDigits: 2, maximumFractionDigits: 2});
}
function pct(x, digits = 1) { return x === null || x === undefined ? "–" : (x * 100).toFixed(digits) + "%"; }
function time(iso) { return iso ? iso.replace("T", " ").slice(5, 19) : "–"; }

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
// Edge in probability points, shown as cents per $1 of payoff ("+4.3¢"), never as a return on stake.
function points(edge) { return edge === null || edge === undefined ? "–" : (edge >= 0 ? "+" : "") + (edge * 100).toFixed(1) + "¢"; }
function body(id) { const tb = document.querySelector(id + " tbody"); tb.replaceChildren(); return tb; }

// ---------------------------------------------------------------- panels
function renderOverview(data) {
  const mode = document.getElementById("mode");
  mode.textContent = data.mode;
  mode.className = "badge " + (data.mode === "live" ? "live" : "dry");
  const stop = document.getElementById("stop-state");
  stop.textContent = data.stop.global ? "STOPPED (all)" : "running";
  stop.className = "badge " + (data.stop.global ? "halted" : "ok");
  const tb = body("#allocations");
  for (const s of data.surfaces) {
    const row = tb.insertRow();
    row.dataset.surface = s.surface;
    cell(row, s.surface);
    cell(row, money(s.bankroll_cents));
    cell(row, money(s.exposure_cents));
    cell(row, s.open_positions);
    cell(row, money(s.caps.max_position_cents));
    cell(row, money(s.caps.per_market_cap_cents));
    cell(row, money(s.daily_pnl_cents), signed(s.daily_pnl_cents));
    cell(row, money(s.caps.daily_loss_limit_cents));
    const tripped = s.breakers.filter((b) => b.tripped).map((b) => b.breaker);
    cell(row, badge(tripped.length ? "tripped: " + tripped.join(", ") : "ok", tripped.length ? "halted" : "ok"));
    cell(row, badge(s.halted ? "halted" : "running", s.halted ? "halted" : "ok"));
    const button = document.createElement("button");
    button.textContent = data.stop.surfaces[s.surface] ? "resume" : "stop";
    button.addEventListener("click", () => toggleSurface(s.surface, data.stop.surfaces[s.surface]));
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

function renderEquity(data) {
  const canvas = document.getElementById("equity");
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 900, height = canvas.clientHeight || 240;
  canvas.width = width * ratio; canvas.height = height * ratio;
  const ctx = canvas.getContext("2d");
  ctx.scale(ratio, ratio);
  ctx.clearRect(0, 0, width, height);
  const series = {...data.surfaces, total: data.total};
  const all = Object.values(series).flat();
  const legend = document.getElementById("equity-legend");
  legend.replaceChildren();
  if (!all.length) {
    ctx.fillStyle = "#8a93a3"; ctx.fillText("no resolved trades yet", 12, 20);
    return;
  }
  const times = all.map((p) => Date.parse(p[0])), values = all.map((p) => p[1]).concat([0]);
  const t0 = Math.min(...times), t1 = Math.max(...times, t0 + 1);
  const v0 = Math.min(...values), v1 = Math.max(...values, v0 + 1);
  const pad = 30;
  const x = (t) => pad + (width - 2 * pad) * (t - t0) / (t1 - t0);
  const y = (v) => height - pad - (height - 2 * pad) * (v - v0) / (v1 - v0);
  ctx.strokeStyle = "#2a303a"; ctx.beginPath(); ctx.moveTo(pad, y(0)); ctx.lineTo(width - pad, y(0)); ctx.stroke();
  ctx.fillStyle = "#8a93a3"; ctx.fillText(money(v1), 2, pad - 4); ctx.fillText(money(v0), 2, height - 6);
  for (const [name, points] of Object.entries(series)) {
    if (!points.length) continue;
    ctx.strokeStyle = COLORS[name] || "#fff"; ctx.lineWidth = name === "total" ? 2.5 : 1.5;
    ctx.beginPath();
    points.forEach((p, i) => { const px = x(Date.parse(p[0])), py = y(p[1]); if (i) ctx.lineTo(px, py); else ctx.moveTo(px, py); });
    ctx.stroke();
    const item = document.createElement("span");
    item.style.setProperty("--swatch", COLORS[name] || "#fff");
    item.textContent = name + " " + money(points[points.length - 1][1]) + (curveSources[name] ? " · " + curveSources[name] : "");
    legend.appendChild(item);
  }
}

function renderSignals(data) {
  const subSelect = document.getElementById("filter-sub");
  const known = new Set([...subSelect.options].map((o) => o.value));
  for (const pair of data.sub_strategies) {
    const name = pair.split("/")[1];
    if (!known.has(name)) { subSelect.add(new Option(name, name)); known.add(name); }
  }
  const tb = body("#feed");
  for (const s of data.items) {
    const row = tb.insertRow();
    row.className = "clickable";
    row.dataset.signalId = s.id;
    row.addEventListener("click", () => openAudit("signal", s.id));
    cell(row, time(s.published_at));
    cell(row, s.surface);
    cell(row, s.sub_strategy);
    cell(row, s.instrument);
    cell(row, s.side);
    cell(row, s.limit_price);
    cell(row, points(s.edge), s.edge >= 0 ? "pos" : "neg");
    cell(row, pct(s.confidence, 0));
    const mode = document.createElement("span");
    mode.append(badge(s.dry_run ? "dry-run" : "LIVE", s.dry_run ? "dry" : "live"));
    if (s.result_kind === "sim") mode.append(" ", kindBadge("sim"));
    cell(row, mode);
    cell(row, s.expired && !s.trade_status ? "expired" : s.trade_status || "published");
  }
}

function renderTrades(data) {
  const tb = body("#trades");
  for (const t of data.items.slice(0, 50)) {
    const row = tb.insertRow();
    row.className = "clickable";
    row.addEventListener("click", () => openAudit("trade", t.id));
    cell(row, time(t.ts));
    cell(row, t.surface);
    cell(row, t.instrument);
    cell(row, t.side);
    cell(row, t.status);
    cell(row, t.fill_price);
    cell(row, money(t.fees));
    cell(row, t.pnl === null ? "–" : money(t.pnl), signed(t.pnl || 0));
    const source = document.createElement("span");
    source.append(kindBadge(t.result_kind), t.resolution_source ? " " + t.resolution_source : "");
    cell(row, source);
  }
}

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
    cell(row, s.avg_slippage_bps === null ? "–" : s.avg_slippage_bps + " bps");
  }
}

function renderHealth(data) {
  const tb = body("#heartbeats");
  for (const b of data.heartbeats) {
    const row = tb.insertRow();
    cell(row, b.process);
    cell(row, b.surface);
    cell(row, time(b.at));
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
      cell(row, badge(app.status || "?", app.status === "online" ? "ok" : "warn"));
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
    cell(row, name);
    cell(row, s.suspended_categories.join(", ") || "–");
    cell(row, s.suspended_sub_strategies.join(", ") || "–");
    cell(row, s.overrides.map((o) => o.key + "=" + JSON.stringify(o.value)).join("; ") || "–");
  }
}

// ---------------------------------------------------------------- actions
async function toggleSurface(surface, halted) {
  await api(halted ? "/api/operator/resume" : "/api/operator/stop", {method: "POST", body: JSON.stringify({surface})});
  refresh();
}
async function stopAll() {
  if (!window.confirm("Halt order placement on every surface?")) return;
  await api("/api/operator/stop", {method: "POST", body: JSON.stringify({surface: null, reason: "operator stop (dashboard)"})});
  refresh();
}
async function resumeAll() {
  await api("/api/operator/resume", {method: "POST", body: JSON.stringify({surface: null})});
  refresh();
}

// Values go as text, validated server-side exactly like the env file ("0.05", "5", "politics,sports");
// an empty value reverts the key to the env file's setting.
function parseValue(text) {
  const trimmed = text.trim();
  return trimmed === "" ? null : trimmed;
}
async function submitOverride(event) {
  event.preventDefault();
  const result = document.getElementById("ov-result");
  const key = document.getElementById("ov-key").value;
  const raw = document.getElementById("ov-value").value;
  const value = parseValue(raw);
  try {
    await api("/api/operator/overrides", {method: "POST", body: JSON.stringify({
      surface: document.getElementById("ov-surface").value, key, value})});
    result.textContent = "saved: " + key;
    result.className = "pos";
    refresh();
  } catch (error) {
    result.textContent = "rejected: " + error.message;
    result.className = "neg";
  }
}

function section(title, node) {
  const wrap = document.createElement("div");
  const h = document.createElement("h3");
  h.textContent = title;
  wrap.append(h, node);
  return wrap;
}
function pre(value) { const p = document.createElement("pre"); p.textContent = JSON.stringify(value, null, 2); return p; }

async function openAudit(kind, id) {
  const data = await api("/api/operator/audit/" + kind + "/" + encodeURIComponent(id));
  const drawer = document.getElementById("drawer");
  document.getElementById("drawer-title").textContent = "Audit: " + kind + " " + id;
  const out = document.getElementById("drawer-body");
  out.replaceChildren();
  const facts = document.createElement("table");
  for (const [label, value] of [["surface", data.surface], ["fees", money(data.fees_cents)], ["P&L", money(data.pnl_cents)],
    ["resolution source", data.resolution_source], ["model spread", data.model_spread]]) {
    const row = facts.insertRow(); cell(row, label); cell(row, value);
  }
  out.appendChild(section("Summary", facts));
  if (data.decision) {
    const gates = document.createElement("table");
    gates.id = "audit-gates";
    const head = gates.insertRow(); ["gate", "passed", "reason", "detail"].forEach((h) => cell(head, h, "muted"));
    for (const g of data.decision.gates) {
      const row = gates.insertRow();
      cell(row, g.gate); cell(row, g.passed ? "pass" : "STOP", g.passed ? "pos" : "neg"); cell(row, g.reason_code); cell(row, g.detail);
    }
    out.appendChild(section("Decision: " + (data.decision.accepted ? "accepted" : "stopped by " + data.decision.stopped_by), gates));
  } else {
    out.appendChild(section("Decision", document.createTextNode("no decision record found")));
  }
  const answers = document.createElement("table");
  const head = answers.insertRow(); ["model", "p", "confidence", "note"].forEach((h) => cell(head, h, "muted"));
  for (const a of data.model_answers) {
    const row = answers.insertRow();
    cell(row, a.model); cell(row, a.p); cell(row, a.confidence); cell(row, a.abstained ? "abstained: " + (a.reason || "") : a.reason || "");
  }
  out.appendChild(section("Model answers", answers));
  out.appendChild(section("Trade states", pre(data.trades)));
  out.appendChild(section("Signal", pre(data.signal)));
  drawer.hidden = false;
}

// ---------------------------------------------------------------- loop
async function refresh() {
  const query = new URLSearchParams();
  if (filters.surface) query.set("surface", filters.surface);
  if (filters.sub) query.set("sub_strategy", filters.sub);
  try {
    const [overview, equity, signals, trades, subscribers, health, settings] = await Promise.all([
      api("/api/operator/overview"), api("/api/operator/equity"), api("/api/operator/signals?" + query),
      api("/api/operator/trades"), api("/api/operator/subscribers"), api("/api/operator/health"),
      api("/api/operator/settings"),
    ]);
    renderSettings(settings);
    renderOverview(overview);
    renderEquity(equity);
    renderSignals(signals);
    renderTrades(trades);
    renderSubscribers(subscribers);
    renderHealth(health);
    document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
    document.body.dataset.loaded = "1";
  } catch (error) {
    document.getElementById("updated").textContent = "update failed: " + error.message;
  }
}

document.getElementById("stop-all").addEventListener("click", stopAll);
document.getElementById("resume-all").addEventListener("click", resumeAll);
document.getElementById("logout").addEventListener("click", async () => {
  await api("/api/operator/logout", {method: "POST"}).catch(() => null);
  window.location.href = "/login";
});
document.getElementById("drawer-close").addEventListener("click", () => { document.getElementById("drawer").hidden = true; });
document.getElementById("override-form").addEventListener("submit", submitOverride);
document.getElementById("filter-surface").addEventListener("change", (e) => { filters.surface = e.target.value; refresh(); });
document.getElementById("filter-sub").addEventListener("change", (e) => { filters.sub = e.target.value; refresh(); });
refresh();
setInterval(refresh, REFRESH_MS);
