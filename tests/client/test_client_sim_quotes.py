"""The paper broker's sim quotes: a market the running replay does not list means "no quote", never a crash."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from client.brokers import sim_quote_source
from shared.venues.sim.replay import load_or_create_epoch


def test_unknown_market_gives_no_quote_and_a_listed_pair_gives_one(tmp_path: Path, make_signal: Any) -> None:
    load_or_create_epoch(tmp_path)  # a fleet is "running" on this log dir
    quote = sim_quote_source(tmp_path)
    assert quote is not None
    assert quote(make_signal(surface="kalshi_st", instrument="KXNOTAMARKET-25DEC27-B31.5")) is None
    fx = quote(make_signal(surface="fx", instrument="EUR_USD", side="long"))
    assert fx is not None and fx.bid is not None and fx.ask is not None and fx.bid < fx.ask


def test_without_a_fleet_epoch_every_quote_is_none(tmp_path: Path, make_signal: Any) -> None:
    quote = sim_quote_source(tmp_path)
    assert quote is not None and quote(make_signal()) is None
