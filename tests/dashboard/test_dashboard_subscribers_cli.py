"""``tbot subscribers add|list|revoke``: the token is printed once, only its hash is stored."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from dashboard.subscribers import SubscriberBook, hash_token
from shared.bus import JsonlLog
from shared.cli import main
from shared.paths import feed_path


def test_add_list_revoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    logs = tmp_path / "logs"
    assert main(["subscribers", "--log-dir", str(logs), "add", "alice"]) == 0
    out = capsys.readouterr().out
    token = out.strip().splitlines()[-1]
    assert token.startswith("tbs_") and len(token) > 40
    stored = feed_path(logs, "subscribers").read_text()
    assert token not in stored and hashlib.sha256(token.encode()).hexdigest() in stored

    assert main(["subscribers", "--log-dir", str(logs), "add", "alice"]) == 1  # name taken
    assert "already named" in capsys.readouterr().err

    assert main(["subscribers", "--log-dir", str(logs), "list"]) == 0
    listing = capsys.readouterr().out
    assert "alice" in listing and "active" in listing and token not in listing

    assert main(["subscribers", "--log-dir", str(logs), "revoke", "alice"]) == 0
    book = SubscriberBook()
    book.apply(JsonlLog(feed_path(logs, "subscribers")).read_all())
    assert book.authenticate(token) is None and book.active() == []
    assert main(["subscribers", "--log-dir", str(logs), "revoke", "alice"]) == 1
    assert main(["subscribers", "--log-dir", str(logs), "list"]) == 0
    assert "revoked" in capsys.readouterr().out


def test_authentication_is_by_hash_and_rejects_lookalikes(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    main(["subscribers", "--log-dir", str(logs), "add", "bob"])
    book = SubscriberBook()
    book.apply(JsonlLog(feed_path(logs, "subscribers")).read_all())
    subscriber = next(iter(book.by_id.values()))
    assert book.authenticate(subscriber.token_sha256) is None  # the stored hash is not a credential
    assert book.authenticate("tbs_" + "x" * 43) is None
    assert hash_token("a") != hash_token("b")


@pytest.mark.parametrize("name", ["", "   ", "x" * 81, "two\nlines"])
def test_bad_names_are_refused(tmp_path: Path, name: str) -> None:
    assert main(["subscribers", "--log-dir", str(tmp_path), "add", name]) == 1


def test_log_dir_may_follow_the_action(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["subscribers", "add", "dana", "--log-dir", str(tmp_path / "a")]) == 0
    assert feed_path(tmp_path / "a", "subscribers").exists()
    capsys.readouterr()
    assert main(["subscribers", "--log-dir", str(tmp_path / "a"), "list"]) == 0
    assert "dana" in capsys.readouterr().out
