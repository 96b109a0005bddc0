"""The client is publishable on its own: it may import shared/, never surfaces/ or dashboard/."""

from __future__ import annotations

import ast
from pathlib import Path

CLIENT = Path(__file__).resolve().parents[2] / "client"
FORBIDDEN = ("surfaces", "dashboard")


def _imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
            "import_module", "__import__"
        ):
            names.extend(arg.value for arg in node.args if isinstance(arg, ast.Constant) and isinstance(arg.value, str))
    return names


def test_client_never_imports_surfaces_or_dashboard() -> None:
    files = sorted(CLIENT.rglob("*.py"))
    assert len(files) >= 10
    offenders = [
        f"{path.relative_to(CLIENT.parent)}: {name}"
        for path in files
        for name in _imported_modules(path)
        if name.split(".")[0] in FORBIDDEN
    ]
    assert offenders == []


def test_the_scanner_catches_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import importlib\nfrom dashboard.feed import x\nimportlib.import_module('surfaces.fx')\n")
    assert [n for n in _imported_modules(bad) if n.split(".")[0] in FORBIDDEN] == ["dashboard.feed", "surfaces.fx"]


def test_importing_the_client_loads_no_operator_module() -> None:
    """Transitively too: nothing the client imports from shared/ pulls in surfaces/ or dashboard/."""
    import subprocess
    import sys

    code = (
        "import sys, client.cli, client.engine, client.runner, client.replay, client.brokers, client.money\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('surfaces', 'dashboard')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          cwd=CLIENT.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
