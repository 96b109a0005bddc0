"""The one table of surfaces: what each market surface is, where it lives and how it trades.

Every other place that needs to know the surfaces (the runner, the dashboard, the venue factory, the resolver, the
client's pricing and brokers, the audit) reads this table. Adding a surface means one row here and its own package.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from typing import Literal

InstrumentKind = Literal["binary", "fx", "equity"]
FeeSchedule = Literal["kalshi", "fx", "ibkr"]
LiveVenue = Literal["kalshi", "oanda", "ibkr"]
SettlementSource = Literal["kalshi_resolution", "nws_observation", "oanda_candles", "ibkr_position", "sim"]


@dataclass(frozen=True, slots=True)
class SurfaceSpec:
    """One row of the table."""

    name: str
    module: str  # the package module exposing SETTINGS and build()
    env_file: str  # the process's env file name under envs/
    process: str  # the PM2 app name
    live_venue: LiveVenue  # the live venue besides ``sim``
    instrument_kind: InstrumentKind
    fee_schedule: FeeSchedule
    settlement_source: SettlementSource  # what a live resolution is tagged with (weather may say nws_observation)
    title: str

    @property
    def venues(self) -> tuple[str, ...]:
        """Every ``VENUE`` this surface accepts."""
        return ("sim", self.live_venue)

    @property
    def binary(self) -> bool:
        """True for binary contracts that settle at $1 or $0."""
        return self.instrument_kind == "binary"

    @property
    def default_env(self) -> str:
        return f"envs/{self.env_file}"


SURFACE_TABLE: dict[str, SurfaceSpec] = {
    spec.name: spec
    for spec in (
        SurfaceSpec("kalshi_st", "surfaces.kalshi_st.surface", "st.env", "st-bot-loop", "kalshi", "binary",
                    "kalshi", "kalshi_resolution", "Kalshi short-term: weather highs, BTC 15-minute, sports"),
        SurfaceSpec("kalshi_lt", "surfaces.kalshi_lt.surface", "lt.env", "st-lt-loop", "kalshi", "binary",
                    "kalshi", "kalshi_resolution", "Kalshi long-term: politics and macro"),
        SurfaceSpec("fx", "surfaces.fx.surface", "fx.env", "st-forex-loop", "oanda", "fx",
                    "fx", "oanda_candles", "OANDA FX: major pairs, ATR brackets"),
        SurfaceSpec("stocks", "surfaces.stocks.surface", "stk.env", "st-stocks-loop", "ibkr", "equity",
                    "ibkr", "ibkr_position", "IBKR US equities, ATR brackets"),
    )
}

SURFACE_NAMES: tuple[str, ...] = tuple(SURFACE_TABLE)


class UnknownSurface(KeyError):
    """A name that is not in the table."""


def surface_spec(name: str) -> SurfaceSpec:
    """The row for ``name``; :class:`UnknownSurface` names the known ones."""
    try:
        return SURFACE_TABLE[name]
    except KeyError:
        raise UnknownSurface(f"unknown surface {name!r} (known: {', '.join(SURFACE_NAMES)})") from None


def surfaces_of_venue(venue: str) -> tuple[str, ...]:
    """The surfaces a live venue serves (``kalshi`` → kalshi_st, kalshi_lt)."""
    return tuple(spec.name for spec in SURFACE_TABLE.values() if spec.live_venue == venue)


LIVE_VENUE_NAMES: tuple[str, ...] = tuple(dict.fromkeys(spec.live_venue for spec in SURFACE_TABLE.values()))


def main(argv: list[str] | None = None) -> int:
    """``python -m shared.surfaces --json``: the table for tools outside Python (PM2's ecosystem file, make)."""
    parser = argparse.ArgumentParser(prog="python -m shared.surfaces")
    parser.add_argument("--json", action="store_true", help="one object per surface (default: the names)")
    args = parser.parse_args(argv)
    if args.json:
        rows = [{"name": s.name, "package": s.module.rsplit(".", 1)[0], "env_file": s.env_file,
                 "process": s.process} for s in SURFACE_TABLE.values()]
        print(json.dumps(rows))
    else:
        print(" ".join(SURFACE_NAMES))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
