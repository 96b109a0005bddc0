"use strict";
// Badge classes per result kind: sim results are synthetic and always say so.
const KIND_BADGE = { sim: "warn", real_data_paper: "dry", live: "live" };
function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text;
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
function money(cents) {
  const sign = cents < 0 ? "-" : "";
  return sign + "$" + (Math.abs(cents) / 100).toFixed(2);
}
// Edge in probability points shown as cents per $1 of payoff: 0.043 -> "+4.3¢".
function points(edge) {
  if (edge === null || edge === undefined) return "–";
  const cents = edge * 100;
  return (cents >= 0 ? "+" : "") + cents.toFixed(1) + "¢";
}
async function load() {
  const response = await fetch("/api/demo");
  if (!response.ok) return;
  const data = await response.json();
  document.getElementById("delay").textContent = "signals delayed " + Math.round(data.delay_seconds / 60) + " min";
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
    cell(row, p.win_rate === null ? "–" : (p.win_rate * 100).toFixed(1) + "%");
    cell(row, money(p.realized_cents));
  }
  document.getElementById("demo-synthetic-hidden").textContent = data.synthetic_results_hidden
    ? data.synthetic_results_hidden + " synthetic (sim) results not shown." : "";
  const sigs = document.querySelector("#demo-signals tbody");
  sigs.replaceChildren();
  for (const s of data.signals) {
    const row = sigs.insertRow();
    cell(row, s.published_at.replace("T", " ").slice(0, 19));
    badgeCell(row, s.result_kind, s.result_label);
    cell(row, s.surface);
    cell(row, s.sub_strategy);
    cell(row, s.instrument);
    cell(row, s.side);
    cell(row, s.limit_price);
    cell(row, points(s.edge));
    cell(row, (s.confidence * 100).toFixed(0) + "%");
  }
}
load();
setInterval(load, 60000);
