"""Kalshi ticker grammar as the sim writes and reads it (kalshi.md §5)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from shared.venues.kalshi.tickers import (
    TickerError,
    bracket_ticker,
    btc15m_ticker,
    parse_btc15m,
    parse_weather,
    tail_ticker,
)


def test_weather_ticker_round_trip() -> None:
    parsed = parse_weather("KXHIGHNY-25DEC27-B31.5")
    assert (parsed.series, parsed.day, parsed.kind, parsed.strike) == ("KXHIGHNY", date(2025, 12, 27), "B",
                                                                       Decimal("31.5"))
    assert parsed.event == "KXHIGHNY-25DEC27"
    assert str(parsed) == "KXHIGHNY-25DEC27-B31.5"
    assert bracket_ticker("KXHIGHNY", date(2025, 12, 27), 31) == "KXHIGHNY-25DEC27-B31.5"
    assert tail_ticker("KXHIGHNY", date(2025, 12, 27), 29) == "KXHIGHNY-25DEC27-T29"
    assert parse_weather("KXHIGHNY-25DEC27-T36").strike == Decimal(36)
    # Midway's high can stay below 0 °F (2019-01-30: -10 °F), and its brackets follow it there.
    assert parse_weather("KXHIGHCHI-26JAN30-T-9").strike == Decimal(-9)
    assert parse_weather(bracket_ticker("KXHIGHCHI", date(2026, 1, 30), -9)).strike == Decimal("-8.5")


@pytest.mark.parametrize("bad", ["KXHIGHNY-25DEC27-B31", "KXHIGHNY-25DEC27-T29.5", "KXHIGHNY-25XYZ27-B31.5",
                                 "KXHIGHNY-25FEB30-B31.5", "HIGHNY-25DEC27-B31.5", "KXHIGHNY-25DEC27"])
def test_weather_ticker_rejects_malformed(bad: str) -> None:
    with pytest.raises(TickerError):
        parse_weather(bad)


def test_btc15m_ticker_uses_eastern_close_time() -> None:
    # kalshi.md fact 11: KXBTC15M-26APR031645 closes 2026-04-03T20:45Z (16:45 EDT).
    close = datetime(2026, 4, 3, 20, 45, tzinfo=UTC)
    assert btc15m_ticker(close) == "KXBTC15M-26APR031645-45"
    assert parse_btc15m("KXBTC15M-26APR031645-45") == close
    # kalshi.md §5: KXBTC15M-26MAR120000-00 opens 03:45Z and closes 04:00Z (midnight EDT); in winter (EST) the
    # same label is an hour later in UTC.
    assert btc15m_ticker(datetime(2026, 3, 12, 4, 0, tzinfo=UTC)) == "KXBTC15M-26MAR120000-00"
    assert parse_btc15m("KXBTC15M-25DEC060000-00") == datetime(2025, 12, 6, 5, 0, tzinfo=UTC)


@pytest.mark.parametrize("bad", ["KXBTC15M-26APR031645-30", "KXBTC15M-26APR031650-50", "KXBTC15M-26APR03-45"])
def test_btc15m_ticker_rejects_malformed(bad: str) -> None:
    with pytest.raises(TickerError):
        parse_btc15m(bad)
