"""A live broker: the subscriber's own keys, from their own 0600 file, through the shared OANDA adapter (respx)."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import respx

from client.brokers import VenueBroker, open_broker
from client.engine import Follower
from shared.config import ConfigError
from shared.ids import derive_id
from shared.signing import load_public_key

ACCOUNT = "101-001-1234567-001"
SECRET = "tok-subscriber-SECRET-42"
PAYLOADS = Path(__file__).with_name("payloads")


def _broker_env(folder: Path, text: str, mode: int = 0o600) -> None:
    path = folder / "broker.env"
    path.write_text(text)
    os.chmod(path, mode)


def test_an_fx_signal_is_placed_on_the_subscriber_s_oanda_account(make_config, make_signal) -> None:
    config = make_config(broker={"kind": "oanda", "secrets_file": "broker.env"},
                         sizing={"fixed_cents": 5_000, "max_cents_per_signal": 5_000})
    _broker_env(config.base_dir, f"OANDA_API_TOKEN={SECRET}\nOANDA_ACCOUNT_ID={ACCOUNT}\n"
                                 "OANDA_BASE_URL=https://oanda.test\n")
    broker = open_broker(config)
    assert isinstance(broker, VenueBroker) and broker.name == "oanda"
    follower = Follower(config, broker, load_public_key(config.public_key_path.read_text()))
    follower.money.append({"kind": "money", "id": "d1", "type": "deposit", "amount_cents": 100_000,
                           "at": "2026-03-02T14:00:00.000000Z"})
    follower.refresh()
    signal = make_signal(surface="fx", instrument="EUR_USD", side="long", limit_price=Decimal("1.08400"),
                         stop_loss=Decimal("1.08100"), take_profit=Decimal("1.08900"), dry_run=False)
    filled = json.loads((PAYLOADS / "oanda_order_filled.json").read_text())
    with respx.mock(base_url=f"https://oanda.test/v3/accounts/{ACCOUNT}", assert_all_called=True) as router:
        route = router.post("/orders").mock(return_value=httpx.Response(201, json=filled))
        outcome = follower.handle(signal.to_json_dict())
    assert outcome.verdict == "traded", outcome
    request = route.calls.last.request
    assert request.headers["authorization"] == f"Bearer {SECRET}"  # the subscriber's key, to their broker only
    order = json.loads(request.content)["order"]
    assert order["clientExtensions"]["id"] == derive_id("coid", signal.id)
    # $50 of notional at the worst acceptable 1.08400 × 1.002 = 1.086168 buys 46 euros.
    assert order["instrument"] == "EUR_USD" and int(order["units"]) == 46
    assert outcome.detail["fill_price"] == "1.08425"
    assert follower.mode == "live"
    records = [e.data for e in follower.orders.read_all()]
    assert [(r["status"], r["mode"], r["venue"]) for r in records] == [("intent", "live", "oanda"),
                                                                        ("filled", "live", "oanda")]


def test_operator_paper_signals_and_other_surfaces_are_not_sent_to_a_live_account(make_config, make_signal) -> None:
    config = make_config(broker={"kind": "oanda", "secrets_file": "broker.env"})
    _broker_env(config.base_dir, f"OANDA_API_TOKEN={SECRET}\nOANDA_ACCOUNT_ID={ACCOUNT}\n")
    follower = Follower(config, open_broker(config), load_public_key(config.public_key_path.read_text()))
    with respx.mock(assert_all_called=False) as router:
        outcome = follower.handle(make_signal(surface="fx", instrument="EUR_USD", side="long",
                                              limit_price=Decimal("1.08"), dry_run=True).to_json_dict())
        kalshi = follower.handle(make_signal(dry_run=False).to_json_dict())
    assert outcome.verdict == "skipped" and not router.calls
    assert kalshi.verdict == "skipped" and "does not trade kalshi_st" in kalshi.message


def test_broker_keys_must_be_private_and_complete(make_config) -> None:
    config = make_config(broker={"kind": "oanda", "secrets_file": "broker.env"})
    _broker_env(config.base_dir, f"OANDA_API_TOKEN={SECRET}\nOANDA_ACCOUNT_ID={ACCOUNT}\n", mode=0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        open_broker(config)
    _broker_env(config.base_dir, f"OANDA_API_TOKEN={SECRET}\n")
    with pytest.raises(ConfigError) as raised:
        open_broker(config)
    assert "OANDA_ACCOUNT_ID" in str(raised.value) and SECRET not in str(raised.value)


def test_without_the_factory_the_adapter_is_built_directly(make_config, monkeypatch: pytest.MonkeyPatch) -> None:
    """The standalone client wheel (client/pyproject.toml) ships the live adapters but not the sim venues."""
    import sys

    monkeypatch.setitem(sys.modules, "shared.venues.factory", None)  # importing it now raises ImportError
    config = make_config(broker={"kind": "oanda", "secrets_file": "broker.env"})
    _broker_env(config.base_dir, f"OANDA_API_TOKEN={SECRET}\nOANDA_ACCOUNT_ID={ACCOUNT}\n")
    broker = open_broker(config)
    assert isinstance(broker, VenueBroker) and broker.name == "oanda"
