"""`events --explain`: how one stored call was priced, class by class, and by which price version."""

from __future__ import annotations

from typing import Any

from margindash_cli.core.money import usd_text
from margindash_cli.errors import MarginDashError
from margindash_cli.pricing.cost import CLASSES, effective_rates
from margindash_cli.pricing.reprice import stored_event
from margindash_cli.pricing.run import load_pricer
from margindash_cli.store.db import Store
from margindash_cli.store.schema import WIDE_COLUMNS


def class_tokens(t: dict[str, Any]) -> dict[str, int]:
    """The tokens billed in each class, split as `cost.cost_of` splits them (audio out of the uncached input,
    audio and image out of the plain output)."""
    write = t["cache_write_tokens"]
    w1h = min(t["cache_write_1h_tokens"], write)
    cached = t["cached_input_tokens"]
    uncached = max(t["input_tokens"], cached + write) - cached - write
    audio_read = min(t.get("cached_audio_tokens") or 0, cached)
    reasoning = t["reasoning_tokens"]
    plain = max(t["output_tokens"], reasoning) - reasoning
    audio_in = min(t.get("input_audio_tokens") or 0, uncached)
    audio_out = min(t.get("output_audio_tokens") or 0, plain)
    image_out = min(t.get("output_image_tokens") or 0, plain - audio_out)
    return {
        "uncached_input": uncached - audio_in,
        "cache_read": cached - audio_read,
        "cache_write_5m": write - w1h,
        "cache_write_1h": w1h,
        "output": plain - audio_out - image_out,
        "reasoning": reasoning,
        "input_audio": audio_in,
        "output_audio": audio_out,
        "output_image": image_out,
        "cache_read_audio": audio_read,
    }


def explain_call(store: Store, request_id: str) -> dict[str, Any]:
    rows = list(store.events.list_events(request_id=request_id, limit=2))
    if not rows:
        raise MarginDashError(
            f"no stored call has request id {request_id!r}",
            "list calls and their request ids with `margindash events` (or `--json`)",
        )
    row = rows[0]
    raw = tuple(row[c] for c in WIDE_COLUMNS)
    ev = stored_event(raw, row["vendor"], row["model_name"])
    pricer = load_pricer(store)
    e = pricer.explain(row["vendor"], row["model_name"], row["ts"], ev)
    out: dict[str, Any] = {
        "request_id": row.get("request_id") or request_id,
        "response_id": row.get("response_id"),
        "vendor": row["vendor"],
        "model": row["model_name"],
        "tokens": {
            c: row[c]
            for c in (
                "input_tokens",
                "cached_input_tokens",
                "cache_write_tokens",
                "cache_write_1h_tokens",
                "output_tokens",
                "reasoning_tokens",
                "input_audio_tokens",
                "output_audio_tokens",
                "output_image_tokens",
                "cached_audio_tokens",
            )
        },
        "service_tier": row["service_tier"] or "default",
        "stored_cost_usd": usd_text(row["cost"]),
        "stored_price_id": row["price_id"],
        "basis": e.basis,
        "matched": None
        if e.resolution is None
        else {"provider": e.resolution.provider, "model": e.resolution.model, "how": e.resolution.how},
        "price_version": None,
        "cost_usd": usd_text(e.cost_pico),
        "classes": {},
        "extra_cost_usd": usd_text(row["extra_cost"]),
        "reported_cost_usd": row["reported_cost"],
    }
    if e.price is not None:
        v = e.price.version
        out["price_version"] = {
            "id": e.price.id,
            "source": e.price.source,
            "effective_from": v.effective_from.isoformat().replace("+00:00", "Z") if v.effective_from else None,
        }
        window = getattr(v.at_time(row["ts"]), "window", None)
        if window is not None:
            w = window.to_dict()
            out["price_version"]["time_window"] = f"{w['start']}-{w['end']} UTC"
    b = e.breakdown
    if b is not None:
        tier_index = (
            next((i for i, t in enumerate(e.price.version.tiers) if t.threshold == b.tier), -1) if e.price else -1
        )
        rates, _ = (
            effective_rates(e.price.version.at_time(row["ts"]), tier_index, b.service_tier) if e.price else ({}, "")
        )
        out["long_context_tier"] = None if b.tier is None else f"> {b.tier:,} prompt tokens"
        out["service_rates"] = b.service_rates
        counts = class_tokens(out["tokens"])
        for cls in CLASSES:
            rate = rates.get(cls)
            out["classes"][cls] = {
                "tokens": counts[cls],
                "usd_per_mtok": None if rate is None else format(rate, "f"),
                "cost_usd": usd_text(getattr(b, cls)),
            }
        if b.units:
            out["classes"]["units"] = {"usd_per_mtok": None, "cost_usd": usd_text(b.units)}
    out["stale"] = out["cost_usd"] != out["stored_cost_usd"]
    return out
