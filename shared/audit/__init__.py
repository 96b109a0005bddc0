"""Audit and calibration reports over the logs the fleet writes (``tbot audit``, ``tbot report``).

Modules, one job each: ``window`` (the --since/--until window), ``scan`` (windowed raw reads using the bus's
binary search), ``load`` (the records a report needs, joined), ``pnl``, ``calibration``, ``eta``, ``gates``,
``subscribers`` (one section each), ``skill`` (strategy vs market Brier, realized vs claimed edge),
``provenance`` (sim / real-data paper / live: the one rule for where a result comes from), ``report`` (assembles
them), ``render`` (text), ``svg`` + ``html`` (the self-contained HTML report), ``guard`` (the live-start gate on
real-data evidence) and ``cli`` (``tbot audit``).
"""

from shared.audit.guard import calibration_gate

__all__ = ["calibration_gate"]
