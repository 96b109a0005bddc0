"""The client never builds a live adapter while calling it paper: paper is the paper broker, which has no network.

A live broker (kalshi, oanda, ibkr) trades the subscriber's own account by design; its secrets file saying
TRADING_MODE=paper is a contradiction and is refused before any adapter exists. Every request is routed to respx,
so one reaching the network would show up as a recorded call.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import respx

from client.brokers import PaperBroker, open_broker
from shared.config import ConfigError

_ADAPTERS = ("shared.venues.kalshi.execution", "shared.venues.oanda.execution", "shared.venues.ibkr.execution")
_CREDENTIALS = {
    "kalshi": "KALSHI_API_KEY_ID=id\nKALSHI_PRIVATE_KEY_PATH=k.pem\nKALSHI_BASE_URL=http://127.0.0.1:9/trade-api/v2\n",
    "oanda": "OANDA_API_TOKEN=tok-SECRET-9\nOANDA_ACCOUNT_ID=101-001-1-001\nOANDA_BASE_URL=http://127.0.0.1:9\n",
    "ibkr": "IBKR_ACCOUNT_ID=U1234567\nIBKR_GATEWAY_URL=http://127.0.0.1:9\n",
}


@pytest.mark.parametrize("kind", sorted(_CREDENTIALS))
def test_a_live_broker_whose_keys_say_paper_is_refused_before_any_adapter(
    kind: str, make_config, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in _ADAPTERS:  # importing an adapter now raises: the refusal must come first
        monkeypatch.setitem(sys.modules, name, None)
    config = make_config(broker={"kind": kind, "secrets_file": "broker.env"})
    secrets = Path(config.base_dir) / "broker.env"
    secrets.write_text(f"TRADING_MODE=paper\n{_CREDENTIALS[kind]}")
    os.chmod(secrets, 0o600)
    with respx.mock(assert_all_called=False) as router, pytest.raises(ConfigError) as refused:
        open_broker(config)
    assert not router.calls
    assert refused.value.key == "TRADING_MODE" and 'broker.kind = "paper"' in refused.value.message
    assert "tok-SECRET-9" not in str(refused.value)


def test_the_paper_broker_builds_no_live_adapter(make_config, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _ADAPTERS:
        monkeypatch.setitem(sys.modules, name, None)
    broker = open_broker(make_config(broker={"kind": "paper", "paper_quotes": "signal"}))
    assert isinstance(broker, PaperBroker)
