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


def test_the_sim_also_gives_the_market_s_instrument_for_its_fee_schedule(tmp_path: Path, make_signal: Any) -> None:
    from client.brokers import sim_markets

    load_or_create_epoch(tmp_path)
    markets = sim_markets(tmp_path)
    assert markets is not None
    pair = markets.instrument(make_signal(surface="fx", instrument="EUR_USD", side="long"))
    assert pair is not None and (pair.symbol, pair.kind) == ("EUR_USD", "fx")
    assert markets.instrument(make_signal(surface="kalshi_st", instrument="KXNOTAMARKET-25DEC27-B31.5")) is None


def test_open_broker_wires_the_sim_s_quotes_and_instruments_into_the_paper_broker(
    make_config: Any, tmp_path: Path, make_signal: Any
) -> None:
    from client.brokers import PaperBroker, open_broker

    load_or_create_epoch(tmp_path)
    broker = open_broker(make_config(broker={"paper_quotes": "sim", "paper_sim_log_dir": str(tmp_path)}))
    assert isinstance(broker, PaperBroker)
    signal = make_signal(surface="fx", instrument="EUR_USD", side="long")
    assert broker._quotes is not None and broker._quotes(signal) is not None
    assert broker._instruments is not None and broker._instruments(signal) is not None
