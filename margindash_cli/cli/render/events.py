"""`margindash events`: the table of stored calls, and `--explain`: how one call was priced."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from margindash_cli.cli.render.kit import print_fitted, stdout_console, table
from margindash_cli.core.money import column_decimals, column_usd, usd_to_pico

if TYPE_CHECKING:
    from margindash_cli.events.run import EventList


def print_explain(info: dict[str, Any]) -> None:
    console = stdout_console()
    matched = info["matched"]
    lines = [
        f"call {info['request_id']}"
        + (f" (response {info['response_id']})" if info.get("response_id") else "")
        + f": {info['vendor']}/{info['model']}, service tier {info['service_tier']}",
        "matched: "
        + (f"{matched['provider']}/{matched['model']} ({matched['how']})" if matched else "nothing (unpriced)"),
    ]
    pv = info["price_version"]
    if pv:
        lines.append(
            f"price version #{pv['id']} from {pv['source']}, in force since {pv['effective_from'] or 'the beginning'}"
        )
        if pv.get("time_window"):
            lines.append(f"time-of-day price: {pv['time_window']} (the call's UTC time is inside it)")
    if info.get("long_context_tier"):
        lines.append(f"long-context tier: {info['long_context_tier']} (applies to every class of this call)")
    if info.get("service_rates") and info["service_rates"] != "standard":
        lines.append(f"service-tier rates: {info['service_rates']}")
    for line in lines:
        console.print(line, markup=False)
    if info["classes"]:
        tokens = info["tokens"]
        counts = {
            "uncached_input": tokens["input_tokens"] - tokens["cached_input_tokens"] - tokens["cache_write_tokens"],
            "cache_read": tokens["cached_input_tokens"],
            "cache_write_5m": tokens["cache_write_tokens"] - tokens["cache_write_1h_tokens"],
            "cache_write_1h": tokens["cache_write_1h_tokens"],
            "output": tokens["output_tokens"] - tokens["reasoning_tokens"],
            "reasoning": tokens["reasoning_tokens"],
        }
        from margindash_cli.core.money import usd_to_pico  # lazy: start-up

        media = (
            "input_audio",
            "output_audio",
            "output_image",
            "cache_read_audio",
        )  # shown only when the call has such tokens
        classes = [(cls, c) for cls, c in info["classes"].items() if cls not in media or c.get("tokens")]
        picos = [usd_to_pico(c["cost_usd"] or "0") for _, c in classes]
        decimals = column_decimals(picos)  # one precision for the column: $0.000035 next to $0.001102, never $0
        body = [
            [
                cls,
                f"{c['tokens']:,}" if "tokens" in c else (f"{counts[cls]:,}" if cls in counts else "-"),
                c["usd_per_mtok"] or "-",
                column_usd(p, decimals),
            ]
            for (cls, c), p in zip(classes, picos)
        ]
        console.print(
            table(None, [("class", "left"), ("tokens", "right"), ("USD/MTok", "right"), ("cost", "right")], body)
        )
    console.print(
        f"cost: {'$' + info['cost_usd'] if info['cost_usd'] is not None else 'unpriced'} ({info['basis']})",
        markup=False,
    )
    if info["stale"]:
        console.print(
            f"stored cost {info['stored_cost_usd']} differs from today's pricing: run `margindash reprice`",
            markup=False,
        )


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


def _request_cell(r: dict[str, Any], row_id: int, text_from: int) -> str:
    if r["request_id"] is not None:
        return r["request_id"] + (f" ({r['response_id']})" if r["response_id"] else "")
    return "(not kept)" if row_id < text_from else "-"


# The headline columns of the events table are time, customer, model and cost: never dropped. To fit the terminal,
# whole columns go in this order; the request id goes last, so at 80 columns each call stays on one line with the ids
# and names whole (`--json`/`--nl` have every field, `--request-id ID` finds a call).
EVENTS_DROP = ("cached", "in", "out", "feature", "source", "request id")


def print_events(result: EventList, request_id: str | None) -> None:
    """The calls as a table, newest first; the file of each by the shortest path that tells it from the others."""
    records = result.records
    if not records:
        stdout_console().print(
            "No events match." if request_id is None else f"No stored call has request id {request_id!r}.", markup=False
        )
        return
    picos = [None if r["cost_usd"] is None else usd_to_pico(r["cost_usd"]) for r in records]
    decimals = column_decimals(picos)  # one precision for the column: sub-cent costs aligned, never $0.00
    labels = source_labels([r["source"]["file"] for r in records if r["source"]])
    cols = [
        (f"time ({result.tz})", "left"),
        ("customer", "left"),
        ("feature", "left"),
        ("model", "left"),
        ("in", "right"),
        ("cached", "right"),
        ("out", "right"),
        ("cost", "right"),
        ("request id", "left"),
        ("source", "left"),
    ]
    body = [
        [
            time,
            r["customer_id"] or "(unattributed)",
            r["event_type"] or "-",
            r["model"],
            f"{r['input_tokens']:,}",
            f"{r['cached_input_tokens']:,}",
            f"{r['output_tokens']:,}",
            column_usd(p, decimals) if p is not None else "unpriced",
            _request_cell(r, row_id, result.text_from),
            _where(r["source"], labels),
        ]
        for r, p, row_id, time in zip(records, picos, result.ids, result.times)
    ]
    console = stdout_console()
    print_fitted(
        console,
        f"{len(records)} event(s)",
        cols,
        body,
        drop=EVENTS_DROP,
        every="--json",
    )
    if any(row_id < result.text_from and r["request_id"] is None for r, row_id in zip(records, result.ids)):
        console.print(
            "(not kept): stored before request ids were kept as text (migration m005); `--request-id ID`"
            " still finds such a call by its id.",
            markup=False,
        )
