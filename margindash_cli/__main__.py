"""`python -m margindash_cli` runs the CLI."""

from margindash_cli.cli import app

app(prog_name="margindash")
