"""Where a result comes from: synthetic (a sim venue), real-data paper, or live. One rule, used everywhere.

Three kinds of result are never mixed and always labelled (ARCHITECTURE.md):
- ``sim``: paper on a sim venue. The sim's market knows at least as much as any strategy, so these results test
  the machinery and show no skill; they are *synthetic*.
- ``real_data_paper``: paper mode on a live venue's data (no order sent, fills against the real book locally).
- ``live``: real orders on a live venue.

A trade record says which: ``venue`` (``sim`` or a live venue), ``mode`` (paper or live) and, once resolved,
``resolution_source`` (a sim venue always tags ``sim``). Either sim marker makes the result synthetic, so a
record that contradicts itself is never promoted to real.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from shared.records import Signal, Trade

ResultKind = Literal["sim", "real_data_paper", "live"]
RESULT_KINDS: tuple[ResultKind, ...] = ("sim", "real_data_paper", "live")
REAL_KINDS: frozenset[str] = frozenset({"real_data_paper", "live"})
RESULT_LABELS: dict[str, str] = {
    "sim": "synthetic (sim)",
    "real_data_paper": "real-data paper",
    "live": "live",
}
SIM = "sim"


def result_kind(trade: Trade | Mapping[str, Any]) -> ResultKind:
    """``sim`` | ``real_data_paper`` | ``live`` for a trade record (a model, or its JSON dict as the dashboard has)."""
    venue: object
    mode: object
    source: object
    if isinstance(trade, Trade):
        venue, mode, source = trade.venue, trade.mode, trade.resolution_source
    else:
        venue, mode, source = trade.get("venue"), trade.get("mode", "paper"), trade.get("resolution_source")
    if venue == SIM or source == SIM or venue is None:
        # No venue on a record means we cannot show it came from real data: it is not promoted.
        return "sim"
    return "live" if mode == "live" else "real_data_paper"


def result_label(kind: str) -> str:
    """The words shown beside a number of this kind: "synthetic (sim)", "real-data paper" or "live"."""
    return RESULT_LABELS[kind]


def is_real(trade: Trade | Mapping[str, Any]) -> bool:
    """True iff the result comes from real market data (real-data paper or live); sim results never count."""
    return result_kind(trade) in REAL_KINDS


def signal_kind(signal: Signal | Mapping[str, Any]) -> ResultKind:
    """The kind of result a signal's trade will be: a sim-venue signal is synthetic, a dry-run one real-data paper."""
    venue: object
    dry_run: object
    if isinstance(signal, Signal):
        venue, dry_run = signal.venue, signal.dry_run
    else:
        venue, dry_run = signal.get("venue"), signal.get("dry_run", True)
    if venue == SIM or venue is None:
        return "sim"
    return "real_data_paper" if dry_run is not False else "live"
