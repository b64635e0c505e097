"""`margindash prices ...`, `sync-prices` and `reprice`: the price catalog and the costs it gives."""

from __future__ import annotations

from typing import Optional

import typer

from margindash_cli.cli.options import TERMINAL_TOP, JsonOption, JsonResultOption, Until, UtcSince, rows_to_show

app = typer.Typer(
    help="The price catalog: list, show, set, rm, alias, unpriced models, source disagreements.", no_args_is_help=True
)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="prices")
    root.command("sync-prices")(sync_prices)
    root.command("reprice")(reprice)


@app.command("list")
def list_prices(
    ctx: typer.Context,
    provider: Optional[str] = typer.Option(
        None, "--provider", help="Only this provider (openai, anthropic, google, bedrock...)."
    ),
    search: Optional[str] = typer.Option(None, "--search", help="Only models whose id contains TEXT."),
    top: Optional[int] = typer.Option(
        None,
        "--top",
        min=0,
        help=f"Only the first N prices; 0 = all. Default: {TERMINAL_TOP} in a table on a terminal, else all.",
    ),
    every: bool = typer.Option(False, "--all", help="Every price, also in a table on a terminal."),
    as_json: JsonOption = False,
) -> None:
    """List the current price of every model (USD per million tokens), by provider and model.

    Example: margindash prices list --provider anthropic --search sonnet
    """
    from margindash_cli.cli.options import open_store  # lazy: start-up
    from margindash_cli.cli.render import kit  # lazy: start-up
    from margindash_cli.cli.render import prices as prices_view  # lazy: start-up
    from margindash_cli.pricing import run as pricing_run  # lazy: start-up

    # --top N cuts every output; with neither flag only a table on a terminal is cut (a pipe or --json get all)
    shown = rows_to_show(top, every, "json" if as_json else "table")
    with open_store(ctx) as store:
        rows = pricing_run.current_prices(store, provider=provider, search=search)
    if as_json:
        kit.emit_json([pricing_run.price_json(p) for p in rows[:shown]])
        return
    prices_view.print_price_list(rows[:shown], total=len(rows))


@app.command("show")
def show(
    ctx: typer.Context,
    model: str = typer.Argument(..., help="A model id as your logs have it, or PROVIDER/MODEL."),
    as_json: JsonOption = False,
) -> None:
    """Show how a model id resolves, every price version it has had, with their sources, and its benchmark scores.

    Example: margindash prices show us.anthropic.claude-sonnet-4-20250514-v1:0
    """
    from margindash_cli.cli.options import open_store  # lazy: start-up
    from margindash_cli.cli.render import kit  # lazy: start-up
    from margindash_cli.cli.render import prices as prices_view  # lazy: start-up
    from margindash_cli.pricing import run as pricing_run  # lazy: start-up

    with open_store(ctx) as store:
        info = pricing_run.show_model(store, model)
    if as_json:
        kit.emit_json(info)
        return
    prices_view.print_price_show(info)


@app.command("set")
def set_price(
    ctx: typer.Context,
    key: str = typer.Argument(..., help="PROVIDER/MODEL, e.g. openai/ft:gpt-4o-mini:acme or self-hosted/llama-3-70b."),
    input_: Optional[str] = typer.Option(None, "--input", help="USD per million input tokens."),
    output: Optional[str] = typer.Option(None, "--output", help="USD per million output tokens."),
    cache_read: Optional[str] = typer.Option(None, "--cache-read", help="USD per million cached input tokens."),
    cache_write: Optional[str] = typer.Option(
        None, "--cache-write", help="USD per million cache-write tokens (5-minute)."
    ),
    cache_write_1h: Optional[str] = typer.Option(
        None, "--cache-write-1h", help="USD per million 1-hour cache-write tokens."
    ),
    reasoning: Optional[str] = typer.Option(
        None, "--reasoning", help="USD per million reasoning tokens, where it differs from output."
    ),
    input_audio: Optional[str] = typer.Option(
        None, "--input-audio", help="USD per million audio prompt tokens, where it differs from input."
    ),
    output_audio: Optional[str] = typer.Option(
        None, "--output-audio", help="USD per million generated audio tokens, where it differs from output."
    ),
    output_image: Optional[str] = typer.Option(
        None, "--output-image", help="USD per million generated image tokens, where it differs from output."
    ),
    per_request: Optional[str] = typer.Option(
        None, "--per-request", help="USD per call (e.g. a vector-database query)."
    ),
    per_unit: Optional[list[str]] = typer.Option(
        None, "--per-unit", help="UNIT=USD for a unit in the events' `units`, e.g. images=0.04 (repeatable)."
    ),
    context_window: Optional[int] = typer.Option(
        None, "--context-window", help="Largest prompt the model takes, in tokens."
    ),
    effective_from: Optional[str] = typer.Option(
        None, "--effective-from", help="Date (YYYY-MM-DD, UTC) the price starts; default: it applies to all calls."
    ),
    as_json: JsonResultOption = False,
) -> None:
    """Set your own price for a model (negotiated, fine-tuned, self-hosted, non-LLM); it wins over synced prices.

    Calls that had no price are priced with it at once; to re-price calls that already had a price,
    run `margindash reprice`.

    Example: margindash prices set openai/gpt-4o --input 2.00 --output 8.00 --effective-from 2026-11-01
    """
    from margindash_cli.cli.options import open_store  # lazy: start-up
    from margindash_cli.cli.render import kit  # lazy: start-up
    from margindash_cli.pricing import run as pricing_run  # lazy: start-up

    with open_store(ctx) as store:
        result = pricing_run.set_user_price(
            store,
            key,
            effective_from=effective_from,
            context_window=context_window,
            per_unit=per_unit or [],
            rates={
                "input": input_,
                "output": output,
                "cache_read": cache_read,
                "cache_write_5m": cache_write,
                "cache_write_1h": cache_write_1h,
                "reasoning": reasoning,
                "input_audio": input_audio,
                "output_audio": output_audio,
                "output_image": output_image,
            },
            per_request=per_request,
        )
    if not result["stored_calls"]:
        kit.warn(
            f"no stored call is of {result['provider']}/{result['model']}: the price priced nothing yet"
            " (check the id with `margindash prices unpriced`)"
        )
    if as_json:
        kit.emit_json(result)
        return
    kit.stdout_console().print(
        f"Set {result['provider']}/{result['model']} (from {result['effective_from'] or 'the beginning'}); "
        f"{result['repriced']['events_changed']:,} unpriced call(s) now priced.",
        markup=False,
    )


