"""The shell: the only package that imports Typer, Click or Rich. `margindash = "margindash_cli.cli:app"`.

app.py      - the root: global options, command wiring, the one error handler (error:/hint: lines, exit codes).
options.py  - every shared option once (Annotated types), the clock, `open_store`.
helptext.py - help that reads like a CLI's: metavars a user can type, examples kept whole.
values.py   - option values parsed with the stdlib (no pydantic at start-up); Click's usage errors as error:/hint:.
commands/   - one module per command word; render/ - what each command prints.
"""

from margindash_cli.cli.app import app

__all__ = ["app"]
