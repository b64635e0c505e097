"""`margindash ingest`: read usage logs into the store."""

from __future__ import annotations

from typing import Any, Optional

import typer

from margindash_cli.cli.options import JsonSummaryOption, db_path, open_store

FORMATS = [
    "auto",
    "events",
    "openai",
    "openai-batch",
    "anthropic",
    "gemini",
    "bedrock",
    "litellm",
    "langfuse",
    "claude-code",
]


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)


def ingest(
    ctx: typer.Context,
    paths: list[str] = typer.Argument(
        ..., help="JSONL files, .jsonl.gz files, directories (recursive, *.jsonl*) or - for stdin."
    ),
    fmt: str = typer.Option(
        "auto", "--format", "-f", help=f"Log format: {'|'.join(FORMATS)}. auto detects it per line."
    ),
    maps: Optional[list[str]] = typer.Option(
        None,
        "--map",
        help="Map a field to your log's own dotted path, e.g. customer_id=user.id (repeatable). "
        "response=PATH names where your line holds the provider response, e.g. response=payload.llm_response "
        "(by default it is looked for under response, message, body, then response.body).",
    ),
    quarantine: Optional[str] = typer.Option(
        None, "--quarantine", help="File for rejected lines (default: next to the store)."
    ),
    require_customer: bool = typer.Option(
        False, "--require-customer", help="Reject calls with no customer id instead of keeping them as unattributed."
    ),
    strict: bool = typer.Option(
        False,
        "--strict",
        help="Exit 1 when any line was rejected (without it: when no line of a file could be stored).",
    ),
    cost_source: str = typer.Option(
        "auto",
        "--cost-source",
        help="auto|computed|reported: which cost wins when a log carries its own (auto: ours when we have a price).",
    ),
    follow_symlinks: bool = typer.Option(
        False, "--follow-symlinks", help="Read symlinks (and symlinked folders) that lead out of a folder being walked."
    ),
    as_json: JsonSummaryOption = False,
) -> None:
    """Read usage logs into the store; only new lines are read on a re-run, and nothing is counted twice.

    A line of your app may wrap the provider's response (OpenAI, Anthropic, Gemini, Bedrock): it is looked
    for under the keys response, message, body (in that order, then response.body), and your line's own
    fields (customer_id, feature, timestamp, ...) are read beside it. Elsewhere, give its path with --map.

    Example: margindash ingest /var/log/app/ai-usage.jsonl --map customer_id=user.id

    Example: margindash ingest app.jsonl --map response=payload.llm_response --map customer_id=user.id
    """
    import os  # lazy: start-up
    from pathlib import Path  # lazy: start-up

    from margindash_cli.cli.render import ingest as ingest_view  # lazy: start-up
    from margindash_cli.errors import InputError, UsageError  # lazy: start-up
    from margindash_cli.ingest.canonical import parse_maps  # lazy: start-up
    from margindash_cli.ingest.pipeline import ingest_paths  # lazy: start-up
    from margindash_cli.paths import default_quarantine_path  # lazy: start-up
    from margindash_cli.pricing.pricer import COST_SOURCES  # lazy: start-up
    from margindash_cli.pricing.run import LazyPricer  # lazy: start-up

    if cost_source not in COST_SOURCES:
        raise UsageError(f"unknown --cost-source {cost_source!r}", f"use one of {', '.join(COST_SOURCES)}")
    if fmt not in FORMATS:
        raise UsageError(f"unknown --format {fmt!r}", f"use one of: {', '.join(FORMATS)}")
    try:
        parsed_maps = parse_maps(maps, fmt)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    qpath = Path(quarantine) if quarantine else default_quarantine_path(db_path(ctx))
    for p in paths:  # before the store is opened: a typo in a path creates no store
        if p != "-" and not os.path.lexists(p):
            raise InputError(f"{p}: no such file or directory")
    # A new store is removed again when this run fails having stored nothing (#17: a pretty-printed JSON file, an
    # all-rejected file, a folder without a log file): its checkpoints alone are not data; the quarantine stays.
    with open_store(ctx, scratch=("sources",)) as store:
        pricer = LazyPricer(store, cost_source)
        progress = ingest_view.progress(paths)
        last_id = store.events.last_id()
        try:
            result = ingest_paths(
                store,
                paths,
                fmt=fmt,
                maps=parsed_maps,
                quarantine_path=qpath,
                require_customer=require_customer,
                pricer=pricer,
                on_progress=progress.advance if progress else None,
                follow_symlinks=follow_symlinks,
            )
        finally:
            if progress:
                progress.stop()
        if result.events_stored:
            result.unpriced_calls, result.unpriced_models = store.events.unpriced_after(last_id)
        # Nothing fails silently: a file with lines of which none could be stored is an error, not a quiet 0.
        failed = bool(result.errors or result.nothing_stored or (strict and result.rejected))
        if failed and not (result.events_stored or result.total("updated")):
            _print_summary(result, as_json)
            raise typer.Exit(1)  # inside the store's `with`: a store this run created goes again
    _print_summary(result, as_json)
    if failed:
        raise typer.Exit(1)


def _print_summary(result: Any, as_json: bool) -> None:
    from margindash_cli.cli.render import ingest as ingest_view  # lazy: start-up
    from margindash_cli.cli.render import kit  # lazy: start-up

    if as_json:
        kit.emit_json(result)
    else:
        ingest_view.print_ingest(result)
    ingest_view.print_ingest_notes(result)
