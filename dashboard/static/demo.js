"use strict";
function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text;
  row.appendChild(td);
}
function money(cents) {
  const sign = cents < 0 ? "-" : "";
  return sign + "$" + (Math.abs(cents) / 100).toFixed(2);
}
async function load() {
  const response = await fetch("/api/demo");
  if (!response.ok) return;
  const data = await response.json();
  document.getElementById("delay").textContent = "signals delayed " + Math.round(data.delay_seconds / 60) + " min";
  const perf = document.querySelector("#demo-performance tbody");
  perf.replaceChildren();
  for (const p of data.performance) {
    const row = perf.insertRow();
    cell(row, p.surface);
    cell(row, p.resolved);
    cell(row, p.win_rate === null ? "–" : (p.win_rate * 100).toFixed(1) + "%");
    cell(row, money(p.realized_cents));
  }
  const sigs = document.querySelector("#demo-signals tbody");
  sigs.replaceChildren();
  for (const s of data.signals) {
    const row = sigs.insertRow();
    cell(row, s.published_at.replace("T", " ").slice(0, 19));
    cell(row, s.surface);
    cell(row, s.sub_strategy);
    cell(row, s.instrument);
    cell(row, s.side);
    cell(row, s.limit_price);
    cell(row, (s.edge * 100).toFixed(1) + "%");
    cell(row, (s.confidence * 100).toFixed(0) + "%");
  }
}
load();
setInterval(load, 60000);
