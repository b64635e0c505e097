"""`python -m margindash_cli` runs the CLI."""

from .cli import app

app(prog_name="margindash")
