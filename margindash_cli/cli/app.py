"""The Typer root: global options, command wiring and the one error handler. No logic lives here."""

from __future__ import annotations

import sys
from typing import Any

import typer
from typer.core import TyperGroup

from margindash_cli import __version__
from margindash_cli.cli.commands import budget as budget_commands
from margindash_cli.cli.commands import costs as costs_commands
from margindash_cli.cli.commands import customers as customers_commands
from margindash_cli.cli.commands import dashboard as dashboard_commands
from margindash_cli.cli.commands import db as db_commands
from margindash_cli.cli.commands import demo as demo_commands
from margindash_cli.cli.commands import doctor as doctor_commands
from margindash_cli.cli.commands import events as events_commands
from margindash_cli.cli.commands import export as export_commands
from margindash_cli.cli.commands import fx as fx_commands
from margindash_cli.cli.commands import ingest as ingest_commands
from margindash_cli.cli.commands import prices as prices_commands
from margindash_cli.cli.commands import report as report_commands
from margindash_cli.cli.commands import revenue as revenue_commands
from margindash_cli.cli.commands import schema as schema_commands
from margindash_cli.cli.commands import simulate as simulate_commands
from margindash_cli.cli.commands import stripe as stripe_commands
from margindash_cli.errors import MarginDashError

# `margindash --help` lists the commands in these groups, in this order (as gh does), each with a summary that fits
# one line at 80 columns. Every command is in exactly one group (tests/cli/test_help.py checks it).
COMMAND_GROUPS: dict[str, dict[str, str]] = {
    "CORE COMMANDS": {
        "ingest": "Read usage logs into the store (a re-run reads only new lines)",
        "report": "Revenue, cost and margin by customer, feature, model or time",
        "events": "List stored calls, newest first, to trace any number",
        "budget": "Spend limits with alerts, a blocklist and CI exit codes",
        "simulate": "Re-price real calls on other models, ranked by score per $",
        "dashboard": "Write one self-contained HTML file with every chart",
    },
    "PRICES": {
        "prices": "The price catalog: list, show, set, rm, alias, unpriced",
        "sync-prices": "Fetch public price lists; a change becomes a new version",
        "reprice": "Recompute stored costs after a price was added or corrected",
    },
    "REVENUE": {
        "sync-stripe": "Sync revenue per customer from Stripe (safe from cron)",
        "stripe": "Apply a Stripe webhook event you received",
        "customers": "Map Stripe customers to your app's customer ids",
        "revenue": "Import revenue from billing systems other than Stripe",
        "fx": "Import exchange rates to USD for revenue in other currencies",
    },
    "COSTS": {
        "sync-costs": "Pull billed costs from the OpenAI and Anthropic admin APIs",
        "costs": "Import billed costs from AWS CUR 2.0 and FOCUS 1.x files",
        "reconcile": "Compare computed cost with the provider's bill; explain the gap",
    },
    "STORE AND SETUP": {
        "doctor": "Check the store: integrity, rollups, prices, sync, checkpoints",
        "export": "Write events and rollups as Parquet or CSV for a warehouse",
        "demo": "Build a demo store from synthetic data and show its margins",
        "db": "Print where the store is",
        "schema": "Print the JSON Schema of what ingest reads",
    },
}
OTHER_GROUP = "ADDITIONAL COMMANDS"  # a command missing from COMMAND_GROUPS is still listed, never hidden


