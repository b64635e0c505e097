"""Tables of `margindash prices list|show|unpriced|disagreements|drift|sync|reprice`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from margindash_cli.cli.render.kit import fit_width, print_fitted, stdout_console

if TYPE_CHECKING:
    from decimal import Decimal

    from rich.console import Console

    from margindash_cli.pricing.model import PriceVersion
    from margindash_cli.pricing.reprice import RepriceResult


def _rate(value: Decimal | None) -> str:
    return "-" if value is None else format(value, "f")


def print_price_list(versions: list[PriceVersion], *, total: int | None = None) -> None:
    """The price list; `total` is how many prices matched when `versions` is only the first of them (--top, or the
    cap of a table on a terminal), said in a caption."""
    console = stdout_console()
    if not versions:
        console.print("No prices match.", markup=False)
        return
    total = len(versions) if total is None else total
    rates = [
        ("input", "right"),
        ("output", "right"),
        ("cache read", "right"),
        ("cache write", "right"),
        ("long ctx", "left"),
        ("source", "left"),
        ("since", "left"),
    ]
    body = [
        [
            _rate(v.base.input),
            _rate(v.base.output),
            _rate(v.base.cache_read),
            _rate(v.base.cache_write_5m),
            ", ".join(f">{t.threshold:,}" for t in v.tiers) or "-",
            v.source,
            v.effective_from.date().isoformat() if v.effective_from else "-",
        ]
        for v in versions
    ]
    # The headline columns are provider, model, input and output: never dropped, provider and model never cut.
    # When the four do not fit side by side (80 columns and a long id), provider and model become one
    # `provider/model` column, the key `prices show` and `prices set` take, so that more ids stay on one line.
    ids = [[v.provider, v.model] for v in versions]
    key_cols = [("provider", "left"), ("model", "left")]
    limit = fit_width(console)
    if limit is not None and _headline_width(ids, body) > limit:
        ids = [[f"{v.provider}/{v.model}"] for v in versions]
        key_cols = [("provider/model", "left")]
    notes = []
    if len(versions) < total:
        notes.append(
            f"first {len(versions):,} of {total:,} prices by provider and model; --all or --top N for more,"
            " --provider or --search to narrow"
        )
    # To fit the terminal the lesser columns go first, in this order, and a caption says which.
    print_fitted(
        console,
        f"{total:,} price(s), USD per million tokens",
        [*key_cols, *rates],
        [i + b for i, b in zip(ids, body)],
        caption="; ".join(notes) or None,
        drop=("since", "long ctx", "source", "cache write", "cache read"),
        every="--json",
    )


def _headline_width(ids: list[list[str]], body: list[list[str]]) -> int:
    """The width of the provider, model, input and output columns side by side, as a table draws them."""
    widths = [len("provider"), len("model"), len("input"), len("output")]
    for (provider, model), (inp, out, *_rest) in zip(ids, body):
        widths = [max(w, len(c)) for w, c in zip(widths, (provider, model, inp, out))]
    return sum(w + 3 for w in widths) + 1


def _since(effective_from: str | None) -> str:
    """'-' (since the beginning), '2025-06-10' (a date), or '2026-11-23 13:00' (a sync's moment, UTC)."""
    if not effective_from:
        return "-"
    day, _, time = effective_from.partition("T")
    return day if not time or time.startswith("00:00:00") else f"{day} {time[:5]}"


def print_price_show(info: dict[str, Any]) -> None:
    console = stdout_console()
    if info["resolved"] is None:
        console.print(
            f"{info['query']}: no price (unpriced). hint: margindash prices set PROVIDER/MODEL --input X --output Y",
            markup=False,
        )
        return
    r = info["resolved"]
    console.print(f"{info['query']} -> {r['provider']}/{r['model']} ({r['how']} match)", markup=False)
    cols = [
        ("since", "left"),
        ("source", "left"),
        ("input", "right"),
        ("output", "right"),
        ("cache read", "right"),
        ("cache write 5m", "right"),
        ("cache write 1h", "right"),
        ("tiers", "left"),
        ("service tiers, windows, media", "left"),
    ]
    body = []
    for v in info["versions"]:
        base = v.get("base", {})
        tiers = ", ".join(
            f">{t['threshold']:,}: {t['rates'].get('input', '-')}/{t['rates'].get('output', '-')}"
            for t in v.get("tiers", [])
        )
        services = ", ".join(
            f"{s}: {v[s].get('input', '-')}/{v[s].get('output', '-')}" for s in ("batch", "flex", "priority") if s in v
        )
        # daily UTC windows (off-peak prices) and audio/image rates go with the service tiers: rarely set
        extras = [
            f"{w['start']}-{w['end']} UTC: {w['rates'].get('input', '-')}/{w['rates'].get('output', '-')}"
            for w in v.get("windows", [])
        ]
        extras += [
            f"{k.replace('_', ' ')} {base[k]}"
            for k in ("input_audio", "output_audio", "output_image", "cache_read_audio")
            if k in base
        ]
        services = ", ".join(x for x in [services, *extras] if x)
        body.append(
            [
                _since(v.get("effective_from")),
                v["source"],
                base.get("input", "-"),
                base.get("output", "-"),
                base.get("cache_read", "-"),
                base.get("cache_write_5m", "-"),
                base.get("cache_write_1h", "-"),
                tiers or "-",
                services or "-",
            ]
        )
    # headline: since, source, input, output; the rarer rates go first (#17: at 80 columns since and source were
    # drawn one character wide)
    print_fitted(
        console,
        "price versions, USD per million tokens",
        cols,
        body,
        drop=("service tiers, windows, media", "tiers", "cache write 1h", "cache write 5m", "cache read"),
        every="--json",
    )
    _print_benchmarks(console, info.get("benchmarks"))


def _print_benchmarks(console: Console, bench: dict[str, Any] | None) -> None:
    """The model's benchmark scores under its prices: score, who evaluated it, source, what was not taken."""
    if not bench:
        console.print("benchmarks: no benchmark data for this model", markup=False)
        return
    labels = {"mmlu_pro": "MMLU-Pro", "gpqa_diamond": "GPQA Diamond"}
    body = [
        [
            labels.get(s["benchmark"], s["benchmark"]),
            f"{s['score']:g}",
            s["evaluator"],
            s["method"] or "-",
            f"{s['source']} ({s['licence']}); as {s['evaluated_model']}; citing {s['primary_source'] or '-'}",
            s["alternatives"] or "-",
        ]
        for s in bench["scores"]
    ]
    cols = [
        ("benchmark", "left"),
        ("score", "right"),
        ("evaluated by", "left"),
        ("method", "left"),
        ("source", "left"),
        ("other sources (not taken)", "left"),
    ]
    print_fitted(
        console,
        f"benchmark scores (of {bench['scores_of']})",
        cols,
        body,
        drop=("other sources (not taken)", "method"),  # then the source folds: it is prose
        every="--json",
    )


def print_unpriced(records: list[dict[str, Any]]) -> None:
    console = stdout_console()
    if not records:
        console.print("Every stored call has a price.", markup=False)
        return
    cols = [
        ("vendor", "left"),
        ("model", "left"),
        ("calls", "right"),
        ("input tokens", "right"),
        ("output tokens", "right"),
    ]
    body = [
        [r["vendor"], r["model"], f"{r['events']:,}", f"{r['input_tokens']:,}", f"{r['output_tokens']:,}"]
        for r in records
    ]
    print_fitted(
        console,
        "models with no price (their cost is not in any report)",
        cols,
        body,
        drop=("output tokens", "input tokens"),
        every="--json",
    )
    # The exact command for each model (USD per million tokens); the most calls first, five at most.
    console.print("to price them (USD per million tokens), run:", markup=False)
    for r in records[:5]:
        console.print(
            f"  margindash prices set {unpriced_key(r)} --input RATE --output RATE", markup=False, soft_wrap=True
        )
    if len(records) > 5:
        console.print(f"  ... and {len(records) - 5:,} more model(s) (--json lists them all)", markup=False)
    console.print(
        "or, when a model is another's name for a priced one: margindash prices alias NAME PROVIDER/MODEL",
        markup=False,
        soft_wrap=True,
    )


def unpriced_key(record: dict[str, Any]) -> str:
    """PROVIDER/MODEL as `prices set` reads it, quoted for a shell when the id holds anything but plain id text."""
    import shlex  # lazy: start-up

    from margindash_cli.core.textsafe import safe  # lazy: start-up

    return safe(shlex.quote(f"{record['vendor']}/{record['model']}"))


DISAGREEMENT_SOURCES = ("override", "genai-prices", "litellm", "openrouter")  # the sources a disagreement row can quote


def print_disagreements(rows: list[dict[str, Any]]) -> None:
    console = stdout_console()
    if not rows:
        console.print("The shipped sources agree within 1% on every model they share.", markup=False)
        return
    cols = [
        ("provider", "left"),
        ("model", "left"),
        ("kind", "left"),
        ("differs on", "left"),
        ("winner", "left"),
        ("prices (input/output)", "left"),
        ("why", "left"),
    ]
    body = [
        [
            r.get("provider", ""),
            r.get("model", ""),
            r.get("kind", ""),
            ", ".join(r.get("fields", [])),
            r.get("winner", ""),
            "; ".join(
                f"{s} {r[s].get('input', '-')}/{r[s].get('output', '-')}"
                for s in DISAGREEMENT_SOURCES
                if isinstance(r.get(s), dict)
            ),
            r.get("why", "") + (f" (matched by {r['match']})" if r.get("match") else ""),
        ]
        for r in rows
    ]
    print_fitted(
        console,
        f"{len(rows)} price disagreement(s) between sources, USD per million tokens",
        cols,
        body,
        drop=("why", "kind", "differs on"),
        every="--json",
    )


def print_drift(result: dict[str, Any], *, show_all: bool = False) -> None:
    console = stdout_console()
    rows = result["models"] if show_all else [r for r in result["models"] if r["drifting"]]
    if not result["models"]:
        console.print(
            "No stored call carries a reported cost (OpenRouter usage.cost, xAI cost_in_usd_ticks, LiteLLM spend...).",
            markup=False,
        )
        return
    if not rows:
        console.print(
            f"Computed and reported costs agree within {result['threshold_pct']}% for all {len(result['models'])} model(s).",
            markup=False,
        )
        return
    cols = [
        ("vendor", "left"),
        ("model", "left"),
        ("calls", "right"),
        ("computed", "right"),
        ("reported", "right"),
        ("difference", "right"),
        ("%", "right"),
        ("unpriced", "right"),
        ("worst call", "left"),
    ]

    def usd(text: str) -> str:
        return "-$" + text[1:] if text.startswith("-") else "$" + text

    body = [
        [
            r["vendor"],
            r["model"],
            f"{r['calls']:,}",
            usd(r["computed_usd"]),
            usd(r["reported_usd"]),
            usd(r["difference_usd"]),
            "-" if r["difference_pct"] is None else r["difference_pct"],
            f"{r['unpriced_calls']:,}",
            ""
            if not r["worst_call"]
            else f"{r['worst_call']['file']}:{r['worst_call']['line']} ({r['worst_call']['difference_pct']}%)",
        ]
        for r in rows
    ]
    title = f"{result['drifting']} model(s) whose computed cost differs from the reported one by more than {result['threshold_pct']}%"
    print_fitted(console, title, cols, body, drop=("worst call", "unpriced", "calls", "%"), every="--json")


def print_sync(result: dict[str, Any]) -> None:
    console = stdout_console()
    for s in result["sources"]:
        console.print(
            f"{s['source']}: {s['status']} ({s['prices_read']:,} prices read, {s['versions_added']:,} new version(s))",
            markup=False,
        )
    console.print(
        f"{result['versions_added']:,} new price version(s); {result['newly_priced_events']:,} unpriced call(s) now priced.",
        markup=False,
    )


def reprice_json(r: RepriceResult) -> dict[str, Any]:
    from margindash_cli.core.money import usd_text  # lazy: start-up

    return {
        "dry_run": r.dry_run,
        "events_seen": r.events_seen,
        "events_changed": r.events_changed,
        "newly_priced": r.newly_priced,
        "newly_unpriced": r.newly_unpriced,
        "old_total_usd": usd_text(r.old_total_pico),
        "new_total_usd": usd_text(r.new_total_pico),
        "delta_usd": usd_text(r.new_total_pico - r.old_total_pico),
    }


def print_reprice(p: dict[str, Any]) -> None:
    verb = "would change" if p["dry_run"] else "changed"
    stdout_console().print(
        f"{p['events_seen']:,} call(s) checked; {p['events_changed']:,} {verb} "
        f"({p['newly_priced']:,} newly priced): ${p['old_total_usd']} -> ${p['new_total_usd']} (delta ${p['delta_usd']}).",
        markup=False,
    )
