"use strict";
// The public demo page. Numbers are formatted by format.js, as on the operator page.
// Badge classes per result kind: sim results are synthetic and always say so.
const KIND_BADGE = { sim: "warn", real_data_paper: "dry", live: "live" };
function cell(row, text, cls) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "–" : String(text);
  if (cls) td.className = cls;
  row.appendChild(td);
  return td;
}
function badgeCell(row, kind, label) {
  const td = document.createElement("td");
  const span = document.createElement("span");
  span.className = "badge " + (KIND_BADGE[kind] || "warn");
  span.textContent = label;
  td.appendChild(span);
  row.appendChild(td);
}
function minutes(seconds) {
  const m = Math.round(seconds / 60);
  return m >= 120 && m % 60 === 0 ? m / 60 + " hours" : m + " minute" + (m === 1 ? "" : "s");
}
// The published history, checked on the server against the operator's key and each surface's hash chain.
function showHistory(history) {
  if (!history) return;
  let line = document.getElementById("demo-history");
  if (!line) {
    line = document.createElement("p");
    line.id = "demo-history";
    document.querySelector("header").appendChild(line);
  }
  line.textContent = history.verified
    ? "history verified: " + history.signals + " signals, chain intact"
    : "history broken at " + history.first_break.signal_id + " (" + history.first_break.surface + ")";
  line.className = history.verified ? "pos" : "neg";
  line.title = history.summary;
}
async function load() {
  const response = await fetch("/api/demo");
  if (!response.ok) return;
  const data = await response.json();
  const delay = minutes(data.delay_seconds);
  document.getElementById("delay").textContent = data.delay_seconds ? "signals delayed " + delay : "signals not delayed";
  const perf = document.querySelector("#demo-performance tbody");
  perf.replaceChildren();
  const note = document.getElementById("demo-performance-note");
  note.textContent = data.performance_note || "";
  note.hidden = !data.performance_note;
  for (const p of data.performance) {
    const row = perf.insertRow();
    cell(row, p.surface);
    badgeCell(row, p.result_kind, p.label);
    cell(row, p.resolved);
    cell(row, pct(p.win_rate));
    cell(row, money(p.realized_cents), "num " + (p.realized_cents > 0 ? "pos" : p.realized_cents < 0 ? "neg" : ""));
  }
  showHistory(data.history);
  document.getElementById("demo-synthetic-hidden").textContent = data.synthetic_results_hidden
    ? data.synthetic_results_hidden + " synthetic (sim) results not shown." : "";
  const sigs = document.querySelector("#demo-signals tbody");
  sigs.replaceChildren();
  for (const s of data.signals) {
    const row = sigs.insertRow();
    cell(row, stamp(s.published_at));
    badgeCell(row, s.result_kind, s.result_label);
    cell(row, s.surface);
    cell(row, s.sub_strategy);
    cell(row, s.instrument);
    cell(row, s.side);
    cell(row, price(s.limit_price, s.surface), "num");
    cell(row, points(s.edge), "num");
    cell(row, pct(s.confidence, 0), "num");
  }
  // Signals appear here only once they are older than the delay: a fleet that started less than that long ago has
  // published nothing that may be shown yet.
  const empty = document.getElementById("demo-signals-empty");
  empty.textContent = "No signal to show yet: signals appear here " + delay + " after they are published, so a fleet " +
    "that started less than " + delay + " ago has none old enough. Check back later.";
  empty.hidden = data.signals.length > 0;
}
load();
setInterval(load, 60000);
