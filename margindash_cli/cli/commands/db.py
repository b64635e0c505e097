"""`margindash db ...`: where the store is."""

from __future__ import annotations

import typer

from margindash_cli.cli.options import db_path

app = typer.Typer(help="The store: where it is.", no_args_is_help=True)


@app.command("path")
def path(ctx: typer.Context) -> None:
    """Print the path of the store in use.

    Example: margindash db path
    """
    print(db_path(ctx))
