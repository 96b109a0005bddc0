"""Where each stream lives under logs/. One place, so no process guesses another's file names."""

from __future__ import annotations

from pathlib import Path

from shared.bus import Durability, JsonlLog

# Trades carry order intents: they must be on disk before an order is sent.
_DURABILITY = {"trades": Durability.FSYNC, "commission": Durability.FSYNC}


def surface_dir(log_dir: Path, surface: str) -> Path:
    return log_dir / surface


def stream_path(log_dir: Path, surface: str, stream: str) -> Path:
    """``logs/<surface>/<stream>.jsonl``; streams: signals, decisions, trades, heartbeats, events, costs."""
    return surface_dir(log_dir, surface) / f"{stream}.jsonl"


def open_stream(log_dir: Path, surface: str, stream: str) -> JsonlLog:
    return JsonlLog(stream_path(log_dir, surface, stream), _DURABILITY.get(stream, Durability.FLUSH))


def feed_path(log_dir: Path, name: str) -> Path:
    """``logs/feed/<name>.jsonl``: callbacks, subscribers, commission."""
    return log_dir / "feed" / f"{name}.jsonl"


def open_feed(log_dir: Path, name: str) -> JsonlLog:
    return JsonlLog(feed_path(log_dir, name), _DURABILITY.get(name, Durability.FLUSH))


def stop_file(log_dir: Path, surface: str | None = None) -> Path:
    """``logs/STOP`` halts every surface; ``logs/STOP.<surface>`` one."""
    return log_dir / ("STOP" if surface is None else f"STOP.{surface}")