class _Root(TyperGroup):
    """Maps the core's known failures to `error:`/`hint:` lines on stderr and their exit codes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from margindash_cli.cli.helptext import apply  # lazy: start-up
        from margindash_cli.cli.values import install  # lazy: start-up

        apply(self)  # metavars a user can read (DATE, N, [table|json|csv], PATHS...), not Python type names
        install(self)  # values parsed with the stdlib: no pydantic imported by Typer at every command (#20)

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any) -> Any:
        """The root's own options (`margindash --dbb`): a usage error printed as every other one."""
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except Exception as exc:
            _exit_on_usage_error(exc)
            raise

    def format_options(self, ctx: typer.Context, formatter: Any) -> None:
        """The commands first, then the global options (gh's order: what you can do before how to tune it)."""
        self.format_commands(ctx, formatter)
        records = [rec for param in self.get_params(ctx) if (rec := param.get_help_record(ctx))]
        if records:
            with formatter.section("Options"):
                formatter.write_dl(records)

    def format_commands(self, ctx: typer.Context, formatter: Any) -> None:
        """The commands in COMMAND_GROUPS' groups and order, names in one column, one line each."""
        listed = {name: cmd for name, cmd in self.commands.items() if not cmd.hidden}
        groups = [(title, [(n, s) for n, s in rows.items() if n in listed]) for title, rows in COMMAND_GROUPS.items()]
        grouped = {n for _, rows in groups for n, _ in rows}
        others = [(n, cmd.get_short_help_str(60)) for n, cmd in listed.items() if n not in grouped]
        groups.append((OTHER_GROUP, others))
        width = max(len(n) for n in listed) + 2
        for title, rows in groups:
            if not rows:
                continue
            formatter.write_paragraph()
            formatter.write_text(title)
            for name, summary in rows:
                formatter.write(f"  {name:<{width}}{summary}\n")

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except _USAGE_ERROR as exc:  # a subcommand's unknown option, missing argument or bad value
            _exit_on_usage_error(exc, f"{ctx.command_path} {ctx.invoked_subcommand or ''}".strip())
            raise
        except MarginDashError as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            if exc.hint:
                print(f"hint: {exc.hint}", file=sys.stderr)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            print(_interrupted_message(ctx), file=sys.stderr)
            raise typer.Exit(130) from None
        except BrokenPipeError:
            # The reader went away (`report --format csv | head -2`): it chose to stop reading, nothing failed.
            # Exit quietly, and point stdout at /dev/null so the interpreter's last flush cannot fail again.
            _quiet_stdout()
            raise typer.Exit(0) from None
        except OSError as exc:
            # A write that the disk refused (stdout redirected to a full disk, an -o file): a known failure, no
            # traceback. Read errors of inputs and store failures are handled where they happen.
            import errno  # lazy: start-up

            if exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EIO):
                raise
            where = f" {exc.filename}" if exc.filename else " the output"
            print(f"error: cannot write{where}: {exc.strerror or exc}", file=sys.stderr)
            if exc.errno != errno.EIO:
                print("hint: the disk (or your quota) is full; free space and run the command again", file=sys.stderr)
            _quiet_stdout()
            raise typer.Exit(1) from None
        except Exception as exc:
            if not _is_store_failure(exc):
                raise
            # A store damaged past its header (a bad page met mid-query) or a failing disk: a known failure, so no
            # traceback. Nothing half-done stays: every write is a transaction, rolled back with the error.
            from margindash_cli.paths import store_path  # lazy: start-up
            from margindash_cli.store.db import is_readonly_error  # lazy: start-up

            what = "is read-only (permissions or mount)" if is_readonly_error(exc) else "failed"
            print(f"error: the store {store_path((ctx.obj or {}).get('db'))} {what}: {exc}", file=sys.stderr)
            if "integer overflow" in str(exc):
                print(
                    "hint: a cost went past the store's limit of about $9.2M per UTC day, customer, feature, model and"
                    " segment; the step that failed wrote nothing",
                    file=sys.stderr,
                )
            else:
                from margindash_cli.store.db import sqlite_hint  # lazy: start-up

                print(f"hint: {sqlite_hint(exc)}", file=sys.stderr)
            raise typer.Exit(1) from None


_USAGE_ERROR = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")  # Click's, as Typer raises it


def _exit_on_usage_error(exc: BaseException, where: str = "margindash") -> None:
    """Print a Click usage error as `error:`/`hint:` lines and exit 2, as the core's UsageErrors do (#17); return
    for anything else (and for `margindash budget` with no subcommand, which shows its help)."""
    from margindash_cli.cli.values import is_help_request, usage_error_lines  # lazy: start-up

    if not isinstance(exc, _USAGE_ERROR) or is_help_request(exc):
        return
    message, hint = usage_error_lines(exc, where)
    print(f"error: {message}", file=sys.stderr)
    print(f"hint: {hint}", file=sys.stderr)
    raise typer.Exit(2) from None


def _is_store_failure(exc: Exception) -> bool:
    """A store damaged past its header or a failing disk (SQLite's DatabaseError), met by any command."""
    if "margindash_cli.store.db" not in sys.modules:
        return False  # no store was opened, so no SQLite error (and --help's Exit does not import the store)
    from margindash_cli.store.db import DatabaseError  # lazy: start-up

    return isinstance(exc, DatabaseError)


WRITE_COMMANDS = {
    "ingest",
    "sync-prices",
    "sync-stripe",
    "sync-costs",
    "demo",
    "prices",
    "revenue",
    "budget",
    "costs",
    "db",
    "stripe",
    "customers",
    "fx",
}  # (sub)command groups that may write the store


def _interrupted_message(ctx: typer.Context) -> str:
    """Ctrl-C: a read (a report, events, an export) only stops; a write says that its committed batches stay."""
    name = ctx.invoked_subcommand or ""
    if name in WRITE_COMMANDS:
        return "interrupted: what was committed before stays; re-run to continue"
    return "interrupted"


def _quiet_stdout() -> None:
    import os  # lazy: start-up

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


app = typer.Typer(
    cls=_Root,
    name="margindash",
    help="Revenue, cost and margin of your AI product per customer, feature and model, from local usage logs.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"margindash {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    db: str = typer.Option(
        None,
        "--db",
        envvar="MARGINDASH_DB",
        help="Store file (default: $MARGINDASH_HOME/margindash.db, else the user data dir).",
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Revenue, cost and margin of your AI product per customer, feature and model, from local usage logs."""
    ctx.obj = {"db": db}


ingest_commands.register(app)
events_commands.register(app)
export_commands.register(app)
demo_commands.register(app)
doctor_commands.register(app)
prices_commands.register(app)
app.add_typer(db_commands.app, name="db")
app.add_typer(schema_commands.app, name="schema")
app.add_typer(report_commands.app, name="report")
dashboard_commands.register(app)
app.add_typer(revenue_commands.app, name="revenue")
simulate_commands.register(app)
stripe_commands.register(app)
app.add_typer(customers_commands.app, name="customers")
app.add_typer(fx_commands.app, name="fx")
app.add_typer(budget_commands.app, name="budget")
costs_commands.register(app)
