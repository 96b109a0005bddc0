"""Paper never sends an order, whatever VENUE says.

Each live venue's base URL points at a loopback fake that records every request it gets.
- OANDA and IBKR: paper on their data is not built, so a surface (or the resolver) in paper mode exits 2 with one
  line naming the env file and VENUE, and the fake sees nothing at all. The same file switched to live mode does
  reach the fake, so "nothing arrived" means refused, not misrouted.
- Kalshi: paper runs on Kalshi's real data (``shared.venues.paper``). The surface and the resolver run as real
  processes against a spec-shaped fake; every request that arrives is a GET on a market-data path: not one write,
  not one order or portfolio path. (The in-process trading run is tests/surfaces/test_paper_on_live.py.)
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.config import EXIT_CONFIG, SurfaceSettings, load_settings, repo_root
from shared.venues.factory import build_venue


class Fake:
    """A loopback HTTP server answering 401 to everything and remembering each request line."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        seen = self.seen

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                seen.append(f"{self.command} {self.path}")
                body = b'{"error": "unauthorized"}'
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer

            def log_message(self, format: str, *args: object) -> None:  # keep the test output quiet
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"


@pytest.fixture
def fake() -> Iterator[Fake]:
    server = Fake()
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()


@pytest.fixture(scope="module")
def kalshi_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("kalshi") / "kalshi.pem"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)
    return path


# venue -> (surface it serves, env lines pointing it at the fake with complete credentials)
def _venue_lines(venue: str, url: str, kalshi_key: Path) -> tuple[str, str]:
    if venue == "kalshi":
        return "kalshi_st", (f"KALSHI_BASE_URL={url}/trade-api/v2\nKALSHI_API_KEY_ID=key-1\n"
                             f"KALSHI_PRIVATE_KEY_PATH={kalshi_key}\nKALSHI_ENV=prod\n")
    if venue == "oanda":
        return "fx", f"OANDA_BASE_URL={url}\nOANDA_API_TOKEN=tok-1\nOANDA_ACCOUNT_ID=101-001-1-001\nOANDA_ENV=live\n"
    return "stocks", f"IBKR_GATEWAY_URL={url}\nIBKR_ACCOUNT_ID=U1234567\n"


def _env_file(tmp_path: Path, mode: str, venue: str, venue_lines: str) -> Path:
    path = tmp_path / f"{mode}.env"
    path.write_text(f"TRADING_MODE={mode}\nVENUE={venue}\nLOG_DIR={tmp_path / 'logs'}\n"
                    f"SIGNAL_KEY_PATH={tmp_path / 'keys' / 'op.pem'}\n{venue_lines}")
    path.chmod(0o600)
    return path


def _clean_env() -> dict[str, str]:
    # A declared key inherited from the test runner (an exported VENUE, say) would change the outcome.
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "HOME": os.environ.get("HOME", "/")}


def _tbot(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shared.cli", *args], cwd=repo_root(), env=_clean_env(),
                          capture_output=True, text=True, timeout=60)


REFUSAL = "VENUE: paper on a live venue's data exists only for VENUE=kalshi"


def _assert_refused(result: subprocess.CompletedProcess[str], env_file: Path) -> None:
    assert result.returncode == EXIT_CONFIG, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr  # one clear line, no traceback
    assert lines[0].startswith(f"config error: {env_file}: {REFUSAL}")


@pytest.mark.parametrize("venue", ["oanda", "ibkr"])
def test_a_surface_in_paper_mode_on_a_live_venue_exits_2_and_sends_nothing(
    venue: str, fake: Fake, kalshi_key: Path, tmp_path: Path
) -> None:
    surface, lines = _venue_lines(venue, fake.url, kalshi_key)
    paper = _env_file(tmp_path, "paper", venue, lines)
    result = _tbot("surface", surface, "--env", str(paper), "--max-ticks", "3")
    _assert_refused(result, paper)
    assert fake.seen == []

    # The same file in live mode reaches the fake: the refusal above is what kept it silent.
    settings = load_settings(SurfaceSettings, _env_file(tmp_path, "live", venue, lines))
    with contextlib.suppress(Exception):  # the fake answers 401; only whether the request arrived matters here
        build_venue(surface, settings).balance()
    assert fake.seen, "the live adapter never reached the fake: the base URL override is not wired"


