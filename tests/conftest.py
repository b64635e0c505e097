"""Every test runs against a temporary home: no user store, no real secrets, no network."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# tests/support/ holds the helpers the tests import by name (localserver, processes, stripe_server, ...)
sys.path.insert(0, str(Path(__file__).parent / "support"))


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    for name in list(os.environ):
        if name.startswith(("STRIPE_", "MARGINDASH_")):
            monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("MARGINDASH_HOME", str(home))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "160")
    return home


@pytest.fixture
def runner():
    from typer.testing import CliRunner

    return CliRunner()


@pytest.fixture
def cli(runner):
    """Run the CLI in-process: cli("ingest", path) -> Result (exit_code, stdout, stderr)."""
    from margindash_cli.cli import app

    def run(*args, input=None):
        return runner.invoke(app, [str(a) for a in args], input=input, catch_exceptions=False)

    return run


def logged_line(file, line: int) -> dict:
    """The JSON object on line `line` (1-based) of a log file (gzip when it ends in .gz), as the app wrote it."""
    import gzip
    import json

    opener = gzip.open if str(file).endswith(".gz") else open
    with opener(file, "rt", encoding="utf-8") as fh:
        for n, text in enumerate(fh, 1):
            if n == line:
                return json.loads(text)
    raise AssertionError(f"{file} has no line {line}")


def request_id_of(record: dict, field: str = "request_id") -> str | None:
    """The request id of a stored call, as a user finds it: the store no longer keeps the id's text, so read it
    from the line of the ingested file that `events --json` names in the record's source."""
    source = record["source"]
    assert source is not None, f"a call with no source file: {record}"
    return logged_line(source["file"], source["line"]).get(field)


SYSTEM = Path(__file__).parent / "system"


def pytest_collection_modifyitems(items):
    """tests/system/ holds processes, kills, local servers and a browser: every test there is `slow`.

    The hook lives here, not in a tests/system/conftest.py: a second module named `conftest` would shadow this
    one for `from conftest import ...` in the test files."""
    for item in items:
        if SYSTEM in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.slow)
