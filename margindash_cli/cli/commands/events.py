"""`margindash events`: the stored calls behind every number."""

from __future__ import annotations

from typing import Any, Optional

import typer


def register(app: typer.Typer) -> None:
    app.command("events")(events)


def event_record(row: dict[str, Any]) -> dict[str, Any]:
    """A stored event in the canonical field names, cost as an exact decimal string (null = unpriced)."""
    import orjson

    from margindash_cli.core.money import usd_text

    ts = row["ts"]
    from datetime import datetime, timezone

    when = datetime.fromtimestamp(ts // 1000, tz=timezone.utc).replace(microsecond=(ts % 1000) * 1000)
    return {
        "timestamp": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "request_id": row.get("request_id"),
        "response_id": row.get("response_id"),
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


STDIN_LABEL = "stdin"  # how a call read from `ingest -` is shown (the store keeps its path as '-')


def source_labels(paths: list[str]) -> dict[str, str]:
    """Each path as its shortest tail of folders that no other path of the list shares: `chat.jsonl` alone,
    `a/chat.jsonl` and `b/chat.jsonl` when two folders hold a chat.jsonl (the JSON output has the whole path)."""
    parts = {p: p.replace(chr(92), "/").split("/") for p in set(paths)}
    out = {}
    for p, segs in parts.items():
        if p == "-":
            out[p] = STDIN_LABEL
            continue
        n = 1
        while n < len(segs) and any(q != p and qs[-n:] == segs[-n:] for q, qs in parts.items()):
            n += 1
        out[p] = "/".join(segs[-n:])
    return out


def _where(source: dict[str, Any] | None, labels: dict[str, str]) -> str:
    """file:line of a call, the file by the shortest path that tells it from the others listed."""
    if source is None:
        return "-"
    return f"{labels.get(source['file'], source['file'])}:{source['line']}"


def _request_cell(r: dict[str, Any], row: dict[str, Any], text_from: int) -> str:
    if r["request_id"] is not None:
        return r["request_id"] + (f" ({r['response_id']})" if r["response_id"] else "")
    return "(not kept)" if row["id"] < text_from else "-"


def events(
    ctx: typer.Context,
    customer: Optional[str] = typer.Option(None, "--customer", help="Only this customer id."),
    event_type: Optional[str] = typer.Option(None, "--event-type", "--feature", help="Only this feature."),
    model: Optional[str] = typer.Option(None, "--model", help="Only this model id."),
    since: Optional[str] = typer.Option(None, "--since", help="From this date (YYYY-MM-DD, UTC)."),
    until: Optional[str] = typer.Option(None, "--until", help="Up to and including this date."),
    limit: int = typer.Option(50, "--limit", min=0, help="At most this many events, newest first (0 = all)."),
    explain: Optional[str] = typer.Option(None, "--explain", help="Show how the call with this request id was priced."),
    request_id: Optional[str] = typer.Option(None, "--request-id", help="Only the call with this request id (or provider response id)."),
    as_json: bool = typer.Option(False, "--json", help="Print the events as JSON."),
) -> None:
    """List stored events, newest first, so every number can be traced to the calls behind it.

    Example: margindash events --customer acme --since 2026-10-01 --json
    """
    from margindash_cli.core.periods import resolve_range
    from margindash_cli.cli.render.kit import emit_json, stdout_console
    from margindash_cli.cli.options import open_store

    if explain is not None:
        from margindash_cli.cli.render import events as events_view  # lazy: start-up
        from margindash_cli.pricing.explain import explain_call

        with open_store(ctx, create=False) as store:
            info = explain_call(store, explain)
        if as_json:
            emit_json(info)
        else:
            events_view.print_explain(info)
        return
    rng = resolve_range(since, until, None, None)
    with open_store(ctx, create=False) as store:
        rows = store.list_events(customer=customer, event_type=event_type, model=model, request_id=request_id,
                                 start_ms=rng.start_ms, end_ms=rng.end_ms, limit=limit or None)  # fmt: skip
        text_from = store.request_id_text_from()
    records = [event_record(r) for r in rows]
    if as_json:
        emit_json(records)
        return
    if not records:
        stdout_console().print("No events match." if request_id is None else f"No stored call has request id {request_id!r}.",
                               markup=False)  # fmt: skip
        return
    from margindash_cli.core.money import column_decimals, column_usd, usd_to_pico

    picos = [None if r["cost_usd"] is None else usd_to_pico(r["cost_usd"]) for r in records]
    decimals = column_decimals(picos)  # one precision for the column: sub-cent costs aligned, never $0.00
    labels = source_labels([r["source"]["file"] for r in records if r["source"]])
    cols = [("time (UTC)", "left"), ("customer", "left"), ("feature", "left"), ("model", "left"), ("in", "right"),
            ("cached", "right"), ("out", "right"), ("cost", "right"), ("request id", "left"), ("source", "left")]  # fmt: skip
    body = [
        [r["timestamp"][:19].replace("T", " "), r["customer_id"] or "(unattributed)", r["event_type"] or "-", r["model"],
         f"{r['input_tokens']:,}", f"{r['cached_input_tokens']:,}", f"{r['output_tokens']:,}",
         column_usd(p, decimals) if p is not None else "unpriced", _request_cell(r, row, text_from), _where(r["source"], labels)]
        for r, p, row in zip(records, picos, rows)
    ]  # fmt: skip
    from margindash_cli.cli.render.kit import print_fitted

    console = stdout_console()
    print_fitted(console, f"{len(records)} event(s)", cols, body, drop=("cached", "in", "out", "feature", "source"), every="--json")
    if any(row["id"] < text_from and r["request_id"] is None for r, row in zip(records, rows)):
        console.print("(not kept): stored before request ids were kept as text (migration m005); `--request-id ID`"
                      " still finds such a call by its id.", markup=False)  # fmt: skip
