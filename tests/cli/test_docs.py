"""Every command has help text and is documented in the README's command reference."""

from __future__ import annotations

import re
from pathlib import Path

import click
import typer

from margindash_cli.cli import app

README = (Path(__file__).resolve().parent.parent.parent / "README.md").read_text()


def all_commands(group: click.Group, prefix: str = "margindash") -> list[tuple[str, click.Command]]:
    out = []
    for name, cmd in group.commands.items():
        full = f"{prefix} {name}"
        if hasattr(cmd, "commands"):  # a group (typer ships its own click, so no isinstance check)
            out.extend(all_commands(cmd, full))
        else:
            out.append((full, cmd))
    return out


COMMANDS = all_commands(typer.main.get_command(app))


def test_every_command_has_help():
    missing = [name for name, cmd in COMMANDS if not (cmd.help or "").strip()]
    assert missing == []


def test_every_command_is_in_the_readme_reference():
    reference = README.split("## Command reference", 1)[1]
    missing = [name for name, _ in COMMANDS if not re.search(re.escape(name) + r"\b", reference)]
    assert missing == []


def test_every_option_of_every_command_is_in_the_readme():
    reference = README.split("## Command reference", 1)[1]
    missing = []
    for name, cmd in COMMANDS:
        for param in cmd.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("--") and opt != "--help" and opt not in reference:
                    missing.append(f"{name} {opt}")
    assert missing == []


def test_readme_starts_with_the_two_fresh_machine_commands():
    blocks = re.findall(r"```(?:bash|sh)?\n(.*?)```", README, re.S)
    assert blocks[0].strip().splitlines() == [
        "pip install . && margindash demo",
        "pip install -e '.[test]' && python -m pytest",
    ]


def test_the_readme_shows_the_root_help_as_it_is_at_80_columns(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    shown = README.split("`margindash --help` at 80 columns:", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    result = cli("--help")
    assert result.exit_code == 0
    # the words and their order (CliRunner's wrap of the option help can differ by a word from a terminal's)
    assert result.stdout.split() == shown.split(), "README: paste `COLUMNS=80 margindash --help` again"