@app.command("rm")
def remove_price(
    ctx: typer.Context,
    key: str = typer.Argument(..., help="PROVIDER/MODEL of a price you set with `prices set`."),
    effective_from: Optional[str] = typer.Option(
        None, "--effective-from", help="Only your version from this date (YYYY-MM-DD, UTC); default: all of them."
    ),
    as_json: JsonResultOption = False,
) -> None:
    """Remove a price you set with `prices set` (shipped and synced prices cannot be removed).

    The calls it priced are re-priced at once with the prices left (unpriced when none is left).

    Example: margindash prices rm openai/gpt-4o --effective-from 2026-11-01
    """
    from margindash_cli.cli.options import open_store  # lazy: start-up
    from margindash_cli.cli.render import kit  # lazy: start-up
    from margindash_cli.pricing import run as pricing_run  # lazy: start-up

    with open_store(ctx) as store:
        result = pricing_run.remove_user_price(store, key, effective_from=effective_from)
    if as_json:
        kit.emit_json(result)
        return
    changed = result["repriced"]
    kit.stdout_console().print(
        f"Removed {len(result['removed'])} price(s) of {result['provider']}/{result['model']}; "
        f"{changed['events_changed']:,} call(s) re-priced ({changed['newly_unpriced']:,} now unpriced).",
        markup=False,
    )


@app.command("alias")
def alias(
    ctx: typer.Context,
    name: str = typer.Argument(
        ..., help="The model id your logs carry (an Azure deployment name, a Bedrock profile ARN...)."
    ),
    target: str = typer.Argument(..., help="PROVIDER/MODEL of a catalog price."),
    vendor: Optional[str] = typer.Option(
        None, "--vendor", help="Only when the call's vendor is this (default: any vendor)."
    ),
) -> None:
    """Price a model id as another catalog model, e.g. an Azure deployment name as azure/gpt-4o.

    Calls that had no price are priced with it at once.

    Example: margindash prices alias prod-gpt4o azure/gpt-4o
    """
    from margindash_cli.cli.options import open_store  # lazy: start-up
    from margindash_cli.cli.render import kit  # lazy: start-up
    from margindash_cli.pricing import run as pricing_run  # lazy: start-up

    with open_store(ctx) as store:
        result = pricing_run.set_user_alias(store, name, target, vendor)
    kit.stdout_console().print(
        f"{name} -> {result['provider']}/{result['model']}; {result['repriced']['events_changed']:,} unpriced call(s) now priced.",
        markup=False,
    )


@app.command("unpriced")
def unpriced(
    ctx: typer.Context,
    as_json: JsonOption = False,
) -> None:
    """List models seen in your calls that have no price, with their call and token counts.

    Fix one with `margindash prices set PROVIDER/MODEL ...` or `margindash prices alias NAME PROVIDER/MODEL`.

    Example: margindash prices unpriced
    """
    from margindash_cli.cli.options import open_store  # lazy: start-up
    from margindash_cli.cli.render import kit  # lazy: start-up
    from margindash_cli.cli.render import prices as prices_view  # lazy: start-up

    with open_store(ctx) as store:
        rows = store.events.unpriced_models()
    records = [{"vendor": v, "model": m, "events": n, "input_tokens": i, "output_tokens": o} for v, m, n, i, o in rows]
    if as_json:
        kit.emit_json(records)
        return
    prices_view.print_unpriced(records)


