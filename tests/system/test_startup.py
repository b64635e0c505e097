"""#20: no pydantic on the command path. Typer builds a pydantic TypeAdapter for each parameter it parses; ours are
parsed by cli/values.py, so a command run as a real process (`python -m margindash_cli`) never imports pydantic
(about 60 ms of every start), nor Click itself (Typer vendors its own)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from processes import env

LINE = {
    "timestamp": "2026-10-01T10:00:00Z",
    "customer_id": "acme",
    "vendor": "openai",
    "model": "gpt-4o",
    "input_tokens": 1000,
    "output_tokens": 50,
}

# The entry point as `python -m margindash_cli` runs it; at exit, the names of every module imported go to a file.
RUNNER = (
    "import atexit, runpy, sys\n"
    "out, sys.argv = sys.argv[1], ['margindash', *sys.argv[2:]]\n"
    "atexit.register(lambda: open(out, 'w').write('\\n'.join(sorted(sys.modules))))\n"
    "runpy.run_module('margindash_cli', run_name='__main__')\n"
)


def modules_of(tmp_path, *args: str) -> tuple[subprocess.CompletedProcess, set[str]]:
    out = tmp_path / "modules.txt"
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, str(out), *args], env=env(), capture_output=True, text=True, timeout=120
    )
    return proc, set(out.read_text().split())


@pytest.fixture
def store(tmp_path):
    log = tmp_path / "calls.jsonl"
    log.write_text(json.dumps(LINE) + "\n")
    db = tmp_path / "store.db"
    proc, _ = modules_of(tmp_path, "--db", str(db), "ingest", str(log))
    assert proc.returncode == 0, proc.stderr
    return db


@pytest.mark.parametrize(
    "args",
    [
        ["report"],
        ["report", "--by", "model", "--top", "5", "--json"],
        ["report", "--help"],
        ["events", "--limit", "3"],
        ["prices", "list", "--json"],
        ["budget", "list"],
        ["doctor"],
        ["--help"],
        ["events", "--limit", "abc"],  # a usage error is printed without pydantic too
    ],
    ids=" ".join,
)
def test_no_pydantic_on_the_command_path(tmp_path, store, args):
    proc, modules = modules_of(tmp_path, "--db", str(store), *args)
    assert proc.returncode in (0, 2), proc.stderr
    assert "Traceback" not in proc.stderr
    assert "pydantic" not in modules and "typer._adapters" not in modules, sorted(m for m in modules if "pyd" in m)
    assert "click" not in modules  # Typer 0.29 carries its own Click; the real one is sqlite-utils' CLI only


def test_the_runner_sees_what_a_command_imports(tmp_path, store):
    """The check above can fail: the same runner sees sqlite3 once a command opens the store."""
    proc, modules = modules_of(tmp_path, "--db", str(store), "report")
    assert proc.returncode == 0 and "sqlite3" in modules and "margindash_cli.store.db" in modules
