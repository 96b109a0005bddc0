"""Property-based run over the dashboard's OpenAPI schema (schemathesis): no generated input gets a 5xx.

Requests carry real tokens (a subscriber's, or the operator's for operator routes) so generation reaches the
handlers instead of stopping at 401. Long-poll waits are capped at 50 ms by the test settings.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings

from dashboard.app import asgi_app
from dashboard.config import DashboardSettings
from dashboard.subscribers import add_subscriber
from shared.paths import open_stream
from shared.records import Signal
from shared.signing import load_or_create_key, sign_signal
from shared.timeutil import utcnow

_ROOT = Path(tempfile.mkdtemp(prefix="tbot-schema-"))
atexit.register(shutil.rmtree, _ROOT, True)
_LOGS = _ROOT / "logs"
_OPERATOR = "schema-operator-token-0123456789"
_SETTINGS = DashboardSettings.model_validate(
    {
        "log_dir": _LOGS,
        "signal_key_path": _LOGS / "keys" / "k.pem",
        "dashboard_api_token": _OPERATOR,
        "env_dir": _ROOT / "envs",
        "pm2_home": _ROOT / "nopm2",
        "feed_max_wait_seconds": 0.05,
        "feed_default_wait_seconds": 0,
        "rate_limit_per_second": 100_000,
        "rate_limit_burst": 100_000,
    }
)
_, _SUBSCRIBER = add_subscriber(_LOGS, "fuzz")
_now = utcnow()
open_stream(_LOGS, "fx", "signals").append(
    sign_signal(  # signed: the dashboard serves only signals that verify
        Signal.model_validate(
            {"published_at": _now, "expires_at": _now, "surface": "fx", "sub_strategy": "atr", "venue": "sim",
             "instrument": "EUR_USD", "side": "long", "limit_price": "1.1", "size_fraction": "0.01", "p_model": 0.6,
             "p_market": 0.5, "edge": 0.05, "confidence": 0.7}
        ),
        load_or_create_key(_LOGS / "keys" / "k.pem"),
    )
)
_APP = asgi_app(_SETTINGS)
schema = schemathesis.openapi.from_asgi("/openapi.json", _APP)


@schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors_on_generated_input(case: schemathesis.Case) -> None:
    operator = case.path.startswith("/api/operator") or case.path == "/metrics"
    token = _OPERATOR if operator else _SUBSCRIBER
    headers = dict(case.headers or {})
    headers["Authorization"] = f"Bearer {token}"
    if operator:
        headers["X-Tbot-Operator"] = "1"
    response = case.call(headers=headers)
    assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:300])
