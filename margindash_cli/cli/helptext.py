"""Help that reads like a CLI's, not like Python: metavars a user can type (`--since DATE`, `--top N`,
`--format [table|json|csv]`, `PATHS...`) instead of the type names Typer shows (`<str>`, `<int range>`,
`<list[str]>`, `{paths}...`).

Applied once to the built Click command tree (`apply`): an option's metavar is, in this order, the one it sets
itself; the choices its help opens with (`auto|computed|reported: ...` gives `[auto|computed|reported]`), when
they are short; a name from METAVARS for the common options; else its long name in capitals (`--customer` gives
`CUSTOMER`). An argument's metavar is its name in capitals, `...` when it takes many.
"""

from __future__ import annotations

import re
from typing import Any

# The common options, by long name: what a value of each looks like.
METAVARS = {
    "--since": "DATE",
    "--until": "DATE",
    "--as-of": "DATE",
    "--date": "DATE",
    "--day": "DATE",
    "--tz": "ZONE",
    "--timezone": "ZONE",
    "--by": "FIELD",
    "--top": "N",
    "--limit": "N",
    "--workers": "N",
    "--period": "PERIOD",
    "--db": "FILE",
    "--quarantine": "FILE",
    "--blocklist": "FILE",
    "--output": "USD",
    "--input": "USD",
    "-o": "FILE",
    "--out": "FILE",
    "--map": "FIELD=PATH",
    "--email": "ADDRESS",
    "--webhook": "URL",
    "--url": "URL",
    "--limit-usd": "USD",
    "--warn": "PCT",
    "--critical": "PCT",
    "--band": "PCT",
    "--tag": "NAME",
    "--sort": "KEY",
}
MAX_CHOICES_METAVAR = 40  # longer choice lists stay in the help text, with a name as the metavar
_CHOICES = re.compile(r"^([A-Za-z0-9_.-]+(?:\|[A-Za-z0-9_.-]+)+)(?::|\.?$)")  # "a|b|c: what it does" or "a|b|c."


def option_metavar(param: Any) -> str:
    longs = [o for o in param.opts if o.startswith("--")] or list(param.opts)
    for name in longs:
        if name in METAVARS and name not in ("--output", "--input"):
            return METAVARS[name]
    m = _CHOICES.match((param.help or "").strip())
    if m and len(m.group(1)) <= MAX_CHOICES_METAVAR:
        return f"[{m.group(1)}]"
    for name in longs:
        if name in METAVARS:
            return METAVARS[name]
    return longs[0].lstrip("-").upper() if longs else "VALUE"


def argument_metavar(param: Any) -> str:
    return (param.name or "value").upper().replace("_", "-")


def apply(command: Any) -> None:
    """Give every option and argument of `command` and its subcommands a metavar a user can read."""
    for param in command.params:
        kind = getattr(param, "param_type_name", None)  # Typer's own (vendored) Click classes: duck-typed
        if kind == "option":
            if param.metavar is None and not (param.is_flag or param.count):
                param.metavar = option_metavar(param)
        elif kind == "argument" and param.metavar is None:
            _name_argument(param)
    if command.help:
        command.help = unwrap_examples(command.help)
    for sub in getattr(command, "commands", {}).values():
        apply(sub)


def unwrap_examples(text: str) -> str:
    """`Example: margindash ...` paragraphs become an `Example:` line and the command on its own line, marked
    (Click's `\\b`) so help never re-wraps it: a command pasted from help runs as one command."""
    out = []
    for para in text.split("\n\n"):
        body = para.strip()
        m = re.match(r"^(Examples?):\s*(.+)$", body, re.S)
        if m and "margindash" in m.group(2):
            lines = [ln.strip() for ln in m.group(2).splitlines() if ln.strip()]
            para = "\b\n" + m.group(1) + ":\n" + "\n".join("  " + ln for ln in lines)
        out.append(para)
    return "\n\n".join(out)


def _name_argument(param: Any) -> None:
    name = argument_metavar(param)
    many = param.nargs != 1
    param.metavar = name + ("..." if many else "")
    usage = param.metavar if param.required else f"[{name}]" + ("..." if many else "")
    # Typer writes an argument's usage as `{name}...` and adds its type (`<list[str]>`) to the help line;
    # the metavar says it all (instance attributes: only this tree's arguments change).
    param._usage_display_name = lambda: usage
    param.display_type_rich = lambda ctx=None: None
    param.make_metavar = lambda ctx=None: usage
