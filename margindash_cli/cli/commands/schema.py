"""`margindash schema event`: the JSON Schema of the canonical usage event."""

from __future__ import annotations

import typer

app = typer.Typer(help="JSON Schemas of what margindash reads.", no_args_is_help=True)


@app.command("event")
def event() -> None:
    """Print the JSON Schema of the canonical usage event, for apps that write lines ingest accepts.

    Example: margindash schema event > usage-event.schema.json
    """
    from margindash_cli.cli.render.kit import emit_json  # lazy: start-up
    from margindash_cli.core.event_schema import event_json_schema  # lazy: start-up

    emit_json(event_json_schema())
