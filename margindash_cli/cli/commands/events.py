"""`margindash events`: the stored calls behind every number."""

from __future__ import annotations

from typing import Optional

import typer

from margindash_cli.cli.options import Period, Since, Tz, Until


def register(app: typer.Typer) -> None:
    app.command("events")(events)


def events(
    ctx: typer.Context,
    customer: Optional[str] = typer.Option(None, "--customer", help="Only this customer id."),
    event_type: Optional[str] = typer.Option(None, "--event-type", "--feature", help="Only this feature."),
    model: Optional[str] = typer.Option(None, "--model", help="Only this model id."),
    since: Since = None,
    until: Until = None,
    period: Period = None,
    tz: Tz = "UTC",
    limit: int = typer.Option(50, "--limit", min=0, help="At most this many events, newest first (0 = all)."),
    explain: Optional[str] = typer.Option(None, "--explain", help="Show how the call with this request id was priced."),
    request_id: Optional[str] = typer.Option(
        None, "--request-id", help="Only the call with this request id (or provider response id)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the events as a JSON array (streamed: any number)."),
    as_nl: bool = typer.Option(False, "--nl", help="Print one JSON object per line (streamed: any number)."),
) -> None:
    """List stored events, newest first, so every number can be traced to the calls behind it.

    A table shows at most 10,000 events; --json and --nl stream any number (--limit 0 = all).
    Days of --since/--until/--period are read in --tz (default UTC), and the table shows times in it;
    JSON timestamps stay UTC.

    Example: margindash events --customer acme --since 2026-10-01 --json
    """
    from margindash_cli.cli.options import now, open_store  # lazy: start-up
    from margindash_cli.cli.render import events as events_view  # lazy: start-up
    from margindash_cli.cli.render import kit  # lazy: start-up

    if as_json and as_nl:
        from margindash_cli.errors import UsageError  # lazy: start-up

        raise UsageError("--json and --nl are two shapes of one output: choose one")
    emit = kit.emit_json if as_json else kit.emit_json_lines if as_nl else None
    if explain is not None:
        from margindash_cli.pricing.explain import explain_call  # lazy: start-up

        with open_store(ctx, create=False) as store:
            info = explain_call(store, explain)
        if emit:
            emit(info)
        else:
            events_view.print_explain(info)
        return
    from margindash_cli.events.run import EventsQuery, stream_events, table_events  # lazy: start-up

    query = EventsQuery(
        customer=customer,
        event_type=event_type,
        model=model,
        request_id=request_id,
        since=since,
        until=until,
        limit=limit,
        period=period,
        tz=tz,
        now=now(),
    )
    with open_store(ctx, create=False) as store:
        if emit:
            emit(stream_events(store, query))  # written as read, inside the store's read: memory flat in rows
            return
        result = table_events(store, query)
    events_view.print_events(result, request_id)
