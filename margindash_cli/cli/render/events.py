"""`margindash events --explain`: how one call was priced."""

from __future__ import annotations

from typing import Any

from margindash_cli.cli.render.kit import stdout_console, table
from margindash_cli.core.money import column_decimals, column_usd


def print_explain(info: dict[str, Any]) -> None:
    console = stdout_console()
    matched = info["matched"]
    lines = [
        f"call {info['request_id']}" + (f" (response {info['response_id']})" if info.get("response_id") else "")
        + f": {info['vendor']}/{info['model']}, service tier {info['service_tier']}",
        "matched: " + (f"{matched['provider']}/{matched['model']} ({matched['how']})" if matched else "nothing (unpriced)"),
    ]
    pv = info["price_version"]
    if pv:
        lines.append(f"price version #{pv['id']} from {pv['source']}, in force since {pv['effective_from'] or 'the beginning'}")
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
        from margindash_cli.core.money import usd_to_pico

        media = ("input_audio", "output_audio", "output_image", "cache_read_audio")  # shown only when the call has such tokens
        classes = [(cls, c) for cls, c in info["classes"].items() if cls not in media or c.get("tokens")]
        picos = [usd_to_pico(c["cost_usd"] or "0") for _, c in classes]
        decimals = column_decimals(picos)  # one precision for the column: $0.000035 next to $0.001102, never $0
        body = [[cls, f"{c['tokens']:,}" if "tokens" in c else (f"{counts[cls]:,}" if cls in counts else "-"),
                 c["usd_per_mtok"] or "-", column_usd(p, decimals)] for (cls, c), p in zip(classes, picos)]  # fmt: skip
        console.print(table(None, [("class", "left"), ("tokens", "right"), ("USD/MTok", "right"), ("cost", "right")], body))
    console.print(f"cost: {'$' + info['cost_usd'] if info['cost_usd'] is not None else 'unpriced'} ({info['basis']})", markup=False)
    if info["stale"]:
        console.print(f"stored cost {info['stored_cost_usd']} differs from today's pricing: run `margindash reprice`", markup=False)
