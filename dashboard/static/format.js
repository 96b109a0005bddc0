"use strict";
// Numbers for people, one rule for every page (operator UI and /demo): money in dollars with thousands separators,
// edges in cents per $1 of payoff, prices in the instrument's own unit, times in UTC.

const PRICE_KINDS = {kalshi_st: "binary", kalshi_lt: "binary", fx: "fx", stocks: "equity"};
const DASH = "–";

function isNone(x) { return x === null || x === undefined || x === ""; }

// Integer cents -> "$1,234.56" / "-$0.14".
function money(cents) {
  if (isNone(cents)) return DASH;
  const value = Number(cents);
  const sign = value < 0 ? "-" : "";
  return sign + "$" + (Math.abs(value) / 100).toLocaleString("en-US", {minimumFractionDigits: 2, maximumFractionDigits: 2});
}
// Money without cents once it is large enough that cents are noise: "$10,000" / "$12.34".
function moneyShort(cents) {
  if (isNone(cents)) return DASH;
  const value = Number(cents);
  if (Math.abs(value) < 1_000_00) return money(value);
  const sign = value < 0 ? "-" : "";
  return sign + "$" + Math.round(Math.abs(value) / 100).toLocaleString("en-US");
}
function pct(x, digits = 1) { return isNone(x) ? DASH : (Number(x) * 100).toFixed(digits) + "%"; }
// Edge in probability points, shown as cents per $1 of payoff ("+4.3¢"), never as a return on stake.
function points(edge, digits = 1) {
  if (isNone(edge)) return DASH;
  const cents = Number(edge) * 100;
  return (cents >= 0 ? "+" : "") + cents.toFixed(digits) + "¢";
}
// A probability as a price would be quoted: 0.64 -> "0.64".
function prob(p) { return isNone(p) ? DASH : Number(p).toFixed(2); }
// A limit or fill price in the instrument's unit: binary contracts in cents, FX to 5 places, stocks in dollars.
function price(value, surface) {
  if (isNone(value)) return DASH;
  const x = Number(value);
  if (!Number.isFinite(x)) return String(value);
  switch (PRICE_KINDS[surface]) {
    case "binary": return (Math.round(x * 1000) / 10).toString() + "¢";
    case "fx": return x.toFixed(x >= 20 ? 3 : 5);
    case "equity": return "$" + x.toLocaleString("en-US", {minimumFractionDigits: 2, maximumFractionDigits: 2});
    default: return String(Number(x.toPrecision(6)));
  }
}
// ISO UTC -> "14:03:07" today, "12-04 14:03" on another day; the full stamp goes in a tooltip.
function clock(iso) {
  if (!iso) return DASH;
  const text = String(iso);
  const today = new Date().toISOString().slice(0, 10);
  return text.slice(0, 10) === today ? text.slice(11, 19) : text.slice(5, 10) + " " + text.slice(11, 16);
}
function stamp(iso) { return iso ? String(iso).replace("T", " ").slice(0, 19) + " UTC" : DASH; }
