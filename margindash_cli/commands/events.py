"""`margindash events`: the stored calls behind every number."""

from __future__ import annotations

from typing import Any, Optional

import typer


def register(app: typer.Typer) -> None:
    app.command("events")(events)


def event_record(row: dict[str, Any]) -> dict[str, Any]:
    """A stored event in the canonical field names, cost as an exact decimal string (null = unpriced)."""
    import orjson

    from ..money import usd_text

    ts = row["ts"]
    from datetime import datetime, timezone

    when = datetime.fromtimestamp(ts // 1000, tz=timezone.utc).replace(microsecond=(ts % 1000) * 1000)
    return {
        "timestamp": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "customer_id": row["customer_id"],
        "event_type": row["event_type"],
        "vendor": row["vendor"],
        "model": row["model_name"],
        "input_tokens": row["input_tokens"],
        "output_tokens": row["output_tokens"],
        "cached_input_tokens": row["cached_input_tokens"],
        "cache_write_tokens": row["cache_write_tokens"],
        "cache_write_1h_tokens": row["cache_write_1h_tokens"],
        "reasoning_tokens": row["reasoning_tokens"],
        "input_audio_tokens": row.get("input_audio_tokens") or 0,
        "output_audio_tokens": row.get("output_audio_tokens") or 0,
        "output_image_tokens": row.get("output_image_tokens") or 0,
        "cached_audio_tokens": row.get("cached_audio_tokens") or 0,
        "service_tier": row["service_tier"] or "default",
        "revenue_amount_in_cents": row["revenue_minor"],
        "currency": row["currency"],
        "segment": row["segment_name"],
        "units": orjson.loads(row["units"]) if row["units"] else None,
        "tags": orjson.loads(row["tags"]) if row["tags"] else None,
        "cost_usd": usd_text(row["cost"]),
        "reported_cost_usd": row["reported_cost"],
        "source": {"file": row["source_path"], "line": row["line"]} if row["source_path"] else None,
    }


def _where(source: dict[str, Any] | None) -> str:
    """file:line of a call, the file by its name (the JSON output has the whole path)."""
    if source is None:
        return "-"
    return f"{source['file'].replace(chr(92), '/').rsplit('/', 1)[-1]}:{source['line']}"


def events(
    ctx: typer.Context,
    customer: Optional[str] = typer.Option(None, "--customer", help="Only this customer id."),
    event_type: Optional[str] = typer.Option(None, "--event-type", "--feature", help="Only this feature."),
    model: Optional[str] = typer.Option(None, "--model", help="Only this model id."),
    since: Optional[str] = typer.Option(None, "--since", help="From this date (YYYY-MM-DD, UTC)."),
    until: Optional[str] = typer.Option(None, "--until", help="Up to and including this date."),
    limit: int = typer.Option(50, "--limit", min=0, help="At most this many events, newest first (0 = all)."),
    explain: Optional[str] = typer.Option(None, "--explain", help="Show how the call with this request id was priced."),
    as_json: bool = typer.Option(False, "--json", help="Print the events as JSON."),
) -> None:
    """List stored events, newest first, so every number can be traced to the calls behind it.

    Example: margindash events --customer acme --since 2026-10-01 --json
    """
    from ..periods import resolve_range
    from ..render import print_json, stdout_console, table
    from ._common import open_store

    if explain is not None:
        from .. import render
        from ..pricing.explain import explain_call

        with open_store(ctx, create=False) as store:
            info = explain_call(store, explain)
        if as_json:
            print_json(info)
        else:
            render.print_explain(info)
        return
    rng = resolve_range(since, until, None, None)
    with open_store(ctx, create=False) as store:
        rows = store.list_events(customer=customer, event_type=event_type, model=model,
                                 start_ms=rng.start_ms, end_ms=rng.end_ms, limit=limit or None)  # fmt: skip
    records = [event_record(r) for r in rows]
    if as_json:
        print_json(records)
        return
    if not records:
        stdout_console().print("No events match.", markup=False)
        return
    cols = [("time (UTC)", "left"), ("customer", "left"), ("feature", "left"), ("model", "left"), ("in", "right"),
            ("cached", "right"), ("out", "right"), ("cost", "right"), ("source", "left")]  # fmt: skip
    body = [
        [r["timestamp"][:19].replace("T", " "), r["customer_id"] or "(unattributed)", r["event_type"] or "-", r["model"],
         f"{r['input_tokens']:,}", f"{r['cached_input_tokens']:,}", f"{r['output_tokens']:,}",
         ("$" + r["cost_usd"]) if r["cost_usd"] is not None else "unpriced", _where(r["source"])]
        for r in records
    ]  # fmt: skip
    stdout_console().print(table(f"{len(records)} event(s)", cols, body))
