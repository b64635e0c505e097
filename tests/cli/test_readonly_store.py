"""#17: a store this user cannot write (permissions, a `ro` mount) is opened read-only: the commands that only read
work and print what they print on a writable store; a command that writes says "the store is read-only (permissions
or mount)", never "the file may be corrupt, restore a backup".

Tests run as root here, where chmod does not bite: the chmod test skips under root, and the others make the store's
permission probe (`_writable`, os.access) answer "no"; SQLite then really opens the file `mode=ro` and really
refuses every write."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import stat
from pathlib import Path

import pytest

LINES = [
    {"timestamp": "2026-10-01T10:00:00Z", "customer_id": "acme", "feature": "chat", "vendor": "openai",
     "model": "gpt-4o", "input_tokens": 1000, "output_tokens": 50, "request_id": "r1"},
    {"timestamp": "2026-10-02T11:00:00Z", "customer_id": "globex", "feature": "search", "vendor": "anthropic",
     "model": "claude-3-5-sonnet-20241022", "input_tokens": 2000, "output_tokens": 80, "request_id": "r2"},
]  # fmt: skip
NEW = {"timestamp": "2026-10-03T12:00:00Z", "customer_id": "initech", "vendor": "openai", "model": "gpt-4o",
       "input_tokens": 10, "output_tokens": 5, "request_id": "r3"}  # fmt: skip

READS = [
    ["report", "--json"],
    ["report", "--by", "model", "--format", "csv"],
    ["report", "trend", "--json"],
    ["events", "--json"],
    ["prices", "list", "--json"],
    ["prices", "unpriced", "--json"],
    ["budget", "list", "--json"],
    ["customers", "list", "--json"],
    ["simulate", "--json"],
    ["doctor", "--json"],
]
WRITES = [
    ["ingest", "NEW"],
    ["budget", "set", "cap", "--scope", "org", "--limit-usd", "10", "--period", "month"],
    ["prices", "set", "acmeai/x-1", "--input", "1", "--output", "2"],
]


@pytest.fixture
def store(cli, tmp_path, _isolated_home):
    log = tmp_path / "calls.jsonl"
    log.write_text("".join(json.dumps(e) + "\n" for e in LINES))
    assert cli("ingest", log).exit_code == 0
    assert cli("budget", "set", "cap", "--scope", "org", "--limit-usd", "10", "--period", "month").exit_code == 0
    return _isolated_home / "margindash.db"


def read_outputs(cli):
    return {" ".join(args): (r.exit_code, r.stdout) for args in READS for r in [cli(*args)]}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_read_commands_work_on_a_read_only_store_and_print_the_same(cli, store, monkeypatch, tmp_path):
    from margindash_cli.store import db as store_module

    monkeypatch.setenv("MARGINDASH_NOW", "2026-10-05T00:00:00Z")
    writable = read_outputs(cli)
    before = digest(store)
    monkeypatch.setattr(store_module, "_writable", lambda path: False)
    readonly = read_outputs(cli)
    for args, (code, out) in readonly.items():
        assert code in (0, 3) and code == writable[args][0], (args, code)
        assert out == writable[args][1], args
    assert digest(store) == before  # nothing was written to the file


def test_a_read_only_store_is_opened_read_only_by_sqlite(store, monkeypatch):
    from margindash_cli.store import db as store_module
    from margindash_cli.store.db import Store

    monkeypatch.setattr(store_module, "_writable", lambda path: False)
    with Store.open(store) as opened:
        assert opened.readonly
        with pytest.raises(sqlite3.OperationalError, match="readonly"):  # SQLite's refusal, not ours
            opened.conn.execute("DELETE FROM budgets")
        assert opened.conn.execute("SELECT count(*) FROM events").fetchone()[0] == 2


@pytest.mark.parametrize("args", WRITES, ids=lambda a: " ".join(a[:2]))
def test_a_write_says_the_store_is_read_only(cli, store, monkeypatch, tmp_path, args):
    from margindash_cli.store import db as store_module

    new = tmp_path / "new.jsonl"
    new.write_text(json.dumps(NEW) + "\n")
    before = digest(store)
    monkeypatch.setattr(store_module, "_writable", lambda path: False)
    result = cli(*[str(new) if a == "NEW" else a for a in args])
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert "read-only (permissions or mount)" in result.stderr, result.stderr
    for wrong in ("corrupt", "damaged", "backup", "Traceback"):
        assert wrong not in result.stderr, result.stderr
    assert digest(store) == before


def test_sqlite_refusing_a_write_outside_a_transaction_says_read_only(cli, store, monkeypatch):
    """A write that SQLite itself refuses (a connection it opened read-only, whatever our probe said) reaches the one
    error handler, which names the cause."""
    from margindash_cli.store import db as store_module

    real_connect = sqlite3.connect

    def read_only_connect(path, *a, **k):
        k.pop("uri", None)
        return real_connect(f"file:{path}?mode=ro", *a, uri=True, **k)

    monkeypatch.setattr(store_module.sqlite3, "connect", read_only_connect)
    result = cli("budget", "rm", "cap")
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert "is read-only (permissions or mount)" in result.stderr and "corrupt" not in result.stderr


def test_a_read_only_store_of_an_older_schema_says_it_needs_one_writable_open(tmp_path, monkeypatch, cli):
    from margindash_cli.store import db as store_module

    old = tmp_path / "old.db"
    shutil.copy(Path(__file__).parent.parent / "fixtures" / "stores" / "v0_1.db", old)
    monkeypatch.setattr(store_module, "_writable", lambda path: False)
    before = digest(old)
    result = cli("--db", old, "report")
    assert result.exit_code == 1
    assert "read-only (permissions or mount)" in result.stderr and "schema needs an upgrade" in result.stderr
    assert digest(old) == before


def test_the_readonly_uri_is_immutable_only_without_a_wal_and_a_way_to_make_the_shm(tmp_path, monkeypatch):
    from margindash_cli.store import db as store_module

    db = tmp_path / "s.db"
    sqlite3.connect(db).execute("CREATE TABLE t (x)").connection.close()
    folder_writable = {"value": True}
    real_access = os.access
    monkeypatch.setattr(
        store_module.os,
        "access",
        lambda p, mode: folder_writable["value"] if Path(p) == tmp_path else real_access(p, mode),
    )
    assert "immutable" not in store_module._readonly_uri(db)
    folder_writable["value"] = False
    assert store_module._readonly_uri(db).endswith("?mode=ro&immutable=1")
    (tmp_path / "s.db-wal").write_bytes(b"x" * 32)  # a WAL not yet checkpointed: never immutable (it would be ignored)
    assert "immutable" not in store_module._readonly_uri(db)
    uri = store_module._readonly_uri(db)
    assert sqlite3.connect(uri, uri=True).execute("SELECT count(*) FROM sqlite_master").fetchone() == (1,)


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions: chmod cannot make a store read-only")
def test_chmod_read_only_file_and_folder(cli, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    db = folder / "store.db"
    log = tmp_path / "calls.jsonl"
    log.write_text("".join(json.dumps(e) + "\n" for e in LINES))
    assert cli("--db", db, "ingest", log).exit_code == 0
    for extra in folder.iterdir():
        if extra != db:
            extra.unlink()
    db.chmod(stat.S_IRUSR)
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        report = cli("--db", db, "report", "--json")
        assert report.exit_code == 0 and json.loads(report.stdout)["rows"], report.stderr
        new = tmp_path / "new.jsonl"
        new.write_text(json.dumps(NEW) + "\n")
        result = cli("--db", db, "ingest", new)
        assert result.exit_code == 1 and "read-only (permissions or mount)" in result.stderr
        assert "corrupt" not in result.stderr and "backup" not in result.stderr
    finally:
        folder.chmod(stat.S_IRWXU)
        db.chmod(stat.S_IRUSR | stat.S_IWUSR)
