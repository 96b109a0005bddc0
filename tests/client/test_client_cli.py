"""``tbot-client`` commands against the real dashboard: init pins the key, replay reads the history, money commands."""

from __future__ import annotations

import importlib.util
import json
import stat
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from client.config import load_config
from shared.signing import public_key_pem
from shared.timeutil import to_iso, utcnow


def _harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("client_cli_harness", Path(__file__).with_name("e2e_harness.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


H = _harness()


class Cli:
    """``tbot-client`` in this process (a subprocess per command costs seconds of imports on a busy box)."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def __call__(self, config: Path, *args: str) -> Any:
        from client.cli import main

        self.capsys.readouterr()
        code = main(["--config", str(config), *args])
        captured = self.capsys.readouterr()
        return type("Done", (), {"returncode": code, "stdout": captured.out, "stderr": captured.err})


@pytest.mark.timeout(120)
def test_init_replay_and_money_commands(tmp_path: Path, operator_key: Any, make_signal: Any,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    cli = Cli(capsys)
    server = H.RealDashboard(tmp_path / "operator", operator_key)
    # Two resolved signals from two days ago: a $0.40 YES that won and a $0.50 YES that lost.
    published = utcnow() - timedelta(days=2)
    win = make_signal(published_at=published, limit_price=Decimal("0.40"))
    loss = make_signal(published_at=published + timedelta(minutes=5), limit_price=Decimal("0.50"))
    for signal, pnl, fill in ((win, 700, "0.40"), (loss, -500, "0.50")):
        server.publish(signal)
        server.resolve(signal, pnl_cents=pnl, fill_price=fill, exit_price=None,
                       resolved_at=to_iso(signal.published_at + timedelta(hours=3)))
    server.start()
    try:
        config_path = tmp_path / "sub" / "tbot-client.toml"
        url = f"http://127.0.0.1:{server.port}"
        wrong = tmp_path / "wrong-token"
        wrong.write_text("tbs_not-a-real-token\n")
        refused = cli(config_path, "init", "--url", url, "--token-file", str(wrong))
        assert refused.returncode == 3 and "refused this token" in refused.stderr
        assert "tbs_not-a-real-token" not in refused.stderr + refused.stdout
        assert not config_path.exists(), "nothing written for a refused token"
        token_file = tmp_path / "token"
        token_file.write_text(f"# from the operator\nTBOT_FEED_TOKEN={server.token}\n")
        done = cli(config_path, "init", "--url", url, "--token-file", str(token_file), "--rule", "fixed")
        assert done.returncode == 0, done.stderr
        assert "token accepted" in done.stdout and server.token not in done.stdout + done.stderr
        config = load_config(config_path)
        assert config.public_key_path.read_text() == public_key_pem(operator_key)  # pinned from the dashboard
        secrets = config.resolve(Path("tbot-client.env"))
        assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
        assert server.token in secrets.read_text() and server.token not in config_path.read_text()
        assert config.feed_token() == server.token
        assert cli(config_path, "init", "--url", url, "--token-file", str(token_file)).returncode == 1  # no overwrite

        replay = cli(config_path, "--json", "replay", "--days", "30")
        assert replay.returncode == 0, replay.stderr
        figures = json.loads(replay.stdout)
        # The fixed rule: $10 a signal, sized at the signal's price + $0.02.
        # Win: 23 contracts at $0.40: +2300 − 920 − ⌈38.64⌉ = +1341. Loss: 19 at $0.50: −950 − ⌈33.25⌉ = −984.
        # Realized +357; commission ⌊0.15 × 357 = 53.55⌋ = 53; from $1,000.00 to $1,003.04.
        assert figures["surfaces"]["kalshi_st"]["pnl_cents"] == 1_341 - 984
        assert figures["commission_cents"] == 53
        assert figures["final_cents"] == 100_304
        assert Path(figures["chart"]).read_bytes()[:4] == b"\x89PNG"
        text = cli(config_path, "replay", "--days", "30").stdout
        assert "Had you subscribed 30 days ago with this config, you would have $1,003.04" in text
    finally:
        server.stop()

    assert json.loads(cli(config_path, "--json", "deposit", "250").stdout)["cash_cents"] == 25_000
    assert cli(config_path, "withdraw", "250.01").returncode == 1
    out = json.loads(cli(config_path, "--json", "withdraw", "100").stdout)
    assert (out["commission_cents"], out["cash_cents"]) == (0, 15_000)
    status = json.loads(cli(config_path, "--json", "status").stdout)
    assert (status["deposits_cents"], status["withdrawals_cents"], status["pending_callbacks"]) == (25_000, 10_000, 0)


def test_init_names_the_url_and_a_fix_when_nothing_answers(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    cli = Cli(capsys)
    token_file = tmp_path / "token"
    token_file.write_text("tbs_secret-token-value\n")
    url = f"http://127.0.0.1:{H.free_port()}"
    done = cli(tmp_path / "tbot-client.toml", "init", "--url", url, "--token-file", str(token_file))
    assert done.returncode == 1
    assert url in done.stderr and "ConnectError" in done.stderr and "check the host and port" in done.stderr
    assert "tbs_secret-token-value" not in done.stderr
    assert not (tmp_path / "tbot-client.toml").exists()


def test_init_token_on_the_command_line_is_deprecated_and_never_echoed(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    cli = Cli(capsys)
    done = cli(tmp_path / "tbot-client.toml", "init", "--url", f"http://127.0.0.1:{H.free_port()}",
               "--token", "tbs_on-the-command-line")
    assert "deprecated" in done.stderr
    assert "tbs_on-the-command-line" not in done.stderr + done.stdout


def test_bad_config_exits_2_naming_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cli = Cli(capsys)
    path = tmp_path / "tbot-client.toml"
    path.write_text("[sizing]\nrule = 'all-in'\n")
    done = cli(path, "status")
    assert done.returncode == 2
    assert "sizing.rule" in done.stderr and str(path) in done.stderr
    assert cli(tmp_path / "missing.toml", "run").returncode == 2


def test_json_is_accepted_before_or_after_the_command() -> None:
    from client.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["run", "--json"]).json is True
    assert parser.parse_args(["--json", "run"]).json is True
    assert parser.parse_args(["run"]).json is False
