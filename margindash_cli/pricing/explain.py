"""`events --explain`: how one stored call was priced, class by class, and by which price version."""

from __future__ import annotations

from typing import Any

from ..errors import MarginDashError
from ..money import usd_text
from ..repricing import stored_event
from ..store import WIDE_COLUMNS, Store
from .cost import CLASSES, effective_rates
from .pricer import load_pricer


def explain_call(store: Store, request_id: str) -> dict[str, Any]:
    rows = store.list_events(request_id=request_id, limit=2)
    if not rows:
        raise MarginDashError(f"no stored call has request id {request_id!r}",
                              "list calls and their request ids with `margindash events` (or `--json`)")
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
        "tokens": {c: row[c] for c in ("input_tokens", "cached_input_tokens", "cache_write_tokens", "cache_write_1h_tokens",
                                       "output_tokens", "reasoning_tokens")},  # fmt: skip
        "service_tier": row["service_tier"] or "default",
        "stored_cost_usd": usd_text(row["cost"]),
        "stored_price_id": row["price_id"],
        "basis": e.basis,
        "matched": None if e.resolution is None else {"provider": e.resolution.provider, "model": e.resolution.model, "how": e.resolution.how},
        "price_version": None,
        "cost_usd": usd_text(e.cost_pico),
        "classes": {},
        "extra_cost_usd": usd_text(row["extra_cost"]),
        "reported_cost_usd": row["reported_cost"],
    }
    if e.price is not None:
        v = e.price.version
        out["price_version"] = {"id": e.price.id, "source": e.price.source,
                                "effective_from": v.effective_from.isoformat().replace("+00:00", "Z") if v.effective_from else None}  # fmt: skip
    b = e.breakdown
    if b is not None:
        tier_index = next((i for i, t in enumerate(e.price.version.tiers) if t.threshold == b.tier), -1) if e.price else -1
        rates, _ = effective_rates(e.price.version, tier_index, b.service_tier) if e.price else ({}, "")
        out["long_context_tier"] = None if b.tier is None else f"> {b.tier:,} prompt tokens"
        out["service_rates"] = b.service_rates
        for cls in CLASSES:
            rate = rates.get(cls)
            out["classes"][cls] = {"usd_per_mtok": None if rate is None else format(rate, "f"), "cost_usd": usd_text(getattr(b, cls))}
        if b.units:
            out["classes"]["units"] = {"usd_per_mtok": None, "cost_usd": usd_text(b.units)}
    out["stale"] = out["cost_usd"] != out["stored_cost_usd"]
    return out
