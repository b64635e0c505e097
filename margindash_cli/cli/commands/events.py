"""`margindash events`: the stored calls behind every number."""

from __future__ import annotations

from typing import Optional

import typer

from margindash_cli.cli.options import Until, UtcSince


def register(app: typer.Typer) -> None:
    app.command("events")(events)


def events(
    ctx: typer.Context,
    customer: Optional[str] = typer.Option(None, "--customer", help="Only this customer id."),
    event_type: Optional[str] = typer.Option(None, "--event-type", "--feature", help="Only this feature."),
    model: Optional[str] = typer.Option(None, "--model", help="Only this model id."),
    since: UtcSince = None,
    until: Until = None,
    limit: int = typer.Option(50, "--limit", min=0, help="At most this many events, newest first (0 = all)."),
    explain: Optional[str] = typer.Option(None, "--explain", help="Show how the call with this request id was priced."),
    request_id: Optional[str] = typer.Option(
        None, "--request-id", help="Only the call with this request id (or provider response id)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the events as JSON."),
) -> None:
    """List stored events, newest first, so every number can be traced to the calls behind it.

    Example: margindash events --customer acme --since 2026-10-01 --json
    """
    from margindash_cli.cli.options import open_store  # lazy: start-up
    from margindash_cli.cli.render import events as events_view  # lazy: start-up
    from margindash_cli.cli.render import kit  # lazy: start-up

    if explain is not None:
        from margindash_cli.pricing.explain import explain_call  # lazy: start-up

        with open_store(ctx, create=False) as store:
            info = explain_call(store, explain)
        if as_json:
            kit.emit_json(info)
        else:
            events_view.print_explain(info)
        return
    from margindash_cli.events.run import EventsQuery, list_events  # lazy: start-up

    query = EventsQuery(
        customer=customer,
        event_type=event_type,
        model=model,
        request_id=request_id,
        since=since,
        until=until,
        limit=limit,
    )
    with open_store(ctx, create=False) as store:
        result = list_events(store, query)
    if as_json:
        kit.emit_json(result)
        return
    events_view.print_events(result, request_id)