def test_the_resolver_refuses_a_surface_env_in_paper_mode_on_a_venue_without_paper(
    fake: Fake, kalshi_key: Path, tmp_path: Path
) -> None:
    _, lines = _venue_lines("oanda", fake.url, kalshi_key)
    surface_env = _env_file(tmp_path, "paper", "oanda", lines)
    resolver_env = tmp_path / "resolver.env"
    resolver_env.write_text(f"LOG_DIR={tmp_path / 'logs'}\nSURFACE_ENVS=fx={surface_env}\n")
    result = _tbot("resolver", "--env", str(resolver_env), "--max-ticks", "1")
    _assert_refused(result, surface_env)
    assert fake.seen == []


def _fake_kalshi_module() -> ModuleType:
    name = "tbot_test_fake_kalshi"
    if name not in sys.modules:
        path = Path(__file__).parents[1] / "shared" / "venues" / "kalshi" / "fake_kalshi.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


def test_paper_on_kalshi_runs_the_surface_and_the_resolver_on_real_data_and_sends_nothing(
    kalshi_key: Path, tmp_path: Path
) -> None:
    with _fake_kalshi_module().serve() as (kalshi, url):
        # No weather forecast (the live one is Open-Meteo, on the network): the scan, quotes and books still run.
        lines = (f"KALSHI_BASE_URL={url}\nKALSHI_API_KEY_ID=key-1\nKALSHI_PRIVATE_KEY_PATH={kalshi_key}\n"
                 "KALSHI_ENV=prod\nKALSHI_SERIES=KXHIGHNY\nST_STRATEGIES=sports_devig\n")
        paper = _env_file(tmp_path, "paper", "kalshi", lines)
        result = _tbot("surface", "kalshi_st", "--env", str(paper), "--max-ticks", "3")
        assert result.returncode == 0, result.stderr
        resolver_env = tmp_path / "resolver.env"
        resolver_env.write_text(f"LOG_DIR={tmp_path / 'logs'}\nSURFACE_ENVS=kalshi_st={paper}\n")
        result = _tbot("resolver", "--env", str(resolver_env), "--max-ticks", "1")
        assert result.returncode == 0, result.stderr
    assert kalshi.seen, "the paper surface never read the fake: the base URL override is not wired"
    assert kalshi.orders_seen() == []  # not one write, not one order or portfolio path
    assert all(line.startswith("GET /trade-api/v2/markets") or line.startswith("GET /trade-api/v2/series/")
               or line.startswith("GET /trade-api/v2/events/") for line in kalshi.seen), kalshi.seen
    market = tmp_path / "logs" / "kalshi_st" / "market.jsonl"
    assert market.exists() and '"kind":"listing"' in market.read_text().replace(" ", "")


def test_the_runner_turns_a_refusal_while_building_into_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Settings that slipped past validation (here: a copy switched to oanda) meet the factory's own refusal;
    the runner reports it like any config error: one line naming the env file and VENUE, exit 2."""
    import importlib

    from surfaces.runner import SURFACE_PACKAGES, run_surface

    module = importlib.import_module(SURFACE_PACKAGES["kalshi_st"][0])

    def build(settings: SurfaceSettings, **_: object) -> object:
        return build_venue("kalshi_st", settings.model_copy(update={"venue": "oanda"}))

    monkeypatch.setattr(module, "build", build)
    env = tmp_path / "st.env"
    env.write_text(f"LOG_DIR={tmp_path / 'logs'}\n")
    args = argparse.Namespace(env=env, max_ticks=1, allow_uncalibrated=False)
    assert run_surface("kalshi_st", args) == EXIT_CONFIG
    line = capsys.readouterr().err.strip()
    assert line.startswith(f"config error: {env}: {REFUSAL}"), line
