"""CLI product text -> the day's maximum; the same-day preliminary report is never taken as final."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from shared.datasources.cli_report import CliParseError, parse_cli

PAYLOADS = Path(__file__).parent / "payloads"


def test_final_next_morning_report() -> None:
    report = parse_cli((PAYLOADS / "cli_final.txt").read_text())
    assert (report.day, report.max_f, report.final) == (date(2025, 12, 27), 32, True)


def test_same_day_preliminary_is_not_final() -> None:
    report = parse_cli((PAYLOADS / "cli_preliminary.txt").read_text())
    assert (report.day, report.max_f, report.final) == (date(2025, 12, 27), 31, False)


def test_missing_maximum_is_none() -> None:
    report = parse_cli((PAYLOADS / "cli_final_prev.txt").read_text())
    assert (report.day, report.max_f, report.final) == (date(2025, 12, 26), None, True)


def test_negative_maximum() -> None:
    text = (PAYLOADS / "cli_final.txt").read_text().replace("MAXIMUM         32", "MAXIMUM         -4")
    assert parse_cli(text).max_f == -4


@pytest.mark.parametrize(
    "text",
    [
        "",
        "...THE CENTRAL PARK NY CLIMATE SUMMARY FOR SMARCH 27 2025...\nTEMPERATURE (F)\n MAXIMUM 30",
        "...THE CENTRAL PARK NY CLIMATE SUMMARY FOR DECEMBER 27 2025...\nPRECIPITATION (IN)\n",
        "...THE CENTRAL PARK NY CLIMATE SUMMARY FOR DECEMBER 27 2025...\nTEMPERATURE (F)\n YESTERDAY\n  MINIMUM 3\n",
    ],
)
def test_unparseable_text_is_a_typed_error(text: str) -> None:
    with pytest.raises(CliParseError):
        parse_cli(text)
