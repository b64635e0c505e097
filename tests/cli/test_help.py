"""#17: help reads like a CLI's: metavars a user can type, never Python type names; `-h` as well as `--help`;
examples on their own lines, never wrapped mid-flag."""

from __future__ import annotations

import re

import pytest

TYPE_NAMES = re.compile(
    r"<(str|int|float|bool|path|list\[[^\]]*\]|int range|float range|datetime|[a-z]+\[.*?\])>|\{[a-z_]+\}"
    r"|\blist\[str\]|\bOptional\["
)


def all_commands():
    import typer.main

    from margindash_cli.cli import app

    root = typer.main.get_command(app)
    out = []

    def walk(cmd, path):
        out.append(path)
        for name, sub in sorted(getattr(cmd, "commands", {}).items()):
            if not sub.hidden:
                walk(sub, [*path, name])

    walk(root, [])
    return out


COMMANDS = all_commands()


def test_the_walk_finds_every_command():
    names = {" ".join(p) for p in COMMANDS}
    assert {"ingest", "report", "report trend", "budget set", "events", "simulate", "prices set"} <= names
    assert len(COMMANDS) > 30


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "margindash")
def test_help_shows_no_python_type_name_as_a_metavar(cli, monkeypatch, path):
    monkeypatch.setenv("COLUMNS", "80")
    result = cli(*path, "--help")
    assert result.exit_code == 0, result.stderr
    found = TYPE_NAMES.findall(result.stdout)
    assert not found, f"margindash {' '.join(path)} --help shows type names {found}:\n{result.stdout}"
    short = cli(*path, "-h")
    assert short.exit_code == 0 and short.stdout == result.stdout


@pytest.mark.parametrize("path", [p for p in COMMANDS if p], ids=lambda p: " ".join(p))
def test_examples_are_whole_lines_at_80_columns(cli, monkeypatch, path):
    monkeypatch.setenv("COLUMNS", "80")
    lines = cli(*path, "--help").stdout.splitlines()
    for i, line in enumerate(lines):
        if line.strip().startswith("Example"):
            assert line.strip() in ("Example:", "Examples:"), line  # the command is on the next line(s)
            command = lines[i + 1].strip()
            assert command.startswith("margindash"), lines[i : i + 2]
            # never wrapped: the next line is blank (or another whole command), not the rest of this one
            for rest in lines[i + 2 :]:
                if not rest.strip():
                    break
                assert rest.strip().startswith("margindash"), (command, rest)


def test_metavars_name_what_to_type(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")
    report = cli("report", "--help").stdout
    for text in ("--by FIELD", "--since DATE", "--tz ZONE", "--top N", "--period PERIOD"):
        assert text in report, text
    ingest = cli("ingest", "--help").stdout
    assert "Usage: margindash ingest [OPTIONS] PATHS..." in ingest
    assert "--cost-source [auto|computed|reported]" in ingest and "--map FIELD=PATH" in ingest


def test_root_help_groups_every_command_once_core_first(cli, monkeypatch):
    """`margindash --help` lists the commands in groups as gh does, the core commands first, each once."""
    from margindash_cli.cli.app import COMMAND_GROUPS

    top = {p[0] for p in COMMANDS if len(p) == 1}
    named = [name for rows in COMMAND_GROUPS.values() for name in rows]
    assert sorted(named) == sorted(top), "every command in exactly one group of COMMAND_GROUPS"
    monkeypatch.setenv("COLUMNS", "80")
    text = cli("--help").stdout
    assert "ADDITIONAL COMMANDS" not in text  # no command fell outside the groups
    titles = [line for line in text.splitlines() if line and line == line.upper() and not line.startswith(" ")]
    assert titles == list(COMMAND_GROUPS), text
    listed = [line.split()[0] for line in text.splitlines() if line.startswith("  ") and not line.startswith("  -")]
    listed = [name for name in listed if name in top]
    assert listed[:5] == ["ingest", "report", "events", "budget", "simulate"]
    assert sorted(listed) == sorted(top) and len(listed) == len(top)
    assert text.index("CORE COMMANDS") < text.index("Options:")  # what you can do, then the global options


def test_root_help_summaries_fit_80_columns(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    lines = cli("--help").stdout.splitlines()
    top = {p[0] for p in COMMANDS if len(p) == 1}
    rows = [line for line in lines if line.startswith("  ") and line.split()[0] in top]
    assert len(rows) == len(top)
    for line in rows:
        assert len(line) <= 80 and not line.rstrip().endswith("..."), line
    start = lines.index("CORE COMMANDS")
    end = lines.index("Options:")
    for line in lines[start:end]:  # a wrapped summary would leave a line that names no command
        assert not line or line == line.upper() or line.split()[0] in top, line