@app.command("diff")
def diff(as_json: JsonOption = False) -> None:
    """List models whose price differs by more than 1% between the shipped sources (genai-prices wins).

    Example: margindash prices diff
    """
    from margindash_cli.cli.render import kit  # lazy: start-up
    from margindash_cli.cli.render import prices as prices_view  # lazy: start-up
    from margindash_cli.pricing.run import load_disagreements  # lazy: start-up

    rows = load_disagreements()
    if as_json:
        kit.emit_json(rows)
        return
    prices_view.print_disagreements(rows)


@app.command("drift")
def drift(
    ctx: typer.Context,
    since: UtcSince = None,
    until: Until = None,
    threshold: str = typer.Option(
        "1", "--threshold", help="Percent of the reported cost past which a model is listed as drifting."
    ),
    show_all: bool = typer.Option(False, "--all", help="Also list the models whose costs agree."),
    as_json: JsonOption = False,
) -> None:
    """Models whose computed cost differs from the cost their logs reported (OpenRouter, xAI, LiteLLM...) by more than 1%.

    A wrong catalog price shows itself here. Every call with a reported cost is priced again from the catalog;
    per model the two totals are compared, and the call that differs most is named by its file and line.

    Example: margindash prices drift --since 2026-11-01
    """
    from decimal import Decimal, InvalidOperation  # lazy: start-up

    from margindash_cli.cli.options import open_store  # lazy: start-up
    from margindash_cli.cli.render import kit  # lazy: start-up
    from margindash_cli.cli.render import prices as prices_view  # lazy: start-up
    from margindash_cli.core.periods import resolve_range  # lazy: start-up
    from margindash_cli.errors import UsageError  # lazy: start-up
    from margindash_cli.pricing.drift import drift as run  # lazy: start-up

    try:
        pct = Decimal(threshold)
    except InvalidOperation:
        pct = Decimal("NaN")
    if not pct.is_finite() or pct < 0:
        raise UsageError(f"--threshold {threshold!r} is not a percentage", "use a number such as 1 or 0.5")
    rng = resolve_range(since, until, None, None)
    with open_store(ctx, create=False) as store:
        result = run(store, start_ms=rng.start_ms, end_ms=rng.end_ms, threshold_pct=pct)
    if as_json:
        kit.emit_json(result)
        return
    prices_view.print_drift(result, show_all=show_all)


def sync_prices(
    ctx: typer.Context,
    sources: Optional[list[str]] = typer.Option(
        None,
        "--source",
        help="litellm|genai-prices|openrouter, a URL or a FILE (repeatable; default: litellm and genai-prices).",
    ),
    as_json: JsonResultOption = False,
) -> None:
    """Fetch public price lists and record changed prices as new versions from now on (history never moves).

    Addresses default to the public lists and can be overridden with MARGINDASH_PRICES_URL_LITELLM,
    MARGINDASH_PRICES_URL_GENAI_PRICES and MARGINDASH_PRICES_URL_OPENROUTER (mirrors, tests). A failed
    or partial fetch changes nothing and exits 1. Calls that had no price are priced when one arrives.

    Example: margindash sync-prices
    """
    from margindash_cli.cli.options import open_store  # lazy: start-up
    from margindash_cli.cli.render import kit  # lazy: start-up
    from margindash_cli.cli.render import prices as prices_view  # lazy: start-up
    from margindash_cli.pricing.sync import sync  # lazy: start-up

    with open_store(ctx) as store:
        result = sync(store, sources or ["litellm", "genai-prices"])
    if as_json:
        kit.emit_json(result)
        return
    prices_view.print_sync(result)


def reprice(
    ctx: typer.Context,
    since: UtcSince = None,
    until: Until = None,
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would change; write nothing."),
    cost_source: str = typer.Option(
        "auto", "--cost-source", help="auto|computed|reported: which cost wins when a log carries its own."
    ),
    as_json: JsonResultOption = False,
) -> None:
    """Recompute stored costs with the current catalog, after a price was added or corrected.

    Example: margindash reprice --since 2026-10-01 --dry-run
    """
    from margindash_cli.cli.options import open_store  # lazy: start-up
    from margindash_cli.cli.render import kit  # lazy: start-up
    from margindash_cli.cli.render import prices as prices_view  # lazy: start-up
    from margindash_cli.core.periods import resolve_range  # lazy: start-up
    from margindash_cli.errors import UsageError  # lazy: start-up
    from margindash_cli.pricing.pricer import COST_SOURCES  # lazy: start-up
    from margindash_cli.pricing.reprice import reprice as run  # lazy: start-up
    from margindash_cli.pricing.run import load_pricer  # lazy: start-up

    if cost_source not in COST_SOURCES:
        raise UsageError(f"unknown --cost-source {cost_source!r}", f"use one of {', '.join(COST_SOURCES)}")
    rng = resolve_range(since, until, None, None)
    with open_store(ctx, create=False) as store:
        result = run(store, load_pricer(store, cost_source), start_ms=rng.start_ms, end_ms=rng.end_ms, dry_run=dry_run)
    payload = prices_view.reprice_json(result)
    if as_json:
        kit.emit_json(payload)
        return
    prices_view.print_reprice(payload)
