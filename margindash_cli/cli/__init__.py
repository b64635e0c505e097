"""The shell: the only package that imports Typer, Click or Rich. `margindash = "margindash_cli.cli:app"`."""

from margindash_cli.cli.app import app

__all__ = ["app"]
